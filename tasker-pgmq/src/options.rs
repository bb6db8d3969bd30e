//! What a serving process is asked to do, and what it reports having done.

use std::time::Duration;

use crate::metrics::DbHealth;

/// How a serving process claims work.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The queues to serve (template `queue` names, without `worker_`/`_queue`).
    pub queues: Vec<String>,
    /// Steps in flight at once in this process.
    pub concurrency: usize,
    /// How long a claimed message stays hidden when its step sets no `timeout_ms`: longer
    /// than a step may run (the worker's handler timeout plus a margin).
    pub visibility: Duration,
    /// Added to a step's own `timeout_ms` for its message's visibility timeout.
    pub visibility_margin: Duration,
    /// How long an idle worker waits before looking again: the fallback when a wake-up
    /// is missed (a dropped LISTEN connection, PgBouncer in transaction mode).
    pub poll_interval: Duration,
    /// Wake on PGMQ's insert notifications (LISTEN/NOTIFY) as well as by polling. They are
    /// only a hint: a worker always claims by reading the queue.
    pub notify: bool,
    /// Where the loop reports whether the database answers (for `/health/ready`).
    pub health: DbHealth,
}

/// What a serving run did.
/// Hosts receive it as `{claimed, recorded, duplicates, redelivered}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServeReport {
    pub claimed: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub redelivered: u64,
}
