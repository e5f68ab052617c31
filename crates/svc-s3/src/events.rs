//! S3 event notifications: which configured destinations an object event goes to, and the
//! event record AWS sends them (`Records[].eventName = "ObjectCreated:Put"`, ...).
//!
//! Delivery is not S3's business: an [`EventSink`] given by the composition root carries
//! each message to its queue, topic or function (wired as SQS, SNS and Lambda land; until
//! then the sink logs). S3 only decides what to send where.

use crate::records::{BucketRecord, ObjectRecord};
use crate::S3;
use nubo_model::generated::s3::{FilterRule, NotificationConfiguration, NotificationConfigurationFilter};
use serde_json::json;
use std::sync::Arc;

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Queue(String),
    Topic(String),
    Function(String),
}

/// Carries S3's notification messages to their destinations.
pub trait EventSink: Send + Sync + 'static {
    fn deliver(&self, destination: Destination, message: String);
}

/// The sink until the destination services exist: says what would have been sent.
pub struct LogSink;

impl EventSink for LogSink {
    fn deliver(&self, destination: Destination, message: String) {
        tracing::debug!(?destination, "s3 event notification (no delivery yet): {message}");
    }
}

pub(crate) fn default_sink() -> Arc<dyn EventSink> {
    Arc::new(LogSink)
}

/// `s3:ObjectCreated:*` matches `ObjectCreated:Put`.
fn event_matches(patterns: &[String], event: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.strip_prefix("s3:").unwrap_or(p);
        match p.strip_suffix('*') {
            Some(prefix) => event.starts_with(prefix),
            None => p == event,
        }
    })
}

fn filter_matches(filter: &Option<NotificationConfigurationFilter>, key: &str) -> bool {
    let rules: &[FilterRule] = filter.as_ref().and_then(|f| f.key.as_ref()).and_then(|k| k.filter_rules.as_deref()).unwrap_or(&[]);
    rules.iter().all(|r| match (r.name.as_deref().map(str::to_ascii_lowercase).as_deref(), r.value.as_deref()) {
        (Some("prefix"), Some(v)) => key.starts_with(v),
        (Some("suffix"), Some(v)) => key.ends_with(v),
        _ => true,
    })
}

/// The destinations (with their configuration ids) an event on `key` goes to.
pub(crate) fn targets(config: &NotificationConfiguration, event: &str, key: &str) -> Vec<(Destination, String)> {
    let mut out = Vec::new();
    for q in config.queue_configurations.iter().flatten() {
        if event_matches(&q.events, event) && filter_matches(&q.filter, key) {
            out.push((Destination::Queue(q.queue_arn.clone()), q.id.clone().unwrap_or_default()));
        }
    }
    for t in config.topic_configurations.iter().flatten() {
        if event_matches(&t.events, event) && filter_matches(&t.filter, key) {
            out.push((Destination::Topic(t.topic_arn.clone()), t.id.clone().unwrap_or_default()));
        }
    }
    for l in config.lambda_function_configurations.iter().flatten() {
        if event_matches(&l.events, event) && filter_matches(&l.filter, key) {
            out.push((Destination::Function(l.lambda_function_arn.clone()), l.id.clone().unwrap_or_default()));
        }
    }
    out
}

