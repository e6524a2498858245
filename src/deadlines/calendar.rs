//! Public holiday calendars, computed from rules (no data files, valid for any year).
//!
//! Regulation 1182/71 Art. 2(1): "public holidays" are the days designated as such in the Member
//! State where an action is to be taken; Art. 3(4) rolls a period ending on one of them (or on a
//! Saturday or Sunday) to the next working day. Each [`Country`] is a table of `Rule`s; a new
//! country is a new variant, a code in [`Country::from_str`] and a table in `Country::tables`.
//!
//! Historical changes (e.g. 8 May was not a French public holiday from 1959 to 1981) are not
//! modelled: the current list applies to every year.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use time::{Date, Month, Weekday};

/// A jurisdiction whose public holidays count in deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    /// Metropolitan France (Code du travail L3133-1).
    France,
    /// The Bas-Rhin, Haut-Rhin and Moselle departments: France plus Good Friday and 26 December
    /// (local law, Code du travail L3134-13).
    FranceAlsaceMoselle,
}

/// A country code that Dossier has no holiday calendar for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country code {0:?} (known: FR, FR-ALSACE-MOSELLE)")]
pub struct UnknownCountry(pub String);

/// How a holiday's date is found in a given year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The same month and day every year.
    Fixed(Month, u8),
    /// A number of days after (or, negative, before) Easter Sunday.
    Easter(i16),
}

/// One named holiday rule of a country's table.
#[derive(Debug, Clone, Copy)]
struct HolidayRule {
    name: &'static str,
    rule: Rule,
}

const fn fixed(name: &'static str, month: Month, day: u8) -> HolidayRule {
    HolidayRule { name, rule: Rule::Fixed(month, day) }
}

const fn easter(name: &'static str, offset: i16) -> HolidayRule {
    HolidayRule { name, rule: Rule::Easter(offset) }
}

/// Code du travail L3133-1.
const FRANCE: &[HolidayRule] = &[
    fixed("New Year's Day", Month::January, 1),
    easter("Easter Monday", 1),
    fixed("Labour Day", Month::May, 1),
    fixed("Victory in Europe Day", Month::May, 8),
    easter("Ascension Day", 39),
    easter("Whit Monday", 50),
    fixed("Bastille Day", Month::July, 14),
    fixed("Assumption Day", Month::August, 15),
    fixed("All Saints' Day", Month::November, 1),
    fixed("Armistice Day", Month::November, 11),
    fixed("Christmas Day", Month::December, 25),
];

/// Code du travail L3134-13 (local law of Alsace-Moselle), on top of [`FRANCE`].
const ALSACE_MOSELLE_EXTRA: &[HolidayRule] =
    &[easter("Good Friday", -2), fixed("St Stephen's Day", Month::December, 26)];

impl Country {
    pub const ALL: [Country; 2] = [Country::France, Country::FranceAlsaceMoselle];

    /// The code [`Country::from_str`] accepts and [`fmt::Display`] prints.
    pub fn code(self) -> &'static str {
        match self {
            Country::France => "FR",
            Country::FranceAlsaceMoselle => "FR-ALSACE-MOSELLE",
        }
    }

    /// The rule tables that make up this country's calendar.
    fn tables(self) -> &'static [&'static [HolidayRule]] {
        match self {
            Country::France => &[FRANCE],
            Country::FranceAlsaceMoselle => &[FRANCE, ALSACE_MOSELLE_EXTRA],
        }
    }

    fn rules(self) -> impl Iterator<Item = &'static HolidayRule> {
        self.tables().iter().flat_map(|table| table.iter())
    }

    /// Whether `date` is a public holiday here (weekends are not holidays as such).
    pub fn is_public_holiday(self, date: Date) -> bool {
        let easter = easter_ordinal(date.year());
        self.rules().any(|holiday| match holiday.rule {
            Rule::Fixed(month, day) => date.month() == month && date.day() == day,
            Rule::Easter(offset) => i32::from(date.ordinal()) - i32::from(easter) == i32::from(offset),
        })
    }

    /// The public holidays of `year`, in date order.
    pub fn holidays(self, year: i32) -> Vec<Holiday> {
        let easter = easter_sunday(year);
        let mut holidays: Vec<Holiday> = self
            .rules()
            .filter_map(|holiday| {
                let date = match holiday.rule {
                    Rule::Fixed(month, day) => Date::from_calendar_date(year, month, day).ok()?,
                    Rule::Easter(offset) => easter?.checked_add(time::Duration::days(i64::from(offset)))?,
                };
                Some(Holiday { date, name: holiday.name })
            })
            .collect();
        holidays.sort_by_key(|holiday| holiday.date);
        holidays
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;

    /// Accepts `FR` and `FR-ALSACE-MOSELLE`, in any case; the ISO 3166-2 codes of the three
    /// departments (`FR-57` Moselle, `FR-67` Bas-Rhin, `FR-68` Haut-Rhin) and `FR-6AE`
    /// (Collectivité européenne d'Alsace) are aliases of the latter.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FR" => Ok(Country::France),
            "FR-ALSACE-MOSELLE" | "FR-57" | "FR-67" | "FR-68" | "FR-6AE" => Ok(Country::FranceAlsaceMoselle),
            _ => Err(UnknownCountry(s.to_owned())),
        }
    }
}

