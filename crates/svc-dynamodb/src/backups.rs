//! On-demand backups and point-in-time recovery, over data nubo keeps.
//!
//! A backup is a copy of the table's items and definition taken in one snapshot
//! (`dynamodb_backup_items` under the backup's id). Point-in-time recovery keeps, while it
//! is enabled, a log of every change with the item as it was before
//! (`dynamodb_pitr`, written in the change's transaction); restoring to a time takes
//! today's items and undoes, newest first, the changes made after it.

use crate::error::{validation, DynamoError, Result};
use crate::records::{self, Origin, ITEMS};
use crate::schema::{RestoreRecord, TableRecord};
use crate::tables::check_table_name;
use crate::value::Item;
use crate::wire;
use crate::DynamoDb;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::dynamodb::*;
use nubo_store::{key::key, WriteTxn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const BACKUPS: &str = "dynamodb_backups";
pub const BACKUP_ITEMS: &str = "dynamodb_backup_items";
pub const PITR: &str = "dynamodb_pitr";

#[derive(Serialize, Deserialize, Clone)]
struct BackupRecord {
    arn: String,
    name: String,
    id: String,
    created: f64,
    /// The table as it was: its definition is what a restore creates.
    table: TableRecord,
    size: i64,
    count: i64,
}

#[derive(Serialize, Deserialize)]
struct Change {
    at: f64,
    key: serde_json::Value,
    old: Option<serde_json::Value>,
}

/// Logs a change for point-in-time recovery, if the table has it enabled.
pub fn log_change(tx: &mut (impl WriteTxn + ?Sized), table: &TableRecord, old: Option<&Item>, new: Option<&Item>, origin: Origin) -> Result<()> {
    if table.pitr_since.is_none() || old == new {
        return Ok(());
    }
    let Some(any) = new.or(old) else { return Ok(()) };
    let prefix = key(&[&table.id]);
    let last = tx.range(PITR, &prefix, &crate::keys::successor(&prefix), true, 1)?;
    let seq = last.first().and_then(|(k, _)| k[prefix.len()..].try_into().ok()).map(u64::from_be_bytes).unwrap_or(0) + 1;
    let mut k = prefix;
    k.extend_from_slice(&seq.to_be_bytes());
    let change = Change { at: origin.now, key: wire::item_to_json(&table.key_of(any)), old: old.map(wire::item_to_json) };
    Ok(nubo_store::put_json(tx, PITR, &k, &change)?)
}

fn backup_details(b: &BackupRecord) -> BackupDetails {
    BackupDetails {
        backup_arn: b.arn.clone(),
        backup_name: b.name.clone(),
        backup_size_bytes: Some(b.size),
        backup_status: "AVAILABLE".into(),
        backup_type: "USER".into(),
        backup_creation_date_time: Timestamp::from_secs_f64(b.created),
        backup_expiry_date_time: None,
    }
}

fn backup_not_found<T>(arn: &str) -> Result<T> {
    Err(DynamoError::BackupNotFound(format!("Backup not found: {arn}")))
}

impl DynamoDb {
    fn backup(&self, scope: &Scope, arn: &str) -> Result<BackupRecord> {
        let id = arn.rsplit('/').next().unwrap_or("");
        match self.read(|tx| Ok(nubo_store::get_json::<BackupRecord>(tx, BACKUPS, &key(&[&scope.account, &scope.region, id]))?))? {
            Some(b) if b.arn == arn => Ok(b),
            _ => backup_not_found(arn),
        }
    }

    fn describe_backup_record(&self, b: &BackupRecord) -> BackupDescription {
        let t = &b.table;
        let key_schema: Vec<KeySchemaElement> = t.key.typed().map(|(attribute_name, key_type)| KeySchemaElement { attribute_name, key_type }).collect();
        BackupDescription {
            backup_details: Some(backup_details(b)),
            source_table_details: Some(SourceTableDetails {
                table_name: t.name.clone(),
                table_id: t.id.clone(),
                table_arn: Some(t.arn.clone()),
                table_size_bytes: Some(b.size),
                key_schema,
                table_creation_date_time: Timestamp::from_secs_f64(t.created),
                provisioned_throughput: ProvisionedThroughput { read_capacity_units: t.read_capacity, write_capacity_units: t.write_capacity },
                on_demand_throughput: None,
                item_count: Some(b.count),
                billing_mode: Some(t.billing_mode.clone()),
            }),
            source_table_feature_details: None,
        }
    }

    pub async fn create_backup(&self, ctx: &RequestContext, input: CreateBackupInput) -> Result<CreateBackupOutput> {
        let scope = &ctx.scope;
        let now = self.clock.now();
        let id = format!("{:014}-{}", now.as_millis(), &ids::uuid()[..8]);
        let backup = self.store.write(|tx| {
            let Some(table) = records::get_table(tx, scope, &input.table_name)? else {
                return Err(DynamoError::TableNotFound(format!("Table not found: {}", input.table_name)));
            };
            let (count, size) = records::stats(tx, &table.id, "")?;
            copy(tx, ITEMS, &key(&[&table.id]), BACKUP_ITEMS, &key(&[&id]))?;
            let backup = BackupRecord { arn: format!("{}/backup/{id}", table.arn), name: input.backup_name.clone(), id: id.clone(), created: now.as_secs_f64(), table, size, count };
            nubo_store::put_json(tx, BACKUPS, &key(&[&scope.account, &scope.region, &id]), &backup)?;
            Ok(backup)
        })?;
        Ok(CreateBackupOutput { backup_details: Some(backup_details(&backup)) })
    }

    pub async fn describe_backup(&self, ctx: &RequestContext, input: DescribeBackupInput) -> Result<DescribeBackupOutput> {
        let b = self.backup(&ctx.scope, &input.backup_arn)?;
        Ok(DescribeBackupOutput { backup_description: Some(self.describe_backup_record(&b)) })
    }

    pub async fn list_backups(&self, ctx: &RequestContext, input: ListBackupsInput) -> Result<ListBackupsOutput> {
        let scope = &ctx.scope;
        let all: Vec<BackupRecord> = self
            .read(|tx| Ok(nubo_store::scan_json::<BackupRecord>(tx, BACKUPS, &key(&[&scope.account, &scope.region]), None, usize::MAX)?))?
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let lower = input.time_range_lower_bound.map(|t| t.as_secs_f64());
        let upper = input.time_range_upper_bound.map(|t| t.as_secs_f64());
        // Every backup nubo takes is a USER backup.
        let wanted = matches!(input.backup_type.as_deref(), None | Some("USER") | Some("ALL"));
        let mut matching: Vec<&BackupRecord> = all
            .iter()
            .filter(|b| input.table_name.as_ref().is_none_or(|n| *n == b.table.name))
            .filter(|b| lower.is_none_or(|l| b.created >= l) && upper.is_none_or(|u| b.created <= u))
            .filter(|_| wanted)
            .collect();
        if let Some(start) = &input.exclusive_start_backup_arn {
            if let Some(i) = matching.iter().position(|b| b.arn == *start) {
                matching.drain(..=i);
            }
        }
        let limit = match input.limit.unwrap_or(100) {
            l @ 1..=100 => l as usize,
            l => return validation(format!("1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {}", if l < 1 { "greater than or equal to 1" } else { "less than or equal to 100" })),
        };
        let more = matching.len() > limit;
        matching.truncate(limit);
        Ok(ListBackupsOutput {
            last_evaluated_backup_arn: more.then(|| matching.last().map(|b| b.arn.clone())).flatten(),
            backup_summaries: Some(
                matching
                    .iter()
                    .map(|b| BackupSummary {
                        table_name: Some(b.table.name.clone()),
                        table_id: Some(b.table.id.clone()),
                        table_arn: Some(b.table.arn.clone()),
                        backup_arn: Some(b.arn.clone()),
                        backup_name: Some(b.name.clone()),
                        backup_creation_date_time: Some(Timestamp::from_secs_f64(b.created)),
                        backup_expiry_date_time: None,
                        backup_status: Some("AVAILABLE".into()),
                        backup_type: Some("USER".into()),
                        backup_size_bytes: Some(b.size),
                    })
                    .collect(),
            ),
        })
    }

    pub async fn delete_backup(&self, ctx: &RequestContext, input: DeleteBackupInput) -> Result<DeleteBackupOutput> {
        let b = self.backup(&ctx.scope, &input.backup_arn)?;
        self.store.write(|tx| {
            records::clear(tx, BACKUP_ITEMS, &key(&[&b.id]))?;
            tx.delete(BACKUPS, &key(&[&ctx.scope.account, &ctx.scope.region, &b.id]))?;
            Ok::<_, DynamoError>(())
        })?;
        let mut description = self.describe_backup_record(&b);
        if let Some(d) = description.backup_details.as_mut() {
            d.backup_status = "DELETED".into();
        }
        Ok(DeleteBackupOutput { backup_description: Some(description) })
    }

    pub async fn restore_table_from_backup(&self, ctx: &RequestContext, input: RestoreTableFromBackupInput) -> Result<RestoreTableFromBackupOutput> {
        check_table_name(&input.target_table_name, "targetTableName")?;
        let b = self.backup(&ctx.scope, &input.backup_arn)?;
        let items = self.read(|tx| {
            let prefix = key(&[&b.id]);
            tx.scan(BACKUP_ITEMS, &prefix, None, usize::MAX)?.into_iter().map(|(_, v)| records::decode_item(&v)).collect::<Result<Vec<_>>>()
        })?;
        let summary = RestoreRecord { source_backup_arn: Some(b.arn.clone()), source_table_arn: Some(b.table.arn.clone()), at: self.clock.now().as_secs_f64() };
        let table = self.restore(ctx, &b.table, &input.target_table_name, input.billing_mode_override, input.provisioned_throughput_override, summary, items)?;
        Ok(RestoreTableFromBackupOutput { table_description: Some(table) })
    }

    pub async fn restore_table_to_point_in_time(&self, ctx: &RequestContext, input: RestoreTableToPointInTimeInput) -> Result<RestoreTableToPointInTimeOutput> {
        check_table_name(&input.target_table_name, "targetTableName")?;
        let source_name = match (&input.source_table_name, &input.source_table_arn) {
            (Some(n), _) => n.clone(),
            (None, Some(arn)) => arn.rsplit('/').next().unwrap_or("").to_string(),
            (None, None) => return validation("Either SourceTableName or SourceTableArn must be specified"),
        };
        let Some(source) = self.read(|tx| records::get_table(tx, &ctx.scope, &source_name))? else {
            return Err(DynamoError::TableNotFound(format!("Table not found: {source_name}")));
        };
        let Some(since) = source.pitr_since else {
            return Err(DynamoError::PointInTimeRecoveryUnavailable(format!("Point in time recovery is not enabled for table '{source_name}'")));
        };
        let now = self.clock.now().as_secs_f64();
        let at = match (input.use_latest_restorable_time.unwrap_or(false), input.restore_date_time) {
            (true, _) => now,
            (false, Some(t)) => t.as_secs_f64(),
            (false, None) => return validation("RestoreDateTime must be specified when UseLatestRestorableTime is false"),
        };
        if at < since || at > now {
            return Err(DynamoError::InvalidRestoreTime(format!(
                "Only the restore time between {} and {} is permitted",
                Timestamp::from_secs_f64(since).to_iso8601(),
                Timestamp::from_secs_f64(now).to_iso8601()
            )));
        }
        let items = self.read(|tx| {
            let mut items: BTreeMap<Vec<u8>, Item> = BTreeMap::new();
            for (k, v) in tx.scan(ITEMS, &key(&[&source.id]), None, usize::MAX)? {
                items.insert(k, records::decode_item(&v)?);
            }
            // Undo, newest first, what changed after the restore time.
            let prefix = key(&[&source.id]);
            for (_, v) in tx.range(PITR, &prefix, &crate::keys::successor(&prefix), true, usize::MAX)? {
                let change: Change = serde_json::from_slice(&v).map_err(|e| DynamoError::Internal(e.to_string()))?;
                if change.at <= at {
                    break;
                }
                let item_key = source.item_key(&wire::item_from_json(&change.key).unwrap_or_default());
                match change.old.as_ref().and_then(wire::item_from_json) {
                    Some(old) => items.insert(item_key, old),
                    None => items.remove(&item_key),
                };
            }
            Ok(items.into_values().collect::<Vec<_>>())
        })?;
        let summary = RestoreRecord { source_backup_arn: None, source_table_arn: Some(source.arn.clone()), at };
        let table = self.restore(ctx, &source, &input.target_table_name, input.billing_mode_override, input.provisioned_throughput_override, summary, items)?;
        Ok(RestoreTableToPointInTimeOutput { table_description: Some(table) })
    }

    /// Creates `target` with `source`'s definition and these items. As on AWS, the new
    /// table has no stream, TTL, tags or backups settings of its own.
    #[allow(clippy::too_many_arguments)]
    fn restore(
        &self,
        ctx: &RequestContext,
        source: &TableRecord,
        target: &str,
        billing: Option<String>,
        throughput: Option<ProvisionedThroughput>,
        summary: RestoreRecord,
        items: Vec<Item>,
    ) -> Result<TableDescription> {
        let scope = &ctx.scope;
        let now = self.clock.now().as_secs_f64();
        let mut table = source.clone();
        table.name = target.to_string();
        table.id = ids::uuid();
        table.arn = format!("arn:aws:dynamodb:{}:{}:table/{target}", scope.region, scope.account);
        table.created = now;
        table.stream = None;
        table.ttl = None;
        table.tags = Vec::new();
        table.pitr_since = None;
        table.deletion_protection = false;
        table.restore = Some(summary);
        if let Some(b) = billing {
            table.billing_mode = b;
        }
        if let Some(t) = throughput {
            (table.read_capacity, table.write_capacity) = (t.read_capacity_units, t.write_capacity_units);
        }
        self.store.write(|tx| {
            if records::get_table(tx, scope, target)?.is_some() {
                return Err(DynamoError::TableAlreadyExists(format!("Table already exists: {target}")));
            }
            records::put_table(tx, scope, &table)?;
            let origin = Origin { now, by_ttl: false };
            for item in &items {
                records::write_item(tx, &table, None, item, origin)?;
            }
            Ok(())
        })?;
        let mut description = self.describe(&table, &[])?;
        description.table_status = Some("CREATING".into());
        Ok(description)
    }
}

/// Copies every entry under a prefix of one store table to another prefix.
fn copy(tx: &mut (impl WriteTxn + ?Sized), from: &str, from_prefix: &[u8], to: &str, to_prefix: &[u8]) -> Result<()> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = tx.scan(from, from_prefix, after.as_deref(), 1000)?;
        let Some((last, _)) = page.last() else { return Ok(()) };
        after = Some(last.clone());
        for (k, v) in page {
            let mut target = to_prefix.to_vec();
            target.extend_from_slice(&k[from_prefix.len()..]);
            tx.put(to, &target, &v)?;
        }
    }
}
