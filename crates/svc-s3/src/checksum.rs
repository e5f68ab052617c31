//! The digests an upload is checked against while it streams: always MD5 (the ETag),
//! and the one additional checksum algorithm the client chose.

use base64::Engine;
use md5::{Digest, Md5};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme, Algorithm::Sha1, Algorithm::Sha256];

    pub fn parse(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(s))
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer) that carries it: `x-amz-checksum-crc32`.
    pub fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }

    /// CRCs of the whole object can be combined from the parts' (`FULL_OBJECT`); hashes only
    /// as a checksum of the parts' checksums (`COMPOSITE`).
    pub fn default_multipart_kind(self) -> &'static str {
        match self {
            Algorithm::Crc64Nvme => "FULL_OBJECT",
            _ => "COMPOSITE",
        }
    }
}

enum State {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64(crc64fast_nvme::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

pub struct Hasher {
    md5: Md5,
    checksum: Option<(Algorithm, State)>,
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Hasher {
    pub fn new(algorithm: Option<Algorithm>) -> Hasher {
        let checksum = algorithm.map(|a| {
            let s = match a {
                Algorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
                Algorithm::Crc32c => State::Crc32c(0),
                Algorithm::Crc64Nvme => State::Crc64(crc64fast_nvme::Digest::new()),
                Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
                Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            };
            (a, s)
        });
        Hasher { md5: Md5::new(), checksum }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        match &mut self.checksum {
            Some((_, State::Crc32(h))) => h.update(data),
            Some((_, State::Crc32c(c))) => *c = crc32c::crc32c_append(*c, data),
            Some((_, State::Crc64(d))) => d.write(data),
            Some((_, State::Sha1(h))) => h.update(data),
            Some((_, State::Sha256(h))) => h.update(data),
            None => {}
        }
    }

    /// The MD5 digest, and the checksum as raw bytes.
    pub fn finish(self) -> ([u8; 16], Option<(Algorithm, Vec<u8>)>) {
        let md5: [u8; 16] = self.md5.finalize().into();
        let checksum = self.checksum.map(|(a, s)| {
            let raw = match s {
                State::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
                State::Crc32c(c) => c.to_be_bytes().to_vec(),
                State::Crc64(d) => d.sum64().to_be_bytes().to_vec(),
                State::Sha1(h) => h.finalize().to_vec(),
                State::Sha256(h) => h.finalize().to_vec(),
            };
            (a, raw)
        });
        (md5, checksum)
    }
}

/// The checksum of a byte string in one go (composite multipart checksums).
pub fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(Some(algorithm));
    h.update(data);
    h.finish().1.unwrap().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_what_botocore_sends() {
        // botocore sent x-amz-checksum-crc32: DUoRhQ== for b"hello world".
        let mut h = Hasher::new(Some(Algorithm::Crc32));
        h.update(b"hello ");
        h.update(b"world");
        let (md5, crc) = h.finish();
        assert_eq!(hex::encode(md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(b64(&crc.unwrap().1), "DUoRhQ==");
        assert_eq!(b64(&digest(Algorithm::Sha256, b"hello world")), "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=");
        assert_eq!(b64(&digest(Algorithm::Crc32c, b"hello world")), "yZRlqg==");
    }
}
