//! Account-wide views: the summary, the credential report (IAM's real CSV columns), and
//! the service-last-accessed report (the console's Access Advisor).

use crate::error::{IamError, Result};
use crate::records::Kind;
use crate::Iam;
use nubo_core::Timestamp;
use std::collections::BTreeMap;

/// The service namespaces nubo serves, with the names Access Advisor shows.
pub const SERVICES: &[(&str, &str)] = &[
    ("autoscaling", "Amazon EC2 Auto Scaling"),
    ("cloudwatch", "Amazon CloudWatch"),
    ("dynamodb", "Amazon DynamoDB"),
    ("ec2", "Amazon EC2"),
    ("elasticloadbalancing", "Elastic Load Balancing"),
    ("iam", "AWS Identity and Access Management"),
    ("lambda", "AWS Lambda"),
    ("logs", "Amazon CloudWatch Logs"),
    ("s3", "Amazon S3"),
    ("sns", "Amazon SNS"),
    ("sqs", "Amazon SQS"),
    ("sts", "AWS Security Token Service"),
];

pub const CREDENTIAL_REPORT_COLUMNS: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn iso(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "N/A".into(), |t| t.to_iso8601_seconds().replace('Z', "+00:00"))
}

impl Iam {
    pub(crate) fn account_summary(&self, account: &str) -> Result<BTreeMap<String, i32>> {
        let count = |kind| self.entities(kind, account, None).map(|v| v.len() as i32);
        let users = self.entities(Kind::User, account, None)?;
        let devices = self.mfa_devices(account)?;
        let local_policies = self.managed_policies(account, "Local")?;
        let root_keys = self.access_keys(account, None)?;
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: i32| {
            m.insert(k.to_string(), v);
        };
        put("Users", users.len() as i32);
        put("UsersQuota", 5000);
        put("Groups", count(Kind::Group)?);
        put("GroupsQuota", 300);
        put("Roles", count(Kind::Role)?);
        put("RolesQuota", 1000);
        put("Policies", local_policies.len() as i32);
        put("PoliciesQuota", 1500);
        put("InstanceProfiles", self.instance_profiles(account)?.len() as i32);
        put("InstanceProfilesQuota", 1000);
        put("MFADevices", devices.len() as i32);
        put("MFADevicesInUse", devices.iter().filter(|d| d.user.is_some()).count() as i32);
        put("AccountMFAEnabled", 0);
        put("AccountAccessKeysPresent", i32::from(!root_keys.is_empty()));
        put("AccountSigningCertificatesPresent", 0);
        put("ServerCertificates", 0);
        put("ServerCertificatesQuota", 20);
        put("Providers", 0);
        put("PolicyVersionsInUse", local_policies.iter().map(|p| p.versions.len() as i32).sum());
        put("PolicyVersionsInUseQuota", 10000);
        put("VersionsPerPolicyQuota", 5);
        put("PolicySizeQuota", 6144);
        put("UserPolicySizeQuota", 2048);
        put("GroupPolicySizeQuota", 5120);
        put("RolePolicySizeQuota", 10240);
        put("AssumeRolePolicySizeQuota", 2048);
        put("AttachedPoliciesPerUserQuota", 10);
        put("AttachedPoliciesPerGroupQuota", 10);
        put("AttachedPoliciesPerRoleQuota", 10);
        put("GroupsPerUserQuota", 10);
        put("AccessKeysPerUserQuota", 2);
        put("SigningCertificatesPerUserQuota", 2);
        put("GlobalEndpointTokenVersion", 1);
        Ok(m)
    }

    pub(crate) fn generate_credential_report(&self, account: &str) -> Result<bool> {
        let now = self.clock.now();
        self.update_account(account, |a| {
            let fresh = a.credential_report.is_some();
            a.credential_report = Some(now);
            Ok(fresh)
        })
    }

    /// The CSV as IAM writes it: the root account first, then every user.
    pub(crate) fn credential_report(&self, account: &str) -> Result<(String, Timestamp)> {
        let generated = self.account_record(account)?.credential_report.ok_or(IamError::ReportNotPresent)?;
        let mut csv = String::from(CREDENTIAL_REPORT_COLUMNS);
        csv.push('\n');
        let keys_row = |keys: &[crate::records::AccessKeyRecord]| -> String {
            let mut cells = Vec::new();
            for i in 0..2 {
                match keys.get(i) {
                    Some(k) => {
                        let used = self.last_use(&k.id);
                        cells.push(k.active.to_string());
                        cells.push(iso(Some(k.created)));
                        cells.push(iso(used.as_ref().map(|u| u.at)));
                        cells.push(used.as_ref().map_or("N/A".into(), |u| u.region.clone()));
                        cells.push(used.as_ref().map_or("N/A".into(), |u| u.service.clone()));
                    }
                    None => cells.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(String::from)),
                }
            }
            cells.join(",")
        };
        let root_keys = self.access_keys(account, None)?;
        csv.push_str(&format!(
            "<root_account>,arn:aws:iam::{account}:root,{},not_supported,N/A,not_supported,not_supported,false,{},false,N/A,false,N/A\n",
            iso(Some(Timestamp::from_secs(0))),
            keys_row(&root_keys)
        ));
        let devices = self.mfa_devices(account)?;
        for u in self.entities(Kind::User, account, None)? {
            let keys = self.access_keys(account, Some(&u.name))?;
            let mfa = devices.iter().any(|d| d.user.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&u.name)));
            let password = u.login.is_some();
            csv.push_str(&format!(
                "{},{},{},{},{},{},N/A,{},{},false,N/A,false,N/A\n",
                u.name,
                u.arn,
                iso(Some(u.created)),
                password,
                if password { iso(u.password_last_used) } else { "N/A".into() },
                if password { iso(u.login.as_ref().and_then(|l| l.changed)) } else { "N/A".into() },
                mfa,
                keys_row(&keys)
            ));
        }
        Ok((csv, generated))
    }

    pub(crate) fn generate_last_accessed(&self, account: &str, arn: &str) -> Result<String> {
        let job = nubo_core::ids::uuid();
        let now = self.clock.now();
        self.update_account(account, |a| {
            a.jobs.insert(job.clone(), (arn.to_string(), now));
            Ok(())
        })?;
        Ok(job)
    }

    /// For each service: when the entity (or, for a group, any of its users) last
    /// authenticated to it through nubo.
    pub(crate) fn last_accessed(&self, account: &str, job: &str) -> Result<(Timestamp, Vec<(String, String, Option<(Timestamp, String, String)>)>)> {
        let (arn, created) = self
            .account_record(account)?
            .jobs
            .get(job)
            .cloned()
            .ok_or_else(|| IamError::NoSuchEntity(format!("No such job {job}")))?;
        let mut entities = vec![arn.clone()];
        if let Some(group) = arn.split(":group/").nth(1).map(|g| g.rsplit('/').next().unwrap_or(g).to_string()) {
            for u in self.entities(Kind::User, account, None)? {
                if u.groups.iter().any(|g| g.eq_ignore_ascii_case(&group)) {
                    entities.push(u.arn);
                }
            }
        }
        let usage = self.usage.lock().map_err(|_| IamError::Internal("usage lock poisoned".into()))?;
        let rows = SERVICES
            .iter()
            .map(|(ns, name)| {
                let last = entities
                    .iter()
                    .filter_map(|e| usage.services.get(&(e.clone(), ns.to_string())).map(|u| (u.at, u.region.clone(), e.clone())))
                    .max_by_key(|(at, _, _)| *at);
                (ns.to_string(), name.to_string(), last)
            })
            .collect();
        Ok((created, rows))
    }
}
