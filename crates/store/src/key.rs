//! Keys that sort the way services scan: components joined by `0x00`, so that
//! `["000000000000", "us-east-1", "queue"]` is a prefix of every key below it and no
//! component can run into the next.

/// Joins components into a key. Components must not contain `0x00` (AWS names cannot).
pub fn key(parts: &[&str]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for p in parts {
        k.extend_from_slice(p.as_bytes());
        k.push(0);
    }
    k
}

/// The last component of a key built by [`key`].
pub fn last(k: &[u8]) -> &str {
    let k = k.strip_suffix(&[0]).unwrap_or(k);
    let start = k.iter().rposition(|b| *b == 0).map(|i| i + 1).unwrap_or(0);
    std::str::from_utf8(&k[start..]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_prefixes_its_children_only() {
        let parent = key(&["acct", "us-east-1"]);
        assert!(key(&["acct", "us-east-1", "q"]).starts_with(&parent));
        assert!(!key(&["acct", "us-east-10", "q"]).starts_with(&parent));
        assert_eq!(last(&key(&["a", "b", "name"])), "name");
    }
}
