//! What IAM and STS keep, and under which keys.
//!
//! Users, groups and roles share one record shape ([`EntityRecord`]): a name, an id, a
//! path, inline policies, attached managed policies and tags; the fields only one kind
//! uses (a user's groups and login profile, a role's trust policy) are optional. Names are
//! unique per account regardless of case, as in IAM, so keys use the lowercased name.
//! Access keys and STS sessions are keyed by the access key id alone: authentication
//! finds them without knowing the account.

use nubo_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const USERS: &str = "iam.users";
pub const GROUPS: &str = "iam.groups";
pub const ROLES: &str = "iam.roles";
pub const POLICIES: &str = "iam.policies";
pub const INSTANCE_PROFILES: &str = "iam.instance-profiles";
pub const ACCESS_KEYS: &str = "iam.access-keys";
pub const MFA_DEVICES: &str = "iam.mfa-devices";
pub const ACCOUNTS: &str = "iam.accounts";
pub const SESSIONS: &str = "sts.sessions";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    pub fn table(self) -> &'static str {
        match self {
            Kind::User => USERS,
            Kind::Group => GROUPS,
            Kind::Role => ROLES,
        }
    }

    /// The ARN's resource type (`user/…`).
    pub fn arn_type(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }

    /// The prefix of the entity's unique id, as IAM's ids have.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
            Kind::Role => "AROA",
        }
    }

    /// How IAM names the entity in its messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }
}

pub fn key(account: &str, name: &str) -> Vec<u8> {
    nubo_store::key::key(&[account, &name.to_ascii_lowercase()])
}

pub fn account_prefix(account: &str) -> Vec<u8> {
    nubo_store::key::key(&[account])
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntityRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub created: Timestamp,
    /// Inline policies: name → document (JSON text as the client sent it).
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// Attached managed policies, by ARN, in the order they were attached.
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    // Users.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub login: Option<LoginProfile>,
    #[serde(default)]
    pub password_last_used: Option<Timestamp>,
    // Roles.
    #[serde(default)]
    pub trust_policy: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_session_duration: Option<i32>,
    #[serde(default)]
    pub last_used: Option<(Timestamp, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginProfile {
    /// Salted SHA-1 of the password: enough for a local cloud, never the password itself.
    pub password_hash: String,
    pub salt: String,
    pub created: Timestamp,
    pub reset_required: bool,
    /// Earlier password hashes, newest first (`PasswordReusePrevention`).
    #[serde(default)]
    pub previous: Vec<String>,
    #[serde(default)]
    pub changed: Option<Timestamp>,
}

/// A customer-managed policy (AWS-managed ones are embedded, see `managed.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub default_version: String,
    pub versions: Vec<PolicyVersionRecord>,
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    pub id: String,
    pub document: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceProfileRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub created: Timestamp,
    /// Role names (at most one, as on AWS).
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    pub id: String,
    pub secret: String,
    pub account: String,
    /// The owning user; `None` for root access keys.
    pub user: Option<String>,
    pub active: bool,
    pub created: Timestamp,
}

/// Temporary credentials from STS: an assumed role's session, or a user's (or root's)
/// session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub account: String,
    pub expiration: Timestamp,
    pub mfa_authenticated: bool,
    pub subject: SessionSubject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SessionSubject {
    AssumedRole { role_name: String, role_id: String, role_path: String, session_name: String, policies: Vec<String> },
    User { name: String },
    Root,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaDeviceRecord {
    pub serial: String,
    pub account: String,
    pub name: String,
    pub path: String,
    /// The TOTP secret (raw bytes, base32 when shown).
    pub seed: Vec<u8>,
    pub user: Option<String>,
    pub enabled: Option<Timestamp>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

/// Account-wide settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountRecord {
    pub aliases: Vec<String>,
    pub password_policy: Option<PasswordPolicyRecord>,
    pub credential_report: Option<Timestamp>,
    /// Service-last-accessed jobs: id → (entity ARN, created).
    #[serde(default)]
    pub jobs: BTreeMap<String, (String, Timestamp)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PasswordPolicyRecord {
    pub minimum_password_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub max_password_age: Option<i32>,
    pub password_reuse_prevention: Option<i32>,
    pub hard_expiry: bool,
}