/// A public holiday on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    /// English name, for logs and the staff's calendar view.
    pub name: &'static str,
}

/// The days on which a period cannot end (Regulation 1182/71 Art. 3(4)): Saturdays, Sundays and
/// the public holidays of the controller's country, plus configured extra days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    country: Country,
    extra_closures: BTreeSet<Date>,
}

impl HolidayCalendar {
    pub fn new(country: Country) -> Self {
        Self { country, extra_closures: BTreeSet::new() }
    }

    /// Adds days treated as public holidays although the country's rules do not produce them:
    /// a one-off holiday designated by decree, a local holiday. Regulation 1182/71 Art. 2(1) counts
    /// only days *designated as public holidays*; the controller's own office closures are not,
    /// and configuring them here would extend deadlines unlawfully.
    pub fn with_extra_closures(mut self, days: impl IntoIterator<Item = Date>) -> Self {
        self.extra_closures.extend(days);
        self
    }

    pub fn country(&self) -> Country {
        self.country
    }

    /// The configured extra days, in date order.
    pub fn extra_closures(&self) -> impl Iterator<Item = Date> + '_ {
        self.extra_closures.iter().copied()
    }

    /// A public holiday of the country or a configured extra day.
    pub fn is_holiday(&self, date: Date) -> bool {
        self.country.is_public_holiday(date) || self.extra_closures.contains(&date)
    }

    /// Neither a Saturday, a Sunday nor a holiday (Regulation 1182/71 Art. 3(4)).
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.is_holiday(date)
    }
}

/// Easter Sunday of `year` in the Gregorian calendar; `None` outside the years `time` supports.
pub fn easter_sunday(year: i32) -> Option<Date> {
    let (month, day) = easter_month_day(year);
    let month = if month == 3 { Month::March } else { Month::April };
    Date::from_calendar_date(year, month, day).ok()
}

/// The anonymous Gregorian algorithm (Meeus/Jones/Butcher), with floor division throughout so it
/// is total over `i32`. Returns (3, 22..=31) or (4, 1..=25).
fn easter_month_day(year: i32) -> (u8, u8) {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    // h is in 0..30 and l in 0..7, so n / 31 is 3 or 4 and n % 31 + 1 is a valid day: the casts
    // cannot truncate.
    ((n / 31) as u8, (n % 31 + 1) as u8)
}

