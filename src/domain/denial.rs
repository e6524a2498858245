use std::str::FromStr;

/// The legal ground a refusal rests on. The person is told which, why, and that they may complain
/// to the supervisory authority and seek a judicial remedy (GDPR Art. 12(4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenialGround {
    /// GDPR Art. 12(5): manifestly unfounded.
    ManifestlyUnfounded,
    /// GDPR Art. 12(5): excessive, in particular repetitive.
    Excessive,
    /// GDPR Art. 11(2) and 12(6): the person could not be identified.
    IdentityNotConfirmed,
    /// GDPR Art. 17(3)(b): a legal obligation requires keeping the data (erasure only).
    LegalObligation,
    /// GDPR Art. 17(3)(e): the data is needed for legal claims (erasure only).
    LegalClaims,
    /// GDPR Art. 15(4): a copy would harm the rights and freedoms of others.
    RightsOfOthers,
}

impl DenialGround {
    pub const ALL: [DenialGround; 6] = [
        DenialGround::ManifestlyUnfounded,
        DenialGround::Excessive,
        DenialGround::IdentityNotConfirmed,
        DenialGround::LegalObligation,
        DenialGround::LegalClaims,
        DenialGround::RightsOfOthers,
    ];

    /// Whether this ground can justify refusing a request for `kind`: the Art. 17(3) exceptions
    /// only limit erasure, and Art. 15(4) only limits a copy of the data.
    pub fn applies_to(self, kind: crate::domain::RequestKind) -> bool {
        use crate::domain::RequestKind as K;
        match self {
            DenialGround::LegalObligation | DenialGround::LegalClaims => kind == K::Erasure,
            DenialGround::RightsOfOthers => matches!(kind, K::Access | K::Portability),
            DenialGround::ManifestlyUnfounded | DenialGround::Excessive | DenialGround::IdentityNotConfirmed => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DenialGround::ManifestlyUnfounded => "manifestly_unfounded",
            DenialGround::Excessive => "excessive",
            DenialGround::IdentityNotConfirmed => "identity_not_confirmed",
            DenialGround::LegalObligation => "legal_obligation",
            DenialGround::LegalClaims => "legal_claims",
            DenialGround::RightsOfOthers => "rights_of_others",
        }
    }
}

impl FromStr for DenialGround {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        DenialGround::ALL.into_iter().find(|g| g.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RequestKind;

    #[test]
    fn erasure_exceptions_only_refuse_erasure_and_the_rights_of_others_only_a_copy() {
        assert!(DenialGround::LegalObligation.applies_to(RequestKind::Erasure));
        assert!(!DenialGround::LegalObligation.applies_to(RequestKind::Access));
        assert!(!DenialGround::LegalClaims.applies_to(RequestKind::Rectification));
        assert!(DenialGround::RightsOfOthers.applies_to(RequestKind::Portability));
        assert!(!DenialGround::RightsOfOthers.applies_to(RequestKind::Erasure));
        for kind in RequestKind::ALL {
            assert!(DenialGround::Excessive.applies_to(kind));
        }
    }
}
