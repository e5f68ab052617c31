//! Key pairs: `CreateKeyPair` makes a real RSA or ED25519 key (the private half is
//! returned once and never kept) in the format asked for: PEM (PKCS#1 for RSA, OpenSSH's
//! own for ED25519, as AWS returns them) or PuTTY's PPK. `ImportKeyPair` takes an OpenSSH
//! public key. Fingerprints as AWS computes them: for created RSA keys the SHA-1 of the
//! PKCS#8 private key, for imported RSA keys the MD5 of the public key (RFC 4716), for
//! ED25519 keys the SHA-256 of the public key (base64).

use crate::error::{Ec2Error, Result};
use crate::filters::{one, Filters};
use crate::records::{self, KeyPairRecord};
use crate::{tags, Ec2};
use base64::Engine;
use nubo_core::ids::resource_id;
use nubo_core::Scope;
use nubo_model::generated::ec2::*;

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// SSH's `string`: a 4-byte length, then the bytes.
fn ssh_string(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// SSH's `mpint`: big-endian, with a leading zero byte when the top bit is set.
fn ssh_mpint(out: &mut Vec<u8>, be: &[u8]) {
    let trimmed: &[u8] = &be[be.iter().position(|b| *b != 0).unwrap_or(be.len())..];
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v = vec![0u8];
        v.extend_from_slice(trimmed);
        ssh_string(out, &v);
    } else {
        ssh_string(out, trimmed);
    }
}

/// A new key: (private key material in the format asked for, fingerprint, OpenSSH public key).
fn generate(key_type: &str, ppk: bool, comment: &str) -> Result<(String, String, String)> {
    match key_type {
        "ed25519" => Ok(generate_ed25519(ppk, comment)),
        _ => generate_rsa(ppk, comment),
    }
}

fn generate_ed25519(ppk: bool, comment: &str) -> (String, String, String) {
    let mut seed = [0u8; 32];
    rsa::rand_core::RngCore::fill_bytes(&mut rand_core(), &mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-ed25519");
    ssh_string(&mut blob, &public);
    let fingerprint = format!("{}=", base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha256(&blob)));
    let material = if ppk {
        let mut private = Vec::new();
        ssh_string(&mut private, &seed);
        putty("ssh-ed25519", comment, &blob, &private)
    } else {
        openssh_ed25519(&seed, &public, &blob, comment)
    };
    (material, fingerprint, format!("ssh-ed25519 {}", base64::engine::general_purpose::STANDARD.encode(&blob)))
}

/// OpenSSH's private key format (`openssh-key-v1`, unencrypted), as AWS returns ED25519 keys.
fn openssh_ed25519(seed: &[u8; 32], public: &[u8; 32], blob: &[u8], comment: &str) -> String {
    let check = fastrand::u32(..).to_be_bytes();
    let mut private = Vec::new();
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    ssh_string(&mut private, b"ssh-ed25519");
    ssh_string(&mut private, public);
    let mut pair = seed.to_vec();
    pair.extend_from_slice(public);
    ssh_string(&mut private, &pair);
    ssh_string(&mut private, comment.as_bytes());
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut out = b"openssh-key-v1\0".to_vec();
    ssh_string(&mut out, b"none");
    ssh_string(&mut out, b"none");
    ssh_string(&mut out, b"");
    out.extend_from_slice(&1u32.to_be_bytes());
    ssh_string(&mut out, blob);
    ssh_string(&mut out, &private);
    armor("OPENSSH PRIVATE KEY", &out, 70)
}

fn armor(label: &str, der: &[u8], width: usize) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(width).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// PuTTY's key format (`PuTTY-User-Key-File-2`, unencrypted), for `KeyFormat=ppk`.
fn putty(algorithm: &str, comment: &str, public: &[u8], private: &[u8]) -> String {
    let lines = |data: &[u8]| -> Vec<String> {
        base64::engine::general_purpose::STANDARD.encode(data).as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect()
    };
    let mut mac_data = Vec::new();
    for part in [algorithm.as_bytes(), b"none", comment.as_bytes(), public, private] {
        ssh_string(&mut mac_data, part);
    }
    let mac_key = <sha1::Sha1 as sha1::Digest>::digest(b"putty-private-key-file-mac-key");
    let mac = hmac_sha1(&mac_key, &mac_data);
    let (public_lines, private_lines) = (lines(public), lines(private));
    format!(
        "PuTTY-User-Key-File-2: {algorithm}\r\nEncryption: none\r\nComment: {comment}\r\nPublic-Lines: {}\r\n{}\r\nPrivate-Lines: {}\r\n{}\r\nPrivate-MAC: {}\r\n",
        public_lines.len(),
        public_lines.join("\r\n"),
        private_lines.len(),
        private_lines.join("\r\n"),
        mac.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    let mut block = [0u8; 64];
    block[..key.len().min(64)].copy_from_slice(&key[..key.len().min(64)]);
    let mut inner = sha1::Sha1::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = sha1::Sha1::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// A new RSA key: PKCS#1 PEM (as AWS returns it) or PPK.
fn generate_rsa(ppk: bool, comment: &str) -> Result<(String, String, String)> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let key = rsa::RsaPrivateKey::new(&mut rand_core(), 2048).map_err(|e| Ec2Error::Internal(format!("key generation: {e}")))?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| Ec2Error::Internal(e.to_string()))?.to_string();
    let der = key.to_pkcs8_der().map_err(|e| Ec2Error::Internal(e.to_string()))?;
    let fingerprint = colon_hex(&<sha1::Sha1 as sha1::Digest>::digest(der.as_bytes()));
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-rsa");
    ssh_mpint(&mut blob, &key.e().to_bytes_be());
    ssh_mpint(&mut blob, &key.n().to_bytes_be());
    let public = format!("ssh-rsa {}", base64::engine::general_purpose::STANDARD.encode(&blob));
    if !ppk {
        return Ok((pem, fingerprint, public));
    }
    let primes = key.primes();
    let (p, q) = (&primes[0], &primes[1]);
    // iqmp = q⁻¹ mod p (p prime: by Fermat, q^(p-2) mod p).
    let two = rsa::BigUint::from(2u8);
    let iqmp = q.modpow(&(p - &two), p);
    let mut private = Vec::new();
    ssh_mpint(&mut private, &key.d().to_bytes_be());
    ssh_mpint(&mut private, &p.to_bytes_be());
    ssh_mpint(&mut private, &q.to_bytes_be());
    ssh_mpint(&mut private, &iqmp.to_bytes_be());
    Ok((putty("ssh-rsa", comment, &blob, &private), fingerprint, public))
}

