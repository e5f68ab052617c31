//! Regions and their Availability Zones, with the names and zone ids AWS uses, and the
//! account attributes EC2 reports.

/// (region, zone-id prefix, number of AZs).
pub const REGIONS: &[(&str, &str, u8)] = &[
    ("us-east-1", "use1", 6),
    ("us-east-2", "use2", 3),
    ("us-west-1", "usw1", 2),
    ("us-west-2", "usw2", 4),
    ("ca-central-1", "cac1", 3),
    ("eu-west-1", "euw1", 3),
    ("eu-west-2", "euw2", 3),
    ("eu-west-3", "euw3", 3),
    ("eu-central-1", "euc1", 3),
    ("eu-north-1", "eun1", 3),
    ("ap-south-1", "aps1", 3),
    ("ap-northeast-1", "apne1", 3),
    ("ap-northeast-2", "apne2", 4),
    ("ap-southeast-1", "apse1", 3),
    ("ap-southeast-2", "apse2", 3),
    ("sa-east-1", "sae1", 3),
];

pub fn known(region: &str) -> bool {
    REGIONS.iter().any(|(r, _, _)| *r == region)
}

/// The zones of a region: (zone name, zone id). Unknown regions get three zones.
pub fn zones(region: &str) -> Vec<(String, String)> {
    let (prefix, n) = REGIONS.iter().find(|(r, _, _)| *r == region).map(|(_, p, n)| (p.to_string(), *n)).unwrap_or_else(|| (region.replace('-', ""), 3));
    (0..n).map(|i| (format!("{region}{}", (b'a' + i) as char), format!("{prefix}-az{}", i + 1))).collect()
}

pub fn zone_id(region: &str, zone: &str) -> Option<String> {
    zones(region).into_iter().find(|(z, _)| z == zone).map(|(_, id)| id)
}

/// What `DescribeAccountAttributes` reports, as for an account in a VPC-only world.
pub fn account_attributes(default_vpc: &str) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("supported-platforms", vec!["VPC".into()]),
        ("default-vpc", vec![default_vpc.to_string()]),
        ("max-instances", vec!["20".into()]),
        ("vpc-max-security-groups-per-interface", vec!["5".into()]),
        ("max-elastic-ips", vec!["5".into()]),
        ("vpc-max-elastic-ips", vec!["5".into()]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_named_after_their_region() {
        let z = zones("us-east-1");
        assert_eq!(z.len(), 6);
        assert_eq!(z[0], ("us-east-1a".to_string(), "use1-az1".to_string()));
        assert_eq!(zones("eu-west-1")[2].0, "eu-west-1c");
        assert_eq!(zone_id("us-west-2", "us-west-2b").as_deref(), Some("usw2-az2"));
    }
}
