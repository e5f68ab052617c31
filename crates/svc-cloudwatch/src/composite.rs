//! Composite alarms: an alarm whose state is a rule over other alarms' states
//! (`ALARM("cpu") AND NOT OK(disk)`). A composite alarm is an [`AlarmRecord`] with a rule,
//! so it changes state, keeps history and notifies through the same
//! [`CloudWatch::transition`] as metric alarms; it is evaluated after them, and again
//! whenever an alarm is set by hand.

use crate::alarms::{aws_time, AlarmRecord, ALARMS};
use crate::error::{CwError, Result};
use crate::CloudWatch;
use nubo_core::Scope;
use nubo_model::generated::cloudwatch::*;
use nubo_store::{get_json, put_json, scan_json};
use serde_json::json;

/// A parsed AlarmRule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Const(bool),
    /// `ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)`: the state and the alarm.
    State(String, String),
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

const STATES: [&str; 3] = ["ALARM", "OK", "INSUFFICIENT_DATA"];
/// AlarmRule's limit, and how deep a rule may nest (keeps the parser's stack bounded).
const MAX_RULE: usize = 10_240;
const MAX_DEPTH: usize = 100;

fn syntax<T>(detail: &str) -> Result<T> {
    Err(CwError::InvalidParameterValue(format!("Error in alarm rule syntax: {detail}")))
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> Option<String> {
        self.skip();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, k: &str) -> bool {
        let save = self.pos;
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case(k) => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }

    /// An alarm name or ARN: quoted, or up to the closing parenthesis.
    fn alarm(&mut self) -> Result<String> {
        self.skip();
        let name = if self.eat(b'"') {
            let start = self.pos;
            while self.s.get(self.pos).is_some_and(|c| *c != b'"') {
                self.pos += 1;
            }
            let name = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
            if !self.eat(b'"') {
                return syntax("unterminated quoted alarm name");
            }
            name
        } else {
            let start = self.pos;
            while self.s.get(self.pos).is_some_and(|c| *c != b')') {
                self.pos += 1;
            }
            String::from_utf8_lossy(&self.s[start..self.pos]).trim().to_string()
        };
        if name.is_empty() {
            return syntax("an alarm name is missing");
        }
        // An ARN names the alarm after `:alarm:`.
        Ok(match name.split_once(":alarm:") {
            Some((_, n)) => n.to_string(),
            None => name,
        })
    }

    fn primary(&mut self) -> Result<Rule> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return syntax("the rule is nested too deeply");
        }
        let rule = if self.eat(b'(') {
            let r = self.or()?;
            if !self.eat(b')') {
                return syntax("a closing parenthesis is missing");
            }
            r
        } else if self.keyword("NOT") {
            Rule::Not(Box::new(self.primary()?))
        } else if self.keyword("TRUE") {
            Rule::Const(true)
        } else if self.keyword("FALSE") {
            Rule::Const(false)
        } else {
            let save = self.pos;
            match self.word().map(|w| w.to_ascii_uppercase()) {
                Some(w) if STATES.contains(&w.as_str()) => {
                    if !self.eat(b'(') {
                        return syntax(&format!("{w} must be followed by an alarm in parentheses"));
                    }
                    let alarm = self.alarm()?;
                    if !self.eat(b')') {
                        return syntax("a closing parenthesis is missing");
                    }
                    Rule::State(w, alarm)
                }
                _ => {
                    self.pos = save;
                    return syntax(&format!("unexpected input at position {}", self.pos + 1));
                }
            }
        };
        self.depth -= 1;
        Ok(rule)
    }

    fn and(&mut self) -> Result<Rule> {
        let mut left = self.primary()?;
        while self.keyword("AND") {
            left = Rule::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Rule> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
}

impl Rule {
    pub fn parse(src: &str) -> Result<Rule> {
        if src.trim().is_empty() || src.len() > MAX_RULE {
            return syntax("the rule must have between 1 and 10240 characters");
        }
        let mut p = Parser { s: src.as_bytes(), pos: 0, depth: 0 };
        let rule = p.or()?;
        p.skip();
        if p.pos != src.len() {
            return syntax(&format!("unexpected input at position {}", p.pos + 1));
        }
        Ok(rule)
    }

    /// The alarms the rule names.
    pub fn children(&self) -> Vec<String> {
        match self {
            Rule::Const(_) => Vec::new(),
            Rule::State(_, a) => vec![a.clone()],
            Rule::Not(r) => r.children(),
            Rule::And(a, b) | Rule::Or(a, b) => {
                let mut c = a.children();
                c.extend(b.children());
                c
            }
        }
    }

    /// Whether the rule holds, given each alarm's state.
    pub fn holds(&self, state_of: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Rule::Const(b) => *b,
            Rule::State(s, a) => state_of(a).as_deref() == Some(s.as_str()),
            Rule::Not(r) => !r.holds(state_of),
            Rule::And(a, b) => a.holds(state_of) && b.holds(state_of),
            Rule::Or(a, b) => a.holds(state_of) || b.holds(state_of),
        }
    }
}

