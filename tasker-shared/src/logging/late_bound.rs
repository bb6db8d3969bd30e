//! The late-bound span processor and sampler that make "upgrade without restart" work.
//!
//! The OpenTelemetry layer has to be part of the global subscriber from phase 1 on: swapping
//! it in later through `tracing_subscriber::reload` breaks parent propagation
//! (tracing-opentelemetry #121). So phase 1 installs the layer over a tracer provider whose
//! only processor and sampler are these two slots, and phase 2 fills them with a real
//! exporter pipeline. Until then, spans still get real trace and span ids (the host round
//! trip needs them) and, when `TELEMETRY_ENABLED=true`, their data is kept in a bounded buffer
//! that phase 2 replays into the exporter, so nothing made before bootstrap is lost.

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue, trace::TraceContextExt};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, ShouldSample, Span, SpanData, SpanProcessor,
};

/// How many ended spans phase 1 keeps for phase 2 before it starts dropping the oldest.
pub(crate) const PRE_BOOTSTRAP_BUFFER: usize = 4096;

enum Slot {
    /// Telemetry is off: ended spans go nowhere.
    Idle,
    /// Export is deferred to phase 2: ended spans wait here.
    Buffering(VecDeque<SpanData>),
    /// Phase 2 attached a real pipeline.
    Active(Arc<dyn SpanProcessor>),
}

/// Shared control side of the slot; the provider owns a [`LateBoundProcessor`] over it.
pub(crate) struct LateBound {
    slot: RwLock<Slot>,
    dropped: std::sync::atomic::AtomicU64,
    /// Whether ended spans go anywhere (buffering or active): read on every event, so it
    /// is an atomic beside the lock rather than a look under it.
    recording: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for LateBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LateBound")
            .field("state", &self.state_name())
            .finish()
    }
}

impl LateBound {
    pub(crate) fn new(buffering: bool) -> Arc<Self> {
        Arc::new(Self {
            slot: RwLock::new(if buffering {
                Slot::Buffering(VecDeque::new())
            } else {
                Slot::Idle
            }),
            dropped: 0.into(),
            recording: buffering.into(),
        })
    }

