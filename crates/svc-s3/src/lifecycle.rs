//! The lifecycle controller: applies buckets' lifecycle rules on nubo's clock.
//!
//! It sweeps the buckets that have rules, expires what is due (current objects after
//! `Expiration` Days or at its Date; noncurrent versions after `NoncurrentVersionExpiration`;
//! delete markers left alone with `ExpiredObjectDeleteMarker`; incomplete multipart uploads
//! after `AbortIncompleteMultipartUpload`), then sleeps until the next thing falls due or
//! until rules change. As on AWS, a time in days is counted from the object's creation
//! (or from when it became noncurrent) and rounded up to the next midnight UTC.

use crate::config::LIFECYCLE;
use crate::error::Result;
use crate::records::{objects_prefix, BucketRecord, ObjectRecord, UploadRecord, BUCKETS, OBJECTS, UPLOADS, VERSIONS};
use crate::S3;
use nubo_core::Timestamp;
use nubo_model::generated::s3::{BucketLifecycleConfiguration, LifecycleRule};
use nubo_store::scan_json;

const DAY_MS: i64 = 86_400_000;

/// `from` plus `days`, rounded up to the next midnight UTC.
fn after_days(from_ms: i64, days: i32) -> i64 {
    let t = from_ms + days as i64 * DAY_MS;
    (t + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS
}

fn applies(rule: &LifecycleRule, key: &str, rec: Option<&ObjectRecord>) -> bool {
    if rule.status != "Enabled" {
        return false;
    }
    let size = rec.map(|r| r.size as i64).unwrap_or(0);
    let tags: &[(String, String)] = rec.map(|r| r.tags.as_slice()).unwrap_or(&[]);
    let has_tag = |k: &str, v: &str| tags.iter().any(|(tk, tv)| tk == k && tv == v);
    let Some(f) = &rule.filter else { return key.starts_with(rule.prefix.as_deref().unwrap_or("")) };
    if let Some(and) = &f.and {
        return key.starts_with(and.prefix.as_deref().unwrap_or(""))
            && and.tags.iter().flatten().all(|t| has_tag(&t.key, &t.value))
            && and.object_size_greater_than.is_none_or(|n| size > n)
            && and.object_size_less_than.is_none_or(|n| size < n);
    }
    key.starts_with(f.prefix.as_deref().unwrap_or(""))
        && f.tag.as_ref().is_none_or(|t| has_tag(&t.key, &t.value))
        && f.object_size_greater_than.is_none_or(|n| size > n)
        && f.object_size_less_than.is_none_or(|n| size < n)
}

/// What a sweep found due, and when the next thing falls due.
#[derive(Default)]
struct Plan {
    expire_current: Vec<String>,
    delete_versions: Vec<(String, String)>,
    abort_uploads: Vec<UploadRecord>,
    next_due_ms: Option<i64>,
}

impl Plan {
    fn due(&mut self, at: i64, now: i64) -> bool {
        if at <= now {
            return true;
        }
        self.next_due_ms = Some(self.next_due_ms.map_or(at, |n| n.min(at)));
        false
    }
}

impl S3 {
    fn plan(&self, bucket: &BucketRecord, rules: &[LifecycleRule], now: i64) -> Result<Plan> {
        let mut plan = Plan::default();
        let base = objects_prefix(&bucket.name, "").len();
        let key_of = |raw: &[u8]| String::from_utf8_lossy(&raw[base..raw.len() - 1]).into_owned();
        let objects = self.store.read(|tx| scan_json::<ObjectRecord>(tx, OBJECTS, &objects_prefix(&bucket.name, ""), None, usize::MAX))?;
        for (raw, rec) in &objects {
            let key = key_of(raw);
            let due = rules
                .iter()
                .filter(|r| applies(r, &key, Some(rec)))
                .filter_map(|r| r.expiration.as_ref())
                .filter_map(|e| e.days.map(|d| after_days(rec.last_modified_ms, d)).or(e.date.map(|d| d.as_millis())))
                .min();
            if let Some(at) = due {
                if plan.due(at, now) {
                    plan.expire_current.push(key);
                }
            }
        }
        if bucket.versioning.is_some() {
            let versions = self.store.read(|tx| scan_json::<ObjectRecord>(tx, VERSIONS, &objects_prefix(&bucket.name, ""), None, usize::MAX))?;
            // A key's versions are contiguous, newest first: each older one became
            // noncurrent when the one before it in the list was written.
            let mut i = 0;
            while i < versions.len() {
                let raw = &versions[i].0;
                let rest = &raw[base..raw.len() - 1];
                let key = String::from_utf8_lossy(&rest[..rest.iter().rposition(|b| *b == 0).unwrap_or(rest.len())]).into_owned();
                let mut j = i;
                while j < versions.len() && versions[j].0.starts_with(&crate::records::versions_of_key(&bucket.name, &key)) {
                    j += 1;
                }
                let group = &versions[i..j];
                for (n, (_, rec)) in group.iter().enumerate().skip(1) {
                    let since = group[n - 1].1.last_modified_ms;
                    let due = rules
                        .iter()
                        .filter(|r| applies(r, &key, Some(rec)))
                        .filter_map(|r| r.noncurrent_version_expiration.as_ref()?.noncurrent_days)
                        .map(|d| after_days(since, d))
                        .min();
                    if let (Some(at), Some(v)) = (due, rec.version_id.clone()) {
                        if plan.due(at, now) {
                            plan.delete_versions.push((key.clone(), v));
                        }
                    }
                }
                // A delete marker that is all that is left of its key.
                let lone_marker = group.len() == 1 && group[0].1.delete_marker;
                let wants = rules.iter().any(|r| applies(r, &key, None) && r.expiration.as_ref().and_then(|e| e.expired_object_delete_marker) == Some(true));
                if lone_marker && wants {
                    if let Some(v) = group[0].1.version_id.clone() {
                        plan.delete_versions.push((key.clone(), v));
                    }
                }
                i = j;
            }
        }
        let uploads = self.store.read(|tx| scan_json::<UploadRecord>(tx, UPLOADS, &objects_prefix(&bucket.name, ""), None, usize::MAX))?;
        for (_, u) in uploads {
            let due = rules
                .iter()
                .filter(|r| applies(r, &u.key, None))
                .filter_map(|r| r.abort_incomplete_multipart_upload.as_ref()?.days_after_initiation)
                .map(|d| after_days(u.initiated_ms, d))
                .min();
            if let Some(at) = due {
                if plan.due(at, now) {
                    plan.abort_uploads.push(u);
                }
            }
        }
        Ok(plan)
    }

    /// Applies every bucket's rules as of `now`; returns when the next thing falls due.
    pub async fn sweep_lifecycle(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        let buckets = self.store.read(|tx| scan_json::<BucketRecord>(tx, BUCKETS, b"", None, usize::MAX))?;
        let mut next: Option<i64> = None;
        for (_, bucket) in buckets {
            let Some(config) = self.config::<BucketLifecycleConfiguration>(&bucket, LIFECYCLE)? else { continue };
            let plan = self.plan(&bucket, &config.rules, now.as_millis())?;
            // One item failing does not stop the others (it is retried at the next sweep).
            for key in plan.expire_current {
                if let Err(e) = self.remove_object_by(&bucket, &key, None, true).await {
                    tracing::warn!("lifecycle: expiring {}/{key} failed: {e:?}", bucket.name);
                }
            }
            for (key, version) in plan.delete_versions {
                if let Err(e) = self.remove_object_by(&bucket, &key, Some(&version), true).await {
                    tracing::warn!("lifecycle: deleting {}/{key} version {version} failed: {e:?}", bucket.name);
                }
            }
            for u in plan.abort_uploads {
                if let Err(e) = self.discard_upload(&bucket.name, &u).await {
                    tracing::warn!("lifecycle: aborting upload {} failed: {e:?}", u.upload_id);
                }
            }
            next = match (next, plan.next_due_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(next.map(Timestamp::from_millis))
    }
}

/// The controller's loop: sweep, then sleep on the clock until the next due time (a day
/// at most, as rules may reach objects written meanwhile) or until rules change.
pub async fn run(s3: S3) {
    loop {
        let now = s3.clock.now();
        let next = match s3.sweep_lifecycle(now).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("lifecycle sweep failed: {e:?}");
                Some(now.add_millis(60_000))
            }
        };
        let day_later = now.add_millis(DAY_MS);
        let wake = next.map_or(day_later, |n| n.min(day_later));
        tokio::select! {
            _ = s3.clock.sleep_until(wake) => {}
            _ = s3.lifecycle_changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{Clock, RequestContext};
    use nubo_model::generated::s3::*;
    use nubo_store::Store;
    use std::time::Duration;

    fn rule(days: i32, prefix: &str) -> LifecycleRule {
        LifecycleRule {
            status: "Enabled".into(),
            filter: Some(LifecycleRuleFilter { prefix: Some(prefix.into()), ..Default::default() }),
            expiration: Some(LifecycleExpiration { days: Some(days), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn days_round_up_to_the_next_midnight() {
        let noon = 10 * DAY_MS + DAY_MS / 2;
        assert_eq!(after_days(noon, 1), 12 * DAY_MS);
        assert_eq!(after_days(10 * DAY_MS, 1), 11 * DAY_MS);
    }

    #[tokio::test]
    async fn expiration_happens_when_the_clock_gets_there() {
        let clock = Clock::manual(Timestamp::from_millis(100 * DAY_MS + 3_600_000));
        let s3 = crate::S3::new(Store::in_memory(), clock.clone());
        let ctx = RequestContext::for_tests("s3", "test");
        s3.create_bucket(&ctx, CreateBucketRequest { bucket: "lc-bucket".into(), ..Default::default() }).await.unwrap();
        for key in ["logs/a", "keep/b"] {
            let body = nubo_model::ByteStream::from_bytes(bytes::Bytes::from_static(b"x"));
            s3.put_object(PutObjectRequest { bucket: "lc-bucket".into(), key: key.into(), body: Some(body), ..Default::default() }).await.unwrap();
        }
        s3.put_bucket_lifecycle_configuration(PutBucketLifecycleConfigurationRequest {
            bucket: "lc-bucket".into(),
            lifecycle_configuration: Some(BucketLifecycleConfiguration { rules: vec![rule(1, "logs/")] }),
            ..Default::default()
        })
        .await
        .unwrap();

        // Due at the second midnight after creation: not yet, and the sweep says when.
        let next = s3.sweep_lifecycle(clock.now()).await.unwrap();
        assert_eq!(next, Some(Timestamp::from_millis(102 * DAY_MS)));
        assert!(s3.object("lc-bucket", "logs/a").is_ok());

        clock.advance(Duration::from_secs(2 * 86_400));
        assert_eq!(s3.sweep_lifecycle(clock.now()).await.unwrap(), None);
        assert!(s3.object("lc-bucket", "logs/a").is_err());
        assert!(s3.object("lc-bucket", "keep/b").is_ok());
    }
}
