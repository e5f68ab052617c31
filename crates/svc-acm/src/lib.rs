//! AWS Certificate Manager, as much as HTTPS listeners need: `RequestCertificate` is
//! issued at once by nubo's local CA ([`ca`]; DNS validation is shown as passed),
//! `ImportCertificate` keeps what it is given, `Describe`/`List`/`Get`/`DeleteCertificate`
//! (refused while a listener uses it), tags. Load balancers read a certificate's PEM
//! through [`Acm::server_certificate`].

pub mod ca;

use nubo_core::{AwsError, Clock, RequestContext, Scope, Timestamp};
use nubo_model::generated::acm::{self, *};
use nubo_model::handler::{HttpFuture, HttpRequest, HttpResponse};
use nubo_model::Handler;
use nubo_store::{get_json, put_json, scan_json, Store};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

const CERTIFICATES: &str = "acm.certificates";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CertificateRecord {
    arn: String,
    domain: String,
    sans: Vec<String>,
    /// `AMAZON_ISSUED` or `IMPORTED`.
    kind: String,
    cert_pem: String,
    chain_pem: Option<String>,
    key_pem: String,
    serial: String,
    created: Timestamp,
    not_before: Timestamp,
    not_after: Timestamp,
    tags: Vec<(String, String)>,
}

/// Who uses a certificate (a listener): asked before deleting it.
pub trait Usage: Send + Sync {
    fn users(&self, certificate_arn: &str) -> Vec<String>;
}

#[derive(Clone)]
pub struct Acm {
    store: Store,
    clock: Clock,
    authority: Arc<OnceLock<Result<Arc<ca::Authority>, String>>>,
    usage: Arc<OnceLock<Arc<dyn Usage>>>,
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, format!("Could not find certificate {arn}."))
}

fn key(scope: &Scope, arn: &str) -> Vec<u8> {
    format!("{}\0{}\0{arn}", scope.account, scope.region).into_bytes()
}

impl Acm {
    pub fn new(store: Store, clock: Clock) -> Acm {
        Acm { store, clock, authority: Default::default(), usage: Default::default() }
    }

    /// Who uses certificates (load balancers); set once they exist.
    pub fn set_usage(&self, usage: Arc<dyn Usage>) {
        let _ = self.usage.set(usage);
    }

    fn authority(&self) -> Result<Arc<ca::Authority>, AwsError> {
        self.authority.get_or_init(|| ca::Authority::load_or_create(&self.store).map(Arc::new)).clone().map_err(AwsError::internal)
    }

    /// The CA certificate clients trust (PEM).
    pub fn ca_pem(&self) -> Result<String, AwsError> {
        Ok(self.authority()?.cert_pem.clone())
    }

    fn record(&self, scope: &Scope, arn: &str) -> Result<CertificateRecord, AwsError> {
        self.store.read(|tx| get_json::<CertificateRecord>(tx, CERTIFICATES, &key(scope, arn)))?.ok_or_else(|| not_found(arn))
    }

    /// (certificate chain PEM, private key PEM, names) of a certificate, by ARN (any scope
    /// of its ARN).
    pub fn server_certificate(&self, arn: &str) -> Option<(String, String, Vec<String>)> {
        let mut parts = arn.split(':');
        let (region, account) = (parts.nth(3)?.to_string(), parts.next()?.to_string());
        let r = self.record(&Scope::new(account, region), arn).ok()?;
        let mut chain = r.cert_pem.clone();
        if let Some(c) = &r.chain_pem {
            chain.push_str(c);
        } else if r.kind == "AMAZON_ISSUED" {
            chain.push_str(&self.ca_pem().ok()?);
        }
        let mut names = vec![r.domain.clone()];
        names.extend(r.sans.iter().cloned());
        Some((chain, r.key_pem, names))
    }

    fn detail(&self, r: &CertificateRecord) -> CertificateDetail {
        let issued = r.kind == "AMAZON_ISSUED";
        let in_use = self.usage.get().map(|u| u.users(&r.arn)).unwrap_or_default();
        CertificateDetail {
            certificate_arn: Some(r.arn.clone()),
            domain_name: Some(r.domain.clone()),
            subject_alternative_names: Some(std::iter::once(r.domain.clone()).chain(r.sans.iter().cloned()).collect()),
            domain_validation_options: issued.then(|| {
                std::iter::once(&r.domain)
                    .chain(r.sans.iter())
                    .map(|d| DomainValidation { domain_name: d.clone(), validation_domain: Some(d.clone()), validation_status: Some("SUCCESS".into()), validation_method: Some("DNS".into()), ..Default::default() })
                    .collect()
            }),
            serial: Some(r.serial.clone()),
            subject: Some(format!("CN={}", r.domain)),
            issuer: Some(if issued { "nubo local CA".into() } else { "imported".into() }),
            created_at: Some(r.created),
            issued_at: issued.then_some(r.created),
            imported_at: (!issued).then_some(r.created),
            status: Some("ISSUED".into()),
            not_before: Some(r.not_before),
            not_after: Some(r.not_after),
            key_algorithm: Some("EC_prime256v1".into()),
            signature_algorithm: Some("SHA256WITHECDSA".into()),
            in_use_by: Some(in_use),
            r#type: Some(r.kind.clone()),
            renewal_eligibility: Some(if issued { "ELIGIBLE" } else { "INELIGIBLE" }.into()),
            ..Default::default()
        }
    }