    /// False while telemetry is off: span events would be built only to be thrown away.
    pub(crate) fn is_recording(&self) -> bool {
        self.recording.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn state_name(&self) -> &'static str {
        match &*self.slot.read().unwrap_or_else(PoisonError::into_inner) {
            Slot::Idle => "idle",
            Slot::Buffering(_) => "buffering",
            Slot::Active(_) => "active",
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        matches!(
            &*self.slot.read().unwrap_or_else(PoisonError::into_inner),
            Slot::Active(_)
        )
    }

    /// Installs `processor` and replays the spans buffered before it. Returns the pipeline it
    /// replaced, if any, and how many buffered spans were replayed.
    pub(crate) fn attach(
        &self,
        processor: Arc<dyn SpanProcessor>,
    ) -> (Option<Arc<dyn SpanProcessor>>, usize) {
        let mut slot = self.slot.write().unwrap_or_else(PoisonError::into_inner);
        self.recording
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let previous = std::mem::replace(&mut *slot, Slot::Active(processor.clone()));
        match previous {
            Slot::Buffering(spans) => {
                let n = spans.len();
                for span in spans {
                    processor.on_end(span);
                }
                (None, n)
            }
            Slot::Active(old) => (Some(old), 0),
            Slot::Idle => (None, 0),
        }
    }

    /// Empties the slot: telemetry off, buffered spans discarded. Returns the pipeline that
    /// was active, for the caller to flush or abandon.
    pub(crate) fn detach(&self) -> Option<Arc<dyn SpanProcessor>> {
        let mut slot = self.slot.write().unwrap_or_else(PoisonError::into_inner);
        self.recording
            .store(false, std::sync::atomic::Ordering::Relaxed);
        match std::mem::replace(&mut *slot, Slot::Idle) {
            Slot::Active(p) => Some(p),
            _ => None,
        }
    }

    pub(crate) fn active(&self) -> Option<Arc<dyn SpanProcessor>> {
        match &*self.slot.read().unwrap_or_else(PoisonError::into_inner) {
            Slot::Active(p) => Some(p.clone()),
            _ => None,
        }
    }

    pub(crate) fn dropped_before_bootstrap(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The [`SpanProcessor`] registered with the provider in phase 1.
#[derive(Debug)]
pub(crate) struct LateBoundProcessor(pub(crate) Arc<LateBound>);

impl SpanProcessor for LateBoundProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Slot::Active(p) = &*self.0.slot.read().unwrap_or_else(PoisonError::into_inner) {
            p.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        let guard = self.0.slot.read().unwrap_or_else(PoisonError::into_inner);
        match &*guard {
            Slot::Active(p) => p.on_end(span),
            Slot::Idle => {}
            Slot::Buffering(_) => {
                drop(guard);
                let mut slot = self.0.slot.write().unwrap_or_else(PoisonError::into_inner);
                match &mut *slot {
                    Slot::Buffering(spans) => {
                        if spans.len() >= PRE_BOOTSTRAP_BUFFER {
                            spans.pop_front();
                            self.0
                                .dropped
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        spans.push_back(span);
                    }
                    // Phase 2 attached between our two locks.
                    Slot::Active(p) => p.on_end(span),
                    Slot::Idle => {}
                }
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self.0.active() {
            Some(p) => p.force_flush(),
            None => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self.0.detach() {
            Some(p) => p.shutdown_with_timeout(timeout),
            None => Ok(()),
        }
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // The phase-2 pipeline gets its own resource when it is attached.
    }
}

/// The sampler registered with the provider in phase 1. While no sampler is set, spans keep
/// real ids but are not sampled: with nothing to export to, recording them is waste.
#[derive(Debug, Clone, Default)]
pub(crate) struct LateBoundSampler(Arc<RwLock<Option<Sampler>>>);

impl LateBoundSampler {
    pub(crate) fn set(&self, sampler: Option<Sampler>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = sampler;
    }

    /// The decision for a new span of ours, with the trace state it carries and any
    /// attributes the sampler adds. A parent context is built only when a sampler is set:
    /// while telemetry is off, every span is dropped.
    pub(crate) fn decide(
        &self,
        parent: Option<&opentelemetry::trace::SpanContext>,
        trace_id: TraceId,
        name: &str,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        match &*self.0.read().unwrap_or_else(PoisonError::into_inner) {
            Some(s) => {
                let cx = parent.map(|p| Context::new().with_remote_span_context(p.clone()));
                s.should_sample(
                    cx.as_ref(),
                    trace_id,
                    name,
                    &SpanKind::Internal,
                    attributes,
                    links,
                )
            }
            None => SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: parent.map(|p| p.trace_state().clone()).unwrap_or_default(),
            },
        }
    }
}

impl ShouldSample for LateBoundSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        match &*self.0.read().unwrap_or_else(PoisonError::into_inner) {
            Some(s) => {
                s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
            }
            None => SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: parent_context
                    .filter(|cx| cx.has_active_span())
                    .map(|cx| cx.span().span_context().trace_state().clone())
                    .unwrap_or_default(),
            },
        }
    }
}

/// Maps an SDK error into a short, human-readable reason.
pub(crate) fn describe(err: &OTelSdkError) -> String {
    match err {
        OTelSdkError::AlreadyShutdown => "already shut down".to_owned(),
        OTelSdkError::Timeout(d) => format!("timed out after {} ms", d.as_millis()),
        OTelSdkError::InternalFailure(m) => m.clone(),
    }
}

/// The OpenTelemetry layer's event filter: span events are recorded only while spans go
/// somewhere. Spans themselves always pass, because their ids cross the FFI boundary whether
/// or not anything is exported.
pub(crate) struct EventsWhileRecording(pub(crate) Arc<LateBound>);

impl<S> tracing_subscriber::layer::Filter<S> for EventsWhileRecording {
    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _cx: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        !meta.is_event() || self.0.is_recording()
    }

    fn callsite_enabled(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if meta.is_event() {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::always()
        }
    }
}
