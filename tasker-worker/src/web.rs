//! `/health`, `/health/ready` and `/metrics`, served only when a bind address is configured:
//! a library must not open ports by surprise.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tasker_shared::{TaskerError, TaskerResult};
use tokio::sync::oneshot;

#[derive(Debug, Clone)]
struct Health {
    worker_id: String,
    ready: Arc<AtomicBool>,
}

/// A running HTTP server; dropping `shutdown` stops it.
#[derive(Debug)]
pub(crate) struct WebServer {
    pub(crate) addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    pub(crate) ready: Arc<AtomicBool>,
}

impl WebServer {
    /// Binds now (so a taken port is an error at start, not later) and serves on `handle`.
    pub(crate) fn start(
        handle: &tokio::runtime::Handle,
        addr: SocketAddr,
        worker_id: String,
    ) -> TaskerResult<Self> {
        let std_listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| TaskerError::Config(format!("cannot serve HTTP on {addr}: {e}")))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| TaskerError::Internal(e.to_string()))?;
        let ready = Arc::new(AtomicBool::new(true));
        let state = Health {
            worker_id,
            ready: ready.clone(),
        };
        let app = Router::new()
            .route("/health", get(health))
            .route("/health/ready", get(readiness))
            .route("/metrics", get(metrics))
            .with_state(state);
        let (tx, rx) = oneshot::channel::<()>();
        let _enter = handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| TaskerError::Internal(format!("cannot serve HTTP on {addr}: {e}")))?;
        handle.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        });
        tracing::info!(%addr, "Serving /health and /metrics");
        Ok(Self {
            addr,
            shutdown: Some(tx),
            ready,
        })
    }

    pub(crate) fn stop(&mut self) {
        self.ready.store(false, Ordering::Release);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn health(State(h): State<Health>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "healthy",
        "timestamp": tasker_shared::time::rfc3339_now(),
        "worker_id": h.worker_id,
    }))
}

async fn readiness(State(h): State<Health>) -> Response {
    if h.ready.load(Ordering::Acquire) {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "worker_id": h.worker_id})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "stopping", "worker_id": h.worker_id})),
        )
            .into_response()
    }
}

async fn metrics() -> Response {
    match tasker_shared::logging::metrics::render_prometheus() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
