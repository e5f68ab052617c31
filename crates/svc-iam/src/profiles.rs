//! Instance profiles: the container that hands a role to an EC2 instance (one role each).

use crate::error::{IamError, Result};
use crate::records::{self, InstanceProfileRecord, Kind};
use crate::util::{check_name, check_path, unique_id};
use crate::Iam;
use nubo_store::{get_json, put_json, scan_json};

fn no_profile(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found."))
}

impl Iam {
    pub(crate) fn create_instance_profile(&self, account: &str, name: &str, path: Option<String>, tags: Vec<(String, String)>) -> Result<InstanceProfileRecord> {
        check_name("instanceProfileName", name, 128)?;
        let path = path.unwrap_or_else(|| "/".into());
        check_path(&path)?;
        let record = InstanceProfileRecord {
            name: name.to_string(),
            id: unique_id("AIPA"),
            arn: format!("arn:aws:iam::{account}:instance-profile{path}{name}"),
            path,
            created: self.clock.now(),
            roles: Vec::new(),
            tags,
        };
        self.store.write(|tx| {
            let key = records::key(account, name);
            if get_json::<InstanceProfileRecord>(tx, records::INSTANCE_PROFILES, &key)?.is_some() {
                return Err(IamError::EntityAlreadyExists(format!("Instance Profile {name} already exists.")));
            }
            put_json(tx, records::INSTANCE_PROFILES, &key, &record)?;
            Ok(record.clone())
        })
    }

    pub(crate) fn instance_profile(&self, account: &str, name: &str) -> Result<InstanceProfileRecord> {
        self.store.read(|tx| get_json(tx, records::INSTANCE_PROFILES, &records::key(account, name)))?.ok_or_else(|| no_profile(name))
    }

    pub(crate) fn instance_profiles(&self, account: &str) -> Result<Vec<InstanceProfileRecord>> {
        let all = self.store.read(|tx| scan_json::<InstanceProfileRecord>(tx, records::INSTANCE_PROFILES, &records::account_prefix(account), None, usize::MAX))?;
        Ok(all.into_iter().map(|(_, p)| p).collect())
    }

    /// Changes one instance profile in one transaction.
    pub(crate) fn update_instance_profile(&self, account: &str, name: &str, change: impl FnOnce(&mut InstanceProfileRecord) -> Result<()>) -> Result<()> {
        self.store.write(|tx| {
            let key = records::key(account, name);
            let mut p = get_json::<InstanceProfileRecord>(tx, records::INSTANCE_PROFILES, &key)?.ok_or_else(|| no_profile(name))?;
            change(&mut p)?;
            put_json(tx, records::INSTANCE_PROFILES, &key, &p)?;
            Ok(())
        })
    }

    pub(crate) fn add_role_to_instance_profile(&self, account: &str, profile: &str, role: &str) -> Result<()> {
        let role = self.entity(Kind::Role, account, role)?.name;
        self.update_instance_profile(account, profile, |p| {
            if !p.roles.is_empty() {
                return Err(IamError::LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".into()));
            }
            p.roles.push(role);
            Ok(())
        })
    }

    pub(crate) fn remove_role_from_instance_profile(&self, account: &str, profile: &str, role: &str) -> Result<()> {
        self.update_instance_profile(account, profile, |p| {
            let before = p.roles.len();
            p.roles.retain(|r| !r.eq_ignore_ascii_case(role));
            if p.roles.len() == before {
                return Err(IamError::NoSuchEntity(format!("The role with name {role} cannot be found.")));
            }
            Ok(())
        })
    }

    pub(crate) fn delete_instance_profile(&self, account: &str, name: &str) -> Result<()> {
        self.store.write(|tx| {
            let key = records::key(account, name);
            let p = get_json::<InstanceProfileRecord>(tx, records::INSTANCE_PROFILES, &key)?.ok_or_else(|| no_profile(name))?;
            if !p.roles.is_empty() {
                return Err(IamError::DeleteConflict("Cannot delete entity, must remove roles from instance profile first.".into()));
            }
            tx.delete(records::INSTANCE_PROFILES, &key)?;
            Ok(())
        })
    }
}
