//! TLS to the collector, the same for both protocols.
//!
//! Why our own configuration: opentelemetry-otlp's HTTP client is built without any TLS,
//! and neither of its exporters reads the OTel certificate variables. The files are read
//! once, when phase 2 starts, so that a missing or malformed file fails there with its
//! variable and path named, not as a handshake error on every export; and both protocols
//! trust exactly the same roots: the system's, plus `OTEL_EXPORTER_OTLP_CERTIFICATE`.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsFiles;

const CA_VAR: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
const CERT_VAR: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
const KEY_VAR: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";

/// The PEM files, read and checked.
#[derive(Debug)]
pub(super) struct Material {
    ca_pem: Option<Vec<u8>>,
    ca: Vec<CertificateDer<'static>>,
    client_pem: Option<(Vec<u8>, Vec<u8>)>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl Material {
    /// Reads every file `files` names; an error names the variable, the path and the problem.
    pub(super) fn read(files: &TlsFiles) -> Result<Self, String> {
        let (ca_pem, ca) = match &files.certificate {
            Some(path) => {
                let pem = read_file(CA_VAR, path)?;
                let certs = certificates(CA_VAR, path, &pem)?;
                (Some(pem), certs)
            }
            None => (None, Vec::new()),
        };
        let (client_pem, client) = match (&files.client_certificate, &files.client_key) {
            (Some(cert_path), Some(key_path)) => {
                let cert_pem = read_file(CERT_VAR, cert_path)?;
                let key_pem = read_file(KEY_VAR, key_path)?;
                let chain = certificates(CERT_VAR, cert_path, &cert_pem)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                    format!("{KEY_VAR} {key_path} holds no usable PEM private key ({e})")
                })?;
                (Some((cert_pem, key_pem)), Some((chain, key)))
            }
            (None, None) => (None, None),
            (Some(_), None) => return Err(format!("{CERT_VAR} is set but {KEY_VAR} is not")),
            (None, Some(_)) => return Err(format!("{KEY_VAR} is set but {CERT_VAR} is not")),
        };
        Ok(Self {
            ca_pem,
            ca,
            client_pem,
            client,
        })
    }

    /// The rustls client configuration for OTLP/HTTP.
    pub(super) fn rustls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = RootCertStore::empty();
        // A machine without a system store can still reach a collector whose CA is given.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        for cert in &self.ca {
            roots
                .add(cert.clone())
                .map_err(|e| format!("{CA_VAR}: a certificate cannot be trusted ({e})"))?;
        }
        if roots.is_empty() {
            return Err(format!(
                "no CA certificates: the system has none and {CA_VAR} is not set"
            ));
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
        match &self.client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| {
                    format!("{CERT_VAR} and {KEY_VAR} do not make a client identity ({e})")
                }),
            None => Ok(builder.with_no_client_auth()),
        }
    }

    /// The tonic configuration for OTLP/gRPC. gRPC is HTTP/2 whatever the terminator in
    /// front of the collector negotiates, so HTTP/2 is assumed without ALPN.
    pub(super) fn tonic_config(&self) -> tonic::transport::ClientTlsConfig {
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .with_native_roots()
            .assume_http2(true);
        if let Some(pem) = &self.ca_pem {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        if let Some((cert, key)) = &self.client_pem {
            tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        tls
    }
}

fn read_file(var: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {var} {path}: {e}"))
}

fn certificates(var: &str, path: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{var} {path} is not PEM ({e})"))?;
    if certs.is_empty() {
        return Err(format!("{var} {path} holds no PEM certificate"));
    }
    Ok(certs)
}

/// Says what went wrong reaching `endpoint`, from an error and its sources: a refused
/// certificate or a failed handshake is named as such, with the endpoint.
pub(super) fn describe_transport_error(
    endpoint: &str,
    err: &(dyn std::error::Error + 'static),
) -> String {
    let mut chain = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = as_rustls(e) {
            return match tls {
                rustls::Error::InvalidCertificate(why) => refused(endpoint, &format!("{why:?}")),
                other => format!("TLS handshake with {endpoint} failed: {other}"),
            };
        }
        let text = e.to_string();
        // Some layers box the rustls error where no downcast reaches it; its text is stable.
        if let Some(why) = text.strip_prefix("invalid peer certificate: ") {
            return refused(endpoint, why);
        }
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        next = e.source();
    }
    format!("cannot reach {endpoint}: {}", chain.join(": "))
}

fn refused(endpoint: &str, why: &str) -> String {
    format!(
        "TLS handshake with {endpoint} failed: the collector's certificate was refused ({why}); is {CA_VAR} the CA that signed it?"
    )
}

/// An I/O error hides the rustls error inside it rather than as its source.
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_named_with_its_variable() {
        let err = Material::read(&TlsFiles {
            certificate: Some("/nonexistent/ca.pem".into()),
            ..TlsFiles::default()
        })
        .expect_err("no such file");
        assert!(
            err.starts_with("cannot read OTEL_EXPORTER_OTLP_CERTIFICATE /nonexistent/ca.pem: "),
            "{err}"
        );
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let err = Material::read(&TlsFiles {
            client_certificate: Some("/c.pem".into()),
            ..TlsFiles::default()
        })
        .expect_err("half an identity");
        assert_eq!(
            err,
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is set but OTEL_EXPORTER_OTLP_CLIENT_KEY is not"
        );
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("tasker-not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "hello\n").expect("write");
        let err = Material::read(&TlsFiles {
            certificate: Some(path.display().to_string()),
            ..TlsFiles::default()
        })
        .expect_err("no certificate");
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            err,
            format!(
                "OTEL_EXPORTER_OTLP_CERTIFICATE {} holds no PEM certificate",
                path.display()
            )
        );
    }

    #[test]
    fn a_refused_certificate_inside_an_io_error_is_named() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        assert_eq!(
            describe_transport_error("https://127.0.0.1:1/v1/traces", &io),
            "TLS handshake with https://127.0.0.1:1/v1/traces failed: the collector's certificate was refused (UnknownIssuer); is OTEL_EXPORTER_OTLP_CERTIFICATE the CA that signed it?"
        );
    }
}
