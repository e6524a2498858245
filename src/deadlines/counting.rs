//! Counting periods under Regulation (EEC, Euratom) 1182/71, Art. 3, the rule EU law (and so
//! GDPR Art. 12(3)) uses for "one month" and "three months".
//!
//! The two steps are kept apart so each can be tested, and so later policies can reuse them:
//! [`add_months_clamped`] is the calendar step (Art. 3(1) and 3(2)(c)), [`roll_to_working_day`]
//! the working-day step (Art. 3(4)). [`months_then_roll`] chains them, with the days a paused clock
//! adds in between; [`add_days`] and [`add_working_days`] serve the policies counted in days
//! (CCPA, LGPD).

use time::{Date, Duration, Month};

use super::calendar::HolidayCalendar;

/// The same date `months` months later, or the last day of that month when it has no such date
/// (31 January + 1 month = 28 or 29 February). `None` past the last date `time` supports.
///
/// Regulation 1182/71 Art. 3(1): the day of the event (receipt) is not counted; Art. 3(2)(c): a
/// period expressed in months ends with the expiry of the last hour of the day in the last month
/// which is the same date as the day from which the period runs, or, if there is no such day, of
/// the last day of that month.
///
/// Monotonic: `a <= b` implies `add_months_clamped(a, n) <= add_months_clamped(b, n)`.
pub fn add_months_clamped(date: Date, months: u32) -> Option<Date> {
    let month_index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(month_index.div_euclid(12)).ok()?;
    // rem_euclid(12) is in 0..12, so the month number is in 1..=12.
    let month = Month::try_from(u8::try_from(month_index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

/// `date` if it is a working day, else the next working day of `calendar`. `None` past the last
/// date `time` supports.
///
/// Regulation 1182/71 Art. 3(4): where the last day of a period is a public holiday, Saturday or
/// Sunday, the period ends with the expiry of the last hour of the following working day.
pub fn roll_to_working_day(date: Date, calendar: &HolidayCalendar) -> Option<Date> {
    let mut day = date;
    while !calendar.is_working_day(day) {
        day = day.next_day()?;
    }
    Some(day)
}

/// `date` plus `days` calendar days; `None` past the last date `time` supports.
pub fn add_days(date: Date, days: u32) -> Option<Date> {
    date.checked_add(Duration::days(i64::from(days)))
}

/// The `days`-th working day of `calendar` after `date` (`date` itself is not counted: 10
/// business days after a Friday ends on the second Friday after it when no holiday intervenes).
/// `None` past the last date `time` supports.
pub fn add_working_days(date: Date, days: u32, calendar: &HolidayCalendar) -> Option<Date> {
    let mut day = date;
    for _ in 0..days {
        day = roll_to_working_day(day.next_day()?, calendar)?;
    }
    Some(day)
}

/// The end of a period of `months` calendar months from `start` ([`add_months_clamped`]), pushed
/// by `paused_days` days during which the clock was stopped, then rolled to a working day
/// ([`roll_to_working_day`]). The pause shifts the calendar end, not the rolled one, so a paused
/// deadline still ends on the first working day on or after its shifted calendar date.
pub fn months_then_roll(start: Date, months: u32, paused_days: u32, calendar: &HolidayCalendar) -> Option<Date> {
    let end = add_months_clamped(start, months)?;
    roll_to_working_day(add_days(end, paused_days)?, calendar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use time::macros::date;

    fn fr() -> HolidayCalendar {
        HolidayCalendar::new(Country::France)
    }

    #[test]
    fn same_date_next_month() {
        assert_eq!(add_months_clamped(date!(2026 - 08 - 25), 1), Some(date!(2026 - 09 - 25)));
        assert_eq!(add_months_clamped(date!(2026 - 12 - 15), 1), Some(date!(2027 - 01 - 15)));
        assert_eq!(add_months_clamped(date!(2026 - 11 - 30), 3), Some(date!(2027 - 02 - 28)));
        assert_eq!(add_months_clamped(date!(2026 - 05 - 10), 0), Some(date!(2026 - 05 - 10)));
        assert_eq!(add_months_clamped(date!(2026 - 05 - 10), 24), Some(date!(2028 - 05 - 10)));
    }

    #[test]
    fn clamps_to_the_end_of_a_short_month() {
        for received in [date!(2026 - 01 - 28), date!(2026 - 01 - 29), date!(2026 - 01 - 30), date!(2026 - 01 - 31)] {
            assert_eq!(add_months_clamped(received, 1), Some(date!(2026 - 02 - 28)), "{received}");
        }
        assert_eq!(add_months_clamped(date!(2026 - 03 - 31), 1), Some(date!(2026 - 04 - 30)));
        assert_eq!(add_months_clamped(date!(2028 - 01 - 31), 1), Some(date!(2028 - 02 - 29)));
        assert_eq!(add_months_clamped(date!(2026 - 01 - 31), 3), Some(date!(2026 - 04 - 30)));
        assert_eq!(
            add_months_clamped(date!(2100 - 01 - 31), 1), // 2100 is not a leap year
            Some(date!(2100 - 02 - 28))
        );
    }

    #[test]
    fn out_of_range_is_none_not_a_panic() {
        assert_eq!(add_months_clamped(Date::MAX, 1), None);
        assert_eq!(add_months_clamped(date!(9999 - 12 - 01), 1), None);
        assert_eq!(add_months_clamped(Date::MIN, u32::MAX), None);
        assert_eq!(add_months_clamped(date!(9999 - 11 - 30), 1), Some(date!(9999 - 12 - 30)));
        // 31 December 9999 is a Friday: fine. The Saturday after does not exist.
        assert_eq!(roll_to_working_day(Date::MAX, &fr()), Some(Date::MAX));
        let closed = fr().with_extra_closures([Date::MAX]);
        assert_eq!(roll_to_working_day(Date::MAX, &closed), None);
    }

    #[test]
    fn a_working_day_does_not_move() {
        assert_eq!(roll_to_working_day(date!(2026 - 09 - 25), &fr()), Some(date!(2026 - 09 - 25)));
    }

    #[test]
    fn a_weekend_rolls_to_monday() {
        assert_eq!(roll_to_working_day(date!(2026 - 02 - 28), &fr()), Some(date!(2026 - 03 - 02)));
        assert_eq!(roll_to_working_day(date!(2026 - 03 - 01), &fr()), Some(date!(2026 - 03 - 02)));
    }

    #[test]
    fn holidays_roll() {
        // Tuesday 14 July 2026.
        assert_eq!(roll_to_working_day(date!(2026 - 07 - 14), &fr()), Some(date!(2026 - 07 - 15)));
        // Easter Monday 2026.
        assert_eq!(roll_to_working_day(date!(2026 - 04 - 06), &fr()), Some(date!(2026 - 04 - 07)));
        // Ascension Thursday 2026.
        assert_eq!(roll_to_working_day(date!(2026 - 05 - 14), &fr()), Some(date!(2026 - 05 - 15)));
        // Friday 1 May 2026, then the weekend: Monday 4 May.
        assert_eq!(roll_to_working_day(date!(2026 - 05 - 01), &fr()), Some(date!(2026 - 05 - 04)));
        // Saturday 4 April 2026, Sunday, then Easter Monday: Tuesday 7 April.
        assert_eq!(roll_to_working_day(date!(2026 - 04 - 04), &fr()), Some(date!(2026 - 04 - 07)));
        // Friday 25 December 2026 in Alsace-Moselle: 26 (also a holiday), weekend, Monday 28.
        let alsace = HolidayCalendar::new(Country::FranceAlsaceMoselle);
        assert_eq!(roll_to_working_day(date!(2026 - 12 - 25), &alsace), Some(date!(2026 - 12 - 28)));
        // Good Friday 2026 in Alsace-Moselle: weekend, Easter Monday, Tuesday 7 April.
        assert_eq!(roll_to_working_day(date!(2026 - 04 - 03), &alsace), Some(date!(2026 - 04 - 07)));
        assert_eq!(roll_to_working_day(date!(2026 - 04 - 03), &fr()), Some(date!(2026 - 04 - 03)));
    }

    #[test]
    fn days_and_working_days() {
        assert_eq!(add_days(date!(2026 - 01 - 31), 45), Some(date!(2026 - 03 - 17)));
        assert_eq!(add_days(date!(2026 - 01 - 31), 0), Some(date!(2026 - 01 - 31)));
        assert_eq!(add_days(Date::MAX, 1), None);
        // Friday 9 January 2026 + 10 working days in France: Friday 23 January.
        assert_eq!(add_working_days(date!(2026 - 01 - 09), 10, &fr()), Some(date!(2026 - 01 - 23)));
        // From a Saturday: the first working day counted is Monday.
        assert_eq!(add_working_days(date!(2026 - 01 - 31), 1, &fr()), Some(date!(2026 - 02 - 02)));
        assert_eq!(add_working_days(date!(2026 - 01 - 31), 0, &fr()), Some(date!(2026 - 01 - 31)));
        // Across Easter Monday 2026.
        assert_eq!(add_working_days(date!(2026 - 04 - 02), 2, &fr()), Some(date!(2026 - 04 - 07)));
        assert_eq!(add_working_days(Date::MAX, 1, &fr()), None);
    }

    #[test]
    fn months_then_roll_shifts_the_calendar_end_before_rolling() {
        // 2026-01-31 + 1 month = Saturday 28 February; + 2 paused days = Monday 2 March.
        assert_eq!(months_then_roll(date!(2026 - 01 - 31), 1, 0, &fr()), Some(date!(2026 - 03 - 02)));
        assert_eq!(months_then_roll(date!(2026 - 01 - 31), 1, 2, &fr()), Some(date!(2026 - 03 - 02)));
        // + 3 paused days = Tuesday 3 March, not Monday 2 March + 3 = Thursday 5 March.
        assert_eq!(months_then_roll(date!(2026 - 01 - 31), 1, 3, &fr()), Some(date!(2026 - 03 - 03)));
        assert_eq!(months_then_roll(date!(9999 - 12 - 01), 1, 0, &fr()), None);
        assert_eq!(months_then_roll(date!(9999 - 11 - 01), 1, 365, &fr()), None);
    }

    #[test]
    fn add_months_clamped_is_monotonic_2024_to_2030() {
        for months in [1, 2, 3, 12] {
            let mut day = date!(2024 - 01 - 01);
            let mut previous = add_months_clamped(day, months).unwrap();
            while day < date!(2031 - 01 - 01) {
                day = day.next_day().unwrap();
                let current = add_months_clamped(day, months).unwrap();
                assert!(current >= previous, "{day} + {months} months");
                assert!(current > day);
                // Clamping is the only reason the day of the month changes.
                if current.day() != day.day() {
                    assert!(current.day() < day.day());
                    assert_eq!(current.next_day().unwrap().day(), 1, "{day}");
                }
                previous = current;
            }
        }
    }
}
