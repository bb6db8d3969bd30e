//! Wall-clock time that also works on wasm32-unknown-unknown, where `SystemTime::now()`
//! panics: there it comes from JavaScript's `Date.now()`.

use std::time::Duration;

/// Time since the Unix epoch.
pub fn now_since_epoch() -> Duration {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
    #[cfg(target_arch = "wasm32")]
    {
        HELD.with(std::cell::Cell::get)
            .unwrap_or_else(read_js_clock)
    }
}

/// Runs `f` with the clock read once: every span and event time inside is that reading.
///
/// On wasm32 each reading is a call out to JavaScript's `Date.now()` (a fifth of what an
/// event cost a step), and gives whole milliseconds. `f` cannot yield (it is not async),
/// so what it records happens within its own run, microseconds apart: below what the
/// clock resolves, so one reading serves them all. Elsewhere the clock is cheap and fine,
/// and `f` simply runs. Nested calls keep the outer reading.
pub fn at_one_instant<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_arch = "wasm32")]
    {
        struct Release(bool);
        impl Drop for Release {
            fn drop(&mut self) {
                if self.0 {
                    HELD.with(|h| h.set(None));
                }
            }
        }
        let outermost = HELD.with(|h| {
            let outermost = h.get().is_none();
            if outermost {
                h.set(Some(read_js_clock()));
            }
            outermost
        });
        let _release = Release(outermost);
        f()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        f()
    }
}

#[cfg(target_arch = "wasm32")]
thread_local! {
    static HELD: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

#[cfg(target_arch = "wasm32")]
fn read_js_clock() -> Duration {
    // Whole milliseconds, as `Date.now()` gives them: integer arithmetic, where
    // `from_secs_f64` took a float apart bit by bit on every span and event.
    Duration::from_millis(js_sys::Date::now().max(0.0) as u64)
}

/// The current UTC time as RFC 3339 with microseconds, e.g. `2026-11-21T14:55:57.951534Z`.
pub fn rfc3339_now() -> String {
    rfc3339(now_since_epoch())
}

/// Formats a time since the epoch as RFC 3339 UTC with microseconds.
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:06}Z",
        since_epoch.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_exactly() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(Duration::from_micros(1_795_186_557_951_534)),
            "2026-11-20T14:55:57.951534Z"
        );
        // A leap day.
        assert_eq!(
            rfc3339(Duration::from_secs(1_709_164_800)),
            "2024-02-29T00:00:00.000000Z"
        );
    }
}
