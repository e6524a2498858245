//! The EU GDPR policy: GDPR Art. 12(3), periods counted by Regulation 1182/71 Art. 3.

use time::Date;

use super::calendar::HolidayCalendar;
use super::counting::months_then_roll;
use super::{Deadline, DeadlineError, Policy};

/// GDPR Art. 12(3): "within one month of receipt of the request".
pub const EU_GDPR_MONTHS: u32 = 1;

/// GDPR Art. 12(3): the period "may be extended by two further months"; Dossier counts the
/// extended deadline as three months from receipt (the ICO's reading, see docs/legal.md).
pub const EU_GDPR_EXTENDED_MONTHS: u32 = 3;

/// The deadlines of a request received on `received_on` (the controller's local date, see
/// [`super::local_date`]) by a controller whose public holidays are `calendar`.
///
/// - `due`: one month from receipt (GDPR Art. 12(3); Regulation 1182/71 Art. 3(2)(c)), rolled to
///   the next working day (Regulation 1182/71 Art. 3(4)).
/// - `extension_notice_by`: the person must be told of an extension, with the reasons, "within one
///   month of receipt" (GDPR Art. 12(3)), i.e. by `due`.
/// - `extended_due`: three months from receipt, counted the same way.
///
/// Errors only when a date falls past the last date `time` supports (year 9999).
pub fn eu_gdpr(received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
    eu_gdpr_paused(received_on, calendar, 0)
}

