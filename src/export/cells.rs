//! Pure helpers: how a JSON value reads in a table cell, CSV formula neutralisation, and safe
//! names for paths inside the ZIP.

use std::collections::HashSet;

use serde_json::Value;

/// The text of a value in a table: strings as they are, numbers and booleans as text, null as
/// empty, objects and arrays as compact JSON.
pub fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_string(),
    }
}

/// A CSV cell that a spreadsheet cannot run as a formula ("CSV injection"): a cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`.
///
/// A plain number (`-12.50`, `+33`, `-1e3`) is left alone: a spreadsheet reads it as a number,
/// never as a formula, and the portable copy (Art. 20) should keep negative amounts usable.
pub fn csv_cell(text: String) -> String {
    let risky = matches!(text.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if risky && !is_plain_number(&text) { format!("'{text}") } else { text }
}

/// `[+-]digits[.digits][(e|E)[+-]digits]`, nothing else.
fn is_plain_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !digits(&mut i) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// A name from configuration made safe as one path component on any system: no separators,
/// no `..`, no control or reserved characters, no reserved Windows device names, bounded length.
pub fn path_component(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut out: String = trimmed.chars().take(80).collect();
    if out.is_empty() {
        out.push('_');
    }
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.insert(0, '_');
    }
    out
}

/// Hands out paths that never collide, even on case-insensitive file systems.
#[derive(Default)]
pub struct UniquePaths {
    used: HashSet<String>,
}

impl UniquePaths {
    /// `parent/<safe name>`, with `-2`, `-3`… appended when that path is taken.
    pub fn claim(&mut self, parent: &str, name: &str) -> String {
        let stem = path_component(name);
        let mut candidate = stem.clone();
        let mut n = 2u32;
        while !self.used.insert(format!("{parent}/{candidate}").to_lowercase()) {
            candidate = format!("{stem}-{n}");
            n += 1;
        }
        format!("{parent}/{candidate}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_naturally() {
        assert_eq!(cell_text(None), "");
        assert_eq!(cell_text(Some(&json!(null))), "");
        assert_eq!(cell_text(Some(&json!("a\"b"))), "a\"b");
        assert_eq!(cell_text(Some(&json!(12.5))), "12.5");
        assert_eq!(cell_text(Some(&json!(true))), "true");
        assert_eq!(cell_text(Some(&json!({"a": [1, "x"]}))), r#"{"a":[1,"x"]}"#);
    }

    #[test]
    fn formulas_are_neutralised_numbers_are_not() {
        for bad in
            ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")", "-", "+"]
        {
            assert_eq!(csv_cell(bad.into()), format!("'{bad}"), "{bad:?}");
        }
        for ok in ["-12.50", "+33", "-1e3", "1.5E-7", "plain", "", "a=b", "'quoted"] {
            assert_eq!(csv_cell(ok.into()), ok, "{ok:?}");
        }
    }

    #[test]
    fn path_components_are_safe() {
        assert_eq!(path_component("contacts"), "contacts");
        assert_eq!(path_component(".."), "_");
        assert_eq!(path_component("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(path_component("a\\b/c"), "a_b_c");
        assert_eq!(path_component("x\u{0}y\ny"), "x_y_y");
        assert_eq!(path_component(""), "_");
        assert_eq!(path_component("  .hidden. "), "hidden");
        assert_eq!(path_component("CON"), "_CON");
        assert_eq!(path_component("com1.txt"), "_com1.txt");
        assert_eq!(path_component("Commandes clients"), "Commandes clients");
        assert_eq!(path_component(&"é".repeat(200)).chars().count(), 80);
    }

    #[test]
    fn unique_paths_never_collide() {
        let mut p = UniquePaths::default();
        assert_eq!(p.claim("data", "crm"), "data/crm");
        assert_eq!(p.claim("data", "CRM"), "data/CRM-2");
        assert_eq!(p.claim("data", "c/rm"), "data/c_rm");
        assert_eq!(p.claim("data", "c\\rm"), "data/c_rm-2");
        assert_eq!(p.claim("data/crm", "crm"), "data/crm/crm");
    }
}
