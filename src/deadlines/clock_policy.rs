//! When the clock starts and what stops it: policy, not code.
//!
//! Jurisdictions differ, and some points are open (docs/legal.md, "Clock pauses"):
//! - EU GDPR Art. 12(3) counts "from receipt of the request". France's former décret 2005-1309
//!   art. 92 suspended the period while the controller waited for information it had asked for to
//!   identify the person; the Berlin DPA treated the month as paused while the person ignored an
//!   authentication request. Neither is settled law under the GDPR: by default nothing pauses;
//!   an operator may enable the identity and clarification pauses.
//! - UK GDPR (ICO guidance): the time limit starts when requested identity documents arrive, and
//!   the clock stops while waiting for a clarification it was necessary to ask for.
//! - CCPA (§7021(b)): the 45 days begin on receipt "regardless of time required to verify": the
//!   clock starts at receipt and never pauses; [`ClockPolicy::new`] refuses anything else.
//! - LGPD Art. 19: no pause in the law; by default nothing pauses.
//!
//! A pause pushes every date of the [`Deadline`] by the number of whole local days it lasted (see
//! [`super::counting::months_then_roll`]). Overlapping pauses count once; a pause opened after
//! the deadline has passed does not revive it; time before the clock starts is not a pause.

use std::fmt;
use std::str::FromStr;

use time::{Date, OffsetDateTime};

use super::calendar::HolidayCalendar;
use super::zone::{TimeZoneError, Zone};
use super::{Deadline, DeadlineError, Policy};

/// When the period starts running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockStart {
    /// On the day the request is received (GDPR Art. 12(3), CCPA §7021(b), LGPD Art. 19).
    Receipt,
    /// On the day the person's identity is verified (ICO: "the time limit starts from the day you
    /// receive the information" asked for to confirm identity). Until then there is no deadline.
    Verification,
}

/// Why the clock stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PauseReason {
    /// Waiting for information asked for to identify the person (GDPR Art. 12(6)).
    Identity,
    /// Waiting for the person to clarify what they ask for (GDPR Recital 63).
    Clarification,
}

impl PauseReason {
    pub fn code(self) -> &'static str {
        match self {
            PauseReason::Identity => "identity",
            PauseReason::Clarification => "clarification",
        }
    }
}

impl fmt::Display for PauseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for PauseReason {
    type Err = ClockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "identity" => Ok(PauseReason::Identity),
            "clarification" => Ok(PauseReason::Clarification),
            _ => Err(ClockError::UnknownPauseReason(s.to_owned())),
        }
    }
}

impl FromStr for ClockStart {
    type Err = ClockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "receipt" => Ok(ClockStart::Receipt),
            "verification" => Ok(ClockStart::Verification),
            _ => Err(ClockError::UnknownClockStart(s.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("under the CCPA the 45 days begin on receipt, whatever verification takes (11 CCR §7021(b))")]
    CcpaStartsAtReceipt,
    #[error("under the CCPA the clock never pauses (11 CCR §7021(b))")]
    CcpaNeverPauses,
    #[error("unknown clock start {0:?} (known: receipt, verification)")]
    UnknownClockStart(String),
    #[error("unknown pause reason {0:?} (known: identity, clarification)")]
    UnknownPauseReason(String),
    #[error("a pause ends before it starts")]
    PauseEndsBeforeItStarts,
    #[error("the request is verified before it is received")]
    VerifiedBeforeReceipt,
    #[error(transparent)]
    TimeZone(#[from] TimeZoneError),
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
}

/// A jurisdiction's clock rules, checked against its [`Policy`] when built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockPolicy {
    policy: Policy,
    start: ClockStart,
    pauses_for_identity: bool,
    pauses_for_clarification: bool,
}

impl ClockPolicy {
    /// The clock rules for `policy` starting at `start` and pausing for the `pauses` reasons.
    /// Refuses, for the CCPA, a start at verification or any pause (§7021(b)).
    pub fn new(policy: Policy, start: ClockStart, pauses: &[PauseReason]) -> Result<Self, ClockError> {
        if policy == Policy::Ccpa {
            if start != ClockStart::Receipt {
                return Err(ClockError::CcpaStartsAtReceipt);
            }
            if !pauses.is_empty() {
                return Err(ClockError::CcpaNeverPauses);
            }
        }
        Ok(Self {
            policy,
            start,
            pauses_for_identity: pauses.contains(&PauseReason::Identity),
            pauses_for_clarification: pauses.contains(&PauseReason::Clarification),
        })
    }

