//! How services reach each other: each seam is a narrow trait of the sending service,
//! implemented here with the receiving service's public interface. No service depends on
//! another.

use nubo_cloudwatch::alarms::AlarmActions;
use nubo_s3::events::{Destination, EventSink};
use nubo_sns::{Delivery, QueueMessage};
use nubo_sqs::{Delivered, Sqs};

/// S3 event notifications, delivered into SQS queues (SNS and Lambda when they exist).
pub struct S3Events {
    pub sqs: Sqs,
}

impl EventSink for S3Events {
    fn deliver(&self, destination: Destination, message: String) {
        match destination {
            Destination::Queue(arn) => {
                if let Err(e) = self.sqs.deliver(&arn, Delivered { body: message, ..Default::default() }, "AIDAS3EVENTS") {
                    tracing::warn!("S3 event notification to {arn} not delivered: {e}");
                }
            }
            other => tracing::debug!(?other, "S3 event notification: no delivery to this destination yet"),
        }
    }
}

/// SNS subscriptions of queues, delivered into SQS.
pub struct SnsDelivery {
    pub sqs: Sqs,
}

impl Delivery for SnsDelivery {
    fn to_queue(&self, queue_arn: &str, m: QueueMessage) -> Result<(), String> {
        let delivered = Delivered { body: m.body, attributes: m.attributes, group_id: m.group_id, deduplication_id: m.deduplication_id };
        self.sqs.deliver(queue_arn, delivered, "AIDASNSDELIVERY").map(|_| ()).map_err(|e| e.to_string())
    }
}

/// CloudWatch alarm notifications, published to SNS topics. The alarm evaluator runs on
/// its own task; the publish fans out there and then.
pub struct AlarmNotifications {
    pub sns: nubo_sns::Sns,
}

impl AlarmActions for AlarmNotifications {
    fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), nubo_cloudwatch::alarms::ActionError> {
        let (sns, topic, subject, message) = (self.sns.clone(), topic_arn.to_string(), subject.to_string(), message.to_string());
        tokio::spawn(async move {
            if let Err(e) = sns.notify(&topic, &subject, &message).await {
                tracing::warn!("alarm notification to {topic} not published: {e}");
            }
        });
        Ok(())
    }
}
