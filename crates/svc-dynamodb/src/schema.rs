//! What a table is: its record in the store, its key schema and indexes, and the checks
//! DynamoDB makes of a key or an item against them.

use crate::error::{validation, Result};
use crate::keys;
use crate::value::{AttrValue, Item};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

impl KeySchema {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.as_str()).chain(self.range.as_deref())
    }

    /// Each key attribute with its KeyType, as KeySchema elements list them.
    pub fn typed(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.names().zip(["HASH", "RANGE"]).map(|(n, t)| (n.to_string(), t.to_string()))
    }
}

/// `arn:aws:dynamodb:<region>:<account>:table/<rest>` as its scope and `<rest>`.
pub fn parse_table_arn(arn: &str) -> Option<(nubo_core::Scope, &str)> {
    let mut parts = arn.strip_prefix("arn:aws:dynamodb:")?.splitn(3, ':');
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    Some((nubo_core::Scope::new(account, region), resource.strip_prefix("table/")?))
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct IndexRecord {
    pub name: String,
    pub key: KeySchema,
    /// ALL, KEYS_ONLY or INCLUDE.
    pub projection: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
    #[serde(default)]
    pub read_capacity: i64,
    #[serde(default)]
    pub write_capacity: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StreamRecord {
    pub view_type: String,
    pub label: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TableRecord {
    pub name: String,
    /// A fresh id per table: items live under it, so a table deleted and created again
    /// under the same name never sees the old one's items.
    pub id: String,
    pub arn: String,
    /// Seconds since the epoch.
    pub created: f64,
    /// Attribute definitions in the order the client gave them: name, type (S, N, B).
    pub attributes: Vec<(String, String)>,
    pub key: KeySchema,
    #[serde(default)]
    pub local_indexes: Vec<IndexRecord>,
    #[serde(default)]
    pub global_indexes: Vec<IndexRecord>,
    pub billing_mode: String,
    #[serde(default)]
    pub read_capacity: i64,
    #[serde(default)]
    pub write_capacity: i64,
    #[serde(default)]
    pub billing_changed: Option<f64>,
    #[serde(default)]
    pub stream: Option<StreamRecord>,
    #[serde(default)]
    pub sse_kms_key: Option<String>,
    #[serde(default)]
    pub sse_enabled: bool,
    #[serde(default)]
    pub table_class: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// TTL attribute and whether it is enabled.
    #[serde(default)]
    pub ttl: Option<(String, bool)>,
    /// Since when point-in-time recovery has been on (its changes are logged from then).
    #[serde(default)]
    pub pitr_since: Option<f64>,
    /// Where a restored table came from.
    #[serde(default)]
    pub restore: Option<RestoreRecord>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RestoreRecord {
    pub source_backup_arn: Option<String>,
    pub source_table_arn: Option<String>,
    pub at: f64,
}

impl TableRecord {
    /// The account and region the table lives in (its ARN says).
    pub fn scope(&self) -> nubo_core::Scope {
        let mut parts = self.arn.split(':').skip(3);
        let region = parts.next().unwrap_or_default();
        let account = parts.next().unwrap_or_default();
        nubo_core::Scope::new(account, region)
    }

    /// The table as it is now in `tx`: the same table (same id), or ResourceNotFound if
    /// it was deleted (or deleted and created again) since the caller read it. Writes use
    /// this so indexes, streams and the PITR log follow the definition of the moment.
    pub fn refresh(&self, tx: &(impl nubo_store::ReadTxn + ?Sized)) -> Result<TableRecord> {
        match crate::records::get_table(tx, &self.scope(), &self.name)? {
            Some(t) if t.id == self.id => Ok(t),
            _ => crate::error::table_not_found(),
        }
    }

    pub fn attribute_type(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }

    pub fn index(&self, name: &str) -> Option<(&IndexRecord, bool)> {
        self.global_indexes
            .iter()
            .map(|i| (i, true))
            .chain(self.local_indexes.iter().map(|i| (i, false)))
            .find(|(i, _)| i.name == name)
    }

    pub fn indexes(&self) -> impl Iterator<Item = &IndexRecord> {
        self.global_indexes.iter().chain(self.local_indexes.iter())
    }

    /// Checks a `Key` parameter (GetItem, DeleteItem, UpdateItem…) against the schema.
    pub fn check_key(&self, key: &Item) -> Result<()> {
        if key.len() != self.key.names().count() {
            return validation("The provided key element does not match the schema");
        }
        for (i, name) in self.key.names().enumerate() {
            let want = self.attribute_type(name).unwrap_or("S");
            match key.get(name) {
                Some(v) if v.type_name() == want => check_key_value(name, v, i == 0, false)?,
                _ => return validation("The provided key element does not match the schema"),
            }
        }
        Ok(())
    }

    /// Checks an item to be written: its key attributes present with their types, the
    /// index keys it carries with theirs.
    pub fn check_item(&self, item: &Item) -> Result<()> {
        for (i, name) in self.key.names().enumerate() {
            let want = self.attribute_type(name).unwrap_or("S");
            let Some(v) = item.get(name) else {
                return validation(format!("One or more parameter values were invalid: Missing the key {name} in the item"));
            };
            if v.type_name() != want {
                return validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {name} expected: {want} actual: {}",
                    v.type_name()
                ));
            }
            check_key_value(name, v, i == 0, true)?;
        }
        self.check_index_keys(item)
    }

    /// Index key attributes an item carries must have the defined type.
    pub fn check_index_keys(&self, item: &Item) -> Result<()> {
        for index in self.indexes() {
            for name in index.key.names() {
                let want = self.attribute_type(name).unwrap_or("S");
                if let Some(v) = item.get(name) {
                    if v.type_name() != want {
                        return validation(format!(
                            "One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {want} Actual: {} IndexName: {}",
                            v.type_name(),
                            index.name
                        ));
                    }
                    if matches!(v, AttrValue::S(s) if s.is_empty()) || matches!(v, AttrValue::B(b) if b.is_empty()) {
                        return validation(format!(
                            "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {name}",
                            index.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The item's key attributes alone (what `LastEvaluatedKey` and `Keys` carry).
    pub fn key_of(&self, item: &Item) -> Item {
        self.key.names().filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone()))).collect()
    }

    /// The store key of the item with these key attributes (checked before).
    pub fn item_key(&self, item: &Item) -> Vec<u8> {
        let mut k = nubo_store::key::key(&[&self.id]);
        encode_under(&self.key, item, &mut k);
        k
    }

    /// The store key of an item in an index, or `None` when the item lacks the index's
    /// key attributes (indexes are sparse).
    pub fn index_key(&self, index: &IndexRecord, item: &Item) -> Option<Vec<u8>> {
        // An item whose index key attribute is missing or of another type is not in the index.
        if index.key.names().any(|n| item.get(n).is_none_or(|v| Some(v.type_name()) != self.attribute_type(n))) {
            return None;
        }
        let mut k = nubo_store::key::key(&[&self.id, &index.name]);
        encode_under(&index.key, item, &mut k);
        for n in self.key.names() {
            keys::encode(item.get(n)?, &mut k);
        }
        Some(k)
    }

    /// Which attributes an index holds of an item (its projection).
    pub fn project_for_index(&self, index: &IndexRecord, item: &Item) -> Item {
        match index.projection.as_str() {
            "ALL" => item.clone(),
            projection => item
                .iter()
                .filter(|(n, _)| {
                    self.key.names().any(|k| k == n.as_str())
                        || index.key.names().any(|k| k == n.as_str())
                        || (projection == "INCLUDE" && index.non_key_attributes.iter().any(|a| a == *n))
                })
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }
}

/// `hash(partition) / partition / sort` under a prefix.
fn encode_under(schema: &KeySchema, item: &Item, out: &mut Vec<u8>) {
    let mut part = Vec::new();
    if let Some(h) = item.get(&schema.hash) {
        keys::encode(h, &mut part);
    }
    out.extend_from_slice(&keys::partition_hash(&part));
    out.extend_from_slice(&part);
    if let Some(r) = schema.range.as_ref().and_then(|r| item.get(r)) {
        keys::encode(r, out);
    }
}

/// The prefix under which all items of one partition lie (a Query's range).
pub fn partition_prefix(base: Vec<u8>, partition: &AttrValue) -> Vec<u8> {
    let mut part = Vec::new();
    keys::encode(partition, &mut part);
    let mut k = base;
    k.extend_from_slice(&keys::partition_hash(&part));
    k.extend_from_slice(&part);
    k
}

/// Key values: not empty, and within DynamoDB's size limits (2048 bytes for a partition
/// key, 1024 for a sort key).
fn check_key_value(name: &str, v: &AttrValue, is_hash: bool, in_item: bool) -> Result<()> {
    let len = match v {
        AttrValue::S(s) => Some((s.len(), "string")),
        AttrValue::B(b) => Some((b.len(), "binary")),
        _ => None,
    };
    if let Some((len, kind)) = len {
        if len == 0 {
            let lead = if in_item { "One or more parameter values are not valid." } else { "One or more parameter values were invalid:" };
            return validation(format!("{lead} The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"));
        }
        if is_hash && len > 2048 {
            return validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes");
        }
        if !is_hash && len > 1024 {
            return validation("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
        }
    }
    Ok(())
}
