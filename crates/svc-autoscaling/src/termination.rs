//! Which member a scale-in takes out, by AWS's rules: first the Availability Zone with the
//! most members (unprotected ones only are candidates), then the group's termination
//! policies in order, each narrowing the candidates until one is left, then `Default`:
//! oldest launch template or configuration, closest to the next instance hour, and finally
//! (where AWS picks at random) the oldest.

use crate::controller::{counted, in_zone};
use crate::records::{GroupRecord, MemberRecord, TemplateRef};
use nubo_core::Timestamp;

/// The member to take out, `None` when every candidate is protected.
pub fn victim(g: &GroupRecord, now: Timestamp) -> Option<String> {
    let candidates: Vec<&MemberRecord> = g.members.iter().filter(|m| counted(m) && !m.protected).collect();
    let busiest = candidates.iter().map(|m| in_zone(g, &m.availability_zone)).max()?;
    let mut left: Vec<&MemberRecord> = candidates.into_iter().filter(|m| in_zone(g, &m.availability_zone) == busiest).collect();
    for policy in g.termination_policies.iter().map(String::as_str).chain(["Default"]) {
        let steps: &[&str] = match policy {
            "Default" => &["OldestLaunchTemplate", "OldestLaunchConfiguration", "ClosestToNextInstanceHour", "OldestInstance"],
            other => &[other][..],
        };
        for step in steps {
            left = narrow(left, step, g, now);
            if left.len() == 1 {
                return Some(left[0].instance_id.clone());
            }
        }
    }
    left.first().map(|m| m.instance_id.clone())
}

/// The candidates a policy prefers (all of them when it cannot tell them apart).
fn narrow<'a>(left: Vec<&'a MemberRecord>, policy: &str, g: &GroupRecord, now: Timestamp) -> Vec<&'a MemberRecord> {
    let keep_min = |key: &dyn Fn(&MemberRecord) -> i64| -> Vec<&'a MemberRecord> {
        let best = left.iter().map(|m| key(m)).min();
        left.iter().copied().filter(|m| Some(key(m)) == best).collect()
    };
    match policy {
        "OldestInstance" => keep_min(&|m| m.launched.as_millis()),
        "NewestInstance" => keep_min(&|m| -m.launched.as_millis()),
        // Members not on the group's current template first, then the lowest version.
        "OldestLaunchTemplate" if g.template.is_some() => keep_min(&|m| template_age(m.template.as_ref(), g.template.as_ref())),
        // Members not on the group's current launch configuration first.
        "OldestLaunchConfiguration" if g.launch_configuration.is_some() => keep_min(&|m| i64::from(m.launch_configuration == g.launch_configuration)),
        // The most of its billed hour used up: the least time left until the next.
        "ClosestToNextInstanceHour" => keep_min(&|m| 3_600_000 - (now.as_millis() - m.launched.as_millis()).rem_euclid(3_600_000)),
        _ => left,
    }
}

/// 0 for another template (or none), then the version number: lower is older.
fn template_age(member: Option<&TemplateRef>, current: Option<&TemplateRef>) -> i64 {
    match (member, current) {
        (Some(m), Some(c)) if m.id == c.id && m.name == c.name => 1 + m.version.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(i64::MAX / 2),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, zone: &str, launched_s: i64, version: &str) -> MemberRecord {
        MemberRecord {
            instance_id: id.into(),
            availability_zone: zone.into(),
            lifecycle: "InService".into(),
            health: "Healthy".into(),
            launched: Timestamp::from_secs(launched_s),
            protected: false,
            template: Some(TemplateRef { id: Some("lt-1".into()), name: None, version: Some(version.into()) }),
            instance_type: None,
            lifecycle_action: None,
            subnet: None,
            in_service_since: None,
            launch_configuration: None,
        }
    }

    fn group(members: Vec<MemberRecord>, policies: &[&str]) -> GroupRecord {
        let mut g: GroupRecord = serde_json::from_value(serde_json::json!({
            "name": "g", "arn": "arn", "template": {"id": "lt-1", "name": null, "version": "2"}, "min": 0, "max": 9, "desired": 1,
            "default_cooldown": 300, "zones": [], "subnets": [], "target_groups": [], "health_check_type": "EC2", "grace_period": 0,
            "termination_policies": [], "new_instances_protected": false, "tags": [], "created": 0, "suspended": [], "cooldown_from": null,
            "members": [], "max_instance_lifetime": null, "capacity_rebalance": false, "status": null
        }))
        .unwrap();
        g.members = members;
        g.termination_policies = policies.iter().map(|p| p.to_string()).collect();
        g
    }

    #[test]
    fn the_busiest_zone_goes_first_then_the_oldest_template() {
        let now = Timestamp::from_secs(100_000);
        let g = group(vec![member("a1", "a", 10, "2"), member("a2", "a", 20, "1"), member("b1", "b", 5, "1")], &["Default"]);
        assert_eq!(victim(&g, now).as_deref(), Some("a2"), "zone a has two; a2 runs the older version");
        let g = group(vec![member("a1", "a", 10, "2"), member("a2", "a", 20, "2")], &["NewestInstance"]);
        assert_eq!(victim(&g, now).as_deref(), Some("a2"));
        let g = group(vec![member("a1", "a", 10, "2"), member("a2", "a", 20, "2")], &["OldestInstance"]);
        assert_eq!(victim(&g, now).as_deref(), Some("a1"));
    }

    #[test]
    fn closest_to_the_next_hour_and_protection() {
        // At 100 000 s, a2 (launched at 0) has 800 s left of its hour, a1 (at 1000) 1800 s.
        let now = Timestamp::from_secs(100_000);
        let g = group(vec![member("a1", "a", 1000, "2"), member("a2", "a", 0, "2")], &["ClosestToNextInstanceHour"]);
        assert_eq!(victim(&g, now).as_deref(), Some("a2"));
        let mut protected = member("a2", "a", 0, "2");
        protected.protected = true;
        let g = group(vec![member("a1", "a", 1000, "2"), protected], &["Default"]);
        assert_eq!(victim(&g, now).as_deref(), Some("a1"));
        let mut only = member("a1", "a", 0, "2");
        only.protected = true;
        assert_eq!(victim(&group(vec![only], &[]), now), None);
    }
}