/// [`eu_gdpr`] counted from `start` with the clock stopped for `paused_days` days: each end date's
/// calendar step is pushed by the paused days before the working-day roll (see
/// [`super::clock_policy`] for when a pause counts).
pub fn eu_gdpr_paused(start: Date, calendar: &HolidayCalendar, paused_days: u32) -> Result<Deadline, DeadlineError> {
    let count = |months| {
        months_then_roll(start, months, paused_days, calendar).ok_or(DeadlineError::OutOfRange { received_on: start })
    };
    let due = count(EU_GDPR_MONTHS)?;
    let extended_due = count(EU_GDPR_EXTENDED_MONTHS)?;
    Ok(Deadline {
        received_on: start,
        due,
        extension_notice_by: due,
        extended_due,
        policy: Policy::EuGdpr,
        confirm_receipt_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use crate::deadlines::counting::add_months_clamped;
    use time::macros::date;
    use time::{Month, Weekday};

    fn fr() -> HolidayCalendar {
        HolidayCalendar::new(Country::France)
    }

    fn due(received_on: Date) -> Date {
        eu_gdpr(received_on, &fr()).unwrap().due
    }

    // docs/legal.md, "Test vectors": each checks the calendar-month step, then the working-day step.

    #[test]
    fn vector_2026_08_25() {
        assert_eq!(add_months_clamped(date!(2026 - 08 - 25), 1), Some(date!(2026 - 09 - 25)));
        // A Friday: no roll.
        assert_eq!(due(date!(2026 - 08 - 25)), date!(2026 - 09 - 25));
    }

    #[test]
    fn vector_2026_01_29() {
        assert_eq!(add_months_clamped(date!(2026 - 01 - 29), 1), Some(date!(2026 - 02 - 28)));
        assert_eq!(date!(2026 - 02 - 28).weekday(), Weekday::Saturday);
        assert_eq!(due(date!(2026 - 01 - 29)), date!(2026 - 03 - 02));
    }

    #[test]
    fn vector_2026_01_30() {
        assert_eq!(add_months_clamped(date!(2026 - 01 - 30), 1), Some(date!(2026 - 02 - 28)));
        assert_eq!(due(date!(2026 - 01 - 30)), date!(2026 - 03 - 02));
    }

    #[test]
    fn vector_2026_01_31() {
        assert_eq!(add_months_clamped(date!(2026 - 01 - 31), 1), Some(date!(2026 - 02 - 28)));
        assert_eq!(due(date!(2026 - 01 - 31)), date!(2026 - 03 - 02));
        assert_eq!(date!(2026 - 03 - 02).weekday(), Weekday::Monday);
    }

    #[test]
    fn vector_2026_03_31() {
        assert_eq!(add_months_clamped(date!(2026 - 03 - 31), 1), Some(date!(2026 - 04 - 30)));
        // A Thursday: no roll.
        assert_eq!(due(date!(2026 - 03 - 31)), date!(2026 - 04 - 30));
    }

    #[test]
    fn vector_2028_01_31_leap_year() {
        assert_eq!(add_months_clamped(date!(2028 - 01 - 31), 1), Some(date!(2028 - 02 - 29)));
        assert_eq!(date!(2028 - 02 - 29).weekday(), Weekday::Tuesday);
        assert_eq!(due(date!(2028 - 01 - 31)), date!(2028 - 02 - 29));
    }

    #[test]
    fn vector_extension_2026_01_31() {
        assert_eq!(add_months_clamped(date!(2026 - 01 - 31), 3), Some(date!(2026 - 04 - 30)));
        let deadline = eu_gdpr(date!(2026 - 01 - 31), &fr()).unwrap();
        assert_eq!(
            deadline,
            Deadline {
                received_on: date!(2026 - 01 - 31),
                due: date!(2026 - 03 - 02),
                extension_notice_by: date!(2026 - 03 - 02),
                extended_due: date!(2026 - 04 - 30),
                policy: Policy::EuGdpr,
                confirm_receipt_by: None,
            }
        );
    }

    #[test]
    fn due_on_14_july_rolls_to_the_15th() {
        // Sunday 14 June 2026 + 1 month = Tuesday 14 July.
        assert_eq!(due(date!(2026 - 06 - 14)), date!(2026 - 07 - 15));
    }

    #[test]
    fn due_on_easter_monday_rolls_to_tuesday() {
        assert_eq!(due(date!(2026 - 03 - 06)), date!(2026 - 04 - 07));
    }

    #[test]
    fn due_on_ascension_rolls_to_friday() {
        assert_eq!(due(date!(2026 - 04 - 14)), date!(2026 - 05 - 15));
    }

    #[test]
    fn due_on_a_holiday_before_a_weekend_rolls_to_monday() {
        // Friday 1 May 2026; and Friday 8 May 2026.
        assert_eq!(due(date!(2026 - 04 - 01)), date!(2026 - 05 - 04));
        assert_eq!(due(date!(2026 - 04 - 08)), date!(2026 - 05 - 11));
    }

    #[test]
    fn due_on_a_weekend_before_a_holiday_rolls_past_both() {
        // Saturday 4 April 2026, Sunday 5, Easter Monday 6: Tuesday 7.
        assert_eq!(due(date!(2026 - 03 - 04)), date!(2026 - 04 - 07));
    }

    #[test]
    fn alsace_moselle_good_friday_and_26_december() {
        let alsace = HolidayCalendar::new(Country::FranceAlsaceMoselle);
        // 3 April 2026 is Good Friday: Alsace-Moselle rolls past the weekend and Easter Monday.
        let deadline = eu_gdpr(date!(2026 - 03 - 03), &alsace).unwrap();
        assert_eq!(deadline.due, date!(2026 - 04 - 07));
        assert_eq!(due(date!(2026 - 03 - 03)), date!(2026 - 04 - 03));
        // Received 25 November 2026: Friday 25 December (a holiday everywhere), Saturday 26 (also
        // a holiday in Alsace-Moselle), Sunday 27: Monday 28.
        assert_eq!(eu_gdpr(date!(2026 - 11 - 25), &alsace).unwrap().due, date!(2026 - 12 - 28));
        // Friday 26 December 2025: a working day in France, not in Alsace-Moselle.
        assert_eq!(due(date!(2025 - 11 - 26)), date!(2025 - 12 - 26));
        assert_eq!(eu_gdpr(date!(2025 - 11 - 26), &alsace).unwrap().due, date!(2025 - 12 - 29));
    }

    #[test]
    fn extended_due_rolls_too() {
        // 2026-02-14 + 3 months = Thursday 14 May 2026, Ascension: Friday 15 May.
        let deadline = eu_gdpr(date!(2026 - 02 - 14), &fr()).unwrap();
        assert_eq!(deadline.due, date!(2026 - 03 - 16)); // Saturday 14 March rolls to Monday
        assert_eq!(deadline.extended_due, date!(2026 - 05 - 15));
    }

    #[test]
    fn a_pause_pushes_every_date_by_the_paused_days() {
        // 2026-08-25: due Friday 25 September; 3 paused days: Monday 28 September.
        let paused = eu_gdpr_paused(date!(2026 - 08 - 25), &fr(), 3).unwrap();
        assert_eq!(paused.due, date!(2026 - 09 - 28));
        assert_eq!(paused.extension_notice_by, paused.due);
        // 25 November + 3 days = Saturday 28 November: Monday 30 November.
        assert_eq!(paused.extended_due, date!(2026 - 11 - 30));
        assert_eq!(eu_gdpr_paused(date!(2026 - 08 - 25), &fr(), 0), eu_gdpr(date!(2026 - 08 - 25), &fr()));
    }

    #[test]
    fn extra_closures_roll_the_deadline() {
        let calendar = fr().with_extra_closures([date!(2026 - 09 - 25)]);
        assert_eq!(eu_gdpr(date!(2026 - 08 - 25), &calendar).unwrap().due, date!(2026 - 09 - 28));
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert_eq!(
            eu_gdpr(date!(9999 - 11 - 15), &fr()),
            Err(DeadlineError::OutOfRange { received_on: date!(9999 - 11 - 15) })
        );
    }

    /// Every day of 2024-2030, for both French calendars.
    fn every_day_2024_to_2030() -> impl Iterator<Item = Date> {
        std::iter::successors(Some(date!(2024 - 01 - 01)), |day| day.next_day()).take_while(|day| day.year() <= 2030)
    }

    #[test]
    fn property_due_is_a_working_day_not_before_the_calendar_date_and_at_most_5_days_after() {
        for country in Country::ALL {
            let calendar = HolidayCalendar::new(country);
            let mut count = 0;
            for received_on in every_day_2024_to_2030() {
                let deadline = eu_gdpr(received_on, &calendar).unwrap();
                for (months, due) in [(EU_GDPR_MONTHS, deadline.due), (EU_GDPR_EXTENDED_MONTHS, deadline.extended_due)]
                {
                    let calendar_date = add_months_clamped(received_on, months).unwrap();
                    assert!(due >= calendar_date, "{country} {received_on}");
                    assert!(calendar.is_working_day(due), "{country} {received_on}");
                    assert!((due - calendar_date).whole_days() <= 5, "{country} {received_on}");
                    // The first working day on or after the calendar date, not a later one.
                    let mut day = calendar_date;
                    while day < due {
                        assert!(!calendar.is_working_day(day), "{country} {received_on}");
                        day = day.next_day().unwrap();
                    }
                }
                assert_eq!(deadline.received_on, received_on);
                assert_eq!(deadline.extension_notice_by, deadline.due);
                assert!(deadline.extended_due > deadline.due, "{received_on}");
                assert!(deadline.due > received_on);
                count += 1;
            }
            assert_eq!(count, 2557); // 7 years, two of them leap years: the loop really ran.
        }
    }

    #[test]
    fn property_due_is_monotonic_in_the_receipt_date() {
        let calendar = fr();
        let mut previous: Option<Deadline> = None;
        for received_on in every_day_2024_to_2030() {
            let deadline = eu_gdpr(received_on, &calendar).unwrap();
            if let Some(previous) = previous {
                assert!(deadline.due >= previous.due, "{received_on}");
                assert!(deadline.extended_due >= previous.extended_due, "{received_on}");
            }
            previous = Some(deadline);
        }
        // Sanity: the iterator covers both ends.
        assert_eq!(every_day_2024_to_2030().last(), Date::from_calendar_date(2030, Month::December, 31).ok());
    }
}
