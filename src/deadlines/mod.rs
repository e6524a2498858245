//! The legal clock: when a request must be answered. Pure code, no I/O.
//!
//! - [`calendar`]: public holiday calendars per country, computed (Easter included).
//! - [`zone`]: the controller's local date of an instant, for the supported time zones.
//! - [`counting`]: Regulation 1182/71 Art. 3 period counting (calendar months, working-day roll).
//! - [`mod@eu_gdpr`]: the EU GDPR policy (Art. 12(3)).
//!
//! A jurisdiction [`Policy`] is a function from the date of receipt and a [`HolidayCalendar`] to a
//! [`Deadline`]; further policies (UK GDPR, CCPA, LGPD) are new variants beside
//! [`Policy::EuGdpr`] and new modules beside [`eu_gdpr()`], reusing the calendar and counting
//! steps. Clock pauses will shift the counting, not the calendars.

pub mod calendar;
pub mod counting;
pub mod eu_gdpr;
pub mod zone;

use std::fmt;
use std::str::FromStr;

use time::Date;

pub use calendar::{Country, Holiday, HolidayCalendar, UnknownCountry, easter_sunday};
pub use counting::{add_months_clamped, roll_to_working_day};
pub use eu_gdpr::eu_gdpr;
pub use zone::{TimeZoneError, Zone, local_date};

/// The deadlines of one request, all as the controller's local dates. Each is the last day on
/// which the action is in time (the period ends at the end of that day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    /// The day of receipt, which is not counted (Regulation 1182/71 Art. 3(1)).
    pub received_on: Date,
    /// The answer is due by the end of this day.
    pub due: Date,
    /// The last day on which an extension may be notified, with its reasons.
    pub extension_notice_by: Date,
    /// The answer is due by the end of this day if the deadline was lawfully extended.
    pub extended_due: Date,
}

impl Deadline {
    /// Whether an extension notified on `notice_on` (the controller's local date) is in time.
    /// GDPR Art. 12(3): the person must be informed of an extension "within one month of receipt
    /// of the request"; a later extension is refused.
    pub fn extension_allowed_on(&self, notice_on: Date) -> bool {
        notice_on <= self.extension_notice_by
    }
}

/// A jurisdiction's rules for answering a request. Chosen by configuration (and, when the operator
/// enables several, on the request form); parsed from its code (`eu-gdpr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// GDPR Art. 12(3), counted by Regulation 1182/71.
    EuGdpr,
}

/// A policy code Dossier does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deadline policy {0:?} (known: eu-gdpr)")]
pub struct UnknownPolicy(pub String);

impl Policy {
    pub const ALL: [Policy; 1] = [Policy::EuGdpr];

    pub fn code(self) -> &'static str {
        match self {
            Policy::EuGdpr => "eu-gdpr",
        }
    }

    /// The deadlines of a request received on `received_on` (the controller's local date).
    pub fn deadline(self, received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
        match self {
            Policy::EuGdpr => eu_gdpr(received_on, calendar),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Policy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|policy| policy.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error("the deadline of a request received on {received_on} is past the supported dates")]
    OutOfRange { received_on: Date },
}

/// Whole days from `today` to `due`: 0 on the due day itself (still in time), negative once
/// overdue (-1 the day after).
pub fn days_left(today: Date, due: Date) -> i64 {
    (due - today).whole_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_left_counts_down_to_zero_then_negative() {
        let due = date!(2026 - 03 - 02);
        assert_eq!(days_left(date!(2026 - 02 - 23), due), 7);
        assert_eq!(days_left(date!(2026 - 03 - 01), due), 1);
        assert_eq!(days_left(due, due), 0);
        assert_eq!(days_left(date!(2026 - 03 - 03), due), -1);
        // Across a month end and a year end.
        assert_eq!(days_left(date!(2025 - 12 - 31), date!(2026 - 01 - 31)), 31);
        assert!(days_left(Date::MIN, Date::MAX) > 0);
    }

    #[test]
    fn an_extension_is_refused_after_the_first_deadline() {
        let calendar = HolidayCalendar::new(Country::France);
        let deadline = eu_gdpr(date!(2026 - 01 - 31), &calendar).unwrap();
        assert!(deadline.extension_allowed_on(date!(2026 - 02 - 10)));
        // The due day itself (Monday 2 March, rolled from Saturday 28 February) is still in time.
        assert!(deadline.extension_allowed_on(date!(2026 - 03 - 02)));
        assert!(!deadline.extension_allowed_on(date!(2026 - 03 - 03)));
    }

    #[test]
    fn parses_policies() {
        assert_eq!("eu-gdpr".parse(), Ok(Policy::EuGdpr));
        assert_eq!(" EU-GDPR ".parse(), Ok(Policy::EuGdpr));
        for unknown in ["", "gdpr", "uk-gdpr", "ccpa"] {
            assert_eq!(unknown.parse::<Policy>(), Err(UnknownPolicy(unknown.to_owned())));
        }
        for policy in Policy::ALL {
            assert_eq!(policy.to_string().parse(), Ok(policy));
        }
        let calendar = HolidayCalendar::new(Country::France);
        assert_eq!(
            Policy::EuGdpr.deadline(date!(2026 - 01 - 31), &calendar),
            eu_gdpr(date!(2026 - 01 - 31), &calendar)
        );
    }

    #[test]
    fn from_an_instant_to_a_deadline() {
        // 23:30 in Paris on Saturday 31 January 2026 (22:30 UTC): received that day.
        let received_on = local_date(time::macros::datetime!(2026-01-31 22:30 UTC), "Europe/Paris").unwrap();
        let calendar = HolidayCalendar::new("FR".parse().unwrap());
        let deadline = eu_gdpr(received_on, &calendar).unwrap();
        assert_eq!(deadline.due, date!(2026 - 03 - 02));
        assert_eq!(deadline.extended_due, date!(2026 - 04 - 30));
        // 00:30 in Paris on 1 February (23:30 UTC on 31 January): received on 1 February.
        let received_on = local_date(time::macros::datetime!(2026-01-31 23:30 UTC), "Europe/Paris").unwrap();
        assert_eq!(received_on, date!(2026 - 02 - 01));
        assert_eq!(
            eu_gdpr(received_on, &calendar).unwrap().due,
            date!(2026 - 03 - 02) // Sunday 1 March rolls to Monday 2 March
        );
    }
}
