//! The legal clock: when a request must be answered. Pure code, no I/O.
//!
//! - [`calendar`]: public holiday calendars per country, computed (Easter included).
//! - [`zone`]: the controller's local date of an instant, for the supported time zones.
//! - [`counting`]: Regulation 1182/71 Art. 3 period counting (calendar months, working-day roll),
//!   and day counts.
//! - The jurisdiction policies: [`mod@eu_gdpr`] (GDPR Art. 12(3)), [`mod@uk_gdpr`] (UK GDPR, ICO
//!   counting), [`mod@ccpa`] (CCPA, §7021) and [`mod@lgpd`] (LGPD Art. 19).
//! - [`clock_policy`]: when the clock starts (receipt or verification) and which waits pause it.
//!
//! A jurisdiction [`Policy`] is a function from the date of receipt and a [`HolidayCalendar`] to a
//! [`Deadline`]; [`effective_deadline`] adds the clock start and the pauses.

pub mod calendar;
pub mod ccpa;
pub mod clock_policy;
pub mod counting;
pub mod eu_gdpr;
pub mod lgpd;
pub mod uk_gdpr;
pub mod zone;

use std::fmt;
use std::str::FromStr;

use time::Date;

pub use calendar::{
    Country, ExtraClosure, Holiday, HolidayCalendar, UnknownCountry, easter_sunday, orthodox_easter_sunday,
};
pub use ccpa::ccpa;
pub use clock_policy::{
    ClockError, ClockEvents, ClockPolicy, ClockStart, EffectiveDeadline, Pause, PauseReason, effective_deadline,
};
pub use counting::{add_months_clamped, roll_to_working_day};
pub use eu_gdpr::eu_gdpr;
pub use lgpd::lgpd;
pub use uk_gdpr::uk_gdpr;
pub use zone::{TimeZoneError, Zone, local_date};

/// The deadlines of one request, all as the controller's local dates. Each is the last day on
/// which the action is in time (the period ends at the end of that day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    /// The day of receipt, which is not counted (Regulation 1182/71 Art. 3(1)).
    pub received_on: Date,
    /// The answer is due by the end of this day.
    pub due: Date,
    /// The last day on which an extension may be notified, with its reasons. Under a policy with
    /// no extension (LGPD) this is `due`, but [`Deadline::extension_allowed_on`] refuses any day.
    pub extension_notice_by: Date,
    /// The answer is due by the end of this day if the deadline was lawfully extended. Under a
    /// policy with no extension (LGPD) this is `due`.
    pub extended_due: Date,
    /// The policy these dates were computed under.
    pub policy: Policy,
    /// The receipt must be confirmed by the end of this day: CCPA §7021(a), 10 business days.
    /// `None` under policies without such a duty.
    pub confirm_receipt_by: Option<Date>,
}

impl Deadline {
    /// Whether an extension notified on `notice_on` (the controller's local date) is in time.
    /// GDPR and UK GDPR Art. 12(3): the person must be informed of an extension "within one month
    /// of receipt of the request"; CCPA: "within the first 45-day period"; a later extension is
    /// refused. The LGPD has no extension: always false.
    pub fn extension_allowed_on(&self, notice_on: Date) -> bool {
        self.policy.allows_extension() && notice_on <= self.extension_notice_by
    }

    /// `(extension_notice_by, extended_due)` when the policy allows an extension.
    pub fn extension(&self) -> Option<(Date, Date)> {
        self.policy.allows_extension().then_some((self.extension_notice_by, self.extended_due))
    }
}

/// A jurisdiction's rules for answering a request. Chosen by configuration (and, when the operator
/// enables several, on the request form); parsed from its code (`eu-gdpr`, `uk-gdpr`, `ccpa`,
/// `lgpd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// GDPR Art. 12(3), counted by Regulation 1182/71.
    EuGdpr,
    /// UK GDPR Art. 12(3), counted as the ICO does.
    UkGdpr,
    /// Cal. Civ. Code 1798.130(a)(2) and Cal. Code Regs. tit. 11 §7021.
    Ccpa,
    /// LGPD Art. 19.
    Lgpd,
}

