//! Attributes with AWS's defaults and checks, SSL policies and account limits: the
//! static knowledge of the API.

use crate::error::{ElbError, Result};
use nubo_model::generated::elbv2::{Cipher, Limit, SslPolicy};
use std::collections::BTreeMap;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn load_balancer_defaults(kind: &str) -> BTreeMap<String, String> {
    match kind {
        "network" => map(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("deletion_protection.enabled", "false"),
            ("load_balancing.cross_zone.enabled", "false"),
            ("dns_record.client_routing_policy", "any_availability_zone"),
            ("ipv6.deny_all_igw_traffic", "false"),
        ]),
        _ => map(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("connection_logs.s3.enabled", "false"),
            ("connection_logs.s3.bucket", ""),
            ("connection_logs.s3.prefix", ""),
            ("client_keep_alive.seconds", "3600"),
            ("deletion_protection.enabled", "false"),
            ("idle_timeout.timeout_seconds", "60"),
            ("load_balancing.cross_zone.enabled", "true"),
            ("routing.http.desync_mitigation_mode", "defensive"),
            ("routing.http.drop_invalid_header_fields.enabled", "false"),
            ("routing.http.preserve_host_header.enabled", "false"),
            ("routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"),
            ("routing.http.xff_client_port.enabled", "false"),
            ("routing.http.xff_header_processing.mode", "append"),
            ("routing.http2.enabled", "true"),
            ("waf.fail_open.enabled", "false"),
            ("zonal_shift.config.enabled", "false"),
        ]),
    }
}

pub fn target_group_defaults(protocol: Option<&str>, target_type: &str) -> BTreeMap<String, String> {
    match protocol {
        Some("TCP" | "UDP" | "TLS" | "TCP_UDP") => map(&[
            ("deregistration_delay.timeout_seconds", "300"),
            ("deregistration_delay.connection_termination.enabled", "false"),
            ("stickiness.enabled", "false"),
            ("stickiness.type", "source_ip"),
            ("proxy_protocol_v2.enabled", "false"),
            ("preserve_client_ip.enabled", if target_type == "instance" { "true" } else { "false" }),
            ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
        ]),
        _ if target_type == "lambda" => map(&[("lambda.multi_value_headers.enabled", "false")]),
        _ => map(&[
            ("deregistration_delay.timeout_seconds", "300"),
            ("stickiness.enabled", "false"),
            ("stickiness.type", "lb_cookie"),
            ("stickiness.lb_cookie.duration_seconds", "86400"),
            ("stickiness.app_cookie.cookie_name", ""),
            ("stickiness.app_cookie.duration_seconds", "86400"),
            ("slow_start.duration_seconds", "0"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("load_balancing.algorithm.anomaly_mitigation", "off"),
            ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
            ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
            ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
        ]),
    }
}

pub fn listener_defaults(protocol: &str) -> BTreeMap<String, String> {
    match protocol {
        "TCP" | "TLS" | "UDP" | "TCP_UDP" => map(&[("tcp.idle_timeout.seconds", "350")]),
        _ => map(&[
            ("routing.http.response.server.enabled", "true"),
            ("routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name", "X-Amzn-Mtls-Clientcert-Serial-Number"),
        ]),
    }
}

fn check_value(key: &str, value: &str) -> Result<()> {
    let bool_key = key.ends_with(".enabled") && !(key == "load_balancing.cross_zone.enabled" && value == "use_load_balancer_configuration");
    if bool_key && value != "true" && value != "false" {
        return Err(ElbError::Validation(format!("'{value}' must be one of the following values: true, false")));
    }
    let int = |lo: i64, hi: i64| -> Result<()> {
        match value.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => Err(ElbError::Validation(format!("'{key}' value '{value}' must be an integer between {lo} and {hi}"))),
        }
    };
    match key {
        "idle_timeout.timeout_seconds" => int(1, 4000),
        "deregistration_delay.timeout_seconds" => int(0, 3600),
        "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => int(1, 604800),
        "slow_start.duration_seconds" => match value.parse::<i64>() {
            Ok(0) | Ok(30..=900) => Ok(()),
            _ => Err(ElbError::Validation("The slow start duration must be 0 or between 30 and 900 seconds".into())),
        },
        "client_keep_alive.seconds" => int(60, 604800),
        "stickiness.type" if !["lb_cookie", "app_cookie", "source_ip", "source_ip_dest_ip", "source_ip_dest_ip_proto"].contains(&value) => {
            Err(ElbError::Validation(format!("'{value}' must be one of the following values: lb_cookie, app_cookie, source_ip")))
        }
        "load_balancing.algorithm.type" if !["round_robin", "least_outstanding_requests", "weighted_random"].contains(&value) => {
            Err(ElbError::Validation(format!("'{value}' must be one of the following values: round_robin, least_outstanding_requests, weighted_random")))
        }
        _ => Ok(()),
    }
}

