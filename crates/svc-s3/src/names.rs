//! S3's naming rules for general purpose buckets.

/// Whether `name` is a valid general purpose bucket name: 3–63 characters of lowercase
/// letters, digits, dots and hyphens, starting and ending with a letter or digit, no two
/// adjacent dots, not an IP address, and none of the reserved prefixes and suffixes.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-') {
        return false;
    }
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge(b[0]) || !edge(b[b.len() - 1]) || name.contains("..") {
        return false;
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    const PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    !PREFIXES.iter().any(|p| name.starts_with(p)) && !SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "my.bucket.1", "a1b", &"a".repeat(63)] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in ["ab", "My-Bucket", "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", "a_b", &"a".repeat(64)] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }
}
