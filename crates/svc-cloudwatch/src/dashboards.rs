//! Dashboards: stored with their body checked as CloudWatch checks it (rendering comes
//! with the console). Dashboards belong to the account, not a region: their ARN has none.

use crate::error::{CwError, Result};
use crate::CloudWatch;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::cloudwatch::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

pub const DASHBOARDS: &str = "cloudwatch.dashboards";

#[derive(Serialize, Deserialize, Clone)]
struct DashboardRecord {
    name: String,
    body: String,
    modified: Timestamp,
}

/// The widget types a dashboard body may hold.
const WIDGET_TYPES: [&str; 6] = ["metric", "text", "log", "alarm", "explorer", "custom"];

fn key(scope: &Scope, name: &str) -> Vec<u8> {
    nubo_store::key::key(&[&scope.account, name])
}

fn arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:cloudwatch::{}:dashboard/{name}", scope.account)
}

/// What is wrong with a body, as (data path, message) pairs, in CloudWatch's words.
pub fn validate(body: &str) -> Vec<(String, String)> {
    let json: Json = match serde_json::from_str(body) {
        Ok(Json::Object(o)) => Json::Object(o),
        _ => return vec![("".into(), "The field DashboardBody must be a valid JSON object".into())],
    };
    let mut problems = Vec::new();
    let Some(widgets) = json.get("widgets") else {
        return vec![("".into(), "Should have required property 'widgets'".into())];
    };
    let Some(widgets) = widgets.as_array() else {
        return vec![("/widgets".into(), "Should be array".into())];
    };
    for (i, w) in widgets.iter().enumerate() {
        let at = format!("/widgets/{i}");
        let Some(w) = w.as_object() else {
            problems.push((at, "Should be object".into()));
            continue;
        };
        match w.get("type").and_then(Json::as_str) {
            None => problems.push((at.clone(), "Should have required property 'type'".into())),
            Some(t) if !WIDGET_TYPES.contains(&t) => problems.push((format!("{at}/type"), format!("Should be equal to one of the allowed values [{}]", WIDGET_TYPES.join(", ")))),
            Some(t) => {
                let properties = w.get("properties");
                match (t, properties) {
                    (_, None) => problems.push((at.clone(), "Should have required property 'properties'".into())),
                    (_, Some(p)) if !p.is_object() => problems.push((format!("{at}/properties"), "Should be object".into())),
                    ("metric", Some(p)) if p.get("metrics").is_none() && p.get("query").is_none() => {
                        problems.push((format!("{at}/properties"), "Should have required property 'metrics'".into()))
                    }
                    ("text", Some(p)) if p.get("markdown").is_none() => problems.push((format!("{at}/properties"), "Should have required property 'markdown'".into())),
                    ("log", Some(p)) if p.get("query").is_none() => problems.push((format!("{at}/properties"), "Should have required property 'query'".into())),
                    ("alarm", Some(p)) if p.get("alarms").is_none() => problems.push((format!("{at}/properties"), "Should have required property 'alarms'".into())),
                    _ => {}
                }
            }
        }
        for (field, lo, hi) in [("width", 1, 24), ("height", 1, 1000), ("x", 0, 23), ("y", 0, i64::MAX)] {
            match w.get(field) {
                None => {}
                Some(v) => match v.as_i64() {
                    Some(n) if (lo..=hi).contains(&n) => {}
                    Some(n) if n < lo => problems.push((format!("{at}/{field}"), format!("Should be >= {lo}"))),
                    Some(_) => problems.push((format!("{at}/{field}"), format!("Should be <= {hi}"))),
                    None => problems.push((format!("{at}/{field}"), "Should be integer".into())),
                },
            }
        }
    }
    problems
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(CwError::InvalidParameterValue(
            "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).".into(),
        ));
    }
    Ok(())
}

