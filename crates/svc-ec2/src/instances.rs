//! Instances: launching into a subnet (private address from its block, a public one where
//! the subnet maps them), and the lifecycle pending → running → stopping → stopped →
//! shutting-down → terminated. A transition started by a call completes on nubo's clock
//! ([`TRANSITION_SECS`]); the state is settled whenever an instance is read or changed
//! (`settle`), so no background loop is needed and tests advance the clock. Terminated
//! instances stay visible for an hour, as on AWS. The runtime issue makes them run.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::network::{self, Cidr};
use crate::records::{self, InstanceRecord, SecurityGroupRecord, SubnetRecord, VpcRecord};
use crate::{images, tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use serde::{Deserialize, Serialize};

/// How long a transition takes on nubo's clock (boot, stop, shutdown).
pub const TRANSITION_SECS: i64 = 5;
/// How long a terminated instance stays visible.
pub const TERMINATED_VISIBLE_SECS: i64 = 3600;
/// Running and pending instances per region: nubo's quota, as instances (AWS counts vCPUs).
pub const MAX_INSTANCES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

impl State {
    pub fn code(self) -> i32 {
        match self {
            State::Pending => 0,
            State::Running => 16,
            State::ShuttingDown => 32,
            State::Terminated => 48,
            State::Stopping => 64,
            State::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::ShuttingDown => "shutting-down",
            State::Terminated => "terminated",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
        }
    }

    fn out(self) -> InstanceState {
        InstanceState { code: Some(self.code()), name: Some(self.name().into()) }
    }
}

impl InstanceRecord {
    /// Completes the transition under way if its time has come.
    pub fn settle(&mut self, now: Timestamp) -> bool {
        if now.as_millis() - self.state_since.as_millis() < TRANSITION_SECS * 1000 {
            return false;
        }
        let next = match self.state {
            State::Pending => State::Running,
            State::Stopping => State::Stopped,
            State::ShuttingDown => State::Terminated,
            _ => return false,
        };
        self.state_since = self.state_since.add_millis(TRANSITION_SECS * 1000);
        self.state = next;
        if next == State::Stopped && self.state_reason.is_none() {
            self.state_reason = Some(("Client.UserInitiatedShutdown".into(), "Client.UserInitiatedShutdown: User initiated shutdown".into()));
        }
        if next == State::Terminated {
            self.public_ip = None;
        }
        true
    }

    fn gone(&self, now: Timestamp) -> bool {
        self.state == State::Terminated && now.as_millis() - self.state_since.as_millis() > TERMINATED_VISIBLE_SECS * 1000
    }
}

fn check_instance_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix("i-").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::Malformed { code: "InvalidInstanceID.Malformed", message: format!("Invalid id: \"{id}\"") })
    }
}

pub(crate) fn dns_private(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

pub(crate) fn dns_public(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        format!("ec2-{dashed}.{region}.compute.amazonaws.com")
    }
}

fn mac() -> String {
    format!("0e:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", fastrand::u8(..), fastrand::u8(..), fastrand::u8(..), fastrand::u8(..), fastrand::u8(..))
}

/// The instances of a scope as they are at `now`, inside a transaction (not saved): what
/// every check of "is this instance live" reads.
pub(crate) fn settled(tx: &(impl nubo_store::ReadTxn + ?Sized), scope: &Scope, now: Timestamp) -> Result<Vec<InstanceRecord>> {
    let mut all = records::all::<InstanceRecord>(tx, scope)?;
    for i in &mut all {
        i.settle(now);
    }
    Ok(all.into_iter().filter(|i| !i.gone(now)).collect())
}

impl Ec2 {
    /// All instances of a scope, settled to `now`; the ones whose state moved are saved and
    /// the ones past their visibility after termination are deleted.
    fn instances(&self, scope: &Scope) -> Result<Vec<InstanceRecord>> {
        let now = self.clock.now();
        let mut all = self.read(|tx| records::all::<InstanceRecord>(tx, scope))?;
        let moved = all.iter_mut().fold(false, |m, i| i.settle(now) | m) || all.iter().any(|i| i.gone(now));
        if moved {
            self.write(|tx| {
                // Settle what is stored (it may have changed since the read).
                for mut current in records::all::<InstanceRecord>(tx, scope)? {
                    if current.settle(now) {
                        records::put(tx, scope, &current)?;
                    }
                    if current.gone(now) {
                        records::delete::<InstanceRecord>(tx, scope, &current.id)?;
                    }
                }
                Ok(())
            })?;
        }
        Ok(all.into_iter().filter(|i| !i.gone(now)).collect())
    }

