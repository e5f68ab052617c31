//! Managed policies: customer-managed ones with their versions (at most five, one the
//! default), and the AWS-managed ones nubo embeds ([`crate::managed`]), which every
//! account sees and nobody changes.

use crate::entities::validate_document;
use crate::error::{IamError, Result};
use crate::managed;
use crate::records::{self, EntityRecord, Kind, PolicyRecord, PolicyVersionRecord};
use crate::util::{check_name, check_path, unique_id};
use crate::Iam;
use nubo_core::Timestamp;
use nubo_iam_policy::PolicyKind;
use nubo_store::{get_json, put_json, scan_json};

pub const MAX_VERSIONS: usize = 5;
pub const MAX_MANAGED_POLICY_BYTES: usize = 6144;

/// A managed policy as the API shows it, whoever manages it.
#[derive(Debug, Clone)]
pub struct ManagedView {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub default_version: String,
    /// (version id, document, created).
    pub versions: Vec<(String, String, Timestamp)>,
    pub tags: Vec<(String, String)>,
    pub aws_managed: bool,
}

impl ManagedView {
    pub fn default_document(&self) -> Option<&str> {
        self.versions.iter().find(|v| v.0 == self.default_version).map(|v| v.1.as_str())
    }
}

impl From<PolicyRecord> for ManagedView {
    fn from(p: PolicyRecord) -> ManagedView {
        ManagedView {
            name: p.name,
            id: p.id,
            path: p.path,
            arn: p.arn,
            description: p.description,
            created: p.created,
            updated: p.updated,
            default_version: p.default_version,
            versions: p.versions.into_iter().map(|v| (v.id, v.document, v.created)).collect(),
            tags: p.tags,
            aws_managed: false,
        }
    }
}

/// The account a customer-managed policy's ARN names.
fn arn_account(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    rest.split(':').next()
}

fn policy_key(arn: &str) -> Vec<u8> {
    arn.as_bytes().to_vec()
}

fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

impl Iam {
    /// A managed policy by ARN: AWS-managed, or customer-managed in `account`.
    pub(crate) fn managed_policy(&self, account: &str, arn: &str) -> Result<ManagedView> {
        if let Some(m) = managed::find(arn) {
            return Ok(m.view());
        }
        if arn_account(arn) != Some(account) {
            return Err(not_found(arn));
        }
        self.store
            .read(|tx| get_json::<PolicyRecord>(tx, records::POLICIES, &policy_key(arn)))?
            .map(ManagedView::from)
            .ok_or_else(|| not_found(arn))
    }

    pub(crate) fn create_policy(
        &self,
        account: &str,
        name: &str,
        path: Option<String>,
        document: &str,
        description: Option<String>,
        tags: Vec<(String, String)>,
    ) -> Result<ManagedView> {
        check_name("policyName", name, 128)?;
        let path = path.unwrap_or_else(|| "/".into());
        check_path(&path)?;
        let document = crate::util::decode_document(document);
        check_size(&document)?;
        validate_managed(&document)?;
        let now = self.clock.now();
        let arn = format!("arn:aws:iam::{account}:policy{path}{name}");
        let record = PolicyRecord {
            name: name.to_string(),
            id: unique_id("ANPA"),
            path,
            arn: arn.clone(),
            description,
            created: now,
            updated: now,
            default_version: "v1".into(),
            versions: vec![PolicyVersionRecord { id: "v1".into(), document, created: now }],
            next_version: 2,
            tags,
        };
        self.store.write(|tx| {
            // Names are unique per account, whatever the path.
            let clash = scan_json::<PolicyRecord>(tx, records::POLICIES, format!("arn:aws:iam::{account}:").as_bytes(), None, usize::MAX)?
                .into_iter()
                .any(|(_, p)| p.name.eq_ignore_ascii_case(name));
            if clash {
                return Err(IamError::EntityAlreadyExists(format!("A policy called {name} already exists. Duplicate names are not allowed.")));
            }
            put_json(tx, records::POLICIES, &policy_key(&arn), &record)?;
            Ok(())
        })?;
        Ok(record.into())
    }

    /// Customer-managed policies of the account and, for `scope` `All` or `AWS`, AWS's.
    pub(crate) fn managed_policies(&self, account: &str, scope: &str) -> Result<Vec<ManagedView>> {
        let mut out: Vec<ManagedView> = Vec::new();
        if scope != "Local" {
            out.extend(managed::all().iter().map(|m| m.view()));
        }
        if scope != "AWS" {
            let local = self.store.read(|tx| scan_json::<PolicyRecord>(tx, records::POLICIES, format!("arn:aws:iam::{account}:").as_bytes(), None, usize::MAX))?;
            out.extend(local.into_iter().map(|(_, p)| p.into()));
        }
        Ok(out)
    }