    /// Dossier's defaults (see the module documentation): the UK GDPR starts at verification and
    /// pauses for clarification (ICO); every other policy starts at receipt and never pauses.
    pub fn default_for(policy: Policy) -> Self {
        let (start, identity, clarification) = match policy {
            Policy::UkGdpr => (ClockStart::Verification, false, true),
            Policy::EuGdpr | Policy::Ccpa | Policy::Lgpd => (ClockStart::Receipt, false, false),
        };
        Self { policy, start, pauses_for_identity: identity, pauses_for_clarification: clarification }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn start(&self) -> ClockStart {
        self.start
    }

    /// Whether a wait for `reason` stops the clock.
    pub fn pauses_for(&self, reason: PauseReason) -> bool {
        match reason {
            PauseReason::Identity => self.pauses_for_identity,
            PauseReason::Clarification => self.pauses_for_clarification,
        }
    }
}

/// An interval during which the controller waited for the person. The store keeps the events that
/// opened and closed it; the clock needs only the instants and the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub reason: PauseReason,
    pub from: OffsetDateTime,
    /// `None` while still waiting.
    pub until: Option<OffsetDateTime>,
}

/// What happened to a request, as far as the clock cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockEvents {
    pub received_at: OffsetDateTime,
    pub verified_at: Option<OffsetDateTime>,
    pub pauses: Vec<Pause>,
}

/// A request's deadlines once its clock start and pauses are taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveDeadline {
    /// The dates; `received_on` is the day of receipt even when the clock started later.
    pub deadline: Deadline,
    /// The day from which the period is counted.
    pub clock_started_on: Date,
    /// Whole local days the clock was stopped (overlaps counted once).
    pub paused_days: u32,
    /// A pause still open at `as_of`: each further day it stays open pushes the dates by a day.
    pub open_pause: Option<PauseReason>,
}

