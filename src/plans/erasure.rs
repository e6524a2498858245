//! The erasure plan (GDPR Art. 17): per record, what erasing it does, computed without changing
//! anything.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::{Change, ErasureAction, FieldMethod, Located, RetentionBasis, Rules};
use crate::domain::Text;

/// What the plan does with one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Planned {
    Delete,
    Anonymise {
        fields: Vec<(String, FieldMethod)>,
    },
    /// Kept under an Art. 17(3) exception until `until` (then deleted by the controller's own
    /// retention schedule, or by a later request).
    Retain {
        basis: RetentionBasis,
        law: Option<Text>,
        #[serde(with = "iso_date")]
        until: Date,
    },
    /// Concerns other people too: reported, not erased.
    Shared,
    /// No erasure rule is configured for the collection: staff decide by hand.
    Unruled,
}

impl Planned {
    pub fn action(&self) -> &'static str {
        match self {
            Planned::Delete => "delete",
            Planned::Anonymise { .. } => "anonymise",
            Planned::Retain { .. } => "retain",
            Planned::Shared => "shared",
            Planned::Unruled => "unruled",
        }
    }

    /// The change executing this item makes; `None` for what is kept.
    pub fn change(&self) -> Option<Change> {
        match self {
            Planned::Delete => Some(Change::Delete),
            Planned::Anonymise { fields } => {
                Some(Change::Update(fields.iter().map(|(f, m)| (f.clone(), m.as_write())).collect()))
            }
            Planned::Retain { .. } | Planned::Shared | Planned::Unruled => None,
        }
    }
}

/// What erasing `record` does under its collection's `rules`, on `today` (the controller's date).
///
/// A retained record whose retention has already ended is deleted: the exception no longer
/// applies (Art. 17(3) keeps data only "to the extent that processing is necessary").
pub fn plan(rules: &Rules, record: &Located, today: Date) -> Planned {
    let Some(rule) = &rules.erasure else { return Planned::Unruled };
    match rule.action {
        ErasureAction::Delete => Planned::Delete,
        ErasureAction::Anonymise => {
            Planned::Anonymise { fields: rule.fields.iter().map(|(f, m)| (f.clone(), m.clone())).collect() }
        }
        ErasureAction::Shared => Planned::Shared,
        ErasureAction::Retain => {
            let start = rule
                .from_column
                .as_deref()
                .and_then(|c| record.values.get(c))
                .and_then(|v| v.as_str())
                .and_then(parse_date_prefix)
                .unwrap_or(today);
            let months = rule.years.unwrap_or(0) * 12 + rule.months.unwrap_or(0);
            let until = add_months(start, months);
            match rule.basis {
                Some(basis) if until > today => Planned::Retain { basis, law: rule.law.clone(), until },
                // Validated configurations always have a basis; without one nothing justifies keeping.
                _ => Planned::Delete,
            }
        }
    }
}

/// `YYYY-MM-DD` at the start of a date or an ISO 8601 timestamp.
fn parse_date_prefix(s: &str) -> Option<Date> {
    let head = s.trim().get(..10)?;
    Date::parse(head, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// The same day `months` later, on the month's last day when it has no such day.
pub fn add_months(date: Date, months: u32) -> Date {
    let total = date.year() * 12 + (date.month() as i32 - 1) + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

/// A date stored as `YYYY-MM-DD`.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d.format(format_description!("[year]-[month]-[day]")).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]")).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;
    use crate::plans::ErasureRule;

    fn located(values: serde_json::Value) -> Located {
        Located {
            collection: "invoices".into(),
            key: json!({"id": 7}).as_object().unwrap().clone(),
            values: values.as_object().unwrap().clone(),
        }
    }

    fn rules(erasure: &str) -> Rules {
        let rule: ErasureRule = toml::from_str(erasure).unwrap();
        Rules { key: vec!["id".into()], erasure: Some(rule), ..Rules::default() }
    }

    const INVOICES: &str = "action = 'retain'\nbasis = 'legal-obligation'\nyears = 10\nfrom_column = 'issued_on'\nlaw = 'Code de commerce, art. L123-22'";

    #[test]
    fn an_invoice_is_kept_ten_years_from_its_date() {
        let today = date!(2026 - 03 - 10);
        let p = plan(&rules(INVOICES), &located(json!({"issued_on": "2024-02-29"})), today);
        assert_eq!(
            p,
            Planned::Retain {
                basis: RetentionBasis::LegalObligation,
                law: Some(Text::Plain("Code de commerce, art. L123-22".into())),
                until: date!(2034 - 02 - 28),
            }
        );
        assert_eq!(p.change(), None, "a retained record is never changed");
        // A timestamp counts from its date.
        let p = plan(&rules(INVOICES), &located(json!({"issued_on": "2020-06-15T10:00:00+02:00"})), today);
        assert!(matches!(p, Planned::Retain { until, .. } if until == date!(2030 - 06 - 15)));
    }

    #[test]
    fn a_retention_that_has_ended_no_longer_justifies_keeping() {
        let p = plan(&rules(INVOICES), &located(json!({"issued_on": "2015-01-31"})), date!(2026 - 03 - 10));
        assert_eq!(p, Planned::Delete);
        assert_eq!(p.change(), Some(Change::Delete));
    }

    #[test]
    fn without_a_usable_start_date_retention_counts_from_today() {
        for values in [json!({}), json!({"issued_on": null}), json!({"issued_on": "soon"})] {
            let p = plan(&rules(INVOICES), &located(values), date!(2026 - 01 - 31));
            assert!(matches!(p, Planned::Retain { until, .. } if until == date!(2036 - 01 - 31)), "{p:?}");
        }
    }

    #[test]
    fn other_actions_map_to_their_change() {
        let today = date!(2026 - 03 - 10);
        let anonymise = plan(
            &rules("action = 'anonymise'\nfields = { phone = 'mask', name = 'null' }"),
            &located(json!({})),
            today,
        );
        assert_eq!(
            anonymise.change(),
            Some(Change::Update(vec![
                ("name".into(), crate::plans::FieldWrite::Null),
                ("phone".into(), crate::plans::FieldWrite::Mask)
            ]))
        );
        assert_eq!(plan(&rules("action = 'shared'"), &located(json!({})), today).change(), None);
        assert_eq!(plan(&Rules::default(), &located(json!({})), today), Planned::Unruled);
    }

    #[test]
    fn plans_round_trip_through_their_stored_form() {
        let items = [
            Planned::Delete,
            Planned::Anonymise {
                fields: vec![("city".into(), FieldMethod::Value(json!("—"))), ("x".into(), FieldMethod::Hash)],
            },
            Planned::Retain { basis: RetentionBasis::LegalClaims, law: None, until: date!(2031 - 12 - 31) },
            Planned::Shared,
            Planned::Unruled,
        ];
        for item in items {
            let text = serde_json::to_string(&item).unwrap();
            assert_eq!(serde_json::from_str::<Planned>(&text).unwrap(), item, "{text}");
        }
    }

    #[test]
    fn months_are_added_by_the_calendar() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2026 - 11 - 30), 3), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2026 - 03 - 10), 0), date!(2026 - 03 - 10));
    }
}
