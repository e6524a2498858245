//! The Brazilian policy: LGPD (Lei 13.709/2018) Art. 19.
//!
//! Art. 19, II: a clear and complete answer "no prazo de até 15 (quinze) dias, contado da data do
//! requerimento do titular" (a simplified answer, Art. 19, I, is due immediately). The LGPD sets
//! no extension. The period is counted by the Código Civil Art. 132: the day of the request is
//! excluded and the last day included (received on day D, due on D + 15); when the last day is a
//! holiday the period runs to the next working day (Art. 132 §1: "considerar-se-á prorrogado o
//! prazo até o seguinte dia útil"), Saturdays and Sundays included as non-working days.

use time::Date;

use super::calendar::HolidayCalendar;
use super::counting::{add_days, roll_to_working_day};
use super::{Deadline, DeadlineError, Policy};

/// LGPD Art. 19, II: "no prazo de até 15 (quinze) dias".
pub const LGPD_DAYS: u32 = 15;

/// The deadlines of a request received on `received_on` (the controller's local date, Brasília
/// time by default) by a controller whose holidays are `calendar`.
///
/// - `due`: receipt + 15 days, rolled to the next working day (Código Civil Art. 132 §1).
/// - No extension: `extension_notice_by` and `extended_due` equal `due`, and
///   [`Deadline::extension_allowed_on`] is always false ([`Deadline::extension`] is `None`).
///
/// Errors only when a date falls past the last date `time` supports (year 9999).
pub fn lgpd(received_on: Date, calendar: &HolidayCalendar) -> Result<Deadline, DeadlineError> {
    lgpd_paused(received_on, calendar, 0)
}

/// [`lgpd`] counted from `start` with the clock stopped for `paused_days` days.
pub fn lgpd_paused(start: Date, calendar: &HolidayCalendar, paused_days: u32) -> Result<Deadline, DeadlineError> {
    let days = LGPD_DAYS.checked_add(paused_days).ok_or(DeadlineError::OutOfRange { received_on: start })?;
    let due = add_days(start, days)
        .and_then(|end| roll_to_working_day(end, calendar))
        .ok_or(DeadlineError::OutOfRange { received_on: start })?;
    Ok(Deadline {
        received_on: start,
        due,
        extension_notice_by: due,
        extended_due: due,
        policy: Policy::Lgpd,
        confirm_receipt_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use time::macros::date;

    fn br() -> HolidayCalendar {
        HolidayCalendar::new(Country::Brazil)
    }

    #[test]
    fn fifteen_days_from_the_request() {
        // Wednesday 14 January 2026 + 15 = Thursday 29 January.
        let deadline = lgpd(date!(2026 - 01 - 14), &br()).unwrap();
        assert_eq!(
            deadline,
            Deadline {
                received_on: date!(2026 - 01 - 14),
                due: date!(2026 - 01 - 29),
                extension_notice_by: date!(2026 - 01 - 29),
                extended_due: date!(2026 - 01 - 29),
                policy: Policy::Lgpd,
                confirm_receipt_by: None,
            }
        );
    }

    #[test]
    fn no_extension() {
        let deadline = lgpd(date!(2026 - 01 - 14), &br()).unwrap();
        assert_eq!(deadline.extension(), None);
        assert!(!deadline.extension_allowed_on(date!(2026 - 01 - 15)));
    }

    #[test]
    fn a_weekend_or_holiday_rolls_to_the_next_working_day() {
        // 31 January 2026 + 15 = Sunday 15 February: Monday 16 (Carnival is not a federal holiday).
        assert_eq!(lgpd(date!(2026 - 01 - 31), &br()).unwrap().due, date!(2026 - 02 - 16));
        // 6 April 2026 + 15 = Tuesday 21 April, Tiradentes: Wednesday 22.
        assert_eq!(lgpd(date!(2026 - 04 - 06), &br()).unwrap().due, date!(2026 - 04 - 22));
        // 5 November 2026 + 15 = Friday 20 November, Consciência Negra (from 2024): Monday 23.
        assert_eq!(lgpd(date!(2026 - 11 - 05), &br()).unwrap().due, date!(2026 - 11 - 23));
    }

    #[test]
    fn a_pause_adds_its_days_before_the_roll() {
        assert_eq!(lgpd_paused(date!(2026 - 01 - 14), &br(), 2).unwrap().due, date!(2026 - 02 - 02));
        assert_eq!(lgpd_paused(date!(2026 - 01 - 14), &br(), 1).unwrap().due, date!(2026 - 01 - 30));
        assert!(lgpd_paused(date!(2026 - 01 - 14), &br(), u32::MAX).is_err());
    }
}