impl S3 {
    /// Sends the notifications an event on an object calls for (`event` without `s3:`).
    pub(crate) fn notify(&self, bucket: &BucketRecord, event: &str, key: &str, object: Option<&ObjectRecord>) {
        let Ok(Some(config)) = self.config::<NotificationConfiguration>(bucket, crate::config::NOTIFICATION) else { return };
        let now = self.clock.now();
        for (destination, configuration_id) in targets(&config, event, key) {
            let mut obj = json!({
                "key": crate::listing::encode(key.to_string(), true),
                "sequencer": format!("{:016X}", now.as_millis()),
            });
            if let Some(o) = object {
                obj["size"] = json!(o.size);
                obj["eTag"] = json!(o.etag.trim_matches('"'));
                if let Some(v) = &o.version_id {
                    obj["versionId"] = json!(v);
                }
            }
            let record = json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": bucket.region,
                "eventTime": now.to_iso8601(),
                "eventName": event,
                "userIdentity": {"principalId": format!("AWS:{}", bucket.account)},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": nubo_core::ids::uuid(), "x-amz-id-2": nubo_core::ids::uuid()},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket.name,
                        "ownerIdentity": {"principalId": bucket.account},
                        "arn": format!("arn:aws:s3:::{}", bucket.name),
                    },
                    "object": obj,
                },
            });
            self.events.deliver(destination, json!({"Records": [record]}).to_string());
        }
    }

    /// What S3 sends each destination when a notification configuration is set.
    pub(crate) fn notify_test_event(&self, bucket: &BucketRecord, config: &NotificationConfiguration) {
        let message = json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": self.clock.now().to_iso8601(),
            "Bucket": bucket.name,
            "RequestId": nubo_core::ids::uuid(),
            "HostId": nubo_core::ids::uuid(),
        })
        .to_string();
        let all = targets(config, "TestEvent", "").into_iter().map(|(d, _)| d);
        let mut seen = Vec::new();
        for d in config
            .queue_configurations
            .iter()
            .flatten()
            .map(|q| Destination::Queue(q.queue_arn.clone()))
            .chain(config.topic_configurations.iter().flatten().map(|t| Destination::Topic(t.topic_arn.clone())))
            .chain(config.lambda_function_configurations.iter().flatten().map(|l| Destination::Function(l.lambda_function_arn.clone())))
            .chain(all)
        {
            if !seen.contains(&d) {
                seen.push(d.clone());
                self.events.deliver(d, message.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{Clock, RequestContext, Timestamp};
    use nubo_model::generated::s3::*;
    use super::Destination;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Destination, serde_json::Value)>>);

    impl EventSink for Recorder {
        fn deliver(&self, destination: Destination, message: String) {
            self.0.lock().unwrap().push((destination, serde_json::from_str(&message).unwrap()));
        }
    }

    #[test]
    fn patterns_and_filters_select_destinations() {
        assert!(event_matches(&["s3:ObjectCreated:*".into()], "ObjectCreated:Put"));
        assert!(!event_matches(&["s3:ObjectRemoved:*".into()], "ObjectCreated:Put"));
        assert!(event_matches(&["s3:ObjectCreated:Copy".into()], "ObjectCreated:Copy"));
    }

    #[tokio::test]
    async fn object_events_reach_matching_destinations_with_aws_record_shape() {
        let recorder = Arc::new(Recorder::default());
        let s3 = crate::S3::new(nubo_store::Store::in_memory(), Clock::manual(Timestamp::from_secs(1_700_000_000))).with_events(recorder.clone());
        let ctx = RequestContext::for_tests("s3", "test");
        s3.create_bucket(&ctx, CreateBucketRequest { bucket: "uploads".into(), ..Default::default() }).await.unwrap();
        let queue = QueueConfiguration {
            id: Some("photos".into()),
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            filter: Some(NotificationConfigurationFilter {
                key: Some(S3KeyFilter { filter_rules: Some(vec![FilterRule { name: Some("suffix".into()), value: Some(".jpg".into()) }]) }),
            }),
        };
        s3.put_bucket_notification_configuration(PutBucketNotificationConfigurationRequest {
            bucket: "uploads".into(),
            notification_configuration: NotificationConfiguration { queue_configurations: Some(vec![queue]), ..Default::default() },
            ..Default::default()
        })
        .await
        .unwrap();
        for key in ["a photo.jpg", "notes.txt"] {
            let body = nubo_model::ByteStream::from_bytes(bytes::Bytes::from_static(b"img"));
            s3.put_object(PutObjectRequest { bucket: "uploads".into(), key: key.into(), body: Some(body), ..Default::default() }).await.unwrap();
        }
        let sent = recorder.0.lock().unwrap();
        assert_eq!(sent.len(), 2, "the test event, then one object event");
        assert_eq!(sent[0].1["Event"], "s3:TestEvent");
        let (dest, msg) = &sent[1];
        assert_eq!(*dest, Destination::Queue("arn:aws:sqs:us-east-1:000000000000:q".into()));
        let r = &msg["Records"][0];
        assert_eq!(r["eventName"], "ObjectCreated:Put");
        assert_eq!(r["s3"]["configurationId"], "photos");
        assert_eq!(r["s3"]["bucket"]["name"], "uploads");
        assert_eq!(r["s3"]["object"]["key"], "a%20photo.jpg");
        assert_eq!(r["s3"]["object"]["size"], 3);
    }
}
