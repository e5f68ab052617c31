//! Query and Scan: ordered key ranges over the table or an index, pages of at most 1 MB
//! or `Limit` items, filters applied after the page is read (as DynamoDB counts them:
//! ScannedCount before the filter, Count after).

use crate::error::{validation, DynamoError, Result};
use crate::expr::{self, KeyCondition, RangeCond};
use crate::keys;
use crate::records::{self, INDEXES, ITEMS};
use crate::request::{self, Substitutions};
use crate::schema::{self, IndexRecord, KeySchema, TableRecord};
use crate::value::{AttrValue, Item};
use crate::wire;
use crate::DynamoDb;
use nubo_core::RequestContext;
use nubo_model::generated::dynamodb::*;


/// DynamoDB stops reading a page once it has read 1 MB.
const PAGE_BYTES: usize = 1024 * 1024;

/// Where a read looks: the table itself or one of its indexes.
struct Source<'a> {
    table: &'a TableRecord,
    index: Option<(&'a IndexRecord, bool)>,
    /// A local index reads its items' other attributes from the table when asked for
    /// them (Select=ALL_ATTRIBUTES or a projection), as DynamoDB does.
    fetch_full: bool,
}

impl Source<'_> {
    fn schema(&self) -> &KeySchema {
        self.index.map(|(i, _)| &i.key).unwrap_or(&self.table.key)
    }

    fn store_table(&self) -> &'static str {
        if self.index.is_some() { INDEXES } else { ITEMS }
    }

    fn base(&self) -> Vec<u8> {
        match self.index {
            Some((i, _)) => nubo_store::key::key(&[&self.table.id, &i.name]),
            None => nubo_store::key::key(&[&self.table.id]),
        }
    }

    /// The store key an item has in this source (for ExclusiveStartKey).
    fn key_of(&self, item: &Item) -> Option<Vec<u8>> {
        match self.index {
            Some((i, _)) => self.table.index_key(i, item),
            None => Some(self.table.item_key(item)),
        }
    }

    /// The key attributes LastEvaluatedKey carries: the table's, plus the index's.
    fn last_key(&self, item: &Item) -> Item {
        let mut k = self.table.key_of(item);
        if let Some((i, _)) = self.index {
            for n in i.key.names() {
                if let Some(v) = item.get(n) {
                    k.insert(n.to_string(), v.clone());
                }
            }
        }
        k
    }

    fn check_start_key(&self, esk: &Item) -> Result<()> {
        let wanted: std::collections::BTreeSet<&str> = self.table.key.names().chain(self.index.iter().flat_map(|(i, _)| i.key.names())).collect();
        if esk.len() != wanted.len() || !wanted.iter().all(|n| esk.contains_key(*n)) {
            return validation("The provided starting key is invalid");
        }
        if !wanted.iter().all(|n| esk.get(*n).is_some_and(|v| Some(v.type_name()) == self.table.attribute_type(n))) {
            return validation("The provided starting key is invalid: The provided key element does not match the schema");
        }
        Ok(())
    }

    /// Reads up to `limit` store entries of `[lo, hi)` and turns them into items as this
    /// source holds them (an index holds its projection). Also says how many entries it
    /// read and the last one's key: an index entry whose item is gone is skipped, but
    /// the range still moves past it.
    fn page(&self, tx: &(impl nubo_store::ReadTxn + ?Sized), lo: &[u8], hi: &[u8], reverse: bool, limit: usize) -> Result<RawPage> {
        let entries = tx.range(self.store_table(), lo, hi, reverse, limit)?;
        let read = entries.len();
        let last = entries.last().map(|(k, _)| k.clone());
        let mut out = Vec::with_capacity(entries.len());
        for (_, v) in entries {
            let item = match self.index {
                None => records::decode_item(&v)?,
                Some((index, _)) => match records::read_item(tx, &v)? {
                    Some(item) if self.fetch_full => item,
                    Some(item) => self.table.project_for_index(index, &item),
                    None => continue,
                },
            };
            out.push(item);
        }
        Ok(RawPage { items: out, read, last })
    }
}

