//! Amazon SQS.
//!
//! Queues and messages live in the store (see [`records`]); every change is one
//! transaction, so an acknowledged send survives `kill -9` and a received message comes
//! back after its visibility timeout, across restarts too. All times are nubo's clock.
//! [`queues`] owns queue operations, [`messages`] message operations, [`attributes`] the
//! queue attribute rules, [`md5`] the digests clients verify, [`error`] SQS's codes.
//! Long polls wait on a per-queue notifier woken by sends, and on the clock.

mod attributes;
mod error;
mod md5;
mod messages;
mod queues;
mod permissions;
mod records;
mod redrive;

use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::sqs::{self, *};
use nubo_model::{Handler, ShapeError};
use nubo_store::Store;
use records::QueueId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Sqs {
    store: Store,
    clock: Clock,
    /// Wakes long polls of a queue when something they wait for may have happened.
    waiters: Arc<Mutex<HashMap<QueueId, Arc<Notify>>>>,
    /// What happened on each queue since CloudWatch last asked (see [`Sqs::depths`]).
    activity: Arc<Mutex<HashMap<QueueId, Activity>>>,
}

/// A queue's traffic over one metrics interval, as SQS reports it to CloudWatch.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    pub empty_receives: u64,
    pub deleted: u64,
}

impl Sqs {
    pub fn new(store: Store, clock: Clock) -> Sqs {
        Sqs { store, clock, waiters: Default::default(), activity: Default::default() }
    }

    fn waker(&self, q: &QueueId) -> Arc<Notify> {
        self.waiters.lock().unwrap().entry(q.clone()).or_default().clone()
    }

    /// Counts traffic on a queue for its CloudWatch metrics.
    fn note(&self, q: &QueueId, f: impl FnOnce(&mut Activity)) {
        f(self.activity.lock().unwrap().entry(q.clone()).or_default());
    }

    fn wake(&self, q: &QueueId) {
        if let Some(n) = self.waiters.lock().unwrap().get(q) {
            n.notify_waiters();
        }
    }
}

pub fn service(sqs: Sqs) -> Box<dyn Handler> {
    Box::new(sqs::Service(sqs))
}

