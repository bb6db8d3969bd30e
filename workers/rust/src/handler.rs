//! The Rust handler API: a trait for step handlers, and a registry of them by name.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tasker_shared::types::StepExecutionEvent;

/// What a handler gets for one step.
#[derive(Debug, Clone)]
pub struct StepContext {
    pub task_uuid: String,
    pub step_uuid: String,
    pub step_name: String,
    pub namespace: String,
    pub correlation_id: String,
    /// The step's trace, as the worker's execution span sees it.
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub traceparent: Option<String>,
    /// The task's input context.
    pub input: Value,
    /// Results of the steps this one depends on, by name.
    pub dependency_results: Map<String, Value>,
    /// 1 for the first try.
    pub attempt: u32,
}

impl StepContext {
    pub(crate) fn from_event(e: &StepExecutionEvent) -> Self {
        let seq = &e.task_sequence_step;
        Self {
            task_uuid: e.task_uuid.to_string(),
            step_uuid: e.step_uuid.to_string(),
            step_name: seq.workflow_step.name.clone(),
            namespace: seq.task.namespace_name.clone(),
            correlation_id: e.correlation_id.to_string(),
            trace_id: e.trace_id.clone(),
            span_id: e.span_id.clone(),
            traceparent: e.traceparent.clone(),
            input: seq.task.context.clone(),
            dependency_results: seq.dependency_results.clone(),
            attempt: seq.workflow_step.attempt,
        }
    }
}

/// Why a handler failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
    pub error_type: String,
    /// Whether the worker may try the step again (up to its `max_attempts`).
    pub retryable: bool,
}

impl StepError {
    /// A failure worth retrying (a flaky dependency, a timeout).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            error_type: "handler_error".into(),
            retryable: true,
        }
    }

    /// A failure that retrying cannot fix (bad input).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            error_type: "handler_error".into(),
            retryable: false,
        }
    }

    /// Names the error's class.
    pub fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = error_type.into();
        self
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.error_type)
    }
}

impl std::error::Error for StepError {}

/// A step handler. Its result must be JSON; an `Err` fails the step with its reason.
/// Handlers run on the worker's runtime: await I/O, and keep CPU-heavy work short or move it
/// to `tokio::task::spawn_blocking`.
pub trait StepHandler: Send + Sync + 'static {
    fn call(&self, ctx: StepContext) -> impl Future<Output = Result<Value, StepError>> + Send;
}

/// A handler made from an async closure.
#[derive(Debug, Clone, Copy)]
pub struct FnHandler<F>(pub F);

impl<F, Fut> StepHandler for FnHandler<F>
where
    F: Fn(StepContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, StepError>> + Send,
{
    fn call(&self, ctx: StepContext) -> impl Future<Output = Result<Value, StepError>> + Send {
        (self.0)(ctx)
    }
}

/// The object-safe form the registry stores.
pub(crate) trait DynHandler: Send + Sync {
    fn call_boxed(&self, ctx: StepContext) -> BoxFuture<'_, Result<Value, StepError>>;
}

impl<H: StepHandler> DynHandler for H {
    fn call_boxed(&self, ctx: StepContext) -> BoxFuture<'_, Result<Value, StepError>> {
        Box::pin(self.call(ctx))
    }
}

/// Handlers by the name templates use.
#[derive(Default, Clone)]
pub struct HandlerRegistry {
    handlers: HashMap<String, Arc<dyn DynHandler>>,
}

impl std::fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("HandlerRegistry")
            .field("handlers", &names)
            .finish()
    }
}

impl HandlerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` as `name`, replacing any handler of that name.
    pub fn register(&mut self, name: impl Into<String>, handler: impl StepHandler) -> &mut Self {
        self.handlers.insert(name.into(), Arc::new(handler));
        self
    }

    /// Registers an async closure as `name`.
    pub fn register_fn<F, Fut>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(StepContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, StepError>> + Send + 'static,
    {
        self.register(name, FnHandler(f))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn DynHandler>> {
        self.handlers.get(name).cloned()
    }
}
