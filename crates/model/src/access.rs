//! What a request asks IAM for: one action on one resource, per [`Access`].
//!
//! Every operation of every service is authorized the same way: the gateway asks the
//! service's handler for the accesses a call makes ([`crate::Handler::access`]), whose
//! default is [`derive`]: the action is `<prefix>:<Operation>` and the resource comes
//! from the input members that name one (`QueueUrl`, `TopicArn`, `TableName`, …). A
//! service whose IAM actions differ from its operation names (S3) overrides the hook in
//! one place, its own `access.rs`.

use crate::Value;
use nubo_core::RequestContext;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `s3:GetObject`.
    pub action: String,
    /// The ARN of the resource, or `*` where the action has no resource-level permissions.
    pub resource: String,
    /// Service-specific condition keys (`s3:prefix`), with their values.
    pub context: Vec<(String, Vec<String>)>,
}

impl Access {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Access {
        Access { action: action.into(), resource: resource.into(), context: Vec::new() }
    }

    pub fn with_context(mut self, key: &str, value: impl Into<String>) -> Access {
        self.context.push((key.to_string(), vec![value.into()]));
        self
    }
}

/// The prefix of a service's IAM actions: nubo's service name where they differ.
pub fn action_prefix(service: &str) -> &str {
    match service {
        "elbv2" => "elasticloadbalancing",
        "dynamodbstreams" => "dynamodb",
        other => other,
    }
}

/// The access an operation makes, read off its input by the members AWS's services name
/// their resources with.
pub fn derive(ctx: &RequestContext, input: &Value) -> Vec<Access> {
    let action = format!("{}:{}", action_prefix(ctx.service), ctx.operation);
    vec![Access::new(action, resource(ctx, input).unwrap_or_else(|| "*".into()))]
}

fn resource(ctx: &RequestContext, input: &Value) -> Option<String> {
    let (account, region) = (ctx.scope.account.as_str(), ctx.scope.region.as_str());
    let member = |name: &str| input.get(name).and_then(Value::as_str);
    let arn_or = |value: &str, build: &dyn Fn(&str) -> String| if value.starts_with("arn:") { value.to_string() } else { build(value) };
    match ctx.service {
        "sqs" => {
            // A queue URL names its owner (`…/123456789012/name`): that account's queue is
            // the resource, whoever asks.
            if let Some(url) = member("QueueUrl") {
                let mut segments = url.trim_end_matches('/').rsplit('/');
                let name = segments.next().unwrap_or(url);
                let owner = segments.next().filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).unwrap_or(account);
                return Some(format!("arn:aws:sqs:{region}:{owner}:{name}"));
            }
            member("QueueName").map(|name| format!("arn:aws:sqs:{region}:{account}:{name}"))
        }
        "sns" => {
            if let Some(arn) = member("TopicArn").or_else(|| member("ResourceArn")) {
                return Some(arn.to_string());
            }
            if let Some(sub) = member("SubscriptionArn") {
                // A subscription is authorized on its topic.
                return Some(sub.rsplit_once(':').map_or(sub, |(topic, _)| topic).to_string());
            }
            member("Name").map(|n| format!("arn:aws:sns:{region}:{account}:{n}"))
        }
        "dynamodb" | "dynamodbstreams" => {
            if let Some(arn) = member("TableArn").or_else(|| member("ResourceArn")).or_else(|| member("StreamArn")) {
                return Some(arn.to_string());
            }
            member("TableName").map(|t| arn_or(t, &|t| format!("arn:aws:dynamodb:{region}:{account}:table/{t}")))
        }
        "lambda" => member("FunctionName").map(|f| arn_or(f, &|f| format!("arn:aws:lambda:{region}:{account}:function:{f}"))),
        "logs" => member("logGroupName").map(|g| format!("arn:aws:logs:{region}:{account}:log-group:{g}")),
        "cloudwatch" => member("AlarmName").map(|a| format!("arn:aws:cloudwatch:{region}:{account}:alarm:{a}")),
        "iam" => {
            if let Some(arn) = member("PolicyArn") {
                return Some(arn.to_string());
            }
            let (kind, name) = [("UserName", "user"), ("RoleName", "role"), ("GroupName", "group"), ("InstanceProfileName", "instance-profile")]
                .iter()
                .find_map(|(m, kind)| member(m).map(|n| (*kind, n)))?;
            Some(format!("arn:aws:iam::{account}:{kind}/{name}"))
        }
        "sts" => member("RoleArn").map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn input(pairs: &[(&str, &str)]) -> Value {
        Value::Structure(pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect::<IndexMap<_, _>>())
    }

    #[test]
    fn queue_operations_act_on_the_queue_arn() {
        let ctx = RequestContext::for_tests("sqs", "SendMessage");
        let got = derive(&ctx, &input(&[("QueueUrl", "http://localhost:4566/000000000000/jobs")]));
        assert_eq!(got, vec![Access::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:000000000000:jobs")]);
        let other = derive(&ctx, &input(&[("QueueUrl", "http://localhost:4566/111122223333/jobs")]));
        assert_eq!(other[0].resource, "arn:aws:sqs:us-east-1:111122223333:jobs");
    }

    #[test]
    fn operations_without_a_resource_act_on_star() {
        let ctx = RequestContext::for_tests("elbv2", "DescribeLoadBalancers");
        assert_eq!(derive(&ctx, &Value::empty_structure()), vec![Access::new("elasticloadbalancing:DescribeLoadBalancers", "*")]);
    }

    #[test]
    fn iam_entities_and_function_names_become_arns() {
        let ctx = RequestContext::for_tests("iam", "GetUser");
        assert_eq!(derive(&ctx, &input(&[("UserName", "bob")]))[0].resource, "arn:aws:iam::000000000000:user/bob");
        let ctx = RequestContext::for_tests("lambda", "Invoke");
        assert_eq!(derive(&ctx, &input(&[("FunctionName", "f")]))[0].resource, "arn:aws:lambda:us-east-1:000000000000:function:f");
    }
}
