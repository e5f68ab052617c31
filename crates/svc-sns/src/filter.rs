//! Subscription filter policies: which messages a subscription receives.
//!
//! A policy maps keys to lists of conditions; every key must match (AND), any condition of
//! a key may (OR). Keys are message attributes (`FilterPolicyScope: MessageAttributes`, the
//! default) or paths into a JSON message body (`MessageBody`, where nested objects in the
//! policy follow nested objects in the body). Conditions: exact strings and numbers,
//! `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or
//! `{"prefix": …}`), `numeric` ranges, `exists`; `$or` combines whole policies.

use serde_json::Value as Json;

/// One candidate value a condition is tested against.
#[derive(Debug, Clone)]
pub enum Candidate {
    Str(String),
    Num(f64),
}

fn numeric_ok(ops: &[Json], n: f64) -> bool {
    ops.chunks(2).all(|pair| match (pair.first().and_then(|o| o.as_str()), pair.get(1).and_then(|v| v.as_f64())) {
        (Some("="), Some(v)) => n == v,
        (Some("<"), Some(v)) => n < v,
        (Some("<="), Some(v)) => n <= v,
        (Some(">"), Some(v)) => n > v,
        (Some(">="), Some(v)) => n >= v,
        _ => false,
    })
}

fn condition(cond: &Json, c: &Candidate) -> bool {
    match (cond, c) {
        (Json::String(s), Candidate::Str(v)) => s == v,
        (Json::Number(n), Candidate::Num(v)) => n.as_f64() == Some(*v),
        (Json::Number(n), Candidate::Str(v)) => v.parse::<f64>().ok() == n.as_f64(),
        (Json::Object(o), _) => o.iter().all(|(op, arg)| match (op.as_str(), c) {
            ("prefix", Candidate::Str(v)) => arg.as_str().is_some_and(|p| v.starts_with(p)),
            ("suffix", Candidate::Str(v)) => arg.as_str().is_some_and(|p| v.ends_with(p)),
            ("equals-ignore-case", Candidate::Str(v)) => arg.as_str().is_some_and(|p| v.eq_ignore_ascii_case(p)),
            ("numeric", Candidate::Num(v)) => arg.as_array().is_some_and(|ops| numeric_ok(ops, *v)),
            ("numeric", Candidate::Str(v)) => v.parse::<f64>().is_ok_and(|v| arg.as_array().is_some_and(|ops| numeric_ok(ops, v))),
            ("anything-but", _) => match arg {
                Json::Array(items) => !items.iter().any(|i| condition(i, c)),
                Json::Object(inner) => !condition(&Json::Object(inner.clone()), c),
                single => !condition(single, c),
            },
            ("exists", _) => arg.as_bool() == Some(true),
            _ => false,
        }),
        _ => false,
    }
}

fn key_matches(conditions: &Json, values: Option<&[Candidate]>) -> bool {
    let Some(list) = conditions.as_array() else { return false };
    list.iter().any(|cond| {
        if let Some(exists) = cond.get("exists").and_then(|e| e.as_bool()) {
            return exists == values.is_some();
        }
        values.is_some_and(|vs| vs.iter().any(|v| condition(cond, v)))
    })
}

/// Whether a policy matches, looking keys up through `lookup` (a path of keys).
fn evaluate(policy: &serde_json::Map<String, Json>, path: &mut Vec<String>, lookup: &dyn Fn(&[String]) -> Option<Vec<Candidate>>) -> bool {
    policy.iter().all(|(key, rule)| {
        if key == "$or" {
            return rule.as_array().is_some_and(|alts| {
                alts.iter().any(|alt| alt.as_object().is_some_and(|a| evaluate(a, path, lookup)))
            });
        }
        path.push(key.clone());
        let ok = match rule {
            Json::Object(nested) => evaluate(nested, path, lookup),
            conditions => key_matches(conditions, lookup(path).as_deref()),
        };
        path.pop();
        ok
    })
}

pub fn matches(policy: &Json, lookup: &dyn Fn(&[String]) -> Option<Vec<Candidate>>) -> bool {
    policy.as_object().is_none_or(|p| evaluate(p, &mut Vec::new(), lookup))
}

/// The candidates of a JSON body at a path (arrays match by any element).
pub fn body_lookup(body: &Json) -> impl Fn(&[String]) -> Option<Vec<Candidate>> + '_ {
    move |path: &[String]| {
        let mut v = body;
        for k in path {
            v = v.get(k)?;
        }
        let items: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        Some(
            items
                .into_iter()
                .filter_map(|j| match j {
                    Json::String(s) => Some(Candidate::Str(s.clone())),
                    Json::Number(n) => n.as_f64().map(Candidate::Num),
                    Json::Bool(b) => Some(Candidate::Str(b.to_string())),
                    _ => None,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(policy: Json, body: Json) -> bool {
        matches(&policy, &body_lookup(&body))
    }

    #[test]
    fn operators_match_as_sns_documents() {
        let msg = json!({"store": "example_corp", "event": "order_placed", "price_usd": 210.75, "customer_interests": ["soccer", "rugby"]});
        assert!(check(json!({"store": ["example_corp"]}), msg.clone()));
        assert!(!check(json!({"store": ["other"]}), msg.clone()));
        assert!(check(json!({"event": [{"prefix": "order-"}, {"prefix": "order_"}]}), msg.clone()));
        assert!(check(json!({"event": [{"suffix": "_placed"}]}), msg.clone()));
        assert!(check(json!({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}), msg.clone()));
        assert!(check(json!({"price_usd": [{"numeric": [">=", 100, "<", 500]}]}), msg.clone()));
        assert!(!check(json!({"price_usd": [{"numeric": ["<", 100]}]}), msg.clone()));
        assert!(check(json!({"store": [{"anything-but": ["a", "b"]}]}), msg.clone()));
        assert!(!check(json!({"store": [{"anything-but": {"prefix": "example"}}]}), msg.clone()));
        assert!(check(json!({"customer_interests": ["rugby"]}), msg.clone()));
        assert!(check(json!({"coupon": [{"exists": false}]}), msg.clone()));
        assert!(!check(json!({"store": [{"exists": false}]}), msg.clone()));
        assert!(check(json!({"$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}), msg.clone()));
        // Every key must match.
        assert!(!check(json!({"store": ["example_corp"], "event": ["refund"]}), msg));
    }

    #[test]
    fn nested_body_keys() {
        assert!(check(json!({"order": {"status": ["paid"]}}), json!({"order": {"status": "paid"}})));
        assert!(!check(json!({"order": {"status": ["paid"]}}), json!({"order": {"status": "open"}})));
    }
}
