//! Amazon SNS.
//!
//! Topics and subscriptions live in the store ([`records`]); [`topics`] owns their
//! operations, [`publish`] fan-out, [`filter`] subscription filter policies. Deliveries to
//! other services go through the [`Delivery`] seam the composition root wires (SQS now).
//! Email and SMS deliveries, and confirmation requests, are kept in an outbox readable at
//! `GET /_nubo/sns/outbox` (`DELETE` empties it).

mod error;
mod filter;
mod http;
mod publish;
mod records;
mod signing;
mod topics;

use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::sns::{self, *};
use nubo_model::handler::{HttpFuture, HttpRequest, HttpResponse};
use nubo_model::{ByteStream, Handler};
use nubo_store::{scan_json, Store};
use std::sync::Arc;

/// A message for a queue subscription.
pub struct QueueMessage {
    pub body: String,
    /// (name, data type, value), passed on with raw delivery.
    pub attributes: Vec<(String, String, String)>,
    /// FIFO topics pass their group and deduplication ids on to FIFO queues.
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

/// How SNS reaches the services its subscriptions point at.
pub trait Delivery: Send + Sync + 'static {
    fn to_queue(&self, queue_arn: &str, message: QueueMessage) -> Result<(), String>;

    /// Invokes a Lambda function asynchronously with the SNS event (`Records[].Sns`): wired
    /// when Lambda exists.
    fn to_function(&self, function_arn: &str, event: String) -> Result<(), String> {
        let _ = event;
        Err(format!("no function service wired to invoke {function_arn}"))
    }
}

struct Undelivered;

impl Delivery for Undelivered {
    fn to_queue(&self, queue_arn: &str, _: QueueMessage) -> Result<(), String> {
        Err(format!("no queue service wired to deliver to {queue_arn}"))
    }
}

#[derive(Clone)]
pub struct Sns {
    store: Store,
    clock: Clock,
    delivery: Arc<dyn Delivery>,
    http: http::Client,
    /// Made on first use: generating the RSA key takes a moment.
    signer: Arc<tokio::sync::OnceCell<Option<Arc<signing::Signer>>>>,
}

impl Sns {
    pub fn new(store: Store, clock: Clock) -> Sns {
        Sns { store, clock, delivery: Arc::new(Undelivered), http: http::client(), signer: Default::default() }
    }

