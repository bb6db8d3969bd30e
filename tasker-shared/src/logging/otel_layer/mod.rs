//! The tracing Layer that turns our spans into OpenTelemetry spans.
//!
//! tracing-opentelemetry, which this replaces, builds every span twice (a `SpanBuilder`,
//! then an SDK span when the span is first entered), attaches an OpenTelemetry `Context` on
//! every enter and detaches it on every exit, stamps `level` and `target` on every event,
//! and ends each span through the SDK's span machinery. For the spans a worker makes (a few
//! per step, each entered many times by the futures they instrument) that was most of what
//! telemetry cost a step, above all in wasm, where every one of those steps is a call into
//! a slower allocator and clock.
//!
//! Here a span is one [`Record`] in the registry's extensions: its parent, attributes,
//! events and links as the SDK's own types, so that the [`SpanData`] made when it closes is
//! a move, not a copy, and goes straight to the late-bound processor (which buffers before
//! phase 2, or hands it to the export pipeline). Ids and the sampling decision are fixed
//! lazily, the first time anything needs them (a child, `span_ids`, a log line's trace id,
//! or the close), so that [`set_parent`] can still move a span into a remote trace after it
//! was created, as the host round trip does. While telemetry is off nothing but the ids is
//! kept: no attributes, no events.

mod fields;
mod record;

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::late_bound::{LateBound, LateBoundProcessor, LateBoundSampler};
use fields::{EventFields, Visitor};
use record::RecordFn;
pub(crate) use record::{Record, WithRecord, add_link, set_parent, span_context};

/// As the SDK's default span limits: a span that records more keeps the first ones and
/// counts the rest.
const MAX_EVENTS: usize = 128;
const MAX_ATTRIBUTES: usize = 128;

/// What every span of the layer shares: where ended spans go and how they are sampled.
pub(crate) struct Pipeline {
    pub(crate) late: Arc<LateBound>,
    pub(crate) sampler: LateBoundSampler,
    pub(crate) scope: InstrumentationScope,
}

pub(crate) struct OtelLayer<S> {
    pipeline: Arc<Pipeline>,
    access: WithRecord,
    _subscriber: PhantomData<fn(S)>,
}

impl<S> OtelLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    pub(crate) fn new(late: Arc<LateBound>, sampler: LateBoundSampler) -> Self {
        Self {
            pipeline: Arc::new(Pipeline {
                late,
                sampler,
                scope: InstrumentationScope::builder("tasker-core").build(),
            }),
            access: WithRecord(Self::access),
            _subscriber: PhantomData,
        }
    }

    fn access(dispatch: &Dispatch, id: &Id, f: &mut RecordFn<'_>) {
        let (Some(subscriber), Some(layer)) = (
            dispatch.downcast_ref::<S>(),
            dispatch.downcast_ref::<OtelLayer<S>>(),
        ) else {
            return;
        };
        if let Some(span) = subscriber.span(id) {
            if let Some(record) = span.extensions_mut().get_mut::<Record>() {
                f(record, &layer.pipeline);
            }
        }
    }

    fn context_of(&self, id: &Id, ctx: &Context<'_, S>) -> Option<SpanContext> {
        let span = ctx.span(id)?;
        let mut ext = span.extensions_mut();
        ext.get_mut::<Record>().map(|r| r.start(&self.pipeline))
    }
}

impl<S> tracing_subscriber::Layer<S> for OtelLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = if let Some(p) = attrs.parent() {
            self.context_of(p, &ctx)
        } else if attrs.is_contextual() {
            match ctx.lookup_current() {
                Some(p) => self.context_of(&p.id(), &ctx),
                // No span of ours is current: an OpenTelemetry context the caller attached
                // (a Rust user's own OTel span) is the parent.
                None => opentelemetry::Context::map_current(|cx| {
                    use opentelemetry::trace::TraceContextExt;
                    let sc = cx.span().span_context().clone();
                    sc.is_valid().then_some(sc)
                }),
            }
        } else {
            None
        };
        let mut record = Record {
            name: attrs.metadata().name(),
            start: now(),
            parent,
            context: None,
            recording: false,
            attributes: Vec::new(),
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            status: Status::Unset,
        };
        if self.pipeline.late.is_recording() {
            record.attributes.reserve_exact(attrs.fields().len());
            attrs.record(&mut Visitor(&mut record));
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(record);
        }
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(record) = span.extensions_mut().get_mut::<Record>() {
                if record.keeps() {
                    values.record(&mut Visitor(record));
                }
            }
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        if let Some(to) = self.context_of(follows, &ctx) {
            if let Some(span) = ctx.span(id) {
                if let Some(record) = span.extensions_mut().get_mut::<Record>() {
                    if record.keeps() {
                        record.links.push(Link::with_context(to));
                    }
                }
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if !self.pipeline.late.is_recording() {
            return;
        }
        let span = match event.parent() {
            Some(p) => ctx.span(p),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let Some(span) = span else { return };
        let mut ext = span.extensions_mut();
        let Some(record) = ext.get_mut::<Record>() else {
            return;
        };
        if !record.keeps() {
            return;
        }
        if record.events.len() >= MAX_EVENTS {
            record.dropped_events += 1;
            return;
        }
        let meta = event.metadata();
        let mut fields = EventFields {
            name: None,
            attributes: Vec::with_capacity(meta.fields().len()),
        };
        fields
            .attributes
            .push(KeyValue::new("level", meta.level().as_str()));
        event.record(&mut Visitor(&mut fields));
        if *meta.level() == tracing::Level::ERROR && record.status == Status::Unset {
            record.status = Status::error("");
        }
        record.events.push(Event::new(
            fields.name.map_or(Cow::Borrowed(meta.name()), Cow::Owned),
            now(),
            fields.attributes,
            0,
        ));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut record) = span.extensions_mut().remove::<Record>() else {
            return;
        };
        let cx = record.start(&self.pipeline);
        if !record.recording {
            return;
        }
        let parent = record.parent.take();
        LateBoundProcessor(self.pipeline.late.clone()).on_end(SpanData {
            span_context: cx,
            parent_span_id: parent
                .as_ref()
                .map_or(opentelemetry::trace::SpanId::INVALID, SpanContext::span_id),
            parent_span_is_remote: parent.as_ref().is_some_and(SpanContext::is_remote),
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(record.name),
            start_time: record.start,
            end_time: now(),
            attributes: record.attributes,
            dropped_attributes_count: record.dropped_attributes,
            events: {
                let mut events = SpanEvents::default();
                events.events = record.events;
                events.dropped_count = record.dropped_events;
                events
            },
            links: {
                let mut links = SpanLinks::default();
                links.links = record.links;
                links
            },
            status: record.status,
            instrumentation_scope: self.pipeline.scope.clone(),
        });
    }

    // SAFETY: each pointer handed out points into `self`, which outlives the dispatch that
    // asks for it, and has the type asked for.
    unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
        if id == std::any::TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == std::any::TypeId::of::<WithRecord>() {
            Some(&self.access as *const WithRecord as *const ())
        } else {
            None
        }
    }
}

fn now() -> SystemTime {
    std::time::UNIX_EPOCH + crate::time::now_since_epoch()
}
