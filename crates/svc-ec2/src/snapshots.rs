//! EBS snapshots: taken of a volume (CreateSnapshot, or CreateImage for each volume of an
//! instance), copied across regions, deleted unless an AMI uses them. A snapshot is
//! `pending` for a few seconds of nubo's clock, then `completed` (settled when read).
//! Records only: the bytes come with the runtime issue's volume data plane.

use crate::error::{not_found, Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, Kind, Resource};
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use serde::{Deserialize, Serialize};

/// How long a snapshot stays `pending`, in seconds of nubo's clock.
pub const PENDING_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub id: String,
    pub volume_id: String,
    pub size_gib: i32,
    pub description: String,
    pub started: Timestamp,
    pub encrypted: bool,
    pub owner: String,
}

impl Resource for SnapshotRecord {
    const KIND: Kind = Kind::Snapshot;
    fn id(&self) -> &str {
        &self.id
    }
}

impl SnapshotRecord {
    pub fn new(volume_id: &str, size_gib: i32, description: &str, encrypted: bool, owner: &str, now: Timestamp) -> SnapshotRecord {
        SnapshotRecord { id: resource_id("snap"), volume_id: volume_id.into(), size_gib, description: description.into(), started: now, encrypted, owner: owner.into() }
    }

    pub fn completed(&self, now: Timestamp) -> bool {
        now.as_millis() - self.started.as_millis() >= PENDING_SECS * 1000
    }
}

fn snapshot_out(s: &SnapshotRecord, tags: &[(String, String)], now: Timestamp) -> Snapshot {
    let done = s.completed(now);
    Snapshot {
        snapshot_id: Some(s.id.clone()),
        volume_id: Some(s.volume_id.clone()),
        state: Some(if done { "completed" } else { "pending" }.into()),
        start_time: Some(s.started),
        completion_time: done.then(|| Timestamp::from_millis(s.started.as_millis() + PENDING_SECS * 1000)),
        progress: Some(if done { "100%" } else { "0%" }.into()),
        owner_id: Some(s.owner.clone()),
        description: Some(s.description.clone()),
        volume_size: Some(s.size_gib),
        encrypted: Some(s.encrypted),
        storage_tier: Some("standard".into()),
        tags: tags::out(tags),
        ..Default::default()
    }
}

fn check_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix("snap-").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::Malformed { code: "InvalidSnapshotID.Malformed", message: format!("Value ({id}) for parameter snapshotId is invalid. Expected: 'snap-...'.") })
    }
}

impl Ec2 {
    pub(crate) fn create_snapshot(&self, scope: &Scope, input: CreateSnapshotRequest) -> Result<Snapshot> {
        let now = self.clock.now();
        let tags = tags::from_specs(&input.tag_specifications, "snapshot");
        let snapshot = self.write(|tx| {
            let volume: crate::volumes::VolumeRecord = records::must(tx, scope, &input.volume_id)?;
            let s = SnapshotRecord::new(&volume.id, volume.size_gib, input.description.as_deref().unwrap_or_default(), volume.encrypted, &scope.account, now);
            records::put(tx, scope, &s)?;
            tags::set(tx, scope, &s.id, &tags)?;
            Ok((s, volume))
        })?;
        let (snapshot, volume) = snapshot;
        if let Some(runtime) = &self.runtime {
            runtime.capture(&volume.id, volume.snapshot_id.as_deref(), &snapshot.id);
        }
        Ok(snapshot_out(&snapshot, &tags, now))
    }

    pub(crate) fn describe_snapshots(&self, scope: &Scope, input: DescribeSnapshotsRequest) -> Result<Vec<Snapshot>> {
        for id in input.snapshot_ids.iter().flatten() {
            check_id(id)?;
        }
        let now = self.clock.now();
        let filters = Filters::new(input.filters)?;
        let owners = input.owner_ids.clone();
        let selected = self.select::<SnapshotRecord>(scope, input.snapshot_ids.as_deref(), &filters, |s, name| match name {
            "snapshot-id" => one(&s.id),
            "volume-id" => one(&s.volume_id),
            "volume-size" => one(s.size_gib.to_string()),
            "status" => one(if s.completed(now) { "completed" } else { "pending" }),
            "owner-id" => one(&s.owner),
            "description" => one(&s.description),
            "encrypted" => one(s.encrypted.to_string()),
            "start-time" => one(s.started.to_iso8601()),
            _ => None,
        })?;
        Ok(selected
            .iter()
            .filter(|(s, _)| owners.as_ref().is_none_or(|o| o.iter().any(|o| o == "self" || *o == s.owner)))
            .map(|(s, t)| snapshot_out(s, t, now))
            .collect())
    }

    pub(crate) fn delete_snapshot(&self, scope: &Scope, id: &str) -> Result<()> {
        check_id(id)?;
        self.write(|tx| {
            records::must::<SnapshotRecord>(tx, scope, id)?;
            if let Some(image) = records::all::<crate::amis::ImageRecord>(tx, scope)?.into_iter().find(|i| i.uses(id)) {
                return Err(Ec2Error::Invalid { code: "InvalidSnapshot.InUse", message: format!("The snapshot {id} is currently in use by {}", image.id) });
            }
            records::delete::<SnapshotRecord>(tx, scope, id)
        })
    }

    pub(crate) fn copy_snapshot(&self, scope: &Scope, input: CopySnapshotRequest) -> Result<String> {
        check_id(&input.source_snapshot_id)?;
        let source_scope = Scope::new(scope.account.clone(), input.source_region.clone());
        let now = self.clock.now();
        let tags = tags::from_specs(&input.tag_specifications, "snapshot");
        self.write(|tx| {
            let Some(source) = records::get::<SnapshotRecord>(tx, &source_scope, &input.source_snapshot_id)? else {
                return Err(not_found(Kind::Snapshot, &input.source_snapshot_id));
            };
            let description = input.description.clone().unwrap_or_else(|| format!("[Copied {} from {}]", source.id, input.source_region));
            let copy = SnapshotRecord::new(&source.volume_id, source.size_gib, &description, input.encrypted.unwrap_or(source.encrypted), &scope.account, now);
            records::put(tx, scope, &copy)?;
            tags::set(tx, scope, &copy.id, &tags)?;
            Ok(copy.id)
        })
    }
}
