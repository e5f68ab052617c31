//! BatchGetItem and BatchWriteItem: many keys or writes across tables in one call. nubo
//! processes every request it accepts (UnprocessedKeys/Items come back empty) except
//! reads beyond DynamoDB's 16 MB response limit, which are returned unprocessed.

use crate::error::{validation, DynamoError, Result};
use crate::expr;
use crate::items::{Change, Planned};
use crate::records;
use crate::request::{self, Substitutions};

use crate::wire;
use crate::DynamoDb;
use nubo_core::RequestContext;
use nubo_model::generated::dynamodb::*;
use std::collections::{BTreeMap, HashSet};

const RESPONSE_BYTES: usize = 16 * 1024 * 1024;

impl DynamoDb {
    pub async fn batch_get_item(&self, ctx: &RequestContext, input: BatchGetItemInput) -> Result<BatchGetItemOutput> {
        if input.request_items.is_empty() {
            return validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }
        let total: usize = input.request_items.values().map(|k| k.keys.len()).sum();
        if total > 100 {
            return validation("Too many items requested for the BatchGetItem call");
        }
        // Check everything before reading anything.
        let mut plans = Vec::new();
        for (name, request) in input.request_items {
            if request.keys.is_empty() {
                return validation("1 validation error detected: Value '[]' at 'requestItems.1.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1");
            }
            request::check_mixing(
                &[("ProjectionExpression", request.projection_expression.is_some())],
                &[("AttributesToGet", request.attributes_to_get.is_some())],
                request.expression_attribute_names.is_some(),
                false,
            )?;
            let subs = Substitutions::new(request.expression_attribute_names.clone(), None)?;
            let params = subs.params();
            let projection = match request::projection(request.projection_expression.as_deref(), &params)? {
                Some(p) => Some(p),
                None => request::attributes_to_get(request.attributes_to_get.clone())?,
            };
            params.check_unused().map_err(DynamoError::Validation)?;
            let table = self.table_for(ctx, &name)?;
            let mut keys = Vec::new();
            let mut seen = HashSet::new();
            for k in &request.keys {
                let key = wire::item_from_wire(k.clone())?;
                table.check_key(&key)?;
                let store_key = table.item_key(&key);
                if !seen.insert(store_key.clone()) {
                    return validation("Provided list of item keys contains duplicates");
                }
                keys.push(store_key);
            }
            plans.push((name, table, keys, projection, request));
        }
        let mut responses: BTreeMap<String, Vec<BTreeMap<String, AttributeValue>>> = BTreeMap::new();
        let mut unprocessed: BTreeMap<String, KeysAndAttributes> = BTreeMap::new();
        let mut capacity = request::Tally::default();
        let mut bytes = 0usize;
        self.read(|tx| {
            for (name, table, keys, projection, request) in &plans {
                let out = responses.entry(name.clone()).or_default();
                for (i, k) in keys.iter().enumerate() {
                    if bytes >= RESPONSE_BYTES {
                        unprocessed.entry(name.clone()).or_insert_with(|| KeysAndAttributes { keys: Vec::new(), ..request.clone() }).keys.push(request.keys[i].clone());
                        continue;
                    }
                    let item = records::read_item(tx, k)?;
                    // A key that finds nothing still costs its read.
                    let size = item.as_ref().map(wire::item_size).unwrap_or(0);
                    capacity.add(table, request::read_units(size, request.consistent_read.unwrap_or(false)));
                    if let Some(item) = item {
                        bytes += size;
                        let item = projection.as_ref().map(|p| expr::project(&item, p)).unwrap_or(item);
                        out.push(wire::item_to_wire(&item));
                    }
                }
            }
            Ok(())
        })?;
        Ok(BatchGetItemOutput {
            responses: Some(responses),
            unprocessed_keys: Some(unprocessed),
            consumed_capacity: capacity.consumed(input.return_consumed_capacity.as_deref()),
        })
    }

    pub async fn batch_write_item(&self, ctx: &RequestContext, input: BatchWriteItemInput) -> Result<BatchWriteItemOutput> {
        if input.request_items.is_empty() {
            return validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }
        let total: usize = input.request_items.values().map(|r| r.len()).sum();
        if total > 25 || input.request_items.values().any(|r| r.is_empty()) {
            return validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");
        }
        let mut plans: Vec<Planned> = Vec::new();
        let mut seen = HashSet::new();
        for (name, requests) in input.request_items {
            let table = self.table_for(ctx, &name)?;
            for r in requests {
                let plan = match (r.put_request, r.delete_request) {
                    (Some(p), None) => self.plan_put(table.clone(), p.item, None, false)?,
                    (None, Some(d)) => self.plan_keyed(table.clone(), d.key, Change::Delete, None, false)?,
                    _ => return validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"),
                };
                if !seen.insert(plan.table.item_key(&plan.key)) {
                    return validation("Provided list of item keys contains duplicates");
                }
                plans.push(plan);
            }
        }
        let mut sizes = Vec::with_capacity(plans.len());
        let now = self.clock.now().as_secs_f64();
        self.store.write(|tx| {
            for plan in plans.iter_mut() {
                let outcome = match plan.evaluate(tx)? {
                    Ok(o) => o,
                    Err(_) => continue,
                };
                plan.apply(tx, &outcome, now)?;
                let size = |i: &Option<crate::value::Item>| i.as_ref().map(wire::item_size).unwrap_or(0);
                sizes.push(size(&outcome.new).max(size(&outcome.old)));
            }
            Ok::<_, DynamoError>(())
        })?;
        self.committed();
        let mut capacity = request::Tally::default();
        for (plan, size) in plans.iter().zip(sizes) {
            capacity.add(&plan.table, request::write_units(size));
        }
        Ok(BatchWriteItemOutput {
            unprocessed_items: Some(BTreeMap::new()),
            item_collection_metrics: None,
            consumed_capacity: capacity.consumed(input.return_consumed_capacity.as_deref()),
        })
    }
}

