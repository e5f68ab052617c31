//! AMIs of the account's own: made from an instance (CreateImage), registered from
//! snapshots (RegisterImage), copied from another region (CopyImage), shared
//! (launch permissions), deregistered. Public images are the catalogue in [`crate::images`];
//! both kinds resolve through [`Ec2::image_info`] when an instance launches.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::images;
use crate::records::{self, InstanceRecord, Kind, Resource};
use crate::snapshots::SnapshotRecord;
use crate::volumes::VolumeRecord;
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use nubo_store::ReadTxn;
use serde::{Deserialize, Serialize};

/// How long a new image stays `pending`, in seconds of nubo's clock.
const PENDING_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    pub device: String,
    pub snapshot_id: String,
    pub size_gib: i32,
    pub volume_type: String,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub architecture: String,
    pub root_device_name: String,
    pub mappings: Vec<Mapping>,
    pub created: Timestamp,
    pub owner: String,
    /// Accounts given launch permission, and whether the image is public (group `all`).
    #[serde(default)]
    pub launch_users: Vec<String>,
    #[serde(default)]
    pub public: bool,
}

impl Resource for ImageRecord {
    const KIND: Kind = Kind::Image;
    fn id(&self) -> &str {
        &self.id
    }
}

impl ImageRecord {
    pub fn uses(&self, snapshot: &str) -> bool {
        self.mappings.iter().any(|m| m.snapshot_id == snapshot)
    }

    fn state(&self, now: Timestamp) -> &'static str {
        if now.as_millis() - self.created.as_millis() >= PENDING_SECS * 1000 {
            "available"
        } else {
            "pending"
        }
    }
}

/// What launching an instance needs to know of its image.
pub struct ImageInfo {
    pub architecture: String,
    pub root_device_name: String,
    pub root_snapshot: String,
    pub root_size: i32,
}

/// AMI names: 3 to 128 characters of letters, digits and `()[] ./-'@_`.
fn check_name(name: &str) -> Result<()> {
    let ok = (3..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::Invalid {
            code: "InvalidAMIName.Malformed",
            message: "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'".into(),
        })
    }
}

fn check_unique(tx: &(impl ReadTxn + ?Sized), scope: &Scope, name: &str) -> Result<()> {
    if let Some(other) = records::all::<ImageRecord>(tx, scope)?.into_iter().find(|i| i.name == name) {
        return Err(Ec2Error::Duplicate { code: "InvalidAMIName.Duplicate", message: format!("AMI name {name} is already in use by AMI {}", other.id) });
    }
    Ok(())
}

fn new_id() -> String {
    format!("ami-0{}", &resource_id("x")[2..])
}

