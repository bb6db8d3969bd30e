//! The handlers the example templates use.

use serde_json::Value;

use crate::handler::{HandlerRegistry, StepContext, StepError};

/// Squares its one dependency's result, or the task's `even_number` for a first step.
pub async fn square(ctx: StepContext) -> Result<Value, StepError> {
    let n = match ctx.dependency_results.values().next() {
        Some(v) => v.as_i64().ok_or_else(|| {
            StepError::permanent(format!(
                "{} expected an integer result from its dependency, got {v}",
                ctx.step_name
            ))
        })?,
        None => {
            let v = ctx.input.get("even_number").cloned().unwrap_or(Value::Null);
            match v.as_i64() {
                Some(n) if n % 2 == 0 => n,
                _ => {
                    return Err(StepError::permanent(format!(
                        "even_number must be an even integer, got {v}"
                    ))
                    .with_type("invalid_input"));
                }
            }
        }
    };
    n.checked_mul(n).map(Value::from).ok_or_else(|| {
        StepError::permanent(format!("{n} squared overflows a 64-bit integer"))
            .with_type("overflow")
    })
}

/// Sums the results of every dependency.
pub async fn sum_dependencies(ctx: StepContext) -> Result<Value, StepError> {
    let mut total: i64 = 0;
    for (name, v) in &ctx.dependency_results {
        let n = v.as_i64().ok_or_else(|| {
            StepError::permanent(format!("dependency {name} returned {v}, not an integer"))
        })?;
        total = total.checked_add(n).ok_or_else(|| {
            StepError::permanent("the sum overflows a 64-bit integer").with_type("overflow")
        })?;
    }
    Ok(Value::from(total))
}

/// Waits for the task context's `sleep_ms` milliseconds, then returns that number: the
/// docs use it to show timeouts, and tests to hold a step while they crash its worker.
pub async fn sleep(ctx: StepContext) -> Result<Value, StepError> {
    let v = ctx.input.get("sleep_ms").cloned().unwrap_or(Value::Null);
    let ms = v.as_u64().ok_or_else(|| {
        StepError::permanent(format!(
            "sleep_ms must be a non-negative integer of milliseconds, got {v}"
        ))
        .with_type("invalid_input")
    })?;
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    Ok(Value::from(ms))
}

/// A registry with the example handlers.
pub fn example_registry() -> HandlerRegistry {
    let mut r = HandlerRegistry::new();
    r.register_fn("square", square);
    r.register_fn("sum_dependencies", sum_dependencies);
    r.register_fn("sleep", sleep);
    r
}
