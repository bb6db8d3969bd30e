//! `/health`, `/health/ready` and `/metrics`, served only when a bind address is configured:
//! a library must not open ports by surprise.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tasker_shared::{TaskerError, TaskerResult};
use tokio::sync::oneshot;

/// What `/health/ready` asks besides "is the worker running": one named check per
/// dependency a serving worker needs (the database, for `serve`). A check answers from what
/// its owner last saw, without I/O, so a probe never waits on the thing it reports.
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The checks `/health/ready` runs, shared by the worker (which adds them) and the server.
#[derive(Clone, Default)]
pub(crate) struct Readiness(Arc<Mutex<Vec<(String, ReadinessCheck)>>>);

impl Readiness {
    /// Adds `check` under `name`, replacing a check of that name.
    pub(crate) fn add(&self, name: String, check: ReadinessCheck) {
        let mut checks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        checks.retain(|(n, _)| *n != name);
        checks.push((name, check));
    }

    /// Each check's answer, and whether all passed.
    fn run(&self) -> (serde_json::Map<String, serde_json::Value>, bool) {
        let checks = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut all = true;
        let mut out = serde_json::Map::new();
        for (name, check) in checks {
            let answer = match check() {
                Ok(()) => json!({"status": "up"}),
                Err(e) => {
                    all = false;
                    json!({"status": "down", "error": e})
                }
            };
            out.insert(name, answer);
        }
        (out, all)
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_list()
            .entries(checks.iter().map(|(n, _)| n))
            .finish()
    }
}

#[derive(Debug, Clone)]
struct Health {
    worker_id: String,
    ready: Arc<AtomicBool>,
    checks: Readiness,
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
        checks: Readiness,
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
            checks,
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
    let (checks, passed) = h.checks.run();
    let (code, status) = if !h.ready.load(Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping")
    } else if passed {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let mut body = json!({"status": status, "worker_id": h.worker_id});
    if !checks.is_empty() {
        body["checks"] = serde_json::Value::Object(checks);
    }
    (code, Json(body)).into_response()
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
