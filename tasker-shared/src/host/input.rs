//! The rules for what a host hands the core, the same in every language.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::types::StepExecutionCompletionEvent;
use crate::workflow::TaskTemplate;
use crate::{TaskerError, TaskerResult};

/// A template as a host passes it.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateInput {
    /// A YAML or JSON file (Ruby and Python strings: there, a string is a path).
    Path(String),
    /// YAML or JSON text (JS strings: a browser has no files).
    Text(String),
    /// The template itself, as a Hash, dict or object.
    Value(Value),
}

/// Reads and validates a template.
pub fn template(input: TemplateInput) -> TaskerResult<TaskTemplate> {
    Ok(match input {
        TemplateInput::Path(path) => TaskTemplate::from_path(path)?,
        TemplateInput::Text(text) if text.trim_start().starts_with('{') => {
            TaskTemplate::from_json(&text)?
        }
        TemplateInput::Text(text) => TaskTemplate::from_yaml(&text)?,
        TemplateInput::Value(v) => TaskTemplate::from_value(v)?,
    })
}

/// A caller's timeout in seconds: `None` waits as long as it takes; anything but a positive
/// finite number is refused.
pub fn timeout_seconds(seconds: Option<f64>) -> TaskerResult<Option<Duration>> {
    seconds
        .map(|t| {
            Duration::try_from_secs_f64(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    TaskerError::Config(format!(
                        "timeout must be a positive number of seconds, got {t}"
                    ))
                })
        })
        .transpose()
}

/// How long a step's handler may run: the step's `timeout_ms`, else the worker's default.
/// The step event carries it (`timeout_ms`), so no host works it out again.
pub fn step_timeout(timeout_ms: Option<u64>, default: Duration) -> Duration {
    timeout_ms.map_or(default, Duration::from_millis)
}

/// A host's completion for `event_id`, checked: the id must be a UUID and the completion
/// must have the completion's shape (`event_id`, `task_uuid`, `step_uuid`, `success`, and
/// optionally `result`, `metadata`, `error_message`, `trace_id`, `span_id`).
pub fn parse_completion(
    event_id: &str,
    completion: Value,
) -> TaskerResult<(Uuid, StepExecutionCompletionEvent)> {
    let id = Uuid::parse_str(event_id)
        .map_err(|_| TaskerError::Conversion(format!("event_id {event_id:?} is not a UUID")))?;
    let completion = serde_json::from_value(completion)
        .map_err(|e| TaskerError::Conversion(format!("completion is malformed: {e}")))?;
    Ok((id, completion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_must_be_positive_and_finite() {
        assert_eq!(timeout_seconds(None), Ok(None));
        assert_eq!(
            timeout_seconds(Some(1.5)),
            Ok(Some(Duration::from_millis(1500)))
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                timeout_seconds(Some(bad)),
                Err(TaskerError::Config(format!(
                    "timeout must be a positive number of seconds, got {bad}"
                )))
            );
        }
    }

    #[test]
    fn a_step_without_timeout_ms_gets_the_default() {
        let d = Duration::from_secs(30);
        assert_eq!(step_timeout(None, d), d);
        assert_eq!(step_timeout(Some(250), d), Duration::from_millis(250));
    }

    #[test]
    fn a_completion_for_a_non_uuid_event_is_a_conversion_error() {
        assert_eq!(
            parse_completion("nope", Value::Null).map(|_| ()),
            Err(TaskerError::Conversion(
                "event_id \"nope\" is not a UUID".into()
            ))
        );
    }
}
