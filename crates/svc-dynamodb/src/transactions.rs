//! TransactWriteItems and TransactGetItems: all or nothing, in one store transaction.
//!
//! Every condition is checked against the items as they were before the transaction;
//! if any fails, nothing is written and the answer lists a reason per action, in order,
//! as DynamoDB's `TransactionCanceledException` does. A ClientRequestToken makes a
//! write transaction idempotent for 10 minutes: the same token with the same request
//! answers again without writing; with a different request it is refused.

use crate::error::{validation, DynamoError, Result};
use crate::expr;
use crate::items::{self, Change, Failed, Planned};
use crate::records;
use crate::request::{self, Substitutions};
use crate::wire;
use crate::DynamoDb;
use nubo_core::RequestContext;
use nubo_model::generated::dynamodb::*;
use serde_json::json;
use std::collections::HashSet;

/// How long DynamoDB remembers a ClientRequestToken.
const TOKEN_SECS: f64 = 600.0;

impl DynamoDb {
    pub async fn transact_write_items(&self, ctx: &RequestContext, input: TransactWriteItemsInput) -> Result<TransactWriteItemsOutput> {
        let n = input.transact_items.len();
        if n == 0 || n > 100 {
            return validation(format!(
                "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length {}",
                if n == 0 { "greater than or equal to 1" } else { "less than or equal to 100" }
            ));
        }
        let fingerprint = format!("{}/{}/{:?}", ctx.scope.account, ctx.scope.region, input.transact_items);
        if let Some(token) = &input.client_request_token {
            let now = self.clock.now().as_secs_f64();
            let mut tokens = self.tokens.lock().unwrap();
            tokens.retain(|_, (_, at)| now - *at < TOKEN_SECS);
            if let Some((seen, _)) = tokens.get(token) {
                if *seen != fingerprint {
                    return Err(DynamoError::IdempotentParameterMismatch);
                }
                return Ok(TransactWriteItemsOutput::default());
            }
        }
        let mut plans = Vec::with_capacity(n);
        let mut targets = HashSet::new();
        for item in input.transact_items {
            let plan = self.plan_transact(ctx, item)?;
            if !targets.insert((plan.table.id.clone(), plan.table.item_key(&plan.key))) {
                return validation("Transaction request cannot include multiple operations on one item");
            }
            plans.push(plan);
        }
        let now = self.clock.now().as_secs_f64();
        let sizes = self.store.write(|tx| {
            let mut outcomes = Vec::with_capacity(plans.len());
            let mut reasons = Vec::with_capacity(plans.len());
            let mut failed = false;
            for plan in plans.iter_mut() {
                match plan.evaluate(tx) {
                    Ok(Ok(o)) => {
                        reasons.push(json!({ "Code": "None" }));
                        outcomes.push(o);
                    }
                    Ok(Err(Failed(item))) => {
                        failed = true;
                        let mut r = json!({ "Code": "ConditionalCheckFailed", "Message": "The conditional request failed" });
                        if let Some(item) = item {
                            r["Item"] = wire::item_to_json(&item);
                        }
                        reasons.push(r);
                    }
                    Err(DynamoError::Validation(m)) => {
                        failed = true;
                        reasons.push(json!({ "Code": "ValidationError", "Message": m }));
                    }
                    Err(e) => return Err(e),
                }
            }
            if failed {
                let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
                return Err(DynamoError::TransactionCanceled {
                    message: format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
                    reasons: serde_json::Value::Array(reasons).to_string(),
                });
            }
            let size = |i: &Option<crate::value::Item>| i.as_ref().map(wire::item_size).unwrap_or(0);
            let mut sizes = Vec::with_capacity(plans.len());
            for (plan, outcome) in plans.iter().zip(&outcomes) {
                plan.apply(tx, outcome, now)?;
                sizes.push(size(&outcome.new).max(size(&outcome.old)));
            }
            Ok(sizes)
        })?;
        self.committed();
        if let Some(token) = input.client_request_token {
            self.tokens.lock().unwrap().insert(token, (fingerprint, self.clock.now().as_secs_f64()));
        }
        // A transactional write costs two units per KB of each item.
        let mut capacity = request::Tally::default();
        for (p, size) in plans.iter().zip(&sizes) {
            capacity.add(&p.table, 2.0 * request::write_units(*size));
        }
        Ok(TransactWriteItemsOutput { consumed_capacity: capacity.consumed(input.return_consumed_capacity.as_deref()), item_collection_metrics: None })
    }

