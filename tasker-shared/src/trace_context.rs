//! W3C trace context, and the ids that cross the FFI boundary.
//!
//! A host handler sees its step's trace only as strings (`trace_id`, `span_id`,
//! `traceparent`) and hands strings back with its completion. This module turns the current
//! span into those strings, and turns returned strings back into an OpenTelemetry parent
//! context or a [`Link`], rejecting malformed input with an error that says what was wrong,
//! never a panic. Ids are real OTel ids (32 and 16 lowercase hex), not placeholders.

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};

/// Why a trace id, span id or traceparent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceContextError {
    #[error(
        "malformed traceparent {value:?}: {reason}; expected \"00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>\""
    )]
    Traceparent { value: String, reason: String },
    #[error("malformed trace_id {value:?}: {reason}")]
    TraceId { value: String, reason: String },
    #[error("malformed span_id {value:?}: {reason}")]
    SpanId { value: String, reason: String },
    #[error("cannot set the parent of span {span:?}: {reason}")]
    SetParent { span: String, reason: String },
}

/// A parsed W3C `traceparent` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub flags: TraceFlags,
}

impl TraceParent {
    /// Parses and validates a traceparent (W3C Trace Context level 1, version 00; later
    /// versions are read by their version-00 prefix, as the spec requires).
    pub fn parse(value: &str) -> Result<Self, TraceContextError> {
        let fail = |reason: &str| TraceContextError::Traceparent {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let v = value.trim();
        if v.len() < 55 {
            return Err(fail(&format!("it is {} characters long, not 55", v.len())));
        }
        let version = &v[..2];
        if !is_lower_hex(version) {
            return Err(fail("the version is not 2 lowercase hex digits"));
        }
        if version == "ff" {
            return Err(fail("version ff is forbidden"));
        }
        if version == "00" && v.len() != 55 {
            return Err(fail(&format!(
                "version 00 is 55 characters long, not {}",
                v.len()
            )));
        }
        if v.len() > 55 && v.as_bytes()[55] != b'-' {
            return Err(fail(
                "a future version must continue with '-' after the flags",
            ));
        }
        let b = v.as_bytes();
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return Err(fail(
                "the fields are not separated by '-' at the right places",
            ));
        }
        let (trace, span, flags) = (&v[3..35], &v[36..52], &v[53..55]);
        if !is_lower_hex(trace) {
            return Err(fail("the trace-id is not 32 lowercase hex digits"));
        }
        if !is_lower_hex(span) {
            return Err(fail("the parent-id is not 16 lowercase hex digits"));
        }
        if !is_lower_hex(flags) {
            return Err(fail("the flags are not 2 lowercase hex digits"));
        }
        let trace_id = TraceId::from_hex(trace).map_err(|_| fail("bad trace-id"))?;
        let span_id = SpanId::from_hex(span).map_err(|_| fail("bad parent-id"))?;
        if trace_id == TraceId::INVALID {
            return Err(fail("the trace-id is all zeros"));
        }
        if span_id == SpanId::INVALID {
            return Err(fail("the parent-id is all zeros"));
        }
        let flags = u8::from_str_radix(flags, 16).map_err(|_| fail("bad flags"))?;
        Ok(Self {
            trace_id,
            span_id,
            flags: TraceFlags::new(flags),
        })
    }

    /// The traceparent of a span context, if it is valid.
    pub fn from_span_context(sc: &SpanContext) -> Option<Self> {
        sc.is_valid().then(|| Self {
            trace_id: sc.trace_id(),
            span_id: sc.span_id(),
            flags: sc.trace_flags(),
        })
    }

    /// A remote span context for this traceparent.
    pub fn to_span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            true,
            TraceState::default(),
        )
    }

    /// An OpenTelemetry context whose active span is this (remote) parent.
    pub fn to_context(&self) -> Context {
        Context::new().with_remote_span_context(self.to_span_context())
    }

    /// Whether the sampled flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            self.flags.to_u8()
        )
    }
}

impl std::str::FromStr for TraceParent {
    type Err = TraceContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The ids of one span, as strings for a host: what a `StepExecutionEvent` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// `00-<trace_id>-<span_id>-<flags>`.
    pub traceparent: String,
}

impl TraceIds {
    fn of(sc: &SpanContext) -> Option<Self> {
        TraceParent::from_span_context(sc).map(|tp| Self {
            trace_id: tp.trace_id.to_string(),
            span_id: tp.span_id.to_string(),
            traceparent: tp.to_string(),
        })
    }
}

/// The real OTel ids of `span`, or `None` if it is disabled or not traced.
///
/// Reading the ids starts the OpenTelemetry span, so set its parent first.
pub fn span_ids(span: &tracing::Span) -> Option<TraceIds> {
    TraceIds::of(&span_context(span)?)
}

/// The OpenTelemetry span context of `span` (fixing its ids, as [`span_ids`] does), or `None`
/// if it is disabled or not recorded by this crate's subscriber.
pub fn span_context(span: &tracing::Span) -> Option<SpanContext> {
    span.with_subscriber(|(id, dispatch)| crate::logging::otel_layer::span_context(dispatch, id))
        .flatten()
        .filter(SpanContext::is_valid)
}

/// An OpenTelemetry [`Context`] whose span is `span`: what to attach, or to make a parent
/// of, for spans made with the OpenTelemetry API inside a handler (the tracing spans of a
/// handler nest by themselves). Empty when `span` is not traced.
pub fn otel_context(span: &tracing::Span) -> Context {
    span_context(span).map_or_else(Context::new, |sc| {
        Context::new().with_remote_span_context(sc)
    })
}

/// The real OTel ids of the current span.
pub fn current_ids() -> Option<TraceIds> {
    span_ids(&tracing::Span::current())
}

