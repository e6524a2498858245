//! Public holiday calendars, computed from rules (no data files, valid for any year).
//!
//! Regulation 1182/71 Art. 2(1): "public holidays" are the days designated as such in the Member
//! State where an action is to be taken; Art. 3(4) rolls a period ending on one of them (or on a
//! Saturday or Sunday) to the next working day. The UK (ICO guidance), California (§7021 business
//! days) and Brazil (Código Civil Art. 132 §1) use the same notion of a working day. Each
//! [`Country`] is a table of `HolidayRule`s; a new country is a new variant, a code in
//! [`Country::from_str`] and a table in `Country::tables`.
//!
//! A rule gives a date each year: a fixed date, an offset from Easter Sunday, or the n-th (or
//! last) weekday of a month. A rule may apply only from a given year (e.g. US Juneteenth from 2021)
//! and skip given years (a UK bank holiday moved by royal proclamation); one-off holidays are rules
//! valid for a single year. Where a country observes a holiday on another day when it falls on a
//! weekend (UK substitute days, US observed days), both the day itself and the observed day are
//! listed. Other historical changes (e.g. 8 May was not a French public holiday from 1959 to
//! 1981) are not modelled: the current list applies to every year.
//!
//! Regional and local holidays (a German Land's, a Spanish autonomous community's, an Italian
//! city's patron saint) are not in the national tables: configure them as extra closures
//! ([`HolidayCalendar::with_extra_closures`]).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month, Weekday};

mod national;
use national::*;

/// A day to count as a public holiday beyond the built-in rules
/// ([`HolidayCalendar::with_extra_closures`]): in `country`'s calendar only, or in any calendar
/// when `country` is `None` (the command line's `--closed`, where there is one calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtraClosure {
    pub date: Date,
    pub country: Option<Country>,
}

impl ExtraClosure {
    /// A holiday of `country`'s calendar only.
    pub fn of(country: Country, date: Date) -> Self {
        Self { date, country: Some(country) }
    }
}

impl From<Date> for ExtraClosure {
    fn from(date: Date) -> Self {
        Self { date, country: None }
    }
}

/// A jurisdiction whose public holidays count in deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    /// Metropolitan France (Code du travail L3133-1).
    France,
    /// The Bas-Rhin, Haut-Rhin and Moselle departments: France plus Good Friday and 26 December
    /// (local law, Code du travail L3134-13).
    FranceAlsaceMoselle,
    /// Germany: the holidays common to every Land (German Unity Day by the Einigungsvertrag
    /// Art. 2(2); the others by each Land's Feiertagsgesetz).
    Germany,
    /// Belgium (Loi du 4 janvier 1974 relative aux jours fériés; Arrêté royal du 18 avril 1974).
    Belgium,
    /// Spain: the national holidays (Estatuto de los Trabajadores Art. 37.2; Real Decreto
    /// 2001/1983 Art. 45), without the autonomous communities' own days.
    Spain,
    /// Italy (Legge 27 maggio 1949 n. 260 Art. 2, as amended, last by Legge 151/2025).
    Italy,
    /// England and Wales: bank holidays (Banking and Financial Dealings Act 1971 Sch. 1 and royal
    /// proclamations) and the common-law holidays Good Friday and Christmas Day.
    UnitedKingdomEnglandWales,
    /// The US federal holidays (5 U.S.C. 6103), with their observed days.
    UnitedStates,
    /// Brazil: the national holidays (Lei 662/1949 as amended by Lei 10.607/2002; Lei 6.802/1980;
    /// Lei 14.759/2023).
    Brazil,
    /// Scotland (`GB-SCT`): its own bank holidays (2 January, first Monday of August, St Andrew's
    /// Day; no Easter Monday).
    UnitedKingdomScotland,
    /// Northern Ireland (`GB-NIR`): England and Wales plus 17 March and 12 July.
    UnitedKingdomNorthernIreland,
    /// The sources of these are cited on their tables in `calendar/national.rs`.
    Netherlands,
    Poland,
    Ireland,
    Austria,
    Portugal,
    Sweden,
    Denmark,
    Finland,
    Czechia,
    Romania,
    Hungary,
    Luxembourg,
    Croatia,
    Estonia,
    Lithuania,
    Norway,
    Slovenia,
    Malta,
    Bulgaria,
    Cyprus,
    Greece,
    Latvia,
    Slovakia,
    Iceland,
    Liechtenstein,
}

/// A country code that Dossier has no holiday calendar for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country code {0:?}; supported calendars: {list}", list = Country::supported_list())]
pub struct UnknownCountry(pub String);

/// How a holiday's date is found in a given year.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The same month and day every year.
    Fixed(Month, u8),
    /// A number of days after (or, negative, before) Easter Sunday.
    Easter(i16),
    /// The n-th (1 to 4) given weekday of the month: "the third Monday in January".
    NthWeekday(Month, Weekday, u8),
    /// The last given weekday of the month: "the last Monday in May".
    LastWeekday(Month, Weekday),
    /// A number of days after (or before) Orthodox Easter Sunday (Julian computus, as a Gregorian
    /// date): Greece, Cyprus, Romania, Bulgaria.
    OrthodoxEaster(i16),
    /// The first given weekday on or after a day: "the Saturday between 20 and 26 June".
    WeekdayOnOrAfter(Month, u8, Weekday),
    /// A rule of its own, written as a function of the year (Koningsdag, St Brigid's Day).
    Computed(fn(i32) -> Option<Date>),
}

/// What happens when a holiday falls on a Saturday or Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observance {
    /// Nothing: the day is lost (France, Germany, Belgium, Spain and Italy at national level).
    Nothing,
    /// England and Wales: a substitute bank holiday on the next weekday that is not already a
    /// holiday (Banking and Financial Dealings Act 1971 Sch. 1 para. 1 for 26 and 27 December; the
    /// annual proclamations for 1 January and for Christmas Day; so Christmas on a Saturday and
    /// Boxing Day on a Sunday give Monday 27 and Tuesday 28 December). Bulgaria (Кодекс на труда
    /// Art. 154(2)) and Latvia (4 May, 18 November) move their holidays the same way.
    NextFreeWeekday,
    /// US federal: Saturday → the Friday before, Sunday → the Monday after (5 U.S.C. 6103(b);
    /// Executive Order 11582). 1 January on a Saturday is observed on 31 December before it.
    FridayOrMonday,
}

/// One named holiday rule of a country's table.
#[derive(Debug, Clone, Copy)]
struct HolidayRule {
    name: &'static str,
    rule: Rule,
    observance: Observance,
    /// The first and last years the rule applies (inclusive).
    years: (i32, i32),
    /// Years in which the rule does not apply (the holiday was moved by proclamation).
    except: &'static [i32],
}

