//! How services reach each other: each seam is a narrow trait of the sending service,
//! implemented here with the receiving service's public interface. No service depends on
//! another.

use nubo_s3::events::{Destination, EventSink};
use nubo_sns::Delivery;
use nubo_sqs::Sqs;

/// S3 event notifications, delivered into SQS queues (SNS and Lambda when they exist).
pub struct S3Events {
    pub sqs: Sqs,
}

impl EventSink for S3Events {
    fn deliver(&self, destination: Destination, message: String) {
        match destination {
            Destination::Queue(arn) => {
                if let Err(e) = self.sqs.deliver(&arn, message, "AIDAS3EVENTS", Vec::new()) {
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
    fn to_queue(&self, queue_arn: &str, body: String, attributes: Vec<(String, String, String)>) -> Result<(), String> {
        self.sqs.deliver(queue_arn, body, "AIDASNSDELIVERY", attributes).map(|_| ()).map_err(|e| e.to_string())
    }
}
