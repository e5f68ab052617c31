//! The substitution maps of one request, and which of their entries the request's
//! expressions used: DynamoDB refuses entries no expression refers to.

use crate::value::AttrValue;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

pub struct Params<'a> {
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a HashMap<String, AttrValue>>,
    used_names: RefCell<HashSet<String>>,
    used_values: RefCell<HashSet<String>>,
}

impl<'a> Params<'a> {
    pub fn new(
        names: Option<&'a HashMap<String, String>>,
        values: Option<&'a HashMap<String, AttrValue>>,
    ) -> Self {
        Params { names, values, used_names: RefCell::default(), used_values: RefCell::default() }
    }

    /// The checks DynamoDB makes on the maps themselves before parsing any expression.
    pub fn validate_maps(&self) -> Result<(), String> {
        if let Some(n) = self.names {
            if n.is_empty() {
                return Err("ExpressionAttributeNames must not be empty".into());
            }
            if let Some(k) = sorted(n.keys()).into_iter().find(|k| !valid_key(k, '#')) {
                return Err(format!("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{}\"", k));
            }
        }
        if let Some(v) = self.values {
            if v.is_empty() {
                return Err("ExpressionAttributeValues must not be empty".into());
            }
            if let Some(k) = sorted(v.keys()).into_iter().find(|k| !valid_key(k, ':')) {
                return Err(format!("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{}\"", k));
            }
        }
        Ok(())
    }

    pub(crate) fn name(&self, key: &str) -> Option<String> {
        let v = self.names?.get(key)?;
        self.used_names.borrow_mut().insert(key.to_string());
        Some(v.clone())
    }

    pub(crate) fn value(&self, key: &str) -> Option<AttrValue> {
        let v = self.values?.get(key)?;
        self.used_values.borrow_mut().insert(key.to_string());
        Some(v.clone())
    }

    /// Keys are listed sorted: the request's maps arrive unordered here, and a stable
    /// message beats an arbitrary one.
    pub fn check_unused(&self) -> Result<(), String> {
        if let Some(n) = self.names {
            let used = self.used_names.borrow();
            let unused: Vec<&String> = sorted(n.keys()).into_iter().filter(|k| !used.contains(*k)).collect();
            if !unused.is_empty() {
                return Err(format!(
                    "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                    join(&unused)
                ));
            }
        }
        if let Some(v) = self.values {
            let used = self.used_values.borrow();
            let unused: Vec<&String> = sorted(v.keys()).into_iter().filter(|k| !used.contains(*k)).collect();
            if !unused.is_empty() {
                return Err(format!(
                    "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                    join(&unused)
                ));
            }
        }
        Ok(())
    }
}

fn sorted<'k>(keys: impl Iterator<Item = &'k String>) -> Vec<&'k String> {
    let mut v: Vec<&String> = keys.collect();
    v.sort();
    v
}

fn join(keys: &[&String]) -> String {
    keys.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn valid_key(k: &str, sigil: char) -> bool {
    let mut c = k.chars();
    c.next() == Some(sigil) && k.len() > 1 && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_and_maps() {
        let names: HashMap<String, String> = [("#b", "x"), ("#a", "y"), ("#c", "z")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let values: HashMap<String, AttrValue> = [(":v".to_string(), AttrValue::Null)].into_iter().collect();
        let p = Params::new(Some(&names), Some(&values));
        assert!(p.validate_maps().is_ok());
        assert_eq!(p.name("#c"), Some("z".into()));
        assert_eq!(p.name("#nope"), None);
        assert_eq!(
            p.check_unused().unwrap_err(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
        );
        p.name("#a");
        p.name("#b");
        assert_eq!(
            p.check_unused().unwrap_err(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"
        );
        p.value(":v");
        assert!(p.check_unused().is_ok());
        assert!(Params::new(None, None).check_unused().is_ok());

        let empty = HashMap::new();
        assert_eq!(Params::new(Some(&empty), None).validate_maps().unwrap_err(), "ExpressionAttributeNames must not be empty");
        let emptyv = HashMap::new();
        assert_eq!(Params::new(None, Some(&emptyv)).validate_maps().unwrap_err(), "ExpressionAttributeValues must not be empty");
        let bad: HashMap<String, String> = [("a".to_string(), "b".to_string())].into_iter().collect();
        assert_eq!(
            Params::new(Some(&bad), None).validate_maps().unwrap_err(),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
        );
        let badv: HashMap<String, AttrValue> = [(":a-b".to_string(), AttrValue::Null)].into_iter().collect();
        assert_eq!(
            Params::new(None, Some(&badv)).validate_maps().unwrap_err(),
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \":a-b\""
        );
    }
}
