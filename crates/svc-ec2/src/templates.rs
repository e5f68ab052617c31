//! Launch templates: numbered versions of launch parameters, a default and a latest one
//! (`$Default`, `$Latest`), and `RunInstances` that takes one and overrides it.

use crate::error::{Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, Kind, Resource};
use crate::{tags, Ec2};
use nubo_core::ids::resource_id;
use nubo_core::{Scope, Timestamp};
use nubo_model::generated::ec2::*;
use serde::{Deserialize, Serialize};

/// The launch parameters nubo keeps from a template's data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemplateData {
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    pub key_name: Option<String>,
    pub security_group_ids: Option<Vec<String>>,
    pub security_groups: Option<Vec<String>>,
    pub user_data: Option<String>,
    pub iam_instance_profile: Option<(Option<String>, Option<String>)>,
    /// (resource type, key, value).
    pub tags: Vec<(String, String, String)>,
    pub subnet_id: Option<String>,
    pub associate_public_ip: Option<bool>,
    pub device_groups: Option<Vec<String>>,
    pub availability_zone: Option<String>,
    pub disable_api_termination: Option<bool>,
    pub shutdown_behavior: Option<String>,
    pub monitoring: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub number: i64,
    pub description: Option<String>,
    pub data: TemplateData,
    pub created: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchTemplateRecord {
    pub id: String,
    pub name: String,
    pub default_version: i64,
    pub versions: Vec<TemplateVersion>,
    pub created: Timestamp,
}

impl Resource for LaunchTemplateRecord {
    const KIND: Kind = Kind::LaunchTemplate;
    fn id(&self) -> &str {
        &self.id
    }
}

impl LaunchTemplateRecord {
    fn latest(&self) -> i64 {
        self.versions.iter().map(|v| v.number).max().unwrap_or(1)
    }

    /// `$Latest`, `$Default`, or a number.
    pub fn version(&self, which: Option<&str>) -> Result<&TemplateVersion> {
        let n = match which.unwrap_or("$Default") {
            "$Latest" => self.latest(),
            "$Default" => self.default_version,
            other => other.parse().map_err(|_| Ec2Error::InvalidParameterValue(format!("Invalid launch template version '{other}'")))?,
        };
        self.versions.iter().find(|v| v.number == n).ok_or_else(|| Ec2Error::NotFound {
            code: "InvalidLaunchTemplateId.VersionNotFound",
            message: format!("Could not find launch template version {n} for launch template ID {}", self.id),
        })
    }
}

fn data_in(d: RequestLaunchTemplateData) -> TemplateData {
    let nic = d.network_interfaces.as_ref().and_then(|n| n.first());
    TemplateData {
        image_id: d.image_id,
        instance_type: d.instance_type,
        key_name: d.key_name,
        security_group_ids: d.security_group_ids,
        security_groups: d.security_groups,
        user_data: d.user_data,
        iam_instance_profile: d.iam_instance_profile.map(|p| (p.arn, p.name)),
        tags: d
            .tag_specifications
            .into_iter()
            .flatten()
            .flat_map(|s| {
                let kind = s.resource_type.unwrap_or_else(|| "instance".into());
                s.tags.into_iter().flatten().filter_map(move |t| Some((kind.clone(), t.key?, t.value.unwrap_or_default())))
            })
            .collect(),
        subnet_id: nic.and_then(|n| n.subnet_id.clone()),
        associate_public_ip: nic.and_then(|n| n.associate_public_ip_address),
        device_groups: nic.and_then(|n| n.groups.clone()),
        availability_zone: d.placement.and_then(|p| p.availability_zone),
        disable_api_termination: d.disable_api_termination,
        shutdown_behavior: d.instance_initiated_shutdown_behavior,
        monitoring: d.monitoring.and_then(|m| m.enabled),
    }
}

