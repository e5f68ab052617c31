//! EBS volumes (records: the data plane comes with the runtime issue) and their
//! modifications.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, InstanceRecord, Kind, Resource};
use crate::{regions, tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub id: String,
    pub size_gib: i32,
    pub volume_type: String,
    pub iops: Option<i32>,
    pub throughput: Option<i32>,
    pub encrypted: bool,
    pub availability_zone: String,
    pub snapshot_id: Option<String>,
    pub created: Timestamp,
    /// (instance id, device, attached at, delete on termination).
    pub attachment: Option<(String, String, Timestamp, bool)>,
    /// The last ModifyVolume.
    #[serde(default)]
    pub modification: Option<Modification>,
}

/// A ModifyVolume: what the volume was, what it becomes, and when it started. It is
/// `modifying` for a few seconds of nubo's clock, `optimizing` for as long again, then
/// `completed`; the new size and type apply at once, as on AWS once optimizing begins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Modification {
    pub original: (i32, String, Option<i32>, Option<i32>),
    pub target: (i32, String, Option<i32>, Option<i32>),
    pub started: Timestamp,
}

const MODIFYING_SECS: i64 = 5;

impl Modification {
    fn state(&self, now: Timestamp) -> (&'static str, i64) {
        let elapsed = now.as_millis() - self.started.as_millis();
        match elapsed / (MODIFYING_SECS * 1000) {
            0 => ("modifying", 0),
            1 => ("optimizing", 50),
            _ => ("completed", 100),
        }
    }

    fn out(&self, volume_id: &str, now: Timestamp) -> VolumeModification {
        let (state, progress) = self.state(now);
        VolumeModification {
            volume_id: Some(volume_id.into()),
            modification_state: Some(state.into()),
            target_size: Some(self.target.0),
            target_volume_type: Some(self.target.1.clone()),
            target_iops: self.target.2,
            target_throughput: self.target.3,
            original_size: Some(self.original.0),
            original_volume_type: Some(self.original.1.clone()),
            original_iops: self.original.2,
            original_throughput: self.original.3,
            progress: Some(progress),
            start_time: Some(self.started),
            end_time: (state == "completed").then(|| Timestamp::from_millis(self.started.as_millis() + 2 * MODIFYING_SECS * 1000)),
            ..Default::default()
        }
    }
}

impl Resource for VolumeRecord {
    const KIND: Kind = Kind::Volume;
    fn id(&self) -> &str {
        &self.id
    }
}

impl VolumeRecord {
    /// The root volume an instance launches with.
    pub fn root(id: &str, instance: &str, device: &str, zone: &str, at: Timestamp, snapshot: Option<String>) -> VolumeRecord {
        VolumeRecord {
            id: id.to_string(),
            size_gib: 8,
            volume_type: "gp3".into(),
            iops: Some(3000),
            throughput: Some(125),
            encrypted: false,
            availability_zone: zone.to_string(),
            snapshot_id: snapshot,
            created: at,
            attachment: Some((instance.to_string(), device.to_string(), at, true)),
            modification: None,
        }
    }
}

fn volume_out(scope: &Scope, v: &VolumeRecord, tags: &[(String, String)]) -> Volume {
    Volume {
        availability_zone_id: regions::zone_id(&scope.region, &v.availability_zone),
        iops: v.iops,
        tags: tags::out(tags),
        volume_type: Some(v.volume_type.clone()),
        multi_attach_enabled: Some(false),
        throughput: v.throughput,
        volume_id: Some(v.id.clone()),
        size: Some(v.size_gib),
        snapshot_id: Some(v.snapshot_id.clone().unwrap_or_default()),
        availability_zone: Some(v.availability_zone.clone()),
        state: Some(if v.attachment.is_some() { "in-use" } else { "available" }.into()),
        create_time: Some(v.created),
        attachments: Some(v.attachment.iter().map(|(i, d, at, dot)| attachment_out(&v.id, i, d, *at, *dot, "attached")).collect()),
        encrypted: Some(v.encrypted),
        ..Default::default()
    }
}

fn attachment_out(volume: &str, instance: &str, device: &str, at: Timestamp, delete_on_termination: bool, state: &str) -> VolumeAttachment {
    VolumeAttachment {
        delete_on_termination: Some(delete_on_termination),
        volume_id: Some(volume.to_string()),
        instance_id: Some(instance.to_string()),
        device: Some(device.to_string()),
        state: Some(state.into()),
        attach_time: Some(at),
        ..Default::default()
    }
}

