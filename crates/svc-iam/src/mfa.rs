//! Virtual MFA devices with real TOTP (RFC 6238: HMAC-SHA1, 30-second steps, six
//! digits), so an authenticator app or `pyotp` fed the seed produces codes nubo accepts.
//!
//! Codes are checked against the wall clock, not nubo's (possibly jumped) clock: the
//! device that makes them lives in real time.

use crate::error::{IamError, Result};
use crate::records::{self, MfaDeviceRecord};
use crate::util::{check_name, check_path};
use crate::Iam;
use hmac::{Hmac, Mac};
use nubo_store::{get_json, put_json, scan_json};

const STEP: i64 = 30;

/// The six-digit code for time step `counter`.
pub fn totp(seed: &[u8], counter: i64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(seed).expect("HMAC takes keys of any length");
    mac.update(&(counter as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    format!("{:06}", bin % 1_000_000)
}

/// RFC 4648 base32 without padding, as AWS shows seeds.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn now_step() -> i64 {
    nubo_core::clock::wall_clock_now().as_secs() / STEP
}

fn device_key(account: &str, serial: &str) -> Vec<u8> {
    nubo_store::key::key(&[account, serial])
}

fn no_device(serial: &str) -> IamError {
    IamError::NoSuchEntity(format!("VirtualMFADevice with serial number {serial} doesn't exist."))
}

impl Iam {
    pub(crate) fn create_virtual_mfa_device(&self, account: &str, name: &str, path: Option<String>, tags: Vec<(String, String)>) -> Result<MfaDeviceRecord> {
        check_name("virtualMFADeviceName", name, 226)?;
        let path = path.unwrap_or_else(|| "/".into());
        check_path(&path)?;
        let serial = format!("arn:aws:iam::{account}:mfa{path}{name}");
        let record = MfaDeviceRecord {
            serial: serial.clone(),
            account: account.to_string(),
            name: name.to_string(),
            path,
            seed: (0..20).map(|_| fastrand::u8(..)).collect(),
            user: None,
            enabled: None,
            tags,
        };
        self.store.write(|tx| {
            if get_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &device_key(account, &serial))?.is_some() {
                return Err(IamError::EntityAlreadyExists("MFADevice entity at the same path and name already exists.".into()));
            }
            put_json(tx, records::MFA_DEVICES, &device_key(account, &serial), &record)?;
            Ok(record.clone())
        })
    }

    /// Two consecutive codes prove the device is in step, as `EnableMFADevice` and
    /// `ResyncMFADevice` demand.
    fn consecutive(seed: &[u8], code1: &str, code2: &str) -> bool {
        let now = now_step();
        (now - 10..=now + 1).any(|t| totp(seed, t) == code1 && totp(seed, t + 1) == code2)
    }

    pub(crate) fn enable_mfa_device(&self, account: &str, user: &str, serial: &str, code1: &str, code2: &str) -> Result<()> {
        self.user_must_exist(account, user)?;
        let now = self.clock.now();
        self.store.write(|tx| {
            let key = device_key(account, serial);
            let mut d = get_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &key)?.ok_or_else(|| no_device(serial))?;
            if d.user.is_some() {
                return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".into()));
            }
            if !Self::consecutive(&d.seed, code1, code2) {
                return Err(IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".into()));
            }
            d.user = Some(user.to_string());
            d.enabled = Some(now);
            put_json(tx, records::MFA_DEVICES, &key, &d)?;
            Ok(())
        })
    }

    pub(crate) fn resync_mfa_device(&self, account: &str, user: &str, serial: &str, code1: &str, code2: &str) -> Result<()> {
        let d = self.mfa_device(account, serial)?;
        if !d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(user)) {
            return Err(no_device(serial));
        }
        if !Self::consecutive(&d.seed, code1, code2) {
            return Err(IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".into()));
        }
        Ok(())
    }

    pub(crate) fn deactivate_mfa_device(&self, account: &str, user: Option<&str>, serial: &str) -> Result<()> {
        self.store.write(|tx| {
            let key = device_key(account, serial);
            let mut d = get_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &key)?.ok_or_else(|| no_device(serial))?;
            let owner_matches = match (user, &d.user) {
                (Some(u), Some(owner)) => u.eq_ignore_ascii_case(owner),
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if !owner_matches {
                return Err(IamError::NoSuchEntity(format!("MFA Device with serial number {serial} does not exist.")));
            }
            d.user = None;
            d.enabled = None;
            put_json(tx, records::MFA_DEVICES, &key, &d)?;
            Ok(())
        })
    }

    pub(crate) fn delete_virtual_mfa_device(&self, account: &str, serial: &str) -> Result<()> {
        self.store.write(|tx| {
            let key = device_key(account, serial);
            let d = get_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &key)?.ok_or_else(|| no_device(serial))?;
            if d.user.is_some() {
                return Err(IamError::DeleteConflict("MFA device is still in use.".into()));
            }
            tx.delete(records::MFA_DEVICES, &key)?;
            Ok(())
        })
    }

    pub(crate) fn mfa_device(&self, account: &str, serial: &str) -> Result<MfaDeviceRecord> {
        self.store.read(|tx| get_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &device_key(account, serial)))?.ok_or_else(|| no_device(serial))
    }

    pub(crate) fn mfa_devices(&self, account: &str) -> Result<Vec<MfaDeviceRecord>> {
        let all = self.store.read(|tx| scan_json::<MfaDeviceRecord>(tx, records::MFA_DEVICES, &records::account_prefix(account), None, usize::MAX))?;
        Ok(all.into_iter().map(|(_, d)| d).collect())
    }

    /// Checks that `code` is the current code of a device enabled for the calling user
    /// (`GetSessionToken`, `AssumeRole` with `SerialNumber`); STS answers AccessDenied
    /// otherwise, whatever the reason.
    pub(crate) fn check_mfa_code(&self, account: &str, caller: &nubo_core::Principal, serial: &str, code: &str) -> Result<()> {
        let denied = || IamError::AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code.".into());
        let nubo_core::Principal::User { name, .. } = caller else { return Err(denied()) };
        let d = self.mfa_device(account, serial).map_err(|_| denied())?;
        let now = now_step();
        let owned = d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(name));
        if owned && (now - 1..=now + 1).any(|t| totp(&d.seed, t) == code) {
            Ok(())
        } else {
            Err(denied())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test vectors (seed "12345678901234567890"), last six digits.
    #[test]
    fn totp_matches_rfc_6238() {
        let seed = b"12345678901234567890";
        assert_eq!(totp(seed, 59 / 30), "287082");
        assert_eq!(totp(seed, 1_111_111_109 / 30), "081804");
        assert_eq!(totp(seed, 1_234_567_890 / 30), "005924");
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
