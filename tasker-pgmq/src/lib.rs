//! The distributed backend: many worker processes, in any language, sharing PGMQ queues in
//! one PostgreSQL database.
//!
//! **Why PostgreSQL and PGMQ, not a broker of our own.** A step's message, its claim and its
//! result must change together or not at all, and PostgreSQL already gives that in one
//! transaction. PGMQ is queues as tables with `FOR UPDATE SKIP LOCKED` reads and visibility
//! timeouts: the proven way to claim work without a second system to run. PGMQ has no Debian
//! package for PostgreSQL 15, so it is installed as plain SQL from the `pgmq` crate's
//! embedded scripts; tasker's own tables are versioned sqlx migrations.
//!
//! This crate grows with the distributed path; today it holds the connection rules
//! ([`database_url`], [`connect`]), the schema ([`migrate`], [`check_migrated`]), queue
//! naming, and submitting a task and reading it back ([`submit`], [`task_status`]). Serving
//! the queues comes next.

mod error;
mod metrics;
mod migrate;
mod options;
mod outage;
mod queue;
mod record;
mod rows;
mod serve;
mod submit;

pub use error::{DbError, redact};
pub use metrics::DbHealth;
pub use migrate::{MigrationReport, check_migrated, connect, database_url, migrate};
pub use options::{ServeOptions, ServeReport};
pub use queue::{declare_queues, pgmq_queue_name, step_queue};
pub use serve::serve;
pub use submit::{Submitted, submit, task_status};

/// The pool type every function here takes, and the uuid type of task ids.
pub use sqlx::PgPool;
pub use uuid::Uuid;
