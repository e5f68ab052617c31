//! Reading a function's deployment package: a zip archive, stored (method 0) or deflated
//! (method 8) entries, read through its central directory. Entry names that would land
//! outside the target directory are refused.

use std::io::Read;
use std::path::{Component, Path};

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// One entry: its path inside the archive, contents, and Unix mode when recorded.
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
    pub mode: Option<u32>,
}

/// The entries of an archive, or `None` when it is not a zip nubo can read.
pub fn entries(zip: &[u8]) -> Option<Vec<Entry>> {
    // The end of central directory record: the last `PK\5\6` within the final 64 KiB.
    let tail_start = zip.len().saturating_sub(65_557);
    let eocd = (tail_start..zip.len().saturating_sub(21)).rev().find(|&i| zip[i..].starts_with(b"PK\x05\x06"))?;
    let count = u16_at(zip, eocd + 10)? as usize;
    let mut at = u32_at(zip, eocd + 16)? as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if !zip.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let method = u16_at(zip, at + 10)?;
        let compressed = u32_at(zip, at + 20)? as usize;
        let size = u32_at(zip, at + 24)? as usize;
        let name_len = u16_at(zip, at + 28)? as usize;
        let extra_len = u16_at(zip, at + 30)? as usize;
        let comment_len = u16_at(zip, at + 32)? as usize;
        let external = u32_at(zip, at + 38)?;
        let local = u32_at(zip, at + 42)? as usize;
        let name = String::from_utf8_lossy(zip.get(at + 46..at + 46 + name_len)?).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if !zip.get(local..)?.starts_with(b"PK\x03\x04") {
            return None;
        }
        let data_at = local + 30 + u16_at(zip, local + 26)? as usize + u16_at(zip, local + 28)? as usize;
        let raw = zip.get(data_at..data_at.checked_add(compressed)?)?;
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(size.min(64 << 20));
                flate2::read::DeflateDecoder::new(raw).take(512 << 20).read_to_end(&mut out).ok()?;
                out
            }
            _ => return None,
        };
        let mode = (external >> 16 != 0).then_some(external >> 16);
        out.push(Entry { name, data, mode });
    }
    Some(out)
}

/// Writes the archive under `dir`; `false` when it cannot be read or names a path outside.
pub fn extract(zip: &[u8], dir: &Path) -> std::io::Result<bool> {
    let Some(entries) = entries(zip) else { return Ok(false) };
    for e in entries {
        let rel = Path::new(&e.name);
        if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Ok(false);
        }
        let target = dir.join(rel);
        if e.name.ends_with('/') {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &e.data)?;
        use std::os::unix::fs::PermissionsExt;
        // Keep what the archive says (a custom runtime's `bootstrap` must stay executable).
        let mode = e.mode.map(|m| m & 0o777).filter(|m| *m != 0).unwrap_or(0o644);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o400))?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip with one stored entry, built by hand.
    fn stored(name: &str, data: &[u8]) -> Vec<u8> {
        let mut z = Vec::new();
        z.extend_from_slice(b"PK\x03\x04");
        z.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z.extend_from_slice(name.as_bytes());
        z.extend_from_slice(data);
        let cd = z.len();
        z.extend_from_slice(b"PK\x01\x02");
        z.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend_from_slice(&((0o100755u32) << 16).to_le_bytes());
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        let cd_len = z.len() - cd;
        z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
        z.extend_from_slice(&(cd_len as u32).to_le_bytes());
        z.extend_from_slice(&(cd as u32).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn stored_entries_read_back_with_their_mode() {
        let e = entries(&stored("bootstrap", b"#!/bin/sh\n")).unwrap();
        assert_eq!((e[0].name.as_str(), e[0].data.as_slice(), e[0].mode), ("bootstrap", b"#!/bin/sh\n".as_slice(), Some(0o100755)));
    }

    #[test]
    fn garbage_and_escapes_are_refused() {
        assert!(entries(b"not a zip").is_none());
        assert!(entries(&[]).is_none());
        let dir = std::env::temp_dir().join(format!("nubo-zip-test-{}", std::process::id()));
        assert!(!extract(&stored("../evil", b"x"), &dir).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
