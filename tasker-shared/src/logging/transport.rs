//! The OTLP/HTTP client: reqwest (blocking, on the batch processor's own thread) with our
//! rustls configuration.
//!
//! Why a wrapper: opentelemetry-otlp turns every transport failure into "HTTP export
//! failed: network error" and keeps the cause only at debug level. The wrapper puts the
//! cause (a refused certificate, a refused connection) where the export accounting reads
//! it, so the warning an operator sees says what to fix.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

use super::stats::ErrorDetail;
use super::tls::{Material, describe_transport_error};

#[derive(Debug)]
pub(super) struct Transport {
    client: reqwest::blocking::Client,
    endpoint: String,
    detail: ErrorDetail,
}

impl Transport {
    /// A client for `endpoint` whose failures are described into `detail`.
    pub(super) fn new(
        endpoint: &str,
        tls: &Material,
        timeout: Duration,
        detail: ErrorDetail,
    ) -> Result<Self, String> {
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
            detail,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let sent = self.client.send_bytes(request).await;
        match &sent {
            Ok(_) => self.detail.clear(),
            Err(e) => self
                .detail
                .set(describe_transport_error(&self.endpoint, e.as_ref())),
        }
        sent
    }
}