impl Ec2 {
    pub(crate) fn create_volume(&self, scope: &Scope, input: CreateVolumeRequest) -> Result<Volume> {
        let zones = regions::zones(&scope.region);
        let zone = input
            .availability_zone
            .clone()
            .or_else(|| input.availability_zone_id.as_ref().and_then(|id| zones.iter().find(|(_, z)| z == id).map(|(n, _)| n.clone())))
            .ok_or_else(|| Ec2Error::MissingParameter("The request must contain the parameter AvailabilityZone".into()))?;
        if !zones.iter().any(|(n, _)| *n == zone) {
            return Err(Ec2Error::InvalidParameterValue(format!("Invalid availability zone: [{zone}]")));
        }
        let volume_type = input.volume_type.clone().unwrap_or_else(|| "gp2".into());
        // A volume from a snapshot is at least the snapshot's size (8 GiB for the public AMIs').
        let from_snapshot = match &input.snapshot_id {
            None => None,
            Some(id) if crate::images::public(&format!("ami-{}", id.trim_start_matches("snap-"))).is_some() => Some(8),
            Some(id) => Some(self.read(|tx| records::must::<crate::snapshots::SnapshotRecord>(tx, scope, id))?.size_gib),
        };
        let size = match (input.size, from_snapshot) {
            (Some(s), Some(min)) if s < min => {
                return Err(Ec2Error::InvalidParameterValue(format!("Volume of {s}GiB is smaller than snapshot {}, expect size >= {min}GiB", input.snapshot_id.clone().unwrap_or_default())))
            }
            (Some(s), _) => s,
            (None, Some(min)) => min,
            (None, None) => return Err(Ec2Error::MissingParameter("The request must contain the parameter size or snapshotId".into())),
        };
        let max = if matches!(volume_type.as_str(), "gp2" | "gp3" | "io1" | "io2" | "st1" | "sc1") { 16384 } else { 1024 };
        if !(1..=max).contains(&size) {
            return Err(Ec2Error::InvalidParameterValue(format!("Volume of {size}GiB is not within the limits for volume type {volume_type} (1-{max} GiB).")));
        }
        let tags = tags::from_specs(&input.tag_specifications, "volume");
        let v = VolumeRecord {
            id: resource_id("vol"),
            size_gib: size,
            iops: input.iops.or(match volume_type.as_str() {
                "gp3" => Some(3000),
                "gp2" => Some((size * 3).clamp(100, 16000)),
                _ => None,
            }),
            throughput: input.throughput.or((volume_type == "gp3").then_some(125)),
            volume_type,
            encrypted: input.encrypted.unwrap_or(false),
            availability_zone: zone,
            snapshot_id: input.snapshot_id,
            created: self.clock.now(),
            attachment: None,
            modification: None,
        };
        self.write(|tx| {
            records::put(tx, scope, &v)?;
            tags::set(tx, scope, &v.id, &tags)
        })?;
        Ok(volume_out(scope, &v, &tags))
    }

