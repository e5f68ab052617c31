//! The request context: the condition keys a request carries (`aws:SourceIp`,
//! `aws:username`, `s3:prefix`, `aws:TagKeys`…) and their values.
//!
//! Key names are case-insensitive in IAM (`aws:CurrentTime` = `AWS:currenttime`), values
//! are not, so keys are stored lowercased. Every key holds a list: single-valued keys hold
//! one value, multivalued keys (`aws:TagKeys`) any number. The context only stores; what a
//! key means is the business of the condition operators and policy variables.

use std::collections::HashMap;

/// Condition keys of one request: key names are case-insensitive (stored lowercased); each
/// key has one or more string values.
#[derive(Default, Clone, Debug)]
pub struct Context {
    keys: HashMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single-valued key, replacing what it held.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.keys.insert(key.to_lowercase(), vec![value.into()]);
    }

    /// Sets a multivalued key (`aws:TagKeys`, `aws:PrincipalServiceNamesList`…). An empty
    /// list is an "empty data set": set operators treat it as the docs say, every other
    /// operator as an absent key.
    pub fn set_many(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_lowercase(), values);
    }

    /// The values of `key`, found case-insensitively.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        if key.chars().any(char::is_uppercase) {
            self.get_lower(&key.to_lowercase())
        } else {
            self.get_lower(key)
        }
    }

    /// Lookup with a key already lowercased (policy keys are lowercased once, at parse
    /// time, so evaluation never allocates for a lookup).
    pub(crate) fn get_lower(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).map(Vec::as_slice)
    }

    /// The values of `key` if it is present with at least one value.
    pub(crate) fn values(&self, lower_key: &str) -> Option<&[String]> {
        self.get_lower(lower_key).filter(|v| !v.is_empty())
    }

    /// The value a policy variable `${key}` resolves to: only single-valued keys can be
    /// variables (the docs: "you can't use multivalued context keys as policy variables").
    pub(crate) fn variable(&self, lower_key: &str) -> Option<&str> {
        match self.get_lower(lower_key) {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_values_are_not() {
        let mut ctx = Context::new();
        ctx.set("aws:CurrentTime", "2020-01-01T00:00:00Z");
        ctx.set("aws:PrincipalTag/Team", "Blue");
        assert_eq!(
            ctx.get("AWS:currenttime"),
            Some(&["2020-01-01T00:00:00Z".to_string()][..])
        );
        assert_eq!(ctx.get("aws:principaltag/team").unwrap()[0], "Blue");
        assert_eq!(ctx.get_lower("aws:principaltag/team").unwrap()[0], "Blue");
        assert!(ctx.get("aws:SourceIp").is_none());
    }

    #[test]
    fn set_replaces_and_set_many_keeps_every_value() {
        let mut ctx = Context::new();
        ctx.set("k", "a");
        ctx.set("K", "b");
        assert_eq!(ctx.get("k").unwrap(), ["b".to_string()]);
        ctx.set_many("aws:TagKeys", vec!["x".into(), "y".into()]);
        assert_eq!(ctx.get("aws:tagkeys").unwrap().len(), 2);
    }

    #[test]
    fn only_single_valued_keys_resolve_as_variables() {
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        ctx.set_many("aws:tagkeys", vec!["x".into(), "y".into()]);
        ctx.set_many("empty", vec![]);
        assert_eq!(ctx.variable("aws:username"), Some("alice"));
        assert_eq!(ctx.variable("aws:tagkeys"), None);
        assert_eq!(ctx.variable("empty"), None);
        assert_eq!(ctx.variable("missing"), None);
        assert!(ctx.values("empty").is_none());
    }
}
