//! The public AMIs scripts commonly name, with ids stable per region, and the instance
//! types with their real sizes.

use crate::error::{Ec2Error, Result};
use crate::filters::{one, Filters};
use nubo_core::Scope;
use nubo_model::generated::ec2::*;

pub const AMAZON: &str = "137112412989";
pub const CANONICAL: &str = "099720109477";
pub const DEBIAN: &str = "136693071363";

/// (name, owner, owner alias, architecture, description, creation date, root device).
pub const PUBLIC: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    ("al2023-ami-2023.6.20241212.0-kernel-6.1-x86_64", AMAZON, "amazon", "x86_64", "Amazon Linux 2023 AMI 2023.6.20241212.0 x86_64 HVM kernel-6.1", "2024-12-12T18:30:00.000Z", "/dev/xvda"),
    ("al2023-ami-2023.6.20241212.0-kernel-6.1-arm64", AMAZON, "amazon", "arm64", "Amazon Linux 2023 AMI 2023.6.20241212.0 arm64 HVM kernel-6.1", "2024-12-12T18:30:00.000Z", "/dev/xvda"),
    ("amzn2-ami-kernel-5.10-hvm-2.0.20241217.0-x86_64-gp2", AMAZON, "amazon", "x86_64", "Amazon Linux 2 Kernel 5.10 AMI 2.0.20241217.0 x86_64 HVM gp2", "2024-12-17T20:15:00.000Z", "/dev/xvda"),
    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241206", CANONICAL, "", "x86_64", "Canonical, Ubuntu, 24.04, amd64 noble image", "2024-12-06T08:00:00.000Z", "/dev/sda1"),
    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20241206", CANONICAL, "", "x86_64", "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image", "2024-12-06T08:00:00.000Z", "/dev/sda1"),
    ("debian-12-amd64-20241201-1948", DEBIAN, "", "x86_64", "Debian 12 (20241201-1948)", "2024-12-01T20:00:00.000Z", "/dev/xvda"),
];

/// `ami-` + 17 hex digits, the same for a name in a region every time.
pub fn image_id(name: &str, region: &str) -> String {
    format!("ami-0{:016x}", nubo_core::ids::stable_hash(&[name, region]))
}

/// A public image of `region` by id: its index in [`PUBLIC`].
pub fn public_in(region: &str, id: &str) -> Option<usize> {
    PUBLIC.iter().position(|(name, ..)| image_id(name, region) == id)
}

/// Whether an id names a public image in any region.
pub fn public(id: &str) -> Option<usize> {
    crate::regions::REGIONS.iter().find_map(|(r, _, _)| public_in(r, id))
}

/// `ami-` followed by hex: anything else is malformed.
pub fn check_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix("ami-").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::Malformed { code: "InvalidAMIID.Malformed", message: format!("Invalid id: \"{id}\" (expecting \"ami-...\")") })
    }
}

