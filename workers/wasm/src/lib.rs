//! tasker-core for JavaScript. The sans-IO workflow machine from `tasker-shared`, driven by
//! the JS event loop instead of Tokio; handlers are async JS functions run as concurrent
//! promises. Bindings only convert and delegate.
//!
//! Phase 1 of telemetry is the module's start function: console logging to stderr in Node
//! (`console.log` in a browser), with TELEMETRY_ENABLED read from `globalThis` (and `process.env` in Node).
//! Phase 2 is `bootstrapWorker`, which attaches an OTLP exporter (node:http in Node, fetch in a
//! browser, or a callback).

#[cfg(any(target_arch = "wasm32", test))]
mod alloc;
mod bootstrap;
mod bridge;
mod conversions;
mod driver;
mod errors;
mod exporter;
mod ffi_logging;
mod node;
mod otel;
mod post;
mod report;
mod types;

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!("alloc::CachingAlloc has no lock: it needs wasm32 without threads");

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: alloc::CachingAlloc = alloc::CachingAlloc;

pub use bootstrap::{WasmWorker, bootstrap_worker};
pub use bridge::register_handler;
pub use errors::WasmError;
