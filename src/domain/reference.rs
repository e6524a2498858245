use std::fmt;
use std::str::FromStr;

/// The reference a verified request is known by: `DSR-2026-000123`.
///
/// Sequential per year so staff can say it over the phone; it is not a secret and grants nothing
/// on its own (the status page also requires the requester's verified session).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    pub fn new(year: i32, sequence: i64) -> Self {
        Self(format!("DSR-{year:04}-{sequence:06}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Reference {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let rest = s.strip_prefix("DSR-").ok_or(())?;
        let (year, seq) = rest.split_once('-').ok_or(())?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if year.len() == 4 && digits(year) && seq.len() >= 6 && seq.len() <= 12 && digits(seq) {
            Ok(Self(s.to_owned()))
        } else {
            Err(())
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let r = Reference::new(2026, 123);
        assert_eq!(r.as_str(), "DSR-2026-000123");
        assert_eq!("DSR-2026-000123".parse::<Reference>(), Ok(r));
        assert_eq!(Reference::new(2026, 1_234_567).as_str(), "DSR-2026-1234567");
        for bad in ["", "DSR-2026-12", "dsr-2026-000123", "DSR-26-000123", "DSR-2026-00012a", "DSR-2026-000123/../x"] {
            assert!(bad.parse::<Reference>().is_err(), "{bad}");
        }
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_reference_reads_back_as_itself(year in 0i32..=9999, sequence in 0i64..=999_999_999_999) {
                let r = Reference::new(year, sequence);
                prop_assert_eq!(r.as_str().parse::<Reference>(), Ok(r.clone()));
                prop_assert_eq!(r.to_string().parse::<Reference>(), Ok(r));
            }

            /// From a URL or a form: no panic, and only the exact shape is accepted (it goes into
            /// paths and SQL parameters as it is).
            #[test]
            fn any_text_is_refused_unless_exactly_shaped(raw in "\\PC{0,30}|DSR-[0-9]{0,5}-[0-9a-z/.]{0,14}") {
                if let Ok(r) = raw.parse::<Reference>() {
                    prop_assert_eq!(r.as_str(), raw.as_str());
                    prop_assert!(r.as_str().len() <= 21);
                    prop_assert!(r.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'-' || b"DSR".contains(&b)));
                }
            }
        }
    }
}