pub fn image_out(scope: &Scope, i: usize) -> Image {
    let (name, owner, alias, arch, description, created, root) = PUBLIC[i];
    Image {
        platform_details: Some("Linux/UNIX".into()),
        usage_operation: Some("RunInstances".into()),
        block_device_mappings: Some(vec![BlockDeviceMapping {
            device_name: Some(root.into()),
            ebs: Some(EbsBlockDevice {
                delete_on_termination: Some(true),
                snapshot_id: Some(format!("snap-0{}", &image_id(name, &scope.region)[5..])),
                volume_size: Some(8),
                volume_type: Some("gp3".into()),
                encrypted: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        description: Some(description.into()),
        ena_support: Some(true),
        hypervisor: Some("xen".into()),
        image_owner_alias: (!alias.is_empty()).then(|| alias.into()),
        name: Some(name.into()),
        root_device_name: Some(root.into()),
        root_device_type: Some("ebs".into()),
        sriov_net_support: Some("simple".into()),
        virtualization_type: Some("hvm".into()),
        boot_mode: Some(if arch == "arm64" { "uefi" } else { "uefi-preferred" }.into()),
        image_id: Some(image_id(name, &scope.region)),
        image_location: Some(format!("{}/{name}", if alias.is_empty() { owner } else { alias })),
        state: Some("available".into()),
        owner_id: Some(owner.into()),
        creation_date: Some(created.into()),
        public: Some(true),
        architecture: Some(arch.into()),
        image_type: Some("machine".into()),
        free_tier_eligible: Some(arch == "x86_64"),
        ..Default::default()
    }
}

pub fn describe(scope: &Scope, input: DescribeImagesRequest) -> Result<Vec<Image>> {
    for id in input.image_ids.iter().flatten() {
        check_id(id)?;
        if public_in(&scope.region, id).is_none() {
            return Err(Ec2Error::NotFound { code: "InvalidAMIID.NotFound", message: format!("The image id '[{id}]' does not exist") });
        }
    }
    let filters = Filters::new(input.filters)?;
    let mut out = Vec::new();
    for (i, (name, owner, alias, arch, description, ..)) in PUBLIC.iter().enumerate() {
        let id = image_id(name, &scope.region);
        if input.image_ids.as_ref().is_some_and(|ids| !ids.contains(&id)) {
            continue;
        }
        if let Some(owners) = &input.owners {
            let mine = owners.iter().any(|o| o == owner || (!alias.is_empty() && o == alias));
            if !mine {
                continue;
            }
        }
        let ok = filters.matches(&[], |f| match f {
            "name" => one(*name),
            "image-id" => one(&id),
            "owner-id" => one(*owner),
            "owner-alias" => one(*alias),
            "architecture" => one(*arch),
            "description" => one(*description),
            "state" => one("available"),
            "is-public" => one("true"),
            "root-device-type" => one("ebs"),
            "virtualization-type" => one("hvm"),
            "image-type" => one("machine"),
            "platform-details" => one("Linux/UNIX"),
            "hypervisor" => one("xen"),
            _ => None,
        })?;
        if ok {
            out.push(image_out(scope, i));
        }
    }
    Ok(out)
}

/// (type, vCPUs, memory MiB, network performance, architecture, burstable, free tier).
pub const TYPES: &[(&str, i32, i64, &str, &str, bool, bool)] = &[
    // EC2's default when RunInstances names no type.
    ("m1.small", 1, 1740, "Low", "x86_64", false, false),
    ("t2.nano", 1, 512, "Low to Moderate", "x86_64", true, false),
    ("t2.micro", 1, 1024, "Low to Moderate", "x86_64", true, true),
    ("t2.small", 1, 2048, "Low to Moderate", "x86_64", true, false),
    ("t2.medium", 2, 4096, "Low to Moderate", "x86_64", true, false),
    ("t2.large", 2, 8192, "Low to Moderate", "x86_64", true, false),
    ("t3.nano", 2, 512, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3.micro", 2, 1024, "Up to 5 Gigabit", "x86_64", true, true),
    ("t3.small", 2, 2048, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3.medium", 2, 4096, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3.large", 2, 8192, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3a.micro", 2, 1024, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3a.small", 2, 2048, "Up to 5 Gigabit", "x86_64", true, false),
    ("t3a.medium", 2, 4096, "Up to 5 Gigabit", "x86_64", true, false),
    ("t4g.nano", 2, 512, "Up to 5 Gigabit", "arm64", true, false),
    ("t4g.micro", 2, 1024, "Up to 5 Gigabit", "arm64", true, false),
    ("t4g.small", 2, 2048, "Up to 5 Gigabit", "arm64", true, false),
    ("t4g.medium", 2, 4096, "Up to 5 Gigabit", "arm64", true, false),
    ("m5.large", 2, 8192, "Up to 10 Gigabit", "x86_64", false, false),
    ("m5.xlarge", 4, 16384, "Up to 10 Gigabit", "x86_64", false, false),
    ("m5.2xlarge", 8, 32768, "Up to 10 Gigabit", "x86_64", false, false),
    ("m6i.large", 2, 8192, "Up to 12.5 Gigabit", "x86_64", false, false),
    ("m6i.xlarge", 4, 16384, "Up to 12.5 Gigabit", "x86_64", false, false),
    ("m7g.large", 2, 8192, "Up to 12.5 Gigabit", "arm64", false, false),
    ("m7g.xlarge", 4, 16384, "Up to 12.5 Gigabit", "arm64", false, false),
    ("c5.large", 2, 4096, "Up to 10 Gigabit", "x86_64", false, false),
    ("c5.xlarge", 4, 8192, "Up to 10 Gigabit", "x86_64", false, false),
    ("c6i.large", 2, 4096, "Up to 12.5 Gigabit", "x86_64", false, false),
    ("c6i.xlarge", 4, 8192, "Up to 12.5 Gigabit", "x86_64", false, false),
    ("r5.large", 2, 16384, "Up to 10 Gigabit", "x86_64", false, false),
    ("r5.xlarge", 4, 32768, "Up to 10 Gigabit", "x86_64", false, false),
    ("r6i.large", 2, 16384, "Up to 12.5 Gigabit", "x86_64", false, false),
    ("r6i.xlarge", 4, 32768, "Up to 12.5 Gigabit", "x86_64", false, false),
];

pub fn instance_type(name: &str) -> Option<&'static (&'static str, i32, i64, &'static str, &'static str, bool, bool)> {
    TYPES.iter().find(|t| t.0 == name)
}

pub fn describe_types(input: DescribeInstanceTypesRequest) -> Result<Vec<InstanceTypeInfo>> {
    for t in input.instance_types.iter().flatten() {
        if instance_type(t).is_none() {
            return Err(Ec2Error::InvalidParameterValue(format!("The following supplied instance types do not exist: [{t}]")));
        }
    }
    let filters = Filters::new(input.filters)?;
    let mut out = Vec::new();
    for (name, vcpus, mem, net, arch, burstable, free) in TYPES {
        if input.instance_types.as_ref().is_some_and(|t| !t.iter().any(|x| x == name)) {
            continue;
        }
        let ok = filters.matches(&[], |f| match f {
            "instance-type" => one(*name),
            "vcpu-info.default-vcpus" => one(vcpus.to_string()),
            "memory-info.size-in-mib" => one(mem.to_string()),
            "processor-info.supported-architecture" => one(*arch),
            "burstable-performance-supported" => one(burstable.to_string()),
            "free-tier-eligible" => one(free.to_string()),
            "current-generation" => one((!name.starts_with("t2")).to_string()),
            _ => None,
        })?;
        if ok {
            out.push(InstanceTypeInfo {
                instance_type: Some(name.to_string()),
                current_generation: Some(!name.starts_with("t2")),
                free_tier_eligible: Some(*free),
                supported_usage_classes: Some(vec!["on-demand".into(), "spot".into()]),
                supported_root_device_types: Some(vec!["ebs".into()]),
                supported_virtualization_types: Some(vec!["hvm".into()]),
                bare_metal: Some(false),
                hypervisor: Some(if name.starts_with("t2") { "xen" } else { "nitro" }.into()),
                processor_info: Some(ProcessorInfo { supported_architectures: Some(vec![arch.to_string()]), ..Default::default() }),
                v_cpu_info: Some(VCpuInfo { default_v_cpus: Some(*vcpus), default_cores: Some((*vcpus / 2).max(1)), default_threads_per_core: Some(if *vcpus > 1 { 2 } else { 1 }), ..Default::default() }),
                memory_info: Some(MemoryInfo { size_in_mi_b: Some(*mem) }),
                instance_storage_supported: Some(false),
                network_info: Some(NetworkInfo { network_performance: Some(net.to_string()), maximum_network_interfaces: Some(if *vcpus <= 2 { 3 } else { 4 }), ipv6_supported: Some(true), ..Default::default() }),
                burstable_performance_supported: Some(*burstable),
                supported_boot_modes: Some(vec!["legacy-bios".into(), "uefi".into()]),
                ..Default::default()
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_are_stable_per_region_and_well_formed() {
        let a = image_id(PUBLIC[0].0, "us-east-1");
        assert_eq!(a, image_id(PUBLIC[0].0, "us-east-1"));
        assert_ne!(a, image_id(PUBLIC[0].0, "eu-west-1"));
        assert!(check_id(&a).is_ok() && a.len() == 21);
        assert_eq!(public_in("us-east-1", &a), Some(0));
        assert!(check_id("ami-zz").is_err());
    }
}

/// Every instance type is offered in every region and zone nubo knows.
pub fn describe_offerings(region: &str, input: DescribeInstanceTypeOfferingsRequest) -> Result<Vec<InstanceTypeOffering>> {
    let filters = Filters::new(input.filters)?;
    let location_type = input.location_type.unwrap_or_else(|| "region".into());
    let locations: Vec<String> = match location_type.as_str() {
        "region" => vec![region.to_string()],
        "availability-zone" => crate::regions::zones(region).into_iter().map(|(name, _)| name).collect(),
        "availability-zone-id" => crate::regions::zones(region).into_iter().map(|(_, id)| id).collect(),
        other => return Err(Ec2Error::InvalidParameterValue(format!("Value ({other}) for parameter locationType is invalid."))),
    };
    let mut out = Vec::new();
    for location in &locations {
        for t in TYPES {
            if filters.matches(&[], |f| match f {
                "instance-type" => one(t.0),
                "location" => one(location),
                _ => None,
            })? {
                out.push(InstanceTypeOffering { instance_type: Some(t.0.into()), location_type: Some(location_type.clone()), location: Some(location.clone()) });
            }
        }
    }
    Ok(out)
}