/// Items of one store read, how many entries it read, and the last entry's key.
struct RawPage {
    items: Vec<Item>,
    read: usize,
    last: Option<Vec<u8>>,
}

/// What the caller asked to get back of each item.
struct Selection {
    count_only: bool,
    projection: Option<Vec<expr::Path>>,
}

fn selection(select: Option<&str>, projection: Option<Vec<expr::Path>>, attributes_to_get: bool, source: &Source) -> Result<Selection> {
    match select {
        None | Some("ALL_ATTRIBUTES") | Some("ALL_PROJECTED_ATTRIBUTES") | Some("SPECIFIC_ATTRIBUTES") | Some("COUNT") => {}
        Some(other) => {
            return validation(format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            ))
        }
    }
    let has_projection = projection.is_some();
    match select {
        Some("ALL_ATTRIBUTES") if has_projection => {
            return validation(if attributes_to_get {
                "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES"
            } else {
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not compatible with ProjectionExpression"
            })
        }
        Some("COUNT") if has_projection => {
            return validation(if attributes_to_get {
                "Cannot specify the AttributesToGet when choosing to get only the COUNT"
            } else {
                "One or more parameter values were invalid: Select type COUNT is not compatible with ProjectionExpression"
            })
        }
        Some("ALL_PROJECTED_ATTRIBUTES") if has_projection => {
            return validation(if attributes_to_get {
                "Cannot specify the AttributesToGet when choosing to get ALL_PROJECTED_ATTRIBUTES"
            } else {
                "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not compatible with ProjectionExpression"
            })
        }
        Some("ALL_PROJECTED_ATTRIBUTES") if source.index.is_none() => {
            return validation("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries")
        }
        Some("SPECIFIC_ATTRIBUTES") if !has_projection => {
            return validation("One or more parameter values were invalid: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
        }
        Some("ALL_ATTRIBUTES") => {
            if let Some((i, true)) = source.index {
                if i.projection != "ALL" {
                    return validation(format!(
                        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                        i.name
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(Selection { count_only: select == Some("COUNT"), projection })
}

fn source<'a>(table: &'a TableRecord, index: Option<&str>, consistent: bool) -> Result<Source<'a>> {
    let index = match index {
        None => None,
        Some(name) => match table.index(name) {
            Some(i) => Some(i),
            None => return validation(format!("The table does not have the specified index: {name}")),
        },
    };
    if consistent && index.is_some_and(|(_, global)| global) {
        return validation("Consistent reads are not supported on global secondary indexes");
    }
    Ok(Source { table, index, fetch_full: false })
}

fn check_limit(limit: Option<i32>) -> Result<Option<usize>> {
    match limit {
        Some(l) if l < 1 => validation(format!("1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")),
        l => Ok(l.map(|l| l as usize)),
    }
}

/// The result of reading one page.
struct Page {
    items: Vec<Item>,
    scanned: usize,
    bytes: usize,
    last: Option<Item>,
}

impl DynamoDb {
    /// Reads `[lo, hi)` of a source until `limit` items or 1 MB, filtering and projecting.
    #[allow(clippy::too_many_arguments)]
    fn read_range(&self, src: &Source, lo: Vec<u8>, hi: Vec<u8>, reverse: bool, limit: Option<usize>, filter: Option<&expr::Condition>, sel: &Selection) -> Result<Page> {
        let (mut lo, mut hi) = (lo, hi);
        let mut page = Page { items: Vec::new(), scanned: 0, bytes: 0, last: None };
        let batch = limit.unwrap_or(usize::MAX).min(256);
        self.read(|tx| {
            loop {
                let want = limit.map(|l| l - page.scanned).unwrap_or(batch).min(batch);
                let RawPage { items: entries, read, last } = src.page(tx, &lo, &hi, reverse, want)?;
                let exhausted = read < want;
                if let Some(k) = last {
                    if reverse {
                        hi = k;
                    } else {
                        lo = k;
                        lo.push(0);
                    }
                }
                for item in entries {
                    page.scanned += 1;
                    page.bytes += wire::item_size(&item);
                    let full = limit.is_some_and(|l| page.scanned >= l) || page.bytes >= PAGE_BYTES;
                    if full {
                        page.last = Some(src.last_key(&item));
                    }
                    if filter.is_none_or(|f| f.eval(&item)) {
                        page.items.push(match &sel.projection {
                            _ if sel.count_only => Item::new(),
                            Some(p) => expr::project(&item, p),
                            None => item,
                        });
                    }
                    if full {
                        return Ok(());
                    }
                }
                if exhausted {
                    return Ok(());
                }
            }
        })?;
        Ok(page)
    }

    pub async fn query(&self, ctx: &RequestContext, input: QueryInput) -> Result<QueryOutput> {
        request::check_mixing(
            &[
                ("KeyConditionExpression", input.key_condition_expression.is_some()),
                ("FilterExpression", input.filter_expression.is_some()),
                ("ProjectionExpression", input.projection_expression.is_some()),
            ],
            &[("KeyConditions", input.key_conditions.is_some()), ("QueryFilter", input.query_filter.is_some()), ("AttributesToGet", input.attributes_to_get.is_some())],
            input.expression_attribute_names.is_some(),
            input.expression_attribute_values.is_some(),
        )?;
        let limit = check_limit(input.limit)?;
        let table = self.table_for(ctx, &input.table_name)?;
        let consistent = input.consistent_read.unwrap_or(false);
        let mut src = source(&table, input.index_name.as_deref(), consistent)?;
        let subs = Substitutions::new(input.expression_attribute_names, input.expression_attribute_values)?;
        let params = subs.params();
        let schema = src.schema().clone();
        let key_condition: KeyCondition = match (input.key_condition_expression.as_deref(), input.key_conditions) {
            (Some(""), _) => return validation("Invalid KeyConditionExpression: The expression can not be empty;"),
            (Some(s), _) => expr::parse_key_condition(s, &params, &schema.hash, schema.range.as_deref()).map_err(DynamoError::Validation)?,
            (None, Some(c)) => {
                let c = request::conditions(Some(c))?.unwrap_or_default();
                expr::key_conditions_to_key_condition(&c, &schema.hash, schema.range.as_deref()).map_err(DynamoError::Validation)?
            }
            (None, None) => return validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."),
        };
        let filter = match request::condition(input.filter_expression.as_deref(), "FilterExpression", &params)? {
            Some(f) => Some(f),
            None => match request::conditions(input.query_filter)? {
                Some(c) if !c.is_empty() => Some(expr::conditions_to_condition(&c, input.conditional_operator.as_deref(), "queryFilter").map_err(DynamoError::Validation)?),
                _ => None,
            },
        };
        if let Some(key) = filter.as_ref().and_then(|f| f.path_heads().into_iter().find(|h| schema.names().any(|k| k == *h))) {
            let which = if input.filter_expression.is_some() { "Filter Expression" } else { "QueryFilter" };
            return validation(format!("{which} can only contain non-primary key attributes: Primary key attribute: {key}"));
        }
        let attributes_to_get = input.attributes_to_get.is_some();
        let projection = match request::projection(input.projection_expression.as_deref(), &params)? {
            Some(p) => Some(p),
            None => request::attributes_to_get(input.attributes_to_get)?,
        };
        params.check_unused().map_err(DynamoError::Validation)?;
        let sel = selection(input.select.as_deref(), projection, attributes_to_get, &src)?;
        src.fetch_full = matches!(src.index, Some((_, false))) && (input.select.as_deref() == Some("ALL_ATTRIBUTES") || sel.projection.is_some());

        // The key condition's values must have the key attributes' types.
        let typed = |name: &str, v: &AttrValue| -> Result<()> {
            if Some(v.type_name()) != table.attribute_type(name) {
                return validation("One or more parameter values were invalid: Condition parameter type does not match schema type");
            }
            Ok(())
        };
        typed(&schema.hash, &key_condition.hash)?;
        let prefix = schema::partition_prefix(src.base(), &key_condition.hash);
        let end = keys::successor(&prefix);
        let encoded = |v: &AttrValue| {
            let mut k = prefix.clone();
            keys::encode(v, &mut k);
            k
        };
        let (mut lo, mut hi) = match &key_condition.range {
            None => (prefix.clone(), end.clone()),
            Some(r) => {
                let range_name = schema.range.clone().unwrap_or_default();
                match r {
                    RangeCond::Eq(v) => {
                        typed(&range_name, v)?;
                        (encoded(v), keys::successor(&encoded(v)))
                    }
                    RangeCond::Lt(v) => {
                        typed(&range_name, v)?;
                        (prefix.clone(), encoded(v))
                    }
                    RangeCond::Le(v) => {
                        typed(&range_name, v)?;
                        (prefix.clone(), keys::successor(&encoded(v)))
                    }
                    RangeCond::Gt(v) => {
                        typed(&range_name, v)?;
                        (keys::successor(&encoded(v)), end.clone())
                    }
                    RangeCond::Ge(v) => {
                        typed(&range_name, v)?;
                        (encoded(v), end.clone())
                    }
                    RangeCond::Between(a, b) => {
                        typed(&range_name, a)?;
                        typed(&range_name, b)?;
                        (encoded(a), keys::successor(&encoded(b)))
                    }
                    RangeCond::BeginsWith(v) => {
                        typed(&range_name, v)?;
                        let mut k = prefix.clone();
                        keys::encode_prefix(v, &mut k);
                        let hi = keys::successor(&k);
                        (k, hi)
                    }
                }
            }
        };
        let forward = input.scan_index_forward.unwrap_or(true);
        if let Some(esk) = input.exclusive_start_key {
            let esk = wire::item_from_wire(esk)?;
            src.check_start_key(&esk)?;
            let same_partition = esk.get(&schema.hash).is_some_and(|h| expr::values_equal(h, &key_condition.hash));
            match (&key_condition.range, schema.range.as_ref().and_then(|r| esk.get(r))) {
                (Some(cond), Some(sort)) => {
                    if !range_matches(cond, sort) {
                        return validation("The provided starting key does not match the range key predicate");
                    }
                    if !same_partition {
                        return validation("The query can return at most one row and cannot be restarted");
                    }
                }
                _ if !same_partition => return validation("The provided starting key is outside query boundaries based on provided conditions"),
                _ => {}
            }
            let k = src.key_of(&esk).ok_or_else(|| DynamoError::Validation("The provided starting key is invalid".into()))?;
            if forward {
                let mut after = k;
                after.push(0);
                lo = lo.max(after);
            } else {
                hi = hi.min(k);
            }
        }
        let page = self.read_range(&src, lo, hi, !forward, limit, filter.as_ref(), &sel)?;
        Ok(self.answer(&table, page, &sel, input.return_consumed_capacity.as_deref(), consistent))
    }

    fn answer(&self, table: &TableRecord, page: Page, sel: &Selection, capacity: Option<&str>, consistent: bool) -> QueryOutput {
        QueryOutput {
            count: Some(page.items.len() as i32),
            items: (!sel.count_only).then(|| page.items.iter().map(wire::item_to_wire).collect()),
            scanned_count: Some(page.scanned as i32),
            last_evaluated_key: page.last.as_ref().map(wire::item_to_wire),
            consumed_capacity: request::consumed(table, capacity, request::read_units(page.bytes, consistent)),
        }
    }

    pub async fn scan(&self, ctx: &RequestContext, input: ScanInput) -> Result<ScanOutput> {
        request::check_mixing(
            &[("FilterExpression", input.filter_expression.is_some()), ("ProjectionExpression", input.projection_expression.is_some())],
            &[("ScanFilter", input.scan_filter.is_some()), ("AttributesToGet", input.attributes_to_get.is_some())],
            input.expression_attribute_names.is_some(),
            input.expression_attribute_values.is_some(),
        )?;
        let limit = check_limit(input.limit)?;
        let segments = match (input.segment, input.total_segments) {
            (None, None) => None,
            (Some(_), None) => return validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present"),
            (None, Some(_)) => return validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present"),
            (Some(s), Some(t)) => {
                if !(1..=1_000_000).contains(&t) {
                    return validation(format!("1 validation error detected: Value '{t}' at 'totalSegments' failed to satisfy constraint: Member must have value {}", if t < 1 { "greater than or equal to 1" } else { "less than or equal to 1000000" }));
                }
                if s < 0 {
                    return validation(format!("1 validation error detected: Value '{s}' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0"));
                }
                if s >= t {
                    return validation(format!("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"));
                }
                Some((s as u64, t as u64))
            }
        };
        let table = self.table_for(ctx, &input.table_name)?;
        let consistent = input.consistent_read.unwrap_or(false);
        let mut src = source(&table, input.index_name.as_deref(), consistent)?;
        let subs = Substitutions::new(input.expression_attribute_names, input.expression_attribute_values)?;
        let params = subs.params();
        let filter = match request::condition(input.filter_expression.as_deref(), "FilterExpression", &params)? {
            Some(f) => Some(f),
            None => match request::conditions(input.scan_filter)? {
                Some(c) if !c.is_empty() => Some(expr::conditions_to_condition(&c, input.conditional_operator.as_deref(), "scanFilter").map_err(DynamoError::Validation)?),
                _ => None,
            },
        };
        let attributes_to_get = input.attributes_to_get.is_some();
        let projection = match request::projection(input.projection_expression.as_deref(), &params)? {
            Some(p) => Some(p),
            None => request::attributes_to_get(input.attributes_to_get)?,
        };
        params.check_unused().map_err(DynamoError::Validation)?;
        let sel = selection(input.select.as_deref(), projection, attributes_to_get, &src)?;
        src.fetch_full = matches!(src.index, Some((_, false))) && (input.select.as_deref() == Some("ALL_ATTRIBUTES") || sel.projection.is_some());
        let base = src.base();
        // A segment is a contiguous slice of the two-byte partition hash space.
        let (mut lo, hi) = match segments {
            None => (base.clone(), keys::successor(&base)),
            Some((s, t)) => {
                let bound = |i: u64| -> Vec<u8> {
                    let h = i * 65536 / t;
                    if h >= 65536 {
                        return keys::successor(&base);
                    }
                    let mut k = base.clone();
                    k.extend_from_slice(&(h as u16).to_be_bytes());
                    k
                };
                (bound(s), bound(s + 1))
            }
        };
        if let Some(esk) = input.exclusive_start_key {
            let esk = wire::item_from_wire(esk)?;
            src.check_start_key(&esk)?;
            let mut after = src.key_of(&esk).ok_or_else(|| DynamoError::Validation("The provided starting key is invalid".into()))?;
            after.push(0);
            lo = lo.max(after);
        }
        let page = self.read_range(&src, lo, hi, false, limit, filter.as_ref(), &sel)?;
        let out = self.answer(&table, page, &sel, input.return_consumed_capacity.as_deref(), consistent);
        Ok(ScanOutput {
            items: out.items,
            count: out.count,
            scanned_count: out.scanned_count,
            last_evaluated_key: out.last_evaluated_key,
            consumed_capacity: out.consumed_capacity,
        })
    }
}

/// Whether a sort key value satisfies a key condition's range part.
fn range_matches(cond: &RangeCond, v: &AttrValue) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |b: &AttrValue| expr::compare_values(v, b);
    match cond {
        RangeCond::Eq(b) => cmp(b) == Some(Equal),
        RangeCond::Lt(b) => cmp(b) == Some(Less),
        RangeCond::Le(b) => matches!(cmp(b), Some(Less | Equal)),
        RangeCond::Gt(b) => cmp(b) == Some(Greater),
        RangeCond::Ge(b) => matches!(cmp(b), Some(Greater | Equal)),
        RangeCond::Between(lo, hi) => matches!(expr::compare_values(v, lo), Some(Greater | Equal)) && matches!(expr::compare_values(v, hi), Some(Less | Equal)),
        RangeCond::BeginsWith(p) => match (v, p) {
            (AttrValue::S(s), AttrValue::S(p)) => s.starts_with(p.as_str()),
            (AttrValue::B(b), AttrValue::B(p)) => b.starts_with(p),
            _ => false,
        },
    }
}
