//! The erasure plan (GDPR Art. 17): per record, what erasing it does, computed without changing
//! anything.
//!
//! The action is the collection's rule, or, with per-row rules, the first `when` whose condition
//! holds on the record's values (else `default`). A kept record (`retain`, `pseudonymise`, a
//! `shared` record kept on a ground) is kept until its anchor date (the row's or its parent's
//! `from_column`, or the end of the financial year containing it) plus its period; once that has
//! passed, nothing justifies keeping it (Art. 17(3) keeps data only "to the extent that processing
//! is necessary") and it is deleted. A record whose anchor is missing or not a date goes to staff:
//! counting from the day of the erasure would tell the person a date the law does not give.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::{ActionRule, Change, CountFrom, ErasureAction, FieldMethod, Located, RetentionBasis, Rules};
use crate::domain::Text;

/// What the plan does with one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Planned {
    Delete,
    /// Anonymised by unlinking: these fields cleared (NULL or a fixed value).
    Anonymise {
        fields: Vec<(String, FieldMethod)>,
    },
    /// Pseudonymised (keyed hash, mask) and kept under an Art. 17(3) exception until `until`:
    /// still the person's data (GDPR Art. 4(5), Recital 26).
    Pseudonymise {
        fields: Vec<(String, FieldMethod)>,
        basis: RetentionBasis,
        law: Option<Text>,
        #[serde(with = "iso_date")]
        until: Date,
    },
    /// Kept under an Art. 17(3) exception until `until` (then deleted by the controller's own
    /// retention schedule, or by a later request).
    Retain {
        basis: RetentionBasis,
        law: Option<Text>,
        #[serde(with = "iso_date")]
        until: Date,
    },
    /// Concerns other people too, so never deleted by this request: the person's own `fields` on
    /// it are cleared, and/or it is unlinked by another collection's erasure (`unlinked_by`),
    /// and/or kept under an Art. 17(3) ground (`kept`).
    Shared {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<(String, FieldMethod)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unlinked_by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kept: Option<Kept>,
    },
    /// The rule keeps the record for a period, but its anchor (`column`) is missing or not a
    /// date; or (`column` absent) a shared record's ground has ended. Staff decide, as for
    /// [`Planned::Unruled`] (its stored action is `unruled`).
    NeedsDecision {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<String>,
    },
    /// No erasure rule is configured for the collection: staff decide by hand.
    Unruled,
}

/// Why and until when a record is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub basis: RetentionBasis,
    pub law: Option<Text>,
    #[serde(with = "iso_date")]
    pub until: Date,
}

impl Planned {
    /// The item's stored action. A record needing a decision is stored as `unruled`: staff handle
    /// both the same way (a reason is required to approve it, see `services::changes`).
    pub fn action(&self) -> &'static str {
        match self {
            Planned::Delete => "delete",
            Planned::Anonymise { .. } => "anonymise",
            Planned::Pseudonymise { .. } => "pseudonymise",
            Planned::Retain { .. } => "retain",
            Planned::Shared { .. } => "shared",
            Planned::NeedsDecision { .. } | Planned::Unruled => "unruled",
        }
    }

    /// The change executing this item makes; `None` for what is kept as it is.
    pub fn change(&self) -> Option<Change> {
        let update = |fields: &[(String, FieldMethod)]| {
            Change::Update(fields.iter().map(|(f, m)| (f.clone(), m.as_write())).collect())
        };
        match self {
            Planned::Delete => Some(Change::Delete),
            Planned::Anonymise { fields } | Planned::Pseudonymise { fields, .. } => Some(update(fields)),
            Planned::Shared { fields, .. } if !fields.is_empty() => Some(update(fields)),
            Planned::Retain { .. } | Planned::Shared { .. } | Planned::NeedsDecision { .. } | Planned::Unruled => None,
        }
    }

    /// Whether the record stays in the source as the person's data after the erasure (listed as
    /// kept, with its ground and end date).
    pub fn kept(&self) -> Option<Kept> {
        match self {
            Planned::Retain { basis, law, until } | Planned::Pseudonymise { basis, law, until, .. } => {
                Some(Kept { basis: *basis, law: law.clone(), until: *until })
            }
            Planned::Shared { kept, .. } => kept.clone(),
            _ => None,
        }
    }
}

