//! Users, groups and roles: what they share (create, read, list, rename, delete, tags,
//! inline policies, attached managed policies), written once over [`Kind`].
//!
//! Every change to an entity goes through [`Iam::update_entity`] (one write transaction:
//! read, change, put), so the rules of what may change live beside each caller and the
//! storage rule lives here.

use crate::error::{no_such, IamError, Result};
use crate::records::{self, EntityRecord, Kind};
use crate::util::{check_name, check_path, unique_id};
use crate::Iam;
use nubo_iam_policy::{Policy, PolicyKind};
use nubo_store::{get_json, put_json, scan_json};

/// How many of each thing IAM allows (the defaults of its quotas).
pub const MAX_USER_INLINE_POLICY_BYTES: usize = 2048;
pub const MAX_GROUP_INLINE_POLICY_BYTES: usize = 5120;
pub const MAX_ROLE_INLINE_POLICY_BYTES: usize = 10_240;
pub const MAX_ATTACHED: usize = 10;

impl Iam {
    pub(crate) fn create_entity(
        &self,
        kind: Kind,
        account: &str,
        name: &str,
        path: Option<String>,
        fill: impl FnOnce(&mut EntityRecord),
    ) -> Result<EntityRecord> {
        let member = match kind {
            Kind::User => "userName",
            Kind::Group => "groupName",
            Kind::Role => "roleName",
        };
        check_name(member, name, if kind == Kind::Group { 128 } else { 64 })?;
        let path = path.unwrap_or_else(|| "/".into());
        check_path(&path)?;
        let mut record = EntityRecord {
            name: name.to_string(),
            id: unique_id(kind.id_prefix()),
            arn: format!("arn:aws:iam::{account}:{}{path}{name}", kind.arn_type()),
            path,
            created: self.clock.now(),
            inline: Default::default(),
            attached: Vec::new(),
            tags: Vec::new(),
            permissions_boundary: None,
            groups: Vec::new(),
            login: None,
            password_last_used: None,
            trust_policy: None,
            description: None,
            max_session_duration: None,
            last_used: None,
        };
        fill(&mut record);
        self.store.write(|tx| {
            let key = records::key(account, name);
            if get_json::<EntityRecord>(tx, kind.table(), &key)?.is_some() {
                let noun = match kind {
                    Kind::User => "User",
                    Kind::Group => "Group",
                    Kind::Role => "Role",
                };
                return Err(IamError::EntityAlreadyExists(format!("{noun} with name {name} already exists.")));
            }
            put_json(tx, kind.table(), &key, &record)?;
            Ok(record.clone())
        })
    }

    pub(crate) fn entity(&self, kind: Kind, account: &str, name: &str) -> Result<EntityRecord> {
        self.store
            .read(|tx| get_json::<EntityRecord>(tx, kind.table(), &records::key(account, name)))?
            .ok_or_else(|| no_such(kind.noun(), name))
    }

    pub(crate) fn entities(&self, kind: Kind, account: &str, path_prefix: Option<&str>) -> Result<Vec<EntityRecord>> {
        let prefix = path_prefix.unwrap_or("/");
        let all = self.store.read(|tx| scan_json::<EntityRecord>(tx, kind.table(), &records::account_prefix(account), None, usize::MAX))?;
        Ok(all.into_iter().map(|(_, r)| r).filter(|r| r.path.starts_with(prefix)).collect())
    }

    /// Reads, changes and writes one entity in one transaction.
    pub(crate) fn update_entity<T>(
        &self,
        kind: Kind,
        account: &str,
        name: &str,
        change: impl FnOnce(&mut EntityRecord) -> Result<T>,
    ) -> Result<T> {
        self.store.write(|tx| {
            let key = records::key(account, name);
            let mut record = get_json::<EntityRecord>(tx, kind.table(), &key)?.ok_or_else(|| no_such(kind.noun(), name))?;
            let out = change(&mut record)?;
            put_json(tx, kind.table(), &key, &record)?;
            Ok(out)
        })
    }

