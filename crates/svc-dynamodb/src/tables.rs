//! Table operations: create, describe, list, update, delete, and the table-level
//! settings (tags, TTL, point-in-time recovery).
//!
//! Status transitions are immediate but visible: CreateTable answers `CREATING` (as AWS
//! does) and every later read sees `ACTIVE`, so waiters return at their first poll;
//! likewise a new index answers `CREATING` and is `ACTIVE` (backfilled) afterwards.

use crate::error::{table_not_found, validation, DynamoError, Result};
use crate::records;
use crate::schema::{IndexRecord, KeySchema, StreamRecord, TableRecord};
use crate::DynamoDb;
use nubo_core::{ids, RequestContext, Scope, Timestamp};
use nubo_model::generated::dynamodb::*;
use nubo_store::ReadTxn;

pub fn not_found<T>(name: &str) -> Result<T> {
    Err(DynamoError::ResourceNotFound(format!("Requested resource not found: Table: {name} not found")))
}

/// TableName's constraints, reported as DynamoDB's request validation does.
pub fn check_table_name(name: &str, member: &str) -> Result<()> {
    if name.len() < 3 {
        return validation(format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to 3"));
    }
    if name.len() > 255 {
        return validation(format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to 255"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-') {
        return validation(format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));
    }
    Ok(())
}

fn key_schema(elements: &[KeySchemaElement], defined: &[String]) -> Result<KeySchema> {
    let names: Vec<&str> = elements.iter().map(|e| e.attribute_name.as_str()).collect();
    if elements.is_empty() {
        return validation("1 validation error detected: Value '[]' at 'keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1");
    }
    if elements.len() > 2 {
        return validation("1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2");
    }
    if names.iter().any(|k| !defined.iter().any(|d| d == k)) {
        return validation(format!(
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined.join(", ")
        ));
    }
    if names.len() == 2 && names[0] == names[1] {
        return validation("Both the Hash Key and the Range Key element in the KeySchema have the same name");
    }
    if elements[0].key_type != "HASH" {
        return validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    }
    if elements.get(1).is_some_and(|e| e.key_type != "RANGE") {
        return validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
    }
    Ok(KeySchema { hash: names[0].to_string(), range: names.get(1).map(|s| s.to_string()) })
}

fn projection(p: &Projection) -> Result<(String, Vec<String>)> {
    let Some(t) = p.projection_type.clone() else {
        return validation("One or more parameter values were invalid: Unknown ProjectionType: null");
    };
    if p.non_key_attributes.is_some() && t != "INCLUDE" {
        return validation(format!("One or more parameter values were invalid: ProjectionType is {t}, but NonKeyAttributes is specified"));
    }
    Ok((t, p.non_key_attributes.clone().unwrap_or_default()))
}

fn throughput(billing: &str, t: Option<&ProvisionedThroughput>, index: Option<&str>) -> Result<(i64, i64)> {
    match (billing, t) {
        ("PAY_PER_REQUEST", None) => Ok((0, 0)),
        ("PAY_PER_REQUEST", Some(_)) => match index {
            Some(i) => validation(format!("One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {i} when BillingMode is PAY_PER_REQUEST")),
            None => validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"),
        },
        (_, Some(t)) if t.read_capacity_units > 0 && t.write_capacity_units > 0 => Ok((t.read_capacity_units, t.write_capacity_units)),
        (_, Some(t)) => validation(format!(
            "1 validation error detected: Value '{}' at '{}provisionedThroughput.{}' failed to satisfy constraint: Member must have value greater than or equal to 1",
            t.read_capacity_units.min(t.write_capacity_units),
            if index.is_some() { "globalSecondaryIndexes.1.member." } else { "" },
            if t.read_capacity_units < 1 { "readCapacityUnits" } else { "writeCapacityUnits" }
        )),
        (_, None) => match index {
            Some(i) => validation(format!("One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {i}")),
            None => validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"),
        },
    }
}

fn stream(spec: Option<&StreamSpecification>, now: Timestamp) -> Result<Option<StreamRecord>> {
    match spec {
        Some(s) if s.stream_enabled => match s.stream_view_type.as_deref() {
            Some(v @ ("KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")) => {
                Ok(Some(StreamRecord { view_type: v.to_string(), label: now.to_iso8601().trim_end_matches('Z').to_string() }))
            }
            _ => validation("One or more parameter values were invalid: Enabled StreamSpecification must have a valid StreamViewType"),
        },
        Some(s) if s.stream_view_type.is_some() => {
            validation("One or more parameter values were invalid: Disabled StreamSpecification cannot have a StreamViewType")
        }
        _ => Ok(None),
    }
}

impl DynamoDb {
    pub(crate) fn table(&self, tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str) -> Result<TableRecord> {
        match records::get_table(tx, scope, name)? {
            Some(t) => Ok(t),
            None => table_not_found(),
        }
    }

    pub async fn create_table(&self, ctx: &RequestContext, input: CreateTableInput) -> Result<CreateTableOutput> {
        check_table_name(&input.table_name, "tableName")?;
        let Some(definitions) = input.attribute_definitions else {
            return validation("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null");
        };
        let Some(key_elements) = input.key_schema else {
            return validation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null");
        };
        for d in &definitions {
            if !matches!(d.attribute_type.as_str(), "S" | "N" | "B") {
                return validation(format!(
                    "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                    d.attribute_type
                ));
            }
        }
        let billing = input.billing_mode.clone().unwrap_or_else(|| "PROVISIONED".into());
        let (read, write) = throughput(&billing, input.provisioned_throughput.as_ref(), None)?;
        let defined: Vec<String> = definitions.iter().map(|d| d.attribute_name.clone()).collect();
        if let Some(dup) = defined.iter().enumerate().find(|(i, d)| defined[..*i].contains(d)) {
            return validation(format!("Cannot have two attributes with the same name. Attribute name: {}", dup.1));
        }
        let key = key_schema(&key_elements, &defined)?;
        let mut names = Vec::<String>::new();
        let mut local = Vec::new();
        if let Some(lsis) = &input.local_secondary_indexes {
            if lsis.is_empty() {
                return validation("One or more parameter values were invalid: List of LocalSecondaryIndexes is empty");
            }
            if key.range.is_none() {
                return validation("One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex");
            }
            for l in lsis {
                let k = key_schema(&l.key_schema, &defined)?;
                if k.range.is_none() {
                    return validation(format!("One or more parameter values were invalid: Index KeySchema does not have a range key for index: {}", l.index_name));
                }
                if k.hash != key.hash {
                    return validation(format!(
                        "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                        l.index_name, k.hash, key.hash
                    ));
                }
                let (p, nk) = projection(&l.projection)?;
                if names.contains(&l.index_name) {
                    return validation(format!("One or more parameter values were invalid: Duplicate index name: {}", l.index_name));
                }
                names.push(l.index_name.clone());
                local.push(IndexRecord { name: l.index_name.clone(), key: k, projection: p, non_key_attributes: nk, read_capacity: 0, write_capacity: 0 });
            }
            if lsis.len() > 5 {
                return validation("One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5");
            }
        }
        let mut global = Vec::new();
        if let Some(gsis) = &input.global_secondary_indexes {
            if gsis.is_empty() {
                return validation("One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty");
            }
            for g in gsis {
                global.push(self.global_index(g.index_name.clone(), &g.key_schema, &g.projection, g.provisioned_throughput.as_ref(), &billing, &defined)?);
                if names.contains(&g.index_name) {
                    return validation(format!("One or more parameter values were invalid: Duplicate index name: {}", g.index_name));
                }
                names.push(g.index_name.clone());
            }
            if gsis.len() > 20 {
                return validation("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20");
            }
        }
        // Every defined attribute must be a key of the table or of an index.
        let used = |n: &String| key.names().any(|k| k == n) || local.iter().chain(&global).any(|i| i.key.names().any(|k| k == n));
        if !defined.iter().all(used) {
            return validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions");
        }
        let now = self.clock.now();
        let stream = stream(input.stream_specification.as_ref(), now)?;
        let scope = &ctx.scope;
        let table = TableRecord {
            arn: format!("arn:aws:dynamodb:{}:{}:table/{}", scope.region, scope.account, input.table_name),
            name: input.table_name,
            id: ids::uuid(),
            created: now.as_secs_f64(),
            attributes: definitions.into_iter().map(|d| (d.attribute_name, d.attribute_type)).collect(),
            key,
            local_indexes: local,
            global_indexes: global,
            billing_changed: (billing == "PAY_PER_REQUEST").then(|| now.as_secs_f64()),
            billing_mode: billing,
            read_capacity: read,
            write_capacity: write,
            stream,
            sse_enabled: input.sse_specification.as_ref().and_then(|s| s.enabled).unwrap_or(false),
            // An SSE table without a key of its own gets AWS's managed key, named once.
            sse_kms_key: input.sse_specification.as_ref().filter(|s| s.enabled == Some(true)).map(|s| {
                s.kms_master_key_id.clone().unwrap_or_else(|| format!("arn:aws:kms:{}:{}:key/{}", scope.region, scope.account, ids::uuid()))
            }),
            table_class: input.table_class,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect(),
            ttl: None,
            pitr_since: None,
            restore: None,
        };
        self.store.write(|tx| {
            if records::get_table(tx, scope, &table.name)?.is_some() {
                return Err(DynamoError::ResourceInUse(format!("Table already exists: {}", table.name)));
            }
            if records::all_tables(tx, scope)?.len() >= 2500 {
                return Err(DynamoError::LimitExceeded("Subscriber limit exceeded: Table count exceeds the account limit of 2500".into()));
            }
            records::put_table(tx, scope, &table)
        })?;
        let mut description = self.describe(&table, &[])?;
        description.table_status = Some("CREATING".into());
        for g in description.global_secondary_indexes.iter_mut().flatten() {
            g.index_status = Some("CREATING".into());
        }
        Ok(CreateTableOutput { table_description: Some(description) })
    }

    fn global_index(
        &self,
        name: String,
        elements: &[KeySchemaElement],
        p: &Projection,
        t: Option<&ProvisionedThroughput>,
        billing: &str,
        defined: &[String],
    ) -> Result<IndexRecord> {
        let key = key_schema(elements, defined)?;
        let (projection, non_key_attributes) = projection(p)?;
        let (read_capacity, write_capacity) = throughput(billing, t, Some(&name))?;
        Ok(IndexRecord { name, key, projection, non_key_attributes, read_capacity, write_capacity })
    }

    /// DescribeTable's answer for a table; `creating` names indexes still backfilling.
    pub(crate) fn describe(&self, t: &TableRecord, creating: &[String]) -> Result<TableDescription> {
        let (count, bytes) = self.read(|tx| records::stats(tx, &t.id, ""))?;
        let key_elements = |k: &KeySchema| {
            k.typed().map(|(attribute_name, key_type)| KeySchemaElement { attribute_name, key_type }).collect::<Vec<_>>()
        };
        let proj = |i: &IndexRecord| Projection {
            projection_type: Some(i.projection.clone()),
            non_key_attributes: (!i.non_key_attributes.is_empty()).then(|| i.non_key_attributes.clone()),
        };
        let throughput = |r: i64, w: i64| ProvisionedThroughputDescription {
            number_of_decreases_today: Some(0),
            read_capacity_units: Some(r),
            write_capacity_units: Some(w),
            ..Default::default()
        };
        let index_stats = |name: &str| self.read(|tx| records::stats(tx, &t.id, name));
        let mut gsis = Vec::new();
        for g in &t.global_indexes {
            let (c, b) = index_stats(&g.name)?;
            let creating = creating.contains(&g.name);
            gsis.push(GlobalSecondaryIndexDescription {
                index_name: Some(g.name.clone()),
                key_schema: Some(key_elements(&g.key)),
                projection: Some(proj(g)),
                index_status: Some(if creating { "CREATING" } else { "ACTIVE" }.into()),
                backfilling: creating.then_some(true),
                provisioned_throughput: Some(throughput(g.read_capacity, g.write_capacity)),
                index_size_bytes: Some(b),
                item_count: Some(c),
                index_arn: Some(format!("{}/index/{}", t.arn, g.name)),
                ..Default::default()
            });
        }
        let mut lsis = Vec::new();
        for l in &t.local_indexes {
            let (c, b) = index_stats(&l.name)?;
            lsis.push(LocalSecondaryIndexDescription {
                index_name: Some(l.name.clone()),
                key_schema: Some(key_elements(&l.key)),
                projection: Some(proj(l)),
                index_size_bytes: Some(b),
                item_count: Some(c),
                index_arn: Some(format!("{}/index/{}", t.arn, l.name)),
            });
        }
        Ok(TableDescription {
            attribute_definitions: Some(
                t.attributes.iter().map(|(n, ty)| AttributeDefinition { attribute_name: n.clone(), attribute_type: ty.clone() }).collect(),
            ),
            table_name: Some(t.name.clone()),
            key_schema: Some(key_elements(&t.key)),
            table_status: Some("ACTIVE".into()),
            creation_date_time: Some(Timestamp::from_secs_f64(t.created)),
            provisioned_throughput: Some(throughput(t.read_capacity, t.write_capacity)),
            table_size_bytes: Some(bytes),
            item_count: Some(count),
            table_arn: Some(t.arn.clone()),
            table_id: Some(t.id.clone()),
            billing_mode_summary: (t.billing_mode == "PAY_PER_REQUEST" || t.billing_changed.is_some()).then(|| BillingModeSummary {
                billing_mode: Some(t.billing_mode.clone()),
                last_update_to_pay_per_request_date_time: t.billing_changed.map(Timestamp::from_secs_f64),
            }),
            local_secondary_indexes: (!lsis.is_empty()).then_some(lsis),
            global_secondary_indexes: (!gsis.is_empty()).then_some(gsis),
            stream_specification: t
                .stream
                .as_ref()
                .map(|s| StreamSpecification { stream_enabled: true, stream_view_type: Some(s.view_type.clone()) }),
            latest_stream_label: t.stream.as_ref().map(|s| s.label.clone()),
            latest_stream_arn: t.stream.as_ref().map(|s| format!("{}/stream/{}", t.arn, s.label)),
            sse_description: t.sse_enabled.then(|| SSEDescription {
                status: Some("ENABLED".into()),
                sse_type: Some("KMS".into()),
                kms_master_key_arn: t.sse_kms_key.clone(),
                ..Default::default()
            }),
            table_class_summary: t.table_class.as_ref().map(|c| TableClassSummary { table_class: Some(c.clone()), last_update_date_time: None }),
            deletion_protection_enabled: Some(t.deletion_protection),
            restore_summary: t.restore.as_ref().map(|r| RestoreSummary {
                source_backup_arn: r.source_backup_arn.clone(),
                source_table_arn: r.source_table_arn.clone(),
                restore_date_time: Timestamp::from_secs_f64(r.at),
                restore_in_progress: false,
            }),
            ..Default::default()
        })
    }

    pub async fn describe_table(&self, ctx: &RequestContext, input: DescribeTableInput) -> Result<DescribeTableOutput> {
        let t = match self.read(|tx| records::get_table(tx, &ctx.scope, &input.table_name))? {
            Some(t) => t,
            None => return not_found(&input.table_name),
        };
        Ok(DescribeTableOutput { table: Some(self.describe(&t, &[])?) })
    }

    pub async fn list_tables(&self, ctx: &RequestContext, input: ListTablesInput) -> Result<ListTablesOutput> {
        let limit = input.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            let bound = if limit < 1 { "greater than or equal to 1" } else { "less than or equal to 100" };
            return validation(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {bound}"));
        }
        let tables = self.read(|tx| records::all_tables(tx, &ctx.scope))?;
        let names: Vec<String> = tables
            .into_iter()
            .map(|t| t.name)
            .filter(|n| input.exclusive_start_table_name.as_ref().is_none_or(|s| n > s))
            .collect();
        let more = names.len() > limit as usize;
        let page: Vec<String> = names.into_iter().take(limit as usize).collect();
        Ok(ListTablesOutput { last_evaluated_table_name: more.then(|| page.last().cloned()).flatten(), table_names: Some(page) })
    }

    pub async fn delete_table(&self, ctx: &RequestContext, input: DeleteTableInput) -> Result<DeleteTableOutput> {
        let scope = &ctx.scope;
        let Some(t) = self.read(|tx| records::get_table(tx, scope, &input.table_name))? else {
            return not_found(&input.table_name);
        };
        if t.deletion_protection {
            return validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.");
        }
        let mut description = self.describe(&t, &[])?;
        self.store.write(|tx| records::drop_table(tx, scope, &t))?;
        description.table_status = Some("DELETING".into());
        Ok(DeleteTableOutput { table_description: Some(description) })
    }

    pub async fn update_table(&self, ctx: &RequestContext, input: UpdateTableInput) -> Result<UpdateTableOutput> {
        let scope = &ctx.scope;
        let nothing = input.billing_mode.is_none()
            && input.provisioned_throughput.is_none()
            && input.global_secondary_index_updates.is_none()
            && input.stream_specification.is_none()
            && input.sse_specification.is_none()
            && input.table_class.is_none()
            && input.deletion_protection_enabled.is_none()
            && input.attribute_definitions.is_none()
            && input.on_demand_throughput.is_none();
        if nothing {
            return validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required");
        }
        // One transaction: concurrent updates and writes see the table before or after.
        let (t, created) = self.store.write(|tx| {
            let Some(mut t) = records::get_table(tx, scope, &input.table_name)? else {
                return not_found(&input.table_name);
            };
            let now = self.clock.now();
            if let Some(defs) = &input.attribute_definitions {
                for d in defs {
                    if !t.attributes.iter().any(|(n, _)| n == &d.attribute_name) {
                        t.attributes.push((d.attribute_name.clone(), d.attribute_type.clone()));
                    }
                }
            }
            if let Some(b) = &input.billing_mode {
                if b == "PROVISIONED" && t.billing_mode != "PROVISIONED" && input.provisioned_throughput.is_none() {
                    return validation("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
                }
                if *b != t.billing_mode {
                    t.billing_mode = b.clone();
                    t.billing_changed = Some(now.as_secs_f64());
                    if b == "PAY_PER_REQUEST" {
                        (t.read_capacity, t.write_capacity) = (0, 0);
                        for g in &mut t.global_indexes {
                            (g.read_capacity, g.write_capacity) = (0, 0);
                        }
                    }
                }
            }
            if let Some(p) = &input.provisioned_throughput {
                (t.read_capacity, t.write_capacity) = throughput(&t.billing_mode, Some(p), None)?;
            }
            if let Some(s) = &input.stream_specification {
                match (s.stream_enabled, &t.stream) {
                    (true, Some(_)) => return validation(format!("Table already has an enabled stream: TableName: {}", t.name)),
                    (false, None) => return validation(format!("Table already has no stream enabled: TableName: {}", t.name)),
                    _ => t.stream = stream(Some(s), now)?,
                }
            }
            if let Some(s) = &input.sse_specification {
                t.sse_enabled = s.enabled.unwrap_or(t.sse_enabled);
                if s.kms_master_key_id.is_some() {
                    t.sse_kms_key = s.kms_master_key_id.clone();
                }
            }
            if let Some(c) = &input.table_class {
                t.table_class = Some(c.clone());
            }
            if let Some(d) = input.deletion_protection_enabled {
                t.deletion_protection = d;
            }
            let mut created = Vec::new();
            let mut deleted = Vec::new();
            let defined: Vec<String> = t.attributes.iter().map(|(n, _)| n.clone()).collect();
            for u in input.global_secondary_index_updates.iter().flatten() {
                if let Some(c) = &u.create {
                    if t.index(&c.index_name).is_some() {
                        return validation("Attempting to create an index which already exists");
                    }
                    let billing = t.billing_mode.clone();
                    let g = self.global_index(c.index_name.clone(), &c.key_schema, &c.projection, c.provisioned_throughput.as_ref(), &billing, &defined)?;
                    if t.global_indexes.len() >= 20 {
                        return Err(DynamoError::LimitExceeded("Subscriber limit exceeded: GlobalSecondaryIndex count exceeds the per-table limit of 20".into()));
                    }
                    t.global_indexes.push(g);
                    created.push(c.index_name.clone());
                }
                if let Some(d) = &u.delete {
                    let before = t.global_indexes.len();
                    t.global_indexes.retain(|g| g.name != d.index_name);
                    if t.global_indexes.len() == before {
                        return Err(DynamoError::ResourceNotFound(format!("Requested resource not found: Index: {} not found", d.index_name)));
                    }
                    deleted.push(d.index_name.clone());
                }
                if let Some(up) = &u.update {
                    let billing = t.billing_mode.clone();
                    let Some(g) = t.global_indexes.iter_mut().find(|g| g.name == up.index_name) else {
                        return Err(DynamoError::ResourceNotFound(format!("Requested resource not found: Index: {} not found", up.index_name)));
                    };
                    if let Some(p) = &up.provisioned_throughput {
                        (g.read_capacity, g.write_capacity) = throughput(&billing, Some(p), Some(&up.index_name))?;
                    }
                }
            }
            for d in &deleted {
                records::drop_index(tx, &t, d)?;
            }
            for c in &created {
                records::backfill(tx, &t, c)?;
            }
            records::put_table(tx, scope, &t)?;
            Ok((t, created))
        })?;
        let mut description = self.describe(&t, &created)?;
        description.table_status = Some("UPDATING".into());
        Ok(UpdateTableOutput { table_description: Some(description) })
    }

    /// The table an ARN names (TagResource and friends address tables by ARN).
    fn table_by_arn(&self, ctx: &RequestContext, arn: &str) -> Result<TableRecord> {
        let invalid = || DynamoError::Validation(format!("Invalid TableArn: Invalid ResourceArn provided as input {arn}"));
        let (scope, name) = crate::schema::parse_table_arn(arn).ok_or_else(invalid)?;
        if scope != ctx.scope {
            return Err(DynamoError::ResourceNotFound(format!("Requested resource not found: ResourcArn: {arn} not found")));
        }
        match self.read(|tx| records::get_table(tx, &scope, name))? {
            Some(t) => Ok(t),
            None => Err(DynamoError::ResourceNotFound(format!("Requested resource not found: ResourcArn: {arn} not found"))),
        }
    }

    /// Changes a table's tags in one transaction.
    fn retag(&self, ctx: &RequestContext, arn: &str, f: impl FnOnce(&mut Vec<(String, String)>)) -> Result<()> {
        let named = self.table_by_arn(ctx, arn)?;
        self.store.write(|tx| {
            let mut t = named.refresh(tx)?;
            f(&mut t.tags);
            if t.tags.len() > 50 {
                return Err(DynamoError::LimitExceeded("The number of tags exceeds the limit of 50".into()));
            }
            records::put_table(tx, &ctx.scope, &t)
        })
    }

    pub async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceInput) -> Result<()> {
        self.retag(ctx, &input.resource_arn, |tags| {
            for tag in input.tags {
                match tags.iter_mut().find(|(k, _)| *k == tag.key) {
                    Some(existing) => existing.1 = tag.value,
                    None => tags.push((tag.key, tag.value)),
                }
            }
        })
    }

    pub async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceInput) -> Result<()> {
        self.retag(ctx, &input.resource_arn, |tags| tags.retain(|(k, _)| !input.tag_keys.contains(k)))
    }

    pub async fn list_tags_of_resource(&self, ctx: &RequestContext, input: ListTagsOfResourceInput) -> Result<ListTagsOfResourceOutput> {
        let t = self.table_by_arn(ctx, &input.resource_arn)?;
        Ok(ListTagsOfResourceOutput { tags: Some(t.tags.into_iter().map(|(key, value)| Tag { key, value }).collect()), next_token: None })
    }

    pub async fn update_time_to_live(&self, ctx: &RequestContext, input: UpdateTimeToLiveInput) -> Result<UpdateTimeToLiveOutput> {
        let spec = input.time_to_live_specification;
        self.store.write(|tx| {
            let mut t = self.table(tx, &ctx.scope, &input.table_name)?;
            match (&t.ttl, spec.enabled) {
                (Some((_, true)), true) => return validation("TimeToLive is already enabled"),
                (Some((_, false)) | None, false) => return validation("TimeToLive is already disabled"),
                (Some((attr, true)), false) if *attr != spec.attribute_name => {
                    return validation("The provided attribute name does not match the current TTL attribute name")
                }
                _ => {}
            }
            t.ttl = Some((spec.attribute_name.clone(), spec.enabled));
            records::put_table(tx, &ctx.scope, &t)
        })?;
        Ok(UpdateTimeToLiveOutput { time_to_live_specification: Some(spec) })
    }

    pub async fn describe_time_to_live(&self, ctx: &RequestContext, input: DescribeTimeToLiveInput) -> Result<DescribeTimeToLiveOutput> {
        let t = self.read(|tx| records::get_table(tx, &ctx.scope, &input.table_name))?;
        let Some(t) = t else { return table_not_found() };
        let description = match t.ttl {
            Some((attr, true)) => TimeToLiveDescription { time_to_live_status: Some("ENABLED".into()), attribute_name: Some(attr) },
            _ => TimeToLiveDescription { time_to_live_status: Some("DISABLED".into()), attribute_name: None },
        };
        Ok(DescribeTimeToLiveOutput { time_to_live_description: Some(description) })
    }

    fn continuous_backups(&self, t: &TableRecord) -> ContinuousBackupsDescription {
        let now = self.clock.now().as_secs_f64();
        ContinuousBackupsDescription {
            continuous_backups_status: "ENABLED".into(),
            point_in_time_recovery_description: Some(if let Some(since) = t.pitr_since {
                PointInTimeRecoveryDescription {
                    point_in_time_recovery_status: Some("ENABLED".into()),
                    recovery_period_in_days: Some(35),
                    earliest_restorable_date_time: Some(Timestamp::from_secs_f64(since)),
                    latest_restorable_date_time: Some(Timestamp::from_secs_f64(now)),
                }
            } else {
                PointInTimeRecoveryDescription { point_in_time_recovery_status: Some("DISABLED".into()), ..Default::default() }
            }),
        }
    }

    pub async fn describe_continuous_backups(&self, ctx: &RequestContext, input: DescribeContinuousBackupsInput) -> Result<DescribeContinuousBackupsOutput> {
        let Some(t) = self.read(|tx| records::get_table(tx, &ctx.scope, &input.table_name))? else {
            return Err(DynamoError::TableNotFound(format!("Table not found: {}", input.table_name)));
        };
        Ok(DescribeContinuousBackupsOutput { continuous_backups_description: Some(self.continuous_backups(&t)) })
    }

    pub async fn update_continuous_backups(&self, ctx: &RequestContext, input: UpdateContinuousBackupsInput) -> Result<UpdateContinuousBackupsOutput> {
        let t = self.store.write(|tx| {
            let Some(mut t) = records::get_table(tx, &ctx.scope, &input.table_name)? else {
                return Err(DynamoError::TableNotFound(format!("Table not found: {}", input.table_name)));
            };
            match (input.point_in_time_recovery_specification.point_in_time_recovery_enabled, t.pitr_since) {
                (true, None) => t.pitr_since = Some(self.clock.now().as_secs_f64()),
                (false, Some(_)) => {
                    t.pitr_since = None;
                    records::clear(tx, crate::backups::PITR, &nubo_store::key::key(&[&t.id]))?;
                }
                _ => {}
            }
            records::put_table(tx, &ctx.scope, &t)?;
            Ok(t)
        })?;
        Ok(UpdateContinuousBackupsOutput { continuous_backups_description: Some(self.continuous_backups(&t)) })
    }

    pub fn describe_limits(&self) -> DescribeLimitsOutput {
        DescribeLimitsOutput {
            account_max_read_capacity_units: Some(80000),
            account_max_write_capacity_units: Some(80000),
            table_max_read_capacity_units: Some(40000),
            table_max_write_capacity_units: Some(40000),
        }
    }

    pub fn describe_endpoints(&self, ctx: &RequestContext) -> DescribeEndpointsResponse {
        DescribeEndpointsResponse { endpoints: vec![Endpoint { address: format!("dynamodb.{}.amazonaws.com", ctx.scope.region), cache_period_in_minutes: 1440 }] }
    }
}

