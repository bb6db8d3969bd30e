//! A telemetry report as every host shows it (a `TelemetryReport` object in Ruby and
//! Python, the value `stop()` resolves to in JS), and the one rule for a strict stop: a loss
//! is an error only when the caller asked for that.

use serde_json::{Value, json};

use crate::logging::{TelemetryError, TelemetryReport};

/// Key spelling of the host: `snake_case` for Ruby and Python, `camelCase` for JS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Snake,
    Camel,
}

/// The report's fields: the counts since the process started, and `error`, the reason when
/// something was lost since the last report (else `null`).
pub fn to_json(report: &TelemetryReport, case: Case) -> Value {
    let s = &report.stats;
    let error = report.error.as_ref().map(ToString::to_string);
    match case {
        Case::Snake => json!({
            "spans_exported": s.spans_exported,
            "spans_failed": s.spans_failed,
            "spans_dropped": s.spans_dropped,
            "spans_dropped_before_bootstrap": s.spans_dropped_before_bootstrap,
            "error": error,
        }),
        Case::Camel => json!({
            "spansExported": s.spans_exported,
            "spansFailed": s.spans_failed,
            "spansDropped": s.spans_dropped,
            "spansDroppedBeforeBootstrap": s.spans_dropped_before_bootstrap,
            "error": error,
        }),
    }
}

/// A stop's or flush's outcome for a host: the report's fields, or, when the caller asked
/// for `strict` and something was lost, the loss as the error to raise.
pub fn outcome(report: TelemetryReport, strict: bool, case: Case) -> Result<Value, TelemetryError> {
    match report.error {
        Some(e) if strict => Err(e),
        _ => Ok(to_json(&report, case)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::TelemetryStats;

    fn lost() -> TelemetryReport {
        TelemetryReport {
            stats: TelemetryStats {
                spans_exported: 2,
                spans_failed: 9,
                ..TelemetryStats::default()
            },
            error: Some(TelemetryError::Shutdown(
                "9 span(s) could not be exported: x".into(),
            )),
        }
    }

    #[test]
    fn a_lenient_outcome_reports_the_loss_as_a_field() {
        let v = outcome(lost(), false, Case::Snake).expect("lenient");
        assert_eq!(v["spans_failed"], 9);
        assert_eq!(
            v["error"],
            "shutting telemetry down failed: 9 span(s) could not be exported: x"
        );
    }

    #[test]
    fn a_strict_outcome_makes_the_loss_the_error() {
        let e = outcome(lost(), true, Case::Camel).expect_err("strict");
        assert_eq!(
            e,
            TelemetryError::Shutdown("9 span(s) could not be exported: x".into())
        );
    }

    #[test]
    fn a_strict_outcome_without_a_loss_is_the_report() {
        let v = outcome(TelemetryReport::default(), true, Case::Camel).expect("nothing lost");
        assert_eq!(v["spansExported"], 0);
        assert_eq!(v["error"], Value::Null);
    }
}
