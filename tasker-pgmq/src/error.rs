//! What can go wrong between a worker and its database, each with what to do about it.

/// A database failure, named for the person who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// Neither a flag nor the environment named a database.
    #[error(
        "no database configured: pass --database-url, or set TASKER_DATABASE_URL or DATABASE_URL (e.g. postgres://tasker@localhost:5432/tasker)"
    )]
    NotConfigured,
    /// The URL does not parse as a libpq URL.
    #[error(
        "the database URL {url} is not valid: {reason} (expected postgres://user[:password]@host[:port]/database)"
    )]
    BadUrl { url: String, reason: String },
    /// Nothing answered, or it refused us.
    #[error(
        "cannot reach the database at {url}: {reason} (is PostgreSQL running there, and may this user connect?)"
    )]
    Unreachable { url: String, reason: String },
    /// The schema is older than this build, or missing.
    #[error(
        "the database at {url} is not migrated ({what}): run `tasker-worker-rust migrate --database-url {url}`"
    )]
    NotMigrated { url: String, what: String },
    /// Installing PGMQ or applying a migration failed.
    #[error("migrating the database at {url} failed: {reason}")]
    Migration { url: String, reason: String },
    /// A queue name PGMQ cannot take.
    #[error("queue {queue:?} cannot be used: {reason}")]
    BadQueue { queue: String, reason: String },
    /// A submitted step names a queue that no worker serves and nobody declared: its task
    /// would wait forever, so it is refused.
    #[error(
        "step {step:?} goes to queue {queue:?}, which no worker has served and nobody declared (known queues: {known}): start `tasker-worker-rust serve --queue {queue}`, or declare it first with `tasker-worker-rust migrate --queue {queue}`"
    )]
    UnknownQueue {
        step: String,
        queue: String,
        known: String,
    },
    /// The template or context of a submitted task is invalid.
    #[error("{0}")]
    Invalid(String),
    /// No task with this uuid was submitted to this database.
    #[error("no task {0} in this database")]
    UnknownTask(String),
    /// Any other SQL error.
    #[error("database error: {0}")]
    Sql(String),
}

/// A database failure as the core's one error, for the host bindings: a missing or bad URL
/// is a configuration error, an invalid task a template error, the rest database errors.
impl From<DbError> for tasker_shared::TaskerError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotConfigured => Self::Config(
                "no database configured: pass database_url, or set TASKER_DATABASE_URL or DATABASE_URL (e.g. postgres://tasker@localhost:5432/tasker)".into(),
            ),
            DbError::BadUrl { .. } => Self::Config(e.to_string()),
            DbError::Invalid(m) => Self::Internal(m),
            other => Self::Database(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e.to_string())
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("postgres://tasker:s3cr3t@db:5432/tasker"),
            "postgres://tasker:***@db:5432/tasker"
        );
        assert_eq!(
            redact("postgres://tasker@db/tasker"),
            "postgres://tasker@db/tasker"
        );
        assert_eq!(redact("not a url"), "not a url");
    }
}
