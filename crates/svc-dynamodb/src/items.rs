//! Single-item writes and reads: PutItem, UpdateItem, DeleteItem, GetItem.
//!
//! A write is planned first (everything that can be checked without the current item),
//! then carried out in one store transaction: read the current item, check the
//! condition, compute the new item, write it and its index entries. Batches and
//! transactions carry out the same [`Planned`] writes, several in one transaction.

use crate::error::{validation, DynamoError, Result};
use crate::expr::{self, Condition, Update};
use crate::records;
use crate::request::{self, Substitutions};
use crate::schema::TableRecord;
use crate::value::Item;
use crate::wire;
use crate::DynamoDb;
use nubo_core::RequestContext;
use nubo_model::generated::dynamodb::*;
use nubo_store::WriteTxn;

pub(crate) enum Change {
    Put(Item),
    Update(Option<Update>),
    Delete,
    /// A transaction's ConditionCheck: the condition alone.
    Check,
}

/// A write that passed every check that does not need the current item.
pub(crate) struct Planned {
    pub table: TableRecord,
    /// The key attributes of the item written.
    pub key: Item,
    pub change: Change,
    pub condition: Option<Condition>,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub old_on_failure: bool,
}

/// What a write found and left.
pub(crate) struct Outcome {
    pub old: Option<Item>,
    pub new: Option<Item>,
}

/// A failed condition, with the item as it was when the caller asked to see it.
pub(crate) struct Failed(pub Option<Item>);

impl Planned {
    /// Reads the current item and decides the write, without writing.
    pub fn evaluate(&mut self, tx: &(impl nubo_store::ReadTxn + ?Sized)) -> Result<std::result::Result<Outcome, Failed>> {
        self.table = self.table.refresh(tx)?;
        let old = records::read_item(tx, &self.table.item_key(&self.key))?;
        if let Some(c) = &self.condition {
            let empty = Item::new();
            if !c.eval(old.as_ref().unwrap_or(&empty)) {
                return Ok(Err(Failed(if self.old_on_failure { old } else { None })));
            }
        }
        let new = match &self.change {
            Change::Put(item) => Some(item.clone()),
            Change::Delete => None,
            Change::Check => return Ok(Ok(Outcome { new: old.clone(), old })),
            Change::Update(update) => {
                let mut item = old.clone().unwrap_or_else(|| self.key.clone());
                if let Some(u) = update {
                    u.apply(&mut item).map_err(DynamoError::Validation)?;
                }
                self.table.check_index_keys(&item)?;
                wire::check_nesting(&item)?;
                if wire::item_size(&item) > wire::MAX_ITEM_SIZE {
                    return validation("Item size to update has exceeded the maximum allowed size");
                }
                Some(item)
            }
        };
        Ok(Ok(Outcome { old, new }))
    }

    /// Carries out a decided write.
    pub fn apply(&self, tx: &mut (impl WriteTxn + ?Sized), outcome: &Outcome, now: f64) -> Result<()> {
        let origin = records::Origin { now, by_ttl: false };
        match (&self.change, &outcome.new, &outcome.old) {
            (Change::Check, _, _) => Ok(()),
            (_, Some(new), old) => records::write_item(tx, &self.table, old.as_ref(), new, origin),
            (_, None, Some(old)) => records::delete_item(tx, &self.table, old, origin),
            (_, None, None) => Ok(()),
        }
    }
}

impl DynamoDb {
    /// After a write commits: wakes the readers of streams.
    pub(crate) fn committed(&self) {
        self.stream_activity.notify_waiters();
    }

    /// Runs one planned write in its own transaction.
    pub(crate) fn run(&self, plan: &mut Planned) -> Result<Outcome> {
        let now = self.clock.now().as_secs_f64();
        let outcome = self.store.write(|tx| match plan.evaluate(tx)? {
            Ok(outcome) => {
                plan.apply(tx, &outcome, now)?;
                Ok(outcome)
            }
            Err(Failed(item)) => Err(DynamoError::ConditionalCheckFailed(item.map(|i| wire::item_to_json(&i).to_string()))),
        })?;
        self.committed();
        Ok(outcome)
    }

    pub(crate) fn table_for(&self, ctx: &RequestContext, name: &str) -> Result<TableRecord> {
        crate::tables::check_table_name(name, "tableName")?;
        self.read(|tx| self.table(tx, &ctx.scope, name))
    }

    pub(crate) fn plan_put(
        &self,
        table: TableRecord,
        item: std::collections::BTreeMap<String, AttributeValue>,
        condition: Option<Condition>,
        old_on_failure: bool,
    ) -> Result<Planned> {
        let item = wire::item_from_wire(item)?;
        table.check_item(&item)?;
        if wire::item_size(&item) > wire::MAX_ITEM_SIZE {
            return validation("Item size has exceeded the maximum allowed size");
        }
        Ok(Planned { key: table.key_of(&item), table, change: Change::Put(item), condition, old_on_failure })
    }

