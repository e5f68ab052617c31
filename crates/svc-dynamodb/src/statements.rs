//! ExecuteStatement, BatchExecuteStatement and ExecuteTransaction: each PartiQL statement
//! ([`crate::partiql`]) runs as the operation it amounts to (Scan, GetItem, PutItem,
//! UpdateItem, DeleteItem, or their transactional forms), so its checks, conditions and
//! errors are theirs.

use crate::error::{validation, DynamoError, Result};
use crate::partiql::{self, Rendered, Statement};
use crate::value::AttrValue;
use crate::wire;
use crate::DynamoDb;
use base64::Engine as _;
use nubo_core::RequestContext;
use nubo_model::generated::dynamodb::*;
use std::collections::BTreeMap;

type WireItem = BTreeMap<String, AttributeValue>;

fn params(p: Option<Vec<AttributeValue>>) -> Result<Vec<AttrValue>> {
    p.unwrap_or_default().into_iter().map(wire::from_wire).collect()
}

fn names(subs: &Rendered) -> Option<BTreeMap<String, String>> {
    (!subs.names.is_empty()).then(|| subs.names.clone())
}

fn values(subs: &Rendered) -> Option<WireItem> {
    (!subs.values.is_empty()).then(|| subs.values.iter().map(|(k, v)| (k.clone(), wire::to_wire(v))).collect())
}

/// A key lookup's item, if it passes the rest of the WHERE clause, with the SELECT's
/// projection: the item a batch or transaction SELECT answers with.
fn filtered(item: Option<WireItem>, plan: &partiql::SelectPlan) -> Result<Option<WireItem>> {
    let Some(item) = item else { return Ok(None) };
    let item: crate::value::Item = wire::item_from_wire(item)?;
    let names: std::collections::HashMap<String, String> = plan.subs.names.clone().into_iter().collect();
    let values: std::collections::HashMap<String, AttrValue> = plan.subs.values.clone().into_iter().collect();
    let params = crate::expr::Params::new(Some(&names), Some(&values));
    if let Some(f) = &plan.filter {
        let condition = crate::expr::parse_condition(f, "FilterExpression", &params).map_err(DynamoError::Validation)?;
        if !condition.eval(&item) {
            return Ok(None);
        }
    }
    let item = match &plan.projection {
        Some(p) => crate::expr::project(&item, &crate::expr::parse_projection(p, &params).map_err(DynamoError::Validation)?),
        None => item,
    };
    Ok(Some(wire::item_to_wire(&item)))
}

fn and(parts: Vec<String>) -> Option<String> {
    (!parts.is_empty()).then(|| parts.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" AND "))
}

/// What a write statement amounts to, before it runs alone or in a transaction.
enum Write {
    Put(Put),
    Update(Update, Option<String>),
    Delete(Delete, Option<String>),
}

impl DynamoDb {
    /// Turns INSERT, UPDATE and DELETE into the write they mean.
    fn plan_statement_write(&self, ctx: &RequestContext, statement: Statement, on_failure: Option<String>) -> Result<Write> {
        match statement {
            Statement::Insert { table, item } => {
                let t = self.table_for(ctx, &table)?;
                Ok(Write::Put(Put {
                    table_name: table,
                    item: wire::item_to_wire(&item),
                    condition_expression: Some("attribute_not_exists(#k)".into()),
                    expression_attribute_names: Some(BTreeMap::from([("#k".to_string(), t.key.hash.clone())])),
                    expression_attribute_values: None,
                    return_values_on_condition_check_failure: on_failure,
                }))
            }
            Statement::Update { table, key_where, update, condition, mut subs, returning } => {
                let t = self.table_for(ctx, &table)?;
                let (key, mut rest) = partiql::key_and_rest(&t, &key_where, &mut subs)?;
                // An UPDATE changes an existing item only.
                let hash = subs.names.iter().find(|(_, v)| **v == t.key.hash).map(|(k, _)| k.clone());
                let hash = hash.unwrap_or_else(|| {
                    let k = format!("#n{}", subs.names.len());
                    subs.names.insert(k.clone(), t.key.hash.clone());
                    k
                });
                rest.insert(0, format!("attribute_exists({hash})"));
                rest.extend(condition);
                Ok(Write::Update(
                    Update {
                        key: wire::item_to_wire(&key),
                        update_expression: update,
                        table_name: table,
                        condition_expression: and(rest),
                        expression_attribute_names: names(&subs),
                        expression_attribute_values: values(&subs),
                        return_values_on_condition_check_failure: on_failure,
                    },
                    returning,
                ))
            }
            Statement::Delete { table, key_where, condition, mut subs, returning } => {
                let t = self.table_for(ctx, &table)?;
                let (key, mut rest) = partiql::key_and_rest(&t, &key_where, &mut subs)?;
                rest.extend(condition);
                Ok(Write::Delete(
                    Delete {
                        key: wire::item_to_wire(&key),
                        table_name: table,
                        condition_expression: and(rest),
                        expression_attribute_names: names(&subs),
                        expression_attribute_values: values(&subs),
                        return_values_on_condition_check_failure: on_failure,
                    },
                    returning,
                ))
            }
            Statement::Select(_) => validation("Only write statements can be planned as writes"),
        }
    }