impl HolidayRule {
    const fn new(name: &'static str, rule: Rule) -> Self {
        Self { name, rule, observance: Observance::Nothing, years: (i32::MIN, i32::MAX), except: &[] }
    }

    const fn observed(self, observance: Observance) -> Self {
        Self { observance, ..self }
    }

    const fn since(self, year: i32) -> Self {
        Self { years: (year, self.years.1), ..self }
    }

    const fn only_in(self, year: i32) -> Self {
        Self { years: (year, year), ..self }
    }

    const fn except(self, except: &'static [i32]) -> Self {
        Self { except, ..self }
    }

    fn applies_in(&self, year: i32) -> bool {
        self.years.0 <= year && year <= self.years.1 && !self.except.contains(&year)
    }

    /// The day itself in `year`, if the rule applies then; `None` also outside `time`'s range.
    fn date_in(&self, year: i32) -> Option<Date> {
        if !self.applies_in(year) {
            return None;
        }
        match self.rule {
            Rule::Fixed(month, day) => Date::from_calendar_date(year, month, day).ok(),
            Rule::Easter(offset) => easter_sunday(year)?.checked_add(Duration::days(i64::from(offset))),
            Rule::NthWeekday(month, weekday, n) => nth_weekday(year, month, weekday, n),
            Rule::LastWeekday(month, weekday) => last_weekday(year, month, weekday),
            Rule::OrthodoxEaster(offset) => {
                orthodox_easter_sunday(year)?.checked_add(Duration::days(i64::from(offset)))
            }
            Rule::WeekdayOnOrAfter(month, day, weekday) => {
                let first = Date::from_calendar_date(year, month, day).ok()?;
                let ahead = (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
                first.checked_add(Duration::days(i64::from(ahead)))
            }
            Rule::Computed(date_in) => date_in(year),
        }
    }
}

const fn fixed(name: &'static str, month: Month, day: u8) -> HolidayRule {
    HolidayRule::new(name, Rule::Fixed(month, day))
}

const fn easter(name: &'static str, offset: i16) -> HolidayRule {
    HolidayRule::new(name, Rule::Easter(offset))
}

const fn nth(name: &'static str, n: u8, weekday: Weekday, month: Month) -> HolidayRule {
    HolidayRule::new(name, Rule::NthWeekday(month, weekday, n))
}

const fn last(name: &'static str, weekday: Weekday, month: Month) -> HolidayRule {
    HolidayRule::new(name, Rule::LastWeekday(month, weekday))
}

const fn orthodox(name: &'static str, offset: i16) -> HolidayRule {
    HolidayRule::new(name, Rule::OrthodoxEaster(offset))
}

const fn on_or_after(name: &'static str, weekday: Weekday, month: Month, day: u8) -> HolidayRule {
    HolidayRule::new(name, Rule::WeekdayOnOrAfter(month, day, weekday))
}

const fn computed(name: &'static str, date_in: fn(i32) -> Option<Date>) -> HolidayRule {
    HolidayRule::new(name, Rule::Computed(date_in))
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

/// The nine holidays every Land keeps: German Unity Day is federal law (Einigungsvertrag
/// Art. 2(2)); the others are in every Land's Feiertagsgesetz (list: Bundesministerium des Innern,
/// "Gesetzliche Feiertage"). Reformation Day was a holiday in every Land once, in 2017 (its 500th
/// anniversary); it is a regular holiday in some Länder only (extra closures). Land holidays such
/// as Epiphany, Corpus Christi or All Saints' Day are extra closures too.
const GERMANY: &[HolidayRule] = &[
    fixed("Neujahr", Month::January, 1),
    easter("Karfreitag", -2),
    easter("Ostermontag", 1),
    fixed("Tag der Arbeit", Month::May, 1),
    easter("Christi Himmelfahrt", 39),
    easter("Pfingstmontag", 50),
    fixed("Tag der Deutschen Einheit", Month::October, 3),
    fixed("Reformationstag (500th anniversary)", Month::October, 31).only_in(2017),
    fixed("1. Weihnachtstag", Month::December, 25),
    fixed("2. Weihnachtstag", Month::December, 26),
];

/// Loi du 4 janvier 1974 relative aux jours fériés, Arrêté royal du 18 avril 1974 Art. 1: ten
/// days. The regional and community days (Flemish 11 July, Walloon 27 September, German-speaking
/// 15 November) are not public holidays under the 1974 law.
const BELGIUM: &[HolidayRule] = &[
    fixed("Nouvel An", Month::January, 1),
    easter("Lundi de Pâques", 1),
    fixed("Fête du Travail", Month::May, 1),
    easter("Ascension", 39),
    easter("Lundi de Pentecôte", 50),
    fixed("Fête nationale", Month::July, 21),
    fixed("Assomption", Month::August, 15),
    fixed("Toussaint", Month::November, 1),
    fixed("Armistice", Month::November, 11),
    fixed("Noël", Month::December, 25),
];

/// Estatuto de los Trabajadores Art. 37.2 and Real Decreto 2001/1983 Art. 45: the national
/// holidays the Ministry's yearly resolution in the BOE lists for every autonomous community.
/// Holy Thursday, Easter Monday, 19 March, 25 July, a community's own day, and the Mondays a
/// community sets in place of a holiday falling on a Sunday are regional: extra closures.
const SPAIN: &[HolidayRule] = &[
    fixed("Año Nuevo", Month::January, 1),
    fixed("Epifanía del Señor", Month::January, 6),
    easter("Viernes Santo", -2),
    fixed("Fiesta del Trabajo", Month::May, 1),
    fixed("Asunción de la Virgen", Month::August, 15),
    fixed("Fiesta Nacional de España", Month::October, 12),
    fixed("Todos los Santos", Month::November, 1),
    fixed("Día de la Constitución Española", Month::December, 6),
    fixed("Inmaculada Concepción", Month::December, 8),
    fixed("Natividad del Señor", Month::December, 25),
];

/// Legge 27 maggio 1949 n. 260 Art. 2 (as amended by Legge 5 marzo 1977 n. 54, DPR 28 dicembre
/// 1985 n. 792 and Legge 20 novembre 2000 n. 336), with the national holidays of 25 April and
/// 2 June (Art. 1 and 2), and 4 October restored by Legge n. 151/2025 (Gazzetta Ufficiale n. 236 of 10 October 2025) from 2026. A
/// city's patron saint (29 June in Rome, 7 December in Milan) is an extra closure.
const ITALY: &[HolidayRule] = &[
    fixed("Capodanno", Month::January, 1),
    fixed("Epifania", Month::January, 6),
    easter("Lunedì dell'Angelo", 1),
    fixed("Festa della Liberazione", Month::April, 25),
    fixed("Festa del Lavoro", Month::May, 1),
    fixed("Festa della Repubblica", Month::June, 2),
    fixed("Ferragosto", Month::August, 15),
    fixed("San Francesco d'Assisi", Month::October, 4).since(2026),
    fixed("Ognissanti", Month::November, 1),
    fixed("Immacolata Concezione", Month::December, 8),
    fixed("Natale", Month::December, 25),
    fixed("Santo Stefano", Month::December, 26),
];

/// England and Wales: Banking and Financial Dealings Act 1971 Sch. 1 para. 1 (Easter Monday, the
/// last Monday in May, the last Monday in August, 26 December and the substitute days), the royal
/// proclamations made under s. 1(3) every year (New Year's Day since 1974, the first Monday in May
/// since 1978) and the common-law holidays Good Friday and Christmas Day. Dates as published at
/// gov.uk/bank-holidays. Proclamations also moved or added days: those since 1995 are listed.
const UNITED_KINGDOM_ENGLAND_WALES: &[HolidayRule] = &[
    fixed("New Year's Day", Month::January, 1).observed(Observance::NextFreeWeekday),
    easter("Good Friday", -2),
    easter("Easter Monday", 1),
    // Moved to Monday 8 May in 1995 and Friday 8 May in 2020 (VE Day anniversaries).
    nth("Early May bank holiday", 1, Weekday::Monday, Month::May).except(&[1995, 2020]),
    fixed("Early May bank holiday (VE Day)", Month::May, 8).only_in(1995),
    fixed("Early May bank holiday (VE Day)", Month::May, 8).only_in(2020),
    // Moved to early June for the Golden (2002), Diamond (2012) and Platinum (2022) Jubilees.
    last("Spring bank holiday", Weekday::Monday, Month::May).except(&[2002, 2012, 2022]),
    fixed("Spring bank holiday", Month::June, 4).only_in(2002),
    fixed("Golden Jubilee bank holiday", Month::June, 3).only_in(2002),
    fixed("Spring bank holiday", Month::June, 4).only_in(2012),
    fixed("Diamond Jubilee bank holiday", Month::June, 5).only_in(2012),
    fixed("Spring bank holiday", Month::June, 2).only_in(2022),
    fixed("Platinum Jubilee bank holiday", Month::June, 3).only_in(2022),
    last("Summer bank holiday", Weekday::Monday, Month::August),
    fixed("Millennium celebrations", Month::December, 31).only_in(1999),
    fixed("Royal wedding", Month::April, 29).only_in(2011),
    fixed("State Funeral of Queen Elizabeth II", Month::September, 19).only_in(2022),
    fixed("Coronation of King Charles III", Month::May, 8).only_in(2023),
    fixed("Christmas Day", Month::December, 25).observed(Observance::NextFreeWeekday),
    fixed("Boxing Day", Month::December, 26).observed(Observance::NextFreeWeekday),
];

/// 5 U.S.C. 6103(a), with the Uniform Monday Holiday Act (1968, in force 1971) rules, Martin
/// Luther King Jr.'s Birthday from 1986 and Juneteenth from 2021 (Pub. L. 117-17). Inauguration
/// Day (every fourth 20 January) is a holiday only in the Washington, D.C. area: an extra closure
/// there.
const UNITED_STATES: &[HolidayRule] = &[
    fixed("New Year's Day", Month::January, 1).observed(Observance::FridayOrMonday),
    nth("Birthday of Martin Luther King, Jr.", 3, Weekday::Monday, Month::January).since(1986),
    nth("Washington's Birthday", 3, Weekday::Monday, Month::February),
    last("Memorial Day", Weekday::Monday, Month::May),
    fixed("Juneteenth National Independence Day", Month::June, 19).observed(Observance::FridayOrMonday).since(2021),
    fixed("Independence Day", Month::July, 4).observed(Observance::FridayOrMonday),
    nth("Labor Day", 1, Weekday::Monday, Month::September),
    nth("Columbus Day", 2, Weekday::Monday, Month::October),
    fixed("Veterans Day", Month::November, 11).observed(Observance::FridayOrMonday),
    nth("Thanksgiving Day", 4, Weekday::Thursday, Month::November),
    fixed("Christmas Day", Month::December, 25).observed(Observance::FridayOrMonday),
];

/// Lei 662/1949 Art. 1 as amended by Lei 10.607/2002, Lei 6.802/1980 (12 October) and Lei
/// 14.759/2023 (20 November, from 2024). Good Friday and Corpus Christi are religious holidays set
/// by each municipality (Lei 9.093/1995 Art. 2), and Carnival is not a holiday in federal law:
/// extra closures where they apply.
const BRAZIL: &[HolidayRule] = &[
    fixed("Confraternização Universal", Month::January, 1),
    fixed("Tiradentes", Month::April, 21),
    fixed("Dia do Trabalho", Month::May, 1),
    fixed("Independência do Brasil", Month::September, 7),
    fixed("Nossa Senhora Aparecida", Month::October, 12),
    fixed("Finados", Month::November, 2),
    fixed("Proclamação da República", Month::November, 15),
    fixed("Dia Nacional de Zumbi e da Consciência Negra", Month::November, 20).since(2024),
    fixed("Natal", Month::December, 25),
];

impl Country {
    pub const ALL: [Country; 36] = [
        Country::France,
        Country::FranceAlsaceMoselle,
        Country::Germany,
        Country::Belgium,
        Country::Spain,
        Country::Italy,
        Country::UnitedKingdomEnglandWales,
        Country::UnitedStates,
        Country::Brazil,
        Country::UnitedKingdomScotland,
        Country::UnitedKingdomNorthernIreland,
        Country::Netherlands,
        Country::Poland,
        Country::Ireland,
        Country::Austria,
        Country::Portugal,
        Country::Sweden,
        Country::Denmark,
        Country::Finland,
        Country::Czechia,
        Country::Romania,
        Country::Hungary,
        Country::Luxembourg,
        Country::Croatia,
        Country::Estonia,
        Country::Lithuania,
        Country::Norway,
        Country::Slovenia,
        Country::Malta,
        Country::Bulgaria,
        Country::Cyprus,
        Country::Greece,
        Country::Latvia,
        Country::Slovakia,
        Country::Iceland,
        Country::Liechtenstein,
    ];

    /// Every code, for the one sentence that refuses an unknown one: `AT, BE, ..., GB-EAW (alias
    /// UK), ...`.
    pub fn supported_list() -> String {
        let mut codes: Vec<&str> = Country::ALL.iter().map(|country| country.code()).collect();
        codes.sort_unstable();
        codes
            .into_iter()
            .map(|code| if code == "GB-EAW" { "GB-EAW (alias UK)".to_owned() } else { code.to_owned() })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The code [`Country::from_str`] accepts and [`fmt::Display`] prints.
    pub fn code(self) -> &'static str {
        match self {
            Country::France => "FR",
            Country::FranceAlsaceMoselle => "FR-ALSACE-MOSELLE",
            Country::Germany => "DE",
            Country::Belgium => "BE",
            Country::Spain => "ES",
            Country::Italy => "IT",
            Country::UnitedKingdomEnglandWales => "GB-EAW",
            Country::UnitedStates => "US",
            Country::Brazil => "BR",
            Country::UnitedKingdomScotland => "GB-SCT",
            Country::UnitedKingdomNorthernIreland => "GB-NIR",
            Country::Netherlands => "NL",
            Country::Poland => "PL",
            Country::Ireland => "IE",
            Country::Austria => "AT",
            Country::Portugal => "PT",
            Country::Sweden => "SE",
            Country::Denmark => "DK",
            Country::Finland => "FI",
            Country::Czechia => "CZ",
            Country::Romania => "RO",
            Country::Hungary => "HU",
            Country::Luxembourg => "LU",
            Country::Croatia => "HR",
            Country::Estonia => "EE",
            Country::Lithuania => "LT",
            Country::Norway => "NO",
            Country::Slovenia => "SI",
            Country::Malta => "MT",
            Country::Bulgaria => "BG",
            Country::Cyprus => "CY",
            Country::Greece => "GR",
            Country::Latvia => "LV",
            Country::Slovakia => "SK",
            Country::Iceland => "IS",
            Country::Liechtenstein => "LI",
        }
    }

    /// The IANA time zone a controller here usually keeps: the capital's (mainland Spain's, not
    /// the Canary Islands'). The US spans several zones: `America/Los_Angeles`, California's, as
    /// the CCPA is the US policy Dossier knows; a controller elsewhere configures its own.
    pub fn default_time_zone(self) -> &'static str {
        match self {
            Country::France | Country::FranceAlsaceMoselle => "Europe/Paris",
            Country::Germany => "Europe/Berlin",
            Country::Belgium => "Europe/Brussels",
            Country::Spain => "Europe/Madrid",
            Country::Italy => "Europe/Rome",
            Country::UnitedKingdomEnglandWales
            | Country::UnitedKingdomScotland
            | Country::UnitedKingdomNorthernIreland => "Europe/London",
            Country::Netherlands => "Europe/Amsterdam",
            Country::Poland => "Europe/Warsaw",
            Country::Ireland => "Europe/Dublin",
            Country::Austria => "Europe/Vienna",
            Country::Portugal => "Europe/Lisbon",
            Country::Sweden => "Europe/Stockholm",
            Country::Denmark => "Europe/Copenhagen",
            Country::Finland => "Europe/Helsinki",
            Country::Czechia => "Europe/Prague",
            Country::Romania => "Europe/Bucharest",
            Country::Hungary => "Europe/Budapest",
            Country::Luxembourg => "Europe/Luxembourg",
            Country::Croatia => "Europe/Zagreb",
            Country::Estonia => "Europe/Tallinn",
            Country::Lithuania => "Europe/Vilnius",
            Country::Norway => "Europe/Oslo",
            Country::Slovenia => "Europe/Ljubljana",
            Country::Malta => "Europe/Malta",
            Country::Bulgaria => "Europe/Sofia",
            Country::Cyprus => "Asia/Nicosia",
            Country::Greece => "Europe/Athens",
            Country::Latvia => "Europe/Riga",
            Country::Slovakia => "Europe/Bratislava",
            Country::Iceland => "Atlantic/Reykjavik",
            Country::Liechtenstein => "Europe/Vaduz",
            Country::UnitedStates => "America/Los_Angeles",
            Country::Brazil => "America/Sao_Paulo",
        }
    }

    /// A warning for calendars where a decree or a decision of the year designates or moves days
    /// that are not built in, for deadlines counted in `year` or the next: printed by `dossier
    /// serve` at startup (the current year) and by `dossier deadline` (the year of receipt); `None`
    /// for the others, and for Greece when neither year needs a decision not yet shipped.
    pub fn decree_notice(self, year: i32) -> Option<String> {
        let notice = match self {
            // Algemene termijnenwet Art. 3(3).
            Country::Netherlands => {
                "NL: the days equated with public holidays by royal decree under Algemene termijnenwet \
                 Art. 3(3) (such as the Friday after Ascension) are not built in; add those of the decree in \
                 force as closure days"
            }
            // Кодекс на труда Art. 154: the Council of Ministers' yearly decision on moved rest days.
            Country::Bulgaria => {
                "BG: the rest days the Council of Ministers moves by its yearly decision (bridge days such as \
                 2 January 2026, worked on a Saturday) are not public holidays and are not built in; add them as \
                 closure days if your counsel counts them"
            }
            // Ν. 1157/1981: the move of 1 May is decided in the year it is needed.
            Country::Greece => {
                let pending = [Some(year), year.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .find(|&year| national::greek_may_day_undecided(year))?;
                return Some(format!(
                    "GR: 1 May {pending} falls on a Sunday or between Palm Sunday and Easter Monday, and the \
                     decision of that year moving the holiday is not built in (those of 2021, 2022 and 2024 are); \
                     add the day it sets as a closure day"
                ));
            }
            // Par svētku, atceres un atzīmējamām dienām Art. 1; the Cabinet's orders moving working days.
            Country::Latvia => {
                "LV: the closing day of the Song and Dance Festival is built in for 2023 only (the next, in 2028, \
                 is set by its organisers), and the working days the Cabinet moves by yearly order are not built \
                 in; add those days as closure days"
            }
            _ => return None,
        };
        Some(notice.to_owned())
    }

    /// The rule tables that make up this country's calendar.
    fn tables(self) -> &'static [&'static [HolidayRule]] {
        match self {
            Country::France => &[FRANCE],
            Country::FranceAlsaceMoselle => &[FRANCE, ALSACE_MOSELLE_EXTRA],
            Country::Germany => &[GERMANY],
            Country::Belgium => &[BELGIUM],
            Country::Spain => &[SPAIN],
            Country::Italy => &[ITALY],
            Country::UnitedKingdomEnglandWales => &[UNITED_KINGDOM_ENGLAND_WALES],
            Country::UnitedStates => &[UNITED_STATES],
            Country::Brazil => &[BRAZIL],
            Country::UnitedKingdomScotland => &[UNITED_KINGDOM_SCOTLAND],
            Country::UnitedKingdomNorthernIreland => &[UNITED_KINGDOM_ENGLAND_WALES, NORTHERN_IRELAND_EXTRA],
            Country::Netherlands => &[NETHERLANDS],
            Country::Poland => &[POLAND],
            Country::Ireland => &[IRELAND],
            Country::Austria => &[AUSTRIA],
            Country::Portugal => &[PORTUGAL],
            Country::Sweden => &[SWEDEN],
            Country::Denmark => &[DENMARK],
            Country::Finland => &[FINLAND],
            Country::Czechia => &[CZECHIA],
            Country::Romania => &[ROMANIA],
            Country::Hungary => &[HUNGARY],
            Country::Luxembourg => &[LUXEMBOURG],
            Country::Croatia => &[CROATIA],
            Country::Estonia => &[ESTONIA],
            Country::Lithuania => &[LITHUANIA],
            Country::Norway => &[NORWAY],
            Country::Slovenia => &[SLOVENIA],
            Country::Malta => &[MALTA],
            Country::Bulgaria => &[BULGARIA],
            Country::Cyprus => &[CYPRUS],
            Country::Greece => &[GREECE],
            Country::Latvia => &[LATVIA],
            Country::Slovakia => &[SLOVAKIA],
            Country::Iceland => &[ICELAND],
            Country::Liechtenstein => &[LIECHTENSTEIN],
        }
    }

    fn rules(self) -> impl Iterator<Item = &'static HolidayRule> {
        self.tables().iter().flat_map(|table| table.iter())
    }

