//! The one builder of ARNs: `arn:aws:<service>:<region>:<account>:<resource>`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn new(service: &str, region: &str, account: &str, resource: impl Into<String>) -> Arn {
        Arn {
            partition: "aws".into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }

    /// ARN of a global resource (IAM, S3 buckets): no region.
    pub fn global(service: &str, account: &str, resource: impl Into<String>) -> Arn {
        Arn::new(service, "", account, resource)
    }

    pub fn parse(s: &str) -> Option<Arn> {
        let mut p = s.splitn(6, ':');
        if p.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: p.next()?.into(),
            service: p.next()?.into(),
            region: p.next()?.into(),
            account: p.next()?.into(),
            resource: p.next()?.into(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Arn { partition, service, region, account, resource } = self;
        write!(f, "arn:{partition}:{service}:{region}:{account}:{resource}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_round_trips_with_colons_in_resource() {
        let a = Arn::new("sqs", "us-east-1", "000000000000", "q:with:colons");
        assert_eq!(a.to_string(), "arn:aws:sqs:us-east-1:000000000000:q:with:colons");
        assert_eq!(Arn::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn global_arn_has_empty_region() {
        assert_eq!(Arn::global("iam", "000000000000", "root").to_string(), "arn:aws:iam::000000000000:root");
    }
}
