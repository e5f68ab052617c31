//! The one generator of identifiers: request ids, resource ids, tokens.
//!
//! AWS ids have service-specific shapes (`i-0123456789abcdef0`, UUIDs for request ids,
//! 20-character access keys); each shape has one function here so no service invents its own.

/// A random version-4 UUID in its canonical text form, as AWS request ids are.
pub fn uuid() -> String {
    let a = fastrand::u128(..);
    let a = (a & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// `prefix-` followed by 17 lowercase hex digits: EC2's long resource id form.
pub fn resource_id(prefix: &str) -> String {
    format!("{prefix}-{:017x}", fastrand::u128(..) & ((1u128 << 68) - 1))
}

/// A hash that is the same in every process and release (FNV-1a): for ids that must not
/// change between runs (public AMI ids, AWS-managed policy ids).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        let sep: &[u8] = if i == 0 { &[] } else { &[0] };
        for b in sep.iter().chain(part.as_bytes()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// `len` characters from `alphabet`, for tokens and keys of AWS's fixed shapes.
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| alphabet[fastrand::usize(..alphabet.len())] as char).collect()
}

pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_canonical_v4() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid(), u);
    }

    #[test]
    fn resource_id_has_ec2_shape() {
        let id = resource_id("i");
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("i-"));
    }
}
