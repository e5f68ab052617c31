//! Access keys: at most two per user, active or inactive, with when and where each was
//! last used. Keys are stored by their id alone so that authentication finds them.

use crate::error::{no_such, IamError, Result};
use crate::records::{self, AccessKeyRecord, Kind};
use crate::Iam;
use nubo_core::{Principal, Timestamp};
use nubo_store::{get_json, put_json, scan_json};

pub const MAX_KEYS_PER_USER: usize = 2;

/// `AKIA` + 16: the shape of a long-term key id (`ASIA` for temporary ones).
pub fn new_key_id(prefix: &str) -> String {
    format!("{prefix}{}", nubo_core::ids::random_string(nubo_core::ids::UPPER_ALNUM, 16))
}

pub fn new_secret() -> String {
    nubo_core::ids::random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
}

/// When and where a key was last used: kept in memory (it changes on every request and is
/// not something a client was promised).
#[derive(Debug, Clone)]
pub struct LastUse {
    pub at: Timestamp,
    pub service: String,
    pub region: String,
}

impl Iam {
    /// The user a key operation is about: the named one, or the caller (a user's own keys;
    /// the root user's keys when the caller is root).
    pub(crate) fn key_owner(&self, account: &str, caller: &Principal, user_name: Option<String>) -> Result<Option<String>> {
        match user_name {
            Some(u) => Ok(Some(self.entity(Kind::User, account, &u)?.name)),
            None => match caller {
                Principal::User { name, .. } => Ok(Some(name.clone())),
                _ => Ok(None),
            },
        }
    }

    pub(crate) fn create_access_key(&self, account: &str, user: Option<String>) -> Result<AccessKeyRecord> {
        let record = AccessKeyRecord {
            id: new_key_id("AKIA"),
            secret: new_secret(),
            account: account.to_string(),
            user: user.clone(),
            active: true,
            created: self.clock.now(),
        };
        self.store.write(|tx| {
            let existing = self.keys_of(tx, account, user.as_deref())?;
            if existing.len() >= MAX_KEYS_PER_USER {
                return Err(IamError::LimitExceeded(format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")));
            }
            put_json(tx, records::ACCESS_KEYS, record.id.as_bytes(), &record)?;
            Ok(record.clone())
        })
    }

    fn keys_of(&self, tx: &(impl nubo_store::ReadTxn + ?Sized), account: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>> {
        let all = scan_json::<AccessKeyRecord>(tx, records::ACCESS_KEYS, b"", None, usize::MAX)?;
        Ok(all
            .into_iter()
            .map(|(_, k)| k)
            .filter(|k| k.account == account && k.user.as_deref().map(str::to_ascii_lowercase) == user.map(str::to_ascii_lowercase))
            .collect())
    }

    pub(crate) fn access_keys(&self, account: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>> {
        let mut keys = self.store.read(|tx| Ok(self.keys_of(tx, account, user)))??;
        keys.sort_by_key(|k| k.created);
        Ok(keys)
    }

    /// Changes (`Some(status)`) or deletes (`None`) a key of `user`.
    pub(crate) fn change_access_key(&self, account: &str, user: Option<&str>, id: &str, active: Option<bool>) -> Result<()> {
        self.store.write(|tx| {
            let key = get_json::<AccessKeyRecord>(tx, records::ACCESS_KEYS, id.as_bytes())?
                .filter(|k| k.account == account && k.user.as_deref().map(str::to_ascii_lowercase) == user.map(str::to_ascii_lowercase))
                .ok_or_else(|| IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found.")))?;
            match active {
                Some(a) => put_json(tx, records::ACCESS_KEYS, id.as_bytes(), &AccessKeyRecord { active: a, ..key })?,
                None => {
                    tx.delete(records::ACCESS_KEYS, id.as_bytes())?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn access_key(&self, id: &str) -> Result<AccessKeyRecord> {
        self.store
            .read(|tx| get_json::<AccessKeyRecord>(tx, records::ACCESS_KEYS, id.as_bytes()))?
            .ok_or_else(|| IamError::AccessDenied("The specified access key does not exist.".into()))
    }

    pub(crate) fn last_use(&self, id: &str) -> Option<LastUse> {
        self.usage.lock().ok()?.keys.get(id).cloned()
    }

    pub(crate) fn user_must_exist(&self, account: &str, user: &str) -> Result<()> {
        self.entity(Kind::User, account, user).map(|_| ()).map_err(|_| no_such("user", user))
    }
}