pub fn composite_out(a: &AlarmRecord) -> CompositeAlarm {
    CompositeAlarm {
        actions_enabled: Some(a.actions_enabled),
        alarm_actions: Some(a.alarm_actions.clone()),
        alarm_arn: Some(a.arn.clone()),
        alarm_configuration_updated_timestamp: Some(a.configuration_updated),
        alarm_description: a.description.clone(),
        alarm_name: Some(a.name.clone()),
        alarm_rule: a.rule.clone(),
        insufficient_data_actions: Some(a.insufficient_actions.clone()),
        ok_actions: Some(a.ok_actions.clone()),
        state_reason: Some(a.state_reason.clone()),
        state_reason_data: a.state_reason_data.clone(),
        state_updated_timestamp: Some(a.state_updated),
        state_value: Some(a.state.clone()),
        state_transitioned_timestamp: Some(a.state_updated),
        ..Default::default()
    }
}

impl CloudWatch {
    pub(crate) async fn put_composite_alarm(&self, scope: &Scope, input: PutCompositeAlarmInput) -> Result<()> {
        let rule = Rule::parse(&input.alarm_rule)?;
        let name = input.alarm_name.clone();
        let now = self.clock.now();
        self.write(|tx| {
            let missing: Vec<String> = rule
                .children()
                .into_iter()
                .filter(|c| get_json::<AlarmRecord>(tx, ALARMS, &crate::alarms::alarm_key(scope, c)).ok().flatten().is_none())
                .collect();
            if !missing.is_empty() {
                return Err(CwError::InvalidParameterValue(format!(
                    "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
                    missing.join(", ")
                )));
            }
            if rule.children().contains(&name) {
                return Err(CwError::InvalidParameterValue("A composite alarm cannot reference itself in its AlarmRule.".into()));
            }
            let key = crate::alarms::alarm_key(scope, &name);
            let existing = get_json::<AlarmRecord>(tx, ALARMS, &key)?;
            if existing.as_ref().is_some_and(|e| e.rule.is_none()) {
                return Err(CwError::InvalidParameterValue(format!("The alarm {name} is a metric alarm: it cannot become a composite alarm.")));
            }
            let record = AlarmRecord {
                arn: format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", scope.region, scope.account),
                account: scope.account.clone(),
                region: scope.region.clone(),
                description: input.alarm_description.clone(),
                actions_enabled: input.actions_enabled.unwrap_or(true),
                alarm_actions: input.alarm_actions.clone().unwrap_or_default(),
                ok_actions: input.ok_actions.clone().unwrap_or_default(),
                insufficient_actions: input.insufficient_data_actions.clone().unwrap_or_default(),
                state: existing.as_ref().map_or("INSUFFICIENT_DATA".into(), |e| e.state.clone()),
                state_reason: existing.as_ref().map_or("Unchecked: Initial alarm creation".into(), |e| e.state_reason.clone()),
                state_reason_data: existing.as_ref().and_then(|e| e.state_reason_data.clone()),
                state_updated: existing.as_ref().map_or(now, |e| e.state_updated),
                configuration_updated: now,
                tags: match &input.tags {
                    Some(t) => t.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                    None => existing.as_ref().map(|e| e.tags.clone()).unwrap_or_default(),
                },
                rule: Some(input.alarm_rule.clone()),
                ..AlarmRecord::composite(name.clone())
            };
            put_json(tx, ALARMS, &key, &record)?;
            let summary = if existing.is_some() { format!("Alarm \"{name}\" updated") } else { format!("Alarm \"{name}\" created") };
            self.history(tx, scope, &name, now, "ConfigurationUpdate", &summary, &json!({"type": if existing.is_some() { "Update" } else { "Create" }, "version": "1.0"}).to_string())
        })?;
        self.evaluate_composites().await?;
        Ok(())
    }

