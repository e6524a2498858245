//! The controller's time zone, without a tz database: the day a request is received is the
//! controller's local date (a request received at 23:30 in Paris is received that day, even though
//! it is already the next day in UTC).
//!
//! Only zones whose rules are fixed by law and stable are supported: `UTC`, and the European zones
//! that follow the common EU summer-time rule (Directive 2000/84/EC, in force in this form since
//! 1996): summer time from the last Sunday of March 01:00 UTC to the last Sunday of October
//! 01:00 UTC. A new family of rules (e.g. the US rule) is a new `DstRule` variant.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// How a zone moves between standard and summer time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DstRule {
    /// No summer time.
    None,
    /// Directive 2000/84/EC: one hour ahead from the last Sunday of March 01:00 UTC to the last
    /// Sunday of October 01:00 UTC.
    Eu,
}

/// A supported time zone, parsed from its IANA name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    name: &'static str,
    standard_offset_hours: i8,
    dst: DstRule,
}

const fn zone(name: &'static str, standard_offset_hours: i8, dst: DstRule) -> Zone {
    Zone { name, standard_offset_hours, dst }
}

/// Every supported zone. Each `Eu` zone here applied the common rule from its first transition
/// in 1996 on (Lisbon moved back from CET to WET/WEST at that very transition).
const ZONES: &[Zone] = &[
    zone("UTC", 0, DstRule::None),
    zone("Etc/UTC", 0, DstRule::None),
    zone("Europe/London", 0, DstRule::Eu),
    zone("Europe/Dublin", 0, DstRule::Eu),
    zone("Europe/Lisbon", 0, DstRule::Eu),
    zone("Europe/Paris", 1, DstRule::Eu),
    zone("Europe/Berlin", 1, DstRule::Eu),
    zone("Europe/Brussels", 1, DstRule::Eu),
    zone("Europe/Madrid", 1, DstRule::Eu),
    zone("Europe/Rome", 1, DstRule::Eu),
    zone("Europe/Amsterdam", 1, DstRule::Eu),
    zone("Europe/Luxembourg", 1, DstRule::Eu),
    zone("Europe/Vienna", 1, DstRule::Eu),
    zone("Europe/Copenhagen", 1, DstRule::Eu),
    zone("Europe/Stockholm", 1, DstRule::Eu),
    zone("Europe/Helsinki", 2, DstRule::Eu),
    zone("Europe/Athens", 2, DstRule::Eu),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error("unknown or unsupported time zone {0:?} (supported: UTC and EU zones such as Europe/Paris)")]
    Unknown(String),
    /// Before 1996-03-31 01:00 UTC the zones' rules differed; Dossier does not guess.
    #[error("{zone} is only supported from 1996-03-31 01:00 UTC on")]
    BeforeCommonRule { zone: &'static str },
    #[error("the instant is outside the supported range of dates")]
    OutOfRange,
}

impl Zone {
    pub const UTC: Zone = zone("UTC", 0, DstRule::None);

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The zone's offset from UTC at `instant`.
    pub fn offset_at(self, instant: OffsetDateTime) -> Result<UtcOffset, TimeZoneError> {
        let standard = self.standard_offset_hours;
        let hours = match self.dst {
            DstRule::None => standard,
            DstRule::Eu => {
                let utc = instant.checked_to_offset(UtcOffset::UTC).ok_or(TimeZoneError::OutOfRange)?;
                let year = utc.year();
                let first_rule = eu_transition(1996, Month::March).ok_or(TimeZoneError::OutOfRange)?;
                if utc < first_rule {
                    return Err(TimeZoneError::BeforeCommonRule { zone: self.name });
                }
                let starts = eu_transition(year, Month::March).ok_or(TimeZoneError::OutOfRange)?;
                let ends = eu_transition(year, Month::October).ok_or(TimeZoneError::OutOfRange)?;
                if starts <= utc && utc < ends { standard + 1 } else { standard }
            }
        };
        UtcOffset::from_hms(hours, 0, 0).map_err(|_| TimeZoneError::OutOfRange)
    }