/// The last day of the controller's financial year (`financial_year_end = "MM-DD"` in
/// `[controller]`; default 12-31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearEnd {
    month: Month,
    day: u8,
}

impl YearEnd {
    pub const DECEMBER_31: YearEnd = YearEnd { month: Month::December, day: 31 };

    /// The end of the financial year that contains `date` (on 28 February in a year without
    /// the 29th, for a year ending on 29 February).
    pub fn containing(self, date: Date) -> Date {
        let end = |year: i32| {
            Date::from_calendar_date(year, self.month, self.day.min(self.month.length(year))).unwrap_or(date)
        };
        let this = end(date.year());
        if this >= date { this } else { end(date.year() + 1) }
    }
}

impl Default for YearEnd {
    fn default() -> Self {
        Self::DECEMBER_31
    }
}

impl FromStr for YearEnd {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wrong = || format!("`{s}` is not a day of the year written MM-DD (e.g. \"12-31\" or \"06-30\")");
        let (m, d) = s.trim().split_once('-').ok_or_else(wrong)?;
        let (m, d): (u8, u8) = (m.parse().map_err(|_| wrong())?, d.parse().map_err(|_| wrong())?);
        let month = Month::try_from(m).map_err(|_| wrong())?;
        // 29 February is allowed (a leap year's end); every other day must exist.
        if d == 0 || d > month.length(2024) {
            return Err(wrong());
        }
        Ok(Self { month, day: d })
    }
}

impl fmt::Display for YearEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month as u8, self.day)
    }
}

impl<'de> Deserialize<'de> for YearEnd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// What erasing `record` does under its collection's `rules`, on `today` (the controller's date),
/// for a controller whose financial year ends on `year_end`.
pub fn plan(rules: &Rules, record: &Located, today: Date, year_end: YearEnd) -> Planned {
    let Some(erasure) = &rules.erasure else { return Planned::Unruled };
    let Some(rule) = erasure.select(|field| record.values.get(field)) else { return Planned::Unruled };
    let fields = || rule.fields.iter().map(|(f, m)| (f.clone(), m.clone())).collect::<Vec<_>>();
    let kept = match (rule.keeps(), rule.basis) {
        (true, Some(basis)) => match kept_until(rule, record, year_end) {
            Some(until) if until > today => Some(Kept { basis, law: rule.law.clone(), until }),
            Some(_) => None,
            None => return Planned::NeedsDecision { column: rule.from_column.clone() },
        },
        _ => None,
    };
    match (rule.action, kept) {
        (ErasureAction::Delete, _) => Planned::Delete,
        (ErasureAction::Anonymise, _) => Planned::Anonymise { fields: fields() },
        (ErasureAction::Retain, Some(Kept { basis, law, until })) => Planned::Retain { basis, law, until },
        (ErasureAction::Pseudonymise, Some(Kept { basis, law, until })) => {
            Planned::Pseudonymise { fields: fields(), basis, law, until }
        }
        // The period has ended (or, for an unvalidated rule, no ground): nothing justifies keeping.
        (ErasureAction::Retain | ErasureAction::Pseudonymise, None) => Planned::Delete,
        (ErasureAction::Shared, kept) => {
            if kept.is_none() && rule.fields.is_empty() && rule.unlinked_by.is_none() {
                // Its ground has ended, and it concerns other people: not ours alone to delete.
                return Planned::NeedsDecision { column: None };
            }
            Planned::Shared { fields: fields(), unlinked_by: rule.unlinked_by.clone(), kept }
        }
    }
}

