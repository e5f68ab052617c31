//! TLS termination for HTTPS and TLS listeners: the listener's ACM certificates, chosen by
//! SNI (the first is the default, as on AWS), with rustls.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

#[derive(Debug)]
struct BySni {
    /// (names, key): the first is the default.
    certificates: Vec<(Vec<String>, Arc<CertifiedKey>)>,
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name.split_once('.').is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name() {
            if let Some((_, k)) = self.certificates.iter().find(|(names, _)| names.iter().any(|n| name_matches(n, name))) {
                return Some(k.clone());
            }
        }
        self.certificates.first().map(|(_, k)| k.clone())
    }
}

/// An acceptor for certificates (ARNs, read from ACM, each with names it is also chosen
/// for beyond its own).
pub fn acceptor(source: Option<&Arc<dyn crate::Certificates>>, arns: &[(String, Vec<String>)], http: bool) -> Result<tokio_rustls::TlsAcceptor, String> {
    let source = source.ok_or("no certificate manager is wired")?;
    let mut certificates = Vec::new();
    for (arn, extra) in arns {
        let (chain, key, mut names) = source.certificate(arn).ok_or_else(|| format!("certificate {arn} not found"))?;
        names.extend(extra.iter().cloned());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes()).collect::<Result<_, _>>().map_err(|e| format!("{arn}: {e:?}"))?;
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| format!("{arn}: {e:?}"))?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| format!("{arn}: {e}"))?;
        certificates.push((names, Arc::new(CertifiedKey::new(chain, signing))));
    }
    if certificates.is_empty() {
        return Err("the listener has no certificate".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { certificates }));
    if http {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("*.elb.localhost", "web-1.elb.localhost"));
        assert!(!name_matches("*.elb.localhost", "a.b.elb.localhost"));
        assert!(name_matches("Shop.Example.com", "shop.example.com"));
    }
}