    fn plan_transact(&self, ctx: &RequestContext, item: TransactWriteItem) -> Result<Planned> {
        let actions = item.condition_check.is_some() as u8 + item.put.is_some() as u8 + item.delete.is_some() as u8 + item.update.is_some() as u8;
        if actions != 1 {
            return validation("TransactItems can only contain one of Check, Put, Update or Delete");
        }
        let all_old = |v: &Option<String>| v.as_deref() == Some("ALL_OLD");
        if let Some(c) = item.condition_check {
            let subs = Substitutions::new(c.expression_attribute_names, c.expression_attribute_values)?;
            let params = subs.params();
            let condition = request::condition(Some(&c.condition_expression), "ConditionExpression", &params)?;
            params.check_unused().map_err(DynamoError::Validation)?;
            let table = self.table_for(ctx, &c.table_name)?;
            return self.plan_keyed(table, c.key, Change::Check, condition, all_old(&c.return_values_on_condition_check_failure));
        }
        if let Some(p) = item.put {
            let subs = Substitutions::new(p.expression_attribute_names, p.expression_attribute_values)?;
            let params = subs.params();
            let condition = request::condition(p.condition_expression.as_deref(), "ConditionExpression", &params)?;
            params.check_unused().map_err(DynamoError::Validation)?;
            let table = self.table_for(ctx, &p.table_name)?;
            return self.plan_put(table, p.item, condition, all_old(&p.return_values_on_condition_check_failure));
        }
        if let Some(d) = item.delete {
            let subs = Substitutions::new(d.expression_attribute_names, d.expression_attribute_values)?;
            let params = subs.params();
            let condition = request::condition(d.condition_expression.as_deref(), "ConditionExpression", &params)?;
            params.check_unused().map_err(DynamoError::Validation)?;
            let table = self.table_for(ctx, &d.table_name)?;
            return self.plan_keyed(table, d.key, Change::Delete, condition, all_old(&d.return_values_on_condition_check_failure));
        }
        let u = item.update.expect("one action");
        let subs = Substitutions::new(u.expression_attribute_names, u.expression_attribute_values)?;
        let params = subs.params();
        if u.update_expression.is_empty() {
            return validation("Invalid UpdateExpression: The expression can not be empty;");
        }
        let update = expr::parse_update(&u.update_expression, &params).map_err(DynamoError::Validation)?;
        let condition = request::condition(u.condition_expression.as_deref(), "ConditionExpression", &params)?;
        params.check_unused().map_err(DynamoError::Validation)?;
        let table = self.table_for(ctx, &u.table_name)?;
        items::check_update_keys(&table, &update)?;
        self.plan_keyed(table, u.key, Change::Update(Some(update)), condition, all_old(&u.return_values_on_condition_check_failure))
    }

    pub async fn transact_get_items(&self, ctx: &RequestContext, input: TransactGetItemsInput) -> Result<TransactGetItemsOutput> {
        let n = input.transact_items.len();
        if n == 0 || n > 100 {
            return validation(format!(
                "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length {}",
                if n == 0 { "greater than or equal to 1" } else { "less than or equal to 100" }
            ));
        }
        let mut gets = Vec::with_capacity(n);
        for item in input.transact_items {
            let g = item.get;
            let subs = Substitutions::new(g.expression_attribute_names, None)?;
            let params = subs.params();
            let projection = request::projection(g.projection_expression.as_deref(), &params)?;
            params.check_unused().map_err(DynamoError::Validation)?;
            let table = self.table_for(ctx, &g.table_name)?;
            let key = wire::item_from_wire(g.key)?;
            table.check_key(&key)?;
            gets.push((table.item_key(&key), projection, table));
        }
        let mut capacity = request::Tally::default();
        let responses = self.read(|tx| {
            gets.iter()
                .map(|(k, projection, table)| {
                    let item = records::read_item(tx, k)?;
                    // A transactional read costs two units per 4 KB.
                    capacity.add(table, 2.0 * request::read_units(item.as_ref().map(wire::item_size).unwrap_or(0), true));
                    Ok(ItemResponse { item: item.map(|i| wire::item_to_wire(&projection.as_ref().map(|p| expr::project(&i, p)).unwrap_or(i))) })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(TransactGetItemsOutput { responses: Some(responses), consumed_capacity: capacity.consumed(input.return_consumed_capacity.as_deref()) })
    }
}
