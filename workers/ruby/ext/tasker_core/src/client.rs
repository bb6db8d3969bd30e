//! `TaskerCore::Native::Client`: submits tasks to the PostgreSQL queues and reads them back
//! (`tasker_worker::Client`); waits release the GVL.

use magnus::prelude::*;
use magnus::{Error, RModule, Ruby, Value, function, method};
use tasker_worker::Client;

use crate::bootstrap::{template_from, to_ruby_hash};
use crate::gvl::RubyHost;
use crate::{conversions, errors, gvl};

#[magnus::wrap(class = "TaskerCore::Native::Client", free_immediately, size)]
struct RbClient(Client);

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Client", ruby.class_object())?;
    class.define_singleton_method("connect", function!(connect, 1))?;
    class.define_method("submit", method!(submit, 2))?;
    class.define_method("status", method!(status, 1))?;
    class.define_method("wait", method!(wait, 2))?;
    class.define_method("database_url", method!(database_url, 0))?;
    Ok(())
}

fn uuid(ruby: &Ruby, task_uuid: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(task_uuid)
        .map_err(|_| errors::conversion(ruby, &format!("task_uuid {task_uuid:?} is not a UUID")))
}

/// Connects to `database_url` (nil: TASKER_DATABASE_URL, then DATABASE_URL) and checks that
/// it is migrated.
fn connect(ruby: &Ruby, database_url: Option<String>) -> Result<RbClient, Error> {
    gvl::guard(ruby, || {
        gvl::without_gvl(ruby, || Client::connect(database_url.as_deref()))?
            .map(RbClient)
            .map_err(|e| errors::to_ruby(ruby, e))
    })
}

fn submit(
    ruby: &Ruby,
    rb_self: &RbClient,
    template: Value,
    context: Value,
) -> Result<Value, Error> {
    gvl::guard(ruby, || {
        let template = template_from(ruby, template)?;
        let context = conversions::to_json(ruby, context, "context")?;
        let out = gvl::without_gvl(ruby, || rb_self.0.submit(template, context))?
            .map_err(|e| errors::to_ruby(ruby, e))?;
        to_ruby_hash(ruby, &out)
    })
}

fn status(ruby: &Ruby, rb_self: &RbClient, task_uuid: String) -> Result<Value, Error> {
    gvl::guard(ruby, || {
        let id = uuid(ruby, &task_uuid)?;
        let out = gvl::without_gvl(ruby, || rb_self.0.status(id))?
            .map_err(|e| errors::to_ruby(ruby, e))?;
        to_ruby_hash(ruby, &out)
    })
}

fn wait(
    ruby: &Ruby,
    rb_self: &RbClient,
    task_uuid: String,
    timeout: Option<f64>,
) -> Result<Value, Error> {
    gvl::guard(ruby, || {
        let id = uuid(ruby, &task_uuid)?;
        let timeout =
            tasker_shared::host::timeout_seconds(timeout).map_err(|e| errors::to_ruby(ruby, e))?;
        let out = rb_self.0.wait(&RubyHost(ruby), id, timeout)?;
        to_ruby_hash(ruby, &out)
    })
}

fn database_url(rb_self: &RbClient) -> String {
    rb_self.0.database_url()
}