    fn put(&self, scope: &Scope, r: &CertificateRecord) -> Result<(), AwsError> {
        Ok(self.store.write(|tx| put_json(tx, CERTIFICATES, &key(scope, &r.arn), r))?)
    }
}

pub fn service(acm: Acm) -> Box<dyn Handler> {
    Box::new(acm::Service(acm))
}

fn check_domain(d: &str) -> Result<(), AwsError> {
    let ok = !d.is_empty() && d.len() <= 253 && d.trim_start_matches("*.").split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !ok {
        return Err(AwsError::new("ValidationException", 400, format!("1 validation error detected: Value '{d}' at 'domainName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(\\*\\.)?(((?!-)[A-Za-z0-9-]{{0,62}}[A-Za-z0-9])\\.)+((?!-)[A-Za-z0-9-]{{1,62}}[A-Za-z0-9])$")));
    }
    Ok(())
}

impl acm::Acm for Acm {
    fn http<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<HttpFuture<'a>> {
        if req.method != "GET" || req.path != "/_nubo/acm/ca.pem" {
            return None;
        }
        Some(Box::pin(async move {
            match self.ca_pem() {
                Ok(pem) => HttpResponse { status: 200, headers: vec![("content-type".into(), "application/x-pem-file".into())], body: nubo_model::ByteStream::from_bytes(bytes::Bytes::from(pem)) },
                Err(e) => HttpResponse { status: 500, headers: Vec::new(), body: nubo_model::ByteStream::from_bytes(bytes::Bytes::from(e.message)) },
            }
        }))
    }

    async fn request_certificate(&self, ctx: &RequestContext, input: RequestCertificateRequest) -> Result<RequestCertificateResponse, AwsError> {
        check_domain(&input.domain_name)?;
        let sans: Vec<String> = input.subject_alternative_names.unwrap_or_default().into_iter().filter(|s| *s != input.domain_name).collect();
        for s in &sans {
            check_domain(s)?;
        }
        let mut names = vec![input.domain_name.clone()];
        names.extend(sans.iter().cloned());
        let now = self.clock.now();
        let (cert_pem, key_pem, serial) = self.authority()?.issue(&names, now).map_err(AwsError::internal)?;
        let arn = format!("arn:aws:acm:{}:{}:certificate/{}", ctx.scope.region, ctx.scope.account, nubo_core::ids::uuid());
        let r = CertificateRecord {
            arn: arn.clone(),
            domain: input.domain_name,
            sans,
            kind: "AMAZON_ISSUED".into(),
            cert_pem,
            chain_pem: None,
            key_pem,
            serial,
            created: now,
            not_before: now.add_millis(-86_400_000),
            not_after: now.add_millis(395 * 86_400_000),
            tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
        };
        self.put(&ctx.scope, &r)?;
        Ok(RequestCertificateResponse { certificate_arn: Some(arn) })
    }

    async fn import_certificate(&self, ctx: &RequestContext, input: ImportCertificateRequest) -> Result<ImportCertificateResponse, AwsError> {
        let cert_pem = String::from_utf8(input.certificate.to_vec()).map_err(|_| AwsError::new("ValidationException", 400, "The certificate is not PEM"))?;
        let key_pem = String::from_utf8(input.private_key.to_vec()).map_err(|_| AwsError::new("ValidationException", 400, "The private key is not PEM"))?;
        if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(AwsError::new("ValidationException", 400, "The certificate field contains more than one certificate or is not PEM"));
        }
        if !key_pem.contains("PRIVATE KEY-----") {
            return Err(AwsError::new("ValidationException", 400, "The private key is not supported"));
        }
        let now = self.clock.now();
        let arn = input.certificate_arn.clone().unwrap_or_else(|| format!("arn:aws:acm:{}:{}:certificate/{}", ctx.scope.region, ctx.scope.account, nubo_core::ids::uuid()));
        let r = CertificateRecord {
            arn: arn.clone(),
            domain: "imported".into(),
            sans: Vec::new(),
            kind: "IMPORTED".into(),
            cert_pem,
            chain_pem: input.certificate_chain.and_then(|c| String::from_utf8(c.to_vec()).ok()),
            key_pem,
            serial: String::new(),
            created: now,
            not_before: now,
            not_after: now.add_millis(365 * 86_400_000),
            tags: input.tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
        };
        self.put(&ctx.scope, &r)?;
        Ok(ImportCertificateResponse { certificate_arn: Some(arn) })
    }

    async fn describe_certificate(&self, ctx: &RequestContext, input: DescribeCertificateRequest) -> Result<DescribeCertificateResponse, AwsError> {
        let r = self.record(&ctx.scope, &input.certificate_arn)?;
        Ok(DescribeCertificateResponse { certificate: Some(self.detail(&r)) })
    }

    async fn get_certificate(&self, ctx: &RequestContext, input: GetCertificateRequest) -> Result<GetCertificateResponse, AwsError> {
        let r = self.record(&ctx.scope, &input.certificate_arn)?;
        let chain = match r.kind.as_str() {
            "AMAZON_ISSUED" => Some(self.ca_pem()?),
            _ => r.chain_pem.clone(),
        };
        Ok(GetCertificateResponse { certificate: Some(r.cert_pem), certificate_chain: chain })
    }

    async fn list_certificates(&self, ctx: &RequestContext, input: ListCertificatesRequest) -> Result<ListCertificatesResponse, AwsError> {
        let prefix = format!("{}\0{}\0", ctx.scope.account, ctx.scope.region).into_bytes();
        let all: Vec<(Vec<u8>, CertificateRecord)> = self.store.read(|tx| scan_json(tx, CERTIFICATES, &prefix, None, usize::MAX))?;
        let wanted = input.certificate_statuses.unwrap_or_default();
        let out = all
            .into_iter()
            .map(|(_, r)| r)
            .filter(|_| wanted.is_empty() || wanted.iter().any(|s| s == "ISSUED"))
            .map(|r| {
                let in_use = self.usage.get().is_some_and(|u| !u.users(&r.arn).is_empty());
                CertificateSummary {
                    certificate_arn: Some(r.arn.clone()),
                    domain_name: Some(r.domain.clone()),
                    subject_alternative_name_summaries: Some(std::iter::once(r.domain.clone()).chain(r.sans.iter().cloned()).collect()),
                    has_additional_subject_alternative_names: Some(false),
                    status: Some("ISSUED".into()),
                    r#type: Some(r.kind.clone()),
                    key_algorithm: Some("EC-prime256v1".into()),
                    in_use: Some(in_use),
                    not_before: Some(r.not_before),
                    not_after: Some(r.not_after),
                    created_at: Some(r.created),
                    ..Default::default()
                }
            })
            .collect();
        Ok(ListCertificatesResponse { next_token: None, certificate_summary_list: Some(out) })
    }

    async fn delete_certificate(&self, ctx: &RequestContext, input: DeleteCertificateRequest) -> Result<(), AwsError> {
        self.record(&ctx.scope, &input.certificate_arn)?;
        if self.usage.get().is_some_and(|u| !u.users(&input.certificate_arn).is_empty()) {
            return Err(AwsError::new("ResourceInUseException", 400, format!("Certificate {} in account {} is in use.", input.certificate_arn, ctx.scope.account)));
        }
        self.store.write(|tx| tx.delete(CERTIFICATES, &key(&ctx.scope, &input.certificate_arn)).map(|_| ()))?;
        Ok(())
    }

    async fn add_tags_to_certificate(&self, ctx: &RequestContext, input: AddTagsToCertificateRequest) -> Result<(), AwsError> {
        let mut r = self.record(&ctx.scope, &input.certificate_arn)?;
        for t in input.tags {
            r.tags.retain(|(k, _)| *k != t.key);
            r.tags.push((t.key, t.value.unwrap_or_default()));
        }
        self.put(&ctx.scope, &r)
    }

    async fn remove_tags_from_certificate(&self, ctx: &RequestContext, input: RemoveTagsFromCertificateRequest) -> Result<(), AwsError> {
        let mut r = self.record(&ctx.scope, &input.certificate_arn)?;
        r.tags.retain(|(k, v)| !input.tags.iter().any(|t| t.key == *k && t.value.as_ref().is_none_or(|tv| tv == v)));
        self.put(&ctx.scope, &r)
    }

    async fn list_tags_for_certificate(&self, ctx: &RequestContext, input: ListTagsForCertificateRequest) -> Result<ListTagsForCertificateResponse, AwsError> {
        let r = self.record(&ctx.scope, &input.certificate_arn)?;
        Ok(ListTagsForCertificateResponse { tags: Some(r.tags.into_iter().map(|(k, v)| Tag { key: k, value: Some(v) }).collect()) })
    }
}