/// Every operation delegates to its module; this block is the whole API surface.
impl sqs::Sqs for Sqs {
    async fn add_permission(&self, ctx: &RequestContext, input: AddPermissionRequest) -> Result<(), AwsError> {
        Ok(Sqs::add_permission(self, ctx, &input.queue_url, &input.label, &input.aws_account_ids, &input.actions).await?)
    }
    async fn remove_permission(&self, ctx: &RequestContext, input: RemovePermissionRequest) -> Result<(), AwsError> {
        Ok(Sqs::remove_permission(self, ctx, &input.queue_url, &input.label).await?)
    }
    /// A queue's `Policy` attribute is its resource policy.
    fn resource_policy(&self, _: &RequestContext, arn: &str) -> Option<String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, _, region, account, name] = parts.as_slice() else { return None };
        let id = records::QueueId { account: account.to_string(), region: region.to_string(), name: name.to_string() };
        self.queue(&id).ok()?.attributes.get("Policy").filter(|p| !p.is_empty()).cloned()
    }
    /// SQS names a missing member `MissingParameter`, for JSON and query clients alike.
    fn invalid_input(&self, e: ShapeError) -> AwsError {
        match e {
            ShapeError::MissingRequired { member } => error::SqsError::MissingParameter(member).into(),
            other => nubo_model::handler::validation_error(other),
        }
    }
    async fn start_message_move_task(&self, _: &RequestContext, input: StartMessageMoveTaskRequest) -> std::result::Result<StartMessageMoveTaskResult, AwsError> {
        Sqs::start_message_move_task(self, input).await.map_err(Into::into)
    }
    async fn list_message_move_tasks(&self, _: &RequestContext, input: ListMessageMoveTasksRequest) -> std::result::Result<ListMessageMoveTasksResult, AwsError> {
        Sqs::list_message_move_tasks(self, input).await.map_err(Into::into)
    }
    async fn cancel_message_move_task(&self, _: &RequestContext, input: CancelMessageMoveTaskRequest) -> std::result::Result<CancelMessageMoveTaskResult, AwsError> {
        Sqs::cancel_message_move_task(self, input).await.map_err(Into::into)
    }
    async fn create_queue(&self, ctx: &RequestContext, input: CreateQueueRequest) -> std::result::Result<CreateQueueResult, AwsError> {
        Sqs::create_queue(self, ctx, input).await.map_err(Into::into)
    }
    async fn get_queue_url(&self, ctx: &RequestContext, input: GetQueueUrlRequest) -> std::result::Result<GetQueueUrlResult, AwsError> {
        Sqs::get_queue_url(self, ctx, input).await.map_err(Into::into)
    }
    async fn list_queues(&self, ctx: &RequestContext, input: ListQueuesRequest) -> std::result::Result<ListQueuesResult, AwsError> {
        Sqs::list_queues(self, ctx, input).await.map_err(Into::into)
    }
    async fn delete_queue(&self, ctx: &RequestContext, input: DeleteQueueRequest) -> std::result::Result<(), AwsError> {
        Sqs::delete_queue(self, ctx, input).await.map_err(Into::into)
    }
    async fn purge_queue(&self, ctx: &RequestContext, input: PurgeQueueRequest) -> std::result::Result<(), AwsError> {
        Sqs::purge_queue(self, ctx, input).await.map_err(Into::into)
    }
    async fn get_queue_attributes(&self, ctx: &RequestContext, input: GetQueueAttributesRequest) -> std::result::Result<GetQueueAttributesResult, AwsError> {
        Sqs::get_queue_attributes(self, ctx, input).await.map_err(Into::into)
    }
    async fn set_queue_attributes(&self, ctx: &RequestContext, input: SetQueueAttributesRequest) -> std::result::Result<(), AwsError> {
        Sqs::set_queue_attributes(self, ctx, input).await.map_err(Into::into)
    }
    async fn tag_queue(&self, ctx: &RequestContext, input: TagQueueRequest) -> std::result::Result<(), AwsError> {
        Sqs::tag_queue(self, ctx, input).await.map_err(Into::into)
    }
    async fn untag_queue(&self, ctx: &RequestContext, input: UntagQueueRequest) -> std::result::Result<(), AwsError> {
        Sqs::untag_queue(self, ctx, input).await.map_err(Into::into)
    }
    async fn list_queue_tags(&self, ctx: &RequestContext, input: ListQueueTagsRequest) -> std::result::Result<ListQueueTagsResult, AwsError> {
        Sqs::list_queue_tags(self, ctx, input).await.map_err(Into::into)
    }
    async fn send_message(&self, ctx: &RequestContext, input: SendMessageRequest) -> std::result::Result<SendMessageResult, AwsError> {
        Sqs::send_message(self, ctx, input).await.map_err(Into::into)
    }
    async fn send_message_batch(&self, ctx: &RequestContext, input: SendMessageBatchRequest) -> std::result::Result<SendMessageBatchResult, AwsError> {
        Sqs::send_message_batch(self, ctx, input).await.map_err(Into::into)
    }
    async fn receive_message(&self, ctx: &RequestContext, input: ReceiveMessageRequest) -> std::result::Result<ReceiveMessageResult, AwsError> {
        Sqs::receive_message(self, ctx, input).await.map_err(Into::into)
    }
    async fn delete_message(&self, ctx: &RequestContext, input: DeleteMessageRequest) -> std::result::Result<(), AwsError> {
        Sqs::delete_message(self, ctx, input).await.map_err(Into::into)
    }
    async fn delete_message_batch(&self, ctx: &RequestContext, input: DeleteMessageBatchRequest) -> std::result::Result<DeleteMessageBatchResult, AwsError> {
        Sqs::delete_message_batch(self, ctx, input).await.map_err(Into::into)
    }
    async fn change_message_visibility(&self, ctx: &RequestContext, input: ChangeMessageVisibilityRequest) -> std::result::Result<(), AwsError> {
        Sqs::change_message_visibility(self, ctx, input).await.map_err(Into::into)
    }
    async fn change_message_visibility_batch(&self, ctx: &RequestContext, input: ChangeMessageVisibilityBatchRequest) -> std::result::Result<ChangeMessageVisibilityBatchResult, AwsError> {
        Sqs::change_message_visibility_batch(self, ctx, input).await.map_err(Into::into)
    }
    async fn list_dead_letter_source_queues(&self, ctx: &RequestContext, input: ListDeadLetterSourceQueuesRequest) -> std::result::Result<ListDeadLetterSourceQueuesResult, AwsError> {
        Sqs::list_dead_letter_source_queues(self, ctx, input).await.map_err(Into::into)
    }
}

