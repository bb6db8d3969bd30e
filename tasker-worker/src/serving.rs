//! Serving the PostgreSQL queues (`tasker-pgmq`) from any host: the same claim, execute and
//! record loop the Rust `serve` command runs, with each step going through this worker's
//! command processor and bridge to whatever handlers the host runs.
//!
//! A host thread that calls [`Worker::serve_blocking`] waits with its lock released while
//! the loop runs on a thread of its own, on the worker's runtime; it returns when the loop has drained, which
//! happens on [`Worker::stop_serving`] (a signal handler, another thread) or
//! [`Worker::stop`]. An interrupt that is an error in the host (a Ruby exception, a
//! `KeyboardInterrupt` nobody handled) drains the loop too, then propagates.
//!
//! The database pool is made when serving starts, not at bootstrap: a pre-forking server
//! bootstraps in the parent and serves in each child, and a pool made in the parent would
//! share its connections with every child.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tasker_pgmq::{DbHealth, ServeOptions, ServeReport};
use tasker_shared::{TaskerError, TaskerResult};

use crate::blocking::{self, BlockingHost};
use crate::worker::Worker;

/// Added to the handler timeout for how long a claimed step without `timeout_ms` stays
/// hidden: only a lost worker's step should reappear.
const VISIBILITY_MARGIN: Duration = Duration::from_secs(5);

/// Counts a running `serve` from its start to its end, for `stop`.
struct Serving<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Worker {
    /// Serves this worker's `queues` from its `database_url` until `shutdown` resolves,
    /// [`Worker::stop_serving`] or [`Worker::stop`] is called; then stops claiming, finishes
    /// the steps it holds and returns what it did. Every step runs through this worker's
    /// handlers, under an execution span that is a child of the step message's traceparent.
    pub async fn serve(&self, shutdown: impl Future<Output = ()>) -> TaskerResult<ServeReport> {
        self.ensure_running()?;
        let config = self.config();
        if config.queues.is_empty() {
            return Err(TaskerError::Config(
                "serve needs at least one queue: bootstrap the worker with queues".into(),
            ));
        }
        let url = tasker_pgmq::database_url(config.database_url.as_deref())?;
        let (stop, count) = self.serve_control();
        count.fetch_add(1, Ordering::AcqRel);
        let _serving = Serving(count);
        stop.send_replace(false);
        let options = ServeOptions {
            queues: config.queues.clone(),
            concurrency: config.concurrency,
            visibility: config.handler_timeout + VISIBILITY_MARGIN,
            visibility_margin: Duration::from_secs(2),
            poll_interval: config.poll_interval,
            notify: config.notify,
            health: DbHealth::default(),
        };
        let health = options.health.clone();
        self.add_readiness_check("database", Arc::new(move || health.check()));
        // A connection per step in flight, and two for claims.
        let size = u32::try_from(options.concurrency)
            .unwrap_or(u32::MAX)
            .saturating_add(2);
        let pool = tasker_pgmq::connect(&url, size).await?;
        tasker_pgmq::check_migrated(&pool, &url).await?;
        let steps = self.steps().clone();
        let execute = |ready| {
            let steps = steps.clone();
            async move { steps.process(ready).await }
        };
        let mut stopped = stop.subscribe();
        let shutdown = async move {
            tokio::select! {
                () = shutdown => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        };
        let report = tasker_pgmq::serve(&pool, options, execute, shutdown).await;
        pool.close().await;
        Ok(report?)
    }

    /// Asks every `serve` of this worker to stop claiming and drain; they return once the
    /// steps they hold are recorded. Safe from a signal handler or any thread.
    pub fn stop_serving(&self) {
        self.serve_control().0.send_replace(true);
    }

    /// [`Worker::serve`] for a blocking host: the loop runs on the worker's runtime and the
    /// calling thread waits with `host`'s lock released, checking interrupts between slices.
    /// Returns when the loop has drained. An interrupt that is an error drains the loop
    /// first (bounded by the drain timeout), then is returned.
    pub fn serve_blocking<H: BlockingHost>(&self, host: &H) -> Result<ServeReport, H::Error> {
        let (tx, rx) = flume::bounded(1);
        let worker = self.clone();
        // The loop shares state between its steps on one task (it is not `Send`), so it runs
        // on a thread of its own, on the worker's runtime.
        std::thread::Builder::new()
            .name("tasker-serve".into())
            .spawn(move || {
                let handle = worker.runtime_handle().clone();
                let _ = tx.send(handle.block_on(worker.serve(std::future::pending())));
            })
            .map_err(|e| host.error(TaskerError::Internal(format!("cannot start serving: {e}"))))?;
        // The loop's own end (its report, or its error) is a value of the wait; only an error
        // of the wait itself is the host's interrupt.
        let receive = |slice| match rx.recv_timeout(slice) {
            Ok(ended) => Ok(Some(ended)),
            Err(flume::RecvTimeoutError::Timeout) => Ok(None),
            Err(flume::RecvTimeoutError::Disconnected) => Err(TaskerError::Stopped),
        };
        match blocking::in_slices(host, None, receive) {
            Ok(Some(ended)) => ended.map_err(|e| host.error(e)),
            Ok(None) => Err(host.error(TaskerError::Stopped)),
            Err(interrupt) => {
                self.stop_serving();
                let drain = self.config().drain_timeout + VISIBILITY_MARGIN;
                let _ = host.without_lock(|| rx.recv_timeout(drain));
                Err(interrupt)
            }
        }
    }
}
