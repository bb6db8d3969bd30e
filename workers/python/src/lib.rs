//! `tasker_core._tasker_core`: the private native module behind the `tasker_core` package.
//! It only converts and delegates to `tasker-worker`; the Python API lives in
//! `python/tasker_core/`.
//!
//! Phase 1 of telemetry runs in the module's init, so console logging works from `import`;
//! phase 2 runs in `bootstrap.rs` inside the worker's runtime.

mod bootstrap;
mod bridge;
mod client;
mod conversions;
mod errors;
mod ffi_logging;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_tasker_core")]
fn tasker_core_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    ffi_logging::init_ffi_logger();
    errors::register(m)?;
    ffi_logging::register(m)?;
    bootstrap::register(m)?;
    client::register(m)?;
    m.add_function(wrap_pyfunction!(bridge::ffi_floor, m)?)?;
    Ok(())
}
