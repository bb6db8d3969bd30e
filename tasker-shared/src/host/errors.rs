//! The kinds of [`TaskerError`], and what each host calls them: the Ruby and Python
//! exception class (defined in `lib/tasker_core/error.rb` and `tasker_core/errors.py`, under
//! the same name) and the JS `code`. One table, so the hosts cannot drift apart.

use crate::TaskerError;

/// What kind of failure a [`TaskerError`] is; one exception class per kind in each host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Configuration,
    Template,
    UnknownHandler,
    TraceContext,
    Telemetry,
    Conversion,
    Completion,
    TaskTimeout,
    Database,
    WorkerStopped,
    ForkedWorker,
    Internal,
}

impl ErrorKind {
    /// Every kind, for hosts that look their classes up once, at load.
    pub const ALL: [ErrorKind; 12] = [
        Self::Configuration,
        Self::Template,
        Self::UnknownHandler,
        Self::TraceContext,
        Self::Telemetry,
        Self::Conversion,
        Self::Completion,
        Self::TaskTimeout,
        Self::Database,
        Self::WorkerStopped,
        Self::ForkedWorker,
        Self::Internal,
    ];

    /// The exception class, in `TaskerCore::` (Ruby) and `tasker_core` (Python).
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Configuration => "ConfigurationError",
            Self::Template => "TemplateError",
            Self::UnknownHandler => "UnknownHandlerError",
            Self::TraceContext => "TraceContextError",
            Self::Telemetry => "TelemetryError",
            Self::Conversion => "ConversionError",
            Self::Completion => "CompletionError",
            Self::TaskTimeout => "TaskTimeoutError",
            Self::Database => "DatabaseError",
            Self::WorkerStopped => "WorkerStoppedError",
            Self::ForkedWorker => "ForkedWorkerError",
            Self::Internal => "InternalError",
        }
    }

    /// The `code` of the JS `Error`.
    pub fn js_code(self) -> &'static str {
        match self {
            Self::Configuration => "CONFIGURATION",
            Self::Template => "TEMPLATE",
            Self::UnknownHandler => "UNKNOWN_HANDLER",
            Self::TraceContext => "TRACE_CONTEXT",
            Self::Telemetry => "TELEMETRY",
            Self::Conversion => "CONVERSION",
            Self::Completion => "COMPLETION",
            Self::TaskTimeout => "TASK_TIMEOUT",
            Self::Database => "DATABASE",
            // JS has no fork: a worker it cannot use is a stopped one.
            Self::WorkerStopped | Self::ForkedWorker => "WORKER_STOPPED",
            Self::Internal => "INTERNAL",
        }
    }

    /// The index of this kind in [`ErrorKind::ALL`], for hosts' cached class tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl TaskerError {
    /// The kind of this error, which names its class in every host.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Template(_) => ErrorKind::Template,
            Self::Workflow(_) | Self::Internal(_) => ErrorKind::Internal,
            Self::TraceContext(_) => ErrorKind::TraceContext,
            Self::Telemetry(_) => ErrorKind::Telemetry,
            Self::UnknownHandler(_) => ErrorKind::UnknownHandler,
            Self::Json(_) | Self::Conversion(_) => ErrorKind::Conversion,
            Self::InvalidCompletion(_) => ErrorKind::Completion,
            Self::TaskTimeout { .. } => ErrorKind::TaskTimeout,
            Self::Config(_) => ErrorKind::Configuration,
            Self::Database(_) => ErrorKind::Database,
            // The worker's life, misused: the class of a worker that cannot do this.
            Self::Stopped | Self::StopInHandler => ErrorKind::WorkerStopped,
            Self::Forked { .. } => ErrorKind::ForkedWorker,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_sits_at_its_own_index() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
        }
    }
}
