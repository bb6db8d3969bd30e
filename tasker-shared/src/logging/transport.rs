//! The OTLP/HTTP client: reqwest (blocking, on an export thread) with our rustls
//! configuration.
//!
//! Why our own: opentelemetry-otlp's client has no TLS, and it turns every transport
//! failure into "HTTP export failed: network error", keeping the cause only at debug level.
//! [`Transport::post`], which the span pipeline uses, says the cause (a refused certificate,
//! a refused connection, the collector's HTTP status) with the endpoint, so the warning an
//! operator sees says what to fix. The metrics exporter (opentelemetry-otlp's) uses it as
//! its `HttpClient`, for the TLS.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

use super::tls::{Material, describe_transport_error};

#[derive(Debug)]
pub(super) struct Transport {
    client: reqwest::blocking::Client,
    endpoint: String,
}

impl Transport {
    /// A client for `endpoint`, each request bounded by `timeout`.
    pub(super) fn new(endpoint: &str, tls: &Material, timeout: Duration) -> Result<Self, String> {
        let rustls = tls.rustls_config()?;
        // reqwest's blocking client owns a runtime, which may not be created or dropped on
        // a thread that is inside another runtime (a host's bootstrap may be).
        let client = std::thread::Builder::new()
            .name("tasker-otlp-client".into())
            .spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(timeout)
                    .tls_backend_preconfigured(rustls)
                    .build()
            })
            .map_err(|e| format!("cannot start a thread for the HTTP client: {e}"))?
            .join()
            .map_err(|_| "building the HTTP client panicked".to_owned())?
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            endpoint: endpoint.to_owned(),
        })
    }

    /// POSTs one encoded request from a plain thread (the export thread): `Err` says why
    /// the collector did not take it, naming the endpoint.
    pub(super) fn post(
        &self,
        body: Vec<u8>,
        content_type: &str,
        gzip: bool,
        headers: &[(String, String)],
    ) -> Result<(), String> {
        let body = if gzip { gzipped(&body)? } else { body };
        let mut request = self
            .client
            .post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, content_type);
        if gzip {
            request = request.header(http::header::CONTENT_ENCODING, "gzip");
        }
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .body(body)
            .send()
            .map_err(|e| describe_transport_error(&self.endpoint, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().unwrap_or_default();
        let text: String = text.trim().chars().take(200).collect();
        Err(if text.is_empty() {
            format!("the collector at {} answered HTTP {status}", self.endpoint)
        } else {
            format!(
                "the collector at {} answered HTTP {status}: {text}",
                self.endpoint
            )
        })
    }
}

fn gzipped(body: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map_err(|e| format!("gzip compression failed: {e}"))
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.client.send_bytes(request).await
    }
}
