//! EC2's `Filter.N.Name` / `Filter.N.Value.M`: a resource matches when, for every filter,
//! one of the resource's values for that name matches one of the filter's values (`*` and
//! `?` are wildcards). `tag:Key`, `tag-key` and `tag-value` work for every kind; the other
//! names each describe operation maps itself.

use crate::error::{Ec2Error, Result};
use nubo_model::generated::ec2::Filter;

pub struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    pub fn new(filters: Option<Vec<Filter>>) -> Result<Filters> {
        let mut out = Vec::new();
        for f in filters.unwrap_or_default() {
            let name = f.name.ok_or_else(|| Ec2Error::InvalidParameterValue("The filter 'null' is invalid".into()))?;
            out.push((name, f.values.unwrap_or_default()));
        }
        Ok(Filters(out))
    }

    /// Whether a resource with these tags matches, asking `values` for other names
    /// (`None`: a name this kind does not know, which EC2 refuses).
    pub fn matches(&self, tags: &[(String, String)], values: impl Fn(&str) -> Option<Vec<String>>) -> Result<bool> {
        for (name, wanted) in &self.0 {
            let have: Vec<String> = if let Some(key) = name.strip_prefix("tag:") {
                tags.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
            } else if name == "tag-key" {
                tags.iter().map(|(k, _)| k.clone()).collect()
            } else if name == "tag-value" {
                tags.iter().map(|(_, v)| v.clone()).collect()
            } else {
                values(name).ok_or_else(|| Ec2Error::InvalidParameterValue(format!("The filter '{name}' is invalid")))?
            };
            if !have.iter().any(|h| wanted.iter().any(|w| glob(w, h))) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `*` any run, `?` any one character; everything else literal.
pub fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A single value, as the closures of [`Filters::matches`] return them.
pub fn one(v: impl Into<String>) -> Option<Vec<String>> {
    Some(vec![v.into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_ec2() {
        assert!(glob("al2023-ami-*", "al2023-ami-2023.6.20241212.0-kernel-6.1-x86_64"));
        assert!(glob("t?.micro", "t2.micro"));
        assert!(!glob("t?.micro", "t2.small"));
        assert!(glob("*", ""));
    }

    #[test]
    fn every_filter_must_match_and_tags_work_for_all() {
        let f = Filters::new(Some(vec![
            Filter { name: Some("tag:Name".into()), values: Some(vec!["web*".into()]) },
            Filter { name: Some("state".into()), values: Some(vec!["available".into()]) },
        ]))
        .unwrap();
        let tags = vec![("Name".to_string(), "web-1".to_string())];
        assert!(f.matches(&tags, |n| (n == "state").then(|| vec!["available".into()])).unwrap());
        assert!(!f.matches(&[], |n| (n == "state").then(|| vec!["available".into()])).unwrap());
        assert!(f.matches(&tags, |_| None).is_err());
    }
}
