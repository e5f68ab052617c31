//! Topics and subscriptions: create, list, attributes, confirmation, tags.

use crate::error::{Result, SnsError};
use crate::records::{OutboxEntry, SubscriptionRecord, TopicRecord, BY_TOPIC, OUTBOX, SUBSCRIPTIONS, TOPICS};
use crate::Sns;
use nubo_core::arn::Arn;
use nubo_core::RequestContext;
use nubo_model::generated::sns::*;
use nubo_store::{get_json, put_json, scan_json};
use std::collections::BTreeMap;

const TOPIC_ATTRIBUTES: [&str; 12] = [
    "DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "SignatureVersion",
    "TracingConfig", "ArchivePolicy", "FifoThroughputScope", "DataProtectionPolicy", "HTTPSuccessFeedbackRoleArn",
];
const SUBSCRIPTION_ATTRIBUTES: [&str; 6] = ["DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "SubscriptionRoleArn"];
const PROTOCOLS: [&str; 10] = ["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose", "http"];

fn topic_key(arn: &Arn) -> Vec<u8> {
    nubo_store::key::key(&[&arn.account, &arn.region, &arn.resource])
}

pub(crate) fn parse_topic_arn(arn: &str) -> Result<Arn> {
    Arn::parse(arn)
        .filter(|a| a.service == "sns" && !a.resource.is_empty() && !a.resource.contains(':'))
        .ok_or_else(|| SnsError::InvalidParameter(format!("Invalid parameter: TopicArn Reason: An ARN must have the format of arn:aws:sns:region:account:name, got {arn}")))
}

fn sub_id(arn: &str) -> Result<&str> {
    arn.rsplit_once(':').map(|(_, id)| id).filter(|id| id.len() == 36).ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: SubscriptionArn".into()))
}

fn check_filter_policy(attrs: &BTreeMap<String, String>) -> Result<()> {
    if let Some(p) = attrs.get("FilterPolicy").filter(|p| !p.is_empty()) {
        let v: serde_json::Value = serde_json::from_str(p).map_err(|_| SnsError::InvalidParameter("Invalid parameter: FilterPolicy: failed to parse JSON.".into()))?;
        if !v.is_object() {
            return Err(SnsError::InvalidParameter("Invalid parameter: FilterPolicy: Filter policy must be a JSON object".into()));
        }
    }
    if let Some(s) = attrs.get("FilterPolicyScope") {
        if s != "MessageAttributes" && s != "MessageBody" {
            return Err(SnsError::InvalidParameter("Invalid parameter: FilterPolicyScope: Invalid value".into()));
        }
    }
    Ok(())
}

impl Sns {
    pub(crate) fn topic(&self, arn: &str) -> Result<(Arn, TopicRecord)> {
        let a = parse_topic_arn(arn)?;
        let t = self.store.read(|tx| get_json::<TopicRecord>(tx, TOPICS, &topic_key(&a)))?.ok_or(SnsError::NotFound("Topic"))?;
        Ok((a, t))
    }

    pub(crate) fn subscriptions_of(&self, topic_arn: &str) -> Result<Vec<SubscriptionRecord>> {
        let ids = self.store.read(|tx| tx.scan(BY_TOPIC, &nubo_store::key::key(&[topic_arn]), None, usize::MAX))?;
        let mut out = Vec::new();
        for (k, _) in ids {
            let id = nubo_store::key::last(&k).to_string();
            if let Some(s) = self.store.read(|tx| get_json::<SubscriptionRecord>(tx, SUBSCRIPTIONS, id.as_bytes()))? {
                out.push(s);
            }
        }
        Ok(out)
    }

    pub(crate) fn to_outbox(&self, entry: OutboxEntry) -> Result<()> {
        let key = format!("{:020}-{}", self.clock.now().as_millis(), nubo_core::ids::uuid());
        self.store.write(|tx| put_json(tx, OUTBOX, key.as_bytes(), &entry))?;
        Ok(())
    }

    pub(crate) async fn create_topic(&self, ctx: &RequestContext, input: CreateTopicInput) -> Result<CreateTopicResponse> {
        let fifo = input.name.ends_with(".fifo");
        let base = input.name.strip_suffix(".fifo").unwrap_or(&input.name);
        if base.is_empty() || input.name.len() > 256 || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(SnsError::InvalidParameter("Invalid parameter: Topic Name".into()));
        }
        let attributes = input.attributes.unwrap_or_default();
        if let Some(bad) = attributes.keys().find(|k| !TOPIC_ATTRIBUTES.contains(&k.as_str())) {
            return Err(SnsError::InvalidParameter(format!("Invalid parameter: Attributes Reason: Unknown attribute {bad}")));
        }
        if fifo != (attributes.get("FifoTopic").map(String::as_str) == Some("true")) {
            return Err(SnsError::InvalidParameter("Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.".into()));
        }
        let arn = Arn::new("sns", &ctx.scope.region, &ctx.scope.account, input.name.clone());
        let tags: BTreeMap<String, String> = input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect();
        self.store.write(|tx| -> Result<()> {
            // Creating an existing topic answers its ARN (attributes must not differ).
            if let Some(existing) = get_json::<TopicRecord>(tx, TOPICS, &topic_key(&arn))? {
                if attributes.iter().any(|(k, v)| existing.attributes.get(k).is_some_and(|e| e != v)) {
                    return Err(SnsError::InvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different attributes".into()));
                }
                return Ok(());
            }
            let mut attributes = attributes.clone();
            attributes.entry("DisplayName".into()).or_default();
            let record = TopicRecord { arn: arn.to_string(), attributes, tags: tags.clone(), dedup: BTreeMap::new(), next_seq: 1 };
            put_json(tx, TOPICS, &topic_key(&arn), &record)?;
            Ok(())
        })?;
        Ok(CreateTopicResponse { topic_arn: Some(arn.to_string()) })
    }

    pub(crate) async fn delete_topic(&self, input: DeleteTopicInput) -> Result<()> {
        let Ok((a, _)) = self.topic(&input.topic_arn) else { return Ok(()) }; // deleting a missing topic succeeds
        let subs = self.subscriptions_of(&input.topic_arn)?;
        self.store.write(|tx| -> Result<()> {
            tx.delete(TOPICS, &topic_key(&a))?;
            for s in &subs {
                tx.delete(SUBSCRIPTIONS, sub_id(&s.arn)?.as_bytes())?;
                tx.delete(BY_TOPIC, &nubo_store::key::key(&[&input.topic_arn, sub_id(&s.arn)?]))?;
            }
            Ok(())
        })
    }

    pub(crate) async fn list_topics(&self, ctx: &RequestContext, input: ListTopicsInput) -> Result<ListTopicsResponse> {
        let prefix = nubo_store::key::key(&[&ctx.scope.account, &ctx.scope.region]);
        let after = input.next_token.as_deref().map(|t| [&prefix[..], t.as_bytes(), &[0u8]].concat());
        let page = self.store.read(|tx| scan_json::<TopicRecord>(tx, TOPICS, &prefix, after.as_deref(), 101))?;
        let more = page.len() > 100;
        let topics: Vec<Topic> = page.into_iter().take(100).map(|(_, t)| Topic { topic_arn: Some(t.arn) }).collect();
        let next_token = more.then(|| topics.last().and_then(|t| t.topic_arn.as_deref()).and_then(|a| a.rsplit(':').next()).map(str::to_string)).flatten();
        Ok(ListTopicsResponse { topics: Some(topics), next_token })
    }

    pub(crate) async fn get_topic_attributes(&self, input: GetTopicAttributesInput) -> Result<GetTopicAttributesResponse> {
        let (a, t) = self.topic(&input.topic_arn)?;
        let subs = self.subscriptions_of(&input.topic_arn)?;
        let mut attrs = t.attributes.clone();
        attrs.insert("TopicArn".into(), t.arn.clone());
        attrs.insert("Owner".into(), a.account.clone());
        attrs.insert("SubscriptionsConfirmed".into(), subs.iter().filter(|s| s.confirmed).count().to_string());
        attrs.insert("SubscriptionsPending".into(), subs.iter().filter(|s| !s.confirmed).count().to_string());
        attrs.insert("SubscriptionsDeleted".into(), "0".into());
        attrs.entry("Policy".into()).or_insert_with(|| {
            serde_json::json!({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
                "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
                "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                           "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
                "Resource": t.arn, "Condition": {"StringEquals": {"AWS:SourceOwner": a.account}}}]})
            .to_string()
        });
        attrs.entry("EffectiveDeliveryPolicy".into()).or_insert_with(|| {
            r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#.into()
        });
        Ok(GetTopicAttributesResponse { attributes: Some(attrs) })
    }

    pub(crate) async fn set_topic_attributes(&self, input: SetTopicAttributesInput) -> Result<()> {
        if !TOPIC_ATTRIBUTES.contains(&input.attribute_name.as_str()) || input.attribute_name == "FifoTopic" {
            return Err(SnsError::InvalidParameter(format!("Invalid parameter: AttributeName {}", input.attribute_name)));
        }
        let (a, _) = self.topic(&input.topic_arn)?;
        self.store.write(|tx| -> Result<()> {
            let mut t = get_json::<TopicRecord>(tx, TOPICS, &topic_key(&a))?.ok_or(SnsError::NotFound("Topic"))?;
            t.attributes.insert(input.attribute_name.clone(), input.attribute_value.clone().unwrap_or_default());
            put_json(tx, TOPICS, &topic_key(&a), &t)?;
            Ok(())
        })
    }

    pub(crate) async fn subscribe(&self, ctx: &RequestContext, input: SubscribeInput) -> Result<SubscribeResponse> {
        let (_, topic) = self.topic(&input.topic_arn)?;
        let protocol = input.protocol.to_ascii_lowercase();
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return Err(SnsError::InvalidParameter(format!("Invalid parameter: Amazon SNS does not support this protocol string: {}", input.protocol)));
        }
        let endpoint = input.endpoint.clone().unwrap_or_default();
        if protocol == "sqs" && Arn::parse(&endpoint).is_none_or(|a| a.service != "sqs") {
            return Err(SnsError::InvalidParameter("Invalid parameter: SQS endpoint ARN".into()));
        }
        let attributes = input.attributes.unwrap_or_default();
        if let Some(bad) = attributes.keys().find(|k| !SUBSCRIPTION_ATTRIBUTES.contains(&k.as_str())) {
            return Err(SnsError::InvalidParameter(format!("Invalid parameter: Attributes Reason: Unknown attribute {bad}")));
        }
        check_filter_policy(&attributes)?;
        // The same endpoint subscribing again gets its existing subscription.
        if let Some(existing) = self.subscriptions_of(&topic.arn)?.into_iter().find(|s| s.protocol == protocol && s.endpoint == endpoint) {
            let shown = if existing.confirmed || input.return_subscription_arn == Some(true) { existing.arn } else { "pending confirmation".into() };
            return Ok(SubscribeResponse { subscription_arn: Some(shown) });
        }
        let id = nubo_core::ids::uuid();
        // Queues and functions are confirmed at once; endpoints a person or a server owns
        // confirm with the token sent to them.
        let confirmed = matches!(protocol.as_str(), "sqs" | "lambda" | "firehose" | "application");
        let record = SubscriptionRecord {
            arn: format!("{}:{id}", topic.arn),
            topic_arn: topic.arn.clone(),
            protocol: protocol.clone(),
            endpoint: endpoint.clone(),
            owner: ctx.scope.account.clone(),
            attributes,
            confirmed,
            token: hex::encode(nubo_core::ids::random_string(nubo_core::ids::ALNUM, 64)),
        };
        self.store.write(|tx| -> Result<()> {
            put_json(tx, SUBSCRIPTIONS, id.as_bytes(), &record)?;
            tx.put(BY_TOPIC, &nubo_store::key::key(&[&topic.arn, &id]), b"")?;
            Ok(())
        })?;
        if !confirmed {
            self.confirmation_request(ctx, &record).await?;
        }
        let shown = if confirmed || input.return_subscription_arn == Some(true) { record.arn } else { "pending confirmation".into() };
        Ok(SubscribeResponse { subscription_arn: Some(shown) })
    }

    /// The `SubscriptionConfirmation` message a pending endpoint gets: POSTed to HTTP
    /// endpoints, kept in the outbox for the others.
    async fn confirmation_request(&self, ctx: &RequestContext, s: &SubscriptionRecord) -> Result<()> {
        let url = format!("http://{}/?Action=ConfirmSubscription&Version=2010-03-31&TopicArn={}&Token={}", ctx.host, s.topic_arn, s.token);
        let id = nubo_core::ids::uuid();
        let text = format!("You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.", s.topic_arn);
        let timestamp = self.clock.now().to_iso8601();
        let fields = [
            ("Message", text.as_str()),
            ("MessageId", id.as_str()),
            ("SubscribeURL", url.as_str()),
            ("Timestamp", timestamp.as_str()),
            ("Token", s.token.as_str()),
            ("TopicArn", s.topic_arn.as_str()),
            ("Type", "SubscriptionConfirmation"),
        ];
        let signature = self.signer().await.map(|k| k.sign("1", &fields)).unwrap_or_default();
        let message = serde_json::json!({
            "Type": "SubscriptionConfirmation",
            "MessageId": id,
            "Token": s.token,
            "TopicArn": s.topic_arn,
            "Message": text,
            "SubscribeURL": url,
            "Timestamp": timestamp,
            "SignatureVersion": "1",
            "Signature": signature,
            "SigningCertURL": format!("http://{}/_nubo/sns/SimpleNotificationService.pem", ctx.host),
        });
        if s.protocol == "http" || s.protocol == "https" {
            let id = message["MessageId"].as_str().unwrap_or_default().to_string();
            self.post(&s.endpoint, &s.topic_arn, None, "SubscriptionConfirmation", &id, message.to_string(), crate::http::RetryPolicy::of(None));
            return Ok(());
        }
        self.to_outbox(OutboxEntry {
            timestamp: self.clock.now().to_iso8601(),
            protocol: s.protocol.clone(),
            endpoint: s.endpoint.clone(),
            topic_arn: s.topic_arn.clone(),
            subject: Some("AWS Notification - Subscription Confirmation".into()),
            message: message.to_string(),
        })
    }

    pub(crate) async fn confirm_subscription(&self, input: ConfirmSubscriptionInput) -> Result<ConfirmSubscriptionResponse> {
        self.topic(&input.topic_arn)?;
        let subs = self.subscriptions_of(&input.topic_arn)?;
        let mut s = subs.into_iter().find(|s| s.token == input.token).ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: Token".into()))?;
        s.confirmed = true;
        let id = sub_id(&s.arn)?.to_string();
        self.store.write(|tx| put_json(tx, SUBSCRIPTIONS, id.as_bytes(), &s))?;
        Ok(ConfirmSubscriptionResponse { subscription_arn: Some(s.arn) })
    }

    pub(crate) async fn unsubscribe(&self, input: UnsubscribeInput) -> Result<()> {
        let id = sub_id(&input.subscription_arn)?.to_string();
        let Some(s) = self.store.read(|tx| get_json::<SubscriptionRecord>(tx, SUBSCRIPTIONS, id.as_bytes()))? else {
            return Err(SnsError::NotFound("Subscription"));
        };
        self.store.write(|tx| -> Result<()> {
            tx.delete(SUBSCRIPTIONS, id.as_bytes())?;
            tx.delete(BY_TOPIC, &nubo_store::key::key(&[&s.topic_arn, &id]))?;
            Ok(())
        })
    }

    fn listed(s: SubscriptionRecord) -> Subscription {
        Subscription {
            subscription_arn: Some(if s.confirmed { s.arn } else { "PendingConfirmation".into() }),
            owner: Some(s.owner),
            protocol: Some(s.protocol),
            endpoint: Some(s.endpoint),
            topic_arn: Some(s.topic_arn),
        }
    }

    pub(crate) async fn list_subscriptions(&self, ctx: &RequestContext, _input: ListSubscriptionsInput) -> Result<ListSubscriptionsResponse> {
        let all = self.store.read(|tx| scan_json::<SubscriptionRecord>(tx, SUBSCRIPTIONS, b"", None, usize::MAX))?;
        let region = format!(":sns:{}:{}:", ctx.scope.region, ctx.scope.account);
        let subs = all.into_iter().map(|(_, s)| s).filter(|s| s.topic_arn.contains(&region)).map(Self::listed).collect();
        Ok(ListSubscriptionsResponse { subscriptions: Some(subs), next_token: None })
    }

    pub(crate) async fn list_subscriptions_by_topic(&self, input: ListSubscriptionsByTopicInput) -> Result<ListSubscriptionsByTopicResponse> {
        self.topic(&input.topic_arn)?;
        let subs = self.subscriptions_of(&input.topic_arn)?.into_iter().map(Self::listed).collect();
        Ok(ListSubscriptionsByTopicResponse { subscriptions: Some(subs), next_token: None })
    }

    pub(crate) async fn get_subscription_attributes(&self, input: GetSubscriptionAttributesInput) -> Result<GetSubscriptionAttributesResponse> {
        let id = sub_id(&input.subscription_arn)?.to_string();
        let s = self.store.read(|tx| get_json::<SubscriptionRecord>(tx, SUBSCRIPTIONS, id.as_bytes()))?.ok_or(SnsError::NotFound("Subscription"))?;
        let mut attrs = s.attributes.clone();
        for (k, v) in [
            ("SubscriptionArn", s.arn.clone()),
            ("TopicArn", s.topic_arn.clone()),
            ("Protocol", s.protocol.clone()),
            ("Endpoint", s.endpoint.clone()),
            ("Owner", s.owner.clone()),
            ("ConfirmationWasAuthenticated", s.confirmed.to_string()),
            ("PendingConfirmation", (!s.confirmed).to_string()),
        ] {
            attrs.insert(k.into(), v);
        }
        attrs.entry("RawMessageDelivery".into()).or_insert_with(|| "false".into());
        Ok(GetSubscriptionAttributesResponse { attributes: Some(attrs) })
    }

    pub(crate) async fn set_subscription_attributes(&self, input: SetSubscriptionAttributesInput) -> Result<()> {
        if !SUBSCRIPTION_ATTRIBUTES.contains(&input.attribute_name.as_str()) {
            return Err(SnsError::InvalidParameter(format!("Invalid parameter: AttributeName {}", input.attribute_name)));
        }
        let value = input.attribute_value.clone().unwrap_or_default();
        check_filter_policy(&[(input.attribute_name.clone(), value.clone())].into_iter().collect())?;
        let id = sub_id(&input.subscription_arn)?.to_string();
        self.store.write(|tx| -> Result<()> {
            let mut s = get_json::<SubscriptionRecord>(tx, SUBSCRIPTIONS, id.as_bytes())?.ok_or(SnsError::NotFound("Subscription"))?;
            if value.is_empty() {
                s.attributes.remove(&input.attribute_name);
            } else {
                s.attributes.insert(input.attribute_name.clone(), value.clone());
            }
            put_json(tx, SUBSCRIPTIONS, id.as_bytes(), &s)?;
            Ok(())
        })
    }

    pub(crate) async fn tag_resource(&self, input: TagResourceRequest) -> Result<()> {
        self.update_tags(&input.resource_arn, |t| t.extend(input.tags.iter().map(|x| (x.key.clone(), x.value.clone()))))
    }

    pub(crate) async fn untag_resource(&self, input: UntagResourceRequest) -> Result<()> {
        self.update_tags(&input.resource_arn, |t| t.retain(|k, _| !input.tag_keys.contains(k)))
    }

    pub(crate) async fn list_tags_for_resource(&self, input: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse> {
        let (_, t) = self.topic(&input.resource_arn)?;
        Ok(ListTagsForResourceResponse { tags: Some(t.tags.into_iter().map(|(key, value)| Tag { key, value }).collect()) })
    }

    fn update_tags(&self, arn: &str, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<()> {
        let a = parse_topic_arn(arn)?;
        self.store.write(|tx| -> Result<()> {
            let mut t = get_json::<TopicRecord>(tx, TOPICS, &topic_key(&a))?.ok_or(SnsError::NotFound("Resource"))?;
            f(&mut t.tags);
            put_json(tx, TOPICS, &topic_key(&a), &t)?;
            Ok(())
        })
    }
}
