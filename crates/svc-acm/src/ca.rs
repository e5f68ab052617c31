//! nubo's local certificate authority: made on first use, kept in the store (so the
//! certificates it issued stay valid across restarts), exported at
//! `GET /_nubo/acm/ca.pem` so that clients can trust what it signs.

use nubo_core::Timestamp;
use nubo_store::{get_json, put_json, Store};
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType};
use serde::{Deserialize, Serialize};

const TABLE: &str = "acm.ca";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    key_pem: String,
    cert_pem: String,
}

/// The CA: its key and the parameters its certificate was made from.
pub struct Authority {
    key: KeyPair,
    cert: rcgen::Certificate,
    /// As first issued (what clients were given to trust).
    pub cert_pem: String,
}

fn ymd(t: Timestamp) -> (i32, u8, u8) {
    let iso = t.to_iso8601();
    (iso[0..4].parse().unwrap_or(2026), iso[5..7].parse().unwrap_or(1), iso[8..10].parse().unwrap_or(1))
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "nubo local CA");
    dn.push(DnType::OrganizationName, "nubo");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2120, 1, 1);
    params
}

impl Authority {
    /// The store's CA, made now if there is none.
    pub fn load_or_create(store: &Store) -> Result<Authority, String> {
        let stored: Option<Stored> = store.read(|tx| get_json(tx, TABLE, b"ca")).map_err(|e| e.to_string())?;
        let stored = match stored {
            Some(s) => s,
            None => {
                let key = KeyPair::generate().map_err(|e| e.to_string())?;
                let cert = ca_params().self_signed(&key).map_err(|e| e.to_string())?;
                let s = Stored { key_pem: key.serialize_pem(), cert_pem: cert.pem() };
                store.write(|tx| put_json(tx, TABLE, b"ca", &s)).map_err(|e| e.to_string())?;
                s
            }
        };
        let key = KeyPair::from_pem(&stored.key_pem).map_err(|e| e.to_string())?;
        // The same subject and key: what it signs verifies against the exported certificate.
        let cert = ca_params().self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Authority { key, cert, cert_pem: stored.cert_pem })
    }

    /// A server certificate for `names`, valid 395 days from `now`: (certificate PEM,
    /// private key PEM, serial as AWS shows it).
    pub fn issue(&self, names: &[String], now: Timestamp) -> Result<(String, String, String), String> {
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
        params.distinguished_name = dn;
        params.subject_alt_names = names.iter().filter_map(|n| n.clone().try_into().ok().map(SanType::DnsName)).collect();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let (y, m, d) = ymd(now.add_millis(-86_400_000));
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = ymd(now.add_millis(395 * 86_400_000));
        params.not_after = rcgen::date_time_ymd(y, m, d);
        let serial: Vec<u8> = (0..16).map(|_| fastrand_byte()).collect();
        params.serial_number = Some(serial.clone().into());
        let cert = params.signed_by(&key, &self.cert, &self.key).map_err(|e| e.to_string())?;
        let serial = serial.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        Ok((cert.pem(), key.serialize_pem(), serial))
    }
}

fn fastrand_byte() -> u8 {
    // The first byte stays below 0x80: serials are positive integers.
    nubo_core::ids::random_string(b"0123456789abcdef", 2).chars().fold(0u8, |acc, c| acc * 16 + c.to_digit(16).unwrap_or(0) as u8) & 0x7f
}
