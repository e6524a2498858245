//! The UK GDPR policy: UK GDPR Art. 12(3), counted as the ICO's guidance on the right of access
//! ("Time limits for responding", ico.org.uk) does.
//!
//! The ICO counts "from the day of receipt (whether that is a working day or not) until the
//! corresponding calendar date in the next month" (received 3 September: due 3 October); when the
//! next month has no such date, the last day of that month (31 March: 30 April); when the date
//! falls on a weekend or a bank holiday, the next working day. The calendar step gives the same
//! dates as Regulation 1182/71 (see [`super::counting`]), so the two policies share it; the
//! working days are those of the UK calendar (England and Wales: [`super::Country`] `GB-EAW`).

use time::Date;

use super::calendar::HolidayCalendar;
use super::counting::months_then_roll;
use super::{Deadline, DeadlineError, Policy};

/// UK GDPR Art. 12(3): "within one month of receipt of the request".
pub const UK_GDPR_MONTHS: u32 = 1;

/// UK GDPR Art. 12(3): extendable "by a further two months"; the ICO counts the extended deadline
/// as three months from the start date.
pub const UK_GDPR_EXTENDED_MONTHS: u32 = 3;

/// The deadlines of a request received on `received_on` (the controller's local date) by a
/// controller whose bank holidays are `calendar`.
///
/// - `due`: the same date next month, clamped to its last day, rolled past weekends and bank
///   holidays (ICO guidance).
/// - `extension_notice_by`: the person must be told "within one month of receipt" (UK GDPR
///   Art. 12(3)), i.e. by `due`.
/// - `extended_due`: three months from the start, counted the same way.
///
/// Errors only when a date falls past the last date `time` supports (year 9999).
pub fn uk_gdpr(received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
    uk_gdpr_paused(received_on, calendar, 0)
}

/// [`uk_gdpr`] counted from `start` (the ICO restarts the count on receipt of requested identity
/// documents) with the clock stopped for `paused_days` days (the ICO's "stop the clock" while
/// waiting for a clarification it was necessary to ask for).
pub fn uk_gdpr_paused(start: Date, calendar: &HolidayCalendar, paused_days: u32) -> Result<Deadline, DeadlineError> {
    let count = |months| {
        months_then_roll(start, months, paused_days, calendar).ok_or(DeadlineError::OutOfRange { received_on: start })
    };
    let due = count(UK_GDPR_MONTHS)?;
    let extended_due = count(UK_GDPR_EXTENDED_MONTHS)?;
    Ok(Deadline {
        received_on: start,
        due,
        extension_notice_by: due,
        extended_due,
        policy: Policy::UkGdpr,
        confirm_receipt_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use crate::deadlines::counting::add_months_clamped;
    use time::Weekday;
    use time::macros::date;

    fn uk() -> HolidayCalendar {
        HolidayCalendar::new(Country::UnitedKingdomEnglandWales)
    }

    fn due(received_on: Date) -> Date {
        uk_gdpr(received_on, &uk()).unwrap().due
    }

    // docs/legal.md, "Test vectors".

    #[test]
    fn vector_3_september_to_3_october() {
        // 2025: Friday 3 October, a working day.
        assert_eq!(add_months_clamped(date!(2025 - 09 - 03), 1), Some(date!(2025 - 10 - 03)));
        assert_eq!(due(date!(2025 - 09 - 03)), date!(2025 - 10 - 03));
        // 2026: Saturday 3 October rolls to Monday 5 October.
        assert_eq!(due(date!(2026 - 09 - 03)), date!(2026 - 10 - 05));
    }

    #[test]
    fn vector_31_march_to_30_april() {
        assert_eq!(date!(2026 - 04 - 30).weekday(), Weekday::Thursday);
        assert_eq!(due(date!(2026 - 03 - 31)), date!(2026 - 04 - 30));
    }

    #[test]
    fn vector_25_november_past_christmas_and_boxing_day() {
        // 2024: Wednesday 25 and Thursday 26 December are bank holidays; Friday 27 is a working day.
        assert_eq!(due(date!(2024 - 11 - 25)), date!(2024 - 12 - 27));
        // 2026: Friday 25, Saturday 26 (substitute Monday 28), Sunday 27: Tuesday 29 December.
        assert_eq!(due(date!(2026 - 11 - 25)), date!(2026 - 12 - 29));
        // 2021: Saturday 25 and Sunday 26, substitutes Monday 27 and Tuesday 28: Wednesday 29.
        assert_eq!(due(date!(2021 - 11 - 25)), date!(2021 - 12 - 29));
    }

    #[test]
    fn extension_is_three_months_from_the_start() {
        let deadline = uk_gdpr(date!(2026 - 01 - 31), &uk()).unwrap();
        assert_eq!(
            deadline,
            Deadline {
                received_on: date!(2026 - 01 - 31),
                due: date!(2026 - 03 - 02), // Saturday 28 February rolls to Monday
                extension_notice_by: date!(2026 - 03 - 02),
                extended_due: date!(2026 - 04 - 30),
                policy: Policy::UkGdpr,
                confirm_receipt_by: None,
            }
        );
        // 2026-02-04 + 3 months = Monday 4 May 2026, the early May bank holiday: Tuesday 5 May.
        assert_eq!(uk_gdpr(date!(2026 - 02 - 04), &uk()).unwrap().extended_due, date!(2026 - 05 - 05));
    }

    #[test]
    fn uk_bank_holidays_differ_from_french_ones() {
        // Received 31 July 2026: Monday 31 August is the summer bank holiday in England and Wales,
        // a working day in France.
        assert_eq!(due(date!(2026 - 07 - 31)), date!(2026 - 09 - 01));
        let fr = HolidayCalendar::new(Country::France);
        assert_eq!(uk_gdpr(date!(2026 - 07 - 31), &fr).unwrap().due, date!(2026 - 08 - 31));
        // Good Friday 2026 (3 April) is a UK bank holiday: received 3 March, due Tuesday 7 April.
        assert_eq!(due(date!(2026 - 03 - 03)), date!(2026 - 04 - 07));
    }

    #[test]
    fn a_clarification_pause_pushes_the_dates() {
        let paused = uk_gdpr_paused(date!(2025 - 09 - 03), &uk(), 4).unwrap();
        assert_eq!(paused.due, date!(2025 - 10 - 07));
        assert_eq!(paused.extended_due, date!(2025 - 12 - 08)); // Sunday 7 December rolls to Monday
    }

    #[test]
    fn property_due_is_a_working_day_within_5_days_of_the_calendar_date_2020_to_2030() {
        let calendar = uk();
        let mut day = date!(2020 - 01 - 01);
        while day.year() <= 2030 {
            let deadline = uk_gdpr(day, &calendar).unwrap();
            for (months, due) in [(UK_GDPR_MONTHS, deadline.due), (UK_GDPR_EXTENDED_MONTHS, deadline.extended_due)] {
                let calendar_date = add_months_clamped(day, months).unwrap();
                assert!(calendar.is_working_day(due), "{day}");
                assert!(due >= calendar_date, "{day}");
                assert!((due - calendar_date).whole_days() <= 5, "{day}");
            }
            assert!(deadline.extended_due > deadline.due);
            day = day.next_day().unwrap();
        }
    }
}
