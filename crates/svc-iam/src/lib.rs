//! AWS IAM, and STS beside it ([`sts`]).
//!
//! IAM's state lives in the store ([`records`]); users, groups and roles share their
//! operations ([`entities`]); [`policies`] holds customer-managed policies and
//! [`managed`] the AWS-managed ones nubo embeds; [`keys`], [`login`], [`mfa`],
//! [`profiles`] and [`account`] the rest of the API. [`guard`] makes IAM the gateway's
//! authenticator and authorizer, deciding with the policy engine (`nubo-iam-policy`),
//! which [`simulate`] also answers from. This file maps the generated trait onto them.

mod account;
mod entities;
mod error;
mod guard;
mod keys;
mod login;
mod managed;
mod mfa;
mod policies;
mod profiles;
mod records;
mod simulate;
pub mod sts;
mod util;

use error::{IamError, Result};
use guard::{PolicyCache, Usage};
use nubo_core::{AwsError, Clock, RequestContext};
use nubo_model::generated::iam::{self, *};
use nubo_model::Handler;
use nubo_store::Store;
use policies::ManagedView;
use records::{EntityRecord, InstanceProfileRecord, Kind, PasswordPolicyRecord};
use std::sync::{Arc, Mutex};
use util::{encode_document, merge_tags, paginate, remove_tags, tags_in, tags_out};

#[derive(Clone)]
pub struct Iam {
    store: Store,
    clock: Clock,
    /// Whether IAM is enforced: STS then checks trust policies.
    enforce: bool,
    policies: Arc<PolicyCache>,
    usage: Arc<Mutex<Usage>>,
}

impl Iam {
    pub fn new(store: Store, clock: Clock, enforce: bool) -> Iam {
        Iam { store, clock, enforce, policies: Default::default(), usage: Default::default() }
    }

    fn note_role_used(&self, account: &str, role: &str, region: &str) {
        let now = self.clock.now();
        let _ = self.update_entity(Kind::Role, account, role, |r| {
            r.last_used = Some((now, region.to_string()));
            Ok(())
        });
    }

    fn user_out(&self, r: &EntityRecord) -> User {
        User {
            path: r.path.clone(),
            user_name: r.name.clone(),
            user_id: r.id.clone(),
            arn: r.arn.clone(),
            create_date: r.created,
            password_last_used: r.password_last_used,
            permissions_boundary: None,
            tags: (!r.tags.is_empty()).then(|| tags_out(&r.tags)),
        }
    }

    fn role_out(&self, r: &EntityRecord) -> Role {
        Role {
            path: r.path.clone(),
            role_name: r.name.clone(),
            role_id: r.id.clone(),
            arn: r.arn.clone(),
            create_date: r.created,
            assume_role_policy_document: r.trust_policy.as_deref().map(encode_document),
            description: r.description.clone(),
            max_session_duration: Some(r.max_session_duration.unwrap_or(3600)),
            permissions_boundary: None,
            tags: (!r.tags.is_empty()).then(|| tags_out(&r.tags)),
            role_last_used: Some(RoleLastUsed { last_used_date: r.last_used.as_ref().map(|l| l.0), region: r.last_used.as_ref().map(|l| l.1.clone()) }),
        }
    }

    fn profile_out(&self, account: &str, p: &InstanceProfileRecord) -> InstanceProfile {
        InstanceProfile {
            path: p.path.clone(),
            instance_profile_name: p.name.clone(),
            instance_profile_id: p.id.clone(),
            arn: p.arn.clone(),
            create_date: p.created,
            roles: p.roles.iter().filter_map(|r| self.entity(Kind::Role, account, r).ok()).map(|r| self.role_out(&r)).collect(),
            tags: (!p.tags.is_empty()).then(|| tags_out(&p.tags)),
        }
    }

    fn attached_out(&self, account: &str, r: &EntityRecord, path_prefix: Option<&str>) -> Vec<AttachedPolicy> {
        r.attached
            .iter()
            .filter_map(|a| self.managed_policy(account, a).ok())
            .filter(|p| path_prefix.is_none_or(|pre| p.path.starts_with(pre)))
            .map(|p| AttachedPolicy { policy_name: Some(p.name), policy_arn: Some(p.arn) })
            .collect()
    }
}

fn group_out(r: &EntityRecord) -> Group {
    Group { path: r.path.clone(), group_name: r.name.clone(), group_id: r.id.clone(), arn: r.arn.clone(), create_date: r.created }
}

fn policy_out(p: &ManagedView, attachments: i32) -> Policy {
    Policy {
        policy_name: Some(p.name.clone()),
        policy_id: Some(p.id.clone()),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.default_version.clone()),
        attachment_count: Some(attachments),
        permissions_boundary_usage_count: Some(0),
        is_attachable: Some(true),
        description: p.description.clone(),
        create_date: Some(p.created),
        update_date: Some(p.updated),
        tags: (!p.tags.is_empty()).then(|| tags_out(&p.tags)),
    }
}

fn version_out(p: &ManagedView, v: &(String, String, nubo_core::Timestamp), with_document: bool) -> PolicyVersion {
    PolicyVersion {
        document: with_document.then(|| encode_document(&v.1)),
        version_id: Some(v.0.clone()),
        is_default_version: Some(v.0 == p.default_version),
        create_date: Some(v.2),
    }
}

fn password_policy_out(p: &PasswordPolicyRecord) -> PasswordPolicy {
    PasswordPolicy {
        minimum_password_length: Some(p.minimum_password_length),
        require_symbols: Some(p.require_symbols),
        require_numbers: Some(p.require_numbers),
        require_uppercase_characters: Some(p.require_uppercase_characters),
        require_lowercase_characters: Some(p.require_lowercase_characters),
        allow_users_to_change_password: Some(p.allow_users_to_change_password),
        expire_passwords: Some(p.max_password_age.is_some_and(|a| a > 0)),
        max_password_age: p.max_password_age,
        password_reuse_prevention: p.password_reuse_prevention,
        hard_expiry: Some(p.hard_expiry),
    }
}

pub fn service(iam: Iam) -> Box<dyn Handler> {
    Box::new(iam::Service(iam))
}

/// The guard the gateway authenticates and authorizes with.
pub fn guard(iam: Iam) -> Arc<dyn nubo_model::guard::Guard> {
    Arc::new(iam)
}

type Out<T> = std::result::Result<T, AwsError>;


/// A role's sessions last between one and twelve hours.
fn check_max_session_duration(d: i32) -> Result<()> {
    if (3600..=43200).contains(&d) {
        return Ok(());
    }
    let bound = if d < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" };
    Err(IamError::ValidationError(format!("1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {bound}")))
}

/// Operations whose `UserName` defaults to the caller.
fn acts_on_caller(operation: &str) -> bool {
    matches!(
        operation,
        "GetUser" | "ChangePassword" | "CreateAccessKey" | "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" | "GetLoginProfile"
            | "CreateLoginProfile" | "DeleteLoginProfile" | "ListMFADevices" | "DeactivateMFADevice"
    )
}

/// The user an operation is about: the named one, or the calling user.
fn self_or(ctx: &RequestContext, name: Option<String>) -> Result<String> {
    match (name, &ctx.principal) {
        (Some(n), _) => Ok(n),
        (None, nubo_core::Principal::User { name, .. }) => Ok(name.clone()),
        (None, _) => Err(IamError::ValidationError("Must specify userName when calling with non-User credentials".into())),
    }
}