/// Easter Sunday's day of the year (1-based), for comparing against [`Date::ordinal`].
fn easter_ordinal(year: i32) -> u16 {
    let (month, day) = easter_month_day(year);
    let before_march = if time::util::is_leap_year(year) { 60 } else { 59 };
    let before_month = if month == 3 { before_march } else { before_march + 31 };
    before_month + u16::from(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn fr() -> HolidayCalendar {
        HolidayCalendar::new(Country::France)
    }

    fn alsace() -> HolidayCalendar {
        HolidayCalendar::new(Country::FranceAlsaceMoselle)
    }

    #[test]
    fn easter_dates_for_several_years() {
        for (year, expected) in [
            (2024, date!(2024 - 03 - 31)),
            (2025, date!(2025 - 04 - 20)),
            (2026, date!(2026 - 04 - 05)),
            (2027, date!(2027 - 03 - 28)),
            (2038, date!(2038 - 04 - 25)),
            // The earliest possible date, and 2000 (a century leap year).
            (2285, date!(2285 - 03 - 22)),
            (2000, date!(2000 - 04 - 23)),
        ] {
            assert_eq!(easter_sunday(year), Some(expected), "{year}");
            assert_eq!(expected.weekday(), Weekday::Sunday);
        }
    }

    #[test]
    fn easter_is_always_a_sunday_between_22_march_and_25_april() {
        for year in 1583..=4099 {
            let easter = easter_sunday(year).unwrap();
            assert_eq!(easter.weekday(), Weekday::Sunday, "{year}");
            assert!(easter >= Date::from_calendar_date(year, Month::March, 22).unwrap());
            assert!(easter <= Date::from_calendar_date(year, Month::April, 25).unwrap());
            assert_eq!(easter.ordinal(), easter_ordinal(year), "{year}");
        }
    }

    #[test]
    fn easter_outside_supported_years_is_none_not_a_panic() {
        assert_eq!(easter_sunday(i32::MAX), None);
        assert_eq!(easter_sunday(i32::MIN), None);
        // And the holiday check never panics at the edges of `Date`.
        assert!(Country::France.is_public_holiday(Date::MIN)); // 1 January -9999
        assert!(!Country::France.is_public_holiday(Date::MIN.next_day().unwrap()));
        assert_eq!(Country::France.holidays(-9999).len(), 11);
        assert!(!Country::France.is_public_holiday(Date::MAX));
        assert!(Country::France.is_public_holiday(date!(9999 - 12 - 25)));
        assert_eq!(Country::FranceAlsaceMoselle.holidays(9999).len(), 13);
    }

    #[test]
    fn french_holidays_2026() {
        let expected = [
            date!(2026 - 01 - 01),
            date!(2026 - 04 - 06), // Easter Monday
            date!(2026 - 05 - 01),
            date!(2026 - 05 - 08),
            date!(2026 - 05 - 14), // Ascension
            date!(2026 - 05 - 25), // Whit Monday
            date!(2026 - 07 - 14),
            date!(2026 - 08 - 15),
            date!(2026 - 11 - 01),
            date!(2026 - 11 - 11),
            date!(2026 - 12 - 25),
        ];
        let listed: Vec<Date> = Country::France.holidays(2026).iter().map(|h| h.date).collect();
        assert_eq!(listed, expected);
        // The rule-matching check agrees with the list, on every day of the year.
        let mut day = date!(2026 - 01 - 01);
        while day.year() == 2026 {
            assert_eq!(Country::France.is_public_holiday(day), expected.contains(&day), "{day}");
            day = day.next_day().unwrap();
        }
    }

    #[test]
    fn holidays_list_and_check_agree_2024_to_2030() {
        for country in Country::ALL {
            for year in 2024..=2030 {
                let listed: Vec<Date> = country.holidays(year).iter().map(|h| h.date).collect();
                let mut day = Date::from_calendar_date(year, Month::January, 1).unwrap();
                while day.year() == year {
                    assert_eq!(country.is_public_holiday(day), listed.contains(&day), "{country} {day}");
                    day = day.next_day().unwrap();
                }
            }
        }
    }

    #[test]
    fn easter_based_holidays_2026() {
        assert!(!fr().is_working_day(date!(2026 - 04 - 06))); // Easter Monday
        assert!(!fr().is_working_day(date!(2026 - 05 - 14))); // Ascension Thursday
        assert!(!fr().is_working_day(date!(2026 - 05 - 25))); // Whit Monday
        assert!(fr().is_working_day(date!(2026 - 04 - 03))); // Good Friday: not in France
        assert!(fr().is_working_day(date!(2026 - 04 - 07)));
    }

    #[test]
    fn alsace_moselle_adds_good_friday_and_26_december() {
        for good_friday in [date!(2024 - 03 - 29), date!(2025 - 04 - 18), date!(2026 - 04 - 03)] {
            assert!(fr().is_working_day(good_friday), "{good_friday}");
            assert!(!alsace().is_working_day(good_friday), "{good_friday}");
        }
        // 26 December 2025 is a Friday.
        assert!(fr().is_working_day(date!(2025 - 12 - 26)));
        assert!(!alsace().is_working_day(date!(2025 - 12 - 26)));
        // And it keeps every national holiday.
        for holiday in Country::France.holidays(2026) {
            assert!(Country::FranceAlsaceMoselle.is_public_holiday(holiday.date));
        }
        assert_eq!(Country::FranceAlsaceMoselle.holidays(2026).len(), 13);
    }

    #[test]
    fn weekends_are_not_working_days() {
        assert!(!fr().is_working_day(date!(2026 - 02 - 28))); // Saturday
        assert!(!fr().is_working_day(date!(2026 - 03 - 01))); // Sunday
        assert!(fr().is_working_day(date!(2026 - 03 - 02))); // Monday
    }

    #[test]
    fn extra_closures_are_not_working_days() {
        let calendar = fr().with_extra_closures([date!(2026 - 03 - 02)]);
        assert!(!calendar.is_working_day(date!(2026 - 03 - 02)));
        assert!(calendar.is_holiday(date!(2026 - 03 - 02)));
        assert!(!Country::France.is_public_holiday(date!(2026 - 03 - 02)));
        assert_eq!(calendar.extra_closures().collect::<Vec<_>>(), [date!(2026 - 03 - 02)]);
    }

    #[test]
    fn parses_country_codes() {
        assert_eq!("FR".parse(), Ok(Country::France));
        assert_eq!(" fr ".parse(), Ok(Country::France));
        assert_eq!("FR-ALSACE-MOSELLE".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("fr-57".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("FR-67".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("FR-68".parse(), Ok(Country::FranceAlsaceMoselle));
        for unknown in ["", "DE", "FRA", "FR-75", "France"] {
            assert_eq!(unknown.parse::<Country>(), Err(UnknownCountry(unknown.to_owned())));
        }
        for country in Country::ALL {
            assert_eq!(country.to_string().parse(), Ok(country));
        }
    }
}