impl CloudWatch {
    pub(crate) fn put_dashboard(&self, scope: &Scope, input: PutDashboardInput) -> Result<PutDashboardOutput> {
        check_name(&input.dashboard_name)?;
        let problems = validate(&input.dashboard_body);
        if !problems.is_empty() {
            return Err(CwError::DashboardInvalid(problems));
        }
        let record = DashboardRecord { name: input.dashboard_name, body: input.dashboard_body, modified: self.clock.now() };
        self.write(|tx| Ok(nubo_store::put_json(tx, DASHBOARDS, &key(scope, &record.name), &record)?))?;
        Ok(PutDashboardOutput { dashboard_validation_messages: Some(Vec::new()) })
    }

    pub(crate) fn get_dashboard(&self, scope: &Scope, input: GetDashboardInput) -> Result<GetDashboardOutput> {
        let record: Option<DashboardRecord> = self.store.read(|tx| nubo_store::get_json(tx, DASHBOARDS, &key(scope, &input.dashboard_name)))?;
        let Some(d) = record else {
            return Err(CwError::ResourceNotFound(format!("Dashboard {} does not exist", input.dashboard_name)));
        };
        Ok(GetDashboardOutput { dashboard_arn: Some(arn(scope, &d.name)), dashboard_body: Some(d.body), dashboard_name: Some(d.name) })
    }

    pub(crate) fn list_dashboards(&self, scope: &Scope, input: ListDashboardsInput) -> Result<ListDashboardsOutput> {
        let prefix = nubo_store::key::key(&[&scope.account]);
        let all: Vec<(Vec<u8>, DashboardRecord)> = self.store.read(|tx| nubo_store::scan_json(tx, DASHBOARDS, &prefix, None, usize::MAX))?;
        let matching: Vec<&DashboardRecord> = all
            .iter()
            .map(|(_, d)| d)
            .filter(|d| input.dashboard_name_prefix.as_ref().is_none_or(|p| d.name.starts_with(p.as_str())))
            .filter(|d| input.next_token.as_ref().is_none_or(|t| d.name > *t))
            .collect();
        const PAGE: usize = 1000;
        let more = matching.len() > PAGE;
        let page: Vec<DashboardEntry> = matching
            .iter()
            .take(PAGE)
            .map(|d| DashboardEntry { dashboard_name: Some(d.name.clone()), dashboard_arn: Some(arn(scope, &d.name)), last_modified: Some(d.modified), size: Some(d.body.len() as i64) })
            .collect();
        Ok(ListDashboardsOutput { next_token: more.then(|| page.last().and_then(|d| d.dashboard_name.clone())).flatten(), dashboard_entries: Some(page) })
    }

    /// Deletes all the named dashboards, or none if one of them does not exist.
    pub(crate) fn delete_dashboards(&self, scope: &Scope, names: &[String]) -> Result<()> {
        self.write(|tx| {
            if let Some(missing) = names.iter().find(|n| tx.get(DASHBOARDS, &key(scope, n)).ok().flatten().is_none()) {
                return Err(CwError::ResourceNotFound(format!("The specified dashboard does not exist. [{missing}]")));
            }
            for n in names {
                tx.delete(DASHBOARDS, &key(scope, n))?;
            }
            Ok(())
        })
    }
}

/// The message and validation list of a refused body, as CloudWatch words them.
pub fn invalid_body_message(problems: &[(String, String)]) -> (String, String) {
    let list: Vec<Json> = problems.iter().map(|(path, message)| json!({ "dataPath": path, "message": message })).collect();
    let message = format!(
        "The dashboard body is invalid, there are {} validation errors:\n{}",
        problems.len(),
        serde_json::to_string_pretty(&list).unwrap_or_default()
    );
    let messages: Vec<Json> = problems.iter().map(|(path, message)| json!({ "DataPath": path, "Message": message })).collect();
    (message, Json::Array(messages).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_like_cloudwatch() {
        assert!(validate(r#"{"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]}"#).is_empty());
        assert_eq!(validate("not json")[0].1, "The field DashboardBody must be a valid JSON object");
        assert_eq!(validate("{}")[0].1, "Should have required property 'widgets'");
        let p = validate(r#"{"widgets": [{"type": "metric", "properties": {}}, {"type": "chart"}]}"#);
        assert_eq!(p[0], ("/widgets/0/properties".to_string(), "Should have required property 'metrics'".to_string()));
        assert_eq!(p[1].0, "/widgets/1/type");
    }
}