    /// Brings every composite alarm in line with its children's states; a composite
    /// that names another composite settles within a few passes.
    pub async fn evaluate_composites(&self) -> Result<usize> {
        let mut changed = 0;
        for _ in 0..5 {
            let all: Vec<AlarmRecord> = self.store.read(|tx| scan_json::<AlarmRecord>(tx, ALARMS, b"", None, usize::MAX))?.into_iter().map(|(_, a)| a).collect();
            let mut this_pass = 0;
            for a in all.iter().filter(|a| a.rule.is_some()) {
                let Ok(rule) = Rule::parse(a.rule.as_deref().unwrap_or_default()) else { continue };
                let in_scope = |n: &str| all.iter().find(|c| c.name == n && c.account == a.account && c.region == a.region);
                let state = if rule.holds(&|n| in_scope(n).map(|c| c.state.clone())) { "ALARM" } else { "OK" };
                if state == a.state {
                    continue;
                }
                // The reason names the children whose states made the rule what it is.
                let triggering: Vec<&AlarmRecord> = rule.children().iter().filter_map(|c| in_scope(c)).filter(|c| c.state == state).collect();
                let reason = match triggering.first() {
                    Some(c) => format!("{} transitioned to {} at {}", c.arn, c.state, aws_time(c.state_updated)),
                    None => format!("The alarm rule evaluated to {}", if state == "ALARM" { "TRUE" } else { "FALSE" }),
                };
                let data = json!({
                    "triggeringAlarms": triggering.iter().map(|c| json!({"arn": c.arn, "state": {"value": c.state, "timestamp": aws_time(c.state_updated)}})).collect::<Vec<_>>()
                })
                .to_string();
                let scope = Scope::new(a.account.clone(), a.region.clone());
                match self.transition(&scope, &a.name, state, &reason, Some(data)).await {
                    Ok(true) => this_pass += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!("composite alarm {} not evaluated: {e:?}", a.name),
                }
            }
            changed += this_pass;
            if this_pass == 0 {
                break;
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_hold() {
        let r = Rule::parse(r#"ALARM("cpu-high") AND (OK(disk) OR NOT INSUFFICIENT_DATA(arn:aws:cloudwatch:us-east-1:1:alarm:net))"#).unwrap();
        assert_eq!(r.children(), vec!["cpu-high", "disk", "net"]);
        let states = |n: &str| Some(match n { "cpu-high" => "ALARM", "disk" => "ALARM", _ => "OK" }.to_string());
        assert!(r.holds(&states));
        assert!(!Rule::parse("ALARM(a) AND FALSE").unwrap().holds(&states));
        assert!(Rule::parse("true").unwrap().holds(&states));
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in ["", "ALARM", "ALARM()", "ALARM(a) AND", "FOO(a)", "(ALARM(a)", "ALARM(a) OK(b)", &"(".repeat(500)] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
    }
}
