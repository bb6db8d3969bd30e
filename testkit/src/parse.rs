//! Parses rotel's detailed debug log of received spans.

use std::collections::BTreeMap;

/// One span as the collector received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectedSpan {
    pub trace_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    pub span_id: String,
    pub name: String,
    /// Attribute values as rotel prints them inside `Type(...)`.
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLink>,
}

/// A span event: a `tracing` event recorded inside the span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

/// A link to another span.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
}

impl CollectedSpan {
    /// An attribute's printed value.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// Whether an event of this name was recorded in the span.
    pub fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e.name == name)
    }
}

#[derive(PartialEq)]
enum Section {
    None,
    Resource,
    Attributes,
    Events,
    Links,
}

/// Parses every span in `output` (ANSI colours already stripped).
pub fn parse_spans(output: &str) -> Vec<CollectedSpan> {
    let mut spans: Vec<CollectedSpan> = Vec::new();
    let mut resource = BTreeMap::new();
    let mut section = Section::None;
    for raw in output.lines() {
        let line = raw.trim();
        if line.starts_with("ResourceSpans #") {
            resource = BTreeMap::new();
            section = Section::None;
        } else if line == "Resource attributes:" {
            section = Section::Resource;
        } else if line.starts_with("ScopeSpans #") || line.starts_with("ResourceMetrics #") {
            section = Section::None;
        } else if line.starts_with("Span #") {
            spans.push(CollectedSpan {
                resource: resource.clone(),
                ..CollectedSpan::default()
            });
            section = Section::None;
        } else if line == "Attributes:" {
            section = Section::Attributes;
        } else if line == "Events:" {
            section = Section::Events;
        } else if line == "Links:" {
            section = Section::Links;
        } else if line.starts_with("SpanEvent #") {
            if let Some(s) = spans.last_mut() {
                s.events.push(SpanEvent::default());
            }
        } else if line.starts_with("SpanLink #") {
            if let Some(s) = spans.last_mut() {
                s.links.push(SpanLink::default());
            }
        } else if let Some(rest) = line.strip_prefix("-> ") {
            let Some((key, value)) = rest.split_once(": ") else {
                continue;
            };
            let value = unwrap_typed(value);
            match section {
                Section::Resource => {
                    resource.insert(key.to_owned(), value);
                }
                Section::Attributes => {
                    if let Some(s) = spans.last_mut() {
                        s.attributes.insert(key.to_owned(), value);
                    }
                }
                Section::Events => {
                    if let Some(e) = spans.last_mut().and_then(|s| s.events.last_mut()) {
                        if key == "Name" {
                            e.name = value;
                        } else if !raw.contains("-> Timestamp") {
                            e.attributes.insert(key.to_owned(), value);
                        }
                    }
                }
                Section::Links => {
                    if let Some(l) = spans.last_mut().and_then(|s| s.links.last_mut()) {
                        match key {
                            "Trace ID" => l.trace_id = value,
                            "ID" => l.span_id = value,
                            _ => {}
                        }
                    }
                }
                Section::None => {}
            }
        } else if let Some((key, value)) = line.split_once(':') {
            let Some(s) = spans.last_mut() else { continue };
            let value = value.trim().to_owned();
            match key.trim() {
                "Trace ID" => s.trace_id = value,
                "Parent ID" => s.parent_id = value,
                "ID" => s.span_id = value,
                "Name" => s.name = value,
                _ => {}
            }
        }
    }
    spans
}

/// `Str(abc)` -> `abc`, `Int(3)` -> `3`; anything else is kept as printed.
fn unwrap_typed(value: &str) -> String {
    for prefix in [
        "Str(", "Int(", "Bool(", "Double(", "Bytes(", "Array(", "Map(",
    ] {
        if let Some(inner) = value.strip_prefix(prefix).and_then(|v| v.strip_suffix(')')) {
            return inner.to_owned();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ResourceSpans #0
Resource attributes:
     -> service.name: Str(tasker-core)
ScopeSpans #0
InstrumentationScope tasker-core
Span #0
    Trace ID       : 5bf92f3577b34da6a3ce929d0e0e4736
    Parent ID      : 10f067aa0ba902b7
    ID             : 473af06980647d0d
    Name           : worker.step_completion_received
    Kind           : SPAN_KIND_INTERNAL
Start time: 1795273251237090967
Attributes:
     -> step_name: Str(linear_step_1)
     -> attempt: Int(2)
Events:
SpanEvent #0
     -> Name: step.ruby_execution_completed
     -> Timestamp: 1795273244741395992
     -> Attributes::
          -> success: Bool(true)
Links:
SpanLink #0
     -> Trace ID: 4bf92f3577b34da6a3ce929d0e0e4736
     -> ID: 00f067aa0ba902b7
     -> TraceState: 
Span #1
    Trace ID       : 5bf92f3577b34da6a3ce929d0e0e4736
    Parent ID      : 
    ID             : 10f067aa0ba902b7
    Name           : root
";

    #[test]
    fn spans_events_links_and_resources_are_parsed() {
        let spans = parse_spans(SAMPLE);
        assert_eq!(spans.len(), 2);
        let s = &spans[0];
        assert_eq!(s.trace_id, "5bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.parent_id, "10f067aa0ba902b7");
        assert_eq!(s.span_id, "473af06980647d0d");
        assert_eq!(s.name, "worker.step_completion_received");
        assert_eq!(s.attr("step_name"), Some("linear_step_1"));
        assert_eq!(s.attr("attempt"), Some("2"));
        assert_eq!(s.resource["service.name"], "tasker-core");
        assert_eq!(s.events[0].name, "step.ruby_execution_completed");
        assert_eq!(s.events[0].attributes["success"], "true");
        assert_eq!(
            s.links,
            vec![SpanLink {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                span_id: "00f067aa0ba902b7".into()
            }]
        );
        assert_eq!(spans[1].parent_id, "");
        assert_eq!(spans[1].name, "root");
    }

    #[test]
    fn ansi_colours_are_stripped() {
        assert_eq!(crate::strip_ansi("\u{1b}[2mTrace\u{1b}[0m ID"), "Trace ID");
    }
}