impl iam::Iam for Iam {
    /// IAM's resources are the entities' real ARNs (with their paths); operations that
    /// act on the calling user when no `UserName` is given act on the caller's ARN.
    fn access(&self, ctx: &RequestContext, input: &nubo_model::Value) -> Vec<nubo_model::access::Access> {
        let mut accesses = nubo_model::access::derive(ctx, input);
        let account = &ctx.scope.account;
        let named = |member: &str, kind: Kind| input.get(member).and_then(nubo_model::Value::as_str).and_then(|n| self.entity(kind, account, n).ok()).map(|r| r.arn);
        let arn = named("UserName", Kind::User).or_else(|| named("RoleName", Kind::Role)).or_else(|| named("GroupName", Kind::Group)).or_else(|| {
            // What a Create* makes: its ARN with the requested path.
            let path = input.get("Path").and_then(nubo_model::Value::as_str).unwrap_or("/");
            let create = |member: &str, kind: &str| input.get(member).and_then(nubo_model::Value::as_str).map(|n| format!("arn:aws:iam::{account}:{kind}{path}{n}"));
            match ctx.operation.as_str() {
                "CreateUser" => create("UserName", "user"),
                "CreateRole" => create("RoleName", "role"),
                "CreateGroup" => create("GroupName", "group"),
                "CreatePolicy" => create("PolicyName", "policy"),
                "CreateInstanceProfile" => create("InstanceProfileName", "instance-profile"),
                _ => None,
            }
        });
        for a in &mut accesses {
            match (&arn, &ctx.principal) {
                (Some(arn), _) => a.resource = arn.clone(),
                (None, nubo_core::Principal::User { .. }) if a.resource == "*" && acts_on_caller(&ctx.operation) => a.resource = ctx.principal.arn(),
                _ => {}
            }
        }
        accesses
    }

    fn invalid_input(&self, e: nubo_model::ShapeError) -> AwsError {
        let mut err = nubo_model::handler::validation_error(e);
        err.code = "ValidationError".into();
        err
    }

