//! Queues: create (idempotent on equal attributes), URLs, listing, attributes, tags,
//! purge, delete, and the dead-letter sources of a queue.

use crate::attributes::{self, COMPUTED};
use crate::error::{Result, SqsError};
use crate::records::{QueueId, QueueRecord, MESSAGES, QUEUES, VISIBLE};
use crate::Sqs;
use nubo_core::RequestContext;
use nubo_model::generated::sqs::*;
use nubo_store::{get_json, put_json, scan_json, WriteTxn};
use std::collections::BTreeMap;

impl Sqs {
    /// The queue a URL names: `…/<account>/<name>` (any host), or a bare name.
    pub(crate) fn queue_id(&self, ctx: &RequestContext, url: &str) -> Result<QueueId> {
        let path = url.split_once("://").map(|(_, rest)| rest.split_once('/').map(|(_, p)| p).unwrap_or("")).unwrap_or(url);
        let mut parts = path.trim_matches('/').rsplit('/');
        let name = parts.next().filter(|n| !n.is_empty()).ok_or(SqsError::QueueDoesNotExist)?;
        let account = parts.next().filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).unwrap_or(&ctx.scope.account);
        Ok(QueueId { account: account.to_string(), region: ctx.scope.region.clone(), name: name.to_string() })
    }

    pub(crate) fn url(&self, ctx: &RequestContext, q: &QueueId) -> String {
        format!("http://{}/{}/{}", ctx.host, q.account, q.name)
    }

    pub(crate) fn queue(&self, q: &QueueId) -> Result<QueueRecord> {
        self.store.read(|tx| get_json::<QueueRecord>(tx, QUEUES, &q.key()))?.ok_or(SqsError::QueueDoesNotExist)
    }

    /// The queue an ARN names, if it exists (dead-letter targets).
    pub(crate) fn queue_by_arn(&self, arn: &str) -> Option<QueueId> {
        let a = nubo_core::arn::Arn::parse(arn)?;
        (a.service == "sqs").then(|| QueueId { account: a.account, region: a.region, name: a.resource })
    }

    pub(crate) async fn create_queue(&self, ctx: &RequestContext, input: CreateQueueRequest) -> Result<CreateQueueResult> {
        let q = QueueId { account: ctx.scope.account.clone(), region: ctx.scope.region.clone(), name: input.queue_name.clone() };
        if !attributes::valid_name(&q.name) {
            return Err(SqsError::InvalidParameterValue(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length".into(),
            ));
        }
        let given = input.attributes.unwrap_or_default();
        let fifo = q.is_fifo();
        if fifo && given.get("FifoQueue").map(String::as_str) != Some("true") {
            return Err(SqsError::InvalidParameterValue("The FifoQueue attribute must be true for a queue named with .fifo.".into()));
        }
        attributes::validate(&given, fifo, true)?;
        self.check_redrive(&q, &given)?;
        let now = self.clock.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            if let Some(existing) = get_json::<QueueRecord>(tx, QUEUES, &q.key())? {
                let differs: Vec<&str> = given.iter().filter(|(k, v)| existing.attributes.get(*k) != Some(*v)).map(|(k, _)| k.as_str()).collect();
                return if differs.is_empty() { Ok(()) } else { Err(SqsError::QueueNameExists(differs.join(", "))) };
            }
            let mut attributes = attributes::defaults(fifo);
            attributes.extend(given.clone());
            let record = QueueRecord {
                name: q.name.clone(),
                attributes,
                tags: input.tags.clone().unwrap_or_default(),
                created_ms: now,
                modified_ms: now,
                next_seq: 1,
                last_purge_ms: None,
                dedup: BTreeMap::new(),
            };
            put_json(tx, QUEUES, &q.key(), &record)?;
            Ok(())
        })?;
        Ok(CreateQueueResult { queue_url: Some(self.url(ctx, &q)) })
    }

    pub(crate) async fn get_queue_url(&self, ctx: &RequestContext, input: GetQueueUrlRequest) -> Result<GetQueueUrlResult> {
        let account = input.queue_owner_aws_account_id.unwrap_or_else(|| ctx.scope.account.clone());
        let q = QueueId { account, region: ctx.scope.region.clone(), name: input.queue_name };
        self.queue(&q)?;
        Ok(GetQueueUrlResult { queue_url: Some(self.url(ctx, &q)) })
    }

    pub(crate) async fn list_queues(&self, ctx: &RequestContext, input: ListQueuesRequest) -> Result<ListQueuesResult> {
        let prefix = QueueId { account: ctx.scope.account.clone(), region: ctx.scope.region.clone(), name: String::new() }.key();
        let scan_prefix = [&prefix[..prefix.len() - 1], input.queue_name_prefix.as_deref().unwrap_or("").as_bytes()].concat();
        let max = input.max_results.map(|m| m.clamp(1, 1000) as usize);
        let after = input.next_token.as_deref().map(|t| [&prefix[..prefix.len() - 1], t.as_bytes(), &[0u8]].concat());
        let limit = max.map_or(1000, |m| m + 1);
        let found = self.store.read(|tx| scan_json::<QueueRecord>(tx, QUEUES, &scan_prefix, after.as_deref(), limit))?;
        let mut names: Vec<String> = found.into_iter().map(|(_, r)| r.name).collect();
        let next_token = match max {
            Some(m) if names.len() > m => {
                names.truncate(m);
                names.last().cloned()
            }
            _ => None,
        };
        let urls = names
            .into_iter()
            .map(|name| self.url(ctx, &QueueId { account: ctx.scope.account.clone(), region: ctx.scope.region.clone(), name }))
            .collect::<Vec<_>>();
        Ok(ListQueuesResult { queue_urls: (!urls.is_empty()).then_some(urls), next_token })
    }

    fn delete_messages(tx: &mut dyn WriteTxn, q: &QueueId) -> Result<()> {
        let prefix = q.key();
        for table in [MESSAGES, VISIBLE] {
            loop {
                let batch = tx.scan(table, &prefix, None, 1000)?;
                if batch.is_empty() {
                    break;
                }
                for (k, _) in batch {
                    tx.delete(table, &k)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn delete_queue(&self, ctx: &RequestContext, input: DeleteQueueRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.store.write(|tx| -> Result<()> {
            if !tx.delete(QUEUES, &q.key())? {
                return Err(SqsError::QueueDoesNotExist);
            }
            Self::delete_messages(tx, &q)
        })?;
        self.wake(&q);
        Ok(())
    }

    pub(crate) async fn purge_queue(&self, ctx: &RequestContext, input: PurgeQueueRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        let now = self.clock.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            let mut rec = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            if rec.last_purge_ms.is_some_and(|t| now - t < 60_000) {
                return Err(SqsError::PurgeQueueInProgress(q.arn()));
            }
            rec.last_purge_ms = Some(now);
            put_json(tx, QUEUES, &q.key(), &rec)?;
            Self::delete_messages(tx, &q)
        })
    }

    pub(crate) async fn get_queue_attributes(&self, ctx: &RequestContext, input: GetQueueAttributesRequest) -> Result<GetQueueAttributesResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        let rec = self.queue(&q)?;
        let names = input.attribute_names.unwrap_or_default();
        let all = names.iter().any(|n| n == "All");
        let wants = |n: &str| all || names.iter().any(|x| x == n);
        if let Some(n) = names.iter().find(|n| *n != "All" && !attributes::is_known(n)) {
            return Err(SqsError::InvalidAttributeName(format!("Unknown Attribute {n}.")));
        }
        let mut out: BTreeMap<String, String> = rec.attributes.iter().filter(|(k, _)| wants(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if COMPUTED.iter().any(|c| wants(c)) {
            let (visible, in_flight, delayed) = self.counts(&q)?;
            let computed = [
                ("QueueArn", q.arn()),
                ("ApproximateNumberOfMessages", visible.to_string()),
                ("ApproximateNumberOfMessagesNotVisible", in_flight.to_string()),
                ("ApproximateNumberOfMessagesDelayed", delayed.to_string()),
                ("CreatedTimestamp", (rec.created_ms / 1000).to_string()),
                ("LastModifiedTimestamp", (rec.modified_ms / 1000).to_string()),
            ];
            for (k, v) in computed {
                if wants(k) {
                    out.insert(k.into(), v);
                }
            }
        }
        Ok(GetQueueAttributesResult { attributes: (!out.is_empty()).then_some(out) })
    }

    pub(crate) async fn set_queue_attributes(&self, ctx: &RequestContext, input: SetQueueAttributesRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        attributes::validate(&input.attributes, q.is_fifo(), false)?;
        self.check_redrive(&q, &input.attributes)?;
        let now = self.clock.now().as_millis();
        self.store.write(|tx| -> Result<()> {
            let mut rec = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            for (k, v) in &input.attributes {
                if v.is_empty() && (k == "RedrivePolicy" || k == "Policy" || k == "RedriveAllowPolicy") {
                    rec.attributes.remove(k);
                } else {
                    rec.attributes.insert(k.clone(), v.clone());
                }
            }
            rec.modified_ms = now;
            put_json(tx, QUEUES, &q.key(), &rec)?;
            Ok(())
        })?;
        self.wake(&q);
        Ok(())
    }

    fn update_tags(&self, q: &QueueId, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<()> {
        self.store.write(|tx| -> Result<()> {
            let mut rec = get_json::<QueueRecord>(tx, QUEUES, &q.key())?.ok_or(SqsError::QueueDoesNotExist)?;
            f(&mut rec.tags);
            put_json(tx, QUEUES, &q.key(), &rec)?;
            Ok(())
        })
    }

    pub(crate) async fn tag_queue(&self, ctx: &RequestContext, input: TagQueueRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.update_tags(&q, |t| t.extend(input.tags))
    }

    pub(crate) async fn untag_queue(&self, ctx: &RequestContext, input: UntagQueueRequest) -> Result<()> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.update_tags(&q, |t| t.retain(|k, _| !input.tag_keys.contains(k)))
    }

    pub(crate) async fn list_queue_tags(&self, ctx: &RequestContext, input: ListQueueTagsRequest) -> Result<ListQueueTagsResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        let rec = self.queue(&q)?;
        Ok(ListQueueTagsResult { tags: (!rec.tags.is_empty()).then_some(rec.tags) })
    }

    pub(crate) async fn list_dead_letter_source_queues(&self, ctx: &RequestContext, input: ListDeadLetterSourceQueuesRequest) -> Result<ListDeadLetterSourceQueuesResult> {
        let q = self.queue_id(ctx, &input.queue_url)?;
        self.queue(&q)?;
        let arn = q.arn();
        let prefix = QueueId { account: q.account.clone(), region: q.region.clone(), name: String::new() }.key();
        let all = self.store.read(|tx| scan_json::<QueueRecord>(tx, QUEUES, &prefix[..prefix.len() - 1], None, usize::MAX))?;
        let urls = all
            .into_iter()
            .filter(|(_, r)| attributes::redrive(&r.attributes).is_some_and(|(target, _)| target == arn))
            .map(|(_, r)| self.url(ctx, &QueueId { account: q.account.clone(), region: q.region.clone(), name: r.name }))
            .collect();
        Ok(ListDeadLetterSourceQueuesResult { queue_urls: urls, next_token: None })
    }
}
