//! Spans waiting to be sent, held as their encoded bytes: what both span pipelines queue.
//!
//! A `SpanData` is a tree of small allocations (attribute strings, events, links); its
//! encoding is a few hundred bytes in one buffer. Encoding a span when it ends and dropping
//! it there keeps a backed-up queue small (the wasm worker's memory only ever grows to its
//! high-water mark) and leaves the sender nothing to free.

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

/// The two OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf` (`http/protobuf`).
    Protobuf,
    /// `application/json` (`http/json`).
    Json,
}

impl Encoding {
    /// The content type of a request in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => super::PROTOBUF_CONTENT_TYPE,
            Encoding::Json => super::JSON_CONTENT_TYPE,
        }
    }

    /// Writes one span into `out` (cleared first), ready for [`SpanBuffer::append`].
    pub fn encode_span(self, span: &SpanData, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Encoding::Protobuf => super::encode_span_protobuf(span, out),
            Encoding::Json => {
                let mut text = String::with_capacity(768);
                super::encode_span_json(span, &mut text);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
}

/// Encoded spans, one run per instrumentation scope (a batch has one or two), framed into
/// one request by [`SpanBuffer::frame`].
#[derive(Debug)]
pub struct SpanBuffer {
    encoding: Encoding,
    scopes: Vec<(InstrumentationScope, Vec<u8>)>,
    spans: usize,
}

impl SpanBuffer {
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoding,
            scopes: Vec::new(),
            spans: 0,
        }
    }

    /// Spans held.
    pub fn len(&self) -> usize {
        self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }

    /// Encodes `span` and holds it.
    pub fn push(&mut self, span: &SpanData) {
        let mut encoded = Vec::new();
        self.encoding.encode_span(span, &mut encoded);
        self.append(&span.instrumentation_scope, &encoded);
    }

    /// Holds one span that [`Encoding::encode_span`] wrote, under its scope.
    pub fn append(&mut self, scope: &InstrumentationScope, encoded: &[u8]) {
        let at = match self.scopes.iter().position(|(s, _)| s == scope) {
            Some(i) => i,
            None => {
                self.scopes.push((scope.clone(), Vec::new()));
                self.scopes.len() - 1
            }
        };
        let run = &mut self.scopes[at].1;
        if self.encoding == Encoding::Json && !run.is_empty() {
            run.push(b',');
        }
        run.extend_from_slice(encoded);
        self.spans += 1;
    }

    /// The whole request for the spans held, under `resource`.
    pub fn frame(&self, resource: &Resource) -> Vec<u8> {
        match self.encoding {
            Encoding::Protobuf => {
                let scopes: Vec<(&InstrumentationScope, &[u8])> = self
                    .scopes
                    .iter()
                    .map(|(scope, run)| (scope, run.as_slice()))
                    .collect();
                super::frame_protobuf(resource, &scopes, Vec::new())
            }
            Encoding::Json => self.json(resource).into_bytes(),
        }
    }

    /// The request as OTLP/JSON text, when this buffer holds JSON.
    pub fn frame_text(&self, resource: &Resource) -> Option<String> {
        (self.encoding == Encoding::Json).then(|| self.json(resource))
    }

    fn json(&self, resource: &Resource) -> String {
        // Every run was written by the JSON encoder, so it is UTF-8 (borrowed, not copied).
        let runs: Vec<(&InstrumentationScope, std::borrow::Cow<'_, str>)> = self
            .scopes
            .iter()
            .map(|(scope, run)| (scope, String::from_utf8_lossy(run)))
            .collect();
        let scopes: Vec<(&InstrumentationScope, &str)> = runs
            .iter()
            .map(|(scope, run)| (*scope, run.as_ref()))
            .collect();
        super::frame_json(resource, &scopes)
    }
}
