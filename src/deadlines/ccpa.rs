//! The California policy: CCPA/CPRA (Cal. Civ. Code 1798.130(a)(2)) and its regulations (Cal. Code
//! Regs. tit. 11, §7021).
//!
//! Periods are counted in days, not months:
//! - Respond "within 45 calendar days" (Civ. Code 1798.130(a)(2)(A); §7021(b)). The period begins
//!   on the day the business receives the request, "regardless of time required to verify"
//!   (§7021(b)): the clock never pauses and never waits for verification (see
//!   [`super::clock_policy`]). Counted by Cal. Civ. Code §10: the first day (receipt) is excluded
//!   and the last included, so received on day D, due on D + 45.
//! - One extension "by an additional 45 calendar days" (90 in total), with notice and the reasons
//!   "within the first 45-day period" (Civ. Code 1798.130(a)(2)(A); §7021(b)).
//! - Confirm receipt "within 10 business days" (§7021(a)), counted in working days of the
//!   calendar (the US federal calendar by default).
//!
//! Civ. Code §10 would also carry a period ending on a holiday to the next day that is not one;
//! Dossier does not apply that extension to the 45 and 90 days: calendar days, as §7021 says,
//! are the earlier, safe reading.

use time::Date;

use super::calendar::HolidayCalendar;
use super::counting::{add_days, add_working_days};
use super::{Deadline, DeadlineError, Policy};

/// Civ. Code 1798.130(a)(2)(A); §7021(b): "within 45 calendar days".
pub const CCPA_DAYS: u32 = 45;

/// Civ. Code 1798.130(a)(2)(A); §7021(b): extendable once by 45 further calendar days.
pub const CCPA_EXTENDED_DAYS: u32 = 90;

/// §7021(a): confirm receipt "within 10 business days".
pub const CCPA_CONFIRM_BUSINESS_DAYS: u32 = 10;

/// The deadlines of a request received on `received_on` (the business's local date, California
/// time by default); `calendar` gives the business days for the receipt confirmation only.
///
/// - `due`: receipt + 45 calendar days, not rolled.
/// - `extension_notice_by`: the notice of an extension is due "within the first 45-day period",
///   i.e. by `due`.
/// - `extended_due`: receipt + 90 calendar days, not rolled.
/// - `confirm_receipt_by`: the 10th business day after receipt.
///
/// Errors only when a date falls past the last date `time` supports (year 9999).
pub fn ccpa(received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
    let out_of_range = || DeadlineError::OutOfRange { received_on };
    let due = add_days(received_on, CCPA_DAYS).ok_or_else(out_of_range)?;
    let extended_due = add_days(received_on, CCPA_EXTENDED_DAYS).ok_or_else(out_of_range)?;
    let confirm_receipt_by =
        add_working_days(received_on, CCPA_CONFIRM_BUSINESS_DAYS, calendar).ok_or_else(out_of_range)?;
    Ok(Deadline {
        received_on,
        due,
        extension_notice_by: due,
        extended_due,
        policy: Policy::Ccpa,
        confirm_receipt_by: Some(confirm_receipt_by),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use time::Weekday;
    use time::macros::date;

    fn us() -> HolidayCalendar {
        HolidayCalendar::new(Country::UnitedStates)
    }

    #[test]
    fn forty_five_calendar_days_from_receipt() {
        let deadline = ccpa(date!(2026 - 01 - 31), &us()).unwrap();
        assert_eq!(
            deadline,
            Deadline {
                received_on: date!(2026 - 01 - 31),
                due: date!(2026 - 03 - 17),
                extension_notice_by: date!(2026 - 03 - 17),
                extended_due: date!(2026 - 05 - 01),
                policy: Policy::Ccpa,
                // Saturday 31 January: Monday 2 to Friday 13 February, ten business days.
                confirm_receipt_by: Some(date!(2026 - 02 - 13)),
            }
        );
        assert!(deadline.extension_allowed_on(date!(2026 - 03 - 17)));
        assert!(!deadline.extension_allowed_on(date!(2026 - 03 - 18)));
    }

    #[test]
    fn calendar_days_are_not_rolled_past_weekends_or_holidays() {
        // Received 20 May 2026 + 45 = Saturday 4 July 2026 (Independence Day): due that day.
        let deadline = ccpa(date!(2026 - 05 - 20), &us()).unwrap();
        assert_eq!(deadline.due, date!(2026 - 07 - 04));
        assert_eq!(deadline.due.weekday(), Weekday::Saturday);
        // Leap year: 2028-01-31 + 45 = 16 March 2028 (29 February counts).
        assert_eq!(ccpa(date!(2028 - 01 - 31), &us()).unwrap().due, date!(2028 - 03 - 16));
        // Across a year end.
        assert_eq!(ccpa(date!(2026 - 12 - 01), &us()).unwrap().due, date!(2027 - 01 - 15));
    }

    #[test]
    fn receipt_confirmation_skips_federal_holidays() {
        // Friday 9 January 2026: 12-16 January (5), Monday 19 is MLK Day, 20-23 (9), 26 (10).
        let deadline = ccpa(date!(2026 - 01 - 09), &us()).unwrap();
        assert_eq!(deadline.confirm_receipt_by, Some(date!(2026 - 01 - 26)));
        // Around Thanksgiving and Christmas 2026: received Wednesday 16 December: 17, 18, 21, 22,
        // 23, 24 (6), Friday 25 is Christmas, 28, 29, 30, 31 (10).
        let deadline = ccpa(date!(2026 - 12 - 16), &us()).unwrap();
        assert_eq!(deadline.confirm_receipt_by, Some(date!(2026 - 12 - 31)));
        // Extra closures count too.
        let closed = us().with_extra_closures([date!(2026 - 12 - 31)]);
        assert_eq!(ccpa(date!(2026 - 12 - 16), &closed).unwrap().confirm_receipt_by, Some(date!(2027 - 01 - 04)));
    }

    #[test]
    fn property_fixed_offsets_2024_to_2030() {
        let calendar = us();
        let mut day = date!(2024 - 01 - 01);
        while day.year() <= 2030 {
            let deadline = ccpa(day, &calendar).unwrap();
            assert_eq!((deadline.due - day).whole_days(), 45);
            assert_eq!((deadline.extended_due - day).whole_days(), 90);
            let confirm = deadline.confirm_receipt_by.unwrap();
            assert!(calendar.is_working_day(confirm), "{day}");
            // 10 business days take at least 12 and, with holidays, at most 18 calendar days.
            assert!((12..=18).contains(&(confirm - day).whole_days()), "{day}");
            assert!(confirm < deadline.due);
            day = day.next_day().unwrap();
        }
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert_eq!(
            ccpa(date!(9999 - 11 - 15), &us()),
            Err(DeadlineError::OutOfRange { received_on: date!(9999 - 11 - 15) })
        );
    }
}