    async fn run_statement(&self, ctx: &RequestContext, input: ExecuteStatementInput) -> Result<ExecuteStatementOutput> {
        let statement = partiql::parse(&input.statement, &params(input.parameters)?)?;
        if let Statement::Select(select) = statement {
            let (table, plan) = self.plan_select(ctx, &select)?;
            let exclusive_start_key = match &input.next_token {
                None => None,
                Some(token) => Some(decode_token(token)?),
            };
            let (items, last_evaluated_key, consumed_capacity) = match plan.key_condition {
                Some(key_condition) => {
                    let out = self
                        .query(ctx, QueryInput {
                            table_name: table.name,
                            index_name: select.index,
                            limit: input.limit,
                            exclusive_start_key,
                            return_consumed_capacity: input.return_consumed_capacity,
                            projection_expression: plan.projection.clone(),
                            expression_attribute_names: names(&plan.subs),
                            expression_attribute_values: values(&plan.subs),
                            key_condition_expression: Some(key_condition),
                            filter_expression: plan.filter,
                            consistent_read: input.consistent_read,
                            ..Default::default()
                        })
                        .await?;
                    (out.items, out.last_evaluated_key, out.consumed_capacity)
                }
                None => {
                    let out = self
                        .scan(ctx, ScanInput {
                            table_name: table.name,
                            index_name: select.index,
                            limit: input.limit,
                            exclusive_start_key,
                            return_consumed_capacity: input.return_consumed_capacity,
                            projection_expression: plan.projection.clone(),
                            expression_attribute_names: names(&plan.subs),
                            expression_attribute_values: values(&plan.subs),
                            filter_expression: plan.filter,
                            consistent_read: input.consistent_read,
                            ..Default::default()
                        })
                        .await?;
                    (out.items, out.last_evaluated_key, out.consumed_capacity)
                }
            };
            return Ok(ExecuteStatementOutput { items, next_token: last_evaluated_key.as_ref().map(encode_token), consumed_capacity, last_evaluated_key });
        }
        let capacity = input.return_consumed_capacity.clone();
        let items = match self.plan_statement_write(ctx, statement, input.return_values_on_condition_check_failure)? {
            Write::Put(p) => {
                let put = PutItemInput {
                    table_name: p.table_name,
                    item: p.item,
                    condition_expression: p.condition_expression,
                    expression_attribute_names: p.expression_attribute_names,
                    return_consumed_capacity: capacity,
                    ..Default::default()
                };
                match self.put_item(ctx, put).await {
                    Err(DynamoError::ConditionalCheckFailed(_)) => return Err(DynamoError::DuplicateItem),
                    other => other?,
                };
                Vec::new()
            }
            Write::Update(u, returning) => {
                let out = self
                    .update_item(ctx, UpdateItemInput {
                        table_name: u.table_name,
                        key: u.key,
                        update_expression: Some(u.update_expression),
                        condition_expression: u.condition_expression,
                        expression_attribute_names: u.expression_attribute_names,
                        expression_attribute_values: u.expression_attribute_values,
                        return_values: returning,
                        return_values_on_condition_check_failure: u.return_values_on_condition_check_failure,
                        return_consumed_capacity: capacity,
                        ..Default::default()
                    })
                    .await?;
                out.attributes.into_iter().collect()
            }
            Write::Delete(d, returning) => {
                let out = self
                    .delete_item(ctx, DeleteItemInput {
                        table_name: d.table_name,
                        key: d.key,
                        condition_expression: d.condition_expression,
                        expression_attribute_names: d.expression_attribute_names,
                        expression_attribute_values: d.expression_attribute_values,
                        return_values: returning,
                        return_values_on_condition_check_failure: d.return_values_on_condition_check_failure,
                        return_consumed_capacity: capacity,
                        ..Default::default()
                    })
                    .await?;
                out.attributes.into_iter().collect()
            }
        };
        Ok(ExecuteStatementOutput { items: Some(items), ..Default::default() })
    }

