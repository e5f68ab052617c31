//! Snapshots of root volumes as overlay layers: what makes an AMI made from an instance
//! boot with what that instance installed.
//!
//! A volume is the upper layer of its machine's overlay over the AMI's base root; a
//! volume made from a snapshot starts as a copy of the snapshot's layer. Capturing a
//! snapshot flattens the layer of the snapshot the volume came from and the volume's
//! upper layer into one directory; an overlay whiteout (a 0/0 character device: a file
//! the guest deleted) is kept as one, so it still hides the base's file.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Writes `base` (if any) and then `upper` over it into `into` (which must not exist).
pub fn capture(base: Option<&Path>, upper: &Path, into: &Path) -> io::Result<()> {
    let staging = into.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    if let Some(base) = base.filter(|b| b.is_dir()) {
        copy_over(base, &staging)?;
    }
    if upper.is_dir() {
        copy_over(upper, &staging)?;
    }
    std::fs::rename(&staging, into)
}

fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Copies the tree `from` over `to`, entries of `from` replacing those of `to`.
fn copy_over(from: &Path, to: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&source)?;
        let existing = std::fs::symlink_metadata(&target).ok();
        let replace = |existing: &Option<std::fs::Metadata>| -> io::Result<()> {
            match existing {
                Some(m) if m.is_dir() => std::fs::remove_dir_all(&target),
                Some(_) => std::fs::remove_file(&target),
                None => Ok(()),
            }
        };
        if meta.is_dir() {
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                replace(&existing)?;
            }
            std::fs::create_dir_all(&target)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
            copy_over(&source, &target)?;
        } else if meta.file_type().is_symlink() {
            replace(&existing)?;
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if is_whiteout(&meta) {
            replace(&existing)?;
            nix::sys::stat::mknod(&target, nix::sys::stat::SFlag::S_IFCHR, nix::sys::stat::Mode::empty(), 0).map_err(io::Error::from)?;
        } else if meta.is_file() {
            replace(&existing)?;
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upper_layer_wins_over_the_base_and_keeps_whiteouts() {
        let dir = std::env::temp_dir().join(format!("nubo-layers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (base, upper, into) = (dir.join("base"), dir.join("upper"), dir.join("snap"));
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::write(base.join("etc/a"), "base").unwrap();
        std::fs::write(base.join("etc/b"), "base").unwrap();
        std::fs::write(upper.join("etc/a"), "upper").unwrap();
        std::os::unix::fs::symlink("a", upper.join("etc/link")).unwrap();
        let whiteout = nix::unistd::geteuid().is_root();
        if whiteout {
            nix::sys::stat::mknod(&upper.join("etc/b"), nix::sys::stat::SFlag::S_IFCHR, nix::sys::stat::Mode::empty(), 0).unwrap();
        }
        capture(Some(&base), &upper, &into).unwrap();
        assert_eq!(std::fs::read_to_string(into.join("etc/a")).unwrap(), "upper");
        assert_eq!(std::fs::read_link(into.join("etc/link")).unwrap(), Path::new("a"));
        if whiteout {
            assert!(is_whiteout(&std::fs::symlink_metadata(into.join("etc/b")).unwrap()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