    pub(crate) fn plan_keyed(
        &self,
        table: TableRecord,
        key: std::collections::BTreeMap<String, AttributeValue>,
        change: Change,
        condition: Option<Condition>,
        old_on_failure: bool,
    ) -> Result<Planned> {
        let key = wire::item_from_wire(key)?;
        table.check_key(&key)?;
        Ok(Planned { table, key, change, condition, old_on_failure })
    }

    pub async fn put_item(&self, ctx: &RequestContext, input: PutItemInput) -> Result<PutItemOutput> {
        request::check_mixing(
            &[("ConditionExpression", input.condition_expression.is_some())],
            &[("Expected", input.expected.is_some())],
            input.expression_attribute_names.is_some(),
            input.expression_attribute_values.is_some(),
        )?;
        let returning = return_values(input.return_values.as_deref(), false)?;
        let subs = Substitutions::new(input.expression_attribute_names, input.expression_attribute_values)?;
        let params = subs.params();
        let condition = legacy_or(request::condition(input.condition_expression.as_deref(), "ConditionExpression", &params)?, input.expected, input.conditional_operator.as_deref())?;
        params.check_unused().map_err(DynamoError::Validation)?;
        let table = self.table_for(ctx, &input.table_name)?;
        let on_failure = input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let mut plan = self.plan_put(table, input.item, condition, on_failure)?;
        let outcome = self.run(&mut plan)?;
        let size = outcome.new.as_ref().map(wire::item_size).unwrap_or(0).max(outcome.old.as_ref().map(wire::item_size).unwrap_or(0));
        Ok(PutItemOutput {
            attributes: (returning == "ALL_OLD").then(|| outcome.old.as_ref().map(wire::item_to_wire)).flatten(),
            consumed_capacity: request::consumed(&plan.table, input.return_consumed_capacity.as_deref(), request::write_units(size)),
            item_collection_metrics: None,
        })
    }

    pub async fn delete_item(&self, ctx: &RequestContext, input: DeleteItemInput) -> Result<DeleteItemOutput> {
        request::check_mixing(
            &[("ConditionExpression", input.condition_expression.is_some())],
            &[("Expected", input.expected.is_some())],
            input.expression_attribute_names.is_some(),
            input.expression_attribute_values.is_some(),
        )?;
        let returning = return_values(input.return_values.as_deref(), false)?;
        let subs = Substitutions::new(input.expression_attribute_names, input.expression_attribute_values)?;
        let params = subs.params();
        let condition = legacy_or(request::condition(input.condition_expression.as_deref(), "ConditionExpression", &params)?, input.expected, input.conditional_operator.as_deref())?;
        params.check_unused().map_err(DynamoError::Validation)?;
        let table = self.table_for(ctx, &input.table_name)?;
        let on_failure = input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let mut plan = self.plan_keyed(table, input.key, Change::Delete, condition, on_failure)?;
        let outcome = self.run(&mut plan)?;
        let size = outcome.old.as_ref().map(wire::item_size).unwrap_or(0);
        Ok(DeleteItemOutput {
            attributes: (returning == "ALL_OLD").then(|| outcome.old.as_ref().map(wire::item_to_wire)).flatten(),
            consumed_capacity: request::consumed(&plan.table, input.return_consumed_capacity.as_deref(), request::write_units(size)),
            item_collection_metrics: None,
        })
    }

