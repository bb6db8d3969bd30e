//! A span's record, and the ways in from a `tracing::Span` (`trace_context` reaches it
//! through the dispatch, without knowing the subscriber's type).

use opentelemetry::KeyValue;
use opentelemetry::trace::{Event, Link, SpanContext, Status, TraceFlags};
use opentelemetry_sdk::trace::{IdGenerator, SamplingDecision};
use std::time::SystemTime;
use tracing::Dispatch;
use tracing::span::Id;

use super::Pipeline;
use crate::ids::ForkSafeIdGenerator;

/// One span, from its creation to its close.
pub(crate) struct Record {
    pub(super) name: &'static str,
    pub(super) start: SystemTime,
    /// The parent's context; `set_parent` replaces it until the ids are fixed.
    pub(super) parent: Option<SpanContext>,
    /// The span's own context, once its ids and sampling decision are fixed.
    pub(super) context: Option<SpanContext>,
    /// Whether the span is kept (sampled, or recorded without sampling).
    pub(super) recording: bool,
    pub(super) attributes: Vec<KeyValue>,
    pub(super) dropped_attributes: u32,
    pub(super) events: Vec<Event>,
    pub(super) dropped_events: u32,
    pub(super) links: Vec<Link>,
    pub(super) status: Status,
}

impl Record {
    /// The span's context, fixing its ids and sampling decision the first time.
    pub(super) fn start(&mut self, pipeline: &Pipeline) -> SpanContext {
        if let Some(cx) = &self.context {
            return cx.clone();
        }
        let trace_id = match &self.parent {
            Some(p) => p.trace_id(),
            None => ForkSafeIdGenerator.new_trace_id(),
        };
        let sampled = pipeline.sampler.decide(
            self.parent.as_ref(),
            trace_id,
            self.name,
            &self.attributes,
            &self.links,
        );
        let decision = sampled.decision;
        let flags = match decision {
            SamplingDecision::RecordAndSample => TraceFlags::SAMPLED,
            _ => TraceFlags::default(),
        };
        self.recording = decision != SamplingDecision::Drop;
        if !self.recording {
            self.attributes = Vec::new();
            self.links = Vec::new();
        } else {
            self.attributes.extend(sampled.attributes);
        }
        let cx = SpanContext::new(
            trace_id,
            ForkSafeIdGenerator.new_span_id(),
            flags,
            false,
            sampled.trace_state,
        );
        self.context = Some(cx.clone());
        cx
    }

    /// Whether attributes and events are still worth keeping.
    pub(super) fn keeps(&self) -> bool {
        self.context.is_none() || self.recording
    }
}

/// Reaches a span's [`Record`] through a `Dispatch`, without knowing the subscriber's type
/// (the layer's `downcast_raw` hands out a pointer to this function).
#[derive(Clone, Copy)]
pub(crate) struct WithRecord(pub(super) fn(&Dispatch, &Id, &mut RecordFn<'_>));

pub(super) type RecordFn<'a> = dyn FnMut(&mut Record, &Pipeline) + 'a;

/// Runs `f` on the record of span `id` under the global subscriber; `None` when the span
/// is not ours (disabled, closed, or another subscriber's).
pub(crate) fn with_record<T>(
    dispatch: &Dispatch,
    id: &Id,
    f: impl FnOnce(&mut Record, &Pipeline) -> T,
) -> Option<T> {
    let access = dispatch.downcast_ref::<WithRecord>()?;
    let mut f = Some(f);
    let mut out = None;
    (access.0)(dispatch, id, &mut |record, pipeline| {
        if let Some(f) = f.take() {
            out = Some(f(record, pipeline));
        }
    });
    out
}

/// The context of span `id`, fixing its ids if they are not yet.
pub(crate) fn span_context(dispatch: &Dispatch, id: &Id) -> Option<SpanContext> {
    with_record(dispatch, id, |record, pipeline| record.start(pipeline))
}

/// Makes `parent` the parent of span `id`. Refused once the span's ids are fixed.
pub(crate) fn set_parent(
    dispatch: &Dispatch,
    id: &Id,
    parent: Option<SpanContext>,
) -> Result<(), &'static str> {
    with_record(dispatch, id, |record, _| {
        if record.context.is_some() {
            return Err("its ids were already read, so its parent is fixed");
        }
        record.parent = parent;
        Ok(())
    })
    .unwrap_or(Ok(()))
}

/// Adds a link from span `id` to `to`.
pub(crate) fn add_link(dispatch: &Dispatch, id: &Id, to: SpanContext) {
    with_record(dispatch, id, |record, _| {
        if record.keeps() && to.is_valid() {
            record.links.push(Link::with_context(to));
        }
    });
}
