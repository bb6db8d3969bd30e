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

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{Event, Link, SpanContext, SpanKind, Status, TraceFlags};
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{
    IdGenerator, SamplingDecision, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::late_bound::{LateBound, LateBoundProcessor, LateBoundSampler};
use crate::ids::ForkSafeIdGenerator;

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

/// One span, from its creation to its close.
pub(crate) struct Record {
    name: &'static str,
    start: SystemTime,
    /// The parent's context; `set_parent` replaces it until the ids are fixed.
    parent: Option<SpanContext>,
    /// The span's own context, once its ids and sampling decision are fixed.
    context: Option<SpanContext>,
    /// Whether the span is kept (sampled, or recorded without sampling).
    recording: bool,
    attributes: Vec<KeyValue>,
    dropped_attributes: u32,
    events: Vec<Event>,
    dropped_events: u32,
    links: Vec<Link>,
    status: Status,
}

impl Record {
    /// The span's context, fixing its ids and sampling decision the first time.
    fn start(&mut self, pipeline: &Pipeline) -> SpanContext {
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
    fn keeps(&self) -> bool {
        self.context.is_none() || self.recording
    }
}

/// Reaches a span's [`Record`] through a `Dispatch`, without knowing the subscriber's type
/// (the layer's `downcast_raw` hands out a pointer to this function).
#[derive(Clone, Copy)]
pub(crate) struct WithRecord(fn(&Dispatch, &Id, &mut RecordFn<'_>));

type RecordFn<'a> = dyn FnMut(&mut Record, &Pipeline) + 'a;

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
            attrs.record(&mut Fields(&mut record));
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(record);
        }
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(record) = span.extensions_mut().get_mut::<Record>() {
                if record.keeps() {
                    values.record(&mut Fields(record));
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
        event.record(&mut fields);
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

/// A span's fields, as OTel attributes.
struct Fields<'a>(&'a mut Record);

impl Fields<'_> {
    fn push(&mut self, field: &Field, value: Value) {
        if self.0.attributes.len() >= MAX_ATTRIBUTES {
            self.0.dropped_attributes += 1;
            return;
        }
        self.0
            .attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, u64_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::String(StringValue::from(value.to_owned())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::String(debug_text(value).into()));
    }
}

/// An event's fields: its message names it, the rest are attributes.
struct EventFields {
    name: Option<String>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: Value) {
        if self.attributes.len() < MAX_ATTRIBUTES {
            self.attributes
                .push(KeyValue::new(Key::from_static_str(field.name()), value));
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, u64_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(value.to_owned());
        } else {
            self.push(field, Value::String(StringValue::from(value.to_owned())));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = debug_text(value);
        if field.name() == "message" {
            self.name = Some(text);
        } else {
            self.push(field, Value::String(text.into()));
        }
    }
}

/// A field's text. `format!` cannot estimate the length of a lone `{:?}` and grows its
/// string from nothing (four reallocations for a UUID); most of our values are UUIDs and
/// names, which fit here at once.
fn debug_text(value: &dyn fmt::Debug) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(40);
    let _ = write!(text, "{value:?}");
    text
}

fn now() -> SystemTime {
    std::time::UNIX_EPOCH + crate::time::now_since_epoch()
}

/// OTLP has no unsigned integer: one beyond `i64` is kept as its decimal text.
fn u64_value(v: u64) -> Value {
    i64::try_from(v).map_or_else(|_| Value::String(v.to_string().into()), Value::I64)
}
