//! A collector whose certificate the configured CA did not sign is refused, and the
//! warning says so, with the endpoint: not "network error".

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError, TlsFiles};
use tasker_testkit::{Collector, TestCerts, TlsEndpoint};

#[test]
fn a_wrong_ca_is_refused_and_the_reason_names_the_certificate_and_endpoint() {
    let collector = Collector::start();
    let certs = TestCerts::generate();
    let tls = TlsEndpoint::start(&certs, collector.http_addr, false);
    logging::init_console_only();

    let endpoint = format!("{}/v1/traces", tls.url());
    logging::init_with_config(
        TelemetryConfig::default()
            .with_enabled(true)
            .with_traces_endpoint(endpoint.clone())
            .with_tls(TlsFiles {
                certificate: Some(certs.other_ca()),
                ..TlsFiles::default()
            }),
    )
    .expect("the CA file itself is fine");
    let _ = tracing::info_span!("refused").entered();
    let err = logging::flush_telemetry().expect_err("the certificate is not trusted");
    let TelemetryError::Flush(message) = &err else {
        panic!("expected a flush error, got {err:?}");
    };
    assert_eq!(
        message,
        &format!(
            "1 span(s) could not be exported: TLS handshake with {endpoint} failed: the collector's certificate was refused (UnknownIssuer); is OTEL_EXPORTER_OTLP_CERTIFICATE the CA that signed it?"
        )
    );
    assert!(collector.spans().is_empty(), "{}", collector.output());

    logging::shutdown_telemetry().expect("the loss was reported by the flush");

    // A CA file that does not exist fails phase 2 at once, naming the variable.
    let missing = TelemetryConfig::default()
        .with_enabled(true)
        .with_traces_endpoint(endpoint.clone())
        .with_tls(TlsFiles {
            certificate: Some("/nonexistent/ca.pem".into()),
            ..TlsFiles::default()
        });
    assert_eq!(
        logging::init_with_config(missing).map_err(|e| e.to_string()),
        Err(format!(
            "cannot build the OTLP http/protobuf exporter for {endpoint}: cannot read OTEL_EXPORTER_OTLP_CERTIFICATE /nonexistent/ca.pem: No such file or directory (os error 2)"
        ))
    );
    drop(tls);
}
