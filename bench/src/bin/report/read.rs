//! Reading the benchmarks' JSON results: the files themselves and the figures in them.

use std::path::Path;

use serde_json::Value;

pub(crate) fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64).filter(|x| x.is_finite())
}

pub(crate) fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn rows<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(crate) fn mean(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .flatten()
        .fold((0.0, 0_u32), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The mean of `key` over the rows for which `pick` holds (the rounds of one measurement).
pub(crate) fn mean_of(rows: &[Value], key: &str, pick: impl Fn(&Value) -> bool) -> Option<f64> {
    mean(rows.iter().filter(|r| pick(r)).map(|r| num(r, key)))
}

pub(crate) fn sum_of(rows: &[Value], key: &str, pick: impl Fn(&Value) -> bool) -> f64 {
    rows.iter()
        .filter(|r| pick(r))
        .filter_map(|r| num(r, key))
        .sum()
}

/// Distinct values of a string field, in order of first appearance.
pub(crate) fn distinct(rows: &[Value], key: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in rows {
        let value = text(r, key);
        if !value.is_empty() && !seen.iter().any(|s| s == value) {
            seen.push(value.to_owned());
        }
    }
    seen
}

pub(crate) fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A results file, or `None` (and a note) when it is missing or unreadable.
pub(crate) fn load(dir: &Path, name: &str, notes: &mut Vec<String>) -> Option<Value> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(content) => match serde_json::from_str(&content) {
            Ok(value) => Some(value),
            Err(err) => {
                notes.push(format!(
                    "`results/{name}` is not valid JSON ({err}); skipped."
                ));
                None
            }
        },
        Err(_) => {
            notes.push(format!(
                "`results/{name}` is missing (that benchmark has not been run); skipped."
            ));
            None
        }
    }
}