    pub async fn update_item(&self, ctx: &RequestContext, input: UpdateItemInput) -> Result<UpdateItemOutput> {
        request::check_mixing(
            &[("UpdateExpression", input.update_expression.is_some()), ("ConditionExpression", input.condition_expression.is_some())],
            &[("AttributeUpdates", input.attribute_updates.is_some()), ("Expected", input.expected.is_some())],
            input.expression_attribute_names.is_some(),
            input.expression_attribute_values.is_some(),
        )?;
        let returning = return_values(input.return_values.as_deref(), true)?;
        let subs = Substitutions::new(input.expression_attribute_names, input.expression_attribute_values)?;
        let params = subs.params();
        let update = match input.update_expression.as_deref() {
            Some("") => return validation("Invalid UpdateExpression: The expression can not be empty;"),
            Some(s) => Some(expr::parse_update(s, &params).map_err(DynamoError::Validation)?),
            None => match input.attribute_updates {
                Some(updates) => {
                    let mut m = std::collections::HashMap::new();
                    for (k, u) in updates {
                        m.insert(k, expr::AttributeUpdate { action: u.action, value: u.value.map(wire::from_wire).transpose()? });
                    }
                    Some(expr::attribute_updates_to_update(&m).map_err(DynamoError::Validation)?)
                }
                None => None,
            },
        };
        let condition = legacy_or(request::condition(input.condition_expression.as_deref(), "ConditionExpression", &params)?, input.expected, input.conditional_operator.as_deref())?;
        params.check_unused().map_err(DynamoError::Validation)?;
        let table = self.table_for(ctx, &input.table_name)?;
        if let Some(u) = &update {
            check_update_keys(&table, u)?;
        }
        // UPDATED_* answer with the paths the update names, nested ones as nested values.
        let touched: Vec<expr::Path> = update.as_ref().map(|u| u.paths().into_iter().cloned().collect()).unwrap_or_default();
        let on_failure = input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let mut plan = self.plan_keyed(table, input.key, Change::Update(update), condition, on_failure)?;
        let outcome = self.run(&mut plan)?;
        let pick = |item: &Option<Item>| -> Option<Item> {
            let item = item.as_ref()?;
            Some(expr::project(item, &touched))
        };
        let attributes = match returning {
            "ALL_OLD" => outcome.old.clone(),
            "ALL_NEW" => outcome.new.clone(),
            "UPDATED_OLD" => pick(&outcome.old),
            "UPDATED_NEW" => pick(&outcome.new),
            _ => None,
        };
        let size = outcome.new.as_ref().map(wire::item_size).unwrap_or(0).max(outcome.old.as_ref().map(wire::item_size).unwrap_or(0));
        Ok(UpdateItemOutput {
            attributes: attributes.filter(|a| !a.is_empty()).map(|a| wire::item_to_wire(&a)),
            consumed_capacity: request::consumed(&plan.table, input.return_consumed_capacity.as_deref(), request::write_units(size)),
            item_collection_metrics: None,
        })
    }

    pub async fn get_item(&self, ctx: &RequestContext, input: GetItemInput) -> Result<GetItemOutput> {
        request::check_mixing(
            &[("ProjectionExpression", input.projection_expression.is_some())],
            &[("AttributesToGet", input.attributes_to_get.is_some())],
            input.expression_attribute_names.is_some(),
            false,
        )?;
        let subs = Substitutions::new(input.expression_attribute_names, None)?;
        let params = subs.params();
        let projection = match request::projection(input.projection_expression.as_deref(), &params)? {
            Some(p) => Some(p),
            None => request::attributes_to_get(input.attributes_to_get)?,
        };
        params.check_unused().map_err(DynamoError::Validation)?;
        let table = self.table_for(ctx, &input.table_name)?;
        let key = wire::item_from_wire(input.key)?;
        table.check_key(&key)?;
        let item = self.read(|tx| records::read_item(tx, &table.item_key(&key)))?;
        let size = item.as_ref().map(wire::item_size).unwrap_or(0);
        let consistent = input.consistent_read.unwrap_or(false);
        Ok(GetItemOutput {
            item: item.map(|i| wire::item_to_wire(&projection.as_ref().map(|p| expr::project(&i, p)).unwrap_or(i))),
            consumed_capacity: request::consumed(&table, input.return_consumed_capacity.as_deref(), request::read_units(size, consistent)),
        })
    }
}

/// The condition from the expression, or else from the legacy `Expected`.
pub(crate) fn legacy_or(
    condition: Option<Condition>,
    expected: Option<std::collections::BTreeMap<String, ExpectedAttributeValue>>,
    operator: Option<&str>,
) -> Result<Option<Condition>> {
    if condition.is_some() {
        return Ok(condition);
    }
    match request::expected(expected)? {
        Some(e) if !e.is_empty() => Ok(Some(expr::expected_to_condition(&e, operator).map_err(DynamoError::Validation)?)),
        _ => Ok(None),
    }
}

/// An update may not touch the table's key attributes.
pub(crate) fn check_update_keys(table: &TableRecord, update: &Update) -> Result<()> {
    for attr in update.top_level_attrs() {
        if table.key.names().any(|k| k == attr) {
            return validation(format!("One or more parameter values were invalid: Cannot update attribute {attr}. This attribute is part of the key"));
        }
    }
    Ok(())
}

fn return_values(v: Option<&str>, update: bool) -> Result<&'static str> {
    match v {
        None | Some("NONE") => Ok("NONE"),
        Some("ALL_OLD") => Ok("ALL_OLD"),
        Some("ALL_NEW") if update => Ok("ALL_NEW"),
        Some("UPDATED_OLD") if update => Ok("UPDATED_OLD"),
        Some("UPDATED_NEW") if update => Ok("UPDATED_NEW"),
        Some("ALL_NEW" | "UPDATED_OLD" | "UPDATED_NEW") => validation("ReturnValues can only be ALL_OLD or NONE"),
        Some(other) => validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
        )),
    }
}
