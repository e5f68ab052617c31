//! What Elastic Load Balancing keeps: one table per kind, keyed `account \0 region \0 arn`,
//! so a scope's resources are one prefix scan. Actions and conditions are kept in nubo's
//! own shapes (the generated ones are wire types).

use nubo_core::{Scope, Timestamp};
use nubo_store::{get_json, put_json, scan_json, ReadTxn, WriteTxn};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const LOAD_BALANCERS: &str = "elbv2.load-balancers";
pub const TARGET_GROUPS: &str = "elbv2.target-groups";
pub const LISTENERS: &str = "elbv2.listeners";
pub const RULES: &str = "elbv2.rules";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancerRecord {
    pub arn: String,
    pub name: String,
    /// `application`, `network` or `gateway`.
    pub kind: String,
    pub scheme: String,
    pub vpc_id: String,
    /// (subnet id, availability zone).
    pub subnets: Vec<(String, String)>,
    pub security_groups: Vec<String>,
    pub ip_address_type: String,
    pub dns_name: String,
    /// The loopback address of the host where its listeners are bound.
    pub address: String,
    pub created: Timestamp,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: String,
    /// `traffic-port` or a number.
    pub port: String,
    pub path: Option<String>,
    pub interval: i32,
    pub timeout: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    /// HTTP codes (`200`, `200-299`, `200,302`).
    pub matcher: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetRecord {
    pub id: String,
    pub port: i32,
    pub availability_zone: Option<String>,
    pub registered: Timestamp,
    /// Deregistered at: the target drains until the deregistration delay has passed.
    pub draining_since: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetGroupRecord {
    pub arn: String,
    pub name: String,
    pub protocol: Option<String>,
    pub protocol_version: Option<String>,
    pub port: Option<i32>,
    pub vpc_id: Option<String>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    pub ip_address_type: String,
    pub health: HealthCheck,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub targets: Vec<TargetRecord>,
}

impl TargetGroupRecord {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RedirectRecord {
    pub protocol: String,
    pub port: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub status_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FixedResponseRecord {
    pub status_code: String,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionRecord {
    /// `forward`, `redirect` or `fixed-response`.
    pub kind: String,
    pub order: Option<i32>,
    /// (target group ARN, weight).
    pub target_groups: Vec<(String, i32)>,
    /// Target group stickiness of a weighted forward: (enabled, duration seconds).
    pub group_stickiness: Option<(bool, i32)>,
    pub redirect: Option<RedirectRecord>,
    pub fixed_response: Option<FixedResponseRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConditionRecord {
    /// `host-header`, `path-pattern`, `http-header`, `http-request-method`, `query-string`, `source-ip`.
    pub field: String,
    pub values: Vec<String>,
    pub header_name: Option<String>,
    /// (key, value) pairs of a query-string condition.
    pub query: Vec<(Option<String>, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerRecord {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: i32,
    pub protocol: String,
    pub ssl_policy: Option<String>,
    pub certificates: Vec<String>,
    pub default_actions: Vec<ActionRecord>,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRecord {
    pub arn: String,
    pub listener_arn: String,
    pub priority: i32,
    pub conditions: Vec<ConditionRecord>,
    pub actions: Vec<ActionRecord>,
    pub tags: Vec<(String, String)>,
}

pub fn key(scope: &Scope, arn: &str) -> Vec<u8> {
    format!("{}\0{}\0{arn}", scope.account, scope.region).into_bytes()
}

pub fn prefix(scope: &Scope) -> Vec<u8> {
    format!("{}\0{}\0", scope.account, scope.region).into_bytes()
}

pub fn all<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str, scope: &Scope) -> nubo_store::Result<Vec<T>> {
    Ok(scan_json(tx, table, &prefix(scope), None, usize::MAX)?.into_iter().map(|(_, v)| v).collect())
}

/// Every record of a table with its scope (for the data plane, which serves all scopes).
pub fn everywhere<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str) -> nubo_store::Result<Vec<(Scope, T)>> {
    Ok(scan_json::<T>(tx, table, b"", None, usize::MAX)?
        .into_iter()
        .filter_map(|(k, v)| {
            let mut parts = k.split(|b| *b == 0);
            let account = String::from_utf8(parts.next()?.to_vec()).ok()?;
            let region = String::from_utf8(parts.next()?.to_vec()).ok()?;
            Some((Scope::new(account, region), v))
        })
        .collect())
}

pub fn get<T: DeserializeOwned>(tx: &(impl ReadTxn + ?Sized), table: &str, scope: &Scope, arn: &str) -> nubo_store::Result<Option<T>> {
    get_json(tx, table, &key(scope, arn))
}

pub fn put<T: Serialize>(tx: &mut (impl WriteTxn + ?Sized), table: &str, scope: &Scope, arn: &str, value: &T) -> nubo_store::Result<()> {
    put_json(tx, table, &key(scope, arn), value)
}

pub fn delete(tx: &mut (impl WriteTxn + ?Sized), table: &str, scope: &Scope, arn: &str) -> nubo_store::Result<()> {
    tx.delete(table, &key(scope, arn)).map(|_| ())
}
