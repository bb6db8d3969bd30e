//! Ruby values ↔ JSON values, the one place types cross the boundary.
//!
//! Ruby → JSON accepts what JSON can hold: nil, booleans, Integers (64-bit), finite Floats,
//! Strings, Symbols (as strings), Arrays, and Hashes with String or Symbol keys. Anything
//! else (a Time, a custom object, a cyclic structure) is a `TaskerCore::ConversionError`
//! naming the offending value's class and where it was found.
//!
//! JSON → Ruby gives String keys for user data (as `JSON.parse` does); the envelope hashes
//! the gem builds itself use Symbol keys.

use magnus::prelude::*;
use magnus::r_hash::ForEach;
use magnus::{Error, Float, Integer, RArray, RHash, RString, Ruby, Symbol, Value};
use serde_json::{Map, Number, Value as Json};

use crate::errors;

const MAX_DEPTH: usize = 128;

/// Converts a Ruby value to JSON; `path` names it in errors (e.g. `result`).
pub(crate) fn to_json(ruby: &Ruby, value: Value, path: &str) -> Result<Json, Error> {
    convert(ruby, value, path, 0)
}

fn convert(ruby: &Ruby, v: Value, path: &str, depth: usize) -> Result<Json, Error> {
    if depth > MAX_DEPTH {
        return Err(errors::conversion(
            ruby,
            &format!("{path} is nested more than {MAX_DEPTH} levels deep (is it cyclic?)"),
        ));
    }
    if v.is_nil() {
        return Ok(Json::Null);
    }
    if v.is_kind_of(ruby.class_true_class()) {
        return Ok(Json::Bool(true));
    }
    if v.is_kind_of(ruby.class_false_class()) {
        return Ok(Json::Bool(false));
    }
    if let Some(i) = Integer::from_value(v) {
        return match i.to_i64() {
            Ok(n) => Ok(Json::from(n)),
            Err(_) => i.to_u64().map(Json::from).map_err(|_| {
                errors::conversion(
                    ruby,
                    &format!("{path} is an Integer outside the 64-bit range"),
                )
            }),
        };
    }
    if let Some(f) = Float::from_value(v) {
        return Number::from_f64(f.to_f64())
            .map(Json::Number)
            .ok_or_else(|| {
                errors::conversion(
                    ruby,
                    &format!("{path} is {}, which JSON cannot hold", f.to_f64()),
                )
            });
    }
    if let Some(s) = RString::from_value(v) {
        return s.to_string().map(Json::String).map_err(|_| {
            errors::conversion(ruby, &format!("{path} is a String that is not valid UTF-8"))
        });
    }
    if let Some(sym) = Symbol::from_value(v) {
        return Ok(Json::String(sym.name()?.into_owned()));
    }
    if let Some(a) = RArray::from_value(v) {
        return (0..a.len())
            .map(|i| {
                let item: Value = a.entry(i as isize)?;
                convert(ruby, item, &format!("{path}[{i}]"), depth + 1)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array);
    }
    if let Some(h) = RHash::from_value(v) {
        let mut map = Map::new();
        let mut failure = None;
        h.foreach(|k: Value, item: Value| {
            let key = if let Some(s) = RString::from_value(k) {
                s.to_string().ok()
            } else {
                Symbol::from_value(k).and_then(|s| s.name().ok().map(|n| n.into_owned()))
            };
            let Some(key) = key else {
                failure = Some(errors::conversion(
                    ruby,
                    &format!(
                        "{path} has a {} key; JSON object keys must be Strings or Symbols",
                        class_of(k)
                    ),
                ));
                return Ok(ForEach::Stop);
            };
            match convert(ruby, item, &format!("{path}[{key:?}]"), depth + 1) {
                Ok(j) => {
                    map.insert(key, j);
                    Ok(ForEach::Continue)
                }
                Err(e) => {
                    failure = Some(e);
                    Ok(ForEach::Stop)
                }
            }
        })?;
        return match failure {
            Some(e) => Err(e),
            None => Ok(Json::Object(map)),
        };
    }
    Err(errors::conversion(
        ruby,
        &format!(
            "{path} is a {}, which is not JSON (use Hash, Array, String, Integer, Float, true, false or nil)",
            class_of(v)
        ),
    ))
}

fn class_of(v: Value) -> String {
    // SAFETY-free: `classname` only reads the class's name.
    unsafe { v.classname() }.into_owned()
}

/// Converts JSON to Ruby, with String keys.
pub(crate) fn to_ruby(ruby: &Ruby, j: &Json) -> Result<Value, Error> {
    Ok(match j {
        Json::Null => ruby.qnil().as_value(),
        Json::Bool(true) => ruby.qtrue().as_value(),
        Json::Bool(false) => ruby.qfalse().as_value(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ruby.integer_from_i64(i).as_value()
            } else if let Some(u) = n.as_u64() {
                ruby.integer_from_u64(u).as_value()
            } else {
                ruby.float_from_f64(n.as_f64().unwrap_or(f64::NAN))
                    .as_value()
            }
        }
        Json::String(s) => ruby.str_new(s).as_value(),
        Json::Array(items) => {
            let a = ruby.ary_new_capa(items.len());
            for item in items {
                a.push(to_ruby(ruby, item)?)?;
            }
            a.as_value()
        }
        Json::Object(map) => {
            let h = ruby.hash_new();
            for (k, v) in map {
                h.aset(ruby.str_new(k), to_ruby(ruby, v)?)?;
            }
            h.as_value()
        }
    })
}

/// A Hash with Symbol keys at the top level (the gem's envelopes) and String keys below.
pub(crate) fn to_ruby_symbol_keys(ruby: &Ruby, j: &Json) -> Result<Value, Error> {
    match j {
        Json::Object(map) => {
            let h = ruby.hash_new();
            for (k, v) in map {
                h.aset(ruby.to_symbol(k), to_ruby(ruby, v)?)?;
            }
            Ok(h.as_value())
        }
        other => to_ruby(ruby, other),
    }
}