    /// `UpdateUser` / `UpdateGroup`: a new name moves the record (and, for a user, its
    /// group memberships and access keys follow by name).
    pub(crate) fn rename_entity(&self, kind: Kind, account: &str, name: &str, new_name: Option<String>, new_path: Option<String>) -> Result<()> {
        if let Some(p) = &new_path {
            check_path(p)?;
        }
        if let Some(n) = &new_name {
            check_name(if kind == Kind::User { "newUserName" } else { "newGroupName" }, n, if kind == Kind::Group { 128 } else { 64 })?;
        }
        self.store.write(|tx| {
            let key = records::key(account, name);
            let mut record = get_json::<EntityRecord>(tx, kind.table(), &key)?.ok_or_else(|| no_such(kind.noun(), name))?;
            if let Some(p) = new_path {
                record.path = p;
            }
            let old_name = record.name.clone();
            if let Some(n) = new_name.filter(|n| *n != old_name) {
                let new_key = records::key(account, &n);
                if !n.eq_ignore_ascii_case(&old_name) && get_json::<EntityRecord>(tx, kind.table(), &new_key)?.is_some() {
                    return Err(IamError::EntityAlreadyExists(format!("{} with name {n} already exists.", if kind == Kind::User { "User" } else { "Group" })));
                }
                tx.delete(kind.table(), &key)?;
                record.name = n.clone();
                // The other side of memberships names this entity.
                let (other, field_is_groups) = if kind == Kind::User { (Kind::Group, false) } else { (Kind::User, true) };
                if field_is_groups {
                    for (k, mut user) in scan_json::<EntityRecord>(tx, other.table(), &records::account_prefix(account), None, usize::MAX)? {
                        if let Some(g) = user.groups.iter_mut().find(|g| g.eq_ignore_ascii_case(&old_name)) {
                            *g = n.clone();
                            put_json(tx, other.table(), &k, &user)?;
                        }
                    }
                } else {
                    // A user's keys and MFA devices name it.
                    for (k, mut key_record) in scan_json::<records::AccessKeyRecord>(tx, records::ACCESS_KEYS, b"", None, usize::MAX)? {
                        if key_record.account == account && key_record.user.as_deref() == Some(old_name.as_str()) {
                            key_record.user = Some(n.clone());
                            put_json(tx, records::ACCESS_KEYS, &k, &key_record)?;
                        }
                    }
                    for (k, mut device) in scan_json::<records::MfaDeviceRecord>(tx, records::MFA_DEVICES, &records::account_prefix(account), None, usize::MAX)? {
                        if device.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&old_name)) {
                            device.user = Some(n.clone());
                            put_json(tx, records::MFA_DEVICES, &k, &device)?;
                        }
                    }
                }
                put_json(tx, kind.table(), &new_key, &record_with_arn(record, kind, account))?;
                return Ok(());
            }
            put_json(tx, kind.table(), &key, &record_with_arn(record, kind, account))?;
            Ok(())
        })
    }

    /// Deletes an entity that nothing hangs off any more, as IAM insists.
    pub(crate) fn delete_entity(&self, kind: Kind, account: &str, name: &str) -> Result<()> {
        self.store.write(|tx| {
            let key = records::key(account, name);
            let record = get_json::<EntityRecord>(tx, kind.table(), &key)?.ok_or_else(|| no_such(kind.noun(), name))?;
            if !record.inline.is_empty() || !record.attached.is_empty() {
                return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
            }
            match kind {
                Kind::User => {
                    if !record.groups.is_empty() {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must remove users from group first.".into()));
                    }
                    if record.login.is_some() {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must delete login profile first.".into()));
                    }
                    let keys = scan_json::<records::AccessKeyRecord>(tx, records::ACCESS_KEYS, b"", None, usize::MAX)?;
                    if keys.iter().any(|(_, k)| k.account == account && k.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(name))) {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must delete access keys first.".into()));
                    }
                    let devices = scan_json::<records::MfaDeviceRecord>(tx, records::MFA_DEVICES, &records::account_prefix(account), None, usize::MAX)?;
                    if devices.iter().any(|(_, d)| d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(name))) {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must delete MFA device first.".into()));
                    }
                }
                Kind::Group => {
                    let users = scan_json::<EntityRecord>(tx, records::USERS, &records::account_prefix(account), None, usize::MAX)?;
                    if users.iter().any(|(_, u)| u.groups.iter().any(|g| g.eq_ignore_ascii_case(name))) {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must remove users from group first.".into()));
                    }
                }
                Kind::Role => {
                    let profiles = scan_json::<records::InstanceProfileRecord>(tx, records::INSTANCE_PROFILES, &records::account_prefix(account), None, usize::MAX)?;
                    if profiles.iter().any(|(_, p)| p.roles.iter().any(|r| r.eq_ignore_ascii_case(name))) {
                        return Err(IamError::DeleteConflict("Cannot delete entity, must remove roles from instance profile first.".into()));
                    }
                }
            }
            tx.delete(kind.table(), &key)?;
            Ok(())
        })
    }

    pub(crate) fn put_inline(&self, kind: Kind, account: &str, name: &str, policy_name: &str, document: &str) -> Result<()> {
        check_name("policyName", policy_name, 128)?;
        let document = crate::util::decode_document(document);
        validate_document(&document, PolicyKind::Identity)?;
        let limit = match kind {
            Kind::User => MAX_USER_INLINE_POLICY_BYTES,
            Kind::Group => MAX_GROUP_INLINE_POLICY_BYTES,
            Kind::Role => MAX_ROLE_INLINE_POLICY_BYTES,
        };
        self.update_entity(kind, account, name, |r| {
            let total: usize = r.inline.iter().filter(|(n, _)| *n != policy_name).map(|(_, d)| compact_len(d)).sum::<usize>() + compact_len(&document);
            if total > limit {
                return Err(IamError::LimitExceeded(format!("Maximum policy size of {limit} bytes exceeded for {} {name}", kind.noun())));
            }
            r.inline.insert(policy_name.to_string(), document.clone());
            Ok(())
        })
    }

    pub(crate) fn inline(&self, kind: Kind, account: &str, name: &str, policy_name: &str) -> Result<(EntityRecord, String)> {
        let r = self.entity(kind, account, name)?;
        let doc = r
            .inline
            .get(policy_name)
            .cloned()
            .ok_or_else(|| IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.noun())))?;
        Ok((r, doc))
    }

    pub(crate) fn delete_inline(&self, kind: Kind, account: &str, name: &str, policy_name: &str) -> Result<()> {
        self.update_entity(kind, account, name, |r| {
            r.inline
                .remove(policy_name)
                .map(|_| ())
                .ok_or_else(|| IamError::NoSuchEntity(format!("The {} policy with name {policy_name} cannot be found.", kind.noun())))
        })
    }

    pub(crate) fn attach(&self, kind: Kind, account: &str, name: &str, policy_arn: &str) -> Result<()> {
        self.managed_policy(account, policy_arn)?;
        self.update_entity(kind, account, name, |r| {
            if !r.attached.iter().any(|a| a == policy_arn) {
                if r.attached.len() >= MAX_ATTACHED {
                    return Err(IamError::LimitExceeded(format!("Cannot exceed quota for PoliciesPerUser: {MAX_ATTACHED}")));
                }
                r.attached.push(policy_arn.to_string());
            }
            Ok(())
        })
    }

    pub(crate) fn detach(&self, kind: Kind, account: &str, name: &str, policy_arn: &str) -> Result<()> {
        self.update_entity(kind, account, name, |r| {
            let before = r.attached.len();
            r.attached.retain(|a| a != policy_arn);
            if r.attached.len() == before {
                return Err(IamError::NoSuchEntity(format!("Policy {policy_arn} was not found.")));
            }
            Ok(())
        })
    }
}

fn record_with_arn(mut r: EntityRecord, kind: Kind, account: &str) -> EntityRecord {
    r.arn = format!("arn:aws:iam::{account}:{}{}{}", kind.arn_type(), r.path, r.name);
    r
}

/// IAM counts a policy's size without whitespace.
fn compact_len(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// A document IAM would store: valid JSON and a valid policy of its kind.
pub(crate) fn validate_document(document: &str, kind: PolicyKind) -> Result<()> {
    Policy::parse(document, kind).map(|_| ()).map_err(|e| IamError::MalformedPolicyDocument(e.0))
}
