//! Log groups: create, describe, delete, retention, tags.

use crate::error::{invalid, LogsError, Result, NO_GROUP};
use crate::records::{self, GroupRecord, EVENTS, GROUPS, METRIC_FILTERS, STREAMS};
use crate::Logs;
use nubo_core::{RequestContext, Scope};
use nubo_model::generated::logs::*;
use nubo_store::WriteTxn;
use std::collections::BTreeMap;

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: [i32; 22] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

pub fn check_group_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 512 {
        return invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must have length {}",
            if name.is_empty() { "greater than or equal to 1" } else { "less than or equal to 512" }
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b)) {
        return invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        ));
    }
    Ok(())
}

pub fn group_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:log-group:{name}", scope.region, scope.account)
}

/// The group a `logGroupName` or `logGroupIdentifier` (name or ARN) names.
pub fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String> {
    match (name, identifier) {
        (Some(_), Some(_)) => invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters."),
        (Some(n), None) => Ok(n),
        (None, Some(id)) => match id.strip_prefix("arn:") {
            Some(_) => Ok(id.split(":log-group:").nth(1).unwrap_or("").trim_end_matches(":*").to_string()),
            None => Ok(id),
        },
        (None, None) => invalid("Should provide either logGroupName or logGroupIdentifier."),
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return invalid("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50");
    }
    Ok(())
}

impl Logs {
    pub async fn create_log_group(&self, ctx: &RequestContext, input: CreateLogGroupRequest) -> Result<()> {
        check_group_name(&input.log_group_name)?;
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;
        let group = GroupRecord {
            name: input.log_group_name,
            created: self.clock.now().as_millis(),
            retention_days: None,
            kms_key_id: input.kms_key_id,
            class: Some(input.log_group_class.unwrap_or_else(|| "STANDARD".into())),
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            tags,
        };
        self.store.write(|tx| {
            let k = records::group_key(&ctx.scope, &group.name);
            if tx.get(GROUPS, &k)?.is_some() {
                return Err(LogsError::ResourceAlreadyExists("The specified log group already exists"));
            }
            Ok(nubo_store::put_json(tx, GROUPS, &k, &group)?)
        })
    }

    pub async fn delete_log_group(&self, ctx: &RequestContext, input: DeleteLogGroupRequest) -> Result<()> {
        self.store.write(|tx| {
            let group = records::group(tx, &ctx.scope, &input.log_group_name)?;
            if group.deletion_protection {
                return invalid("Log group deletion protection is enabled; disable it before deleting the log group.");
            }
            let k = records::group_key(&ctx.scope, &group.name);
            for table in [EVENTS, STREAMS, METRIC_FILTERS] {
                clear(tx, table, &k)?;
            }
            tx.delete(GROUPS, &k)?;
            Ok(())
        })
    }