pub fn image_out(i: &ImageRecord, tags: &[(String, String)], now: Timestamp) -> Image {
    Image {
        platform_details: Some("Linux/UNIX".into()),
        usage_operation: Some("RunInstances".into()),
        block_device_mappings: Some(
            i.mappings
                .iter()
                .map(|m| BlockDeviceMapping {
                    device_name: Some(m.device.clone()),
                    ebs: Some(EbsBlockDevice {
                        delete_on_termination: Some(m.delete_on_termination),
                        snapshot_id: Some(m.snapshot_id.clone()),
                        volume_size: Some(m.size_gib),
                        volume_type: Some(m.volume_type.clone()),
                        encrypted: Some(false),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
        description: i.description.clone(),
        ena_support: Some(true),
        hypervisor: Some("xen".into()),
        name: Some(i.name.clone()),
        root_device_name: Some(i.root_device_name.clone()),
        root_device_type: Some("ebs".into()),
        sriov_net_support: Some("simple".into()),
        virtualization_type: Some("hvm".into()),
        image_id: Some(i.id.clone()),
        image_location: Some(format!("{}/{}", i.owner, i.name)),
        state: Some(i.state(now).into()),
        owner_id: Some(i.owner.clone()),
        creation_date: Some(i.created.to_iso8601()),
        public: Some(i.public),
        architecture: Some(i.architecture.clone()),
        image_type: Some("machine".into()),
        tags: tags::out(tags),
        ..Default::default()
    }
}

impl Ec2 {
    /// The image an instance launches from: a public one of the region or one of the
    /// account's own (which must be available).
    pub(crate) fn image_info(&self, tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<ImageInfo> {
        images::check_id(id)?;
        if let Some(i) = images::public_in(&scope.region, id) {
            let (_, _, _, arch, _, _, root) = images::PUBLIC[i];
            return Ok(ImageInfo { architecture: arch.into(), root_device_name: root.into(), root_snapshot: format!("snap-0{}", &id[5..]), root_size: 8 });
        }
        let image: ImageRecord = records::get(tx, scope, id)?.ok_or_else(|| not_found(Kind::Image, id))?;
        if image.state(self.clock.now()) != "available" {
            return Err(Ec2Error::Invalid { code: "InvalidAMIID.Unavailable", message: format!("Image {id} is not available yet.") });
        }
        let root = image.mappings.iter().find(|m| m.device == image.root_device_name);
        Ok(ImageInfo {
            architecture: image.architecture.clone(),
            root_device_name: image.root_device_name.clone(),
            root_snapshot: root.map(|m| m.snapshot_id.clone()).unwrap_or_default(),
            root_size: root.map(|m| m.size_gib).unwrap_or(8),
        })
    }

    pub(crate) fn create_image(&self, scope: &Scope, input: CreateImageRequest) -> Result<String> {
        check_name(&input.name)?;
        let now = self.clock.now();
        let image_tags = tags::from_specs(&input.tag_specifications, "image");
        let snapshot_tags = tags::from_specs(&input.tag_specifications, "snapshot");
        let (image_id, captures) = self.write(|tx| {
            let mut instance: InstanceRecord = records::must(tx, scope, &input.instance_id)?;
            instance.settle(now);
            if matches!(instance.state, crate::instances::State::Terminated | crate::instances::State::ShuttingDown) {
                return Err(Ec2Error::IncorrectInstanceState(format!("The instance '{}' is not in a state from which it can be imaged.", instance.id)));
            }
            check_unique(tx, scope, &input.name)?;
            // A snapshot of each volume the instance has attached.
            let volumes: Vec<VolumeRecord> =
                records::all::<VolumeRecord>(tx, scope)?.into_iter().filter(|v| v.attachment.as_ref().is_some_and(|(i, ..)| *i == instance.id)).collect();
            let image_id = new_id();
            let mut mappings = Vec::new();
            let mut captures = Vec::new();
            for v in &volumes {
                let (_, device, _, delete_on_termination) = v.attachment.clone().expect("attached");
                let description = format!("Created by CreateImage({}) for {image_id}", instance.id);
                let s = SnapshotRecord::new(&v.id, v.size_gib, &description, v.encrypted, &scope.account, now);
                records::put(tx, scope, &s)?;
                tags::set(tx, scope, &s.id, &snapshot_tags)?;
                captures.push((v.id.clone(), v.snapshot_id.clone(), s.id.clone()));
                mappings.push(Mapping { device, snapshot_id: s.id, size_gib: v.size_gib, volume_type: v.volume_type.clone(), delete_on_termination });
            }
            mappings.sort_by_key(|m| m.device != instance.root_device_name);
            let image = ImageRecord {
                id: image_id,
                name: input.name.clone(),
                description: input.description.clone(),
                architecture: instance.architecture.clone(),
                root_device_name: instance.root_device_name.clone(),
                mappings,
                created: now,
                owner: scope.account.clone(),
                launch_users: Vec::new(),
                public: false,
            };
            records::put(tx, scope, &image)?;
            tags::set(tx, scope, &image.id, &image_tags)?;
            Ok((image.id, captures))
        })?;
        // The volumes' data become the snapshots' layers: instances from the AMI boot with it.
        if let Some(runtime) = &self.runtime {
            for (volume, base, snapshot) in &captures {
                runtime.capture(volume, base.as_deref(), snapshot);
            }
        }
        Ok(image_id)
    }

    pub(crate) fn register_image(&self, scope: &Scope, input: RegisterImageRequest) -> Result<String> {
        check_name(&input.name)?;
        let now = self.clock.now();
        let root_device = input.root_device_name.clone().unwrap_or_else(|| "/dev/xvda".into());
        let tags = tags::from_specs(&input.tag_specifications, "image");
        self.write(|tx| {
            check_unique(tx, scope, &input.name)?;
            let mut mappings = Vec::new();
            for m in input.block_device_mappings.iter().flatten() {
                let (Some(device), Some(ebs)) = (&m.device_name, &m.ebs) else { continue };
                let Some(snapshot_id) = &ebs.snapshot_id else { continue };
                let snapshot: SnapshotRecord = records::get(tx, scope, snapshot_id)?.ok_or_else(|| not_found(Kind::Snapshot, snapshot_id))?;
                mappings.push(Mapping {
                    device: device.clone(),
                    snapshot_id: snapshot.id,
                    size_gib: ebs.volume_size.unwrap_or(snapshot.size_gib),
                    volume_type: ebs.volume_type.clone().unwrap_or_else(|| "gp2".into()),
                    delete_on_termination: ebs.delete_on_termination.unwrap_or(true),
                });
            }
            if !mappings.iter().any(|m| m.device == root_device) {
                return Err(Ec2Error::InvalidParameterValue(format!("The root device name {root_device} has no snapshot in the block device mappings.")));
            }
            let image = ImageRecord {
                id: new_id(),
                name: input.name.clone(),
                description: input.description.clone(),
                architecture: input.architecture.clone().unwrap_or_else(|| "x86_64".into()),
                root_device_name: root_device,
                mappings,
                created: now,
                owner: scope.account.clone(),
                launch_users: Vec::new(),
                public: false,
            };
            records::put(tx, scope, &image)?;
            tags::set(tx, scope, &image.id, &tags)?;
            Ok(image.id)
        })
    }

    pub(crate) fn copy_image(&self, scope: &Scope, input: CopyImageRequest) -> Result<String> {
        check_name(&input.name)?;
        images::check_id(&input.source_image_id)?;
        let source_scope = Scope::new(scope.account.clone(), input.source_region.clone());
        let now = self.clock.now();
        let tags = tags::from_specs(&input.tag_specifications, "image");
        self.write(|tx| {
            let source = match images::public_in(&input.source_region, &input.source_image_id) {
                Some(i) => {
                    let (_, _, _, arch, description, _, root) = images::PUBLIC[i];
                    ImageRecord {
                        id: input.source_image_id.clone(),
                        name: String::new(),
                        description: Some(description.into()),
                        architecture: arch.into(),
                        root_device_name: root.into(),
                        mappings: vec![Mapping { device: root.into(), snapshot_id: format!("snap-0{}", &input.source_image_id[5..]), size_gib: 8, volume_type: "gp3".into(), delete_on_termination: true }],
                        created: now,
                        owner: images::AMAZON.into(),
                        launch_users: Vec::new(),
                        public: true,
                    }
                }
                None => records::get::<ImageRecord>(tx, &source_scope, &input.source_image_id)?.ok_or_else(|| not_found(Kind::Image, &input.source_image_id))?,
            };
            check_unique(tx, scope, &input.name)?;
            // Each snapshot is copied into this region.
            let mut mappings = Vec::new();
            for m in &source.mappings {
                let s = SnapshotRecord::new("vol-ffffffff", m.size_gib, &format!("Copied for DestinationAmi from SourceAmi {}", source.id), input.encrypted.unwrap_or(false), &scope.account, now);
                records::put(tx, scope, &s)?;
                mappings.push(Mapping { snapshot_id: s.id, ..m.clone() });
            }
            let image = ImageRecord {
                id: new_id(),
                name: input.name.clone(),
                description: input.description.clone().or(source.description.clone()),
                architecture: source.architecture.clone(),
                root_device_name: source.root_device_name.clone(),
                mappings,
                created: now,
                owner: scope.account.clone(),
                launch_users: Vec::new(),
                public: false,
            };
            records::put(tx, scope, &image)?;
            let mut all_tags = tags.clone();
            if input.copy_image_tags == Some(true) {
                all_tags.extend(tags::of(tx, &source_scope, &source.id)?);
            }
            tags::set(tx, scope, &image.id, &all_tags)?;
            Ok(image.id)
        })
    }

    fn own_image(&self, tx: &(impl ReadTxn + ?Sized), scope: &Scope, id: &str) -> Result<ImageRecord> {
        images::check_id(id)?;
        if images::public(id).is_some() {
            return Err(Ec2Error::Invalid { code: "AuthFailure", message: format!("Not authorized for image:{id}") });
        }
        records::get(tx, scope, id)?.ok_or_else(|| not_found(Kind::Image, id))
    }

    pub(crate) fn deregister_image(&self, scope: &Scope, input: DeregisterImageRequest) -> Result<Vec<DeleteSnapshotReturnCode>> {
        self.write(|tx| {
            let image = self.own_image(tx, scope, &input.image_id)?;
            records::delete::<ImageRecord>(tx, scope, &image.id)?;
            let mut results = Vec::new();
            if input.delete_associated_snapshots == Some(true) {
                for m in &image.mappings {
                    records::delete::<SnapshotRecord>(tx, scope, &m.snapshot_id)?;
                    results.push(DeleteSnapshotReturnCode { snapshot_id: Some(m.snapshot_id.clone()), return_code: Some("success".into()) });
                }
            }
            Ok(results)
        })
    }

    pub(crate) fn modify_image_attribute(&self, scope: &Scope, input: ModifyImageAttributeRequest) -> Result<()> {
        self.write(|tx| {
            let mut image = self.own_image(tx, scope, &input.image_id)?;
            let mut add: Vec<LaunchPermission> = input.launch_permission.as_ref().and_then(|l| l.add.clone()).unwrap_or_default();
            let mut remove: Vec<LaunchPermission> = input.launch_permission.as_ref().and_then(|l| l.remove.clone()).unwrap_or_default();
            // The older form: Attribute=launchPermission, OperationType, UserIds / UserGroups.
            if input.attribute.as_deref() == Some("launchPermission") {
                let given: Vec<LaunchPermission> = input
                    .user_ids
                    .iter()
                    .flatten()
                    .map(|u| LaunchPermission { user_id: Some(u.clone()), ..Default::default() })
                    .chain(input.user_groups.iter().flatten().map(|g| LaunchPermission { group: Some(g.clone()), ..Default::default() }))
                    .collect();
                match input.operation_type.as_deref() {
                    Some("remove") => remove.extend(given),
                    _ => add.extend(given),
                }
            }
            for p in add {
                match (p.user_id, p.group.as_deref()) {
                    (Some(u), _) if !image.launch_users.contains(&u) => image.launch_users.push(u),
                    (_, Some("all")) => image.public = true,
                    _ => {}
                }
            }
            for p in remove {
                match (p.user_id, p.group.as_deref()) {
                    (Some(u), _) => image.launch_users.retain(|x| *x != u),
                    (_, Some("all")) => image.public = false,
                    _ => {}
                }
            }
            if let Some(d) = input.description.as_ref().and_then(|d| d.value.clone()) {
                image.description = Some(d);
            }
            records::put(tx, scope, &image)
        })
    }

    pub(crate) fn describe_image_attribute(&self, scope: &Scope, input: DescribeImageAttributeRequest) -> Result<ImageAttribute> {
        let image = self.read(|tx| self.own_image(tx, scope, &input.image_id))?;
        let mut out = ImageAttribute { image_id: Some(image.id.clone()), ..Default::default() };
        match input.attribute.as_str() {
            "launchPermission" => {
                let mut perms: Vec<LaunchPermission> = image.launch_users.iter().map(|u| LaunchPermission { user_id: Some(u.clone()), ..Default::default() }).collect();
                if image.public {
                    perms.push(LaunchPermission { group: Some("all".into()), ..Default::default() });
                }
                out.launch_permissions = Some(perms);
            }
            "description" => out.description = Some(nubo_model::generated::ec2::AttributeValue { value: image.description.clone() }),
            "blockDeviceMapping" => out.block_device_mappings = image_out(&image, &[], self.clock.now()).block_device_mappings,
            "bootMode" => out.boot_mode = Some(nubo_model::generated::ec2::AttributeValue { value: Some("uefi-preferred".into()) }),
            other => return Err(Ec2Error::InvalidParameterValue(format!("Value ({other}) for parameter attribute is invalid. Unknown attribute."))),
        }
        Ok(out)
    }

    pub(crate) fn private_image_ids(&self, scope: &Scope) -> Result<Vec<String>> {
        self.read(|tx| Ok(records::all::<ImageRecord>(tx, scope)?.into_iter().map(|i| i.id).collect()))
    }

    /// The account's images (and those shared with it) a DescribeImages call selects.
    pub(crate) fn describe_private_images(&self, scope: &Scope, input: &DescribeImagesRequest, filters: &Filters) -> Result<Vec<Image>> {
        let now = self.clock.now();
        let all = self.read(|tx| {
            records::all::<ImageRecord>(tx, scope)?.into_iter().map(|i| Ok((tags::of(tx, scope, &i.id)?, i))).collect::<Result<Vec<_>>>()
        })?;
        let mut out = Vec::new();
        for (t, i) in all {
            if input.image_ids.as_ref().is_some_and(|ids| !ids.contains(&i.id)) {
                continue;
            }
            if let Some(owners) = &input.owners {
                if !owners.iter().any(|o| o == "self" || *o == i.owner) {
                    continue;
                }
            }
            if let Some(users) = &input.executable_users {
                let can = users.iter().any(|u| (u == "all" && i.public) || ((u == "self" || *u == scope.account) && (i.owner == scope.account || i.launch_users.contains(&scope.account))));
                if !can {
                    continue;
                }
            }
            let ok = filters.matches(&t, |f| match f {
                "name" => one(&i.name),
                "image-id" => one(&i.id),
                "owner-id" => one(&i.owner),
                "architecture" => one(&i.architecture),
                "description" => one(i.description.clone().unwrap_or_default()),
                "state" => one(i.state(now)),
                "is-public" => one(i.public.to_string()),
                "root-device-type" => one("ebs"),
                "root-device-name" => one(&i.root_device_name),
                "virtualization-type" => one("hvm"),
                "image-type" => one("machine"),
                "block-device-mapping.snapshot-id" => Some(i.mappings.iter().map(|m| m.snapshot_id.clone()).collect()),
                _ => None,
            })?;
            if ok {
                out.push(image_out(&i, &t, now));
            }
        }
        Ok(out)
    }
}