/// Applies `changes` to `current`: every key must be one the resource has.
pub fn modify(current: &mut BTreeMap<String, String>, changes: impl IntoIterator<Item = (Option<String>, Option<String>)>, what: &str) -> Result<()> {
    let mut next = current.clone();
    for (key, value) in changes {
        let key = key.unwrap_or_default();
        let value = value.unwrap_or_default();
        if !next.contains_key(&key) {
            return Err(ElbError::Validation(format!("{what} attribute key '{key}' is not recognized")));
        }
        check_value(&key, &value)?;
        next.insert(key, value);
    }
    *current = next;
    Ok(())
}

const POLICIES: &[(&str, &[&str])] = &[
    ("ELBSecurityPolicy-TLS13-1-2-2021-06", &["TLSv1.2", "TLSv1.3"]),
    ("ELBSecurityPolicy-TLS13-1-2-Res-2021-06", &["TLSv1.2", "TLSv1.3"]),
    ("ELBSecurityPolicy-TLS13-1-3-2021-06", &["TLSv1.3"]),
    ("ELBSecurityPolicy-2016-08", &["TLSv1", "TLSv1.1", "TLSv1.2"]),
    ("ELBSecurityPolicy-TLS-1-2-2017-01", &["TLSv1.2"]),
    ("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", &["TLSv1.2"]),
    ("ELBSecurityPolicy-FS-1-2-Res-2020-10", &["TLSv1.2"]),
];

pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

pub fn ssl_policy_exists(name: &str) -> bool {
    POLICIES.iter().any(|(n, _)| *n == name)
}

pub fn ssl_policies(names: Option<&[String]>) -> Result<nubo_model::generated::elbv2::DescribeSSLPoliciesOutput> {
    for n in names.unwrap_or_default() {
        if !ssl_policy_exists(n) {
            return Err(ElbError::SslPolicyNotFound);
        }
    }
    let policies = POLICIES
        .iter()
        .filter(|(n, _)| names.is_none_or(|names| names.iter().any(|x| x == n)))
        .map(|(name, protocols)| SslPolicy {
            name: Some(name.to_string()),
            ssl_protocols: Some(protocols.iter().map(|p| p.to_string()).collect()),
            ciphers: Some(
                ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Cipher { name: Some(c.to_string()), priority: Some(i as i32 + 1) })
                    .collect(),
            ),
            supported_load_balancer_types: Some(vec!["application".into(), "network".into()]),
        })
        .collect();
    Ok(nubo_model::generated::elbv2::DescribeSSLPoliciesOutput { ssl_policies: Some(policies), next_marker: None })
}

pub fn limits() -> Vec<Limit> {
    [
        ("application-load-balancers", "50"),
        ("network-load-balancers", "50"),
        ("target-groups", "3000"),
        ("targets-per-application-load-balancer", "1000"),
        ("targets-per-network-load-balancer", "3000"),
        ("listeners-per-application-load-balancer", "50"),
        ("listeners-per-network-load-balancer", "50"),
        ("rules-per-application-load-balancer", "100"),
        ("targets-per-target-group", "1000"),
    ]
    .iter()
    .map(|(n, m)| Limit { name: Some(n.to_string()), max: Some(m.to_string()) })
    .collect()
}