/// The day a kept record's period ends: its anchor date (or the end of the financial year that
/// contains it) plus `years` and `months`. `None` when the anchor is missing or not a date.
fn kept_until(rule: &ActionRule, record: &Located, year_end: YearEnd) -> Option<Date> {
    let column = rule.from_column.as_deref()?;
    let anchor = record.values.get(column).and_then(|v| v.as_str()).and_then(parse_date_prefix)?;
    let start = match rule.count_from.unwrap_or(CountFrom::Date) {
        CountFrom::Date => anchor,
        CountFrom::FinancialYearEnd => year_end.containing(anchor),
    };
    Some(add_months(start, rule.years.unwrap_or(0).saturating_mul(12).saturating_add(rule.months.unwrap_or(0))))
}

/// `YYYY-MM-DD` at the start of a date or an ISO 8601 timestamp.
fn parse_date_prefix(s: &str) -> Option<Date> {
    let head = s.trim().get(..10)?;
    Date::parse(head, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// The same day `months` later, on the month's last day when it has no such day. A period beyond
/// the last representable date ends there: a retention too long to count is kept, never ended.
pub fn add_months(date: Date, months: u32) -> Date {
    let total = i64::from(date.year()) * 12 + (date.month() as i64 - 1) + i64::from(months);
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let Ok(year) = i32::try_from(year) else { return Date::MAX };
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::December);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
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
        let p = plan(&rules(INVOICES), &located(json!({"issued_on": "2024-02-29"})), today, YearEnd::DECEMBER_31);
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
        let p = plan(
            &rules(INVOICES),
            &located(json!({"issued_on": "2020-06-15T10:00:00+02:00"})),
            today,
            YearEnd::DECEMBER_31,
        );
        assert!(matches!(p, Planned::Retain { until, .. } if until == date!(2030 - 06 - 15)));
    }

    #[test]
    fn a_retention_that_has_ended_no_longer_justifies_keeping() {
        let p = plan(
            &rules(INVOICES),
            &located(json!({"issued_on": "2015-01-31"})),
            date!(2026 - 03 - 10),
            YearEnd::DECEMBER_31,
        );
        assert_eq!(p, Planned::Delete);
        assert_eq!(p.change(), Some(Change::Delete));
    }

    #[test]
    fn without_a_usable_anchor_staff_decide() {
        // Counting from the day of the erasure would promise a date the law does not give.
        for values in [json!({}), json!({"issued_on": null}), json!({"issued_on": "soon"}), json!({"issued_on": 2024})]
        {
            let p = plan(&rules(INVOICES), &located(values), date!(2026 - 01 - 31), YearEnd::DECEMBER_31);
            assert_eq!(p, Planned::NeedsDecision { column: Some("issued_on".into()) });
            assert_eq!((p.change(), p.action()), (None, "unruled"), "handled like a record without a rule");
        }
    }

    #[test]
    fn a_period_may_run_from_the_end_of_the_financial_year() {
        let rule = "action = 'retain'\nbasis = 'legal-obligation'\nyears = 10\nfrom_column = 'orders.ordered_on'\n\
                    count_from = 'financial-year-end'";
        let today = date!(2026 - 03 - 10);
        let until = |on: &str, year_end: &str| match plan(
            &rules(rule),
            &located(json!({ "orders.ordered_on": on })),
            today,
            year_end.parse().unwrap(),
        ) {
            Planned::Retain { until, .. } => Some(until),
            _ => None,
        };
        assert_eq!(until("2019-03-14", "12-31"), Some(date!(2029 - 12 - 31)));
        assert_eq!(until("2019-03-14", "06-30"), Some(date!(2029 - 06 - 30)));
        assert_eq!(until("2019-07-01", "06-30"), Some(date!(2030 - 06 - 30)));
        assert_eq!(until("2019-06-30", "06-30"), Some(date!(2029 - 06 - 30)), "the last day is in its own year");
        // Ended on 31 December 2025: deleted, although the order itself is less than 10 years old.
        assert_eq!(until("2015-12-31", "12-31"), None);
        assert_eq!(until("2016-01-01", "12-31"), Some(date!(2026 - 12 - 31)));
    }

    #[test]
    fn financial_year_ends_are_days_of_the_year() {
        assert_eq!("12-31".parse::<YearEnd>().unwrap(), YearEnd::DECEMBER_31);
        assert_eq!("06-30".parse::<YearEnd>().unwrap().to_string(), "06-30");
        let leap: YearEnd = "02-29".parse().unwrap();
        assert_eq!(leap.containing(date!(2025 - 01 - 10)), date!(2025 - 02 - 28));
        assert_eq!(leap.containing(date!(2024 - 02 - 29)), date!(2024 - 02 - 29));
        for bad in ["13-01", "02-30", "00-10", "12-00", "1231", "12/31", "", "june"] {
            assert!(bad.parse::<YearEnd>().unwrap_err().contains("MM-DD"), "{bad}");
        }
    }

    #[test]
    fn the_first_matching_when_applies_else_the_default() {
        let r = rules(
            "when = [\n\
               { where = \"status = 'draft'\", action = 'delete' },\n\
               { where = \"fk_statut > 0 AND datef < '2026-01-01'\", action = 'retain', basis = 'legal-obligation', years = 10, from_column = 'datef', count_from = 'financial-year-end' },\n\
             ]\n\
             default = { action = 'anonymise', fields = { note = 'null' } }",
        );
        r.validate("invoices").unwrap();
        assert_eq!(r.needed_columns(), vec!["status", "fk_statut", "datef"]);
        let today = date!(2026 - 03 - 10);
        let p = |v| plan(&r, &located(v), today, YearEnd::DECEMBER_31);
        // A draft is deleted even when it also matches the second entry: the first one wins.
        assert_eq!(p(json!({"status": "draft", "fk_statut": 1, "datef": "2024-05-02"})), Planned::Delete);
        assert_eq!(
            p(json!({"status": "posted", "fk_statut": 1, "datef": "2024-05-02"})),
            Planned::Retain { basis: RetentionBasis::LegalObligation, law: None, until: date!(2034 - 12 - 31) }
        );
        // Numbers as text (a CSV file) compare as numbers.
        assert!(matches!(
            p(json!({"status": "posted", "fk_statut": "2", "datef": "2024-05-02"})),
            Planned::Retain { .. }
        ));
        // No entry holds (a NULL status is not 'draft', fk_statut 0 is not > 0): the default.
        let default = p(json!({"status": null, "fk_statut": 0, "datef": "2024-05-02"}));
        assert_eq!(default, Planned::Anonymise { fields: vec![("note".into(), FieldMethod::Null)] });
        assert_eq!(p(json!({})), default, "missing values are NULL");
    }

    #[test]
    fn a_pseudonymised_record_is_kept_with_its_ground_and_end_date() {
        let r = rules(
            "action = 'pseudonymise'\nfields = { email = 'hash', first_name = 'null' }\nbasis = 'legal-claims'\n\
             years = 3\nfrom_column = 'consent_at'",
        );
        r.validate("subscribers").unwrap();
        let today = date!(2026 - 03 - 10);
        let p = plan(&r, &located(json!({"consent_at": "2025-09-01 10:00:00"})), today, YearEnd::DECEMBER_31);
        let fields = vec![("email".to_owned(), FieldMethod::Hash), ("first_name".to_owned(), FieldMethod::Null)];
        assert_eq!(
            p,
            Planned::Pseudonymise {
                fields: fields.clone(),
                basis: RetentionBasis::LegalClaims,
                law: None,
                until: date!(2028 - 09 - 01)
            }
        );
        assert_eq!(p.kept().map(|k| k.until), Some(date!(2028 - 09 - 01)));
        assert_eq!(
            p.change(),
            Some(Change::Update(vec![
                ("email".into(), crate::plans::FieldWrite::Hash),
                ("first_name".into(), crate::plans::FieldWrite::Null)
            ]))
        );
        // Its period over, nothing justifies keeping even a pseudonymised record.
        let ended = plan(&r, &located(json!({"consent_at": "2020-01-01"})), today, YearEnd::DECEMBER_31);
        assert_eq!(ended, Planned::Delete);
    }

    #[test]
    fn a_shared_record_is_unlinked_cleared_or_kept_on_a_ground() {
        let today = date!(2026 - 03 - 10);
        let p = |rule: &str, v| plan(&rules(rule), &located(v), today, YearEnd::DECEMBER_31);
        let unlinked = p("action = 'shared'\nunlinked_by = 'contacts.company_id'", json!({}));
        assert_eq!(
            unlinked,
            Planned::Shared { fields: vec![], unlinked_by: Some("contacts.company_id".into()), kept: None }
        );
        assert_eq!((unlinked.change(), unlinked.kept()), (None, None));
        let cleared = p("action = 'shared'\nfields = { contact_name = 'null' }", json!({}));
        assert_eq!(
            cleared.change(),
            Some(Change::Update(vec![("contact_name".into(), crate::plans::FieldWrite::Null)]))
        );
        let ground = "action = 'shared'\nbasis = 'legal-claims'\nyears = 5\nfrom_column = 'signed_on'";
        let kept = p(ground, json!({"signed_on": "2024-01-15"}));
        assert_eq!(kept.kept().map(|k| (k.basis, k.until)), Some((RetentionBasis::LegalClaims, date!(2029 - 01 - 15))));
        // Its ground has ended and it is other people's too: staff decide.
        assert_eq!(p(ground, json!({"signed_on": "2019-01-15"})), Planned::NeedsDecision { column: None });
        assert_eq!(p(ground, json!({"signed_on": null})), Planned::NeedsDecision { column: Some("signed_on".into()) });
    }

    #[test]
    fn other_actions_map_to_their_change() {
        let today = date!(2026 - 03 - 10);
        let anonymise = plan(
            &rules("action = 'anonymise'\nfields = { phone = 'null', name = { value = '—' } }"),
            &located(json!({})),
            today,
            YearEnd::DECEMBER_31,
        );
        assert_eq!(
            anonymise.change(),
            Some(Change::Update(vec![
                ("name".into(), crate::plans::FieldWrite::Value(json!("—"))),
                ("phone".into(), crate::plans::FieldWrite::Null)
            ]))
        );
        assert_eq!(plan(&Rules::default(), &located(json!({})), today, YearEnd::DECEMBER_31), Planned::Unruled);
    }

    #[test]
    fn plans_round_trip_through_their_stored_form() {
        let items = [
            Planned::Delete,
            Planned::Anonymise {
                fields: vec![("city".into(), FieldMethod::Value(json!("—"))), ("x".into(), FieldMethod::Hash)],
            },
            Planned::Retain { basis: RetentionBasis::LegalClaims, law: None, until: date!(2031 - 12 - 31) },
            Planned::Pseudonymise {
                fields: vec![("email".into(), FieldMethod::Hash)],
                basis: RetentionBasis::LegalClaims,
                law: Some(Text::Plain("Code civil, art. 2224".into())),
                until: date!(2029 - 06 - 30),
            },
            Planned::Shared { fields: vec![], unlinked_by: Some("contacts.company_id".into()), kept: None },
            Planned::Shared {
                fields: vec![],
                unlinked_by: None,
                kept: Some(Kept { basis: RetentionBasis::Archiving, law: None, until: date!(2030 - 01 - 01) }),
            },
            Planned::NeedsDecision { column: Some("orders.ordered_on".into()) },
            Planned::Unruled,
        ];
        for item in items {
            let text = serde_json::to_string(&item).unwrap();
            assert_eq!(serde_json::from_str::<Planned>(&text).unwrap(), item, "{text}");
        }
        // A plan stored before shared records needed an unlinking or a ground still reads.
        let old: Planned = serde_json::from_str(r#"{"action":"shared"}"#).unwrap();
        assert_eq!(old, Planned::Shared { fields: vec![], unlinked_by: None, kept: None });
    }

    #[test]
    fn months_are_added_by_the_calendar() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2026 - 11 - 30), 3), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2026 - 03 - 10), 0), date!(2026 - 03 - 10));
    }
}
