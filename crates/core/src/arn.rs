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

/// `ArnLike`: `*` matches any run of characters, `?` any one (case-sensitive), for the
/// conditions resource policies put on a source ARN.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
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
    fn globs_match_like_arnlike() {
        assert!(glob_matches("arn:aws:elasticloadbalancing:*:*:targetgroup/web/*", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc"));
        assert!(!glob_matches("arn:aws:s3:::a?c", "arn:aws:s3:::abcd"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn global_arn_has_empty_region() {
        assert_eq!(Arn::global("iam", "000000000000", "root").to_string(), "arn:aws:iam::000000000000:root");
    }
}