    pub async fn execute_statement(&self, ctx: &RequestContext, input: ExecuteStatementInput) -> Result<ExecuteStatementOutput> {
        self.run_statement(ctx, input).await
    }

    /// A SELECT planned against the key schema of what it reads (the table or an index).
    fn plan_select(&self, ctx: &RequestContext, select: &partiql::Select) -> Result<(crate::schema::TableRecord, partiql::SelectPlan)> {
        let t = self.table_for(ctx, &select.table)?;
        let schema = select.index.as_ref().and_then(|i| t.index(i)).map(|(i, _)| i.key.clone()).unwrap_or_else(|| t.key.clone());
        let plan = select.plan(&schema.hash, schema.range.as_deref())?;
        Ok((t, plan))
    }

    /// A SELECT in a batch or a transaction reads one item: its WHERE fixes the whole key.
    fn key_lookup(&self, ctx: &RequestContext, select: &partiql::Select) -> Result<(crate::schema::TableRecord, WireItem, partiql::SelectPlan)> {
        let (t, plan) = self.plan_select(ctx, select)?;
        let key: WireItem = plan.key.iter().map(|(k, v)| (k.clone(), wire::to_wire(v))).collect();
        if select.index.is_some() || key.len() != t.key.names().count() || plan.key_condition.as_deref().is_some_and(|k| k.matches(" AND ").count() + 1 != key.len()) {
            return validation("Where clause does not contain a mandatory equality on all key attributes");
        }
        Ok((t, key, plan))
    }

    pub async fn batch_execute_statement(&self, ctx: &RequestContext, input: BatchExecuteStatementInput) -> Result<BatchExecuteStatementOutput> {
        if input.statements.is_empty() || input.statements.len() > 25 {
            return validation(format!(
                "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length {}",
                if input.statements.is_empty() { "greater than or equal to 1" } else { "less than or equal to 25" }
            ));
        }
        let mut responses = Vec::with_capacity(input.statements.len());
        for s in input.statements {
            let parsed = params(s.parameters.clone()).and_then(|p| partiql::parse(&s.statement, &p));
            let table_name = parsed.as_ref().ok().map(|st| st.table().to_string());
            let result: Result<Option<WireItem>> = async {
                let statement = parsed?;
                if let Statement::Select(select) = &statement {
                    let (table, key, plan) = self.key_lookup(ctx, select)?;
                    let out = self
                        .get_item(ctx, GetItemInput { table_name: table.name.clone(), key, consistent_read: s.consistent_read, ..Default::default() })
                        .await?;
                    return filtered(out.item, &plan);
                }
                self.run_statement(ctx, ExecuteStatementInput {
                    statement: s.statement.clone(),
                    parameters: s.parameters.clone(),
                    return_values_on_condition_check_failure: s.return_values_on_condition_check_failure.clone(),
                    ..Default::default()
                })
                .await
                .map(|_| None)
            }
            .await;
            responses.push(match result {
                Ok(item) => BatchStatementResponse { table_name: table_name.clone(), item, error: None },
                Err(e) => {
                    let (code, message, item) = batch_error(e);
                    BatchStatementResponse { table_name, item: None, error: Some(BatchStatementError { code: Some(code), message: Some(message), item }) }
                }
            });
        }
        Ok(BatchExecuteStatementOutput { responses: Some(responses), consumed_capacity: None })
    }