fn data_out(d: &TemplateData) -> ResponseLaunchTemplateData {
    let mut tag_specs: Vec<LaunchTemplateTagSpecification> = Vec::new();
    for (kind, k, v) in &d.tags {
        let tag = Tag { key: Some(k.clone()), value: Some(v.clone()) };
        match tag_specs.iter_mut().find(|s| s.resource_type.as_deref() == Some(kind.as_str())) {
            Some(s) => s.tags.get_or_insert_with(Vec::new).push(tag),
            None => tag_specs.push(LaunchTemplateTagSpecification { resource_type: Some(kind.clone()), tags: Some(vec![tag]) }),
        }
    }
    let nic = (d.subnet_id.is_some() || d.associate_public_ip.is_some() || d.device_groups.is_some()).then(|| {
        vec![LaunchTemplateInstanceNetworkInterfaceSpecification {
            associate_public_ip_address: d.associate_public_ip,
            device_index: Some(0),
            groups: d.device_groups.clone(),
            subnet_id: d.subnet_id.clone(),
            ..Default::default()
        }]
    });
    ResponseLaunchTemplateData {
        image_id: d.image_id.clone(),
        instance_type: d.instance_type.clone(),
        key_name: d.key_name.clone(),
        security_group_ids: d.security_group_ids.clone(),
        security_groups: d.security_groups.clone(),
        user_data: d.user_data.clone(),
        iam_instance_profile: d.iam_instance_profile.as_ref().map(|(arn, name)| LaunchTemplateIamInstanceProfileSpecification { arn: arn.clone(), name: name.clone() }),
        tag_specifications: (!tag_specs.is_empty()).then_some(tag_specs),
        network_interfaces: nic,
        placement: d.availability_zone.as_ref().map(|z| LaunchTemplatePlacement { availability_zone: Some(z.clone()), ..Default::default() }),
        disable_api_termination: d.disable_api_termination,
        instance_initiated_shutdown_behavior: d.shutdown_behavior.clone(),
        monitoring: d.monitoring.map(|m| LaunchTemplatesMonitoring { enabled: Some(m) }),
        ..Default::default()
    }
}

fn template_out(t: &LaunchTemplateRecord, account: &str, tags: &[(String, String)]) -> LaunchTemplate {
    LaunchTemplate {
        launch_template_id: Some(t.id.clone()),
        launch_template_name: Some(t.name.clone()),
        create_time: Some(t.created),
        created_by: Some(format!("arn:aws:iam::{account}:root")),
        default_version_number: Some(t.default_version),
        latest_version_number: Some(t.latest()),
        tags: tags::out(tags),
        operator: None,
    }
}

fn version_out(t: &LaunchTemplateRecord, v: &TemplateVersion, account: &str) -> LaunchTemplateVersion {
    LaunchTemplateVersion {
        launch_template_id: Some(t.id.clone()),
        launch_template_name: Some(t.name.clone()),
        version_number: Some(v.number),
        version_description: v.description.clone(),
        create_time: Some(v.created),
        created_by: Some(format!("arn:aws:iam::{account}:root")),
        default_version: Some(v.number == t.default_version),
        launch_template_data: Some(data_out(&v.data)),
        operator: None,
    }
}

impl Ec2 {
    fn template(&self, tx: &dyn nubo_store::ReadTxn, scope: &Scope, id: Option<&str>, name: Option<&str>) -> Result<LaunchTemplateRecord> {
        let all = records::all::<LaunchTemplateRecord>(tx, scope)?;
        match (id, name) {
            (Some(id), _) => all.into_iter().find(|t| t.id == id).ok_or_else(|| Ec2Error::NotFound {
                code: "InvalidLaunchTemplateId.NotFound",
                message: format!("The specified launch template, with template ID {id}, does not exist."),
            }),
            (None, Some(name)) => all.into_iter().find(|t| t.name == name).ok_or_else(|| Ec2Error::NotFound {
                code: "InvalidLaunchTemplateName.NotFoundException",
                message: format!("The specified launch template, with template name {name}, does not exist."),
            }),
            (None, None) => Err(Ec2Error::MissingParameter("The request must contain the parameter LaunchTemplateId or LaunchTemplateName".into())),
        }
    }