    pub(crate) fn attach_volume(&self, scope: &Scope, input: AttachVolumeRequest) -> Result<VolumeAttachment> {
        let now = self.clock.now();
        self.write(|tx| {
            let mut v: VolumeRecord = records::must(tx, scope, &input.volume_id)?;
            let instance = crate::instances::settled(tx, scope, now)?
                .into_iter()
                .find(|i| i.id == input.instance_id && i.state != crate::instances::State::Terminated)
                .ok_or_else(|| not_found(Kind::Instance, &input.instance_id))?;
            if v.attachment.is_some() {
                return Err(Ec2Error::Invalid { code: "VolumeInUse", message: format!("{} is already attached to an instance", v.id) });
            }
            if v.availability_zone != instance.availability_zone {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "The volume '{}' is not in the same availability zone as instance '{}'",
                    v.id, instance.id
                )));
            }
            let taken = records::all::<VolumeRecord>(tx, scope)?.iter().any(|o| o.attachment.as_ref().is_some_and(|a| a.0 == instance.id && a.1 == input.device));
            if taken || instance.root_device_name == input.device {
                return Err(Ec2Error::InvalidParameterValue(format!("Invalid value '{}' for unixDevice. Attachment point {} is already in use", input.device, input.device)));
            }
            v.attachment = Some((instance.id.clone(), input.device.clone(), now, false));
            records::put(tx, scope, &v)?;
            Ok(attachment_out(&v.id, &instance.id, &input.device, now, false, "attaching"))
        })
    }

    pub(crate) fn detach_volume(&self, scope: &Scope, input: DetachVolumeRequest) -> Result<VolumeAttachment> {
        self.write(|tx| {
            let mut v: VolumeRecord = records::must(tx, scope, &input.volume_id)?;
            let Some((instance, device, at, dot)) = v.attachment.take() else {
                return Err(Ec2Error::IncorrectState(format!("Volume '{}' is in the 'available' state.", v.id)));
            };
            if let Some(owner) = records::get::<InstanceRecord>(tx, scope, &instance)? {
                if owner.root_volume_id == v.id && owner.state != crate::instances::State::Terminated {
                    return Err(Ec2Error::OperationNotPermitted(format!("Unable to detach root volume '{}' from instance '{instance}'", v.id)));
                }
            }
            if input.instance_id.as_ref().is_some_and(|i| *i != instance) {
                return Err(Ec2Error::Invalid { code: "InvalidAttachment.NotFound", message: format!("Attachment point for {} on {} not found", v.id, input.instance_id.clone().unwrap_or_default()) });
            }
            records::put(tx, scope, &v)?;
            Ok(attachment_out(&v.id, &instance, &device, at, dot, "detaching"))
        })
    }

    pub(crate) fn delete_volume(&self, scope: &Scope, id: &str) -> Result<()> {
        self.write(|tx| {
            let v: VolumeRecord = records::must(tx, scope, id)?;
            if v.attachment.is_some() {
                return Err(Ec2Error::Invalid { code: "VolumeInUse", message: format!("Volume {id} is currently attached to {}", v.attachment.map(|a| a.0).unwrap_or_default()) });
            }
            records::delete::<VolumeRecord>(tx, scope, id)
        })
    }

    pub(crate) fn describe_volumes(&self, scope: &Scope, input: DescribeVolumesRequest) -> Result<Vec<Volume>> {
        let filters = Filters::new(input.filters)?;
        let selected = self.select::<VolumeRecord>(scope, input.volume_ids.as_deref(), &filters, |v, name| match name {
            "volume-id" => one(&v.id),
            "attachment.instance-id" => Some(v.attachment.iter().map(|a| a.0.clone()).collect()),
            "attachment.device" => Some(v.attachment.iter().map(|a| a.1.clone()).collect()),
            "attachment.delete-on-termination" => Some(v.attachment.iter().map(|a| a.3.to_string()).collect()),
            "availability-zone" => one(&v.availability_zone),
            "status" => one(if v.attachment.is_some() { "in-use" } else { "available" }),
            "volume-type" => one(&v.volume_type),
            "size" => one(v.size_gib.to_string()),
            "encrypted" => one(v.encrypted.to_string()),
            _ => None,
        })?;
        Ok(selected.iter().map(|(v, t)| volume_out(scope, v, t)).collect())
    }

    pub(crate) fn modify_volume(&self, scope: &Scope, input: ModifyVolumeRequest) -> Result<VolumeModification> {
        let now = self.clock.now();
        self.write(|tx| {
            let mut v: VolumeRecord = records::must(tx, scope, &input.volume_id)?;
            if v.modification.as_ref().is_some_and(|m| m.state(now).0 == "modifying") {
                return Err(Ec2Error::IncorrectState(format!("Volume {} is already being modified.", v.id)));
            }
            let size = input.size.unwrap_or(v.size_gib);
            if size < v.size_gib {
                return Err(Ec2Error::InvalidParameterValue(format!("New size cannot be smaller than existing size ({}).", v.size_gib)));
            }
            let volume_type = input.volume_type.clone().unwrap_or_else(|| v.volume_type.clone());
            let original = (v.size_gib, v.volume_type.clone(), v.iops, v.throughput);
            v.size_gib = size;
            v.volume_type = volume_type.clone();
            v.iops = input.iops.or(match volume_type.as_str() {
                "gp3" => v.iops.or(Some(3000)),
                "gp2" => Some((size * 3).clamp(100, 16000)),
                _ => v.iops,
            });
            v.throughput = input.throughput.or(if volume_type == "gp3" { v.throughput.or(Some(125)) } else { None });
            let m = Modification { original, target: (v.size_gib, v.volume_type.clone(), v.iops, v.throughput), started: now };
            let out = m.out(&v.id, now);
            v.modification = Some(m);
            records::put(tx, scope, &v)?;
            Ok(out)
        })
    }

    pub(crate) fn describe_volumes_modifications(&self, scope: &Scope, input: DescribeVolumesModificationsRequest) -> Result<Vec<VolumeModification>> {
        let now = self.clock.now();
        let filters = Filters::new(input.filters)?;
        // A volume never modified has no values: it matches no filter, but names no bad one.
        let selected = self.select::<VolumeRecord>(scope, input.volume_ids.as_deref(), &filters, |v, name| {
            let m = v.modification.as_ref();
            let value = |f: &dyn Fn(&Modification) -> String| Some(m.map(f).into_iter().collect::<Vec<_>>());
            match name {
                "volume-id" => one(&v.id),
                "modification-state" => value(&|m| m.state(now).0.to_string()),
                "target-size" => value(&|m| m.target.0.to_string()),
                "target-volume-type" => value(&|m| m.target.1.clone()),
                "original-size" => value(&|m| m.original.0.to_string()),
                "original-volume-type" => value(&|m| m.original.1.clone()),
                _ => None,
            }
        })?;
        Ok(selected.iter().filter_map(|(v, _)| v.modification.as_ref().map(|m| m.out(&v.id, now))).collect())
    }
}