/// A queue's message counts, as SQS reports them to CloudWatch.
#[derive(Debug, Clone)]
pub struct QueueDepth {
    pub account: String,
    pub region: String,
    pub name: String,
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
    /// Traffic since the previous call.
    pub activity: Activity,
}

impl Sqs {
    /// The message counts of every queue and its traffic since the last call (for the
    /// `AWS/SQS` metrics nubo publishes each minute).
    pub fn depths(&self) -> Vec<QueueDepth> {
        let queues = self.store.read(|tx| nubo_store::scan_json::<records::QueueRecord>(tx, records::QUEUES, b"", None, usize::MAX)).unwrap_or_default();
        queues
            .into_iter()
            .filter_map(|(key, q)| {
                let parts: Vec<&str> = key.split(|b| *b == 0).filter(|p| !p.is_empty()).filter_map(|p| std::str::from_utf8(p).ok()).collect();
                let [account, region, _] = parts.as_slice() else { return None };
                let id = QueueId { account: account.to_string(), region: region.to_string(), name: q.name.clone() };
                let (visible, in_flight, delayed) = self.counts(&id).ok()?;
                let activity = self.activity.lock().unwrap().remove(&id).unwrap_or_default();
                Some(QueueDepth { account: id.account, region: id.region, name: id.name, visible, in_flight, delayed, activity })
            })
            .collect()
    }

    /// Receives messages on behalf of another service (Lambda's event source mappings):
    /// the queue is named by its ARN; a long poll waits up to `wait_secs`.
    pub async fn poll(&self, queue_arn: &str, max: i32, wait_secs: i32) -> Result<Vec<Message>, AwsError> {
        let q = self.queue_by_arn(queue_arn).ok_or_else(|| AwsError::from(error::SqsError::QueueDoesNotExist))?;
        let mut ctx = RequestContext::for_tests("sqs", "ReceiveMessage");
        ctx.scope = nubo_core::Scope::new(q.account.clone(), q.region.clone());
        let input = ReceiveMessageRequest {
            queue_url: format!("http://localhost/{}/{}", q.account, q.name),
            max_number_of_messages: Some(max.clamp(1, 10)),
            wait_time_seconds: Some(wait_secs.clamp(0, 20)),
            message_system_attribute_names: Some(vec!["All".into()]),
            message_attribute_names: Some(vec!["All".into()]),
            ..Default::default()
        };
        Ok(Sqs::receive_message(self, &ctx, input).await?.messages.unwrap_or_default())
    }

    /// Deletes a message received through [`Sqs::poll`].
    pub fn delete_polled(&self, queue_arn: &str, receipt_handle: &str) -> Result<(), AwsError> {
        let q = self.queue_by_arn(queue_arn).ok_or_else(|| AwsError::from(error::SqsError::QueueDoesNotExist))?;
        self.delete_by_handle(&q, receipt_handle)?;
        self.note(&q, |a| a.deleted += 1);
        self.wake(&q);
        Ok(())
    }

    /// Sends a message on behalf of another service (S3 event notifications, SNS
    /// subscriptions): the queue is named by its ARN, the sender is the service.
    pub fn deliver(&self, queue_arn: &str, message: Delivered, sender: &str) -> Result<String, AwsError> {
        let q = self.queue_by_arn(queue_arn).ok_or_else(|| AwsError::from(error::SqsError::QueueDoesNotExist))?;
        let now = self.clock.now().as_millis();
        let attributes = (!message.attributes.is_empty()).then(|| {
            message
                .attributes
                .into_iter()
                .map(|(name, data_type, value)| {
                    let v = MessageAttributeValue { string_value: Some(value), data_type, ..Default::default() };
                    (name, v)
                })
                .collect()
        });
        let m = messages::Outgoing {
            body: message.body,
            delay: None,
            attributes,
            system_attributes: None,
            dedup_id: message.deduplication_id,
            group_id: message.group_id,
        };
        let size = m.body.len() as u64;
        let rec = self.store.write(|tx| self.enqueue(tx, &q, m, sender, now)).map_err(AwsError::from)?;
        self.note(&q, |a| {
            a.sent += 1;
            a.sent_bytes += size;
        });
        self.wake(&q);
        Ok(rec.id)
    }
}

/// A message another service delivers into a queue.
#[derive(Debug, Default)]
pub struct Delivered {
    pub body: String,
    /// (name, data type, string value).
    pub attributes: Vec<(String, String, String)>,
    /// For FIFO queues.
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}
