use std::fmt;
use std::str::FromStr;

/// Where a request is in its lifecycle (docs/architecture.md, "A request's life").
///
/// Every change of status goes through [`RequestStatus::transition`]; nothing else decides
/// whether a move is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStatus {
    /// The email address is not verified yet; no legal obligation has been triggered by a proven owner.
    Submitted,
    /// The requester proved they control the address.
    Verified,
    /// Sources are being searched.
    Collecting,
    /// The export can be downloaded.
    Ready,
    /// The erasure plan, the current values to correct or the objections offered wait for the
    /// person: they confirm (or cancel) before anything is reviewed or changed.
    AwaitingConfirmation,
    /// A plan or proposal waits for staff.
    AwaitingReview,
    /// Approved changes are being applied to sources.
    Executing,
    Completed,
    Denied,
    Cancelled,
    /// Never verified.
    Expired,
    /// A source failed after its retries; staff must act.
    NeedsAttention,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a request cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: RequestStatus,
    pub to: RequestStatus,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 12] = [
        RequestStatus::Submitted,
        RequestStatus::Verified,
        RequestStatus::Collecting,
        RequestStatus::Ready,
        RequestStatus::AwaitingConfirmation,
        RequestStatus::AwaitingReview,
        RequestStatus::Executing,
        RequestStatus::Completed,
        RequestStatus::Denied,
        RequestStatus::Cancelled,
        RequestStatus::Expired,
        RequestStatus::NeedsAttention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Submitted => "submitted",
            RequestStatus::Verified => "verified",
            RequestStatus::Collecting => "collecting",
            RequestStatus::Ready => "ready",
            RequestStatus::AwaitingConfirmation => "awaiting_confirmation",
            RequestStatus::AwaitingReview => "awaiting_review",
            RequestStatus::Executing => "executing",
            RequestStatus::Completed => "completed",
            RequestStatus::Denied => "denied",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Expired => "expired",
            RequestStatus::NeedsAttention => "needs_attention",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestStatus::Completed | RequestStatus::Denied | RequestStatus::Cancelled | RequestStatus::Expired
        )
    }

    /// The person has been given their answer (GDPR Art. 12(3), docs/legal.md): the export is
    /// ready and they were emailed (`ready`; a download is not required), the certificate is
    /// issued (`completed`), or the refusal was sent (`denied`).
    pub fn is_answered(self) -> bool {
        matches!(self, RequestStatus::Ready | RequestStatus::Completed | RequestStatus::Denied)
    }

    /// Whether the request still waits for its answer, so that its due date matters: neither
    /// answered nor closed. Only then does a page count days down, the queue and the dashboard
    /// call it overdue, or staff extend it.
    pub fn awaits_answer(self) -> bool {
        !self.is_answered() && !self.is_terminal()
    }

    /// The one place that allows or refuses a change of status.
    pub fn transition(self, to: RequestStatus) -> Result<RequestStatus, TransitionError> {
        use RequestStatus::*;
        let allowed = match self {
            Submitted => matches!(to, Verified | Expired | Cancelled),
            Verified => matches!(to, Collecting | AwaitingReview | Denied | Cancelled),
            // Completed: an erasure plan that found nothing is answered at once ("we hold nothing").
            Collecting => {
                matches!(
                    to,
                    Ready | AwaitingConfirmation | AwaitingReview | Completed | NeedsAttention | Denied | Cancelled
                )
            }
            Ready => matches!(to, Completed | Collecting | Denied),
            // Executing directly: an objection to direct marketing alone needs no review (Art. 21(3)).
            AwaitingConfirmation => matches!(to, AwaitingReview | Executing | Denied | Cancelled),
            // NeedsAttention: an objection's direct-marketing part failed while staff review the rest.
            AwaitingReview => matches!(to, Executing | Ready | Completed | NeedsAttention | Denied | Cancelled),
            Executing => matches!(to, Completed | NeedsAttention),
            NeedsAttention => {
                matches!(to, Collecting | Executing | AwaitingConfirmation | AwaitingReview | Denied | Cancelled)
            }
            Completed | Denied | Cancelled | Expired => false,
        };
        if allowed { Ok(to) } else { Err(TransitionError { from: self, to }) }
    }
}

impl FromStr for RequestStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RequestStatus::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RequestStatus::*;
    use super::*;

    #[test]
    fn access_happy_path_is_allowed() {
        let s = Submitted.transition(Verified).unwrap();
        let s = s.transition(Collecting).unwrap();
        let s = s.transition(Ready).unwrap();
        assert_eq!(s.transition(Completed), Ok(Completed));
    }

    #[test]
    fn terminal_states_go_nowhere() {
        for from in RequestStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in RequestStatus::ALL {
                assert!(from.transition(to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn unverified_requests_cannot_skip_verification() {
        for to in [Collecting, Ready, AwaitingReview, Executing, Completed, NeedsAttention] {
            assert!(Submitted.transition(to).is_err(), "submitted -> {to}");
        }
    }

    #[test]
    fn a_change_request_is_confirmed_by_the_person_before_staff_review_it() {
        let s = Verified.transition(Collecting).unwrap().transition(AwaitingConfirmation).unwrap();
        assert!(s.transition(Completed).is_err(), "nothing is changed before a review or an absolute objection");
        let s = s.transition(AwaitingReview).unwrap().transition(Executing).unwrap();
        assert_eq!(s.transition(Completed), Ok(Completed));
        assert_eq!(AwaitingConfirmation.transition(Executing), Ok(Executing));
        assert_eq!(AwaitingConfirmation.transition(Cancelled), Ok(Cancelled));
    }

    #[test]
    fn the_clock_runs_only_until_the_answer_or_the_closure() {
        let waiting: Vec<_> = RequestStatus::ALL.into_iter().filter(|s| s.awaits_answer()).collect();
        assert_eq!(
            waiting,
            [Submitted, Verified, Collecting, AwaitingConfirmation, AwaitingReview, Executing, NeedsAttention]
        );
        let answered: Vec<_> = RequestStatus::ALL.into_iter().filter(|s| s.is_answered()).collect();
        assert_eq!(answered, [Ready, Completed, Denied]);
        assert!(!Cancelled.awaits_answer() && !Cancelled.is_answered(), "closed, never answered");
        assert!(!Expired.awaits_answer() && !Expired.is_answered(), "closed, never answered");
    }

    #[test]
    fn names_round_trip() {
        for s in RequestStatus::ALL {
            assert_eq!(s.as_str().parse::<RequestStatus>(), Ok(s));
        }
    }
}
