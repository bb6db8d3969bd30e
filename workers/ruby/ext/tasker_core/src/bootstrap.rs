//! Phase 2: `TaskerCore::Native::Worker.bootstrap(options)` starts (or returns) the process
//! worker, which owns a multi-thread Tokio runtime and starts telemetry export inside it.

use std::time::{Duration, Instant};

use magnus::prelude::*;
use magnus::{Error, RModule, Ruby, Value, function, method};
use tasker_shared::TaskerError;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::Worker;
use uuid::Uuid;

use crate::{bridge, conversions, errors, gvl};

/// The Ruby-side handle on the process worker.
#[magnus::wrap(class = "TaskerCore::Native::Worker", free_immediately, size)]
pub(crate) struct RbWorker(pub(crate) Worker);

/// How long one GVL-free wait lasts before Ruby gets to check for interrupts.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Worker", ruby.class_object())?;
    class.define_singleton_method("bootstrap", function!(bootstrap, 1))?;
    class.define_method("register_handler", method!(RbWorker::register_handler, 1))?;
    class.define_method("run_task", method!(RbWorker::run_task, 3))?;
    class.define_method("stop", method!(RbWorker::stop, 0))?;
    class.define_method("worker_id", method!(RbWorker::worker_id, 0))?;
    class.define_method("stopped?", method!(RbWorker::is_stopped, 0))?;
    class.define_method("web_address", method!(RbWorker::web_address, 0))?;
    class.define_method("handler_timeout", method!(RbWorker::handler_timeout, 0))?;
    bridge::define(class)
}

/// Starts the process worker, or returns the running one. Telemetry phase 2 runs inside its
/// runtime (`Worker::start` does `runtime.block_on(init_with_config)`).
fn bootstrap(ruby: &Ruby, options: Value) -> Result<RbWorker, Error> {
    gvl::guard(ruby, || {
        let opts = conversions::to_json(ruby, options, "options")?;
        gvl::without_gvl(ruby, || {
            tasker_worker::bootstrap_from_options(&opts, "ruby")
        })?
        .map(RbWorker)
        .map_err(|e| errors::to_ruby(ruby, e))
    })
}

impl RbWorker {
    fn register_handler(ruby: &Ruby, rb_self: &Self, name: String) -> Result<(), Error> {
        gvl::guard(ruby, || {
            rb_self
                .0
                .register_handler(name)
                .map_err(|e| errors::to_ruby(ruby, e))
        })
    }

    /// `run_task(template, context, timeout_seconds_or_nil)`: a template path or Hash. Waits
    /// with the GVL released, in slices, so handler threads run and Ctrl-C is honoured; the
    /// waiting thread drives the task itself meanwhile. It never runs a handler: a handler
    /// cannot be pre-empted, and one that never returns must not keep the caller from its
    /// result.
    fn run_task(
        ruby: &Ruby,
        rb_self: &Self,
        template: Value,
        context: Value,
        timeout: Option<f64>,
    ) -> Result<Value, Error> {
        gvl::guard(ruby, || {
            let template = template_from(ruby, template)?;
            let context = conversions::to_json(ruby, context, "context")?;
            let timeout = timeout
                .map(|t| {
                    Duration::try_from_secs_f64(t).map_err(|_| {
                        Error::new(
                            ruby.exception_arg_error(),
                            format!("timeout must be a positive number of seconds, got {t}"),
                        )
                    })
                })
                .transpose()?;
            let mut run = rb_self
                .0
                .start_task(template, context)
                .map_err(|e| errors::to_ruby(ruby, e))?;
            let deadline = timeout.map(|t| Instant::now() + t);
            loop {
                let slice = deadline.map_or(SLICE, |d| {
                    SLICE.min(d.saturating_duration_since(Instant::now()))
                });
                if let Some(result) = gvl::without_gvl(ruby, || run.wait(slice))?
                    .map_err(|e| errors::to_ruby(ruby, e))?
                {
                    let json = serde_json::to_value(&result)
                        .map_err(|e| errors::internal(ruby, &e.to_string()))?;
                    return conversions::to_ruby_symbol_keys(ruby, &json);
                }
                if let (Some(d), Some(t)) = (deadline, timeout) {
                    if Instant::now() >= d {
                        return Err(timed_out(ruby, run.task_uuid(), t));
                    }
                }
                // An interrupt leaves here with the run dropped: its task is cancelled.
                ruby.thread_check_ints()?;
            }
        })
    }

    fn stop(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        gvl::guard(ruby, || {
            gvl::without_gvl(ruby, || rb_self.0.stop())?.map_err(|e| errors::to_ruby(ruby, e))
        })
    }

    fn worker_id(&self) -> String {
        self.0.worker_id().to_owned()
    }

    fn is_stopped(&self) -> bool {
        self.0.is_stopped()
    }

    fn web_address(&self) -> Option<String> {
        self.0.web_address().map(|a| a.to_string())
    }

    fn handler_timeout(&self) -> f64 {
        self.0.config().handler_timeout.as_secs_f64()
    }
}

fn template_from(ruby: &Ruby, template: Value) -> Result<TaskTemplate, Error> {
    let parsed = if let Some(path) = magnus::RString::from_value(template) {
        TaskTemplate::from_path(path.to_string()?)
    } else {
        TaskTemplate::from_value(conversions::to_json(ruby, template, "template")?)
    };
    parsed.map_err(|e| errors::to_ruby(ruby, e.into()))
}

fn timed_out(ruby: &Ruby, task_uuid: Uuid, t: Duration) -> Error {
    errors::to_ruby(
        ruby,
        TaskerError::TaskTimeout {
            task_uuid,
            millis: u64::try_from(t.as_millis()).unwrap_or(u64::MAX),
        },
    )
}
