//! Launch configurations: the legacy, immutable description of what a group launches,
//! still what many tutorials use.

use crate::error::{AsError, Result};
use crate::records::{self, GroupRecord, LaunchConfigurationRecord, GROUPS, LAUNCH_CONFIGURATIONS};
use crate::AutoScaling;
use nubo_core::Scope;
use nubo_model::generated::autoscaling::*;

impl AutoScaling {
    pub(crate) fn launch_configuration(&self, scope: &Scope, name: &str) -> Result<LaunchConfigurationRecord> {
        self.read(|tx| Ok(records::get(tx, LAUNCH_CONFIGURATIONS, scope, name)?))?
            .ok_or_else(|| AsError::Validation(format!("Launch configuration name not found - Launch configuration {name} not found")))
    }

    pub(crate) fn create_launch_configuration_op(&self, scope: &Scope, input: CreateLaunchConfigurationType) -> Result<()> {
        let name = input.launch_configuration_name.clone();
        if name.is_empty() || name.len() > 255 {
            return Err(AsError::Validation("LaunchConfigurationName must be between 1 and 255 characters".into()));
        }
        let image_id = input.image_id.clone().ok_or_else(|| AsError::Validation("Valid requests must contain either the InstanceID parameter or both the ImageId and InstanceType parameters.".into()))?;
        let instance_type = input.instance_type.clone().ok_or_else(|| AsError::Validation("Valid requests must contain either the InstanceID parameter or both the ImageId and InstanceType parameters.".into()))?;
        let record = LaunchConfigurationRecord {
            arn: format!("arn:aws:autoscaling:{}:{}:launchConfiguration:{}:launchConfigurationName/{name}", scope.region, scope.account, nubo_core::ids::uuid()),
            name: name.clone(),
            image_id,
            instance_type,
            key_name: input.key_name.clone(),
            security_groups: input.security_groups.clone().unwrap_or_default(),
            user_data: input.user_data.clone(),
            iam_instance_profile: input.iam_instance_profile.clone(),
            associate_public_ip: input.associate_public_ip_address,
            monitoring: input.instance_monitoring.as_ref().and_then(|m| m.enabled).unwrap_or(true),
            created: self.clock.now(),
        };
        self.write(|tx| {
            if records::get::<LaunchConfigurationRecord>(tx, LAUNCH_CONFIGURATIONS, scope, &name)?.is_some() {
                return Err(AsError::AlreadyExists(format!("Launch Configuration by this name already exists - A launch configuration already exists with the name {name}")));
            }
            records::put(tx, LAUNCH_CONFIGURATIONS, scope, &name, &record)?;
            Ok(())
        })
    }

    pub(crate) fn describe_launch_configurations_op(&self, scope: &Scope, input: LaunchConfigurationNamesType) -> Result<LaunchConfigurationsType> {
        let all: Vec<LaunchConfigurationRecord> = self.read(|tx| Ok(records::all(tx, LAUNCH_CONFIGURATIONS, scope)?))?;
        let out = all
            .into_iter()
            .filter(|c| input.launch_configuration_names.as_ref().is_none_or(|n| n.contains(&c.name)))
            .map(|c| LaunchConfiguration {
                launch_configuration_name: c.name,
                launch_configuration_arn: Some(c.arn),
                image_id: c.image_id,
                key_name: c.key_name,
                security_groups: Some(c.security_groups),
                user_data: c.user_data,
                instance_type: c.instance_type,
                kernel_id: Some(String::new()),
                ramdisk_id: Some(String::new()),
                block_device_mappings: Some(Vec::new()),
                instance_monitoring: Some(InstanceMonitoring { enabled: Some(c.monitoring) }),
                iam_instance_profile: c.iam_instance_profile,
                created_time: c.created,
                ebs_optimized: Some(false),
                associate_public_ip_address: c.associate_public_ip,
                ..Default::default()
            })
            .collect();
        Ok(LaunchConfigurationsType { launch_configurations: out, next_token: None })
    }

    pub(crate) fn delete_launch_configuration_op(&self, scope: &Scope, name: &str) -> Result<()> {
        self.write(|tx| {
            if let Some(g) = records::all::<GroupRecord>(tx, GROUPS, scope)?.into_iter().find(|g| g.launch_configuration.as_deref() == Some(name)) {
                return Err(AsError::ResourceInUse(format!("Cannot delete launch configuration {name} because it is attached to AutoScalingGroup {}", g.name)));
            }
            if !tx.delete(LAUNCH_CONFIGURATIONS, &records::key(scope, name))? {
                return Err(AsError::Validation(format!("Launch configuration name not found - Launch configuration {name} not found")));
            }
            Ok(())
        })
    }
}