    /// Whether `date` is a public holiday here, the day itself or its observed or substitute day
    /// (weekends are not holidays as such).
    pub fn is_public_holiday(self, date: Date) -> bool {
        self.holidays(date.year()).iter().any(|holiday| holiday.date == date)
    }

    /// The public holidays of `year`, in date order: each holiday on its own date and, where the
    /// country moves a holiday falling on a weekend, on its observed or substitute day too.
    pub fn holidays(self, year: i32) -> Vec<Holiday> {
        // An observed day can fall in the neighbouring year (US: 1 January 2022, a Saturday, was
        // observed on Friday 31 December 2021), so the neighbours are computed too.
        let years = [year.checked_sub(1), Some(year), year.checked_add(1)];
        let mut actual: Vec<(Holiday, Observance)> = years
            .into_iter()
            .flatten()
            .flat_map(|y| {
                self.rules().filter_map(move |rule| {
                    Some((Holiday { date: rule.date_in(y)?, name: rule.name, observed: false }, rule.observance))
                })
            })
            .collect();
        actual.sort_by_key(|(holiday, _)| holiday.date);

        let mut taken: BTreeSet<Date> = actual.iter().map(|(holiday, _)| holiday.date).collect();
        let mut observed = Vec::new();
        for (holiday, observance) in &actual {
            if !is_weekend(holiday.date) {
                continue;
            }
            let day = match observance {
                Observance::Nothing => None,
                Observance::FridayOrMonday => match holiday.date.weekday() {
                    Weekday::Saturday => holiday.date.previous_day(),
                    _ => holiday.date.next_day(),
                },
                Observance::NextFreeWeekday => next_free_weekday(holiday.date, &taken),
            };
            if let Some(day) = day {
                taken.insert(day);
                observed.push(Holiday { date: day, name: holiday.name, observed: true });
            }
        }

        let mut holidays: Vec<Holiday> = actual
            .into_iter()
            .map(|(holiday, _)| holiday)
            .chain(observed)
            .filter(|holiday| holiday.date.year() == year)
            .collect();
        holidays.sort_by_key(|holiday| (holiday.date, holiday.observed));
        holidays
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The first weekday after `date` that is not in `taken`; `None` past the last supported date.
fn next_free_weekday(date: Date, taken: &BTreeSet<Date>) -> Option<Date> {
    let mut day = date.next_day()?;
    while is_weekend(day) || taken.contains(&day) {
        day = day.next_day()?;
    }
    Some(day)
}

/// The `n`-th (1-based) `weekday` of `month`; `None` if the month has no such day.
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let ahead = (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
    let day = 1 + ahead + 7 * n.checked_sub(1)?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The last `weekday` of `month`.
fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = (7 + last.weekday().number_days_from_monday() - weekday.number_days_from_monday()) % 7;
    last.checked_sub(Duration::days(i64::from(back)))
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;

    /// Accepts the codes of [`Country::code`], in any case, and these aliases:
    /// - `FR-ALSACE-MOSELLE`: the ISO 3166-2 codes of the three departments (`FR-57` Moselle,
    ///   `FR-67` Bas-Rhin, `FR-68` Haut-Rhin) and `FR-6AE` (Collectivité européenne d'Alsace);
    /// - `GB-EAW`: `UK`, and the ISO 3166-2 codes `GB-ENG` (England) and `GB-WLS` (Wales).
    ///   Plain `GB` is refused: Scotland (`GB-SCT`) and Northern Ireland (`GB-NIR`) have other bank
    ///   holidays.
    ///
    /// Every other code is the ISO 3166-1 alpha-2 code of [`Country::code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "FR" => Ok(Country::France),
            "FR-ALSACE-MOSELLE" | "FR-57" | "FR-67" | "FR-68" | "FR-6AE" => Ok(Country::FranceAlsaceMoselle),
            "DE" => Ok(Country::Germany),
            "BE" => Ok(Country::Belgium),
            "ES" => Ok(Country::Spain),
            "IT" => Ok(Country::Italy),
            "GB-EAW" | "UK" | "GB-ENG" | "GB-WLS" => Ok(Country::UnitedKingdomEnglandWales),
            "US" => Ok(Country::UnitedStates),
            "BR" => Ok(Country::Brazil),
            "GB-SCT" => Ok(Country::UnitedKingdomScotland),
            "GB-NIR" => Ok(Country::UnitedKingdomNorthernIreland),
            code => Country::ALL
                .into_iter()
                .find(|country| country.code() == code)
                .ok_or_else(|| UnknownCountry(s.to_owned())),
        }
    }
}

