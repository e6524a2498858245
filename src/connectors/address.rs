//! Reading the addresses out of an email field that is not one bare address.
//!
//! Real CRMs store `Marie Lefèvre <marie@x.fr>` in a "from" column, `a@x.com, b@y.com` or
//! `a@x.com; b@y.com` in a "to" column, and `mailto:a@x.com` where a web form put it. An email
//! column's `format` says which shape its values have ([`AddressFormat`]); [`addresses`] takes
//! every address out of a value and [`holds`] says whether one of them *is* the person's address,
//! by the same rule as a bare column: trimmed, lower-cased, compared whole. So
//! `marie@x.fr.evil.com` never matches `marie@x.fr`, and `élodie@x.fr` never matches `elodie@x.fr`.
//!
//! The parser follows RFC 5322's address syntax as far as matching needs it (section 3.4:
//! `mailbox-list`, `name-addr`, `angle-addr`, `group`; section 3.2: quoted strings with their
//! backslash escapes and nested comments), and is tolerant where CRM data is not: `;` separates
//! like `,`, a `mailto:` prefix and its `?query` are dropped, and an item it cannot read holds no
//! address (it never guesses one out of the middle of a word).

use std::collections::BTreeMap;

use serde::Deserialize;

/// How the values of an email column hold addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressFormat {
    /// The whole value is one address (the default; what equality search serves).
    #[default]
    Bare,
    /// One mailbox: a bare address, `Display Name <address>`, or `mailto:address`.
    Address,
    /// A list of mailboxes separated by `,` or `;` (RFC 5322 `address-list`, groups included).
    List,
}

impl AddressFormat {
    /// The format a configuration names (`bare`, `address`, `list`; case and surrounding spaces
    /// ignored).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "bare" => Some(AddressFormat::Bare),
            "address" => Some(AddressFormat::Address),
            "list" => Some(AddressFormat::List),
            _ => None,
        }
    }

    /// Whether a value may hold the address somewhere inside it rather than as the whole value:
    /// then a database cannot answer with an equality search alone.
    pub fn is_embedded(self) -> bool {
        self != AddressFormat::Bare
    }
}

/// The format of each of `email_columns` (in their order) from a collection's `email_formats`
/// table (`{ from = "address", cc = "list" }`); a column the table does not name is
/// [`AddressFormat::Bare`]. `same_column` says whether a name of the table is a given email column
/// (exact on PostgreSQL, ignoring case or surrounding spaces elsewhere). A name that is not one of
/// the email columns, or a format that is not known, is refused with one sentence naming the
/// collection and the column (the caller adds the source).
pub fn formats_of(
    collection: &str,
    email_columns: &[&str],
    email_formats: &BTreeMap<String, String>,
    same_column: impl Fn(&str, &str) -> bool,
) -> anyhow::Result<Vec<AddressFormat>> {
    let mut out = vec![AddressFormat::Bare; email_columns.len()];
    for (column, format) in email_formats {
        let Some(at) = email_columns.iter().position(|c| same_column(c, column)) else {
            anyhow::bail!(
                "collection `{collection}`: `email_formats` names `{column}`, which is not one of its \
                 `email_columns` ({}); give a format only to a column listed there",
                email_columns.join(", ")
            );
        };
        out[at] = AddressFormat::parse(format).ok_or_else(|| {
            anyhow::anyhow!(
                "collection `{collection}`: email column `{column}` has the format `{format}`, which is not \
                 one Dossier reads; use \"bare\" (one address, the default), \"address\" (`Name <address>` \
                 or `mailto:`) or \"list\" (addresses separated by `,` or `;`)"
            )
        })?;
    }
    Ok(out)
}

/// Whether `value` holds `email` (already normalised: trimmed and lower-cased) as one of its
/// addresses, read as `format` says.
pub fn holds(value: &str, format: AddressFormat, email: &str) -> bool {
    match format {
        AddressFormat::Bare => same(value, email),
        AddressFormat::Address => single(value).is_some_and(|a| same(a, email)),
        AddressFormat::List => items(value).iter().filter_map(|i| single(i)).any(|a| same(a, email)),
    }
}

