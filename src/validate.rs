//! Input validation and normalisation shared by every write path (docs/design.md §5).

use serde_json::Value;

use crate::{
    error::{AppError, AppResult},
    limits::InputLimits,
};

/// The longest accepted string field, in characters.
pub const MAX_STRING: usize = 255;

/// A trimmed, non-empty string of at most [`MAX_STRING`] characters.
pub fn required_string(field: &str, value: &str) -> AppResult<String> {
    optional_string(field, Some(value))?
        .ok_or_else(|| AppError::bad_input(field, format!("{field} must not be empty")))
}

/// A trimmed string of at most [`MAX_STRING`] characters; empty becomes `None`.
pub fn optional_string(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    no_nul(field, value)?;
    if value.chars().count() > MAX_STRING {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be at most {MAX_STRING} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// Refuses a NUL character: PostgreSQL text and JSONB cannot hold one, so it would otherwise
/// surface as a database error; SQLite would store it and every reader would trip on it.
pub fn no_nul(field: &str, value: &str) -> AppResult<()> {
    if value.contains('\0') {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    Ok(())
}

/// A contact's custom or additional attributes as stored: no NUL character in a key or a
/// string, at most `MAX_ATTRIBUTES_DEPTH` levels and `MAX_ATTRIBUTES_BYTES` bytes of JSON.
/// Walked with an explicit stack, so the depth of the value cannot exhaust the thread's.
pub fn attributes(field: &str, value: &Value, limits: &InputLimits) -> AppResult<()> {
    let max_depth = limits.max_attributes_depth as usize;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::String(s) => no_nul(field, s)?,
            Value::Array(_) | Value::Object(_) if depth > max_depth => {
                return Err(AppError::bad_input(
                    field,
                    format!(
                        "{field} is nested deeper than {max_depth} levels (MAX_ATTRIBUTES_DEPTH)"
                    ),
                ));
            }
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => {
                for (key, item) in map {
                    no_nul(field, key)?;
                    stack.push((item, depth + 1));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    let max_bytes = limits.max_attributes_bytes as usize;
    let bytes = serde_json::to_vec(value).map_or(usize::MAX, |json| json.len());
    if bytes > max_bytes {
        return Err(AppError::bad_input(
            field,
            format!(
                "{field} takes {bytes} bytes as JSON; at most {max_bytes} are accepted (MAX_ATTRIBUTES_BYTES)"
            ),
        ));
    }
    Ok(())
}

/// An email: trimmed, lower-cased, empty → `None`; must look like `local@domain` without spaces.
pub fn email(field: &str, value: &str) -> AppResult<Option<String>> {
    let Some(email) = optional_string(field, Some(value))? else {
        return Ok(None);
    };
    let email = email.to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(email))
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field} is not a valid email address"),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn normalises_emails() {
        assert_eq!(
            email("email", "  Ann@Example.COM ").unwrap().as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(email("email", "   ").unwrap(), None);
        for bad in ["ann", "@example.com", "ann@", "a b@example.com", "a@b@c"] {
            assert!(email("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bounds_strings() {
        assert_eq!(
            optional_string("name", Some(" x ")).unwrap().as_deref(),
            Some("x")
        );
        assert!(optional_string("name", Some(&"é".repeat(256))).is_err());
        assert!(optional_string("name", Some(&"é".repeat(255))).is_ok());
        assert!(required_string("name", "  ").is_err());
    }
}

/// A phone number in E.164: `+`, a non-zero digit, then 1–14 digits, nothing else. Empty → `None`.
pub fn phone(field: &str, value: &str) -> AppResult<Option<String>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let digits = value.strip_prefix('+').unwrap_or_default();
    let valid = digits.len() >= 2
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(Some(value.to_owned()))
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field} must be in E.164 format: + and 2 to 15 digits, e.g. +14155550100"),
        ))
    }
}

/// Adds the leading `+` a phone number was written without (imports and filters).
pub fn with_plus(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() || value.starts_with('+') {
        value.to_owned()
    } else {
        format!("+{value}")
    }
}

/// A JSON object (attributes must be objects).
pub fn json_object(
    field: &str,
    value: serde_json::Value,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(AppError::bad_input(
            field,
            format!("{field} must be a JSON object"),
        )),
    }
}

/// A label or key name: trimmed, 1–255 characters of letters, digits, `_`, `-` and `.`.
pub fn name(field: &str, value: &str) -> AppResult<String> {
    let value = required_string(field, value)?;
    if value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            field,
            format!("{field} may contain only letters, digits, `_`, `-` and `.`"),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod phone_tests {
    use super::*;

    #[test]
    fn accepts_only_anchored_e164() {
        assert_eq!(
            phone("p", " +14155550100 ").unwrap().as_deref(),
            Some("+14155550100")
        );
        assert_eq!(phone("p", "").unwrap(), None);
        for bad in [
            "14155550100",
            "+04155550100",
            "x+14155550100",
            "+1415555010012345",
            "+1 415",
            "+1",
        ] {
            assert!(phone("p", bad).is_err(), "{bad} accepted");
        }
        assert_eq!(with_plus("4155550100"), "+4155550100");
        assert_eq!(with_plus("+4155550100"), "+4155550100");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod hostile_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refuses_nul_everywhere() {
        assert!(optional_string("name", Some("a\0b")).is_err());
        assert!(name("labels", "a\0").is_err());
        let limits = InputLimits::default();
        for bad in [
            json!({ "k\u{0}": 1 }),
            json!({ "k": "v\u{0}" }),
            json!({ "k": [{ "deep": ["\u{0}"] }] }),
        ] {
            let err = attributes("customAttributes", &bad, &limits).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
        }
        assert!(
            attributes(
                "customAttributes",
                &json!({ "k": "v", "n": [1, null] }),
                &limits
            )
            .is_ok()
        );
    }

    #[test]
    fn bounds_attribute_depth_and_size() {
        let limits = InputLimits {
            max_attributes_depth: 3,
            max_attributes_bytes: 1024,
            ..InputLimits::default()
        };
        assert!(attributes("a", &json!({ "x": { "y": "scalar" } }), &limits).is_ok());
        assert!(attributes("a", &json!({ "x": { "y": [] } }), &limits).is_ok());
        assert!(attributes("a", &json!({ "x": { "y": [[]] } }), &limits).is_err());
        assert!(attributes("a", &json!({ "x": "y".repeat(1000) }), &limits).is_ok());
        let err = attributes("a", &json!({ "x": "y".repeat(1100) }), &limits).unwrap_err();
        assert!(err.message().contains("MAX_ATTRIBUTES_BYTES"));
        // Deeper than any stack would take if walked recursively.
        let deep = (0..100_000).fold(json!(1), |inner, _| Value::Array(vec![inner]));
        assert!(attributes("a", &deep, &limits).is_err());
        // serde_json drops nested values recursively; unwind the chain by hand.
        let mut deep = deep;
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }
}