/// A policy code Dossier does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deadline policy {0:?} (known: eu-gdpr, uk-gdpr, ccpa, lgpd)")]
pub struct UnknownPolicy(pub String);

impl Policy {
    pub const ALL: [Policy; 4] = [Policy::EuGdpr, Policy::UkGdpr, Policy::Ccpa, Policy::Lgpd];

    pub fn code(self) -> &'static str {
        match self {
            Policy::EuGdpr => "eu-gdpr",
            Policy::UkGdpr => "uk-gdpr",
            Policy::Ccpa => "ccpa",
            Policy::Lgpd => "lgpd",
        }
    }

    /// The deadlines of a request received on `received_on` (the controller's local date).
    pub fn deadline(self, received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
        match self {
            Policy::EuGdpr => eu_gdpr(received_on, calendar),
            Policy::UkGdpr => uk_gdpr(received_on, calendar),
            Policy::Ccpa => ccpa(received_on, calendar),
            Policy::Lgpd => lgpd(received_on, calendar),
        }
    }

    /// The deadlines counted from `start` with the clock stopped for `paused_days` days. Only
    /// [`effective_deadline`] calls this, after [`ClockPolicy`] has checked that the policy may
    /// pause: CCPA never does, so its days are ignored here.
    fn deadline_paused(
        self,
        start: Date,
        calendar: &HolidayCalendar,
        paused_days: u32,
    ) -> Result<Deadline, DeadlineError> {
        match self {
            Policy::EuGdpr => eu_gdpr::eu_gdpr_paused(start, calendar, paused_days),
            Policy::UkGdpr => uk_gdpr::uk_gdpr_paused(start, calendar, paused_days),
            Policy::Ccpa => ccpa(start, calendar),
            Policy::Lgpd => lgpd::lgpd_paused(start, calendar, paused_days),
        }
    }

    /// Whether the law lets the controller extend the deadline (GDPR, UK GDPR, CCPA: once, with
    /// notice and reasons; LGPD: no).
    pub fn allows_extension(self) -> bool {
        !matches!(self, Policy::Lgpd)
    }

    /// The holiday calendar used when none is given: France for the EU GDPR (Dossier's demo
    /// controller is French; any EU country can be chosen), England and Wales for the UK GDPR, the
    /// US federal calendar for the CCPA, Brazil for the LGPD.
    pub fn default_country(self) -> Country {
        match self {
            Policy::EuGdpr => Country::France,
            Policy::UkGdpr => Country::UnitedKingdomEnglandWales,
            Policy::Ccpa => Country::UnitedStates,
            Policy::Lgpd => Country::Brazil,
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
        assert_eq!("uk-gdpr".parse(), Ok(Policy::UkGdpr));
        assert_eq!("CCPA".parse(), Ok(Policy::Ccpa));
        assert_eq!("lgpd".parse(), Ok(Policy::Lgpd));
        for unknown in ["", "gdpr", "uk", "ccpa-cpra", "pipeda"] {
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
        for policy in Policy::ALL {
            let calendar = HolidayCalendar::new(policy.default_country());
            let deadline = policy.deadline(date!(2026 - 01 - 31), &calendar).unwrap();
            assert_eq!(deadline.policy, policy);
            assert_eq!(deadline.received_on, date!(2026 - 01 - 31));
            assert_eq!(deadline.confirm_receipt_by.is_some(), policy == Policy::Ccpa);
            assert_eq!(deadline.extension().is_some(), policy.allows_extension());
            assert_eq!(policy.deadline_paused(date!(2026 - 01 - 31), &calendar, 0), Ok(deadline));
        }
    }

    #[test]
    fn one_receipt_date_under_each_policy() {
        let received_on = date!(2026 - 01 - 31);
        let due = |policy: Policy| policy.deadline(received_on, &HolidayCalendar::new(policy.default_country()));
        assert_eq!(due(Policy::EuGdpr).unwrap().due, date!(2026 - 03 - 02));
        assert_eq!(due(Policy::UkGdpr).unwrap().due, date!(2026 - 03 - 02));
        assert_eq!(due(Policy::Ccpa).unwrap().due, date!(2026 - 03 - 17));
        assert_eq!(due(Policy::Lgpd).unwrap().due, date!(2026 - 02 - 16));
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
