//! OTLP/gRPC over TLS through a real TLS endpoint (socat, OpenSSL), trusting a private CA;
//! and a wrong CA over gRPC says so too.

use std::time::Duration;

use tasker_shared::logging::{self, Compression, OtlpProtocol, TelemetryConfig, TlsFiles};
use tasker_testkit::{Collector, TestCerts, TlsEndpoint};

#[test]
fn grpc_spans_reach_the_collector_over_tls_with_a_private_ca() {
    let collector = Collector::start();
    let certs = TestCerts::generate();
    let tls = TlsEndpoint::start(&certs, collector.grpc_addr, false);
    logging::init_console_only();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = TelemetryConfig::default()
        .with_enabled(true)
        .with_protocol(OtlpProtocol::Grpc)
        .with_endpoint(tls.url())
        .with_compression(Compression::Gzip)
        .with_service_name("tasker-tls-grpc-test")
        .with_tls(TlsFiles {
            certificate: Some(certs.ca()),
            ..TlsFiles::default()
        });
    runtime
        .block_on(async { logging::init_with_config(config) })
        .expect("phase 2 over gRPC with TLS");
    for i in 0..3 {
        let _ = tracing::info_span!("tls.grpc.span", i).entered();
    }
    logging::flush_telemetry().expect("every span accepted over TLS");
    let spans = collector.wait_for(Duration::from_secs(10), |s| {
        s.iter().filter(|s| s.name == "tls.grpc.span").count() >= 3
    });
    assert_eq!(
        spans.iter().filter(|s| s.name == "tls.grpc.span").count(),
        3,
        "{}",
        collector.output()
    );
    logging::shutdown_telemetry().expect("shutdown");

    // The same endpoint with a CA that signed nothing: refused, and said so.
    let wrong = TelemetryConfig::default()
        .with_enabled(true)
        .with_protocol(OtlpProtocol::Grpc)
        .with_endpoint(tls.url())
        .with_export_timeout(Duration::from_secs(2))
        .with_tls(TlsFiles {
            certificate: Some(certs.other_ca()),
            ..TlsFiles::default()
        });
    runtime
        .block_on(async { logging::init_with_config(wrong) })
        .expect("phase 2");
    let _ = tracing::info_span!("refused").entered();
    let err = logging::flush_telemetry().expect_err("refused").to_string();
    assert!(err.contains("1 span(s) could not be exported"), "{err}");
    assert!(err.contains(&tls.url()), "{err}");
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
    let _ = logging::shutdown_telemetry();
}