    pub async fn execute_transaction(&self, ctx: &RequestContext, input: ExecuteTransactionInput) -> Result<ExecuteTransactionOutput> {
        let n = input.transact_statements.len();
        if n == 0 || n > 100 {
            return validation(format!(
                "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length {}",
                if n == 0 { "greater than or equal to 1" } else { "less than or equal to 100" }
            ));
        }
        let mut statements = Vec::with_capacity(n);
        for s in input.transact_statements {
            statements.push((partiql::parse(&s.statement, &params(s.parameters)?)?, s.return_values_on_condition_check_failure));
        }
        let reads = statements.iter().filter(|(s, _)| matches!(s, Statement::Select { .. })).count();
        if reads > 0 && reads < n {
            return validation("Transaction must contain either only read statements or only write statements");
        }
        if reads == n {
            let mut gets = Vec::with_capacity(n);
            let mut plans = Vec::with_capacity(n);
            for (s, _) in &statements {
                let Statement::Select(select) = s else { unreachable!() };
                let (table, key, plan) = self.key_lookup(ctx, select)?;
                gets.push(TransactGetItem { get: Get { key, table_name: table.name, projection_expression: None, expression_attribute_names: None } });
                plans.push(plan);
            }
            let out = self.transact_get_items(ctx, TransactGetItemsInput { transact_items: gets, return_consumed_capacity: input.return_consumed_capacity }).await?;
            let responses = out
                .responses
                .unwrap_or_default()
                .into_iter()
                .zip(&plans)
                .map(|(r, plan)| Ok(ItemResponse { item: filtered(r.item, plan)? }))
                .collect::<Result<Vec<_>>>()?;
            return Ok(ExecuteTransactionOutput { responses: Some(responses), consumed_capacity: out.consumed_capacity });
        }
        let mut items = Vec::with_capacity(n);
        for (s, on_failure) in statements {
            items.push(match self.plan_statement_write(ctx, s, on_failure)? {
                Write::Put(p) => TransactWriteItem { put: Some(p), ..Default::default() },
                Write::Update(u, _) => TransactWriteItem { update: Some(u), ..Default::default() },
                Write::Delete(d, _) => TransactWriteItem { delete: Some(d), ..Default::default() },
            });
        }
        let out = self
            .transact_write_items(ctx, TransactWriteItemsInput {
                transact_items: items,
                return_consumed_capacity: input.return_consumed_capacity,
                return_item_collection_metrics: None,
                client_request_token: input.client_request_token,
            })
            .await?;
        Ok(ExecuteTransactionOutput { responses: None, consumed_capacity: out.consumed_capacity })
    }
}

/// A statement's failure as BatchExecuteStatement reports it, in the response.
fn batch_error(e: DynamoError) -> (String, String, Option<WireItem>) {
    match e {
        DynamoError::ConditionalCheckFailed(item) => (
            "ConditionalCheckFailed".into(),
            "The conditional request failed".into(),
            item.and_then(|j| serde_json::from_str(&j).ok()).and_then(|j| wire::item_from_json(&j)).map(|i| wire::item_to_wire(&i)),
        ),
        DynamoError::DuplicateItem => ("DuplicateItem".into(), "Duplicate primary key exists in table".into(), None),
        DynamoError::ResourceNotFound(m) => ("ResourceNotFound".into(), m, None),
        DynamoError::Validation(m) => ("ValidationError".into(), m, None),
        other => ("InternalServerError".into(), format!("{other:?}"), None),
    }
}

fn encode_token(key: &WireItem) -> String {
    let item: crate::value::Item = key.iter().filter_map(|(k, v)| Some((k.clone(), wire::from_wire(v.clone()).ok()?))).collect();
    base64::engine::general_purpose::STANDARD.encode(wire::item_to_json(&item).to_string())
}

fn decode_token(token: &str) -> Result<WireItem> {
    let invalid = || DynamoError::Validation("Invalid NextToken".into());
    let raw = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| invalid())?;
    let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    let item = wire::item_from_json(&json).ok_or_else(invalid)?;
    Ok(wire::item_to_wire(&item))
}
