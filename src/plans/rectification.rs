//! Rectification (GDPR Art. 16): the values a person may correct, and the checks a correction
//! must pass before anyone sees it.

use serde_json::Value;
use time::Date;
use time::macros::format_description;

use super::{FieldType, Located, RectifiableField, Rules};
use crate::domain::EmailAddress;

/// One value the person may correct, with what the source holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Current<'r> {
    pub field: &'r RectifiableField,
    pub value: Value,
}

/// The rectifiable fields of one located record, in configuration order.
pub fn current<'r>(rules: &'r Rules, record: &Located) -> Vec<Current<'r>> {
    rules
        .rectifiable
        .iter()
        .map(|field| Current { field, value: record.values.get(&field.field).cloned().unwrap_or(Value::Null) })
        .collect()
}

/// Why a proposed value was refused. Each maps to a message in the person's language
/// (`portal.rectify.invalid.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("the value is empty")]
    Empty,
    #[error("the value is too long")]
    TooLong,
    #[error("the value holds control characters")]
    Control,
    #[error("not an email address")]
    Email,
    #[error("not a phone number in international format")]
    Phone,
    #[error("not a postal code")]
    PostalCode,
    #[error("not a date (YYYY-MM-DD)")]
    Date,
}

impl Invalid {
    /// The catalog key of the message shown to the person.
    pub fn message_key(self) -> &'static str {
        match self {
            Invalid::Empty => "portal.rectify.invalid.empty",
            Invalid::TooLong => "portal.rectify.invalid.too_long",
            Invalid::Control => "portal.rectify.invalid.control",
            Invalid::Email => "portal.rectify.invalid.email",
            Invalid::Phone => "portal.rectify.invalid.phone",
            Invalid::PostalCode => "portal.rectify.invalid.postal_code",
            Invalid::Date => "portal.rectify.invalid.date",
        }
    }
}

/// The longest value a person may propose.
pub const MAX_LEN: usize = 200;

/// Parses a proposed value for a field of type `kind` into what is written to the source:
/// trimmed text; an email lower-cased; a phone number in E.164 (`+33 6 12 34 56 78` →
/// `+33612345678`, separators dropped, the `+` and country code required); a postal code
/// upper-cased; a date as `YYYY-MM-DD`.
pub fn parse(kind: FieldType, input: &str) -> Result<Value, Invalid> {
    let s = input.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if s.chars().count() > MAX_LEN {
        return Err(Invalid::TooLong);
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::Control);
    }
    let text = match kind {
        FieldType::Text => s.to_string(),
        FieldType::Email => EmailAddress::parse(s).map_err(|_| Invalid::Email)?.as_str().to_string(),
        FieldType::Phone => phone(s).ok_or(Invalid::Phone)?,
        FieldType::PostalCode => postal_code(s).ok_or(Invalid::PostalCode)?,
        FieldType::Date => Date::parse(s, format_description!("[year]-[month]-[day]"))
            .ok()
            .and_then(|d| d.format(format_description!("[year]-[month]-[day]")).ok())
            .ok_or(Invalid::Date)?,
    };
    Ok(Value::String(text))
}

/// E.164: `+`, a country code not starting with 0, at most 15 digits in all (ITU-T E.164 §6);
/// spaces, dots, dashes and parentheses between digits are dropped. Fewer than 8 digits is no
/// subscriber number anywhere.
fn phone(s: &str) -> Option<String> {
    let rest = s.strip_prefix('+')?;
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    (digits.len() >= 8 && digits.len() <= 15 && !digits.starts_with('0')).then(|| format!("+{digits}"))
}

/// Letters, digits, one space or dash between them, 3 to 10 characters in all (every national
/// format: `75007`, `SW1A 1AA`, `1010`, `01310-100`, `K1A 0B1`).
fn postal_code(s: &str) -> Option<String> {
    let upper = s.to_uppercase();
    let ok_chars = upper.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    let no_double_sep =
        !upper.contains("  ") && !upper.contains("--") && !upper.contains(" -") && !upper.contains("- ");
    let edges = upper.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && upper.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    (ok_chars && no_double_sep && edges && (3..=10).contains(&upper.len())).then_some(upper)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        assert_eq!(parse(FieldType::Phone, " +33 6 12 34 56 78 "), Ok(json!("+33612345678")));
        assert_eq!(parse(FieldType::Phone, "+1 (415) 555-0100"), Ok(json!("+14155550100")));
        assert_eq!(parse(FieldType::Phone, "+44.20.7946.0958"), Ok(json!("+442079460958")));
        for bad in ["06 12 34 56 78", "+33 6 12 AB", "+0612345678", "+123", "+1234567890123456", "++33612345678"] {
            assert_eq!(parse(FieldType::Phone, bad), Err(Invalid::Phone), "{bad}");
        }
    }

    #[test]
    fn emails_postal_codes_and_dates_are_checked() {
        assert_eq!(parse(FieldType::Email, " Jeanne.Martin@Example.FR "), Ok(json!("jeanne.martin@example.fr")));
        assert_eq!(parse(FieldType::Email, "jeanne@"), Err(Invalid::Email));
        assert_eq!(parse(FieldType::PostalCode, "sw1a 1aa"), Ok(json!("SW1A 1AA")));
        assert_eq!(parse(FieldType::PostalCode, "75007"), Ok(json!("75007")));
        assert_eq!(parse(FieldType::PostalCode, "01310-100"), Ok(json!("01310-100")));
        for bad in ["75", "750 07 1234 5", "75007!", "-7500", "75  007"] {
            assert_eq!(parse(FieldType::PostalCode, bad), Err(Invalid::PostalCode), "{bad}");
        }
        assert_eq!(parse(FieldType::Date, "1984-02-29"), Ok(json!("1984-02-29")));
        for bad in ["1985-02-29", "29/02/1984", "1984-2-9"] {
            assert_eq!(parse(FieldType::Date, bad), Err(Invalid::Date), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_bounded_and_printable() {
        assert_eq!(parse(FieldType::Text, "  Lyon "), Ok(json!("Lyon")));
        assert_eq!(parse(FieldType::Text, "   "), Err(Invalid::Empty));
        assert_eq!(parse(FieldType::Text, &"x".repeat(MAX_LEN + 1)), Err(Invalid::TooLong));
        assert_eq!(parse(FieldType::Text, "a\u{0}b"), Err(Invalid::Control));
        assert_eq!(parse(FieldType::Text, &"é".repeat(MAX_LEN)), Ok(json!("é".repeat(MAX_LEN))));
    }

    #[test]
    fn current_values_follow_the_configured_fields() {
        let rules = Rules {
            key: vec!["id".into()],
            rectifiable: vec![
                RectifiableField { field: "phone".into(), kind: FieldType::Phone, label: None },
                RectifiableField { field: "city".into(), kind: FieldType::Text, label: None },
            ],
            ..Rules::default()
        };
        let record = Located {
            collection: "contacts".into(),
            key: json!({"id": 1}).as_object().unwrap().clone(),
            values: json!({"phone": "+33612345678"}).as_object().unwrap().clone(),
        };
        let cur = current(&rules, &record);
        assert_eq!(cur.len(), 2);
        assert_eq!(cur[0].value, json!("+33612345678"));
        assert_eq!(cur[1].value, json!(null));
    }
}
