//! A database outage as a serving worker lives through it: logged once when it starts and
//! once when it ends, not per retry, and reported to `/health/ready` while it lasts.

use std::cell::RefCell;
use std::future::Future;
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

/// Runs `attempt` until it succeeds, retrying with backoff while the database is
/// unreachable (a restart, a failover) for up to `patience`, and reporting the outage once.
/// Any other error, or one past `patience`, is returned.
pub(crate) async fn retrying<T, F, Fut>(
    outage: &RefCell<Outage>,
    patience: Duration,
    mut attempt: F,
) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Outage::FIRST;
    loop {
        match attempt().await {
            Ok(v) => {
                outage.borrow_mut().over();
                return Ok(v);
            }
            Err(e @ (DbError::Sql(_) | DbError::Unreachable { .. }))
                if tokio::time::Instant::now() + backoff < deadline =>
            {
                let _ = outage.borrow_mut().failed(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Outage::MAX);
            }
            Err(e) => return Err(e),
        }
    }
}
