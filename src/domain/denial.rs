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
