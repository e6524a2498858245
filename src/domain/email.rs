use std::fmt;

/// An email address as Dossier matches it: trimmed and lower-cased, checked for a plausible shape.
///
/// Sources are matched case-insensitively on this normalised form (see the connector guide).
/// `Display` prints the full address; use [`EmailAddress::masked`] in logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is too long")]
    TooLong,
    #[error("the email address is not valid")]
    Invalid,
}

impl EmailAddress {
    /// RFC 5321 limits a path to 256 octets, so an address to 254.
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        // The normal form is what is checked: lower-casing can lengthen a string or bring in a
        // character the check refuses (`İ` becomes `i` and a combining dot), and an address
        // accepted here must parse again from its stored form, as it is matched by it.
        let s = raw.trim().to_lowercase();
        let s = s.as_str();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(EmailError::Invalid);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe for logs: `j***@e***.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
        format!("{}***@{}***.{}", first(local), first(host), tld)
    }
}

/// Replaces anything shaped like an email address in `text` by its masked form, for error
/// messages that may quote one (an SMTP server's "550 <jeanne@…>: rejected") on their way to a
/// log or a stored error.
pub fn redact_emails(text: &str) -> String {
    let is_part = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .rfind(|c: char| !is_part(c))
            .map_or(0, |i| i + rest[i..].chars().next().map_or(1, char::len_utf8));
        let end = rest[at + 1..].find(|c: char| !is_part(c)).map_or(rest.len(), |i| at + 1 + i);
        out.push_str(&rest[..start]);
        match EmailAddress::parse(&rest[start..end]) {
            Ok(e) => out.push_str(&e.masked()),
            Err(_) => out.push_str(&rest[start..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug never shows the address, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let e = EmailAddress::parse("  Jeanne.Martin@Example.FR ").unwrap();
        assert_eq!(e.as_str(), "jeanne.martin@example.fr");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "a@example..com",
            "a b@example.com",
            "a@exa mple.com",
            "<script>@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))), Err(EmailError::TooLong));
    }

    #[test]
    fn the_stored_form_parses_again() {
        // Found by the property test below: `İ` lower-cases to `i` and a combining dot.
        for raw in ["A@İ.aa", "İa@example.com"] {
            assert_eq!(EmailAddress::parse(raw), Err(EmailError::Invalid), "{raw}");
        }
        let e = EmailAddress::parse("ÉLODIE@Exemple.FR").unwrap();
        assert_eq!(EmailAddress::parse(e.as_str()), Ok(e));
    }

    #[test]
    fn accepts_common_shapes() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "o'neil@example.ie", "élodie@exemple.fr"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn redacts_addresses_inside_text() {
        assert_eq!(
            redact_emails("550 5.1.1 <Jeanne.Martin@example.fr>: Recipient address rejected"),
            "550 5.1.1 <j***@e***.fr>: Recipient address rejected"
        );
        assert_eq!(redact_emails("no address here @ all"), "no address here @ all");
        assert_eq!(redact_emails("a@b.co and c@d.org"), "a***@b***.co and c***@d***.org");
        assert_eq!(redact_emails("été@"), "été@");
    }

    #[test]
    fn masked_hides_the_address() {
        let e = EmailAddress::parse("jeanne.martin@example.fr").unwrap();
        assert_eq!(e.masked(), "j***@e***.fr");
        assert!(!format!("{e:?}").contains("jeanne"));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// A plausible address: a local part of allowed characters, then labels.
        fn address() -> impl Strategy<Value = String> {
            (
                "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9_-]{1,10}){0,2}",
                "[A-Za-z0-9]{1,20}(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?){1,3}",
            )
                .prop_map(|(local, domain)| format!("{local}@{domain}"))
        }

        proptest! {
            /// Any text from a form: no panic, and what is accepted is normalised and stable:
            /// parsing the stored form again gives the same address (the store, the rate limits
            /// and the sources all match on it).
            #[test]
            fn any_input_parses_to_a_stable_normal_form(
                raw in "\\PC{0,80}|.{0,300}|[ ]?\\p{L}{1,12}@\\p{L}{1,8}\\.\\p{L}{2,4}|[a-zA-ZİẞΣ]{1,12}@[a-zİ]{1,10}\\.[a-z]{2,4}|[a-zİ]{30,64}@[a-z]{60,63}(\\.[a-z]{60,63}){2}\\.[a-z]{2,6}",
            ) {
                if let Ok(e) = EmailAddress::parse(&raw) {
                    prop_assert!(e.as_str().len() <= EmailAddress::MAX_LEN);
                    prop_assert_eq!(e.as_str(), e.as_str().trim());
                    prop_assert_eq!(e.as_str().to_lowercase(), e.as_str());
                    prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
                    prop_assert_eq!(EmailAddress::parse(&e.to_string()), Ok(e.clone()));
                    prop_assert!(!e.masked().contains(e.as_str()));
                }
            }

            #[test]
            fn plausible_addresses_are_accepted_in_any_case_and_padding(a in address(), pad in "[ \\t]{0,3}") {
                let e = EmailAddress::parse(&format!("{pad}{a}{pad}")).unwrap();
                prop_assert_eq!(e.as_str(), a.to_lowercase());
            }

            #[test]
            fn redaction_never_panics_and_hides_addresses(
                before in "\\PC{0,30}",
                a in "[a-z0-9]{1,10}([._+'-][a-z0-9]{1,5}){0,2}@[a-z0-9]{1,10}\\.[a-z]{2,5}",
                after in "[ ,;<>]\\PC{0,30}",
            ) {
                let text = format!("{before} {a}{after}");
                let redacted = redact_emails(&text);
                prop_assert!(!redacted.contains(&a), "{} in {}", a, redacted);
            }
        }
    }
}