    /// The key that signs messages (`None` if it could not be made: messages go unsigned).
    pub(crate) async fn signer(&self) -> Option<Arc<signing::Signer>> {
        self.signer
            .get_or_init(|| async {
                let (store, now) = (self.store.clone(), self.clock.now());
                match tokio::task::spawn_blocking(move || signing::Signer::load_or_create(&store, now)).await {
                    Ok(Ok(s)) => Some(Arc::new(s)),
                    Ok(Err(e)) => {
                        tracing::warn!("SNS signing key unavailable: {e}");
                        None
                    }
                    Err(e) => {
                        tracing::warn!("SNS signing key unavailable: {e}");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    pub fn with_delivery(mut self, delivery: Arc<dyn Delivery>) -> Sns {
        self.delivery = delivery;
        self
    }

    fn outbox(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let json = |status: u16, v: serde_json::Value| HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: ByteStream::from_bytes(bytes::Bytes::from(v.to_string())),
        };
        match req.method {
            "GET" => match self.store.read(|tx| scan_json::<records::OutboxEntry>(tx, records::OUTBOX, b"", None, usize::MAX)) {
                Ok(entries) => json(200, serde_json::json!({"messages": entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>()})),
                Err(e) => json(500, serde_json::json!({"error": e.to_string()})),
            },
            "DELETE" => {
                let cleared = self.store.write(|tx| -> Result<(), nubo_store::StoreError> {
                    for (k, _) in tx.scan(records::OUTBOX, b"", None, usize::MAX)? {
                        tx.delete(records::OUTBOX, &k)?;
                    }
                    Ok(())
                });
                match cleared {
                    Ok(()) => json(200, serde_json::json!({"cleared": true})),
                    Err(e) => json(500, serde_json::json!({"error": e.to_string()})),
                }
            }
            _ => json(405, serde_json::json!({"error": "GET or DELETE"})),
        }
    }
}

pub fn service(sns: Sns) -> Box<dyn Handler> {
    Box::new(sns::Service(sns))
}

/// Every operation delegates to its module; this block is the whole API surface.
impl sns::Sns for Sns {
    /// A topic's `Policy` attribute is its resource policy.
    fn resource_policy(&self, _: &RequestContext, arn: &str) -> Option<String> {
        self.topic(arn).ok()?.1.attributes.get("Policy").cloned()
    }
    fn http<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<HttpFuture<'a>> {
        match req.path {
            "/_nubo/sns/outbox" => Some(Box::pin(async move { self.outbox(req) })),
            // The certificate of the key that signs messages (`SigningCertURL`).
            "/_nubo/sns/SimpleNotificationService.pem" => Some(Box::pin(async move {
                let pem = self.signer().await.map(|s| s.certificate().to_string()).unwrap_or_default();
                HttpResponse {
                    status: if pem.is_empty() { 503 } else { 200 },
                    headers: vec![("Content-Type".into(), "application/x-pem-file".into())],
                    body: ByteStream::from_bytes(bytes::Bytes::from(pem)),
                }
            })),
            _ => None,
        }
    }
    async fn create_topic(&self, ctx: &RequestContext, input: CreateTopicInput) -> std::result::Result<CreateTopicResponse, AwsError> {
        Sns::create_topic(self, ctx, input).await.map_err(Into::into)
    }
    async fn delete_topic(&self, _: &RequestContext, input: DeleteTopicInput) -> std::result::Result<(), AwsError> {
        Sns::delete_topic(self, input).await.map_err(Into::into)
    }
    async fn list_topics(&self, ctx: &RequestContext, input: ListTopicsInput) -> std::result::Result<ListTopicsResponse, AwsError> {
        Sns::list_topics(self, ctx, input).await.map_err(Into::into)
    }
    async fn get_topic_attributes(&self, _: &RequestContext, input: GetTopicAttributesInput) -> std::result::Result<GetTopicAttributesResponse, AwsError> {
        Sns::get_topic_attributes(self, input).await.map_err(Into::into)
    }
    async fn set_topic_attributes(&self, _: &RequestContext, input: SetTopicAttributesInput) -> std::result::Result<(), AwsError> {
        Sns::set_topic_attributes(self, input).await.map_err(Into::into)
    }
    async fn subscribe(&self, ctx: &RequestContext, input: SubscribeInput) -> std::result::Result<SubscribeResponse, AwsError> {
        Sns::subscribe(self, ctx, input).await.map_err(Into::into)
    }
    async fn unsubscribe(&self, _: &RequestContext, input: UnsubscribeInput) -> std::result::Result<(), AwsError> {
        Sns::unsubscribe(self, input).await.map_err(Into::into)
    }
    async fn confirm_subscription(&self, _: &RequestContext, input: ConfirmSubscriptionInput) -> std::result::Result<ConfirmSubscriptionResponse, AwsError> {
        Sns::confirm_subscription(self, input).await.map_err(Into::into)
    }
    async fn list_subscriptions(&self, ctx: &RequestContext, input: ListSubscriptionsInput) -> std::result::Result<ListSubscriptionsResponse, AwsError> {
        Sns::list_subscriptions(self, ctx, input).await.map_err(Into::into)
    }
    async fn list_subscriptions_by_topic(&self, _: &RequestContext, input: ListSubscriptionsByTopicInput) -> std::result::Result<ListSubscriptionsByTopicResponse, AwsError> {
        Sns::list_subscriptions_by_topic(self, input).await.map_err(Into::into)
    }
    async fn get_subscription_attributes(&self, _: &RequestContext, input: GetSubscriptionAttributesInput) -> std::result::Result<GetSubscriptionAttributesResponse, AwsError> {
        Sns::get_subscription_attributes(self, input).await.map_err(Into::into)
    }
    async fn set_subscription_attributes(&self, _: &RequestContext, input: SetSubscriptionAttributesInput) -> std::result::Result<(), AwsError> {
        Sns::set_subscription_attributes(self, input).await.map_err(Into::into)
    }
    async fn publish(&self, ctx: &RequestContext, input: PublishInput) -> std::result::Result<PublishResponse, AwsError> {
        Sns::publish(self, ctx, input).await.map_err(Into::into)
    }
    async fn publish_batch(&self, ctx: &RequestContext, input: PublishBatchInput) -> std::result::Result<PublishBatchResponse, AwsError> {
        Sns::publish_batch(self, ctx, input).await.map_err(Into::into)
    }
    async fn tag_resource(&self, _: &RequestContext, input: TagResourceRequest) -> std::result::Result<TagResourceResponse, AwsError> {
        Sns::tag_resource(self, input).await.map(|()| TagResourceResponse::default()).map_err(Into::into)
    }
    async fn untag_resource(&self, _: &RequestContext, input: UntagResourceRequest) -> std::result::Result<UntagResourceResponse, AwsError> {
        Sns::untag_resource(self, input).await.map(|()| UntagResourceResponse::default()).map_err(Into::into)
    }
    async fn list_tags_for_resource(&self, _: &RequestContext, input: ListTagsForResourceRequest) -> std::result::Result<ListTagsForResourceResponse, AwsError> {
        Sns::list_tags_for_resource(self, input).await.map_err(Into::into)
    }
}