    pub async fn describe_log_groups(&self, ctx: &RequestContext, input: DescribeLogGroupsRequest) -> Result<DescribeLogGroupsResponse> {
        if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
            return invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
        }
        let limit = page_limit(input.limit, 50)?;
        let scope = &ctx.scope;
        let prefix = nubo_store::key::key(&[&scope.account, &scope.region]);
        let (groups, sizes) = self.read(|tx| {
            let groups: Vec<GroupRecord> = nubo_store::scan_json(tx, GROUPS, &prefix, None, usize::MAX)?.into_iter().map(|(_, g)| g).collect();
            let mut sizes = Vec::with_capacity(groups.len());
            for g in &groups {
                let bytes: i64 = records::streams(tx, scope, &g.name)?.iter().map(|s| s.stored_bytes).sum();
                let filters = records::metric_filters(tx, scope, &g.name)?.len();
                sizes.push((bytes, filters as i32));
            }
            Ok((groups, sizes))
        })?;
        let pattern = input.log_group_name_pattern.map(|p| p.to_lowercase());
        let mut out: Vec<LogGroup> = groups
            .into_iter()
            .zip(sizes)
            .filter(|(g, _)| input.log_group_name_prefix.as_ref().is_none_or(|p| g.name.starts_with(p.as_str())))
            .filter(|(g, _)| pattern.as_ref().is_none_or(|p| g.name.to_lowercase().contains(p.as_str())))
            .filter(|(g, _)| input.log_group_class.as_ref().is_none_or(|c| g.class.as_ref() == Some(c)))
            .filter(|(g, _)| input.next_token.as_ref().is_none_or(|t| g.name > *t))
            .map(|(g, (bytes, filters))| LogGroup {
                arn: Some(format!("{}:*", group_arn(scope, &g.name))),
                log_group_arn: Some(group_arn(scope, &g.name)),
                log_group_name: Some(g.name),
                creation_time: Some(g.created),
                retention_in_days: g.retention_days,
                metric_filter_count: Some(filters),
                stored_bytes: Some(bytes),
                kms_key_id: g.kms_key_id,
                log_group_class: g.class,
                deletion_protection_enabled: Some(g.deletion_protection),
                ..Default::default()
            })
            .collect();
        let more = out.len() > limit;
        out.truncate(limit);
        Ok(DescribeLogGroupsResponse { next_token: more.then(|| out.last().and_then(|g| g.log_group_name.clone())).flatten(), log_groups: Some(out) })
    }

    pub async fn put_retention_policy(&self, ctx: &RequestContext, input: PutRetentionPolicyRequest) -> Result<()> {
        if !RETENTION_DAYS.contains(&input.retention_in_days) {
            return invalid(format!(
                "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                input.retention_in_days,
                RETENTION_DAYS.map(|d| d.to_string()).join(", ")
            ));
        }
        self.update_group(&ctx.scope, &input.log_group_name, |g| g.retention_days = Some(input.retention_in_days))?;
        self.retention_changed.notify_one();
        Ok(())
    }

    pub async fn delete_retention_policy(&self, ctx: &RequestContext, input: DeleteRetentionPolicyRequest) -> Result<()> {
        self.update_group(&ctx.scope, &input.log_group_name, |g| g.retention_days = None)
    }

    fn update_group(&self, scope: &Scope, name: &str, f: impl FnOnce(&mut GroupRecord)) -> Result<()> {
        self.store.write(|tx| {
            let mut g = records::group(tx, scope, name)?;
            f(&mut g);
            Ok(nubo_store::put_json(tx, GROUPS, &records::group_key(scope, name), &g)?)
        })
    }

    pub async fn tag_log_group(&self, ctx: &RequestContext, input: TagLogGroupRequest) -> Result<()> {
        self.tag(&ctx.scope, &input.log_group_name, input.tags)
    }

    pub async fn untag_log_group(&self, ctx: &RequestContext, input: UntagLogGroupRequest) -> Result<()> {
        self.update_group(&ctx.scope, &input.log_group_name, |g| g.tags.retain(|k, _| !input.tags.contains(k)))
    }

    pub async fn list_tags_log_group(&self, ctx: &RequestContext, input: ListTagsLogGroupRequest) -> Result<ListTagsLogGroupResponse> {
        let g = self.read(|tx| records::group(tx, &ctx.scope, &input.log_group_name))?;
        Ok(ListTagsLogGroupResponse { tags: Some(g.tags) })
    }

    fn tag(&self, scope: &Scope, group: &str, tags: BTreeMap<String, String>) -> Result<()> {
        let mut merged = self.read(|tx| records::group(tx, scope, group))?.tags;
        merged.extend(tags);
        check_tags(&merged)?;
        self.update_group(scope, group, |g| g.tags = merged)
    }

    /// The group a resource ARN names (`arn:aws:logs:region:account:log-group:name[:*]`).
    fn group_of_arn(&self, ctx: &RequestContext, arn: &str) -> Result<String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        match parts.as_slice() {
            ["arn", _, "logs", region, account, "log-group", name] if *region == ctx.scope.region && *account == ctx.scope.account => {
                Ok(name.trim_end_matches(":*").to_string())
            }
            ["arn", _, "logs", ..] => Err(NO_GROUP),
            _ => invalid(format!("Invalid ARN: {arn}")),
        }
    }

    pub async fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<()> {
        let group = self.group_of_arn(ctx, &input.resource_arn)?;
        self.tag(&ctx.scope, &group, input.tags)
    }

    pub async fn untag_resource(&self, ctx: &RequestContext, input: UntagResourceRequest) -> Result<()> {
        let group = self.group_of_arn(ctx, &input.resource_arn)?;
        self.update_group(&ctx.scope, &group, |g| g.tags.retain(|k, _| !input.tag_keys.contains(k)))
    }

    pub async fn list_tags_for_resource(&self, ctx: &RequestContext, input: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse> {
        let group = self.group_of_arn(ctx, &input.resource_arn)?;
        let g = self.read(|tx| records::group(tx, &ctx.scope, &group))?;
        Ok(ListTagsForResourceResponse { tags: Some(g.tags) })
    }
}

/// A page size within 1..=max, `max` when absent.
pub fn page_limit(limit: Option<i32>, max: i32) -> Result<usize> {
    match limit {
        None => Ok(max as usize),
        Some(l) if (1..=max).contains(&l) => Ok(l as usize),
        Some(l) => invalid(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value {}",
            if l < 1 { "greater than or equal to 1".to_string() } else { format!("less than or equal to {max}") }
        )),
    }
}

/// Deletes every key under a prefix.
pub fn clear(tx: &mut (impl WriteTxn + ?Sized), table: &str, prefix: &[u8]) -> Result<()> {
    loop {
        let page = tx.scan(table, prefix, None, 1000)?;
        if page.is_empty() {
            return Ok(());
        }
        for (k, _) in page {
            tx.delete(table, &k)?;
        }
    }
}