/// Every address `value` holds, normalised as matching compares them, in order, without repeats.
pub fn addresses(value: &str, format: AddressFormat) -> Vec<String> {
    let found: Vec<&str> = match format {
        AddressFormat::Bare => vec![value.trim()],
        AddressFormat::Address => single(value).into_iter().collect(),
        AddressFormat::List => items(value).iter().filter_map(|i| single(i)).collect(),
    };
    let mut out: Vec<String> = Vec::with_capacity(found.len());
    for a in found.into_iter().filter(|a| !a.is_empty()) {
        let a = a.to_lowercase();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Whether `value`, trimmed and lower-cased, is exactly `email`.
fn same(value: &str, email: &str) -> bool {
    let v = value.trim();
    if v.is_ascii() { v.eq_ignore_ascii_case(email) } else { v.to_lowercase() == email }
}

/// The address of one mailbox: the inside of its last top-level `<…>` when it has one, else the
/// whole item without comments; `mailto:` and a query removed. `None` when nothing plausible is
/// left (no `@`, or spaces inside the address).
fn single(item: &str) -> Option<&str> {
    let item = strip_group_name(item.trim());
    let addr = match angle(item) {
        Some(inside) => inside,
        None => without_trailing_comment(item),
    };
    let addr = addr.trim();
    let addr = strip_mailto(addr);
    let addr = addr.split_once('?').map_or(addr, |(a, _)| a).trim();
    let plausible = addr.contains('@') && !addr.chars().any(|c| c.is_whitespace() || "<>(),;\"".contains(c));
    plausible.then_some(addr)
}

fn strip_mailto(s: &str) -> &str {
    match s.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &s[7..],
        _ => s,
    }
}

/// `Friends: a@x.com` (an RFC 5322 group's display name) → `a@x.com`. A `:` inside quotes, a
/// comment or angle brackets, after an `@`, or of `mailto:` is not a group's.
fn strip_group_name(item: &str) -> &str {
    if strip_mailto(item).len() != item.len() {
        return item;
    }
    let mut scan = Scanner::default();
    for (i, c) in item.char_indices() {
        if scan.top_level(c) {
            match c {
                '@' | '<' => return item,
                ':' => return item[i + 1..].trim_start(),
                _ => {}
            }
        }
    }
    item
}

/// The inside of the last top-level `<…>` of `item`.
fn angle(item: &str) -> Option<&str> {
    let mut scan = Scanner::default();
    let mut open = None;
    let mut found = None;
    for (i, c) in item.char_indices() {
        let top = scan.depth_quote == (0, false) && scan.angle == 0;
        if c == '<' && top {
            open = Some(i + 1);
        } else if c == '>' && scan.angle == 1 && scan.depth_quote == (0, false) {
            found = open.map(|o| &item[o..i]);
        }
        scan.step(c);
    }
    found
}

/// `a@x.com (work)` → `a@x.com`.
fn without_trailing_comment(item: &str) -> &str {
    let mut scan = Scanner::default();
    for (i, c) in item.char_indices() {
        if c == '(' && scan.depth_quote == (0, false) && scan.angle == 0 {
            return &item[..i];
        }
        scan.step(c);
    }
    item
}

/// Splits an address list on top-level `,` and `;` (a group's closing `;` included).
fn items(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut scan = Scanner::default();
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if scan.top_level(c) && (c == ',' || c == ';') {
            out.push(&value[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&value[start..]);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// Where a character stands: inside a quoted string (with a pending backslash escape), how deep in
/// comments, how deep in angle brackets.
#[derive(Default)]
struct Scanner {
    /// (comment depth, inside quotes)
    depth_quote: (u32, bool),
    angle: u32,
    escaped: bool,
}

impl Scanner {
    /// Advances over `c`; true when `c` itself stands outside quotes, comments and brackets.
    fn top_level(&mut self, c: char) -> bool {
        let top = !self.escaped && self.depth_quote == (0, false) && self.angle == 0 && !"\"(<".contains(c);
        self.step(c);
        top
    }

    fn step(&mut self, c: char) {
        if self.escaped {
            self.escaped = false;
            return;
        }
        let (depth, quoted) = &mut self.depth_quote;
        match c {
            '\\' if *quoted || *depth > 0 => self.escaped = true,
            '"' if *depth == 0 => *quoted = !*quoted,
            '(' if !*quoted => *depth += 1,
            ')' if !*quoted && *depth > 0 => *depth -= 1,
            '<' if !*quoted && *depth == 0 => self.angle += 1,
            '>' if !*quoted && *depth == 0 && self.angle > 0 => self.angle -= 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AddressFormat::{Address, Bare, List};
    use super::*;

    #[test]
    fn bare_is_todays_rule() {
        assert!(holds("  Jeanne.Martin@Example.FR ", Bare, "jeanne.martin@example.fr"));
        assert!(!holds("Jeanne <jeanne.martin@example.fr>", Bare, "jeanne.martin@example.fr"));
        assert!(!holds("jeanne.martin@example.fr.com", Bare, "jeanne.martin@example.fr"));
    }

    #[test]
    fn display_names_and_mailto() {
        let m = "marie@x.fr";
        for v in [
            "Marie Lefèvre <marie@x.fr>",
            "\"Lefèvre, Marie\" <Marie@X.fr>",
            "marie@x.fr",
            " marie@x.fr (home) ",
            "mailto:marie@x.fr",
            "MAILTO:marie@x.fr?subject=hello",
            "<mailto:marie@x.fr>",
            "Marie (née Dupont) <marie@x.fr>",
        ] {
            assert!(holds(v, Address, m), "{v}");
            assert!(holds(v, List, m), "{v}");
        }
        for v in ["Marie <marie@x.fr.evil.com>", "marie@x.fr.evil.com", "not marie@x.fr", "<marie@x.fr", "", "marie"] {
            assert!(!holds(v, Address, m), "{v}");
        }
    }

    #[test]
    fn lists_with_both_separators_and_groups() {
        let v = "a@x.com, \"Doe; John\" <john@y.org>; mailto:b@y.com ,Friends: c@z.net, d@z.net;";
        assert_eq!(addresses(v, List), ["a@x.com", "john@y.org", "b@y.com", "c@z.net", "d@z.net"]);
        assert!(holds(v, List, "john@y.org"));
        assert!(!holds(v, List, "doe"));
        assert!(!holds(v, Address, "a@x.com"), "a list is not one address");
    }

    #[test]
    fn a_quoted_or_commented_address_is_not_the_address() {
        // The address a display name or a comment mentions is not where mail goes.
        assert!(!holds("\"marie@x.fr\" <other@y.org>", List, "marie@x.fr"));
        assert!(!holds("other@y.org (formerly marie@x.fr)", List, "marie@x.fr"));
        assert!(holds("\"marie@x.fr\" <other@y.org>", List, "other@y.org"));
    }

    #[test]
    fn accents_are_never_folded() {
        assert!(!holds("Élodie <elodie@x.fr>", List, "élodie@x.fr"));
        assert!(!holds("élodie@x.fr, b@y.com", List, "elodie@x.fr"));
        assert!(holds("ÉLODIE@x.fr, b@y.com", List, "élodie@x.fr"));
    }

    #[test]
    fn formats_are_read_from_the_configuration_with_a_clear_refusal() {
        let exact = |a: &str, b: &str| a == b;
        let table = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let cols = ["email", "from", "cc"];
        assert_eq!(formats_of("mail", &cols, &BTreeMap::new(), exact).unwrap(), [Bare, Bare, Bare]);
        let read = formats_of("mail", &cols, &table(&[("from", "Address"), ("cc", " list ")]), exact).unwrap();
        assert_eq!(read, [Bare, Address, List]);
        let err = formats_of("mail", &cols, &table(&[("cc", "lists")]), exact).unwrap_err().to_string();
        assert!(err.contains("collection `mail`") && err.contains("`cc`") && err.contains("`lists`"), "{err}");
        let err = formats_of("mail", &cols, &table(&[("bcc", "list")]), exact).unwrap_err().to_string();
        assert!(err.contains("`bcc`") && err.contains("email, from, cc"), "{err}");
    }

    #[test]
    fn repeats_are_listed_once() {
        assert_eq!(addresses("A@x.com, a@x.com; <a@X.com>", List), ["a@x.com"]);
    }

    mod proptests {
        use proptest::prelude::*;

        use super::*;

        /// A plausible address: `local@domain.tld`, letters with accents, digits, `.`, `_`, `-`.
        fn address() -> impl Strategy<Value = String> {
            ("[a-zà-ÿ0-9][a-zà-ÿ0-9._-]{0,12}", "[a-z0-9-]{1,10}", "[a-z]{2,4}")
                .prop_map(|(local, domain, tld)| format!("{local}@{domain}.{tld}"))
        }

        proptest! {
            #[test]
            fn every_address_of_a_list_is_found_and_only_those(
                addrs in proptest::collection::vec(address(), 1..6),
                names in proptest::collection::vec("[A-Za-zÀ-ÿ ,;:<>@()\\\"]{0,16}", 6),
                separators in proptest::collection::vec(prop_oneof![Just(", "), Just("; "), Just(" ,"), Just(";")], 6),
                other in address(),
            ) {
                // Each mailbox with a quoted display name (any characters, escaped), or bare.
                let mut value = String::new();
                for (i, a) in addrs.iter().enumerate() {
                    if i > 0 {
                        value.push_str(separators[i]);
                    }
                    if i % 2 == 0 {
                        let quoted = names[i].replace('\\', "\\\\").replace('"', "\\\"");
                        value.push_str(&format!("\"{quoted}\" <{}>", a.to_uppercase()));
                    } else {
                        value.push_str(a);
                    }
                }
                let mut expected: Vec<String> = Vec::new();
                for a in &addrs {
                    if !expected.contains(&a.to_lowercase()) {
                        expected.push(a.to_lowercase());
                    }
                }
                prop_assert_eq!(addresses(&value, List), expected.clone(), "{}", value);
                for a in &expected {
                    prop_assert!(holds(&value, List, a), "{} in {}", a, value);
                }
                prop_assert_eq!(holds(&value, List, &other), expected.contains(&other), "{} in {}", other, value);
                // A longer address that contains one of them is never one of them.
                let longer = format!("x{}", expected[0]);
                prop_assert_eq!(holds(&value, List, &longer), expected.contains(&longer));
            }
        }
    }

    #[test]
    fn unbalanced_input_holds_nothing_rather_than_a_guess() {
        for v in ["\"unterminated <a@x.com>", "(a@x.com", "<<a@x.com>", "a@x.com>"] {
            assert!(!holds(v, List, "a@x.com"), "{v}");
        }
    }
}
