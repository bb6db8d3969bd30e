//! The compact console line (the default `LOG_FORMAT`): each field once.
//!
//! Why not tracing-subscriber's own compact format: it prints the event's fields and then
//! every enclosing span's, so a step's line carried `task_uuid` and `correlation_id` three
//! times (the task span's copy, the step span's, the event's) and ran past 600 characters.
//! Here the event's fields come first, then each span's from the innermost out, skipping a
//! key already printed, then the innermost span's `trace_id` and `span_id`, so a line can
//! be joined to its trace. Span fields are stored separated by a unit separator (never in
//! a field's text) so they split back into whole `key=value` pairs.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

const SEP: char = '\u{1f}';

/// Formats span and event fields as `key=value` pairs joined by [`SEP`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeparatedFields;

impl<'w> FormatFields<'w> for SeparatedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut pairs = Pairs::default();
        fields.record(&mut pairs);
        writer.write_str(&pairs.0)
    }

    fn add_fields(
        &self,
        current: &mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut pairs = Pairs(std::mem::take(&mut current.fields));
        fields.record(&mut pairs);
        current.fields = pairs.0;
        Ok(())
    }
}

#[derive(Default)]
struct Pairs(String);

impl Visit for Pairs {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(SEP);
        }
        let _ = write!(self.0, "{}={value:?}", field.name());
    }
}

/// One line: time, level, span path, target, message, then each field once.
#[derive(Debug, Clone, Copy)]
pub(super) struct CompactOnce {
    pub(super) ansi: bool,
}

impl<S> FormatEvent<S, SeparatedFields> for CompactOnce
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SeparatedFields>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(
            w,
            "{} {} ",
            crate::time::rfc3339_now(),
            level(*meta.level(), self.ansi)
        )?;

        let mut message = String::new();
        let mut event_fields = Pairs::default();
        event.record(&mut MessageFirst {
            message: &mut message,
            rest: &mut event_fields,
        });

        let mut spans = Vec::new();
        let mut innermost = None;
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                innermost.get_or_insert_with(|| span.id());
                let fields = span
                    .extensions()
                    .get::<FormattedFields<SeparatedFields>>()
                    .map(|f| f.fields.clone())
                    .unwrap_or_default();
                spans.push((span.name(), fields));
            }
        }
        let path: Vec<&str> = spans.iter().rev().map(|(name, _)| *name).collect();
        if !path.is_empty() {
            write!(w, "{}: ", path.join(":"))?;
        }
        write!(w, "{}: {message}", meta.target())?;

        let mut seen = HashSet::new();
        let lists =
            std::iter::once(event_fields.0.as_str()).chain(spans.iter().map(|(_, f)| f.as_str()));
        for pair in lists.flat_map(|l| l.split(SEP)).filter(|p| !p.is_empty()) {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            if seen.insert(key.to_owned()) {
                write!(w, " {pair}")?;
            }
        }
        // Extensions are released above: reading the OTel context locks them again.
        // An event that names its own trace (a completion carrying the host's ids) keeps it.
        let ids = innermost.filter(|_| !seen.contains("trace_id"));
        if let Some((trace_id, span_id)) = ids.and_then(|id| super::json::trace_ids(&id)) {
            write!(w, " trace_id={trace_id} span_id={span_id}")?;
        }
        writeln!(w)
    }
}

/// Puts an event's `message` aside, and its other fields in `rest`.
struct MessageFirst<'a> {
    message: &'a mut String,
    rest: &'a mut Pairs,
}

impl Visit for MessageFirst<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.rest.record_str(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.rest.record_debug(field, value);
        }
    }
}

fn level(level: Level, ansi: bool) -> String {
    let text = format!("{level:>5}");
    if !ansi {
        return text;
    }
    let colour = match level {
        Level::ERROR => "31",
        Level::WARN => "33",
        Level::INFO => "32",
        Level::DEBUG => "34",
        Level::TRACE => "35",
    };
    format!("\u{1b}[{colour}m{text}\u{1b}[0m")
}