    pub(crate) fn create_launch_template(&self, scope: &Scope, input: CreateLaunchTemplateRequest) -> Result<LaunchTemplate> {
        let name = input.launch_template_name.clone();
        if name.len() < 3 || name.len() > 128 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "()./_-".contains(c)) {
            return Err(Ec2Error::InvalidParameterValue(format!("Launch template name '{name}' is invalid: 3 to 128 characters of letters, digits and ( ) . / - _")));
        }
        let tags = tags::from_specs(&input.tag_specifications, "launch-template");
        let now = self.clock.now();
        let t = LaunchTemplateRecord {
            id: resource_id("lt"),
            name: name.clone(),
            default_version: 1,
            versions: vec![TemplateVersion { number: 1, description: input.version_description, data: data_in(input.launch_template_data), created: now }],
            created: now,
        };
        self.write(|tx| {
            if records::all::<LaunchTemplateRecord>(tx, scope)?.iter().any(|x| x.name == name) {
                return Err(Ec2Error::Duplicate {
                    code: "InvalidLaunchTemplateName.AlreadyExistsException",
                    message: format!("Launch template name already in use: {name}"),
                });
            }
            records::put(tx, scope, &t)?;
            tags::set(tx, scope, &t.id, &tags)
        })?;
        Ok(template_out(&t, &scope.account, &tags))
    }

    pub(crate) fn create_launch_template_version(&self, scope: &Scope, input: CreateLaunchTemplateVersionRequest) -> Result<LaunchTemplateVersion> {
        let now = self.clock.now();
        self.write(|tx| {
            let mut t = self.template(tx, scope, input.launch_template_id.as_deref(), input.launch_template_name.as_deref())?;
            let mut data = data_in(input.launch_template_data);
            // A version made from another starts with its parameters.
            if let Some(source) = &input.source_version {
                let base = t.version(Some(source))?.data.clone();
                data = merge(base, data);
            }
            let number = t.latest() + 1;
            t.versions.push(TemplateVersion { number, description: input.version_description, data, created: now });
            records::put(tx, scope, &t)?;
            let v = t.versions.last().expect("just pushed");
            Ok(version_out(&t, v, &scope.account))
        })
    }

    pub(crate) fn modify_launch_template(&self, scope: &Scope, input: ModifyLaunchTemplateRequest) -> Result<LaunchTemplate> {
        self.write(|tx| {
            let mut t = self.template(tx, scope, input.launch_template_id.as_deref(), input.launch_template_name.as_deref())?;
            if let Some(v) = &input.default_version {
                t.default_version = t.version(Some(v))?.number;
            }
            records::put(tx, scope, &t)?;
            let tags = tags::of(tx, scope, &t.id)?;
            Ok(template_out(&t, &scope.account, &tags))
        })
    }

    pub(crate) fn delete_launch_template(&self, scope: &Scope, id: Option<&str>, name: Option<&str>) -> Result<LaunchTemplate> {
        self.write(|tx| {
            let t = self.template(tx, scope, id, name)?;
            let tags = tags::of(tx, scope, &t.id)?;
            records::delete::<LaunchTemplateRecord>(tx, scope, &t.id)?;
            Ok(template_out(&t, &scope.account, &tags))
        })
    }

    pub(crate) fn describe_launch_templates(&self, scope: &Scope, input: DescribeLaunchTemplatesRequest) -> Result<Vec<LaunchTemplate>> {
        let filters = Filters::new(input.filters)?;
        let all = self.read(|tx| {
            let all = records::all::<LaunchTemplateRecord>(tx, scope)?;
            all.into_iter().map(|t| Ok((tags::of(tx, scope, &t.id)?, t))).collect::<Result<Vec<_>>>()
        })?;
        for n in input.launch_template_names.iter().flatten() {
            if !all.iter().any(|(_, t)| &t.name == n) {
                return Err(Ec2Error::NotFound { code: "InvalidLaunchTemplateName.NotFoundException", message: format!("At least one of the launch templates specified in the request does not exist.") });
            }
        }
        for id in input.launch_template_ids.iter().flatten() {
            if !all.iter().any(|(_, t)| &t.id == id) {
                return Err(Ec2Error::NotFound { code: "InvalidLaunchTemplateId.NotFound", message: format!("The specified launch template, with template ID {id}, does not exist.") });
            }
        }
        let mut out = Vec::new();
        for (tg, t) in &all {
            if input.launch_template_names.as_ref().is_some_and(|n| !n.contains(&t.name)) || input.launch_template_ids.as_ref().is_some_and(|i| !i.contains(&t.id)) {
                continue;
            }
            let ok = filters.matches(tg, |name| match name {
                "launch-template-name" => one(&t.name),
                _ => None,
            })?;
            if ok {
                out.push(template_out(t, &scope.account, tg));
            }
        }
        Ok(out)
    }

    pub(crate) fn describe_launch_template_versions(&self, scope: &Scope, input: DescribeLaunchTemplateVersionsRequest) -> Result<Vec<LaunchTemplateVersion>> {
        let t = self.read(|tx| self.template(tx, scope, input.launch_template_id.as_deref(), input.launch_template_name.as_deref()))?;
        let mut out = Vec::new();
        match &input.versions {
            Some(which) => {
                for w in which {
                    out.push(version_out(&t, t.version(Some(w))?, &scope.account));
                }
            }
            None => {
                for v in t.versions.iter().rev() {
                    out.push(version_out(&t, v, &scope.account));
                }
            }
        }
        Ok(out)
    }

    /// Fills what a `RunInstances` call leaves out from the launch template it names.
    pub(crate) fn apply_launch_template(&self, scope: &Scope, input: &mut RunInstancesRequest) -> Result<()> {
        let Some(spec) = input.launch_template.clone() else { return Ok(()) };
        let t = self.read(|tx| self.template(tx, scope, spec.launch_template_id.as_deref(), spec.launch_template_name.as_deref()))?;
        let d = t.version(spec.version.as_deref())?.data.clone();
        input.image_id = input.image_id.take().or(d.image_id);
        input.instance_type = input.instance_type.take().or(d.instance_type);
        input.key_name = input.key_name.take().or(d.key_name);
        input.user_data = input.user_data.take().or(d.user_data);
        if input.security_group_ids.is_none() && input.security_groups.is_none() && input.network_interfaces.is_none() {
            input.security_group_ids = d.security_group_ids.or(d.device_groups.clone());
            input.security_groups = d.security_groups;
        }
        if input.subnet_id.is_none() && input.network_interfaces.is_none() && (d.subnet_id.is_some() || d.associate_public_ip.is_some()) {
            input.network_interfaces = Some(vec![InstanceNetworkInterfaceSpecification {
                subnet_id: d.subnet_id,
                associate_public_ip_address: d.associate_public_ip,
                groups: input.security_group_ids.take().or(d.device_groups),
                device_index: Some(0),
                ..Default::default()
            }]);
        }
        if input.iam_instance_profile.is_none() {
            input.iam_instance_profile = d.iam_instance_profile.map(|(arn, name)| IamInstanceProfileSpecification { arn, name });
        }
        if input.placement.as_ref().and_then(|p| p.availability_zone.as_ref()).is_none() && d.availability_zone.is_some() {
            input.placement = Some(Placement { availability_zone: d.availability_zone, ..Default::default() });
        }
        input.disable_api_termination = input.disable_api_termination.or(d.disable_api_termination);
        input.instance_initiated_shutdown_behavior = input.instance_initiated_shutdown_behavior.take().or(d.shutdown_behavior);
        let mut specs = input.tag_specifications.take().unwrap_or_default();
        for (kind, k, v) in d.tags {
            let present = specs.iter().any(|s| s.resource_type.as_deref() == Some(kind.as_str()) && s.tags.iter().flatten().any(|t| t.key.as_deref() == Some(k.as_str())));
            if !present {
                specs.push(TagSpecification { resource_type: Some(kind), tags: Some(vec![Tag { key: Some(k), value: Some(v) }]) });
            }
        }
        input.tag_specifications = (!specs.is_empty()).then_some(specs);
        Ok(())
    }
}

/// `over` wins where it says something.
fn merge(base: TemplateData, over: TemplateData) -> TemplateData {
    TemplateData {
        image_id: over.image_id.or(base.image_id),
        instance_type: over.instance_type.or(base.instance_type),
        key_name: over.key_name.or(base.key_name),
        security_group_ids: over.security_group_ids.or(base.security_group_ids),
        security_groups: over.security_groups.or(base.security_groups),
        user_data: over.user_data.or(base.user_data),
        iam_instance_profile: over.iam_instance_profile.or(base.iam_instance_profile),
        tags: if over.tags.is_empty() { base.tags } else { over.tags },
        subnet_id: over.subnet_id.or(base.subnet_id),
        associate_public_ip: over.associate_public_ip.or(base.associate_public_ip),
        device_groups: over.device_groups.or(base.device_groups),
        availability_zone: over.availability_zone.or(base.availability_zone),
        disable_api_termination: over.disable_api_termination.or(base.disable_api_termination),
        shutdown_behavior: over.shutdown_behavior.or(base.shutdown_behavior),
        monitoring: over.monitoring.or(base.monitoring),
    }
}
