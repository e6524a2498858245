use std::fmt;
use std::str::FromStr;

/// The right a request invokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// GDPR Art. 15
    Access,
    /// GDPR Art. 20
    Portability,
    /// GDPR Art. 16
    Rectification,
    /// GDPR Art. 17
    Erasure,
    /// GDPR Art. 21 (and restriction, Art. 18)
    Objection,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown request kind")]
pub struct UnknownKind;

impl RequestKind {
    pub const ALL: [RequestKind; 5] = [
        RequestKind::Access,
        RequestKind::Portability,
        RequestKind::Rectification,
        RequestKind::Erasure,
        RequestKind::Objection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Portability => "portability",
            RequestKind::Rectification => "rectification",
            RequestKind::Erasure => "erasure",
            RequestKind::Objection => "objection",
        }
    }

    /// Access and portability are answered with an export.
    pub fn produces_export(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::Portability)
    }

    pub fn article(self) -> &'static str {
        match self {
            RequestKind::Access => "15",
            RequestKind::Portability => "20",
            RequestKind::Rectification => "16",
            RequestKind::Erasure => "17",
            RequestKind::Objection => "21",
        }
    }
}

impl FromStr for RequestKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownKind)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>(), Ok(k));
        }
        assert!("delete".parse::<RequestKind>().is_err());
        assert!("Access".parse::<RequestKind>().is_err());
    }
}
