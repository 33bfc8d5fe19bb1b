//! Input validation and normalisation shared by every write path (domain.md §2).

use crate::error::{AppError, AppResult};

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
    if value.chars().count() > MAX_STRING {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be at most {MAX_STRING} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
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
