//! Who a request acts as: account, region and principal, from its credentials.
//!
//! Any access key is accepted (enforcement arrives with the IAM issue); the credential
//! scope gives the region, unsigned requests get the default region.

use http::HeaderMap;
use nubo_core::scope::{account_for_access_key, DEFAULT_REGION};
use nubo_core::{Principal, Scope};

pub struct Identity {
    pub scope: Scope,
    pub principal: Principal,
    pub access_key: Option<String>,
}

pub fn resolve(headers: &HeaderMap, query: &str) -> Identity {
    let cred = nubo_sigv4::credential(headers, query);
    let access_key = cred.as_ref().map(|c| c.access_key.clone()).or_else(|| nubo_sigv4::legacy_access_key(headers, query));
    let account = access_key.as_deref().map(account_for_access_key).unwrap_or_else(|| nubo_core::scope::DEFAULT_ACCOUNT.into());
    let region = cred.map(|c| c.region).filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_REGION.into());
    Identity { scope: Scope::new(account.clone(), region), principal: Principal::Root { account }, access_key }
}
