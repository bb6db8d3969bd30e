//! Phase 2: `TaskerCore::Native::Worker.bootstrap(options)` starts (or returns) the process
//! worker, which owns a multi-thread Tokio runtime and starts telemetry export inside it.
//! Running a task and serving the queues are the core's blocking-host loops
//! (`tasker_worker::blocking`), with the GVL released.

use magnus::prelude::*;
use magnus::{Error, RClass, RModule, Ruby, Value, function, method};
use tasker_shared::host::{self, TemplateInput};
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::Worker;

use crate::gvl::RubyHost;
use crate::{conversions, errors, gvl};

/// The Ruby-side handle on the process worker.
#[magnus::wrap(class = "TaskerCore::Native::Worker", free_immediately, size)]
pub(crate) struct RbWorker(pub(crate) Worker);

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<RClass, Error> {
    let class = native.define_class("Worker", ruby.class_object())?;
    class.define_singleton_method("bootstrap", function!(bootstrap, 1))?;
    class.define_method("register_handler", method!(RbWorker::register_handler, 1))?;
    class.define_method("run_task", method!(RbWorker::run_task, 3))?;
    class.define_method("serve", method!(RbWorker::serve, 0))?;
    class.define_method("stop_serving", method!(RbWorker::stop_serving, 0))?;
    class.define_method("check_stop", method!(RbWorker::check_stop, 0))?;
    class.define_method("stop", method!(RbWorker::stop, 1))?;
    class.define_method("worker_id", method!(RbWorker::worker_id, 0))?;
    class.define_method("stopped?", method!(RbWorker::is_stopped, 0))?;
    class.define_method("web_address", method!(RbWorker::web_address, 0))?;
    class.define_method("handler_timeout", method!(RbWorker::handler_timeout, 0))?;
    Ok(class)
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

/// A template path (String) or Hash.
pub(crate) fn template_from(ruby: &Ruby, template: Value) -> Result<TaskTemplate, Error> {
    let input = match magnus::RString::from_value(template) {
        Some(path) => TemplateInput::Path(path.to_string()?),
        None => TemplateInput::Value(conversions::to_json(ruby, template, "template")?),
    };
    host::template(input).map_err(|e| errors::to_ruby(ruby, e))
}

/// A result (task, report) as a Hash with Symbol keys.
pub(crate) fn to_ruby_hash<T: serde::Serialize>(ruby: &Ruby, value: &T) -> Result<Value, Error> {
    let json = serde_json::to_value(value).map_err(|e| errors::internal(ruby, &e.to_string()))?;
    conversions::to_ruby_symbol_keys(ruby, &json)
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

    /// `run_task(template, context, timeout_seconds_or_nil)`: waits with the GVL released
    /// while this thread drives the task; handlers run on the host threads. An interrupt
    /// leaves with the run dropped, which cancels the task.
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
            let timeout = host::timeout_seconds(timeout).map_err(|e| errors::to_ruby(ruby, e))?;
            let result = rb_self
                .0
                .start_task(template, context)
                .map_err(|e| errors::to_ruby(ruby, e))?
                .finish(&RubyHost(ruby), timeout)?;
            to_ruby_hash(ruby, &result)
        })
    }

    /// Serves the worker's queues until `stop_serving`, `stop`, or an interrupt; returns
    /// `{claimed:, recorded:, duplicates:, redelivered:}` once drained.
    fn serve(ruby: &Ruby, rb_self: &Self) -> Result<Value, Error> {
        gvl::guard(ruby, || {
            let report = rb_self.0.serve_blocking(&RubyHost(ruby))?;
            to_ruby_hash(ruby, &report)
        })
    }

    fn stop_serving(&self) {
        self.0.stop_serving();
    }

    /// Raises what `stop` would refuse here (a forked child, a handler thread), before the
    /// Ruby side changes anything.
    fn check_stop(ruby: &Ruby, rb_self: &Self) -> Result<(), Error> {
        rb_self.0.check_stop().map_err(|e| errors::to_ruby(ruby, e))
    }

    /// Drains and flushes; the telemetry report's fields, or its loss raised when `strict`.
    fn stop(ruby: &Ruby, rb_self: &Self, strict: bool) -> Result<Value, Error> {
        gvl::guard(ruby, || {
            let report = gvl::without_gvl(ruby, || rb_self.0.stop())?
                .map_err(|e| errors::to_ruby(ruby, e))?;
            crate::ffi_logging::report_to_ruby(ruby, report, strict)
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
