//! Connecting, and bringing a database to this build's schema: PGMQ, then tasker's own
//! migrations. Idempotent, and safe when several processes migrate at once: every migrator
//! holds one PostgreSQL advisory lock for the whole run, so the second waits and then finds
//! nothing left to do.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{DbError, redact};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How every pool of this crate is built: a bounded wait for a connection, and no ping per
/// acquire (a round trip before every statement): a connection that died fails its
/// statement instead, which every caller already retries or reports.
pub(crate) fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
}

/// The advisory lock every migrator takes ("tasker" in ASCII).
const MIGRATION_LOCK: i64 = 0x7461_736b_6572;

/// The database to use: `explicit` (a `--database-url` flag), else `TASKER_DATABASE_URL`,
/// else `DATABASE_URL`.
pub fn database_url(explicit: Option<&str>) -> Result<String, DbError> {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    explicit
        .map(str::to_owned)
        .or_else(|| from_env("TASKER_DATABASE_URL"))
        .or_else(|| from_env("DATABASE_URL"))
        .ok_or(DbError::NotConfigured)
}

/// A pool of at most `max_connections` to `url`. Fails fast (5 s) with the reason when the
/// database cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    let bad = |reason: String| DbError::BadUrl {
        url: redact(url),
        reason,
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad(
            "it does not start with postgres:// or postgresql://".to_owned()
        ));
    }
    let options = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
    pool_options(max_connections)
        .connect_with(options)
        .await
        .map_err(|e| DbError::Unreachable {
            url: redact(url),
            reason: e.to_string(),
        })
}

/// What [`migrate`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// PGMQ's installed version afterwards, e.g. `1.11.1`.
    pub pgmq_version: String,
    /// tasker's schema version afterwards (the newest migration's).
    pub schema_version: i64,
    /// How many tasker migrations this run applied (0 when already up to date).
    pub applied: usize,
}

/// Installs PGMQ and applies tasker's migrations, under the migration lock.
pub async fn migrate(pool: &PgPool, url: &str) -> Result<MigrationReport, DbError> {
    let fail = |reason: String| DbError::Migration {
        url: redact(url),
        reason,
    };
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await?;
    let outcome = async {
        let before = applied_versions(pool).await?;
        pgmq::install::install_sql_from_embedded(pool)
            .await
            .map_err(|e| fail(format!("installing PGMQ: {e}")))?;
        MIGRATOR.run(pool).await.map_err(|e| fail(e.to_string()))?;
        let after = applied_versions(pool).await?;
        Ok(MigrationReport {
            pgmq_version: pgmq_version(pool).await?,
            schema_version: after.iter().copied().max().unwrap_or(0),
            applied: after.len().saturating_sub(before.len()),
        })
    }
    .await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await;
    if let Ok(r) = &outcome {
        tracing::info!(
            pgmq_version = %r.pgmq_version,
            schema_version = r.schema_version,
            applied = r.applied,
            "database migrated"
        );
    }
    outcome
}

/// Refuses a database whose schema is older than this build's (or absent), with the
/// command that fixes it.
pub async fn check_migrated(pool: &PgPool, url: &str) -> Result<(), DbError> {
    let not = |what: String| DbError::NotMigrated {
        url: redact(url),
        what,
    };
    let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !has_table {
        return Err(not("no tasker schema".to_owned()));
    }
    let applied = applied_versions(pool).await?;
    if !applied.contains(&newest) {
        return Err(not(format!(
            "schema version {} is older than this build's {newest}",
            applied.iter().copied().max().unwrap_or(0)
        )));
    }
    let has_pgmq: bool = sqlx::query_scalar("SELECT to_regnamespace('pgmq') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_pgmq {
        return Err(not("PGMQ is not installed".to_owned()));
    }
    Ok(())
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, DbError> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !has_table {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM public._sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?,
    )
}

async fn pgmq_version(pool: &PgPool) -> Result<String, DbError> {
    pgmq::install::installed_version(pool)
        .await
        .map(|v| v.map_or_else(|| "unknown".to_owned(), |v| v.to_string()))
        .map_err(|e| DbError::Sql(e.to_string()))
}
