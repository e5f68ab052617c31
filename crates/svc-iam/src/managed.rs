//! AWS-managed policies, with their real documents, embedded from `managed/`.
//!
//! `managed/index.json` holds what `GetPolicy` shows (ARN, id, path, dates, default
//! version, description); `managed/<Name>.json` holds the document of the default
//! version. Both are parsed on first use.

use crate::policies::ManagedView;
use nubo_core::Timestamp;
use serde::Deserialize;
use nubo_iam_policy::{Policy, PolicyKind};
use std::sync::{Arc, OnceLock};

macro_rules! documents {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../managed/", $name, ".json")))),*]
    };
}

/// Policy name → document, for every policy in the index.
const DOCUMENTS: &[(&str, &str)] = documents![
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambda_FullAccess",
    "AWSLambda_ReadOnlyAccess",
    "AdministratorAccess",
    "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess",
    "AmazonEC2FullAccess",
    "AmazonEC2ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonSNSFullAccess",
    "AmazonSNSReadOnlyAccess",
    "AmazonSQSFullAccess",
    "AmazonSQSReadOnlyAccess",
    "AmazonSSMManagedInstanceCore",
    "AutoScalingFullAccess",
    "CloudWatchFullAccess",
    "CloudWatchLogsFullAccess",
    "CloudWatchReadOnlyAccess",
    "ElasticLoadBalancingFullAccess",
    "IAMFullAccess",
    "IAMReadOnlyAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
];

const INDEX: &str = include_str!("../managed/index.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexEntry {
    policy_name: String,
    path: String,
    arn: String,
    policy_id: Option<String>,
    default_version_id: String,
    create_date: String,
    update_date: String,
    description: Option<String>,
}

#[derive(Debug)]
pub struct Managed {
    entry: IndexEntry,
    pub document: &'static str,
    parsed: OnceLock<Option<Arc<Policy>>>,
}

impl Managed {
    /// The document, parsed once: ReadOnlyAccess alone has some 3000 actions.
    pub fn policy(&self) -> Option<Arc<Policy>> {
        self.parsed.get_or_init(|| Policy::parse(self.document, PolicyKind::Identity).ok().map(Arc::new)).clone()
    }

    pub fn view(&self) -> ManagedView {
        let e = &self.entry;
        let created = Timestamp::parse_iso8601(&e.create_date).unwrap_or_default();
        let updated = Timestamp::parse_iso8601(&e.update_date).unwrap_or(created);
        ManagedView {
            name: e.policy_name.clone(),
            // Ids the index lacks are made stable from the name.
            id: e.policy_id.clone().unwrap_or_else(|| stable_id(&e.policy_name)),
            path: e.path.clone(),
            arn: e.arn.clone(),
            description: e.description.clone(),
            created,
            updated,
            default_version: e.default_version_id.clone(),
            versions: vec![(e.default_version_id.clone(), self.document.to_string(), updated)],
            tags: Vec::new(),
            aws_managed: true,
        }
    }
}

fn stable_id(name: &str) -> String {
    // The name's stable hash, spelled in IAM's id alphabet.
    let h = nubo_core::ids::stable_hash(&[name]);
    let alphabet = nubo_core::ids::UPPER_ALNUM;
    let mut id = String::from("ANPA");
    for i in 0..17 {
        id.push(alphabet[((h >> (i % 13 * 5)) as usize + i) % alphabet.len()] as char);
    }
    id
}

pub fn all() -> &'static [Managed] {
    static ALL: OnceLock<Vec<Managed>> = OnceLock::new();
    ALL.get_or_init(|| {
        let index: Vec<IndexEntry> = serde_json::from_str(INDEX).expect("managed/index.json is valid");
        index
            .into_iter()
            .filter_map(|entry| {
                let document = DOCUMENTS.iter().find(|(n, _)| *n == entry.policy_name)?.1;
                Some(Managed { entry, document, parsed: OnceLock::new() })
            })
            .collect()
    })
}

pub fn find(arn: &str) -> Option<&'static Managed> {
    if !arn.starts_with("arn:aws:iam::aws:policy/") {
        return None;
    }
    all().iter().find(|m| m.entry.arn == arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_document_is_a_valid_identity_policy() {
        assert_eq!(all().len(), DOCUMENTS.len(), "every document has an index entry");
        for m in all() {
            Policy::parse(m.document, PolicyKind::Identity).unwrap_or_else(|e| panic!("{}: {e:?}", m.entry.arn));
        }
    }

    #[test]
    fn administrator_access_is_found_by_arn() {
        let m = find("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert!(m.document.contains("\"*\""));
    }
}
