//! Primary keys as store keys whose byte order is DynamoDB's order.
//!
//! An item's store key is `table id / partition hash (2 bytes) / partition key / sort key`.
//! The hash spreads partitions the way DynamoDB's do, so a Scan meets them in an order
//! that says nothing about their values (as on AWS), and a parallel Scan's segments are
//! contiguous slices of the hash space. Within a partition, items sort by sort key:
//! strings and binaries by unsigned bytes, numbers numerically. Every encoding is
//! self-delimiting, so `partition + sort` keys of different lengths never interleave.

use crate::value::AttrValue;

/// Appends a key attribute's order-preserving encoding: strings and binaries escape
/// `0x00` as `0x00 0xFF` and end with `0x00 0x00`; numbers use their own ordered form.
pub fn encode(v: &AttrValue, out: &mut Vec<u8>) {
    match v {
        AttrValue::S(s) => escaped(s.as_bytes(), out, true),
        AttrValue::B(b) => escaped(b, out, true),
        AttrValue::N(n) => out.extend_from_slice(&n.ordered_bytes()),
        // Key attributes are scalars; the schema checks keep anything else out.
        other => escaped(crate::wire::to_json(other).to_string().as_bytes(), out, true),
    }
}

/// The bytes every encoding of a string/binary that starts with `prefix` starts with
/// (`begins_with` on a sort key).
pub fn encode_prefix(v: &AttrValue, out: &mut Vec<u8>) {
    match v {
        AttrValue::S(s) => escaped(s.as_bytes(), out, false),
        AttrValue::B(b) => escaped(b, out, false),
        other => encode(other, out),
    }
}

fn escaped(bytes: &[u8], out: &mut Vec<u8>, terminate: bool) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    if terminate {
        out.extend_from_slice(&[0, 0]);
    }
}

/// The two bytes that place a partition in the hash space.
pub fn partition_hash(encoded_partition_key: &[u8]) -> [u8; 2] {
    // FNV-1a: stable across versions and platforms, so a data dir keeps its order.
    let mut h: u32 = 0x811c_9dc5;
    for b in encoded_partition_key {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    let h = (h ^ (h >> 16)) as u16;
    h.to_be_bytes()
}

/// The smallest key greater than every key that starts with `prefix`.
pub fn successor(prefix: &[u8]) -> Vec<u8> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return s;
        }
    }
    // All 0xFF: nothing sorts after; a key of 0xFF's one longer bounds it in practice.
    vec![0xFF; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&AttrValue::S(s.into()), &mut out);
        out
    }

    #[test]
    fn strings_sort_by_bytes_and_never_prefix_each_other() {
        let mut words = ["b", "a", "ab", "a\0", "", "\u{e9}"].map(enc).to_vec();
        words.sort();
        assert_eq!(words, ["", "a", "a\0", "ab", "b", "\u{e9}"].map(enc).to_vec());
        // A longer key after "a" still sorts after every "a…" key.
        let mut a_then = enc("a");
        a_then.extend_from_slice(&enc("zzz"));
        assert!(a_then < enc("a\0"));
    }

    #[test]
    fn prefixes_bound_the_strings_that_begin_with_them() {
        let mut p = Vec::new();
        encode_prefix(&AttrValue::S("ab".into()), &mut p);
        let hi = successor(&p);
        for inside in ["ab", "abc", "ab\0", "ab\u{ffff}"] {
            assert!(enc(inside) >= p && enc(inside) < hi, "{inside:?}");
        }
        for outside in ["a", "ac", "b", "aa\u{ffff}"] {
            assert!(!(enc(outside) >= p && enc(outside) < hi), "{outside:?}");
        }
    }

    #[test]
    fn successor_skips_trailing_ff() {
        assert_eq!(successor(&[1, 2]), vec![1, 3]);
        assert_eq!(successor(&[1, 0xFF]), vec![2]);
    }
}
