//! Tags of every EC2 resource, in one table: `CreateTags`, `DeleteTags`, `DescribeTags`,
//! and the tag specifications of the create operations.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, Kind, TAGS};
use crate::Ec2;
use nubo_core::Scope;
use nubo_model::generated::ec2::{Tag, TagDescription, TagSpecification};
use nubo_store::{ReadTxn, WriteTxn};

fn tag_key(scope: &Scope, id: &str, key: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, &scope.region, id, key])
}

pub fn of(tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<Vec<(String, String)>> {
    let prefix = nubo_store::key::key(&[&scope.account, &scope.region, id]);
    Ok(tx
        .scan(TAGS, &prefix, None, usize::MAX)?
        .into_iter()
        .map(|(k, v)| (nubo_store::key::last(&k).to_string(), String::from_utf8_lossy(&v).into_owned()))
        .collect())
}

pub fn set(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, id: &str, tags: &[(String, String)]) -> Result<()> {
    let existing = of(tx, scope, id)?;
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(Ec2Error::InvalidParameterValue(format!("Tag key must be 1 to 128 characters and value at most 256: '{k}'")));
        }
        if k.starts_with("aws:") {
            return Err(Ec2Error::InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use".into()));
        }
        let new_keys = tags.iter().filter(|(n, _)| !existing.iter().any(|(e, _)| e == n)).count();
        if existing.len() + new_keys > 50 {
            return Err(Ec2Error::LimitExceeded { code: "TagLimitExceeded", message: "The maximum number of tags for a resource is 50".into() });
        }
        tx.put(TAGS, &tag_key(scope, id, k), v.as_bytes())?;
    }
    Ok(())
}

/// Tags AWS's own services set (`aws:autoscaling:groupName`): the `aws:` prefix is
/// theirs, so they are written past the check a client's tags get.
pub fn set_reserved(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, id: &str, tags: &[(String, String)]) -> Result<()> {
    for (k, v) in tags {
        tx.put(TAGS, &tag_key(scope, id, k), v.as_bytes())?;
    }
    Ok(())
}

pub fn delete_all(tx: &mut (impl WriteTxn + ?Sized), scope: &Scope, id: &str) -> Result<()> {
    for (k, _) in of(tx, scope, id)? {
        tx.delete(TAGS, &tag_key(scope, id, &k))?;
    }
    Ok(())
}

pub fn out(tags: &[(String, String)]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect())
}

/// The tags a create operation's `TagSpecifications` give resources of `resource_type`.
pub fn from_specs(specs: &Option<Vec<TagSpecification>>, resource_type: &str) -> Vec<(String, String)> {
    specs
        .iter()
        .flatten()
        .filter(|s| s.resource_type.as_deref().is_none_or(|t| t == resource_type))
        .flat_map(|s| s.tags.iter().flatten())
        .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
        .collect()
}

/// Resources that live inside others (rules in groups, a VPC's default ACL, an
/// instance's interface): their ids, and the resource type `DescribeTags` reports.
fn contained(tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<Option<bool>> {
    let found = match id.split('-').next().unwrap_or("") {
        "sgr" => records::all::<records::SecurityGroupRecord>(tx, scope)?.iter().any(|g| g.ingress.iter().chain(&g.egress).any(|r| r.id == id)),
        "eni" => records::all::<records::InstanceRecord>(tx, scope)?.iter().any(|i| i.eni_id == id),
        _ => return Ok(None),
    };
    Ok(Some(found))
}

fn contained_type(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or("") {
        "sgr" => "security-group-rule",
        "eni" => "network-interface",
        _ => "",
    }
}

/// Whether a resource exists, whatever its kind.
fn exists(tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<()> {
    match contained(tx, scope, id)? {
        Some(true) => return Ok(()),
        Some(false) => return Err(Ec2Error::NotFound { code: "InvalidID", message: format!("The ID '{id}' does not exist") }),
        None => {}
    }
    let kind = Kind::of(id).ok_or_else(|| Ec2Error::Malformed { code: "InvalidID", message: format!("The ID '{id}' is not valid") })?;
    if kind == Kind::Image && crate::images::public(id).is_some() {
        return Ok(());
    }
    if tx.get(kind.table(), &records::key(scope, id))?.is_none() {
        return Err(not_found(kind, id));
    }
    Ok(())
}

impl Ec2 {
    pub(crate) fn create_tags(&self, scope: &Scope, resources: &[String], tags: Vec<Tag>) -> Result<()> {
        let tags: Vec<(String, String)> = tags.into_iter().filter_map(|t| Some((t.key?, t.value.unwrap_or_default()))).collect();
        self.write(|tx| {
            for id in resources {
                exists(tx, scope, id)?;
                set(tx, scope, id, &tags)?;
            }
            Ok(())
        })
    }

    pub(crate) fn delete_tags(&self, scope: &Scope, resources: &[String], tags: Option<Vec<Tag>>) -> Result<()> {
        self.write(|tx| {
            for id in resources {
                exists(tx, scope, id)?;
                let current = of(tx, scope, id)?;
                for (k, v) in current {
                    // No tags named: all go. A tag named with a value goes only if it matches.
                    let goes = match &tags {
                        None => true,
                        Some(list) => list.iter().any(|t| t.key.as_deref() == Some(k.as_str()) && t.value.as_deref().is_none_or(|tv| tv == v)),
                    };
                    if goes {
                        tx.delete(TAGS, &tag_key(scope, id, &k))?;
                    }
                }
            }
            Ok(())
        })
    }

    pub(crate) fn describe_tags(&self, scope: &Scope, filters: &Filters) -> Result<Vec<TagDescription>> {
        let prefix = records::scope_prefix(scope);
        let rows = self.read(|tx| Ok(tx.scan(TAGS, &prefix, None, usize::MAX)?))?;
        let mut out = Vec::new();
        for (k, v) in rows {
            let parts: Vec<&str> = k.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| std::str::from_utf8(p).unwrap_or("")).collect();
            let [_, _, id, key] = parts.as_slice() else { continue };
            let value = String::from_utf8_lossy(&v).into_owned();
            let kind = Kind::of(id).map(Kind::resource_type).unwrap_or_else(|| contained_type(id));
            let ok = filters.matches(&[], |name| match name {
                "key" => one(*key),
                "value" => one(value.clone()),
                "resource-id" => one(*id),
                "resource-type" => one(kind),
                _ => None,
            });
            if ok? {
                out.push(TagDescription { key: Some(key.to_string()), resource_id: Some(id.to_string()), resource_type: Some(kind.to_string()), value: Some(value) });
            }
        }
        Ok(out)
    }
}