    // Users.
    async fn create_user(&self, ctx: &RequestContext, input: CreateUserRequest) -> Out<CreateUserResponse> {
        let tags = tags_in(input.tags)?;
        let r = self.create_entity(Kind::User, &ctx.scope.account, &input.user_name, input.path, |r| r.tags = tags)?;
        Ok(CreateUserResponse { user: Some(self.user_out(&r)) })
    }
    async fn get_user(&self, ctx: &RequestContext, input: GetUserRequest) -> Out<GetUserResponse> {
        if input.user_name.is_none() && ctx.principal.is_root() {
            // The root user asks about itself.
            let account = &ctx.scope.account;
            return Ok(GetUserResponse {
                user: User {
                    path: "/".into(),
                    user_name: String::new(),
                    user_id: account.clone(),
                    arn: format!("arn:aws:iam::{account}:root"),
                    create_date: nubo_core::Timestamp::from_secs(0),
                    password_last_used: None,
                    permissions_boundary: None,
                    tags: None,
                },
            });
        }
        let name = self_or(ctx, input.user_name)?;
        Ok(GetUserResponse { user: self.user_out(&self.entity(Kind::User, &ctx.scope.account, &name)?) })
    }
    async fn list_users(&self, ctx: &RequestContext, input: ListUsersRequest) -> Out<ListUsersResponse> {
        let users = self.entities(Kind::User, &ctx.scope.account, input.path_prefix.as_deref())?;
        let page = paginate(users, input.marker.as_deref(), input.max_items)?;
        Ok(ListUsersResponse {
            users: page.items.iter().map(|u| User { tags: None, ..self.user_out(u) }).collect(),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
    async fn update_user(&self, ctx: &RequestContext, input: UpdateUserRequest) -> Out<()> {
        Ok(self.rename_entity(Kind::User, &ctx.scope.account, &input.user_name, input.new_user_name, input.new_path)?)
    }
    async fn delete_user(&self, ctx: &RequestContext, input: DeleteUserRequest) -> Out<()> {
        Ok(self.delete_entity(Kind::User, &ctx.scope.account, &input.user_name)?)
    }
    async fn tag_user(&self, ctx: &RequestContext, input: TagUserRequest) -> Out<()> {
        Ok(self.update_entity(Kind::User, &ctx.scope.account, &input.user_name, |r| merge_tags(&mut r.tags, input.tags))?)
    }
    async fn untag_user(&self, ctx: &RequestContext, input: UntagUserRequest) -> Out<()> {
        Ok(self.update_entity(Kind::User, &ctx.scope.account, &input.user_name, |r| Ok(remove_tags(&mut r.tags, &input.tag_keys)))?)
    }
    async fn list_user_tags(&self, ctx: &RequestContext, input: ListUserTagsRequest) -> Out<ListUserTagsResponse> {
        let r = self.entity(Kind::User, &ctx.scope.account, &input.user_name)?;
        let page = paginate(tags_out(&r.tags), input.marker.as_deref(), input.max_items)?;
        Ok(ListUserTagsResponse { tags: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Groups.
    async fn create_group(&self, ctx: &RequestContext, input: CreateGroupRequest) -> Out<CreateGroupResponse> {
        let r = self.create_entity(Kind::Group, &ctx.scope.account, &input.group_name, input.path, |_| {})?;
        Ok(CreateGroupResponse { group: group_out(&r) })
    }
    async fn get_group(&self, ctx: &RequestContext, input: GetGroupRequest) -> Out<GetGroupResponse> {
        let account = &ctx.scope.account;
        let g = self.entity(Kind::Group, account, &input.group_name)?;
        let members: Vec<EntityRecord> =
            self.entities(Kind::User, account, None)?.into_iter().filter(|u| u.groups.iter().any(|n| n.eq_ignore_ascii_case(&g.name))).collect();
        let page = paginate(members, input.marker.as_deref(), input.max_items)?;
        Ok(GetGroupResponse {
            group: group_out(&g),
            users: page.items.iter().map(|u| User { tags: None, ..self.user_out(u) }).collect(),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
    async fn list_groups(&self, ctx: &RequestContext, input: ListGroupsRequest) -> Out<ListGroupsResponse> {
        let groups = self.entities(Kind::Group, &ctx.scope.account, input.path_prefix.as_deref())?;
        let page = paginate(groups, input.marker.as_deref(), input.max_items)?;
        Ok(ListGroupsResponse { groups: page.items.iter().map(group_out).collect(), is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn update_group(&self, ctx: &RequestContext, input: UpdateGroupRequest) -> Out<()> {
        Ok(self.rename_entity(Kind::Group, &ctx.scope.account, &input.group_name, input.new_group_name, input.new_path)?)
    }
    async fn delete_group(&self, ctx: &RequestContext, input: DeleteGroupRequest) -> Out<()> {
        Ok(self.delete_entity(Kind::Group, &ctx.scope.account, &input.group_name)?)
    }
    async fn add_user_to_group(&self, ctx: &RequestContext, input: AddUserToGroupRequest) -> Out<()> {
        let account = &ctx.scope.account;
        let group = self.entity(Kind::Group, account, &input.group_name)?.name;
        Ok(self.update_entity(Kind::User, account, &input.user_name, |u| {
            if !u.groups.iter().any(|g| g.eq_ignore_ascii_case(&group)) {
                if u.groups.len() >= 10 {
                    return Err(IamError::LimitExceeded("Cannot exceed quota for GroupsPerUser: 10".into()));
                }
                u.groups.push(group);
            }
            Ok(())
        })?)
    }
    async fn remove_user_from_group(&self, ctx: &RequestContext, input: RemoveUserFromGroupRequest) -> Out<()> {
        let account = &ctx.scope.account;
        self.entity(Kind::Group, account, &input.group_name)?;
        Ok(self.update_entity(Kind::User, account, &input.user_name, |u| {
            let before = u.groups.len();
            u.groups.retain(|g| !g.eq_ignore_ascii_case(&input.group_name));
            if before == u.groups.len() {
                return Err(IamError::NoSuchEntity(format!("User {} is not in group {}.", input.user_name, input.group_name)));
            }
            Ok(())
        })?)
    }
    async fn list_groups_for_user(&self, ctx: &RequestContext, input: ListGroupsForUserRequest) -> Out<ListGroupsForUserResponse> {
        let account = &ctx.scope.account;
        let u = self.entity(Kind::User, account, &input.user_name)?;
        let groups: Vec<Group> = u.groups.iter().filter_map(|g| self.entity(Kind::Group, account, g).ok()).map(|g| group_out(&g)).collect();
        let page = paginate(groups, input.marker.as_deref(), input.max_items)?;
        Ok(ListGroupsForUserResponse { groups: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Roles.
    async fn create_role(&self, ctx: &RequestContext, input: CreateRoleRequest) -> Out<CreateRoleResponse> {
        let trust = util::decode_document(&input.assume_role_policy_document);
        entities::validate_document(&trust, nubo_iam_policy::PolicyKind::Trust)?;
        if let Some(d) = input.max_session_duration {
            check_max_session_duration(d)?;
        }
        let tags = tags_in(input.tags)?;
        let r = self.create_entity(Kind::Role, &ctx.scope.account, &input.role_name, input.path, |r| {
            r.trust_policy = Some(trust);
            r.description = input.description;
            r.max_session_duration = input.max_session_duration;
            r.tags = tags;
        })?;
        Ok(CreateRoleResponse { role: Role { role_last_used: None, ..self.role_out(&r) } })
    }
    async fn get_role(&self, ctx: &RequestContext, input: GetRoleRequest) -> Out<GetRoleResponse> {
        Ok(GetRoleResponse { role: self.role_out(&self.entity(Kind::Role, &ctx.scope.account, &input.role_name)?) })
    }
    async fn list_roles(&self, ctx: &RequestContext, input: ListRolesRequest) -> Out<ListRolesResponse> {
        let roles = self.entities(Kind::Role, &ctx.scope.account, input.path_prefix.as_deref())?;
        let page = paginate(roles, input.marker.as_deref(), input.max_items)?;
        Ok(ListRolesResponse {
            roles: page.items.iter().map(|r| Role { tags: None, role_last_used: None, ..self.role_out(r) }).collect(),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
    async fn update_role(&self, ctx: &RequestContext, input: UpdateRoleRequest) -> Out<UpdateRoleResponse> {
        if let Some(d) = input.max_session_duration {
            check_max_session_duration(d)?;
        }
        self.update_entity(Kind::Role, &ctx.scope.account, &input.role_name, |r| {
            if let Some(d) = input.description {
                r.description = Some(d);
            }
            if let Some(m) = input.max_session_duration {
                r.max_session_duration = Some(m);
            }
            Ok(())
        })?;
        Ok(UpdateRoleResponse {})
    }
    async fn update_role_description(&self, ctx: &RequestContext, input: UpdateRoleDescriptionRequest) -> Out<UpdateRoleDescriptionResponse> {
        let r = self.update_entity(Kind::Role, &ctx.scope.account, &input.role_name, |r| {
            r.description = Some(input.description);
            Ok(r.clone())
        })?;
        Ok(UpdateRoleDescriptionResponse { role: Some(self.role_out(&r)) })
    }
    async fn update_assume_role_policy(&self, ctx: &RequestContext, input: UpdateAssumeRolePolicyRequest) -> Out<()> {
        let trust = util::decode_document(&input.policy_document);
        entities::validate_document(&trust, nubo_iam_policy::PolicyKind::Trust)?;
        Ok(self.update_entity(Kind::Role, &ctx.scope.account, &input.role_name, |r| {
            r.trust_policy = Some(trust);
            Ok(())
        })?)
    }
    async fn delete_role(&self, ctx: &RequestContext, input: DeleteRoleRequest) -> Out<()> {
        Ok(self.delete_entity(Kind::Role, &ctx.scope.account, &input.role_name)?)
    }
    async fn tag_role(&self, ctx: &RequestContext, input: TagRoleRequest) -> Out<()> {
        Ok(self.update_entity(Kind::Role, &ctx.scope.account, &input.role_name, |r| merge_tags(&mut r.tags, input.tags))?)
    }
    async fn untag_role(&self, ctx: &RequestContext, input: UntagRoleRequest) -> Out<()> {
        Ok(self.update_entity(Kind::Role, &ctx.scope.account, &input.role_name, |r| Ok(remove_tags(&mut r.tags, &input.tag_keys)))?)
    }
    async fn list_role_tags(&self, ctx: &RequestContext, input: ListRoleTagsRequest) -> Out<ListRoleTagsResponse> {
        let r = self.entity(Kind::Role, &ctx.scope.account, &input.role_name)?;
        let page = paginate(tags_out(&r.tags), input.marker.as_deref(), input.max_items)?;
        Ok(ListRoleTagsResponse { tags: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Instance profiles.
    async fn create_instance_profile(&self, ctx: &RequestContext, input: CreateInstanceProfileRequest) -> Out<CreateInstanceProfileResponse> {
        let tags = tags_in(input.tags)?;
        let p = self.create_instance_profile(&ctx.scope.account, &input.instance_profile_name, input.path, tags)?;
        Ok(CreateInstanceProfileResponse { instance_profile: self.profile_out(&ctx.scope.account, &p) })
    }
    async fn get_instance_profile(&self, ctx: &RequestContext, input: GetInstanceProfileRequest) -> Out<GetInstanceProfileResponse> {
        let p = self.instance_profile(&ctx.scope.account, &input.instance_profile_name)?;
        Ok(GetInstanceProfileResponse { instance_profile: self.profile_out(&ctx.scope.account, &p) })
    }
    async fn list_instance_profiles(&self, ctx: &RequestContext, input: ListInstanceProfilesRequest) -> Out<ListInstanceProfilesResponse> {
        let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
        let all: Vec<_> = self.instance_profiles(&ctx.scope.account)?.into_iter().filter(|p| p.path.starts_with(&prefix)).collect();
        let page = paginate(all, input.marker.as_deref(), input.max_items)?;
        Ok(ListInstanceProfilesResponse {
            instance_profiles: page.items.iter().map(|p| self.profile_out(&ctx.scope.account, p)).collect(),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
    async fn delete_instance_profile(&self, ctx: &RequestContext, input: DeleteInstanceProfileRequest) -> Out<()> {
        Ok(self.delete_instance_profile(&ctx.scope.account, &input.instance_profile_name)?)
    }
    async fn add_role_to_instance_profile(&self, ctx: &RequestContext, input: AddRoleToInstanceProfileRequest) -> Out<()> {
        Ok(self.add_role_to_instance_profile(&ctx.scope.account, &input.instance_profile_name, &input.role_name)?)
    }
    async fn remove_role_from_instance_profile(&self, ctx: &RequestContext, input: RemoveRoleFromInstanceProfileRequest) -> Out<()> {
        Ok(self.remove_role_from_instance_profile(&ctx.scope.account, &input.instance_profile_name, &input.role_name)?)
    }
    async fn list_instance_profiles_for_role(&self, ctx: &RequestContext, input: ListInstanceProfilesForRoleRequest) -> Out<ListInstanceProfilesForRoleResponse> {
        let account = &ctx.scope.account;
        self.entity(Kind::Role, account, &input.role_name)?;
        let all: Vec<_> = self.instance_profiles(account)?.into_iter().filter(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(&input.role_name))).collect();
        let page = paginate(all, input.marker.as_deref(), input.max_items)?;
        Ok(ListInstanceProfilesForRoleResponse {
            instance_profiles: page.items.iter().map(|p| self.profile_out(account, p)).collect(),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
    async fn tag_instance_profile(&self, ctx: &RequestContext, input: TagInstanceProfileRequest) -> Out<()> {
        Ok(self.update_instance_profile(&ctx.scope.account, &input.instance_profile_name, |p| merge_tags(&mut p.tags, input.tags))?)
    }
    async fn untag_instance_profile(&self, ctx: &RequestContext, input: UntagInstanceProfileRequest) -> Out<()> {
        Ok(self.update_instance_profile(&ctx.scope.account, &input.instance_profile_name, |p| Ok(remove_tags(&mut p.tags, &input.tag_keys)))?)
    }
    async fn list_instance_profile_tags(&self, ctx: &RequestContext, input: ListInstanceProfileTagsRequest) -> Out<ListInstanceProfileTagsResponse> {
        let p = self.instance_profile(&ctx.scope.account, &input.instance_profile_name)?;
        let page = paginate(tags_out(&p.tags), input.marker.as_deref(), input.max_items)?;
        Ok(ListInstanceProfileTagsResponse { tags: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Managed policies.
    async fn create_policy(&self, ctx: &RequestContext, input: CreatePolicyRequest) -> Out<CreatePolicyResponse> {
        let tags = tags_in(input.tags)?;
        let p = self.create_policy(&ctx.scope.account, &input.policy_name, input.path, &input.policy_document, input.description, tags)?;
        Ok(CreatePolicyResponse { policy: Some(policy_out(&p, 0)) })
    }
    async fn get_policy(&self, ctx: &RequestContext, input: GetPolicyRequest) -> Out<GetPolicyResponse> {
        let account = &ctx.scope.account;
        let p = self.managed_policy(account, &input.policy_arn)?;
        let count = self.attachment_counts(account)?.get(&p.arn).copied().unwrap_or(0);
        Ok(GetPolicyResponse { policy: Some(policy_out(&p, count)) })
    }
    async fn list_policies(&self, ctx: &RequestContext, input: ListPoliciesRequest) -> Out<ListPoliciesResponse> {
        let account = &ctx.scope.account;
        let counts = self.attachment_counts(account)?;
        let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
        let only_attached = input.only_attached.unwrap_or(false);
        let all: Vec<Policy> = self.managed_policies(account, input.scope.as_deref().unwrap_or("All"))?
            .iter()
            .filter(|p| p.path.starts_with(&prefix))
            .map(|p| policy_out(p, counts.get(&p.arn).copied().unwrap_or(0)))
            .filter(|p| !only_attached || p.attachment_count.unwrap_or(0) > 0)
            .map(|p| Policy { tags: None, ..p })
            .collect();
        let page = paginate(all, input.marker.as_deref(), input.max_items)?;
        Ok(ListPoliciesResponse { policies: Some(page.items), is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn delete_policy(&self, ctx: &RequestContext, input: DeletePolicyRequest) -> Out<()> {
        Ok(self.delete_policy(&ctx.scope.account, &input.policy_arn)?)
    }
    async fn create_policy_version(&self, ctx: &RequestContext, input: CreatePolicyVersionRequest) -> Out<CreatePolicyVersionResponse> {
        let default = input.set_as_default.unwrap_or(false);
        let (id, created) = self.create_policy_version(&ctx.scope.account, &input.policy_arn, &input.policy_document, default)?;
        Ok(CreatePolicyVersionResponse {
            policy_version: Some(PolicyVersion { document: None, version_id: Some(id), is_default_version: Some(default), create_date: Some(created) }),
        })
    }
    async fn get_policy_version(&self, ctx: &RequestContext, input: GetPolicyVersionRequest) -> Out<GetPolicyVersionResponse> {
        let p = self.managed_policy(&ctx.scope.account, &input.policy_arn)?;
        let v = p.versions.iter().find(|v| v.0 == input.version_id).ok_or_else(|| {
            AwsError::from(IamError::NoSuchEntity(format!("Policy {} version {} does not exist or is not attachable.", input.policy_arn, input.version_id)))
        })?;
        Ok(GetPolicyVersionResponse { policy_version: Some(version_out(&p, v, true)) })
    }
    async fn list_policy_versions(&self, ctx: &RequestContext, input: ListPolicyVersionsRequest) -> Out<ListPolicyVersionsResponse> {
        let p = self.managed_policy(&ctx.scope.account, &input.policy_arn)?;
        let mut versions: Vec<PolicyVersion> = p.versions.iter().map(|v| version_out(&p, v, false)).collect();
        versions.reverse();
        let page = paginate(versions, input.marker.as_deref(), input.max_items)?;
        Ok(ListPolicyVersionsResponse { versions: Some(page.items), is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn delete_policy_version(&self, ctx: &RequestContext, input: DeletePolicyVersionRequest) -> Out<()> {
        Ok(self.delete_policy_version(&ctx.scope.account, &input.policy_arn, &input.version_id)?)
    }
    async fn set_default_policy_version(&self, ctx: &RequestContext, input: SetDefaultPolicyVersionRequest) -> Out<()> {
        Ok(self.set_default_policy_version(&ctx.scope.account, &input.policy_arn, &input.version_id)?)
    }
    async fn tag_policy(&self, ctx: &RequestContext, input: TagPolicyRequest) -> Out<()> {
        Ok(self.update_policy(&ctx.scope.account, &input.policy_arn, |p| merge_tags(&mut p.tags, input.tags))?)
    }
    async fn untag_policy(&self, ctx: &RequestContext, input: UntagPolicyRequest) -> Out<()> {
        Ok(self.update_policy(&ctx.scope.account, &input.policy_arn, |p| Ok(remove_tags(&mut p.tags, &input.tag_keys)))?)
    }
    async fn list_policy_tags(&self, ctx: &RequestContext, input: ListPolicyTagsRequest) -> Out<ListPolicyTagsResponse> {
        let p = self.managed_policy(&ctx.scope.account, &input.policy_arn)?;
        let page = paginate(tags_out(&p.tags), input.marker.as_deref(), input.max_items)?;
        Ok(ListPolicyTagsResponse { tags: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn list_entities_for_policy(&self, ctx: &RequestContext, input: ListEntitiesForPolicyRequest) -> Out<ListEntitiesForPolicyResponse> {
        let account = &ctx.scope.account;
        self.managed_policy(account, &input.policy_arn)?;
        let filter = input.entity_filter.unwrap_or_else(|| "All".into());
        let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
        let (mut users, mut groups, mut roles) = (Vec::new(), Vec::new(), Vec::new());
        for (kind, r) in self.entities_with_policy(account, &input.policy_arn)? {
            if !r.path.starts_with(&prefix) {
                continue;
            }
            match kind {
                Kind::User if filter == "All" || filter == "User" => users.push(PolicyUser { user_name: Some(r.name), user_id: Some(r.id) }),
                Kind::Group if filter == "All" || filter == "Group" => groups.push(PolicyGroup { group_name: Some(r.name), group_id: Some(r.id) }),
                Kind::Role if filter == "All" || filter == "Role" => roles.push(PolicyRole { role_name: Some(r.name), role_id: Some(r.id) }),
                _ => {}
            }
        }
        Ok(ListEntitiesForPolicyResponse { policy_groups: Some(groups), policy_users: Some(users), policy_roles: Some(roles), is_truncated: Some(false), marker: None })
    }

    // Attached policies.
    async fn attach_user_policy(&self, ctx: &RequestContext, input: AttachUserPolicyRequest) -> Out<()> {
        Ok(self.attach(Kind::User, &ctx.scope.account, &input.user_name, &input.policy_arn)?)
    }
    async fn detach_user_policy(&self, ctx: &RequestContext, input: DetachUserPolicyRequest) -> Out<()> {
        Ok(self.detach(Kind::User, &ctx.scope.account, &input.user_name, &input.policy_arn)?)
    }
    async fn list_attached_user_policies(&self, ctx: &RequestContext, input: ListAttachedUserPoliciesRequest) -> Out<ListAttachedUserPoliciesResponse> {
        let r = self.entity(Kind::User, &ctx.scope.account, &input.user_name)?;
        let page = paginate(self.attached_out(&ctx.scope.account, &r, input.path_prefix.as_deref()), input.marker.as_deref(), input.max_items)?;
        Ok(ListAttachedUserPoliciesResponse { attached_policies: Some(page.items), is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn attach_group_policy(&self, ctx: &RequestContext, input: AttachGroupPolicyRequest) -> Out<()> {
        Ok(self.attach(Kind::Group, &ctx.scope.account, &input.group_name, &input.policy_arn)?)
    }
    async fn detach_group_policy(&self, ctx: &RequestContext, input: DetachGroupPolicyRequest) -> Out<()> {
        Ok(self.detach(Kind::Group, &ctx.scope.account, &input.group_name, &input.policy_arn)?)
    }
    async fn list_attached_group_policies(&self, ctx: &RequestContext, input: ListAttachedGroupPoliciesRequest) -> Out<ListAttachedGroupPoliciesResponse> {
        let r = self.entity(Kind::Group, &ctx.scope.account, &input.group_name)?;
        let page = paginate(self.attached_out(&ctx.scope.account, &r, input.path_prefix.as_deref()), input.marker.as_deref(), input.max_items)?;
        Ok(ListAttachedGroupPoliciesResponse { attached_policies: Some(page.items), is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn attach_role_policy(&self, ctx: &RequestContext, input: AttachRolePolicyRequest) -> Out<()> {
        Ok(self.attach(Kind::Role, &ctx.scope.account, &input.role_name, &input.policy_arn)?)
    }
    async fn detach_role_policy(&self, ctx: &RequestContext, input: DetachRolePolicyRequest) -> Out<()> {
        Ok(self.detach(Kind::Role, &ctx.scope.account, &input.role_name, &input.policy_arn)?)
    }
    async fn list_attached_role_policies(&self, ctx: &RequestContext, input: ListAttachedRolePoliciesRequest) -> Out<ListAttachedRolePoliciesResponse> {
        let r = self.entity(Kind::Role, &ctx.scope.account, &input.role_name)?;
        let page = paginate(self.attached_out(&ctx.scope.account, &r, input.path_prefix.as_deref()), input.marker.as_deref(), input.max_items)?;
        Ok(ListAttachedRolePoliciesResponse { attached_policies: Some(page.items), is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Inline policies.
    async fn put_user_policy(&self, ctx: &RequestContext, input: PutUserPolicyRequest) -> Out<()> {
        Ok(self.put_inline(Kind::User, &ctx.scope.account, &input.user_name, &input.policy_name, &input.policy_document)?)
    }
    async fn get_user_policy(&self, ctx: &RequestContext, input: GetUserPolicyRequest) -> Out<GetUserPolicyResponse> {
        let (r, doc) = self.inline(Kind::User, &ctx.scope.account, &input.user_name, &input.policy_name)?;
        Ok(GetUserPolicyResponse { user_name: r.name, policy_name: input.policy_name, policy_document: encode_document(&doc) })
    }
    async fn delete_user_policy(&self, ctx: &RequestContext, input: DeleteUserPolicyRequest) -> Out<()> {
        Ok(self.delete_inline(Kind::User, &ctx.scope.account, &input.user_name, &input.policy_name)?)
    }
    async fn list_user_policies(&self, ctx: &RequestContext, input: ListUserPoliciesRequest) -> Out<ListUserPoliciesResponse> {
        let r = self.entity(Kind::User, &ctx.scope.account, &input.user_name)?;
        let page = paginate(r.inline.keys().cloned().collect(), input.marker.as_deref(), input.max_items)?;
        Ok(ListUserPoliciesResponse { policy_names: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn put_group_policy(&self, ctx: &RequestContext, input: PutGroupPolicyRequest) -> Out<()> {
        Ok(self.put_inline(Kind::Group, &ctx.scope.account, &input.group_name, &input.policy_name, &input.policy_document)?)
    }
    async fn get_group_policy(&self, ctx: &RequestContext, input: GetGroupPolicyRequest) -> Out<GetGroupPolicyResponse> {
        let (r, doc) = self.inline(Kind::Group, &ctx.scope.account, &input.group_name, &input.policy_name)?;
        Ok(GetGroupPolicyResponse { group_name: r.name, policy_name: input.policy_name, policy_document: encode_document(&doc) })
    }
    async fn delete_group_policy(&self, ctx: &RequestContext, input: DeleteGroupPolicyRequest) -> Out<()> {
        Ok(self.delete_inline(Kind::Group, &ctx.scope.account, &input.group_name, &input.policy_name)?)
    }
    async fn list_group_policies(&self, ctx: &RequestContext, input: ListGroupPoliciesRequest) -> Out<ListGroupPoliciesResponse> {
        let r = self.entity(Kind::Group, &ctx.scope.account, &input.group_name)?;
        let page = paginate(r.inline.keys().cloned().collect(), input.marker.as_deref(), input.max_items)?;
        Ok(ListGroupPoliciesResponse { policy_names: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn put_role_policy(&self, ctx: &RequestContext, input: PutRolePolicyRequest) -> Out<()> {
        Ok(self.put_inline(Kind::Role, &ctx.scope.account, &input.role_name, &input.policy_name, &input.policy_document)?)
    }
    async fn get_role_policy(&self, ctx: &RequestContext, input: GetRolePolicyRequest) -> Out<GetRolePolicyResponse> {
        let (r, doc) = self.inline(Kind::Role, &ctx.scope.account, &input.role_name, &input.policy_name)?;
        Ok(GetRolePolicyResponse { role_name: r.name, policy_name: input.policy_name, policy_document: encode_document(&doc) })
    }
    async fn delete_role_policy(&self, ctx: &RequestContext, input: DeleteRolePolicyRequest) -> Out<()> {
        Ok(self.delete_inline(Kind::Role, &ctx.scope.account, &input.role_name, &input.policy_name)?)
    }
    async fn list_role_policies(&self, ctx: &RequestContext, input: ListRolePoliciesRequest) -> Out<ListRolePoliciesResponse> {
        let r = self.entity(Kind::Role, &ctx.scope.account, &input.role_name)?;
        let page = paginate(r.inline.keys().cloned().collect(), input.marker.as_deref(), input.max_items)?;
        Ok(ListRolePoliciesResponse { policy_names: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }

    // Access keys.
    async fn create_access_key(&self, ctx: &RequestContext, input: CreateAccessKeyRequest) -> Out<CreateAccessKeyResponse> {
        let account = &ctx.scope.account;
        let owner = self.key_owner(account, &ctx.principal, input.user_name)?;
        let k = self.create_access_key(account, owner)?;
        Ok(CreateAccessKeyResponse {
            access_key: AccessKey {
                user_name: k.user.unwrap_or_default(),
                access_key_id: k.id,
                status: "Active".into(),
                secret_access_key: k.secret,
                create_date: Some(k.created),
            },
        })
    }
    async fn list_access_keys(&self, ctx: &RequestContext, input: ListAccessKeysRequest) -> Out<ListAccessKeysResponse> {
        let account = &ctx.scope.account;
        let owner = self.key_owner(account, &ctx.principal, input.user_name)?;
        let keys: Vec<AccessKeyMetadata> = self.access_keys(account, owner.as_deref())?
            .into_iter()
            .map(|k| AccessKeyMetadata {
                user_name: k.user,
                access_key_id: Some(k.id),
                status: Some(if k.active { "Active" } else { "Inactive" }.into()),
                create_date: Some(k.created),
            })
            .collect();
        let page = paginate(keys, input.marker.as_deref(), input.max_items)?;
        Ok(ListAccessKeysResponse { access_key_metadata: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn update_access_key(&self, ctx: &RequestContext, input: UpdateAccessKeyRequest) -> Out<()> {
        let active = match input.status.as_str() {
            "Active" => true,
            "Inactive" => false,
            other => {
                return Err(AwsError::from(IamError::ValidationError(format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                ))))
            }
        };
        let owner = self.key_owner(&ctx.scope.account, &ctx.principal, input.user_name)?;
        Ok(self.change_access_key(&ctx.scope.account, owner.as_deref(), &input.access_key_id, Some(active))?)
    }
    async fn delete_access_key(&self, ctx: &RequestContext, input: DeleteAccessKeyRequest) -> Out<()> {
        let owner = self.key_owner(&ctx.scope.account, &ctx.principal, input.user_name)?;
        Ok(self.change_access_key(&ctx.scope.account, owner.as_deref(), &input.access_key_id, None)?)
    }
    async fn get_access_key_last_used(&self, _: &RequestContext, input: GetAccessKeyLastUsedRequest) -> Out<GetAccessKeyLastUsedResponse> {
        let k = self.access_key(&input.access_key_id)?;
        let used = self.last_use(&k.id);
        Ok(GetAccessKeyLastUsedResponse {
            user_name: k.user,
            access_key_last_used: Some(AccessKeyLastUsed {
                last_used_date: used.as_ref().map(|u| u.at),
                service_name: used.as_ref().map_or("N/A".into(), |u| u.service.clone()),
                region: used.as_ref().map_or("N/A".into(), |u| u.region.clone()),
            }),
        })
    }

    // Login profiles and the password policy.
    async fn create_login_profile(&self, ctx: &RequestContext, input: CreateLoginProfileRequest) -> Out<CreateLoginProfileResponse> {
        let user = self_or(ctx, input.user_name)?;
        let password = input.password.unwrap_or_default();
        let reset = input.password_reset_required.unwrap_or(false);
        let p = self.set_login_profile(&ctx.scope.account, &user, &password, reset, true)?;
        let name = self.entity(Kind::User, &ctx.scope.account, &user)?.name;
        Ok(CreateLoginProfileResponse { login_profile: LoginProfile { user_name: name, create_date: p.created, password_reset_required: Some(reset) } })
    }
    async fn get_login_profile(&self, ctx: &RequestContext, input: GetLoginProfileRequest) -> Out<GetLoginProfileResponse> {
        let user = self_or(ctx, input.user_name)?;
        let u = self.entity(Kind::User, &ctx.scope.account, &user)?;
        let p = u.login.ok_or_else(|| AwsError::from(IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found."))))?;
        Ok(GetLoginProfileResponse { login_profile: LoginProfile { user_name: u.name, create_date: p.created, password_reset_required: Some(p.reset_required) } })
    }
    async fn update_login_profile(&self, ctx: &RequestContext, input: UpdateLoginProfileRequest) -> Out<()> {
        let account = &ctx.scope.account;
        match input.password {
            Some(p) => Ok(self.set_login_profile(account, &input.user_name, &p, input.password_reset_required.unwrap_or(false), false)?).map(|_| ()),
            None => Ok(self.update_entity(Kind::User, account, &input.user_name, |u| {
                let login = u.login.as_mut().ok_or_else(|| IamError::NoSuchEntity(format!("Login Profile for User {} cannot be found.", input.user_name)))?;
                if let Some(r) = input.password_reset_required {
                    login.reset_required = r;
                }
                Ok(())
            })?),
        }
    }
    async fn delete_login_profile(&self, ctx: &RequestContext, input: DeleteLoginProfileRequest) -> Out<()> {
        let user = self_or(ctx, input.user_name)?;
        Ok(self.update_entity(Kind::User, &ctx.scope.account, &user, |u| {
            u.login.take().map(|_| ()).ok_or_else(|| IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found.")))
        })?)
    }
    async fn change_password(&self, ctx: &RequestContext, input: ChangePasswordRequest) -> Out<()> {
        let nubo_core::Principal::User { name, .. } = &ctx.principal else {
            return Err(AwsError::from(IamError::InvalidUserType("Only IAM users can change their own password.".into())));
        };
        Ok(self.change_password(&ctx.scope.account, name, &input.old_password, &input.new_password)?)
    }
    async fn update_account_password_policy(&self, ctx: &RequestContext, input: UpdateAccountPasswordPolicyRequest) -> Out<()> {
        let min = input.minimum_password_length.unwrap_or(6);
        if !(6..=128).contains(&min) {
            return Err(AwsError::from(IamError::ValidationError(format!(
                "1 validation error detected: Value '{min}' at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6"
            ))));
        }
        let policy = PasswordPolicyRecord {
            minimum_password_length: min,
            require_symbols: input.require_symbols.unwrap_or(false),
            require_numbers: input.require_numbers.unwrap_or(false),
            require_uppercase_characters: input.require_uppercase_characters.unwrap_or(false),
            require_lowercase_characters: input.require_lowercase_characters.unwrap_or(false),
            allow_users_to_change_password: input.allow_users_to_change_password.unwrap_or(false),
            max_password_age: input.max_password_age.filter(|a| *a > 0),
            password_reuse_prevention: input.password_reuse_prevention,
            hard_expiry: input.hard_expiry.unwrap_or(false),
        };
        Ok(self.update_account(&ctx.scope.account, |a| {
            a.password_policy = Some(policy);
            Ok(())
        })?)
    }
    async fn get_account_password_policy(&self, ctx: &RequestContext, _: ()) -> Out<GetAccountPasswordPolicyResponse> {
        let policy = self.account_record(&ctx.scope.account)?.password_policy.ok_or_else(|| {
            AwsError::from(IamError::NoSuchEntity(format!("The Password Policy with domain name {} cannot be found.", ctx.scope.account)))
        })?;
        Ok(GetAccountPasswordPolicyResponse { password_policy: password_policy_out(&policy) })
    }
    async fn delete_account_password_policy(&self, ctx: &RequestContext, _: ()) -> Out<()> {
        Ok(self.update_account(&ctx.scope.account, |a| {
            a.password_policy
                .take()
                .map(|_| ())
                .ok_or_else(|| IamError::NoSuchEntity("The account policy with name PasswordPolicy cannot be found.".into()))
        })?)
    }

    // MFA.
    async fn create_virtual_mfa_device(&self, ctx: &RequestContext, input: CreateVirtualMFADeviceRequest) -> Out<CreateVirtualMFADeviceResponse> {
        let tags = tags_in(input.tags)?;
        let d = self.create_virtual_mfa_device(&ctx.scope.account, &input.virtual_mfa_device_name, input.path, tags)?;
        Ok(CreateVirtualMFADeviceResponse {
            virtual_mfa_device: VirtualMFADevice {
                serial_number: d.serial,
                base32_string_seed: Some(bytes::Bytes::from(mfa::base32(&d.seed))),
                qr_code_png: None,
                user: None,
                enable_date: None,
                tags: (!d.tags.is_empty()).then(|| tags_out(&d.tags)),
            },
        })
    }
    async fn enable_mfa_device(&self, ctx: &RequestContext, input: EnableMFADeviceRequest) -> Out<()> {
        Ok(self.enable_mfa_device(&ctx.scope.account, &input.user_name, &input.serial_number, &input.authentication_code1, &input.authentication_code2)?)
    }
    async fn resync_mfa_device(&self, ctx: &RequestContext, input: ResyncMFADeviceRequest) -> Out<()> {
        Ok(self.resync_mfa_device(&ctx.scope.account, &input.user_name, &input.serial_number, &input.authentication_code1, &input.authentication_code2)?)
    }
    async fn list_mfa_devices(&self, ctx: &RequestContext, input: ListMFADevicesRequest) -> Out<ListMFADevicesResponse> {
        let account = &ctx.scope.account;
        let user = self_or(ctx, input.user_name)?;
        self.user_must_exist(account, &user)?;
        let devices: Vec<MFADevice> = self.mfa_devices(account)?
            .into_iter()
            .filter(|d| d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&user)))
            .map(|d| MFADevice { user_name: d.user.unwrap_or_default(), serial_number: d.serial, enable_date: d.enabled.unwrap_or_default() })
            .collect();
        let page = paginate(devices, input.marker.as_deref(), input.max_items)?;
        Ok(ListMFADevicesResponse { mfa_devices: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn list_virtual_mfa_devices(&self, ctx: &RequestContext, input: ListVirtualMFADevicesRequest) -> Out<ListVirtualMFADevicesResponse> {
        let account = &ctx.scope.account;
        let status = input.assignment_status.unwrap_or_else(|| "Any".into());
        let devices: Vec<VirtualMFADevice> = self.mfa_devices(account)?
            .into_iter()
            .filter(|d| status == "Any" || (status == "Assigned") == d.user.is_some())
            .map(|d| VirtualMFADevice {
                serial_number: d.serial,
                base32_string_seed: None,
                qr_code_png: None,
                user: d.user.as_deref().and_then(|u| self.entity(Kind::User, account, u).ok()).map(|u| self.user_out(&u)),
                enable_date: d.enabled,
                tags: (!d.tags.is_empty()).then(|| tags_out(&d.tags)),
            })
            .collect();
        let page = paginate(devices, input.marker.as_deref(), input.max_items)?;
        Ok(ListVirtualMFADevicesResponse { virtual_mfa_devices: page.items, is_truncated: Some(page.is_truncated), marker: page.marker })
    }
    async fn deactivate_mfa_device(&self, ctx: &RequestContext, input: DeactivateMFADeviceRequest) -> Out<()> {
        Ok(self.deactivate_mfa_device(&ctx.scope.account, input.user_name.as_deref(), &input.serial_number)?)
    }
    async fn delete_virtual_mfa_device(&self, ctx: &RequestContext, input: DeleteVirtualMFADeviceRequest) -> Out<()> {
        Ok(self.delete_virtual_mfa_device(&ctx.scope.account, &input.serial_number)?)
    }

    // Account aliases.
    async fn create_account_alias(&self, ctx: &RequestContext, input: CreateAccountAliasRequest) -> Out<()> {
        let alias = input.account_alias;
        let valid = (3..=63).contains(&alias.len())
            && alias.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !alias.starts_with('-')
            && !alias.ends_with('-');
        if !valid {
            return Err(AwsError::from(IamError::ValidationError(format!(
                "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
            ))));
        }
        Ok(self.update_account(&ctx.scope.account, |a| {
            // An account has one alias; creating another replaces it.
            a.aliases = vec![alias];
            Ok(())
        })?)
    }
    async fn list_account_aliases(&self, ctx: &RequestContext, _: ListAccountAliasesRequest) -> Out<ListAccountAliasesResponse> {
        Ok(ListAccountAliasesResponse { account_aliases: self.account_record(&ctx.scope.account)?.aliases, is_truncated: Some(false), marker: None })
    }
    async fn delete_account_alias(&self, ctx: &RequestContext, input: DeleteAccountAliasRequest) -> Out<()> {
        Ok(self.update_account(&ctx.scope.account, |a| {
            let before = a.aliases.len();
            a.aliases.retain(|x| *x != input.account_alias);
            if a.aliases.len() == before {
                return Err(IamError::NoSuchEntity(format!("The account alias {} cannot be found.", input.account_alias)));
            }
            Ok(())
        })?)
    }

    // Reports.
    async fn generate_credential_report(&self, ctx: &RequestContext, _: ()) -> Out<GenerateCredentialReportResponse> {
        let existed = self.generate_credential_report(&ctx.scope.account)?;
        Ok(GenerateCredentialReportResponse {
            state: Some(if existed { "COMPLETE" } else { "STARTED" }.into()),
            description: Some(if existed { "" } else { "No report exists. Starting a new report generation task" }.into()).filter(|d: &String| !d.is_empty()),
        })
    }
    async fn get_credential_report(&self, ctx: &RequestContext, _: ()) -> Out<GetCredentialReportResponse> {
        let (csv, generated) = self.credential_report(&ctx.scope.account)?;
        Ok(GetCredentialReportResponse { content: Some(bytes::Bytes::from(csv)), report_format: Some("text/csv".into()), generated_time: Some(generated) })
    }
    async fn generate_service_last_accessed_details(&self, ctx: &RequestContext, input: GenerateServiceLastAccessedDetailsRequest) -> Out<GenerateServiceLastAccessedDetailsResponse> {
        Ok(GenerateServiceLastAccessedDetailsResponse { job_id: Some(self.generate_last_accessed(&ctx.scope.account, &input.arn)?) })
    }
    async fn get_service_last_accessed_details(&self, ctx: &RequestContext, input: GetServiceLastAccessedDetailsRequest) -> Out<GetServiceLastAccessedDetailsResponse> {
        let (created, rows) = self.last_accessed(&ctx.scope.account, &input.job_id)?;
        let services = rows
            .into_iter()
            .map(|(ns, name, last)| ServiceLastAccessed {
                service_name: name,
                service_namespace: ns,
                last_authenticated: last.as_ref().map(|l| l.0),
                last_authenticated_region: last.as_ref().map(|l| l.1.clone()),
                last_authenticated_entity: last.as_ref().map(|l| l.2.clone()),
                total_authenticated_entities: Some(i32::from(last.is_some())),
                tracked_actions_last_accessed: None,
            })
            .collect();
        Ok(GetServiceLastAccessedDetailsResponse {
            job_status: "COMPLETED".into(),
            job_type: Some("SERVICE_LEVEL".into()),
            job_creation_date: created,
            services_last_accessed: services,
            job_completion_date: created,
            is_truncated: Some(false),
            marker: None,
            error: None,
        })
    }
    async fn get_account_summary(&self, ctx: &RequestContext, _: ()) -> Out<GetAccountSummaryResponse> {
        Ok(GetAccountSummaryResponse { summary_map: Some(self.account_summary(&ctx.scope.account)?) })
    }
    async fn get_account_authorization_details(&self, ctx: &RequestContext, input: GetAccountAuthorizationDetailsRequest) -> Out<GetAccountAuthorizationDetailsResponse> {
        let account = &ctx.scope.account;
        let filter = input.filter.unwrap_or_default();
        let want = |f: &str| filter.is_empty() || filter.iter().any(|x| x == f);
        let details = |r: &EntityRecord| -> Vec<PolicyDetail> {
            r.inline.iter().map(|(n, d)| PolicyDetail { policy_name: Some(n.clone()), policy_document: Some(encode_document(d)) }).collect()
        };
        let users = if want("User") {
            self.entities(Kind::User, account, None)?
                .iter()
                .map(|u| UserDetail {
                    path: Some(u.path.clone()),
                    user_name: Some(u.name.clone()),
                    user_id: Some(u.id.clone()),
                    arn: Some(u.arn.clone()),
                    create_date: Some(u.created),
                    user_policy_list: Some(details(u)),
                    group_list: Some(u.groups.clone()),
                    attached_managed_policies: Some(self.attached_out(account, u, None)),
                    permissions_boundary: None,
                    tags: Some(tags_out(&u.tags)),
                })
                .collect()
        } else {
            Vec::new()
        };
        let groups = if want("Group") {
            self.entities(Kind::Group, account, None)?
                .iter()
                .map(|g| GroupDetail {
                    path: Some(g.path.clone()),
                    group_name: Some(g.name.clone()),
                    group_id: Some(g.id.clone()),
                    arn: Some(g.arn.clone()),
                    create_date: Some(g.created),
                    group_policy_list: Some(details(g)),
                    attached_managed_policies: Some(self.attached_out(account, g, None)),
                })
                .collect()
        } else {
            Vec::new()
        };
        let profiles = self.instance_profiles(account)?;
        let roles = if want("Role") {
            self.entities(Kind::Role, account, None)?
                .iter()
                .map(|r| RoleDetail {
                    path: Some(r.path.clone()),
                    role_name: Some(r.name.clone()),
                    role_id: Some(r.id.clone()),
                    arn: Some(r.arn.clone()),
                    create_date: Some(r.created),
                    assume_role_policy_document: r.trust_policy.as_deref().map(encode_document),
                    instance_profile_list: Some(
                        profiles.iter().filter(|p| p.roles.iter().any(|n| n.eq_ignore_ascii_case(&r.name))).map(|p| self.profile_out(account, p)).collect(),
                    ),
                    role_policy_list: Some(details(r)),
                    attached_managed_policies: Some(self.attached_out(account, r, None)),
                    permissions_boundary: None,
                    tags: Some(tags_out(&r.tags)),
                    role_last_used: self.role_out(r).role_last_used,
                })
                .collect()
        } else {
            Vec::new()
        };
        let counts = self.attachment_counts(account)?;
        let policies = if want("LocalManagedPolicy") || want("AWSManagedPolicy") {
            let scope = match (want("LocalManagedPolicy"), want("AWSManagedPolicy")) {
                (true, true) if filter.is_empty() => "Local",
                (true, true) => "All",
                (true, false) => "Local",
                _ => "AWS",
            };
            self.managed_policies(account, scope)?
                .iter()
                // AWS-managed policies appear only where something uses them.
                .filter(|p| !p.aws_managed || counts.contains_key(&p.arn))
                .map(|p| ManagedPolicyDetail {
                    policy_name: Some(p.name.clone()),
                    policy_id: Some(p.id.clone()),
                    arn: Some(p.arn.clone()),
                    path: Some(p.path.clone()),
                    default_version_id: Some(p.default_version.clone()),
                    attachment_count: Some(counts.get(&p.arn).copied().unwrap_or(0)),
                    permissions_boundary_usage_count: Some(0),
                    is_attachable: Some(true),
                    description: p.description.clone(),
                    create_date: Some(p.created),
                    update_date: Some(p.updated),
                    policy_version_list: Some(p.versions.iter().map(|v| version_out(p, v, true)).collect()),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(GetAccountAuthorizationDetailsResponse {
            user_detail_list: Some(users),
            group_detail_list: Some(groups),
            role_detail_list: Some(roles),
            policies: Some(policies),
            is_truncated: Some(false),
            marker: None,
        })
    }

    // The simulator.
    async fn simulate_principal_policy(&self, ctx: &RequestContext, input: SimulatePrincipalPolicyRequest) -> Out<SimulatePolicyResponse> {
        let results = self.simulate(simulate::Simulation {
            account: &ctx.scope.account,
            region: &ctx.scope.region,
            source_arn: Some(&input.policy_source_arn),
            extra_policies: input.policy_input_list.unwrap_or_default(),
            actions: input.action_names,
            resources: input.resource_arns,
            resource_policy: input.resource_policy,
            context: input.context_entries,
        })?;
        Ok(SimulatePolicyResponse { evaluation_results: Some(results), is_truncated: Some(false), marker: None })
    }
    async fn simulate_custom_policy(&self, ctx: &RequestContext, input: SimulateCustomPolicyRequest) -> Out<SimulatePolicyResponse> {
        let results = self.simulate(simulate::Simulation {
            account: &ctx.scope.account,
            region: &ctx.scope.region,
            source_arn: None,
            extra_policies: input.policy_input_list,
            actions: input.action_names,
            resources: input.resource_arns,
            resource_policy: input.resource_policy,
            context: input.context_entries,
        })?;
        Ok(SimulatePolicyResponse { evaluation_results: Some(results), is_truncated: Some(false), marker: None })
    }
}
