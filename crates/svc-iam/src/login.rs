//! Console passwords: login profiles, and the account password policy they must meet
//! (checked on `CreateLoginProfile`, `UpdateLoginProfile` and `ChangePassword`).

use crate::error::{IamError, Result};
use crate::records::{self, AccountRecord, Kind, LoginProfile, PasswordPolicyRecord};
use crate::Iam;
use nubo_store::{get_json, put_json};
use sha1::{Digest, Sha1};

fn hash(salt: &str, password: &str) -> String {
    let d = Sha1::digest(format!("{salt}:{password}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The password policy's verdict on a password, in IAM's words.
pub fn check_password(policy: Option<&PasswordPolicyRecord>, password: &str) -> Result<()> {
    let min = policy.map_or(8, |p| p.minimum_password_length.max(6)) as usize;
    let mut broken = Vec::new();
    if password.chars().count() < min {
        broken.push(format!("Password should have a minimum length of {min}"));
    }
    if let Some(p) = policy {
        if p.require_lowercase_characters && !password.chars().any(|c| c.is_ascii_lowercase()) {
            broken.push("Password should have at least one lowercase letter".into());
        }
        if p.require_uppercase_characters && !password.chars().any(|c| c.is_ascii_uppercase()) {
            broken.push("Password should have at least one uppercase letter".into());
        }
        if p.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            broken.push("Password should have at least one number".into());
        }
        if p.require_symbols && !password.chars().any(|c| "!@#$%^&*()_+-=[]{}|'".contains(c)) {
            broken.push("Password should have at least one symbol".into());
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(IamError::PasswordPolicyViolation(format!("Password does not conform to the account password policy. {}", broken.join(", "))))
    }
}

impl Iam {
    pub(crate) fn account_record(&self, account: &str) -> Result<AccountRecord> {
        Ok(self.store.read(|tx| get_json::<AccountRecord>(tx, records::ACCOUNTS, account.as_bytes()))?.unwrap_or_default())
    }

    pub(crate) fn update_account<T>(&self, account: &str, change: impl FnOnce(&mut AccountRecord) -> Result<T>) -> Result<T> {
        self.store.write(|tx| {
            let mut a = get_json::<AccountRecord>(tx, records::ACCOUNTS, account.as_bytes())?.unwrap_or_default();
            let out = change(&mut a)?;
            put_json(tx, records::ACCOUNTS, account.as_bytes(), &a)?;
            Ok(out)
        })
    }

    pub(crate) fn set_login_profile(&self, account: &str, user: &str, password: &str, reset_required: bool, create: bool) -> Result<LoginProfile> {
        let policy = self.account_record(account)?.password_policy;
        check_password(policy.as_ref(), password)?;
        let now = self.clock.now();
        self.update_entity(Kind::User, account, user, |u| {
            match (&u.login, create) {
                (Some(_), true) => return Err(IamError::EntityAlreadyExists(format!("Login Profile for user {user} already exists."))),
                (None, false) => return Err(IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found."))),
                _ => {}
            }
            let salt = nubo_core::ids::random_string(nubo_core::ids::ALNUM, 16);
            let created = u.login.as_ref().map_or(now, |l| l.created);
            let profile = LoginProfile { password_hash: hash(&salt, password), salt, created, reset_required, previous: Vec::new(), changed: Some(now) };
            u.login = Some(profile.clone());
            Ok(profile)
        })
    }

    /// A user changes their own password: the old one must match, the new one meet the
    /// policy and not repeat the last `PasswordReusePrevention` ones.
    pub(crate) fn change_password(&self, account: &str, user: &str, old: &str, new: &str) -> Result<()> {
        // `AllowUsersToChangePassword` grants the right to everyone; without it, an
        // `iam:ChangePassword` permission (checked by the gateway) is what lets users in.
        let policy = self.account_record(account)?.password_policy;
        check_password(policy.as_ref(), new)?;
        let now = self.clock.now();
        self.update_entity(Kind::User, account, user, |u| {
            let login = u.login.as_mut().ok_or_else(|| IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found.")))?;
            if hash(&login.salt, old) != login.password_hash {
                return Err(IamError::InvalidInput("The old password was incorrect.".into()));
            }
            let reuse = policy.as_ref().and_then(|p| p.password_reuse_prevention).unwrap_or(0) as usize;
            let new_hash = hash(&login.salt, new);
            if reuse > 0 && (new_hash == login.password_hash || login.previous.iter().take(reuse.saturating_sub(1)).any(|h| *h == new_hash)) {
                return Err(IamError::PasswordPolicyViolation("Policy constraint violation with password reuse prevention during password change".into()));
            }
            login.previous.insert(0, std::mem::replace(&mut login.password_hash, new_hash));
            login.previous.truncate(24);
            login.reset_required = false;
            login.changed = Some(now);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_every_rule_a_password_breaks() {
        let p = PasswordPolicyRecord { minimum_password_length: 12, require_numbers: true, require_symbols: true, ..Default::default() };
        let IamError::PasswordPolicyViolation(m) = check_password(Some(&p), "short").unwrap_err() else { panic!() };
        assert!(m.contains("minimum length of 12") && m.contains("one number") && m.contains("one symbol"), "{m}");
        assert!(check_password(Some(&p), "long-enough-pw-1").is_ok());
    }
}