    pub(crate) fn run_instances(&self, scope: &Scope, ctx_account: &str, mut input: RunInstancesRequest) -> Result<Reservation> {
        self.apply_launch_template(scope, &mut input)?;
        let image_id = input.image_id.clone().ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter ImageId".into()))?;
        let image = self.read(|tx| self.image_info(tx, scope, &image_id))?;
        let instance_type = input.instance_type.clone().unwrap_or_else(|| "m1.small".into());
        let Some(itype) = images::instance_type(&instance_type) else {
            return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{instance_type}' for InstanceType.")));
        };
        let arch = image.architecture.as_str();
        if itype.4 != arch {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "The architecture '{}' of the specified instance type does not match the architecture '{arch}' of the specified AMI.",
                itype.4
            )));
        }
        if input.min_count < 1 || input.max_count < input.min_count {
            return Err(Ec2Error::InvalidParameterValue(format!("Invalid value for MinCount ({}) and MaxCount ({})", input.min_count, input.max_count)));
        }
        let now = self.clock.now();
        let tags = tags::from_specs(&input.tag_specifications, "instance");
        if let Some(key) = &input.key_name {
            self.key_pair(scope, key)?;
        }
        let reservation_id = resource_id("r");
        let placement_zone = input.placement.as_ref().and_then(|p| p.availability_zone.clone());
        let subnet_hint = input.subnet_id.clone().or_else(|| input.network_interfaces.iter().flatten().find_map(|n| n.subnet_id.clone()));
        let associate_public = input.network_interfaces.iter().flatten().find_map(|n| n.associate_public_ip_address);
        let mut group_ids: Vec<String> = input.security_group_ids.clone().unwrap_or_default();
        group_ids.extend(input.network_interfaces.iter().flatten().flat_map(|n| n.groups.clone().unwrap_or_default()));
        let group_names = input.security_groups.clone().unwrap_or_default();
        let launched = self.write(|tx| {
            // The client token and the limit are read where the launch is written.
            let existing = settled(tx, scope, now)?;
            if let Some(token) = &input.client_token {
                if let Some(first) = existing.iter().find(|i| i.client_token.as_deref() == Some(token.as_str())) {
                    return Ok(Err(first.reservation_id.clone()));
                }
            }
            let active = existing.iter().filter(|i| matches!(i.state, State::Pending | State::Running)).count();
            let room = MAX_INSTANCES.saturating_sub(active);
            if room < input.min_count as usize {
                return Err(Ec2Error::LimitExceeded {
                    code: "InstanceLimitExceeded",
                    message: format!("You have requested more instances ({}) than your current instance limit of {MAX_INSTANCES} allows for the specified instance type.", input.min_count),
                });
            }
            let count = (input.max_count as usize).min(room);
            let subnets = records::all::<SubnetRecord>(tx, scope)?;
            let mut subnet = match (&subnet_hint, &placement_zone) {
                (Some(id), _) => subnets.into_iter().find(|s| &s.id == id).ok_or_else(|| not_found(records::Kind::Subnet, id))?,
                (None, zone) => subnets
                    .into_iter()
                    .filter(|s| s.default_for_az && zone.as_ref().is_none_or(|z| &s.availability_zone == z))
                    .min_by(|a, b| a.availability_zone.cmp(&b.availability_zone))
                    .ok_or_else(|| Ec2Error::Invalid { code: "VPCIdNotSpecified", message: "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.".into() })?,
            };
            let vpc: VpcRecord = records::must(tx, scope, &subnet.vpc_id)?;
            let groups_in_vpc: Vec<SecurityGroupRecord> = records::all::<SecurityGroupRecord>(tx, scope)?.into_iter().filter(|g| g.vpc_id == vpc.id).collect();
            let mut groups = Vec::new();
            for id in &group_ids {
                let g = groups_in_vpc.iter().find(|g| &g.id == id).ok_or_else(|| not_found(records::Kind::SecurityGroup, id))?;
                groups.push((g.id.clone(), g.name.clone()));
            }
            for name in &group_names {
                let g = groups_in_vpc.iter().find(|g| &g.name == name).ok_or_else(|| Ec2Error::NotFound { code: "InvalidGroup.NotFound", message: format!("The security group '{name}' does not exist in VPC '{}'", vpc.id) })?;
                groups.push((g.id.clone(), g.name.clone()));
            }
            if groups.is_empty() {
                let g = groups_in_vpc.iter().find(|g| g.name == "default").ok_or_else(|| Ec2Error::Internal("VPC without default group".into()))?;
                groups.push((g.id.clone(), g.name.clone()));
            }
            let block = Cidr::parse(&subnet.cidr).ok_or_else(|| Ec2Error::Internal("stored subnet CIDR".into()))?;
            let mut out = Vec::new();
            let mut extras: Vec<crate::volumes::VolumeRecord> = Vec::new();
            for index in 0..count {
                let offset = network::next_host(&block, &subnet.used).ok_or_else(|| Ec2Error::Invalid {
                    code: "InsufficientFreeAddressesInSubnet",
                    message: format!("There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.", subnet.id),
                })?;
                subnet.used.push(offset);
                let private_ip = block.host(offset).to_string();
                let wants_public = associate_public.unwrap_or(subnet.map_public_ip_on_launch);
                let instance = InstanceRecord {
                    id: resource_id("i"),
                    reservation_id: reservation_id.clone(),
                    image_id: image_id.clone(),
                    instance_type: instance_type.clone(),
                    key_name: input.key_name.clone(),
                    subnet_id: subnet.id.clone(),
                    vpc_id: vpc.id.clone(),
                    availability_zone: subnet.availability_zone.clone(),
                    private_ip,
                    public_ip: if wants_public { Some(crate::addresses::fresh_public_ip(tx, scope)?) } else { None },
                    security_groups: groups.clone(),
                    state: State::Pending,
                    state_since: now,
                    state_reason: None,
                    state_transition_reason: String::new(),
                    launch_time: now,
                    ami_launch_index: index as i32,
                    user_data: input.user_data.clone(),
                    iam_instance_profile: input.iam_instance_profile.as_ref().and_then(|p| p.arn.clone().or(p.name.clone())),
                    client_token: input.client_token.clone(),
                    disable_api_termination: input.disable_api_termination.unwrap_or(false),
                    shutdown_behavior: input.instance_initiated_shutdown_behavior.clone().unwrap_or_else(|| "stop".into()),
                    root_device_name: image.root_device_name.clone(),
                    root_volume_id: resource_id("vol"),
                    eni_id: resource_id("eni"),
                    mac: mac(),
                    architecture: arch.into(),
                    monitoring: input.monitoring.as_ref().is_some_and(|m| m.enabled),
                    boots: 0,
                    impaired: false,
                };
                records::put(tx, scope, &instance)?;
                tags::set(tx, scope, &instance.id, &tags)?;
                let mut root = crate::volumes::VolumeRecord::root(&instance.root_volume_id, &instance.id, &instance.root_device_name, &instance.availability_zone, now, Some(image.root_snapshot.clone()));
                root.size_gib = image.root_size;
                // Block device mappings size the root volume and add volumes beside it.
                for m in input.block_device_mappings.iter().flatten() {
                    let (Some(device), Some(ebs)) = (&m.device_name, &m.ebs) else { continue };
                    let volume = if *device == instance.root_device_name {
                        &mut root
                    } else {
                        let extra = crate::volumes::VolumeRecord::root(&resource_id("vol"), &instance.id, device, &instance.availability_zone, now, ebs.snapshot_id.clone());
                        records::put(tx, scope, &extra)?;
                        extras.push(extra);
                        extras.last_mut().expect("just pushed")
                    };
                    if let Some(size) = ebs.volume_size {
                        volume.size_gib = size;
                    }
                    if let Some(t) = &ebs.volume_type {
                        volume.volume_type = t.clone();
                    }
                    if let Some(dot) = ebs.delete_on_termination {
                        if let Some(a) = volume.attachment.as_mut() {
                            a.3 = dot;
                        }
                    }
                    volume.encrypted = ebs.encrypted.unwrap_or(volume.encrypted);
                }
                for extra in &extras {
                    records::put(tx, scope, extra)?;
                }
                extras.clear();
                records::put(tx, scope, &root)?;
                out.push(instance);
            }
            records::put(tx, scope, &subnet)?;
            Ok(Ok(out))
        })?;
        let launched = match launched {
            Ok(l) => l,
            // A retry with the same client token: the first launch's reservation.
            Err(reservation) => return self.reservation(scope, ctx_account, &reservation),
        };
        let items: Vec<(InstanceRecord, Vec<(String, String)>)> = launched.into_iter().map(|i| (i, tags.clone())).collect();
        let volumes = self.read(|tx| records::all::<crate::volumes::VolumeRecord>(tx, scope))?;
        Ok(reservation_out(scope, ctx_account, &reservation_id, &items, &volumes))
    }

    fn reservation(&self, scope: &Scope, account: &str, reservation_id: &str) -> Result<Reservation> {
        let items = self.tagged_instances(scope)?.into_iter().filter(|(i, _)| i.reservation_id == reservation_id).collect::<Vec<_>>();
        let volumes = self.read(|tx| records::all::<crate::volumes::VolumeRecord>(tx, scope))?;
        Ok(reservation_out(scope, account, reservation_id, &items, &volumes))
    }

    fn tagged_instances(&self, scope: &Scope) -> Result<Vec<(InstanceRecord, Vec<(String, String)>)>> {
        let all = self.instances(scope)?;
        self.read(|tx| all.into_iter().map(|i| Ok((tags::of(tx, scope, &i.id)?, i))).collect::<Result<Vec<_>>>())
            .map(|v| v.into_iter().map(|(t, i)| (i, t)).collect())
    }

    pub(crate) fn describe_instances(&self, scope: &Scope, ids: Option<Vec<String>>, filters: &Filters) -> Result<Vec<Reservation>> {
        for id in ids.iter().flatten() {
            check_instance_id(id)?;
        }
        let all = self.tagged_instances(scope)?;
        records::check_ids(ids.as_deref(), all.iter().map(|(i, _)| i.id.as_str()), records::Kind::Instance)?;
        let mut reservations: Vec<(String, Vec<(InstanceRecord, Vec<(String, String)>)>)> = Vec::new();
        for (i, t) in all {
            if ids.as_ref().is_some_and(|ids| !ids.contains(&i.id)) {
                continue;
            }
            let ok = filters.matches(&t, |name| instance_filter(scope, &i, name))?;
            if !ok {
                continue;
            }
            match reservations.iter_mut().find(|(r, _)| *r == i.reservation_id) {
                Some((_, items)) => items.push((i, t)),
                None => reservations.push((i.reservation_id.clone(), vec![(i, t)])),
            }
        }
        let volumes = self.read(|tx| records::all::<crate::volumes::VolumeRecord>(tx, scope))?;
        Ok(reservations.iter().map(|(r, items)| reservation_out(scope, &scope.account, r, items, &volumes)).collect())
    }

    pub(crate) fn describe_instance_status(&self, scope: &Scope, input: DescribeInstanceStatusRequest) -> Result<Vec<InstanceStatus>> {
        let filters = Filters::new(input.filters)?;
        let all = self.tagged_instances(scope)?;
        records::check_ids(input.instance_ids.as_deref(), all.iter().map(|(i, _)| i.id.as_str()), records::Kind::Instance)?;
        let include_all = input.include_all_instances.unwrap_or(false);
        let mut out = Vec::new();
        for (i, t) in all {
            if input.instance_ids.as_ref().is_some_and(|ids| !ids.contains(&i.id)) || (!include_all && i.state != State::Running) {
                continue;
            }
            let status = match i.state {
                State::Running if i.impaired => "impaired",
                State::Running => "ok",
                _ => "not-applicable",
            };
            let ok = filters.matches(&t, |name| match name {
                "instance-state-name" => one(i.state.name()),
                "instance-state-code" => one(i.state.code().to_string()),
                "availability-zone" => one(&i.availability_zone),
                "instance-status.status" | "system-status.status" => one(status),
                _ => None,
            })?;
            if !ok {
                continue;
            }
            let summary = |status: &str| InstanceStatusSummary {
                details: Some(vec![InstanceStatusDetails {
                    name: Some("reachability".into()),
                    status: Some(match status { "ok" => "passed", "impaired" => "failed", _ => "not-applicable" }.into()),
                    impaired_since: (status == "impaired").then_some(i.state_since),
                }]),
                status: Some(status.into()),
            };
            // A machine that died is the instance's own failure; the host stays fine.
            let system = if status == "impaired" { "ok" } else { status };
            out.push(InstanceStatus {
                availability_zone: Some(i.availability_zone.clone()),
                availability_zone_id: crate::regions::zone_id(&scope.region, &i.availability_zone),
                instance_id: Some(i.id.clone()),
                instance_state: Some(i.state.out()),
                instance_status: Some(summary(status)),
                system_status: Some(summary(system)),
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// Moves instances into a new state; returns their state changes.
    pub(crate) fn change_state(&self, scope: &Scope, ids: &[String], action: Action) -> Result<Vec<InstanceStateChange>> {
        for id in ids {
            check_instance_id(id)?;
        }
        let now = self.clock.now();
        self.write(|tx| {
            let mut changes = Vec::new();
            let mut updated = Vec::new();
            for id in ids {
                let mut i: InstanceRecord = records::get(tx, scope, id)?.filter(|i: &InstanceRecord| !i.gone(now)).ok_or_else(|| not_found(records::Kind::Instance, id))?;
                i.settle(now);
                let previous = i.state;
                let next = match (action, i.state) {
                    (Action::Stop, State::Pending | State::Running) => Some(State::Stopping),
                    (Action::Stop, State::Stopping | State::Stopped) => None,
                    (Action::Start, State::Stopped) => Some(State::Pending),
                    (Action::Start, State::Pending | State::Running) => None,
                    (Action::Terminate, State::ShuttingDown | State::Terminated) => None,
                    (Action::Terminate, _) if i.disable_api_termination => {
                        return Err(Ec2Error::OperationNotPermitted(format!(
                            "The instance '{id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."
                        )))
                    }
                    (Action::Terminate, _) => Some(State::ShuttingDown),
                    (Action::Reboot, State::Running | State::Pending) => {
                        // The runtime boots the machine again.
                        i.boots += 1;
                        i.impaired = false;
                        updated.push(i.clone());
                        None
                    }
                    (action, state) => {
                        let verb = match action {
                            Action::Stop => "stopped",
                            Action::Start => "started",
                            Action::Reboot => "rebooted",
                            Action::Terminate => "terminated",
                        };
                        let _ = state;
                        return Err(Ec2Error::IncorrectInstanceState(format!("This instance '{id}' is not in a state from which it can be {verb}.")));
                    }
                };
                if let Some(next) = next {
                    i.state = next;
                    i.state_since = now;
                    i.state_transition_reason = format!("User initiated ({})", now.to_iso8601_seconds().replace('T', " ").replace('Z', " GMT"));
                    let elastic = crate::addresses::elastic_ip_of(tx, scope, &i.id)?;
                    match next {
                        // A stopped instance keeps its Elastic IP, and loses any other public address.
                        State::Stopping => i.public_ip = elastic,
                        State::Pending => {
                            i.state_reason = None;
                            i.impaired = false;
                            let subnet: SubnetRecord = records::must(tx, scope, &i.subnet_id)?;
                            i.public_ip = match elastic {
                                Some(ip) => Some(ip),
                                None if subnet.map_public_ip_on_launch => Some(crate::addresses::fresh_public_ip(tx, scope)?),
                                None => None,
                            };
                        }
                        State::ShuttingDown => {
                            crate::addresses::release_from(tx, scope, &i.id)?;
                            // Volumes that go with the instance go; the others are detached.
                            for mut v in records::all::<crate::volumes::VolumeRecord>(tx, scope)? {
                                if let Some((owner, _, _, delete)) = v.attachment.clone() {
                                    if owner == i.id {
                                        if delete {
                                            records::delete::<crate::volumes::VolumeRecord>(tx, scope, &v.id)?;
                                        } else {
                                            v.attachment = None;
                                            records::put(tx, scope, &v)?;
                                        }
                                    }
                                }
                            }
                            i.state_reason = Some(("Client.UserInitiatedShutdown".into(), "Client.UserInitiatedShutdown: User initiated shutdown".into()));
                            // Its address goes back to the subnet.
                            let mut subnet: SubnetRecord = records::must(tx, scope, &i.subnet_id)?;
                            if let (Some(block), Ok(ip)) = (Cidr::parse(&subnet.cidr), i.private_ip.parse::<std::net::Ipv4Addr>()) {
                                let offset = u32::from(ip).wrapping_sub(block.base);
                                subnet.used.retain(|o| *o != offset);
                                records::put(tx, scope, &subnet)?;
                            }
                        }
                        _ => {}
                    }
                    updated.push(i.clone());
                }
                changes.push(InstanceStateChange { instance_id: Some(id.clone()), current_state: Some(i.state.out()), previous_state: Some(previous.out()) });
            }
            for i in &updated {
                records::put(tx, scope, i)?;
            }
            Ok(changes)
        })
    }

    pub(crate) fn describe_instance_attribute(&self, scope: &Scope, id: &str, attribute: &str) -> Result<InstanceAttribute> {
        check_instance_id(id)?;
        let i = self.instances(scope)?.into_iter().find(|i| i.id == id).ok_or_else(|| not_found(records::Kind::Instance, id))?;
        let mut out = InstanceAttribute { instance_id: Some(i.id.clone()), ..Default::default() };
        let text = |v: &str| Some(AttributeValue { value: Some(v.to_string()) });
        match attribute {
            "instanceType" => out.instance_type = text(&i.instance_type),
            "userData" => out.user_data = Some(AttributeValue { value: i.user_data.clone() }),
            "disableApiTermination" => out.disable_api_termination = Some(AttributeBooleanValue { value: Some(i.disable_api_termination) }),
            "instanceInitiatedShutdownBehavior" => out.instance_initiated_shutdown_behavior = text(&i.shutdown_behavior),
            "rootDeviceName" => out.root_device_name = text(&i.root_device_name),
            "groupSet" => out.groups = Some(i.security_groups.iter().map(|(g, n)| GroupIdentifier { group_id: Some(g.clone()), group_name: Some(n.clone()) }).collect()),
            "sourceDestCheck" => out.source_dest_check = Some(AttributeBooleanValue { value: Some(true) }),
            "ebsOptimized" => out.ebs_optimized = Some(AttributeBooleanValue { value: Some(false) }),
            "enaSupport" => out.ena_support = Some(AttributeBooleanValue { value: Some(true) }),
            "disableApiStop" => out.disable_api_stop = Some(AttributeBooleanValue { value: Some(false) }),
            "sriovNetSupport" => out.sriov_net_support = text("simple"),
            "productCodes" => out.product_codes = Some(Vec::new()),
            "kernel" | "ramdisk" => {}
            other => return Err(Ec2Error::InvalidParameterValue(format!("Value ({other}) for parameter attribute is invalid. Unknown attribute."))),
        }
        Ok(out)
    }

    /// Changes an attribute; the instance type and user data only while stopped, as on AWS.
    pub(crate) fn modify_instance_attribute(&self, scope: &Scope, input: ModifyInstanceAttributeRequest) -> Result<()> {
        check_instance_id(&input.instance_id)?;
        let now = self.clock.now();
        self.write(|tx| {
            let mut i: InstanceRecord = records::get(tx, scope, &input.instance_id)?.ok_or_else(|| not_found(records::Kind::Instance, &input.instance_id))?;
            i.settle(now);
            let must_be_stopped = |what: &str| -> Result<()> {
                if i.state != State::Stopped {
                    return Err(Ec2Error::IncorrectInstanceState(format!("The instance '{}' is not in the 'stopped' state; {what} can only be changed while it is stopped.", i.id)));
                }
                Ok(())
            };
            let instance_type = input.instance_type.as_ref().and_then(|v| v.value.clone()).or(input.attribute.as_deref().filter(|a| *a == "instanceType").and(input.value.clone()));
            if let Some(t) = instance_type {
                must_be_stopped("its instance type")?;
                if images::instance_type(&t).is_none() {
                    return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{t}' for InstanceType.")));
                }
                i.instance_type = t;
            }
            if let Some(data) = input.user_data.as_ref().and_then(|v| v.value.clone()) {
                must_be_stopped("its user data")?;
                // Kept base64-encoded, as RunInstances takes it and DescribeInstanceAttribute shows it.
                i.user_data = Some(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data));
            }
            if let Some(v) = input.disable_api_termination.as_ref().and_then(|v| v.value) {
                i.disable_api_termination = v;
            }
            if let Some(v) = input.instance_initiated_shutdown_behavior.as_ref().and_then(|v| v.value.clone()) {
                i.shutdown_behavior = v;
            }
            if let Some(groups) = &input.groups {
                let mut named = Vec::new();
                for g in groups {
                    let sg: SecurityGroupRecord = records::must(tx, scope, g)?;
                    named.push((sg.id, sg.name));
                }
                i.security_groups = named;
            }
            records::put(tx, scope, &i)
        })
    }

    /// The network interfaces of live instances (one each, made with the instance).
    pub(crate) fn describe_network_interfaces(&self, scope: &Scope, input: DescribeNetworkInterfacesRequest) -> Result<Vec<NetworkInterface>> {
        let filters = Filters::new(input.filters)?;
        let live: Vec<InstanceRecord> = self.instances(scope)?.into_iter().filter(|i| i.state != State::Terminated).collect();
        for id in input.network_interface_ids.iter().flatten() {
            if !live.iter().any(|i| &i.eni_id == id) {
                return Err(Ec2Error::NotFound { code: "InvalidNetworkInterfaceID.NotFound", message: format!("The networkInterface ID '{id}' does not exist") });
            }
        }
        let mut out = Vec::new();
        for i in &live {
            if input.network_interface_ids.as_ref().is_some_and(|ids| !ids.contains(&i.eni_id)) {
                continue;
            }
            let ok = filters.matches(&[], |name| match name {
                "network-interface-id" => one(&i.eni_id),
                "subnet-id" => one(&i.subnet_id),
                "vpc-id" => one(&i.vpc_id),
                "group-id" => Some(i.security_groups.iter().map(|(g, _)| g.clone()).collect()),
                "attachment.instance-id" => one(&i.id),
                "private-ip-address" | "addresses.private-ip-address" => one(&i.private_ip),
                "availability-zone" => one(&i.availability_zone),
                "status" => one("in-use"),
                "interface-type" => one("interface"),
                _ => None,
            })?;
            if !ok {
                continue;
            }
            let private_dns = dns_private(&i.private_ip, &scope.region);
            let association = i.public_ip.as_ref().map(|ip| NetworkInterfaceAssociation {
                ip_owner_id: Some("amazon".into()),
                public_dns_name: Some(dns_public(ip, &scope.region)),
                public_ip: Some(ip.clone()),
                ..Default::default()
            });
            out.push(NetworkInterface {
                association: association.clone(),
                attachment: Some(NetworkInterfaceAttachment {
                    attach_time: Some(i.launch_time),
                    attachment_id: Some(format!("eni-attach-{}", &i.eni_id[4..])),
                    delete_on_termination: Some(true),
                    device_index: Some(0),
                    network_card_index: Some(0),
                    instance_id: Some(i.id.clone()),
                    instance_owner_id: Some(scope.account.clone()),
                    status: Some("attached".into()),
                    ..Default::default()
                }),
                availability_zone: Some(i.availability_zone.clone()),
                description: Some(String::new()),
                groups: Some(i.security_groups.iter().map(|(g, n)| GroupIdentifier { group_id: Some(g.clone()), group_name: Some(n.clone()) }).collect()),
                interface_type: Some("interface".into()),
                mac_address: Some(i.mac.clone()),
                network_interface_id: Some(i.eni_id.clone()),
                owner_id: Some(scope.account.clone()),
                private_dns_name: Some(private_dns.clone()),
                private_ip_address: Some(i.private_ip.clone()),
                private_ip_addresses: Some(vec![NetworkInterfacePrivateIpAddress {
                    association,
                    primary: Some(true),
                    private_dns_name: Some(private_dns),
                    private_ip_address: Some(i.private_ip.clone()),
                }]),
                requester_managed: Some(false),
                source_dest_check: Some(true),
                status: Some("in-use".into()),
                subnet_id: Some(i.subnet_id.clone()),
                tag_set: Some(Vec::new()),
                vpc_id: Some(i.vpc_id.clone()),
                availability_zone_id: crate::regions::zone_id(&scope.region, &i.availability_zone),
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// Burstable types earn CPU credits: t2 in `standard` mode, later ones `unlimited`.
    pub(crate) fn credit_specifications(&self, scope: &Scope, ids: Option<Vec<String>>) -> Result<Vec<InstanceCreditSpecification>> {
        let all = self.instances(scope)?;
        records::check_ids(ids.as_deref(), all.iter().map(|i| i.id.as_str()), records::Kind::Instance)?;
        Ok(all
            .into_iter()
            .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.id)))
            .filter(|i| images::instance_type(&i.instance_type).is_some_and(|t| t.5))
            .map(|i| InstanceCreditSpecification {
                cpu_credits: Some(if i.instance_type.starts_with("t2.") { "standard" } else { "unlimited" }.into()),
                instance_id: Some(i.id),
            })
            .collect())
    }

    /// The console of an instance: what its machine printed (the last 64 KB).
    pub(crate) fn console_output(&self, scope: &Scope, id: &str) -> Result<GetConsoleOutputResult> {
        check_instance_id(id)?;
        let i = self.instances(scope)?.into_iter().find(|i| i.id == id).ok_or_else(|| not_found(records::Kind::Instance, id))?;
        use base64::Engine;
        let output = self.runtime.as_ref().and_then(|r| r.console(&i.id)).map(|b| base64::engine::general_purpose::STANDARD.encode(b));
        Ok(GetConsoleOutputResult { instance_id: Some(i.id), timestamp: Some(self.clock.now()), output })
    }

}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Reboot,
    Terminate,
}

fn instance_filter(scope: &Scope, i: &InstanceRecord, name: &str) -> Option<Vec<String>> {
    match name {
        "instance-id" => one(&i.id),
        "instance-state-name" => one(i.state.name()),
        "instance-state-code" => one(i.state.code().to_string()),
        "instance-type" => one(&i.instance_type),
        "image-id" => one(&i.image_id),
        "vpc-id" => one(&i.vpc_id),
        "subnet-id" => one(&i.subnet_id),
        "availability-zone" => one(&i.availability_zone),
        "key-name" => Some(i.key_name.iter().cloned().collect()),
        "private-ip-address" | "network-interface.addresses.private-ip-address" => one(&i.private_ip),
        "ip-address" => Some(i.public_ip.iter().cloned().collect()),
        "reservation-id" => one(&i.reservation_id),
        "instance.group-id" | "group-id" => Some(i.security_groups.iter().map(|(g, _)| g.clone()).collect()),
        "instance.group-name" | "group-name" => Some(i.security_groups.iter().map(|(_, n)| n.clone()).collect()),
        "private-dns-name" => one(dns_private(&i.private_ip, &scope.region)),
        "dns-name" => Some(i.public_ip.iter().map(|ip| dns_public(ip, &scope.region)).collect()),
        "architecture" => one(&i.architecture),
        "owner-id" => one(&scope.account),
        "root-device-type" => one("ebs"),
        "iam-instance-profile.arn" => Some(i.iam_instance_profile.iter().cloned().collect()),
        _ => None,
    }
}

fn reservation_out(scope: &Scope, account: &str, reservation_id: &str, items: &[(InstanceRecord, Vec<(String, String)>)], volumes: &[crate::volumes::VolumeRecord]) -> Reservation {
    Reservation {
        reservation_id: Some(reservation_id.to_string()),
        owner_id: Some(account.to_string()),
        groups: Some(Vec::new()),
        instances: Some(items.iter().map(|(i, t)| instance_out(scope, i, t, volumes)).collect()),
        requester_id: None,
    }
}

/// An instance as EC2 shows it; its block devices are the volumes attached to it.
fn instance_out(scope: &Scope, i: &InstanceRecord, tags: &[(String, String)], volumes: &[crate::volumes::VolumeRecord]) -> Instance {
    let groups: Vec<GroupIdentifier> = i.security_groups.iter().map(|(id, name)| GroupIdentifier { group_id: Some(id.clone()), group_name: Some(name.clone()) }).collect();
    let private_dns = dns_private(&i.private_ip, &scope.region);
    let public_dns = i.public_ip.as_ref().map(|ip| dns_public(ip, &scope.region)).unwrap_or_default();
    let live = i.state != State::Terminated;
    Instance {
        architecture: Some(i.architecture.clone()),
        block_device_mappings: Some(
            volumes
                .iter()
                .filter_map(|v| v.attachment.as_ref().filter(|a| a.0 == i.id).map(|a| (v, a)))
                .map(|(v, (_, device, at, dot))| InstanceBlockDeviceMapping {
                    device_name: Some(device.clone()),
                    ebs: Some(EbsInstanceBlockDevice { attach_time: Some(*at), delete_on_termination: Some(*dot), status: Some("attached".into()), volume_id: Some(v.id.clone()), ..Default::default() }),
                })
                .collect(),
        ),
        client_token: i.client_token.clone(),
        ebs_optimized: Some(false),
        ena_support: Some(true),
        hypervisor: Some("xen".into()),
        iam_instance_profile: i.iam_instance_profile.as_ref().map(|p| IamInstanceProfile {
            arn: Some(if p.starts_with("arn:") { p.clone() } else { format!("arn:aws:iam::{}:instance-profile/{p}", scope.account) }),
            id: Some(format!("AIPA{}", &i.id[2..].to_ascii_uppercase())),
        }),
        network_interfaces: Some(if live {
            vec![InstanceNetworkInterface {
                attachment: Some(InstanceNetworkInterfaceAttachment {
                    attach_time: Some(i.launch_time),
                    attachment_id: Some(format!("eni-attach-{}", &i.eni_id[4..])),
                    delete_on_termination: Some(true),
                    device_index: Some(0),
                    status: Some("attached".into()),
                    network_card_index: Some(0),
                    ..Default::default()
                }),
                description: Some(String::new()),
                groups: Some(groups.clone()),
                mac_address: Some(i.mac.clone()),
                network_interface_id: Some(i.eni_id.clone()),
                owner_id: Some(scope.account.clone()),
                private_dns_name: Some(private_dns.clone()),
                private_ip_address: Some(i.private_ip.clone()),
                source_dest_check: Some(true),
                status: Some("in-use".into()),
                subnet_id: Some(i.subnet_id.clone()),
                vpc_id: Some(i.vpc_id.clone()),
                interface_type: Some("interface".into()),
                association: i.public_ip.as_ref().map(|ip| InstanceNetworkInterfaceAssociation {
                    ip_owner_id: Some("amazon".into()),
                    public_dns_name: Some(dns_public(ip, &scope.region)),
                    public_ip: Some(ip.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }]
        } else {
            Vec::new()
        }),
        root_device_name: Some(i.root_device_name.clone()),
        root_device_type: Some("ebs".into()),
        security_groups: Some(if live { groups } else { Vec::new() }),
        source_dest_check: Some(true),
        state_reason: i.state_reason.as_ref().map(|(code, message)| StateReason { code: Some(code.clone()), message: Some(message.clone()) }),
        tags: tags::out(tags),
        virtualization_type: Some("hvm".into()),
        cpu_options: images::instance_type(&i.instance_type).map(|t| CpuOptions { core_count: Some((t.1 / 2).max(1)), threads_per_core: Some(if t.1 > 1 { 2 } else { 1 }), ..Default::default() }),
        metadata_options: Some(InstanceMetadataOptionsResponse {
            state: Some("applied".into()),
            http_tokens: Some("required".into()),
            http_put_response_hop_limit: Some(2),
            http_endpoint: Some("enabled".into()),
            ..Default::default()
        }),
        boot_mode: Some("uefi-preferred".into()),
        platform_details: Some("Linux/UNIX".into()),
        usage_operation: Some("RunInstances".into()),
        instance_id: Some(i.id.clone()),
        image_id: Some(i.image_id.clone()),
        state: Some(i.state.out()),
        private_dns_name: Some(if live { private_dns } else { String::new() }),
        public_dns_name: Some(public_dns),
        state_transition_reason: Some(i.state_transition_reason.clone()),
        key_name: i.key_name.clone(),
        ami_launch_index: Some(i.ami_launch_index),
        product_codes: Some(Vec::new()),
        instance_type: Some(i.instance_type.clone()),
        launch_time: Some(i.launch_time),
        placement: Some(Placement {
            availability_zone: Some(i.availability_zone.clone()),
            availability_zone_id: crate::regions::zone_id(&scope.region, &i.availability_zone),
            group_name: Some(String::new()),
            tenancy: Some("default".into()),
            ..Default::default()
        }),
        monitoring: Some(Monitoring { state: Some(if i.monitoring { "enabled" } else { "disabled" }.into()) }),
        subnet_id: live.then(|| i.subnet_id.clone()),
        vpc_id: live.then(|| i.vpc_id.clone()),
        private_ip_address: live.then(|| i.private_ip.clone()),
        public_ip_address: i.public_ip.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(state: State, since: i64) -> InstanceRecord {
        InstanceRecord {
            id: "i-0123456789abcdef0".into(),
            reservation_id: "r-1".into(),
            image_id: "ami-1".into(),
            instance_type: "t2.micro".into(),
            key_name: None,
            subnet_id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            private_ip: "10.0.0.4".into(),
            public_ip: Some("198.51.100.4".into()),
            security_groups: Vec::new(),
            state,
            state_since: Timestamp::from_secs(since),
            state_reason: None,
            state_transition_reason: String::new(),
            launch_time: Timestamp::from_secs(0),
            ami_launch_index: 0,
            user_data: None,
            iam_instance_profile: None,
            client_token: None,
            disable_api_termination: false,
            shutdown_behavior: "stop".into(),
            root_device_name: "/dev/xvda".into(),
            root_volume_id: "vol-1".into(),
            eni_id: "eni-1".into(),
            mac: "0e:00:00:00:00:01".into(),
            architecture: "x86_64".into(),
            monitoring: false,
            boots: 0,
            impaired: false,
        }
    }

    #[test]
    fn transitions_complete_once_their_time_has_come() {
        let mut i = instance(State::Pending, 100);
        assert!(!i.settle(Timestamp::from_secs(104)));
        assert!(i.settle(Timestamp::from_secs(105)));
        assert_eq!(i.state, State::Running);
        assert!(!i.settle(Timestamp::from_secs(10_000)), "running is a resting state");
    }

    #[test]
    fn shutting_down_ends_terminated_without_a_public_address_and_then_disappears() {
        let mut i = instance(State::ShuttingDown, 0);
        i.settle(Timestamp::from_secs(5));
        assert_eq!((i.state, i.public_ip.as_deref()), (State::Terminated, None));
        assert!(!i.gone(Timestamp::from_secs(5 + TERMINATED_VISIBLE_SECS)));
        assert!(i.gone(Timestamp::from_secs(6 + TERMINATED_VISIBLE_SECS)));
    }

    #[test]
    fn state_codes_are_ec2s() {
        let codes: Vec<i32> = [State::Pending, State::Running, State::ShuttingDown, State::Terminated, State::Stopping, State::Stopped].iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 16, 32, 48, 64, 80]);
    }
}