fn rand_core() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}

/// The key type and AWS's fingerprint of an OpenSSH public key line.
fn imported(material: &[u8]) -> Result<(String, String, String)> {
    let invalid = || Ec2Error::InvalidParameterValue("Value for parameter PublicKeyMaterial is invalid. The key is not in valid OpenSSH public key format".into());
    let text = std::str::from_utf8(material).map_err(|_| invalid())?.trim();
    let mut parts = text.split_whitespace();
    let kind = parts.next().ok_or_else(invalid)?;
    let blob = base64::engine::general_purpose::STANDARD.decode(parts.next().ok_or_else(invalid)?).map_err(|_| invalid())?;
    let (key_type, fingerprint) = match kind {
        "ssh-rsa" => ("rsa", colon_hex(&<md5::Md5 as md5::Digest>::digest(&blob))),
        "ssh-ed25519" => ("ed25519", format!("{}=", base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha256(&blob)))),
        _ => return Err(invalid()),
    };
    Ok((key_type.into(), fingerprint, format!("{kind} {}", base64::engine::general_purpose::STANDARD.encode(&blob))))
}

fn sha256(data: &[u8]) -> Vec<u8> {
    <sha2::Sha256 as sha2::Digest>::digest(data).to_vec()
}

impl Ec2 {
    pub(crate) async fn create_key_pair(&self, scope: &Scope, input: CreateKeyPairRequest) -> Result<KeyPair> {
        check_name(&input.key_name)?;
        let key_type = match input.key_type.as_deref() {
            None | Some("rsa") => "rsa",
            Some("ed25519") => "ed25519",
            Some(t) => return Err(Ec2Error::InvalidParameterValue(format!("Value ({t}) for parameter keyType is invalid. Valid values: [rsa, ed25519]"))),
        };
        let ppk = match input.key_format.as_deref() {
            None | Some("pem") => false,
            Some("ppk") => true,
            Some(f) => return Err(Ec2Error::InvalidParameterValue(format!("Value ({f}) for parameter keyFormat is invalid. Valid values: [pem, ppk]"))),
        };
        self.check_key_absent(scope, &input.key_name)?;
        let name = input.key_name.clone();
        let (pem, fingerprint, public) = tokio::task::spawn_blocking(move || generate(key_type, ppk, &name)).await.map_err(|e| Ec2Error::Internal(e.to_string()))??;
        let tags = tags::from_specs(&input.tag_specifications, "key-pair");
        let record = KeyPairRecord { id: resource_id("key"), name: input.key_name.clone(), key_type: key_type.into(), fingerprint, public_key: public, created: self.clock.now() };
        self.store_key(scope, &record, &tags)?;
        Ok(KeyPair { key_pair_id: Some(record.id), tags: tags::out(&tags), key_name: Some(record.name), key_fingerprint: Some(record.fingerprint), key_material: Some(pem) })
    }

    pub(crate) fn import_key_pair(&self, scope: &Scope, input: ImportKeyPairRequest) -> Result<ImportKeyPairResult> {
        check_name(&input.key_name)?;
        let (key_type, fingerprint, public) = imported(&input.public_key_material)?;
        self.check_key_absent(scope, &input.key_name)?;
        let tags = tags::from_specs(&input.tag_specifications, "key-pair");
        let record = KeyPairRecord { id: resource_id("key"), name: input.key_name.clone(), key_type, fingerprint, public_key: public, created: self.clock.now() };
        self.store_key(scope, &record, &tags)?;
        Ok(ImportKeyPairResult { key_fingerprint: Some(record.fingerprint), key_name: Some(record.name), key_pair_id: Some(record.id), tags: tags::out(&tags) })
    }

