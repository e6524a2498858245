//! The controller's time zone, without a tz database: the day a request is received is the
//! controller's local date (a request received at 23:30 in Paris is received that day, even though
//! it is already the next day in UTC).
//!
//! Only zones whose rules are fixed by law and stable are supported, each from the first instant
//! its current rule applies (earlier instants are an error, not a guess):
//! - `UTC`;
//! - the European zones that follow the common EU summer-time rule (Directive 2000/84/EC, in force
//!   in this form since 1996; the UK keeps the same dates under the Summer Time Order 2002): summer
//!   time from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC;
//! - the US zones, under 15 U.S.C. 260a as amended by the Energy Policy Act of 2005 (from 2007):
//!   daylight time from the second Sunday of March 02:00 local standard time to the first Sunday
//!   of November 02:00 local daylight time;
//! - `America/Sao_Paulo`, UTC-3 without summer time since it was abolished (Decreto 9.772/2019,
//!   last transition 2019-02-17).
//!
//! A new family of rules is a new `DstRule` variant.

use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// How a zone moves between standard and summer time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DstRule {
    /// No summer time.
    None,
    /// Directive 2000/84/EC: one hour ahead from the last Sunday of March 01:00 UTC to the last
    /// Sunday of October 01:00 UTC.
    Eu,
    /// 15 U.S.C. 260a (Energy Policy Act of 2005 s. 110): one hour ahead from the second Sunday of
    /// March 02:00 local standard time to the first Sunday of November 02:00 local daylight time.
    Us,
}

/// The first instant a zone's current rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Since {
    unix_seconds: i64,
    label: &'static str,
}

/// Any instant.
const ALWAYS: Since = Since { unix_seconds: i64::MIN, label: "any date" };
/// The first common EU transition, 1996-03-31 01:00 UTC (Lisbon moved back from CET to WET/WEST
/// at that very transition).
const EU_1996: Since = Since { unix_seconds: 828_234_000, label: "1996-03-31 01:00 UTC" };
/// 2007-01-01 00:00 UTC: in standard time under both the old and the 2005 US rules, before the
/// first transition under the new one (11 March 2007).
const US_2007: Since = Since { unix_seconds: 1_167_609_600, label: "2007-01-01 00:00 UTC" };
/// 2019-02-17 02:00 UTC: the end of Brazil's last summer time.
const BR_2019: Since = Since { unix_seconds: 1_550_368_800, label: "2019-02-17 02:00 UTC" };

/// A supported time zone, parsed from its IANA name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    name: &'static str,
    standard_offset_hours: i8,
    dst: DstRule,
    since: Since,
}

const fn zone(name: &'static str, standard_offset_hours: i8, dst: DstRule, since: Since) -> Zone {
    Zone { name, standard_offset_hours, dst, since }
}

/// Every supported zone.
const ZONES: &[Zone] = &[
    zone("UTC", 0, DstRule::None, ALWAYS),
    zone("Etc/UTC", 0, DstRule::None, ALWAYS),
    zone("Europe/London", 0, DstRule::Eu, EU_1996),
    zone("Europe/Dublin", 0, DstRule::Eu, EU_1996),
    zone("Europe/Lisbon", 0, DstRule::Eu, EU_1996),
    zone("Europe/Paris", 1, DstRule::Eu, EU_1996),
    zone("Europe/Berlin", 1, DstRule::Eu, EU_1996),
    zone("Europe/Brussels", 1, DstRule::Eu, EU_1996),
    zone("Europe/Madrid", 1, DstRule::Eu, EU_1996),
    zone("Europe/Rome", 1, DstRule::Eu, EU_1996),
    zone("Europe/Amsterdam", 1, DstRule::Eu, EU_1996),
    zone("Europe/Luxembourg", 1, DstRule::Eu, EU_1996),
    zone("Europe/Vienna", 1, DstRule::Eu, EU_1996),
    zone("Europe/Copenhagen", 1, DstRule::Eu, EU_1996),
    zone("Europe/Stockholm", 1, DstRule::Eu, EU_1996),
    zone("Europe/Helsinki", 2, DstRule::Eu, EU_1996),
    zone("Europe/Athens", 2, DstRule::Eu, EU_1996),
    zone("America/New_York", -5, DstRule::Us, US_2007),
    zone("America/Chicago", -6, DstRule::Us, US_2007),
    zone("America/Denver", -7, DstRule::Us, US_2007),
    zone("America/Los_Angeles", -8, DstRule::Us, US_2007),
    zone("America/Sao_Paulo", -3, DstRule::None, BR_2019),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error(
        "unknown or unsupported time zone {0:?} (supported: UTC, EU zones such as Europe/Paris, \
         America/New_York, America/Chicago, America/Denver, America/Los_Angeles, America/Sao_Paulo)"
    )]
    Unknown(String),
    /// Before its current rule the zone's offsets differed; Dossier does not guess.
    #[error("{zone} is only supported from {since} on")]
    BeforeCommonRule { zone: &'static str, since: &'static str },
    #[error("the instant is outside the supported range of dates")]
    OutOfRange,
}