/// The effective deadlines of a request under `clock`, as of `as_of` (an open pause counts up to
/// then), all dates local to `zone`, working days from `calendar`. `Ok(None)` when the clock
/// starts at verification and the request is not verified yet.
pub fn effective_deadline(
    clock: &ClockPolicy,
    events: &ClockEvents,
    as_of: OffsetDateTime,
    zone: Zone,
    calendar: &HolidayCalendar,
) -> Result<Option<EffectiveDeadline>, ClockError> {
    let received_on = zone.local_date(events.received_at)?;
    let start = match (clock.start, events.verified_at) {
        (ClockStart::Receipt, _) => received_on,
        (ClockStart::Verification, None) => return Ok(None),
        (ClockStart::Verification, Some(verified_at)) => {
            if verified_at < events.received_at {
                return Err(ClockError::VerifiedBeforeReceipt);
            }
            zone.local_date(verified_at)?
        }
    };

    // The counted pauses as [first, end) local days, clipped to the clock start, merged.
    let mut intervals: Vec<(Date, Date, Option<PauseReason>)> = Vec::new();
    for pause in &events.pauses {
        if pause.until.is_some_and(|until| until < pause.from) {
            return Err(ClockError::PauseEndsBeforeItStarts);
        }
        if !clock.pauses_for(pause.reason) {
            continue;
        }
        let first = zone.local_date(pause.from)?.max(start);
        let end = zone.local_date(pause.until.unwrap_or(as_of))?;
        if end > first {
            intervals.push((first, end, pause.until.is_none().then_some(pause.reason)));
        } else if pause.until.is_none() && pause.from <= as_of {
            // Opened today: no whole day lost yet, but the clock is stopped.
            intervals.push((first, first, Some(pause.reason)));
        }
    }
    intervals.sort_by_key(|(first, end, _)| (*first, *end));
    let mut merged: Vec<(Date, Date, Option<PauseReason>)> = Vec::new();
    for (first, end, open) in intervals {
        match merged.last_mut() {
            Some(last) if first <= last.1 => {
                last.1 = last.1.max(end);
                last.2 = last.2.or(open);
            }
            _ => merged.push((first, end, open)),
        }
    }

    let mut paused_days: u32 = 0;
    let mut open_pause = None;
    for (first, end, open) in merged {
        let due = clock.policy.deadline_paused(start, calendar, paused_days)?.due;
        if first > due {
            break; // A deadline that has passed is not revived by a later pause.
        }
        let days =
            u32::try_from((end - first).whole_days()).map_err(|_| DeadlineError::OutOfRange { received_on: start })?;
        paused_days = paused_days.checked_add(days).ok_or(DeadlineError::OutOfRange { received_on: start })?;
        open_pause = open_pause.or(open);
    }
    let deadline = Deadline { received_on, ..clock.policy.deadline_paused(start, calendar, paused_days)? };
    Ok(Some(EffectiveDeadline { deadline, clock_started_on: start, paused_days, open_pause }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::calendar::Country;
    use time::macros::{date, datetime};

    fn paris() -> Zone {
        "Europe/Paris".parse().unwrap()
    }

    fn fr() -> HolidayCalendar {
        HolidayCalendar::new(Country::France)
    }

    fn eu_pausing() -> ClockPolicy {
        ClockPolicy::new(Policy::EuGdpr, ClockStart::Receipt, &[PauseReason::Identity, PauseReason::Clarification])
            .unwrap()
    }

    fn events(pauses: Vec<Pause>) -> ClockEvents {
        ClockEvents {
            received_at: datetime!(2026-08-25 10:00 +02:00),
            verified_at: Some(datetime!(2026-08-25 10:05 +02:00)),
            pauses,
        }
    }

    fn pause(reason: PauseReason, from: OffsetDateTime, until: Option<OffsetDateTime>) -> Pause {
        Pause { reason, from, until }
    }

    const AS_OF: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn effective(clock: &ClockPolicy, events: &ClockEvents) -> EffectiveDeadline {
        effective_deadline(clock, events, AS_OF, paris(), &fr()).unwrap().unwrap()
    }

    #[test]
    fn no_pause_is_the_plain_policy() {
        let result = effective(&eu_pausing(), &events(vec![]));
        assert_eq!(result.deadline, crate::deadlines::eu_gdpr(date!(2026 - 08 - 25), &fr()).unwrap());
        assert_eq!(result.clock_started_on, date!(2026 - 08 - 25));
        assert_eq!(result.paused_days, 0);
        assert_eq!(result.open_pause, None);
    }

    #[test]
    fn an_identity_pause_pushes_the_dates_by_its_days() {
        // Asked on Thursday 27 August, answered on Sunday 30: 3 days.
        let events = events(vec![pause(
            PauseReason::Identity,
            datetime!(2026-08-27 09:00 +02:00),
            Some(datetime!(2026-08-30 15:00 +02:00)),
        )]);
        let result = effective(&eu_pausing(), &events);
        assert_eq!(result.paused_days, 3);
        assert_eq!(result.deadline.received_on, date!(2026 - 08 - 25));
        assert_eq!(result.deadline.due, date!(2026 - 09 - 28)); // Friday 25 + 3 = Monday 28
        assert_eq!(result.deadline.extension_notice_by, date!(2026 - 09 - 28));
        assert_eq!(result.deadline.extended_due, date!(2026 - 11 - 30));
        // The default EU policy does not pause: same events, plain dates.
        let plain = effective(&ClockPolicy::default_for(Policy::EuGdpr), &events);
        assert_eq!((plain.paused_days, plain.deadline.due), (0, date!(2026 - 09 - 25)));
        // Nor does a policy pausing only for clarification.
        let clarification_only =
            ClockPolicy::new(Policy::EuGdpr, ClockStart::Receipt, &[PauseReason::Clarification]).unwrap();
        assert_eq!(effective(&clarification_only, &events).paused_days, 0);
    }

    #[test]
    fn pauses_are_counted_in_local_days() {
        // 23:30 in Paris on 27 August (21:30 UTC) to 00:30 on 29 August (22:30 UTC on the 28th):
        // two local days, although only one UTC day apart.
        let events = events(vec![pause(
            PauseReason::Identity,
            datetime!(2026-08-27 21:30 UTC),
            Some(datetime!(2026-08-28 22:30 UTC)),
        )]);
        assert_eq!(effective(&eu_pausing(), &events).paused_days, 2);
        // Opened and closed on the same day: nothing lost.
        let same_day = self::events(vec![pause(
            PauseReason::Identity,
            datetime!(2026-08-27 09:00 +02:00),
            Some(datetime!(2026-08-27 18:00 +02:00)),
        )]);
        assert_eq!(effective(&eu_pausing(), &same_day).paused_days, 0);
    }

    #[test]
    fn overlapping_pauses_count_once() {
        let events = events(vec![
            pause(PauseReason::Identity, datetime!(2026-08-27 09:00 +02:00), Some(datetime!(2026-08-30 09:00 +02:00))),
            pause(
                PauseReason::Clarification,
                datetime!(2026-08-29 09:00 +02:00),
                Some(datetime!(2026-09-01 09:00 +02:00)),
            ),
            pause(
                PauseReason::Clarification,
                datetime!(2026-09-10 09:00 +02:00),
                Some(datetime!(2026-09-12 09:00 +02:00)),
            ),
        ]);
        // 27 August to 1 September (5 days) and 10 to 12 September (2 days).
        let result = effective(&eu_pausing(), &events);
        assert_eq!(result.paused_days, 7);
        assert_eq!(result.deadline.due, date!(2026 - 10 - 02)); // Friday 25 September + 7
    }

    #[test]
    fn a_pause_after_the_deadline_does_not_revive_it() {
        let events = events(vec![pause(
            PauseReason::Clarification,
            datetime!(2026-09-28 09:00 +02:00),
            Some(datetime!(2026-10-05 09:00 +02:00)),
        )]);
        let result = effective(&eu_pausing(), &events);
        assert_eq!(result.paused_days, 0);
        assert_eq!(result.deadline.due, date!(2026 - 09 - 25));
        // But one that begins on the due day itself still counts.
        let on_due_day = self::events(vec![pause(
            PauseReason::Clarification,
            datetime!(2026-09-25 09:00 +02:00),
            Some(datetime!(2026-09-27 09:00 +02:00)),
        )]);
        assert_eq!(effective(&eu_pausing(), &on_due_day).deadline.due, date!(2026 - 09 - 28));
    }

    #[test]
    fn an_open_pause_counts_up_to_as_of() {
        let events = events(vec![pause(PauseReason::Identity, datetime!(2026-09-01 09:00 +02:00), None)]);
        let as_of = datetime!(2026-09-05 12:00 +02:00);
        let result = effective_deadline(&eu_pausing(), &events, as_of, paris(), &fr()).unwrap().unwrap();
        assert_eq!(result.paused_days, 4);
        assert_eq!(result.open_pause, Some(PauseReason::Identity));
        assert_eq!(result.deadline.due, date!(2026 - 09 - 29));
        // Opened today: stopped, no day lost yet.
        let today = datetime!(2026-09-01 18:00 +02:00);
        let result = effective_deadline(&eu_pausing(), &events, today, paris(), &fr()).unwrap().unwrap();
        assert_eq!((result.paused_days, result.open_pause), (0, Some(PauseReason::Identity)));
    }

    #[test]
    fn uk_default_starts_at_verification_and_pauses_for_clarification() {
        let clock = ClockPolicy::default_for(Policy::UkGdpr);
        let london: Zone = "Europe/London".parse().unwrap();
        let uk = HolidayCalendar::new(Country::UnitedKingdomEnglandWales);
        let mut events = ClockEvents {
            received_at: datetime!(2025-09-01 10:00 +01:00),
            verified_at: None,
            pauses: vec![pause(
                PauseReason::Identity,
                datetime!(2025-09-01 10:00 +01:00),
                Some(datetime!(2025-09-03 10:00 +01:00)),
            )],
        };
        // Not verified: no deadline yet.
        assert_eq!(effective_deadline(&clock, &events, AS_OF, london, &uk), Ok(None));
        // ID received on 3 September: due 3 October (ICO), the identity wait is not a pause.
        events.verified_at = Some(datetime!(2025-09-03 10:00 +01:00));
        let result = effective_deadline(&clock, &events, AS_OF, london, &uk).unwrap().unwrap();
        assert_eq!(result.clock_started_on, date!(2025 - 09 - 03));
        assert_eq!(result.deadline.received_on, date!(2025 - 09 - 01));
        assert_eq!(result.deadline.due, date!(2025 - 10 - 03));
        assert_eq!(result.paused_days, 0);
        // A clarification asked on 10 September, answered on 14: due Tuesday 7 October.
        events.pauses.push(pause(
            PauseReason::Clarification,
            datetime!(2025-09-10 10:00 +01:00),
            Some(datetime!(2025-09-14 10:00 +01:00)),
        ));
        let result = effective_deadline(&clock, &events, AS_OF, london, &uk).unwrap().unwrap();
        assert_eq!((result.paused_days, result.deadline.due), (4, date!(2025 - 10 - 07)));
    }

    #[test]
    fn ccpa_never_pauses_and_starts_at_receipt() {
        assert_eq!(ClockPolicy::new(Policy::Ccpa, ClockStart::Verification, &[]), Err(ClockError::CcpaStartsAtReceipt));
        assert_eq!(
            ClockPolicy::new(Policy::Ccpa, ClockStart::Receipt, &[PauseReason::Identity]),
            Err(ClockError::CcpaNeverPauses)
        );
        let clock = ClockPolicy::default_for(Policy::Ccpa);
        assert_eq!(ClockPolicy::new(Policy::Ccpa, ClockStart::Receipt, &[]), Ok(clock));
        assert!(!clock.pauses_for(PauseReason::Identity) && !clock.pauses_for(PauseReason::Clarification));
        let la: Zone = "America/Los_Angeles".parse().unwrap();
        let us = HolidayCalendar::new(Country::UnitedStates);
        // Received 23:30 on 31 January in California (07:30 UTC on 1 February); verified weeks later
        // after a long identity wait: still due 45 days after 31 January.
        let events = ClockEvents {
            received_at: datetime!(2026-02-01 07:30 UTC),
            verified_at: Some(datetime!(2026-02-20 12:00 -08:00)),
            pauses: vec![pause(
                PauseReason::Identity,
                datetime!(2026-02-01 12:00 -08:00),
                Some(datetime!(2026-02-20 12:00 -08:00)),
            )],
        };
        let result = effective_deadline(&clock, &events, AS_OF, la, &us).unwrap().unwrap();
        assert_eq!(result.deadline.received_on, date!(2026 - 01 - 31));
        assert_eq!(result.deadline.due, date!(2026 - 03 - 17));
        assert_eq!(result.deadline.confirm_receipt_by, Some(date!(2026 - 02 - 13)));
        assert_eq!(result.paused_days, 0);
    }

    #[test]
    fn inconsistent_events_are_errors() {
        let backwards = events(vec![pause(
            PauseReason::Identity,
            datetime!(2026-08-27 09:00 +02:00),
            Some(datetime!(2026-08-26 09:00 +02:00)),
        )]);
        assert_eq!(
            effective_deadline(&eu_pausing(), &backwards, AS_OF, paris(), &fr()),
            Err(ClockError::PauseEndsBeforeItStarts)
        );
        let verification = ClockPolicy::new(Policy::EuGdpr, ClockStart::Verification, &[]).unwrap();
        let mut early = events(vec![]);
        early.verified_at = Some(datetime!(2026-08-24 09:00 +02:00));
        assert_eq!(
            effective_deadline(&verification, &early, AS_OF, paris(), &fr()),
            Err(ClockError::VerifiedBeforeReceipt)
        );
        // A receipt the zone cannot place (past the last supported date) is the zone's error. (Paris
        // before 1996 was the example while zones were hand-written; the tz database knows it.)
        let mut out_of_range = events(vec![]);
        out_of_range.received_at = datetime!(9999-12-31 23:30 UTC);
        assert!(matches!(
            effective_deadline(&eu_pausing(), &out_of_range, AS_OF, paris(), &fr()),
            Err(ClockError::TimeZone(_))
        ));
    }

    /// A closure day in a policy's calendar counts where that policy counts working days, through
    /// the same calendar `effective_deadline` is given. (Which calendars get a configured day is
    /// the configuration's business: each day belongs to one country, see `ExtraClosure`.)
    #[test]
    fn closure_days_count_in_every_policy_and_after_a_pause() {
        let closed = date!(2026 - 12 - 24);
        let calendar = |country: Country| HolidayCalendar::new(country).with_extra_closures([closed]);
        let received_on = date!(2026 - 11 - 24);
        // EU GDPR: Thursday 24 December is closed, 25 is Christmas, then the weekend: Monday 28.
        let eu = Policy::EuGdpr.deadline(received_on, &calendar(Country::France)).unwrap();
        assert_eq!((eu.due, eu.extension_notice_by), (date!(2026 - 12 - 28), date!(2026 - 12 - 28)));
        assert_eq!(Policy::EuGdpr.deadline(received_on, &fr()).unwrap().due, closed, "open: due that day");
        // UK GDPR: 25 December, then Boxing Day's substitute Monday 28: Tuesday 29.
        let uk = Policy::UkGdpr.deadline(received_on, &calendar(Country::UnitedKingdomEnglandWales)).unwrap();
        assert_eq!(uk.due, date!(2026 - 12 - 29));
        // CCPA: 45 calendar days are not moved, but the 10 business days to confirm receipt are.
        let us = calendar(Country::UnitedStates);
        let ccpa = Policy::Ccpa.deadline(date!(2026 - 12 - 14), &us).unwrap();
        let plain = Policy::Ccpa.deadline(date!(2026 - 12 - 14), &HolidayCalendar::new(Country::UnitedStates)).unwrap();
        assert_eq!(ccpa.due, plain.due);
        assert_eq!(
            (plain.confirm_receipt_by, ccpa.confirm_receipt_by),
            (Some(date!(2026 - 12 - 29)), Some(date!(2026 - 12 - 30)))
        );
        // LGPD: 15 days from 9 December end on the closed day: Monday 28.
        assert_eq!(
            Policy::Lgpd.deadline(date!(2026 - 12 - 09), &calendar(Country::Brazil)).unwrap().due,
            date!(2026 - 12 - 28)
        );
        // After a pause: received Friday 20 November, four days waiting for a clarification: the
        // period ends on the closed 24 December, rolled to Monday 28.
        let events = ClockEvents {
            received_at: datetime!(2026-11-20 10:00 +01:00),
            verified_at: Some(datetime!(2026-11-20 10:05 +01:00)),
            pauses: vec![pause(
                PauseReason::Clarification,
                datetime!(2026-11-23 10:00 +01:00),
                Some(datetime!(2026-11-27 10:00 +01:00)),
            )],
        };
        let with =
            effective_deadline(&eu_pausing(), &events, AS_OF, paris(), &calendar(Country::France)).unwrap().unwrap();
        let without = effective(&eu_pausing(), &events);
        assert_eq!((with.paused_days, without.deadline.due, with.deadline.due), (4, closed, date!(2026 - 12 - 28)));
    }

    #[test]
    fn parses_reasons_and_starts() {
        assert_eq!("identity".parse(), Ok(PauseReason::Identity));
        assert_eq!(" Clarification ".parse(), Ok(PauseReason::Clarification));
        assert!("fee".parse::<PauseReason>().is_err());
        assert_eq!("receipt".parse(), Ok(ClockStart::Receipt));
        assert_eq!("VERIFICATION".parse(), Ok(ClockStart::Verification));
        assert!("never".parse::<ClockStart>().is_err());
        for reason in [PauseReason::Identity, PauseReason::Clarification] {
            assert_eq!(reason.to_string().parse(), Ok(reason));
        }
    }

    #[test]
    fn property_a_pause_never_moves_the_due_date_earlier() {
        let clock = eu_pausing();
        let mut day = date!(2026 - 01 - 01);
        while day.year() == 2026 {
            let received_at = time::PrimitiveDateTime::new(day, time::macros::time!(12:00)).assume_utc();
            let plain = ClockEvents { received_at, verified_at: None, pauses: vec![] };
            let base = effective(&clock, &plain).deadline;
            for days in [1_i64, 2, 5, 20] {
                let paused = ClockEvents {
                    pauses: vec![pause(
                        PauseReason::Identity,
                        received_at,
                        Some(received_at + time::Duration::days(days)),
                    )],
                    ..plain.clone()
                };
                let result = effective(&clock, &paused);
                assert_eq!(i64::from(result.paused_days), days);
                assert!(result.deadline.due >= base.due, "{day} + {days}");
                assert!(result.deadline.extended_due > result.deadline.due);
                assert!(fr().is_working_day(result.deadline.due));
            }
            day = day.next_day().unwrap();
        }
    }
}
