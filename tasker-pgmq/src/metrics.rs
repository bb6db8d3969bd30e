//! What a serving worker adds to `/metrics`, and the database state `/health/ready` reports.
//!
//! Counters are counted where they happen (a claim, a redelivery, a `worker_lost` failure).
//! Queue depth and the oldest message's age are PGMQ's own `pgmq.metrics`, sampled by the
//! serve loop every few seconds rather than at scrape time: a scrape then never waits on the
//! database, and N scrapers cost the database nothing.

use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge};
use sqlx::{PgPool, Row};
use tasker_shared::logging::metrics::meter;

use crate::error::DbError;

/// The database as the serve loop last saw it: `None` while it answers, else why not.
/// Cloned into `/health/ready` as its `database` check.
#[derive(Debug, Clone, Default)]
pub struct DbHealth(Arc<Mutex<Option<String>>>);

impl DbHealth {
    /// `Ok` while the database answers; `Err` with the last failure during an outage.
    pub fn check(&self) -> Result<(), String> {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    pub(crate) fn set(&self, state: Option<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }
}

/// The serve loop's instruments, by queue (the template name, as `--queue` gives it).
#[derive(Debug, Clone)]
pub(crate) struct ServeMetrics {
    claims: Counter<u64>,
    results: Counter<u64>,
    redeliveries: Counter<u64>,
    worker_lost: Counter<u64>,
    depth: Gauge<u64>,
    visible: Gauge<u64>,
    oldest_age: Gauge<u64>,
}

impl ServeMetrics {
    pub(crate) fn new() -> Self {
        let m = meter("tasker-pgmq");
        Self {
            claims: m
                .u64_counter("tasker.queue.claims")
                .with_description("Messages this worker claimed (read) from a step queue")
                .build(),
            results: m
                .u64_counter("tasker.queue.results")
                .with_description(
                    "Step results this worker recorded from a queue, by status (each result once: a duplicate or late completion is not counted)",
                )
                .build(),
            redeliveries: m
                .u64_counter("tasker.queue.redeliveries")
                .with_description(
                    "Claimed messages that had been read before: their earlier worker was lost",
                )
                .build(),
            worker_lost: m
                .u64_counter("tasker.steps.worker_lost")
                .with_description(
                    "Step attempts recorded as failed with error_type worker_lost (final or retried)",
                )
                .build(),
            depth: m
                .u64_gauge("tasker.queue.depth")
                .with_description(
                    "Messages in a step queue, claimed or not (a message leaves when its result is recorded)",
                )
                .build(),
            visible: m
                .u64_gauge("tasker.queue.visible")
                .with_description("Messages in a step queue that a worker may claim now")
                .build(),
            oldest_age: m
                .u64_gauge("tasker.queue.oldest_message_age_seconds")
                .with_description("Age of the oldest message in a step queue, in seconds (0 when empty)")
                .build(),
        }
    }

    /// Starts every counter of `queues` at 0, so that `/metrics` serves each series from the
    /// first scrape: a dashboard's `rate()` and a "no redeliveries" panel then read 0, not
    /// "no data", on a worker that has not yet seen the event.
    pub(crate) fn declare(&self, queues: &[(String, String)]) {
        for (queue, _) in queues {
            let attrs = [KeyValue::new("queue", queue.clone())];
            self.claims.add(0, &attrs);
            for status in ["success", "failure"] {
                let with_status = [attrs[0].clone(), KeyValue::new("status", status)];
                self.results.add(0, &with_status);
            }
            self.redeliveries.add(0, &attrs);
            self.worker_lost.add(0, &attrs);
        }
    }

    pub(crate) fn claimed(&self, queue: &str, redelivered: bool) {
        let attrs = [KeyValue::new("queue", queue.to_owned())];
        self.claims.add(1, &attrs);
        if redelivered {
            self.redeliveries.add(1, &attrs);
        }
    }

    pub(crate) fn recorded(&self, queue: &str, status: &'static str) {
        self.results.add(
            1,
            &[
                KeyValue::new("queue", queue.to_owned()),
                KeyValue::new("status", status),
            ],
        );
    }

    pub(crate) fn worker_lost(&self, queue: &str) {
        self.worker_lost
            .add(1, &[KeyValue::new("queue", queue.to_owned())]);
    }

    /// Reads PGMQ's metrics of each `(queue, pgmq name)` into the gauges.
    pub(crate) async fn sample(
        &self,
        pool: &PgPool,
        queues: &[(String, String)],
    ) -> Result<(), DbError> {
        for (queue, pgmq_name) in queues {
            let row = sqlx::query(
                "SELECT queue_length, queue_visible_length, oldest_msg_age_sec FROM pgmq.metrics($1)",
            )
            .bind(pgmq_name)
            .fetch_one(pool)
            .await?;
            let count = |v: Option<i64>| v.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
            let attrs = [KeyValue::new("queue", queue.clone())];
            self.depth
                .record(count(row.try_get("queue_length")?), &attrs);
            self.visible
                .record(count(row.try_get("queue_visible_length")?), &attrs);
            let age: Option<i32> = row.try_get("oldest_msg_age_sec")?;
            self.oldest_age.record(count(age.map(i64::from)), &attrs);
        }
        Ok(())
    }
}