    /// The local calendar date at `instant`.
    pub fn local_date(self, instant: OffsetDateTime) -> Result<Date, TimeZoneError> {
        let offset = self.offset_at(instant)?;
        instant.checked_to_offset(offset).map(OffsetDateTime::date).ok_or(TimeZoneError::OutOfRange)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for Zone {
    type Err = TimeZoneError;

    /// An IANA name from the supported list, matched without regard to ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        ZONES
            .iter()
            .find(|zone| zone.name.eq_ignore_ascii_case(wanted))
            .copied()
            .ok_or_else(|| TimeZoneError::Unknown(s.to_owned()))
    }
}

/// The controller's local date at `instant` in the zone named `tz` (an IANA name such as
/// `Europe/Paris`): the day a request counts as received.
pub fn local_date(instant: OffsetDateTime, tz: &str) -> Result<Date, TimeZoneError> {
    tz.parse::<Zone>()?.local_date(instant)
}

/// 01:00 UTC on the last Sunday of `month` (March or October) of `year`.
fn eu_transition(year: i32, month: Month) -> Option<OffsetDateTime> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = i64::from(last.weekday().number_days_from_sunday());
    let sunday = last.checked_sub(time::Duration::days(back))?;
    debug_assert_eq!(sunday.weekday(), Weekday::Sunday);
    let one_am = Time::from_hms(1, 0, 0).ok()?;
    Some(PrimitiveDateTime::new(sunday, one_am).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_request_at_23_30_local_time_is_received_that_day() {
        // 23:30 in Paris in winter is 22:30 UTC; in summer 21:30 UTC.
        assert_eq!(local_date(datetime!(2026-01-15 22:30 UTC), "Europe/Paris"), Ok(date!(2026 - 01 - 15)));
        assert_eq!(local_date(datetime!(2026-07-15 21:30 UTC), "Europe/Paris"), Ok(date!(2026 - 07 - 15)));
        // 00:30 in Paris is already the next day although UTC is still on the previous one.
        assert_eq!(local_date(datetime!(2026-01-15 23:30 UTC), "Europe/Paris"), Ok(date!(2026 - 01 - 16)));
        // The input's own offset does not matter, only the instant.
        assert_eq!(local_date(datetime!(2026-01-15 17:30 -05:00), "Europe/Paris"), Ok(date!(2026 - 01 - 15)));
        assert_eq!(local_date(datetime!(2026-01-15 18:30 -05:00), "Europe/Paris"), Ok(date!(2026 - 01 - 16)));
        assert_eq!(local_date(datetime!(2026-01-15 23:30 UTC), "UTC"), Ok(date!(2026 - 01 - 15)));
    }

    #[test]
    fn spring_forward_2026_03_29() {
        // Summer time starts at 01:00 UTC on Sunday 29 March 2026.
        let paris: Zone = "Europe/Paris".parse().unwrap();
        assert_eq!(paris.offset_at(datetime!(2026-03-29 00:59:59 UTC)), Ok(UtcOffset::from_hms(1, 0, 0).unwrap()));
        assert_eq!(paris.offset_at(datetime!(2026-03-29 01:00 UTC)), Ok(UtcOffset::from_hms(2, 0, 0).unwrap()));
        // 23:59 local on Saturday 28 (22:59 UTC) and 00:01 local on Sunday 29 (23:01 UTC on 28).
        assert_eq!(paris.local_date(datetime!(2026-03-28 22:59 UTC)), Ok(date!(2026 - 03 - 28)));
        assert_eq!(paris.local_date(datetime!(2026-03-28 23:01 UTC)), Ok(date!(2026 - 03 - 29)));
        // 23:30 local on Sunday 29 is summer time: 21:30 UTC. 22:30 UTC is 00:30 on Monday 30.
        assert_eq!(paris.local_date(datetime!(2026-03-29 21:30 UTC)), Ok(date!(2026 - 03 - 29)));
        assert_eq!(paris.local_date(datetime!(2026-03-29 22:30 UTC)), Ok(date!(2026 - 03 - 30)));
        // Had the change been ignored (UTC+1), 22:30 UTC would wrongly fall on the 29th above.
        // London: 23:30 UTC on the 29th is 00:30 BST on the 30th; a day earlier it is 23:30 GMT.
        let london: Zone = "Europe/London".parse().unwrap();
        assert_eq!(london.local_date(datetime!(2026-03-29 23:30 UTC)), Ok(date!(2026 - 03 - 30)));
        assert_eq!(london.local_date(datetime!(2026-03-28 23:30 UTC)), Ok(date!(2026 - 03 - 28)));
    }

    #[test]
    fn fall_back_2026_10_25() {
        // Summer time ends at 01:00 UTC on Sunday 25 October 2026.
        let paris: Zone = "Europe/Paris".parse().unwrap();
        assert_eq!(paris.offset_at(datetime!(2026-10-25 00:59:59 UTC)), Ok(UtcOffset::from_hms(2, 0, 0).unwrap()));
        assert_eq!(paris.offset_at(datetime!(2026-10-25 01:00 UTC)), Ok(UtcOffset::from_hms(1, 0, 0).unwrap()));
        // 23:30 local on Saturday 24 (summer, 21:30 UTC); 00:01 local on Sunday 25 (22:01 UTC).
        assert_eq!(paris.local_date(datetime!(2026-10-24 21:30 UTC)), Ok(date!(2026 - 10 - 24)));
        assert_eq!(paris.local_date(datetime!(2026-10-24 22:01 UTC)), Ok(date!(2026 - 10 - 25)));
        // 23:30 local on Sunday 25 is winter time again: 22:30 UTC, still the 25th.
        assert_eq!(paris.local_date(datetime!(2026-10-25 22:30 UTC)), Ok(date!(2026 - 10 - 25)));
        assert_eq!(paris.local_date(datetime!(2026-10-25 23:01 UTC)), Ok(date!(2026 - 10 - 26)));
        let lisbon: Zone = "Europe/Lisbon".parse().unwrap();
        assert_eq!(lisbon.local_date(datetime!(2026-10-24 23:30 UTC)), Ok(date!(2026 - 10 - 25)));
        assert_eq!(lisbon.local_date(datetime!(2026-10-25 23:30 UTC)), Ok(date!(2026 - 10 - 25)));
    }

    #[test]
    fn offsets_of_each_family() {
        let winter = datetime!(2026-01-15 12:00 UTC);
        let summer = datetime!(2026-07-15 12:00 UTC);
        for (name, winter_hours, summer_hours) in [
            ("UTC", 0, 0),
            ("Etc/UTC", 0, 0),
            ("Europe/London", 0, 1),
            ("Europe/Dublin", 0, 1),
            ("Europe/Lisbon", 0, 1),
            ("Europe/Paris", 1, 2),
            ("Europe/Berlin", 1, 2),
            ("Europe/Brussels", 1, 2),
            ("Europe/Madrid", 1, 2),
            ("Europe/Rome", 1, 2),
            ("Europe/Amsterdam", 1, 2),
            ("Europe/Helsinki", 2, 3),
            ("Europe/Athens", 2, 3),
        ] {
            let zone: Zone = name.parse().unwrap();
            assert_eq!(zone.name(), name);
            assert_eq!(zone.offset_at(winter).unwrap().whole_hours(), winter_hours, "{name}");
            assert_eq!(zone.offset_at(summer).unwrap().whole_hours(), summer_hours, "{name}");
        }
    }

    #[test]
    fn transitions_are_on_the_last_sunday() {
        for (year, march, october) in [
            (2024, date!(2024 - 03 - 31), date!(2024 - 10 - 27)),
            (2025, date!(2025 - 03 - 30), date!(2025 - 10 - 26)),
            (2026, date!(2026 - 03 - 29), date!(2026 - 10 - 25)),
            (2027, date!(2027 - 03 - 28), date!(2027 - 10 - 31)),
        ] {
            assert_eq!(eu_transition(year, Month::March).unwrap().date(), march);
            assert_eq!(eu_transition(year, Month::October).unwrap().date(), october);
        }
    }

    #[test]
    fn unknown_zones_are_errors() {
        for unknown in ["", "Paris", "Europe/Paris2", "America/New_York", "CET", "+01:00"] {
            assert_eq!(
                local_date(datetime!(2026-01-15 12:00 UTC), unknown),
                Err(TimeZoneError::Unknown(unknown.to_owned()))
            );
        }
        assert_eq!(local_date(datetime!(2026-01-15 12:00 UTC), "europe/paris"), Ok(date!(2026 - 01 - 15)));
    }

    #[test]
    fn before_the_common_rule_and_at_the_edges_are_errors_not_panics() {
        assert_eq!(
            local_date(datetime!(1990-01-15 12:00 UTC), "Europe/Paris"),
            Err(TimeZoneError::BeforeCommonRule { zone: "Europe/Paris" })
        );
        assert_eq!(local_date(datetime!(1990-01-15 12:00 UTC), "UTC"), Ok(date!(1990 - 01 - 15)));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 UTC), "Europe/Paris"), Err(TimeZoneError::OutOfRange));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 -05:00), "UTC"), Err(TimeZoneError::OutOfRange));
    }
}
