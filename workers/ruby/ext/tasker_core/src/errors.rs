//! `TaskerError` → the Ruby exception classes of `lib/tasker_core/error.rb`, converted here
//! and nowhere else. The classes are looked up once, when the extension loads: a class
//! missing from `error.rb` fails the `require` with its name, instead of every raise of it
//! silently becoming a `RuntimeError`.

use std::sync::OnceLock;

use magnus::prelude::*;
use magnus::value::Opaque;
use magnus::{Error, ExceptionClass, RModule, Ruby};
use tasker_shared::TaskerError;
use tasker_shared::host::{ErrorKind, error_types};

static CLASSES: OnceLock<Vec<Opaque<ExceptionClass>>> = OnceLock::new();

/// Looks every class up in `TaskerCore` (the gem requires `error.rb` before the extension),
/// and defines `TaskerCore::Native::ERROR_TYPES`, the `error_type`s of the core's own
/// failures.
pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let tasker: RModule = ruby.class_object().const_get("TaskerCore")?;
    let mut classes = Vec::with_capacity(ErrorKind::ALL.len());
    for kind in ErrorKind::ALL {
        let class = tasker
            .const_get::<_, ExceptionClass>(kind.class_name())
            .map_err(|_| {
                Error::new(
                    ruby.exception_load_error(),
                    format!(
                        "TaskerCore::{} is not defined: require \"tasker_core\", which loads tasker_core/error.rb before the extension",
                        kind.class_name()
                    ),
                )
            })?;
        classes.push(Opaque::from(class));
    }
    let _ = CLASSES.set(classes);
    let types = ruby.hash_new();
    for (name, value) in error_types::ALL {
        types.aset(ruby.to_symbol(name.to_ascii_lowercase()), *value)?;
    }
    types.freeze();
    native.const_set("ERROR_TYPES", types)
}

fn class(ruby: &Ruby, kind: ErrorKind) -> ExceptionClass {
    CLASSES
        .get()
        .and_then(|c| c.get(kind.index()))
        .map_or_else(|| ruby.exception_runtime_error(), |c| ruby.get_inner(*c))
}

/// Converts a core error into its Ruby exception.
pub(crate) fn to_ruby(ruby: &Ruby, e: TaskerError) -> Error {
    exception(ruby, e.kind(), &e.to_string())
}

/// A `TaskerCore::ConversionError`.
pub(crate) fn conversion(ruby: &Ruby, msg: &str) -> Error {
    exception(ruby, ErrorKind::Conversion, msg)
}

/// A `TaskerCore::InternalError`.
pub(crate) fn internal(ruby: &Ruby, msg: &str) -> Error {
    exception(ruby, ErrorKind::Internal, msg)
}

/// The exception instance, made now rather than when magnus raises it: making it runs Ruby
/// code, which a thread being killed (Ruby exiting while a handler thread waits on the
/// bridge) answers with a non-local jump. magnus cannot turn that jump into an exception
/// at raise time and aborts the process; returned from here, it is resumed, and the thread
/// ends as Ruby asked.
fn exception(ruby: &Ruby, kind: ErrorKind, msg: &str) -> Error {
    match class(ruby, kind).new_instance((ruby.str_new(msg),)) {
        Ok(e) => Error::from(e),
        Err(jump) => jump,
    }
}