    /// Changes a customer-managed policy in one transaction.
    pub(crate) fn update_policy<T>(&self, account: &str, arn: &str, change: impl FnOnce(&mut PolicyRecord) -> Result<T>) -> Result<T> {
        if managed::find(arn).is_some() {
            return Err(IamError::InvalidInput(format!("Policy {arn} is an AWS managed policy and cannot be modified.")));
        }
        if arn_account(arn) != Some(account) {
            return Err(not_found(arn));
        }
        self.store.write(|tx| {
            let mut p = get_json::<PolicyRecord>(tx, records::POLICIES, &policy_key(arn))?.ok_or_else(|| not_found(arn))?;
            let out = change(&mut p)?;
            put_json(tx, records::POLICIES, &policy_key(arn), &p)?;
            Ok(out)
        })
    }

    pub(crate) fn create_policy_version(&self, account: &str, arn: &str, document: &str, set_default: bool) -> Result<(String, Timestamp)> {
        let document = crate::util::decode_document(document);
        check_size(&document)?;
        validate_managed(&document)?;
        let now = self.clock.now();
        self.update_policy(account, arn, |p| {
            if p.versions.len() >= MAX_VERSIONS {
                return Err(IamError::LimitExceeded(format!(
                    "A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version."
                )));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            p.versions.push(PolicyVersionRecord { id: id.clone(), document, created: now });
            if set_default {
                p.default_version = id.clone();
            }
            p.updated = now;
            Ok((id, now))
        })
    }

    pub(crate) fn delete_policy_version(&self, account: &str, arn: &str, version: &str) -> Result<()> {
        self.update_policy(account, arn, |p| {
            if p.default_version == version {
                return Err(IamError::DeleteConflict("Cannot delete the default version of a policy.".into()));
            }
            let before = p.versions.len();
            p.versions.retain(|v| v.id != version);
            if p.versions.len() == before {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} version {version} does not exist or is not attachable.")));
            }
            Ok(())
        })
    }

    pub(crate) fn set_default_policy_version(&self, account: &str, arn: &str, version: &str) -> Result<()> {
        let now = self.clock.now();
        self.update_policy(account, arn, |p| {
            if !p.versions.iter().any(|v| v.id == version) {
                return Err(IamError::NoSuchEntity(format!("Policy {arn} version {version} does not exist or is not attachable.")));
            }
            p.default_version = version.to_string();
            p.updated = now;
            Ok(())
        })
    }

    pub(crate) fn delete_policy(&self, account: &str, arn: &str) -> Result<()> {
        if managed::find(arn).is_some() {
            return Err(IamError::InvalidInput(format!("Policy {arn} is an AWS managed policy and cannot be deleted.")));
        }
        if !self.entities_with_policy(account, arn)?.is_empty() {
            return Err(IamError::DeleteConflict("Cannot delete a policy attached to entities.".into()));
        }
        if arn_account(arn) != Some(account) {
            return Err(not_found(arn));
        }
        self.store.write(|tx| {
            let p = get_json::<PolicyRecord>(tx, records::POLICIES, &policy_key(arn))?.ok_or_else(|| not_found(arn))?;
            if p.versions.len() > 1 {
                return Err(IamError::DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into()));
            }
            tx.delete(records::POLICIES, &policy_key(arn))?;
            Ok(())
        })
    }

    /// The users, groups and roles a policy is attached to.
    pub(crate) fn entities_with_policy(&self, account: &str, arn: &str) -> Result<Vec<(Kind, EntityRecord)>> {
        let mut out = Vec::new();
        for kind in [Kind::User, Kind::Group, Kind::Role] {
            for r in self.entities(kind, account, None)? {
                if r.attached.iter().any(|a| a == arn) {
                    out.push((kind, r));
                }
            }
        }
        Ok(out)
    }

    /// How many entities each policy is attached to (`AttachmentCount`).
    pub(crate) fn attachment_counts(&self, account: &str) -> Result<std::collections::HashMap<String, i32>> {
        let mut counts = std::collections::HashMap::new();
        for kind in [Kind::User, Kind::Group, Kind::Role] {
            for r in self.entities(kind, account, None)? {
                for a in r.attached {
                    *counts.entry(a).or_insert(0) += 1;
                }
            }
        }
        Ok(counts)
    }
}

/// Managed policies must also state the current policy language version.
fn validate_managed(doc: &str) -> Result<()> {
    validate_document(doc, PolicyKind::Identity)?;
    match nubo_iam_policy::Policy::parse(doc, PolicyKind::Identity).ok().and_then(|p| p.version()) {
        Some("2012-10-17") => Ok(()),
        _ => Err(IamError::MalformedPolicyDocument("Policy document must be version 2012-10-17 or greater.".into())),
    }
}

fn check_size(doc: &str) -> Result<()> {
    if doc.chars().filter(|c| !c.is_whitespace()).count() > MAX_MANAGED_POLICY_BYTES {
        return Err(IamError::LimitExceeded(format!("Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY_BYTES}")));
    }
    Ok(())
}