    fn check_key_absent(&self, scope: &Scope, name: &str) -> Result<()> {
        if self.read(|tx| records::all::<KeyPairRecord>(tx, scope))?.iter().any(|k| k.name == name) {
            return Err(Ec2Error::Duplicate { code: "InvalidKeyPair.Duplicate", message: format!("The keypair '{name}' already exists.") });
        }
        Ok(())
    }

    fn store_key(&self, scope: &Scope, record: &KeyPairRecord, tags: &[(String, String)]) -> Result<()> {
        self.write(|tx| {
            if records::all::<KeyPairRecord>(tx, scope)?.iter().any(|k| k.name == record.name) {
                return Err(Ec2Error::Duplicate { code: "InvalidKeyPair.Duplicate", message: format!("The keypair '{}' already exists.", record.name) });
            }
            records::put(tx, scope, record)?;
            tags::set(tx, scope, &record.id, tags)
        })
    }

    /// A key pair by name (as instances name them).
    pub(crate) fn key_pair(&self, scope: &Scope, name: &str) -> Result<KeyPairRecord> {
        self.read(|tx| records::all::<KeyPairRecord>(tx, scope))?
            .into_iter()
            .find(|k| k.name == name)
            .ok_or_else(|| Ec2Error::NotFound { code: "InvalidKeyPair.NotFound", message: format!("The key pair '{name}' does not exist") })
    }

    pub(crate) fn delete_key_pair(&self, scope: &Scope, name: Option<&str>, id: Option<&str>) -> Result<Option<String>> {
        // Deleting a key that does not exist succeeds, as on EC2.
        self.write(|tx| {
            let found = records::all::<KeyPairRecord>(tx, scope)?.into_iter().find(|k| Some(k.name.as_str()) == name || Some(k.id.as_str()) == id);
            match found {
                Some(k) => {
                    records::delete::<KeyPairRecord>(tx, scope, &k.id)?;
                    Ok(Some(k.id))
                }
                None => Ok(None),
            }
        })
    }

    pub(crate) fn describe_key_pairs(&self, scope: &Scope, input: DescribeKeyPairsRequest) -> Result<Vec<KeyPairInfo>> {
        let filters = Filters::new(input.filters)?;
        let keys = self.read(|tx| {
            let keys = records::all::<KeyPairRecord>(tx, scope)?;
            keys.into_iter().map(|k| Ok((tags::of(tx, scope, &k.id)?, k))).collect::<Result<Vec<_>>>()
        })?;
        for n in input.key_names.iter().flatten() {
            if !keys.iter().any(|(_, k)| &k.name == n) {
                return Err(Ec2Error::NotFound { code: "InvalidKeyPair.NotFound", message: format!("The key pair '{n}' does not exist") });
            }
        }
        for id in input.key_pair_ids.iter().flatten() {
            if !keys.iter().any(|(_, k)| &k.id == id) {
                return Err(Ec2Error::NotFound { code: "InvalidKeyPair.NotFound", message: format!("The key pair '{id}' does not exist") });
            }
        }
        let mut out = Vec::new();
        for (t, k) in &keys {
            if input.key_names.as_ref().is_some_and(|n| !n.contains(&k.name)) || input.key_pair_ids.as_ref().is_some_and(|i| !i.contains(&k.id)) {
                continue;
            }
            let ok = filters.matches(t, |name| match name {
                "key-name" => one(&k.name),
                "key-pair-id" => one(&k.id),
                "fingerprint" => one(&k.fingerprint),
                "key-type" => one(&k.key_type),
                _ => None,
            })?;
            if ok {
                out.push(KeyPairInfo {
                    key_pair_id: Some(k.id.clone()),
                    key_type: Some(k.key_type.clone()),
                    tags: tags::out(t),
                    public_key: input.include_public_key.unwrap_or(false).then(|| k.public_key.clone()),
                    create_time: Some(k.created),
                    key_name: Some(k.name.clone()),
                    key_fingerprint: Some(k.fingerprint.clone()),
                });
            }
        }
        Ok(out)
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 || !name.is_ascii() {
        return Err(Ec2Error::InvalidParameterValue(format!("Value ({name}) for parameter keyName is invalid. Key names must be 1 to 255 ASCII characters.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_rsa_keys_get_the_md5_fingerprint_of_their_blob() {
        let blob = b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x01\x03\x00\x00\x00\x02\x00\xc5";
        let line = format!("ssh-rsa {} me@host", base64::engine::general_purpose::STANDARD.encode(blob));
        let (kind, fp, public) = imported(line.as_bytes()).unwrap();
        assert_eq!(kind, "rsa");
        assert_eq!(fp, colon_hex(&<md5::Md5 as md5::Digest>::digest(blob)));
        assert!(public.starts_with("ssh-rsa "));
        assert!(imported(b"not a key").is_err());
    }

    #[test]
    fn mpints_get_a_sign_byte_when_needed() {
        let mut out = Vec::new();
        ssh_mpint(&mut out, &[0x80, 0x01]);
        assert_eq!(out, [0, 0, 0, 3, 0, 0x80, 0x01]);
    }
}
