//! Releasing the GVL around blocking Rust calls, and keeping panics out of Ruby.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use magnus::{Error, Ruby};

struct Call<F, R> {
    f: Option<F>,
    out: Option<std::thread::Result<R>>,
}

unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the `Call` that `without_gvl` passed, alive for this call.
    let call = unsafe { &mut *data.cast::<Call<F, R>>() };
    if let Some(f) = call.f.take() {
        // A panic must not unwind into Ruby's C frames: keep it and re-raise it with the
        // GVL held, where `guard` turns it into a Ruby exception.
        call.out = Some(catch_unwind(AssertUnwindSafe(f)));
    }
    std::ptr::null_mut()
}

/// Runs `f` with the GVL released, so other Ruby threads run meanwhile. `f` must not touch
/// any Ruby object.
///
/// `rb_thread_call_without_gvl` checks for interrupts (Ctrl-C, `Thread#raise`) around the
/// call and raises them with a longjmp, straight over our Rust frames: their destructors
/// never run (a task's run would leak instead of being cancelled). The `2` variant only
/// reports an interrupt, by not running `f`; it is then raised here as an `Err`, through
/// `thread_check_ints`, so every Rust frame unwinds normally.
pub(crate) fn without_gvl<F: FnOnce() -> R, R>(ruby: &Ruby, f: F) -> Result<R, Error> {
    let mut call = Call {
        f: Some(f),
        out: None,
    };
    loop {
        // SAFETY: the trampoline matches the data pointer's type; no unblocking function is
        // given, so callers keep each blocking call short (they wait in slices).
        unsafe {
            rb_sys::rb_thread_call_without_gvl2(
                Some(trampoline::<F, R>),
                (&raw mut call).cast::<c_void>(),
                None,
                std::ptr::null_mut(),
            );
        }
        match call.out.take() {
            Some(Ok(r)) => return Ok(r),
            Some(Err(panic)) => resume_unwind(panic),
            // Interrupted before `f` ran: raise the interrupt as an `Err`; if it was handled
            // without an exception (a trap handler), `f` is still there to run.
            None => ruby.thread_check_ints()?,
        }
    }
}

/// Runs a binding body, turning a Rust panic into `TaskerCore::InternalError` instead of
/// magnus's `fatal`, which would end the Ruby process.
pub(crate) fn guard<T>(ruby: &Ruby, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = tasker_shared::panic_message(&*panic);
            Err(crate::errors::internal(
                ruby,
                &format!("Rust panic in tasker-core: {msg}"),
            ))
        }
    }
}

/// The blocking-host protocol for Ruby: waits release the GVL, interrupts are Ruby's
/// (`Thread#raise`, Ctrl-C, trap handlers), errors become `TaskerCore` exceptions.
pub(crate) struct RubyHost<'a>(pub(crate) &'a Ruby);

impl tasker_worker::BlockingHost for RubyHost<'_> {
    type Error = Error;

    fn without_lock<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R, Error> {
        without_gvl(self.0, f)
    }

    fn check_interrupts(&self) -> Result<(), Error> {
        self.0.thread_check_ints()
    }

    fn error(&self, e: tasker_shared::TaskerError) -> Error {
        crate::errors::to_ruby(self.0, e)
    }
}
