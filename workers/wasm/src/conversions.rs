//! JS values ↔ JSON values. JS to JSON walks the value itself rather than trusting
//! `JSON.stringify`, which changes data without a word: `NaN` and `Infinity` become `null`,
//! functions and symbols vanish from objects, and a `Map` becomes `{}`. Here each of those is
//! a `CONVERSION` error naming where it sits, the strict outcome Ruby and Python give for
//! the same input. Only `undefined` object properties are left out, as JS code means them.

use js_sys::{Array, JSON, Object, Reflect};
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::errors::WasmError;

/// Objects nested deeper than this are refused (as a cycle would be, long before the stack).
const MAX_DEPTH: usize = 256;

/// Converts a JS value to JSON; `what` names it in errors. `undefined` is `null`.
pub(crate) fn to_json(v: &JsValue, what: &str) -> Result<Value, WasmError> {
    let mut stack = Vec::new();
    walk(v, &mut String::new(), &mut stack)
        .map_err(|e| WasmError::new("CONVERSION", format!("{what} is not JSON: {e}")))
}

fn at(path: &str) -> String {
    if path.is_empty() {
        "the value".to_owned()
    } else {
        format!("the value at {path}")
    }
}

fn walk(v: &JsValue, path: &mut String, stack: &mut Vec<JsValue>) -> Result<Value, String> {
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return number(n).ok_or_else(|| format!("{} is {n}, which JSON cannot hold", at(path)));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if v.is_bigint() {
        return Err(format!("{} is a BigInt, which JSON cannot hold", at(path)));
    }
    if v.is_symbol() || v.is_function() {
        let kind = if v.is_symbol() {
            "a symbol"
        } else {
            "a function"
        };
        return Err(format!("{} is {kind}, which JSON cannot hold", at(path)));
    }
    if stack.iter().any(|seen| Object::is(seen, v)) {
        return Err(format!("{} contains a cycle", at(path)));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(format!(
            "{} is nested deeper than {MAX_DEPTH} levels",
            at(path)
        ));
    }
    // `toJSON` (a Date's, a library type's) says what the value is as JSON.
    if let Some(to_json) = Reflect::get(v, &"toJSON".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    {
        let replaced = to_json
            .call0(v)
            .map_err(|e| format!("{}'s toJSON() threw: {}", at(path), describe(&e)))?;
        stack.push(v.clone());
        let out = walk(&replaced, path, stack);
        stack.pop();
        return out;
    }
    stack.push(v.clone());
    let out = if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let mut items = Vec::with_capacity(arr.length() as usize);
        for (i, item) in arr.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            if item.is_undefined() {
                return Err(format!("{} is undefined, which JSON cannot hold", at(path)));
            }
            items.push(walk(&item, path, stack)?);
            path.truncate(len);
        }
        Ok(Value::Array(items))
    } else {
        plain_object(v, path, stack)
    };
    stack.pop();
    out
}

fn plain_object(v: &JsValue, path: &mut String, stack: &mut Vec<JsValue>) -> Result<Value, String> {
    let obj: &Object = v.unchecked_ref();
    let proto = Object::get_prototype_of(v);
    let plain = proto.is_null() || Object::is(&proto, &Object::get_prototype_of(&Object::new()));
    if !plain {
        let name = Reflect::get(&proto, &"constructor".into())
            .ok()
            .and_then(|c| Reflect::get(&c, &"name".into()).ok())
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "object".to_owned());
        return Err(format!(
            "{} is a {name}, which JSON cannot hold (pass a plain object, or give it a toJSON method)",
            at(path)
        ));
    }
    let mut map = Map::new();
    for key in Object::keys(obj).iter() {
        let Some(k) = key.as_string() else { continue };
        let item = Reflect::get(v, &key).map_err(|e| describe(&e))?;
        if item.is_undefined() {
            continue;
        }
        let len = path.len();
        path.push('.');
        path.push_str(&k);
        let value = walk(&item, path, stack)?;
        path.truncate(len);
        map.insert(k, value);
    }
    Ok(Value::Object(map))
}

fn number(n: f64) -> Option<Value> {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        // Integral and exact: an integer, as JSON.parse would read it back.
        Some(Value::Number(Number::from(n as i64)))
    } else {
        Number::from_f64(n).map(Value::Number)
    }
}

/// Converts JSON to a JS value.
pub(crate) fn to_js(v: &Value) -> Result<JsValue, WasmError> {
    JSON::parse(&v.to_string()).map_err(|e| WasmError::new("INTERNAL", describe(&e)))
}

/// What kind of value `v` is, for error messages: `a number`, `a symbol`, `an object`...
pub(crate) fn kind(v: &JsValue) -> String {
    if v.is_null() {
        return "null".to_owned();
    }
    if v.as_string().is_some_and(|s| s.is_empty()) {
        return "an empty string".to_owned();
    }
    if Array::is_array(v) {
        return "an array".to_owned();
    }
    let t = v.js_typeof().as_string().unwrap_or_default();
    match t.as_str() {
        "undefined" => "undefined".to_owned(),
        "object" => "an object".to_owned(),
        other => format!("a {other}"),
    }
}

/// A thrown value's message.
pub(crate) fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}