/// Parses a 32-hex trace id returned by a host (any case; not all zeros).
pub fn parse_trace_id(value: &str) -> Result<TraceId, TraceContextError> {
    let fail = |reason: &str| TraceContextError::TraceId {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let v = value.trim();
    if v.len() != 32 || !v.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(fail("expected 32 hex digits"));
    }
    match TraceId::from_hex(v) {
        Ok(id) if id != TraceId::INVALID => Ok(id),
        Ok(_) => Err(fail("it is all zeros")),
        Err(_) => Err(fail("expected 32 hex digits")),
    }
}

/// Parses a 16-hex span id returned by a host (any case; not all zeros).
pub fn parse_span_id(value: &str) -> Result<SpanId, TraceContextError> {
    let fail = |reason: &str| TraceContextError::SpanId {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let v = value.trim();
    if v.len() != 16 || !v.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(fail("expected 16 hex digits"));
    }
    match SpanId::from_hex(v) {
        Ok(id) if id != SpanId::INVALID => Ok(id),
        Ok(_) => Err(fail("it is all zeros")),
        Err(_) => Err(fail("expected 16 hex digits")),
    }
}

/// A remote, sampled span context from a host's opaque `trace_id` / `span_id` strings.
pub fn remote_span_context(
    trace_id: &str,
    span_id: &str,
) -> Result<SpanContext, TraceContextError> {
    Ok(SpanContext::new(
        parse_trace_id(trace_id)?,
        parse_span_id(span_id)?,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// A parent context from a host's `trace_id` / `span_id` strings.
pub fn parent_context(trace_id: &str, span_id: &str) -> Result<Context, TraceContextError> {
    Ok(Context::new().with_remote_span_context(remote_span_context(trace_id, span_id)?))
}

/// A parent context from a traceparent string.
pub fn parent_from_traceparent(traceparent: &str) -> Result<Context, TraceContextError> {
    Ok(TraceParent::parse(traceparent)?.to_context())
}

/// An OTel [`Link`] to the span a host's `trace_id` / `span_id` strings name.
pub fn link(trace_id: &str, span_id: &str) -> Result<Link, TraceContextError> {
    Ok(Link::with_context(remote_span_context(trace_id, span_id)?))
}

/// Makes `parent` the OpenTelemetry parent of `span`. Call before the span is entered or its
/// ids are read; afterwards its parent is fixed.
pub fn set_parent(span: &tracing::Span, parent: Context) -> Result<(), TraceContextError> {
    let sc = parent.span().span_context().clone();
    let parent = sc.is_valid().then_some(sc);
    span.with_subscriber(|(id, dispatch)| {
        crate::logging::otel_layer::set_parent(dispatch, id, parent)
    })
    .unwrap_or(Ok(()))
    .map_err(|reason| TraceContextError::SetParent {
        span: span
            .metadata()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "<disabled>".to_owned()),
        reason: reason.to_owned(),
    })
}

/// Adds a link from `span` to the span context `to`.
pub fn add_link(span: &tracing::Span, to: SpanContext) {
    span.with_subscriber(|(id, dispatch)| crate::logging::otel_layer::add_link(dispatch, id, to));
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let tp = TraceParent::parse(TP).expect("valid");
        assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.span_id.to_string(), "00f067aa0ba902b7");
        assert!(tp.is_sampled());
        assert_eq!(tp.to_string(), TP);
        assert_eq!(TP.parse::<TraceParent>().expect("valid"), tp);
    }

    #[test]
    fn a_future_version_is_read_by_its_prefix() {
        let tp = TraceParent::parse(&format!("cc{}-what-comes-next", &TP[2..])).expect("valid");
        assert_eq!(tp.span_id.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn malformed_traceparents_get_a_clear_error() {
        let cases = [
            ("", "it is 0 characters long, not 55"),
            ("garbage", "it is 7 characters long, not 55"),
            (&TP.replace("00-4b", "ff-4b"), "version ff is forbidden"),
            (
                &format!("{TP}-x"),
                "version 00 is 55 characters long, not 57",
            ),
            (
                &TP.to_uppercase(),
                "the trace-id is not 32 lowercase hex digits",
            ),
            (
                &TP.replace("0e4736-", "0e4736_"),
                "the fields are not separated by '-' at the right places",
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "the trace-id is all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "the parent-id is all zeros",
            ),
            (
                &TP.replace("-01", "-zz"),
                "the flags are not 2 lowercase hex digits",
            ),
        ];
        for (input, reason) in cases {
            let err = TraceParent::parse(input).expect_err(input);
            assert_eq!(
                err,
                TraceContextError::Traceparent {
                    value: input.to_owned(),
                    reason: reason.to_owned()
                },
                "{input}"
            );
        }
        assert_eq!(
            TraceParent::parse("nope").expect_err("bad").to_string(),
            "malformed traceparent \"nope\": it is 4 characters long, not 55; expected \"00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>\""
        );
    }

    #[test]
    fn host_ids_are_validated() {
        assert!(parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736").is_ok());
        assert_eq!(
            parse_trace_id("span-123").expect_err("bad").to_string(),
            "malformed trace_id \"span-123\": expected 32 hex digits"
        );
        assert_eq!(
            parse_span_id("0000000000000000")
                .expect_err("bad")
                .to_string(),
            "malformed span_id \"0000000000000000\": it is all zeros"
        );
        let l = link("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7").expect("valid");
        assert_eq!(l.span_context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(l.span_context.is_remote());
    }

    #[test]
    fn a_parent_context_carries_the_remote_span() {
        let cx = parent_from_traceparent(TP).expect("valid");
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(cx.has_active_span());
    }
}
