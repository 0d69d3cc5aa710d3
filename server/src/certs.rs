//! Server certificates: operator-supplied PEM, or a generated dev CA.
//!
//! On first start without `cert`/`key`, the server creates
//! `<data-dir>/certs/{ca.pem,ca-key.pem,server.pem,server-key.pem}`. The
//! CA signs a server certificate for `localhost`, `127.0.0.1`, `::1` and
//! any configured hostnames; if those names change, the server certificate
//! is re-issued by the same CA, so clients keep trusting it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::StartError;

/// The certificate chain and key the server presents.
#[derive(Debug)]
pub struct ServerIdentity {
    /// Leaf first, then any intermediates/CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key of the leaf.
    pub key: PrivateKeyDer<'static>,
    /// Path of the generated CA, when the dev CA is in use.
    pub ca_path: Option<PathBuf>,
    /// SHA-256 of the CA certificate (dev CA) or of the leaf (operator
    /// certificate), lowercase hex. Clients can pin this.
    pub fingerprint: String,
}

/// SHA-256 of a DER certificate, lowercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Loads the operator's PEM files.
pub fn load_pem(cert: &Path, key: &Path) -> Result<ServerIdentity, StartError> {
    let chain = read_certs(cert)?;
    let key_bytes = fs::read(key)
        .map_err(|e| StartError::Certs(format!("cannot read key {}: {e}", key.display())))?;
    let key = rustls_pemfile::private_key(&mut key_bytes.as_slice())
        .map_err(|e| StartError::Certs(format!("bad key PEM {}: {e}", key.display())))?
        .ok_or_else(|| StartError::Certs(format!("no private key in {}", key.display())))?;
    let fingerprint = fingerprint(&chain[0]);
    Ok(ServerIdentity {
        chain,
        key,
        ca_path: None,
        fingerprint,
    })
}

/// Reads every certificate in a PEM file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, StartError> {
    let bytes = fs::read(path)
        .map_err(|e| StartError::Certs(format!("cannot read {}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Certs(format!("bad certificate PEM {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(StartError::Certs(format!(
            "no certificate in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// Loads the dev CA from `dir`, creating it if needed, and issues (or
/// reuses) a server certificate for the given names.
pub fn ensure_dev_identity(
    dir: &Path,
    extra_names: &[String],
) -> Result<ServerIdentity, StartError> {
    let err = |what: &str, e: &dyn std::fmt::Display| StartError::Certs(format!("{what}: {e}"));
    crate::private_fs::create_dir(dir)
        .map_err(|e| err(&format!("create {}", dir.display()), &e))?;
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    let server_path = dir.join("server.pem");
    let server_key_path = dir.join("server-key.pem");
    let names_path = dir.join("server-names.txt");

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for n in extra_names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let names_text = names.join("\n");

    let ca_key = if ca_key_path.exists() && ca_path.exists() {
        let pem = fs::read_to_string(&ca_key_path).map_err(|e| err("read CA key", &e))?;
        KeyPair::from_pem(&pem).map_err(|e| err("parse CA key", &e))?
    } else {
        let key = KeyPair::generate().map_err(|e| err("generate CA key", &e))?;
        let ca = ca_params()
            .self_signed(&key)
            .map_err(|e| err("self-sign CA", &e))?;
        write_private(&ca_key_path, &key.serialize_pem())?;
        fs::write(&ca_path, ca.pem()).map_err(|e| err("write CA", &e))?;
        // A new CA invalidates any old server certificate.
        let _ = fs::remove_file(&server_path);
        key
    };
    // Re-create the issuer object: same DN and key as the stored CA, so
    // certificates it signs chain to the stored ca.pem.
    let issuer = ca_params()
        .self_signed(&ca_key)
        .map_err(|e| err("load CA", &e))?;

    let current_names = fs::read_to_string(&names_path).unwrap_or_default();
    if !server_path.exists() || !server_key_path.exists() || current_names != names_text {
        let key = KeyPair::generate().map_err(|e| err("generate server key", &e))?;
        let mut params =
            CertificateParams::new(names.clone()).map_err(|e| err("server names", &e))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "quichat server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params
            .signed_by(&key, &issuer, &ca_key)
            .map_err(|e| err("sign server certificate", &e))?;
        write_private(&server_key_path, &key.serialize_pem())?;
        let ca_pem = fs::read_to_string(&ca_path).map_err(|e| err("read CA", &e))?;
        fs::write(&server_path, format!("{}{}", cert.pem(), ca_pem))
            .map_err(|e| err("write server certificate", &e))?;
        fs::write(&names_path, &names_text).map_err(|e| err("write names", &e))?;
    }

    let mut identity = load_pem(&server_path, &server_key_path)?;
    let ca = read_certs(&ca_path)?;
    identity.fingerprint = fingerprint(&ca[0]);
    identity.ca_path = Some(ca_path);
    Ok(identity)
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "quichat dev CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "quichat");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn write_private(path: &Path, contents: &str) -> Result<(), StartError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| StartError::Certs(format!("write {}: {e}", path.display())))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| StartError::Certs(format!("write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_identity_is_stable_across_restarts_and_reissued_on_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = ensure_dev_identity(dir.path(), &[]).unwrap();
        let b = ensure_dev_identity(dir.path(), &[]).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.chain[0], b.chain[0], "server cert reused");
        let c = ensure_dev_identity(dir.path(), &["chat.example.org".into()]).unwrap();
        assert_eq!(a.fingerprint, c.fingerprint, "same CA");
        assert_ne!(a.chain[0], c.chain[0], "server cert re-issued");
        assert_eq!(c.chain.len(), 2, "chain includes the CA");
    }
}