/// A public holiday on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    /// The name in the country's language (English for FR, the UK and the US), for logs and the
    /// staff's calendar view.
    pub name: &'static str,
    /// Whether this is the observed or substitute day of a holiday falling on a weekend.
    pub observed: bool,
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
    ///
    /// A plain [`Date`] is added whatever the calendar; an [`ExtraClosure`] scoped to a country is
    /// added only to that country's calendar (Regulation 1182/71 Art. 3(4) and the ICO count only
    /// the holidays of the relevant country: an Alsace-Moselle holiday does not move a UK GDPR or
    /// LGPD date).
    pub fn with_extra_closures<I>(mut self, days: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ExtraClosure>,
    {
        let country = self.country;
        self.extra_closures.extend(
            days.into_iter().map(Into::into).filter(|d| d.country.is_none_or(|c| c == country)).map(|d| d.date),
        );
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

/// Orthodox Easter Sunday of `year` as a Gregorian date: the Julian computus (Meeus), then the
/// Julian calendar's lag behind the Gregorian (13 days from 1900 to 2099). `None` outside the
/// years `time` supports or before the Gregorian reform (1583).
pub fn orthodox_easter_sunday(year: i32) -> Option<Date> {
    if year < 1583 {
        return None;
    }
    let a = year.rem_euclid(4);
    let b = year.rem_euclid(7);
    let c = year.rem_euclid(19);
    let d = (19 * c + 15).rem_euclid(30);
    let e = (2 * a + 4 * b - d + 34).rem_euclid(7);
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    let julian_month = if month == 3 { Month::March } else { Month::April };
    // The Julian date read on the Gregorian calendar, then moved by the calendars' difference.
    let lag = year.div_euclid(100) - year.div_euclid(400) - 2;
    let as_if_gregorian = Date::from_calendar_date(year, julian_month, u8::try_from(day).ok()?).ok()?;
    as_if_gregorian.checked_add(Duration::days(i64::from(lag)))
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

    /// The days of `year` on which `country` closes for a holiday (weekends left out, as they are
    /// closed anyway), in order.
    fn weekday_holidays(country: Country, year: i32) -> Vec<Date> {
        let mut days: Vec<Date> =
            country.holidays(year).iter().map(|h| h.date).filter(|day| !is_weekend(*day)).collect();
        days.dedup();
        days
    }

    fn every_day_of(year: i32) -> impl Iterator<Item = Date> {
        std::iter::successors(Date::from_calendar_date(year, Month::January, 1).ok(), |day| day.next_day())
            .take_while(move |day| day.year() == year)
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
        for country in Country::ALL {
            for year in [-9999, 9999, i32::MIN, i32::MAX] {
                let _ = country.holidays(year);
            }
            let _ = country.is_public_holiday(Date::MIN);
            let _ = country.is_public_holiday(Date::MAX);
        }
        // 25 December 9999 is a Saturday: the US observes it on Friday 24; nothing exists after.
        assert!(Country::UnitedStates.is_public_holiday(date!(9999 - 12 - 24)));
    }

    #[test]
    fn nth_and_last_weekdays() {
        assert_eq!(nth_weekday(2026, Month::January, Weekday::Monday, 3), Some(date!(2026 - 01 - 19)));
        assert_eq!(nth_weekday(2026, Month::November, Weekday::Thursday, 4), Some(date!(2026 - 11 - 26)));
        assert_eq!(nth_weekday(2026, Month::June, Weekday::Monday, 1), Some(date!(2026 - 06 - 01)));
        assert_eq!(nth_weekday(2026, Month::June, Weekday::Monday, 5), Some(date!(2026 - 06 - 29)));
        assert_eq!(nth_weekday(2026, Month::February, Weekday::Monday, 5), None);
        assert_eq!(nth_weekday(2026, Month::June, Weekday::Monday, 0), None);
        assert_eq!(last_weekday(2026, Month::May, Weekday::Monday), Some(date!(2026 - 05 - 25)));
        assert_eq!(last_weekday(2026, Month::August, Weekday::Monday), Some(date!(2026 - 08 - 31)));
        assert_eq!(last_weekday(2021, Month::May, Weekday::Monday), Some(date!(2021 - 05 - 31)));
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
        for day in every_day_of(2026) {
            assert_eq!(Country::France.is_public_holiday(day), expected.contains(&day), "{day}");
        }
    }

    #[test]
    fn german_holidays_2017_2024_2025() {
        assert_eq!(
            Country::Germany.holidays(2024).iter().map(|h| h.date).collect::<Vec<_>>(),
            [
                date!(2024 - 01 - 01),
                date!(2024 - 03 - 29), // Karfreitag
                date!(2024 - 04 - 01), // Ostermontag
                date!(2024 - 05 - 01),
                date!(2024 - 05 - 09), // Christi Himmelfahrt
                date!(2024 - 05 - 20), // Pfingstmontag
                date!(2024 - 10 - 03),
                date!(2024 - 12 - 25),
                date!(2024 - 12 - 26),
            ]
        );
        assert_eq!(
            weekday_holidays(Country::Germany, 2025),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 18),
                date!(2025 - 04 - 21),
                date!(2025 - 05 - 01),
                date!(2025 - 05 - 29),
                date!(2025 - 06 - 09),
                date!(2025 - 10 - 03),
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        // Reformation Day: nationwide in 2017 only.
        assert!(Country::Germany.is_public_holiday(date!(2017 - 10 - 31)));
        assert!(!Country::Germany.is_public_holiday(date!(2018 - 10 - 31)));
        assert!(!Country::Germany.is_public_holiday(date!(2016 - 10 - 31)));
        assert_eq!(Country::Germany.holidays(2017).len(), 10);
    }

    #[test]
    fn belgian_holidays_2024_2025() {
        assert_eq!(
            Country::Belgium.holidays(2025).iter().map(|h| h.date).collect::<Vec<_>>(),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 21), // Lundi de Pâques
                date!(2025 - 05 - 01),
                date!(2025 - 05 - 29), // Ascension
                date!(2025 - 06 - 09), // Lundi de Pentecôte
                date!(2025 - 07 - 21),
                date!(2025 - 08 - 15),
                date!(2025 - 11 - 01),
                date!(2025 - 11 - 11),
                date!(2025 - 12 - 25),
            ]
        );
        assert!(Country::Belgium.is_public_holiday(date!(2024 - 05 - 09)));
        assert!(Country::Belgium.is_public_holiday(date!(2024 - 05 - 20)));
        // Not a Belgian holiday: Good Friday, 26 December, 8 May.
        assert!(!Country::Belgium.is_public_holiday(date!(2024 - 03 - 29)));
        assert!(!Country::Belgium.is_public_holiday(date!(2024 - 12 - 26)));
        assert!(!Country::Belgium.is_public_holiday(date!(2024 - 05 - 08)));
    }

    #[test]
    fn spanish_national_holidays_2025_2026() {
        assert_eq!(
            Country::Spain.holidays(2025).iter().map(|h| h.date).collect::<Vec<_>>(),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 01 - 06),
                date!(2025 - 04 - 18), // Viernes Santo
                date!(2025 - 05 - 01),
                date!(2025 - 08 - 15),
                date!(2025 - 10 - 12),
                date!(2025 - 11 - 01),
                date!(2025 - 12 - 06),
                date!(2025 - 12 - 08),
                date!(2025 - 12 - 25),
            ]
        );
        assert!(Country::Spain.is_public_holiday(date!(2026 - 04 - 03))); // Viernes Santo 2026
        // Easter Monday and Holy Thursday are regional only.
        assert!(!Country::Spain.is_public_holiday(date!(2026 - 04 - 06)));
        assert!(!Country::Spain.is_public_holiday(date!(2026 - 04 - 02)));
    }

    #[test]
    fn italian_holidays_2025_2027() {
        assert_eq!(
            Country::Italy.holidays(2025).iter().map(|h| h.date).collect::<Vec<_>>(),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 01 - 06),
                date!(2025 - 04 - 21), // Lunedì dell'Angelo
                date!(2025 - 04 - 25),
                date!(2025 - 05 - 01),
                date!(2025 - 06 - 02),
                date!(2025 - 08 - 15),
                date!(2025 - 11 - 01),
                date!(2025 - 12 - 08),
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        // 4 October: from 2026 (a Sunday then), first on a working day in 2027 (a Monday).
        assert!(!Country::Italy.is_public_holiday(date!(2025 - 10 - 04)));
        assert!(Country::Italy.is_public_holiday(date!(2026 - 10 - 04)));
        assert!(!HolidayCalendar::new(Country::Italy).is_working_day(date!(2027 - 10 - 04)));
        assert!(Country::Italy.is_public_holiday(date!(2027 - 03 - 29))); // Easter Monday 2027
        assert_eq!(Country::Italy.holidays(2027).len(), 12);
    }

    #[test]
    fn england_and_wales_bank_holidays_2020_to_2023_and_2026() {
        // gov.uk/bank-holidays, England and Wales.
        for (year, expected) in [
            (
                2020,
                vec![
                    date!(2020 - 01 - 01),
                    date!(2020 - 04 - 10),
                    date!(2020 - 04 - 13),
                    date!(2020 - 05 - 08), // Early May moved to Friday 8 May (VE Day)
                    date!(2020 - 05 - 25),
                    date!(2020 - 08 - 31),
                    date!(2020 - 12 - 25),
                    date!(2020 - 12 - 28), // Boxing Day (Saturday): substitute Monday
                ],
            ),
            (
                2021,
                vec![
                    date!(2021 - 01 - 01),
                    date!(2021 - 04 - 02),
                    date!(2021 - 04 - 05),
                    date!(2021 - 05 - 03),
                    date!(2021 - 05 - 31),
                    date!(2021 - 08 - 30),
                    date!(2021 - 12 - 27), // Christmas (Saturday): substitute Monday
                    date!(2021 - 12 - 28), // Boxing Day (Sunday): substitute Tuesday
                ],
            ),
            (
                2022,
                vec![
                    date!(2022 - 01 - 03), // New Year's Day (Saturday): substitute Monday
                    date!(2022 - 04 - 15),
                    date!(2022 - 04 - 18),
                    date!(2022 - 05 - 02),
                    date!(2022 - 06 - 02), // Spring bank holiday moved
                    date!(2022 - 06 - 03), // Platinum Jubilee
                    date!(2022 - 08 - 29),
                    date!(2022 - 09 - 19), // State Funeral
                    date!(2022 - 12 - 26), // Boxing Day
                    date!(2022 - 12 - 27), // Christmas (Sunday): substitute Tuesday
                ],
            ),
            (
                2023,
                vec![
                    date!(2023 - 01 - 02),
                    date!(2023 - 04 - 07),
                    date!(2023 - 04 - 10),
                    date!(2023 - 05 - 01),
                    date!(2023 - 05 - 08), // Coronation
                    date!(2023 - 05 - 29),
                    date!(2023 - 08 - 28),
                    date!(2023 - 12 - 25),
                    date!(2023 - 12 - 26),
                ],
            ),
            (
                2026,
                vec![
                    date!(2026 - 01 - 01),
                    date!(2026 - 04 - 03),
                    date!(2026 - 04 - 06),
                    date!(2026 - 05 - 04),
                    date!(2026 - 05 - 25),
                    date!(2026 - 08 - 31),
                    date!(2026 - 12 - 25),
                    date!(2026 - 12 - 28), // Boxing Day (Saturday): substitute Monday
                ],
            ),
        ] {
            assert_eq!(weekday_holidays(Country::UnitedKingdomEnglandWales, year), expected, "{year}");
        }
        // 30 May 2022 (the usual last Monday in May) was a working day.
        assert!(HolidayCalendar::new(Country::UnitedKingdomEnglandWales).is_working_day(date!(2022 - 05 - 30)));
        let substitutes: Vec<Holiday> =
            Country::UnitedKingdomEnglandWales.holidays(2021).into_iter().filter(|h| h.observed).collect();
        assert_eq!(
            substitutes,
            [
                Holiday { date: date!(2021 - 12 - 27), name: "Christmas Day", observed: true },
                Holiday { date: date!(2021 - 12 - 28), name: "Boxing Day", observed: true },
            ]
        );
    }

    #[test]
    fn us_federal_holidays_2021_to_2023_and_2026() {
        // opm.gov federal holidays, observed dates.
        for (year, expected) in [
            (
                2021,
                vec![
                    date!(2021 - 01 - 01),
                    date!(2021 - 01 - 18),
                    date!(2021 - 02 - 15),
                    date!(2021 - 05 - 31),
                    date!(2021 - 06 - 18), // Juneteenth (Saturday) observed Friday
                    date!(2021 - 07 - 05), // Independence Day (Sunday) observed Monday
                    date!(2021 - 09 - 06),
                    date!(2021 - 10 - 11),
                    date!(2021 - 11 - 11),
                    date!(2021 - 11 - 25),
                    date!(2021 - 12 - 24), // Christmas (Saturday) observed Friday
                    date!(2021 - 12 - 31), // New Year's Day 2022 (Saturday) observed
                ],
            ),
            (
                2022,
                vec![
                    date!(2022 - 01 - 17),
                    date!(2022 - 02 - 21),
                    date!(2022 - 05 - 30),
                    date!(2022 - 06 - 20),
                    date!(2022 - 07 - 04),
                    date!(2022 - 09 - 05),
                    date!(2022 - 10 - 10),
                    date!(2022 - 11 - 11),
                    date!(2022 - 11 - 24),
                    date!(2022 - 12 - 26),
                ],
            ),
            (
                2023,
                vec![
                    date!(2023 - 01 - 02),
                    date!(2023 - 01 - 16),
                    date!(2023 - 02 - 20),
                    date!(2023 - 05 - 29),
                    date!(2023 - 06 - 19),
                    date!(2023 - 07 - 04),
                    date!(2023 - 09 - 04),
                    date!(2023 - 10 - 09),
                    date!(2023 - 11 - 10), // Veterans Day (Saturday) observed Friday
                    date!(2023 - 11 - 23),
                    date!(2023 - 12 - 25),
                ],
            ),
            (
                2026,
                vec![
                    date!(2026 - 01 - 01),
                    date!(2026 - 01 - 19),
                    date!(2026 - 02 - 16),
                    date!(2026 - 05 - 25),
                    date!(2026 - 06 - 19),
                    date!(2026 - 07 - 03), // Independence Day (Saturday) observed Friday
                    date!(2026 - 09 - 07),
                    date!(2026 - 10 - 12),
                    date!(2026 - 11 - 11),
                    date!(2026 - 11 - 26),
                    date!(2026 - 12 - 25),
                ],
            ),
        ] {
            assert_eq!(weekday_holidays(Country::UnitedStates, year), expected, "{year}");
        }
        // No Juneteenth before 2021.
        assert!(!Country::UnitedStates.is_public_holiday(date!(2020 - 06 - 19)));
    }

    #[test]
    fn brazilian_national_holidays_2023_and_2025() {
        assert_eq!(
            Country::Brazil.holidays(2025).iter().map(|h| h.date).collect::<Vec<_>>(),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 21),
                date!(2025 - 05 - 01),
                date!(2025 - 09 - 07),
                date!(2025 - 10 - 12),
                date!(2025 - 11 - 02),
                date!(2025 - 11 - 15),
                date!(2025 - 11 - 20),
                date!(2025 - 12 - 25),
            ]
        );
        // 20 November: national from 2024 (Lei 14.759/2023).
        assert!(!Country::Brazil.is_public_holiday(date!(2023 - 11 - 20)));
    }

    #[test]
    fn observed_days_are_weekdays_and_every_weekend_holiday_gets_one_where_the_law_says_so() {
        for country in Country::ALL {
            for year in 1990..=2040 {
                let holidays = country.holidays(year);
                let mut dates: Vec<Date> = holidays.iter().map(|h| h.date).collect();
                assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]), "{country} {year}: sorted");
                for holiday in holidays.iter().filter(|h| h.observed) {
                    assert!(!is_weekend(holiday.date), "{country} {holiday:?}");
                }
                let substitutes = holidays.iter().filter(|h| h.observed).count();
                let moved = matches!(
                    country,
                    Country::UnitedKingdomEnglandWales
                        | Country::UnitedStates
                        | Country::UnitedKingdomScotland
                        | Country::UnitedKingdomNorthernIreland
                        | Country::Bulgaria
                        | Country::Latvia
                );
                if !moved {
                    assert_eq!(substitutes, 0, "{country} {year}");
                }
                // A Bulgarian or Latvian substitute day never falls on another holiday (two holidays
                // may share a date there: 1 May 1994 was also Orthodox Easter Sunday).
                if matches!(country, Country::Bulgaria | Country::Latvia) {
                    let substitutes: Vec<Date> = holidays.iter().filter(|h| h.observed).map(|h| h.date).collect();
                    for day in &substitutes {
                        assert_eq!(dates.iter().filter(|date| *date == day).count(), 1, "{country} {day}");
                    }
                }
                // UK substitute days never coincide with another holiday.
                if matches!(
                    country,
                    Country::UnitedKingdomEnglandWales
                        | Country::UnitedKingdomScotland
                        | Country::UnitedKingdomNorthernIreland
                ) {
                    let before = dates.len();
                    dates.dedup();
                    assert_eq!(dates.len(), before, "{year}: a substitute on a holiday");
                }
            }
        }
    }

    #[test]
    fn holidays_list_and_check_agree_2024_to_2030() {
        for country in Country::ALL {
            for year in 2024..=2030 {
                let listed: Vec<Date> = country.holidays(year).iter().map(|h| h.date).collect();
                for day in every_day_of(year) {
                    assert_eq!(country.is_public_holiday(day), listed.contains(&day), "{country} {day}");
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
        // Works the same for every country: a Land holiday in Bavaria (Epiphany).
        let bavaria = HolidayCalendar::new(Country::Germany).with_extra_closures([date!(2026 - 01 - 06)]);
        assert!(!bavaria.is_working_day(date!(2026 - 01 - 06)));
    }

    /// Regulation 1182/71 Art. 3(4) and the ICO count the holidays of the relevant country only:
    /// a closure scoped to one calendar leaves the others alone; an unscoped one goes everywhere.
    #[test]
    fn scoped_extra_closures_apply_to_their_own_calendar_only() {
        let day = date!(2026 - 12 - 24);
        let closures = [ExtraClosure::of(Country::France, day)];
        assert!(fr().with_extra_closures(closures).is_holiday(day));
        let uk = HolidayCalendar::new(Country::UnitedKingdomEnglandWales).with_extra_closures(closures);
        assert!(uk.is_working_day(day));
        assert_eq!(uk.extra_closures().count(), 0);
        let alsace = HolidayCalendar::new(Country::FranceAlsaceMoselle).with_extra_closures(closures);
        assert!(alsace.is_working_day(day), "Alsace-Moselle is a calendar of its own");
        let anywhere = HolidayCalendar::new(Country::Brazil).with_extra_closures([ExtraClosure::from(day)]);
        assert!(anywhere.is_holiday(day));
    }

    #[test]
    fn parses_country_codes() {
        assert_eq!("FR".parse(), Ok(Country::France));
        assert_eq!(" fr ".parse(), Ok(Country::France));
        assert_eq!("FR-ALSACE-MOSELLE".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("fr-57".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("FR-67".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("FR-68".parse(), Ok(Country::FranceAlsaceMoselle));
        assert_eq!("DE".parse(), Ok(Country::Germany));
        assert_eq!("be".parse(), Ok(Country::Belgium));
        assert_eq!("ES".parse(), Ok(Country::Spain));
        assert_eq!("IT".parse(), Ok(Country::Italy));
        assert_eq!("GB-EAW".parse(), Ok(Country::UnitedKingdomEnglandWales));
        assert_eq!("uk".parse(), Ok(Country::UnitedKingdomEnglandWales));
        assert_eq!("GB-ENG".parse(), Ok(Country::UnitedKingdomEnglandWales));
        assert_eq!("GB-WLS".parse(), Ok(Country::UnitedKingdomEnglandWales));
        assert_eq!("US".parse(), Ok(Country::UnitedStates));
        assert_eq!("BR".parse(), Ok(Country::Brazil));
        for unknown in ["", "FRA", "FR-75", "France", "GB", "GB-XYZ", "USA", "NLD", "EU"] {
            assert_eq!(unknown.parse::<Country>(), Err(UnknownCountry(unknown.to_owned())));
        }
        for country in Country::ALL {
            assert_eq!(country.to_string().parse(), Ok(country));
            // Every default zone is one Dossier supports.
            assert!(country.default_time_zone().parse::<crate::deadlines::Zone>().is_ok(), "{country}");
        }
    }
}
