//! The value syntaxes of the OTel environment variables: booleans, milliseconds, and the
//! `k1=v1,k2=v2` lists of headers and resource attributes. Each parser falls back and
//! leaves a warning instead of failing, as [`super::config`] promises.

use std::time::Duration;

pub(super) fn parse_bool(key: &str, value: &str, warnings: &mut Vec<String>) -> bool {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        other => {
            warnings.push(format!("{key}={other:?} is not a boolean; using false"));
            false
        }
    }
}

pub(super) fn parse_millis(
    key: &str,
    value: &str,
    default: Duration,
    warnings: &mut Vec<String>,
) -> Duration {
    match value.trim().parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => {
            warnings.push(format!(
                "{key}={value:?} is not a whole number of milliseconds; using {}",
                default.as_millis()
            ));
            default
        }
    }
}

/// Parses the W3C baggage-like `k1=v1,k2=v2` list the OTel env vars use; values are
/// percent-decoded.
pub(super) fn parse_key_values(
    key: &str,
    value: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, String)> {
    value
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .filter_map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Some((percent_decode(k.trim()), percent_decode(v.trim())))
            }
            _ => {
                warnings.push(format!("{key}: ignoring {pair:?}, which is not key=value"));
                None
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_percent_escape_is_kept_literally() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%"), "A%");
    }
}
