//! A database outage as a serving worker lives through it: logged once when it starts and
//! once when it ends, not per retry, and reported to `/health/ready` while it lasts.

use std::time::Duration;

use crate::error::DbError;
use crate::metrics::DbHealth;

/// A database outage, logged once when it starts and once when it ends (not per retry),
/// with a backoff between retries that doubles up to 5 s.
#[derive(Debug)]
pub(crate) struct Outage {
    pub(crate) since: Option<std::time::Instant>,
    backoff: Duration,
    health: DbHealth,
}

impl Outage {
    pub(crate) const FIRST: Duration = Duration::from_millis(100);
    pub(crate) const MAX: Duration = Duration::from_secs(5);

    pub(crate) fn new(health: DbHealth) -> Self {
        health.set(None);
        Self {
            since: None,
            backoff: Self::FIRST,
            health,
        }
    }

    /// Records a failure; returns how long to wait before the next try.
    pub(crate) fn failed(&mut self, e: &DbError) -> Duration {
        self.health.set(Some(e.to_string()));
        if self.since.is_none() {
            tracing::error!(error = %e, "serve: the database is unreachable; retrying with backoff until it is back");
            self.since = Some(std::time::Instant::now());
            self.backoff = Self::FIRST;
        } else {
            self.backoff = (self.backoff * 2).min(Self::MAX);
        }
        self.backoff
    }

    pub(crate) fn over(&mut self) {
        if let Some(since) = self.since.take() {
            self.health.set(None);
            tracing::info!(
                down_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "serve: the database is back"
            );
        }
    }
}
