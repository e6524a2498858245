//! Anonymising a value in place. Both methods are idempotent (applying one to its own output
//! changes nothing), which is what lets an interrupted erasure step simply run again.

use serde_json::Value;

use crate::crypto::{SecretKey, keyed_hash};

use super::FieldWrite;

/// The prefix of a pseudonym; nothing else a source holds starts with it and 16 hex digits.
pub const PSEUDONYM_PREFIX: &str = "anon-";

/// Keeps the first character of each run of letters or digits and replaces the rest with `*`:
/// `jeanne.martin@example.fr` → `j*****.m*****@e******.f*`. `*` is not a letter, so masking a
/// masked value changes nothing.
pub fn mask(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.push(if in_word { '*' } else { c });
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

/// Replaces values by keyed pseudonyms: the same value always gives the same pseudonym (so
/// statistics by customer still add up), and nobody without the key can tell which value it was.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: SecretKey,
}

impl Pseudonymiser {
    pub fn new(key: SecretKey) -> Self {
        Self { key }
    }

    pub fn pseudonym(&self, s: &str) -> String {
        if is_pseudonym(s) {
            return s.to_string();
        }
        let hash = keyed_hash(&self.key, s.as_bytes());
        format!("{PSEUDONYM_PREFIX}{}", &hash[..16])
    }

    /// The value `write` leaves in a field that holds `current`. Masks and pseudonyms apply to
    /// text; any other value (a number, a date the driver decoded) is masked to NULL, since a
    /// masked number would not fit its column. NULL stays NULL.
    pub fn apply(&self, write: &FieldWrite, current: &Value) -> Value {
        match (write, current) {
            (FieldWrite::Null, _) => Value::Null,
            (FieldWrite::Value(v), _) => v.clone(),
            (FieldWrite::Mask | FieldWrite::Hash, Value::Null) => Value::Null,
            (FieldWrite::Mask, Value::String(s)) => Value::String(mask(s)),
            (FieldWrite::Hash, Value::String(s)) => Value::String(self.pseudonym(s)),
            (FieldWrite::Mask | FieldWrite::Hash, _) => Value::Null,
        }
    }
}

fn is_pseudonym(s: &str) -> bool {
    s.strip_prefix(PSEUDONYM_PREFIX).is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masking_keeps_the_shape_and_is_idempotent() {
        assert_eq!(mask("jeanne.martin@example.fr"), "j*****.m*****@e******.f*");
        assert_eq!(mask("06 12 34 56 78"), "0* 1* 3* 5* 7*");
        assert_eq!(mask("Éloïse"), "É*****");
        for s in ["jeanne.martin@example.fr", "", "a", "  x-y  ", "Éloïse Dupré"] {
            assert_eq!(mask(&mask(s)), mask(s), "{s}");
        }
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_idempotent() {
        let p = Pseudonymiser::new(SecretKey::generate());
        let a = p.pseudonym("jeanne@example.fr");
        assert!(a.starts_with(PSEUDONYM_PREFIX) && a.len() == 21, "{a}");
        assert_eq!(p.pseudonym("jeanne@example.fr"), a);
        assert_eq!(p.pseudonym(&a), a, "hashing a pseudonym again changes nothing");
        assert_ne!(Pseudonymiser::new(SecretKey::generate()).pseudonym("jeanne@example.fr"), a);
    }

    #[test]
    fn writes_apply_to_the_current_value() {
        let p = Pseudonymiser::new(SecretKey::generate());
        assert_eq!(p.apply(&FieldWrite::Mask, &json!("Martin")), json!("M*****"));
        assert_eq!(p.apply(&FieldWrite::Mask, &json!(null)), json!(null));
        assert_eq!(p.apply(&FieldWrite::Hash, &json!(1234)), json!(null));
        assert_eq!(p.apply(&FieldWrite::Null, &json!("x")), json!(null));
        assert_eq!(p.apply(&FieldWrite::Value(json!("—")), &json!("x")), json!("—"));
        let once = p.apply(&FieldWrite::Hash, &json!("Martin"));
        assert_eq!(p.apply(&FieldWrite::Hash, &once), once);
    }
}
