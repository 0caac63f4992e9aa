//! The emulator's self-signed TLS certificate (like Azurite's), written out so clients can
//! trust it (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::EmulatorError;

/// A generated certificate and key, PEM-encoded.
pub struct GeneratedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed server certificate for `localhost`, `127.0.0.1` and `::1` (plus `extra_ip`).
pub fn generate(extra_ip: Option<IpAddr>) -> Result<GeneratedCert, EmulatorError> {
    let tls = |e: rcgen::Error| EmulatorError::Tls(e.to_string());
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls)?;
    let mut ips = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    if let Some(ip) = extra_ip.filter(|ip| !ip.is_unspecified() && !ips.contains(ip)) {
        ips.push(ip);
    }
    params
        .subject_alt_names
        .extend(ips.into_iter().map(SanType::IpAddress));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "acs-auth ACS emulator");
    dn.push(DnType::OrganizationName, "acs-auth development");
    params.distinguished_name = dn;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // OpenSSL's strict mode (Python 3.13+) wants an authority key identifier.
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().map_err(tls)?;
    let cert = params.self_signed(&key).map_err(tls)?;
    Ok(GeneratedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Write `cert.pem` and `key.pem` (owner-only) into `dir`; returns the certificate's path.
pub(crate) fn write(dir: &Path, cert: &GeneratedCert) -> Result<PathBuf, EmulatorError> {
    std::fs::create_dir_all(dir)?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert.cert_pem)?;
    write_private(&key_path, cert.key_pem.as_bytes())?;
    Ok(cert_path)
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}
