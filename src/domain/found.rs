//! What an access or portability request's collection found about the person.

/// Whether the person's export holds anything about them, across every source (GDPR Art. 15(1):
/// the confirmation "whether or not" personal data are processed comes first, before any copy).
///
/// Counted from what the export holds, so that everything there counts as found: records read
/// from automatic sources, files staff attached for a manual source (a staff task), and rows an
/// erasure kept or pseudonymised once they are re-read into the export. Only an export with no
/// record at all is [`Found::Nothing`]; its ZIP still carries the Art. 15(1) information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No source holds anything linked to the person's address.
    Nothing,
    /// This many records (at least one).
    Records(u64),
}

impl Found {
    /// The export's record count, as stored (`exports.records`); a negative count, which the
    /// store never writes, reads as nothing found.
    pub fn from_count(records: i64) -> Found {
        match u64::try_from(records) {
            Ok(n) if n > 0 => Found::Records(n),
            _ => Found::Nothing,
        }
    }

    pub fn is_nothing(self) -> bool {
        self == Found::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::Found;

    #[test]
    fn only_an_empty_export_found_nothing() {
        assert_eq!(Found::from_count(0), Found::Nothing);
        assert_eq!(Found::from_count(-1), Found::Nothing);
        assert_eq!(Found::from_count(1), Found::Records(1));
        assert_eq!(Found::from_count(33), Found::Records(33));
        assert!(Found::Nothing.is_nothing() && !Found::Records(1).is_nothing());
    }
}
