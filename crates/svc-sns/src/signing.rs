//! SNS message signatures. nubo signs what it sends to HTTP endpoints (and the envelopes
//! queues receive) as SNS does: an RSA key of its own, generated once and kept in the
//! store, signs AWS's canonical string of the message's fields (`SignatureVersion` 1:
//! SHA1withRSA, 2: SHA256withRSA). The key's self-signed certificate is served at the
//! message's `SigningCertURL`, so a subscriber can check the signature as against AWS
//! (validators that insist on an `amazonaws.com` certificate host need that check relaxed).

use base64::Engine;
use nubo_store::Store;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::RsaPrivateKey;

const META: &str = "sns.meta";
const KEY: &[u8] = b"signing-key";

pub struct Signer {
    key: RsaPrivateKey,
    certificate: String,
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn utc_time(t: nubo_core::Timestamp) -> Vec<u8> {
    let iso = t.to_iso8601_seconds(); // 2026-11-23T07:55:00Z
    let s = format!("{}{}{}{}{}{}Z", &iso[2..4], &iso[5..7], &iso[8..10], &iso[11..13], &iso[14..16], &iso[17..19]);
    der(0x17, s.as_bytes())
}

/// A minimal self-signed X.509 v3 certificate for the key, PEM-encoded.
fn self_signed(key: &RsaPrivateKey, now: nubo_core::Timestamp) -> Result<String, String> {
    let sha256_rsa = seq(&[&der(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]), &[0x05, 0x00]]);
    let name = seq(&[&der(0x31, &seq(&[&der(0x06, &[0x55, 0x04, 0x03]), &der(0x0C, b"sns.localhost (nubo)")]))]);
    let validity = seq(&[&utc_time(now.add_millis(-86_400_000)), &utc_time(now.add_millis(10 * 365 * 86_400_000))]);
    let spki = key.to_public_key().to_public_key_der().map_err(|e| e.to_string())?;
    let serial = der(0x02, &[0x01]);
    let version = der(0xA0, &der(0x02, &[0x02]));
    let tbs = seq(&[&version, &serial, &sha256_rsa, &name, &validity, &name, spki.as_bytes()]);
    let signature = SigningKey::<sha2::Sha256>::new(key.clone()).sign(&tbs).to_vec();
    let bits = der(0x03, &[&[0u8][..], &signature].concat());
    let cert = seq(&[&tbs, &sha256_rsa, &bits]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    Ok(format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n")))
}

impl Signer {
    /// The key kept in the store, or a new one (blocking: RSA key generation takes a moment).
    pub fn load_or_create(store: &Store, now: nubo_core::Timestamp) -> Result<Signer, String> {
        let stored = store.read(|tx| tx.get(META, KEY)).map_err(|e| e.to_string())?;
        let key = match stored.and_then(|der| RsaPrivateKey::from_pkcs8_der(&der).ok()) {
            Some(k) => k,
            None => {
                let k = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
                let der = k.to_pkcs8_der().map_err(|e| e.to_string())?;
                store.write(|tx| tx.put(META, KEY, der.as_bytes())).map_err(|e| e.to_string())?;
                k
            }
        };
        let certificate = self_signed(&key, now)?;
        Ok(Signer { key, certificate })
    }

    pub fn certificate(&self) -> &str {
        &self.certificate
    }

    /// The signature of a message: `fields` are the (name, value) pairs AWS signs, in order.
    pub fn sign(&self, version: &str, fields: &[(&str, &str)]) -> String {
        let text: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
        let sig = if version == "2" {
            SigningKey::<sha2::Sha256>::new(self.key.clone()).sign(text.as_bytes()).to_vec()
        } else {
            SigningKey::<sha1::Sha1>::new(self.key.clone()).sign(text.as_bytes()).to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_use_the_long_form_past_127_bytes() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2C]);
    }
}