impl Zone {
    pub const UTC: Zone = zone("UTC", 0, DstRule::None, ALWAYS);

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The zone's offset from UTC at `instant`.
    pub fn offset_at(self, instant: OffsetDateTime) -> Result<UtcOffset, TimeZoneError> {
        if instant.unix_timestamp() < self.since.unix_seconds {
            return Err(TimeZoneError::BeforeCommonRule { zone: self.name, since: self.since.label });
        }
        let standard = self.standard_offset_hours;
        let summer = |starts: Option<OffsetDateTime>, ends: Option<OffsetDateTime>| {
            let (starts, ends) = (starts.ok_or(TimeZoneError::OutOfRange)?, ends.ok_or(TimeZoneError::OutOfRange)?);
            let summer_hours = standard.checked_add(1).ok_or(TimeZoneError::OutOfRange)?;
            Ok::<_, TimeZoneError>(if starts <= instant && instant < ends { summer_hours } else { standard })
        };
        let hours = match self.dst {
            DstRule::None => standard,
            DstRule::Eu => {
                let year = instant.checked_to_offset(UtcOffset::UTC).ok_or(TimeZoneError::OutOfRange)?.year();
                summer(eu_transition(year, Month::March), eu_transition(year, Month::October))?
            }
            DstRule::Us => {
                // The transitions are in local time; the year is the local (standard time) year.
                let standard_offset = UtcOffset::from_hms(standard, 0, 0).map_err(|_| TimeZoneError::OutOfRange)?;
                let year = instant.checked_to_offset(standard_offset).ok_or(TimeZoneError::OutOfRange)?.year();
                summer(us_transition(year, Month::March, standard), us_transition(year, Month::November, standard))?
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

/// A US transition of `year` for a zone `standard` hours from UTC: 02:00 local standard time on
/// the second Sunday of March, 02:00 local daylight time (01:00 standard) on the first Sunday of
/// November.
fn us_transition(year: i32, month: Month, standard: i8) -> Option<OffsetDateTime> {
    let (nth_sunday, local_standard_hour) = if month == Month::March { (2, 2) } else { (1, 1) };
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let ahead = (7 - first.weekday().number_days_from_sunday()) % 7;
    let sunday = Date::from_calendar_date(year, month, 1 + ahead + 7 * (nth_sunday - 1)).ok()?;
    debug_assert_eq!(sunday.weekday(), Weekday::Sunday);
    let utc_hours = i64::from(local_standard_hour) - i64::from(standard);
    PrimitiveDateTime::new(sunday, Time::MIDNIGHT).assume_utc().checked_add(Duration::hours(utc_hours))
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
            ("America/New_York", -5, -4),
            ("America/Chicago", -6, -5),
            ("America/Denver", -7, -6),
            ("America/Los_Angeles", -8, -7),
            ("America/Sao_Paulo", -3, -3),
        ] {
            let zone: Zone = name.parse().unwrap();
            assert_eq!(zone.name(), name);
            assert_eq!(zone.offset_at(winter).unwrap().whole_hours(), winter_hours, "{name}");
            assert_eq!(zone.offset_at(summer).unwrap().whole_hours(), summer_hours, "{name}");
        }
    }

    #[test]
    fn us_transitions_2026_in_los_angeles_and_new_york() {
        // 2026: daylight time from Sunday 8 March to Sunday 1 November.
        assert_eq!(us_transition(2026, Month::March, -8), Some(datetime!(2026-03-08 10:00 UTC)));
        assert_eq!(us_transition(2026, Month::November, -8), Some(datetime!(2026-11-01 09:00 UTC)));
        assert_eq!(us_transition(2026, Month::March, -5), Some(datetime!(2026-03-08 07:00 UTC)));
        assert_eq!(us_transition(2007, Month::March, -5), Some(datetime!(2007-03-11 07:00 UTC)));
        assert_eq!(us_transition(2025, Month::November, -5), Some(datetime!(2025-11-02 06:00 UTC)));
        let la: Zone = "America/Los_Angeles".parse().unwrap();
        assert_eq!(la.offset_at(datetime!(2026-03-08 09:59:59 UTC)).unwrap().whole_hours(), -8);
        assert_eq!(la.offset_at(datetime!(2026-03-08 10:00 UTC)).unwrap().whole_hours(), -7);
        assert_eq!(la.offset_at(datetime!(2026-11-01 08:59:59 UTC)).unwrap().whole_hours(), -7);
        assert_eq!(la.offset_at(datetime!(2026-11-01 09:00 UTC)).unwrap().whole_hours(), -8);
        // 23:59 local on Saturday 7 March (PST, 07:59 UTC on the 8th) and 00:01 on Sunday 8.
        assert_eq!(la.local_date(datetime!(2026-03-08 07:59 UTC)), Ok(date!(2026 - 03 - 07)));
        assert_eq!(la.local_date(datetime!(2026-03-08 08:01 UTC)), Ok(date!(2026 - 03 - 08)));
        // 23:30 local on Sunday 8 March is daylight time: 06:30 UTC on the 9th.
        assert_eq!(la.local_date(datetime!(2026-03-09 06:30 UTC)), Ok(date!(2026 - 03 - 08)));
        assert_eq!(la.local_date(datetime!(2026-03-09 07:30 UTC)), Ok(date!(2026 - 03 - 09)));
        // A request at 23:30 in California is received that day, although it is the next day in UTC.
        assert_eq!(la.local_date(datetime!(2026-01-16 07:30 UTC)), Ok(date!(2026 - 01 - 15)));
        let sao_paulo: Zone = "America/Sao_Paulo".parse().unwrap();
        assert_eq!(sao_paulo.offset_at(datetime!(2026-01-15 12:00 UTC)).unwrap().whole_hours(), -3);
        assert_eq!(sao_paulo.local_date(datetime!(2026-01-16 02:30 UTC)), Ok(date!(2026 - 01 - 15)));
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
        for unknown in ["", "Paris", "Europe/Paris2", "America/Phoenix", "CET", "+01:00"] {
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
            Err(TimeZoneError::BeforeCommonRule { zone: "Europe/Paris", since: "1996-03-31 01:00 UTC" })
        );
        // The first instant of the common rule is supported, the one before is not.
        assert_eq!(eu_transition(1996, Month::March).map(|t| t.unix_timestamp()), Some(EU_1996.unix_seconds));
        let paris: Zone = "Europe/Paris".parse().unwrap();
        assert!(paris.offset_at(datetime!(1996-03-31 01:00 UTC)).is_ok());
        assert!(paris.offset_at(datetime!(1996-03-31 00:59:59 UTC)).is_err());
        assert_eq!(
            local_date(datetime!(2006-07-01 12:00 UTC), "America/Los_Angeles"),
            Err(TimeZoneError::BeforeCommonRule { zone: "America/Los_Angeles", since: "2007-01-01 00:00 UTC" })
        );
        assert_eq!(
            local_date(datetime!(2018-12-01 12:00 UTC), "America/Sao_Paulo"),
            Err(TimeZoneError::BeforeCommonRule { zone: "America/Sao_Paulo", since: "2019-02-17 02:00 UTC" })
        );
        assert_eq!(local_date(datetime!(1990-01-15 12:00 UTC), "UTC"), Ok(date!(1990 - 01 - 15)));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 UTC), "Europe/Paris"), Err(TimeZoneError::OutOfRange));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 -05:00), "UTC"), Err(TimeZoneError::OutOfRange));
    }
}
