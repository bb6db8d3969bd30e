//! OTLP trace requests written straight from the SDK's `SpanData`, for every exporter we own.
//!
//! Why our own encoder: the export thread, not the worker, was what lost spans under load.
//! opentelemetry-otlp converts each batch into a second tree of opentelemetry-proto structs
//! before prost writes it, and on wasm32 the JSON exporter built a `serde_json::Value` tree.
//! Both encoders here write the wire format in one pass over the spans, need nothing but the
//! SDK's types (so they compile for wasm32 and keep the web bundle small), and are checked
//! against opentelemetry-proto's own conversion in `tests/otlp_encoding.rs`.
//!
//! * [`encode_protobuf`]: `application/x-protobuf`, the native HTTP exporter's and the wasm
//!   exporter's default (`http/protobuf`).
//! * [`encode_json`]: `application/json` (`http/json`), and what a JS exporter callback gets.
//! * [`SpanBuffer`]: spans held as their encoding until a batch is sent (both pipelines).
//! * `encode_span_*` and `frame_*`: the same, one span at a time as spans end (the native
//!   export pipeline encodes on the thread that ended the span) and framed per batch.

mod buffer;
mod json;
mod protobuf;
mod traces;

pub use buffer::{Encoding, SpanBuffer};
pub use json::{encode_json, encode_span_json, frame_json};
pub use traces::{encode_protobuf, encode_span_protobuf, frame_protobuf};

/// The content type of [`encode_protobuf`]'s output.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";
/// The content type of [`encode_json`]'s output.
pub const JSON_CONTENT_TYPE: &str = "application/json";
