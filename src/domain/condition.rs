//! Conditions on a record's fields, as written in the configuration:
//!
//! ```toml
//! where = "model = 'res.partner'"
//! where = "type.source = 'external' AND type.element IN ('propal', 'facture')"
//! where = "fk_statut > 0 AND datef < '2024-01-01' AND note_private IS NULL"
//! ```
//!
//! A condition is one or more clauses joined by `AND` (there is no `OR`: several references or
//! several `when` entries say "or"). A clause compares a field with a literal:
//! `=`, `<>` (or `!=`), `<`, `<=`, `>`, `>=`, `IN (…)`, `NOT IN (…)`, `IS NULL`, `IS NOT NULL`.
//! A field is a column name, or `lookup.column` for a column of a joined lookup row (the SQL and
//! CSV connectors say which qualifiers they accept). Literals are `'text'` (a quote doubled inside:
//! `'l''été'`), numbers (`42`, `-1`, `2.5`) or `TRUE`/`FALSE`. Keywords are case-insensitive.
//!
//! The same condition is evaluated in two places: turned into SQL with bound values by the SQL
//! connector, and on a record's values by [`Condition::matches`] (CSV files, per-row rules). Both
//! follow SQL's rules for a missing value: a NULL field satisfies only `IS NULL` (and never
//! `<>` or `NOT IN`). In [`Condition::matches`], numbers compare as numbers (a text value that
//! reads as a number counts as one, as CSV values do) and text compares exactly, byte for byte,
//! so ISO dates compare in date order; a database compares text by its own collation.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

/// A parsed condition: every clause must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

/// `field test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// `column` or `qualifier.column`.
    pub field: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Compare(Op, Literal),
    /// `IN (…)`, or `NOT IN (…)` when `negated`.
    In {
        values: Vec<Literal>,
        negated: bool,
    },
    /// `IS NULL`, or `IS NOT NULL` when `negated`.
    Null {
        negated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// The operator as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
        }
    }
}

/// A value written in a condition. Bound as a parameter, never spliced into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Int(i64),
    /// A number with a fraction (or too large for `i64`), as written.
    Decimal(String),
    Text(String),
    /// `TRUE` or `FALSE`: a boolean column (or a `0`/`1` integer, as MySQL stores them).
    Bool(bool),
}

impl Literal {
    fn number(&self) -> Option<f64> {
        match self {
            Literal::Int(i) => Some(*i as f64),
            Literal::Decimal(d) => d.parse().ok(),
            Literal::Bool(b) => Some(f64::from(u8::from(*b))),
            Literal::Text(_) => None,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Decimal(d) => f.write_str(d),
            Literal::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
            Literal::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

/// How `value` (a record's field) compares with `literal`; `None` when they cannot be compared
/// (a NULL, or text against a number when the text is not a number).
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    let as_number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    match (value, literal) {
        (Value::Null, _) => None,
        // A boolean against text that spells one (a CSV file's `true`, PostgreSQL's `t`).
        (Value::String(s), Literal::Bool(b)) => {
            let v = match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "1" => true,
                "false" | "f" | "no" | "0" => false,
                _ => return None,
            };
            Some(v.cmp(b))
        }
        (_, Literal::Int(_) | Literal::Decimal(_) | Literal::Bool(_)) => {
            as_number(value)?.partial_cmp(&literal.number()?)
        }
        (Value::String(s), Literal::Text(t)) => Some(s.as_str().cmp(t.as_str())),
        // A number or a boolean against text: compared as the number's decimal form.
        (Value::Number(n), Literal::Text(t)) => Some(n.to_string().as_str().cmp(t.as_str())),
        (Value::Bool(b), Literal::Text(t)) => Some(u8::from(*b).to_string().as_str().cmp(t.as_str())),
        // Arrays and objects never match a literal.
        _ => None,
    }
}

impl Clause {
    /// Whether the clause holds for `value` (`None`: the field is absent, read as NULL).
    pub fn holds(&self, value: Option<&Value>) -> bool {
        let value = value.unwrap_or(&Value::Null);
        match &self.test {
            Test::Null { negated } => value.is_null() != *negated,
            Test::Compare(op, literal) => compare(value, literal).is_some_and(|o| op.holds(o)),
            Test::In { values, negated } => {
                let mut known = false;
                for literal in values {
                    match compare(value, literal) {
                        Some(Ordering::Equal) => return !negated,
                        Some(_) => known = true,
                        None => {}
                    }
                }
                // SQL: `NULL NOT IN (…)` is not true either.
                *negated && known
            }
        }
    }
}

impl Condition {
    /// Whether every clause holds, reading each field through `field`.
    pub fn matches<'a>(&self, field: impl Fn(&str) -> Option<&'a Value>) -> bool {
        self.clauses.iter().all(|c| c.holds(field(&c.field)))
    }

    /// The fields the condition reads, each once, in order.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.clauses {
            if !out.contains(&c.field.as_str()) {
                out.push(&c.field);
            }
        }
        out
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{} ", c.field)?;
            match &c.test {
                Test::Compare(op, l) => write!(f, "{} {l}", op.sql())?,
                Test::Null { negated } => f.write_str(if *negated { "IS NOT NULL" } else { "IS NULL" })?,
                Test::In { values, negated } => {
                    let list = values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                    write!(f, "{}IN ({list})", if *negated { "NOT " } else { "" })?;
                }
            }
        }
        Ok(())
    }
}

/// Why a condition could not be read, with where (a 1-based character position).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {at} of `{text}`")]
pub struct ConditionError {
    pub message: String,
    pub at: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(String),
    Symbol(&'static str),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ConditionError> {
    let fail = |message: &str, at: usize| ConditionError { message: message.into(), at: at + 1, text: text.into() };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let position = text[..at].chars().count();
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || matches!(chars[i].1, '_' | '.')) {
                i += 1;
            }
            out.push((position, Token::Word(chars[start..i].iter().map(|(_, c)| c).collect())));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                i += 1;
            }
            out.push((position, Token::Number(chars[start..i].iter().map(|(_, c)| c).collect())));
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(fail("a text value is not closed with '", position)),
                    Some((_, '\'')) if chars.get(i + 1).is_some_and(|(_, q)| *q == '\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some((_, '\'')) => {
                        i += 1;
                        break;
                    }
                    Some((_, ch)) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push((position, Token::Text(s)));
        } else {
            let next = chars.get(i + 1).map(|(_, c)| *c);
            let (symbol, len) = match (c, next) {
                ('<', Some('=')) => ("<=", 2),
                ('>', Some('=')) => (">=", 2),
                ('<', Some('>')) | ('!', Some('=')) => ("<>", 2),
                ('=', _) => ("=", 1),
                ('<', _) => ("<", 1),
                ('>', _) => (">", 1),
                ('(', _) => ("(", 1),
                (')', _) => (")", 1),
                (',', _) => (",", 1),
                _ => return Err(fail(&format!("unexpected `{c}`"), position)),
            };
            out.push((position, Token::Symbol(symbol)));
            i += len;
        }
    }
    Ok(out)
}

fn is_field(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && p.len() <= 64
        })
}

impl FromStr for Condition {
    type Err = ConditionError;

    fn from_str(text: &str) -> Result<Self, ConditionError> {
        let toks = tokens(text)?;
        let end = text.chars().count();
        let fail = |message: String, at: usize| ConditionError { message, at: at + 1, text: text.into() };
        let mut pos = 0;
        let at = |pos: usize| toks.get(pos).map_or(end, |(a, _)| *a);
        let keyword =
            |pos: usize, k: &str| matches!(toks.get(pos), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(k));
        let literal = |pos: usize| -> Result<Literal, ConditionError> {
            match toks.get(pos) {
                Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
                Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
                Some((_, Token::Text(t))) => Ok(Literal::Text(t.clone())),
                Some((a, Token::Number(n))) => match n.parse::<i64>() {
                    Ok(i) => Ok(Literal::Int(i)),
                    Err(_) if n.parse::<f64>().is_ok_and(f64::is_finite) => Ok(Literal::Decimal(n.clone())),
                    Err(_) => Err(fail(format!("`{n}` is not a number"), *a)),
                },
                _ => Err(fail("expected a value ('text', a number, TRUE or FALSE)".into(), at(pos))),
            }
        };
        let mut clauses = Vec::new();
        loop {
            let field = match toks.get(pos) {
                Some((a, Token::Word(w))) if !is_field(w) => {
                    return Err(fail(format!("`{w}` is not a column name (or lookup.column)"), *a));
                }
                Some((_, Token::Word(w))) => w.clone(),
                _ => return Err(fail("expected a column name".into(), at(pos))),
            };
            pos += 1;
            let test = if keyword(pos, "IS") {
                pos += 1;
                let negated = keyword(pos, "NOT");
                if negated {
                    pos += 1;
                }
                if !keyword(pos, "NULL") {
                    return Err(fail("expected NULL after IS".into(), at(pos)));
                }
                pos += 1;
                Test::Null { negated }
            } else if keyword(pos, "IN") || (keyword(pos, "NOT") && keyword(pos + 1, "IN")) {
                let negated = keyword(pos, "NOT");
                pos += if negated { 2 } else { 1 };
                if toks.get(pos).map(|(_, t)| t) != Some(&Token::Symbol("(")) {
                    return Err(fail("expected ( after IN".into(), at(pos)));
                }
                pos += 1;
                let mut values = vec![literal(pos)?];
                pos += 1;
                while toks.get(pos).map(|(_, t)| t) == Some(&Token::Symbol(",")) {
                    values.push(literal(pos + 1)?);
                    pos += 2;
                }
                if toks.get(pos).map(|(_, t)| t) != Some(&Token::Symbol(")")) {
                    return Err(fail("expected , or ) in the IN list".into(), at(pos)));
                }
                pos += 1;
                Test::In { values, negated }
            } else {
                let op = match toks.get(pos) {
                    Some((_, Token::Symbol("="))) => Op::Eq,
                    Some((_, Token::Symbol("<>"))) => Op::Ne,
                    Some((_, Token::Symbol("<"))) => Op::Lt,
                    Some((_, Token::Symbol("<="))) => Op::Le,
                    Some((_, Token::Symbol(">"))) => Op::Gt,
                    Some((_, Token::Symbol(">="))) => Op::Ge,
                    _ => {
                        return Err(fail(
                            format!("expected =, <>, <, <=, >, >=, IN, NOT IN, IS NULL or IS NOT NULL after `{field}`"),
                            at(pos),
                        ));
                    }
                };
                pos += 1;
                let value = literal(pos)?;
                pos += 1;
                Test::Compare(op, value)
            };
            clauses.push(Clause { field, test });
            if pos == toks.len() {
                break;
            }
            if !keyword(pos, "AND") {
                let hint = if keyword(pos, "OR") {
                    "OR is not supported: write one reference or rule per alternative"
                } else {
                    "expected AND or the end of the condition"
                };
                return Err(fail(hint.into(), at(pos)));
            }
            pos += 1;
        }
        Ok(Condition { clauses })
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ConditionError| serde::de::Error::custom(format!("condition: {e}")))
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(s: &str) -> Condition {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn holds(c: &str, record: Value) -> bool {
        let record = record.as_object().cloned().unwrap_or_default();
        cond(c).matches(|f| record.get(f))
    }

    #[test]
    fn parses_the_shapes_real_schemas_need() {
        let c = cond("type.source = 'external' AND type.element IN ('propal', 'facture')");
        assert_eq!(c.fields(), vec!["type.source", "type.element"]);
        assert_eq!(c.to_string(), "type.source = 'external' AND type.element IN ('propal', 'facture')");
        let c = cond("fk_statut>0 and datef < '2024-01-01' AND note is not null AND x != -2.5");
        assert_eq!(c.clauses.len(), 4);
        assert_eq!(c.clauses[3].test, Test::Compare(Op::Ne, Literal::Decimal("-2.5".into())));
        assert_eq!(cond("name = 'l''été'").clauses[0].test, Test::Compare(Op::Eq, Literal::Text("l'été".into())));
        assert_eq!(cond("a NOT IN (1, 2)").to_string(), "a NOT IN (1, 2)");
    }

    #[test]
    fn refuses_what_it_cannot_read_with_the_place() {
        for (bad, words) in [
            ("", "expected a column name"),
            ("model = res.partner", "expected a value"),
            ("model = 'x' OR model = 'y'", "OR is not supported"),
            ("model == 'x'", "expected a value"),
            ("model = 'x", "not closed"),
            ("a.b.c = 1", "not a column name"),
            ("a IN ()", "expected a value"),
            ("a IN (1 2)", "expected , or )"),
            ("a IS 1", "expected NULL"),
            ("a ; drop", "unexpected `;`"),
            ("1 = a", "expected a column name"),
            ("a = 1.2.3", "not a number"),
        ] {
            let e = bad.parse::<Condition>().expect_err(bad);
            assert!(e.to_string().contains(words), "{bad}: {e}");
        }
        let e = "model == 'x'".parse::<Condition>().unwrap_err();
        assert_eq!(e.at, 8, "{e}");
    }

    #[test]
    fn evaluates_like_sql() {
        assert!(holds("model = 'res.partner'", json!({"model": "res.partner"})));
        assert!(!holds("model = 'res.partner'", json!({"model": "res.partner.bank"})));
        // Numbers compare as numbers, text that reads as a number too (CSV values are text).
        assert!(holds("fk_statut > 0", json!({"fk_statut": 2})));
        assert!(holds("fk_statut > 0", json!({"fk_statut": "2"})));
        assert!(!holds("fk_statut > 0", json!({"fk_statut": "0"})));
        assert!(holds("amount >= 10.5", json!({"amount": "10.50"})));
        assert!(!holds("fk_statut > 0", json!({"fk_statut": "draft"})));
        // ISO dates compare in date order, as text.
        assert!(holds("datec < '2024-01-01'", json!({"datec": "2019-03-02 10:00:00"})));
        assert!(!holds("datec < '2024-01-01'", json!({"datec": "2024-01-01T00:00:00"})));
        // NULL (or absent) satisfies only IS NULL.
        for c in ["a = 1", "a <> 1", "a IN (1)", "a NOT IN (1)", "a < 'z'", "a IS NOT NULL"] {
            assert!(!holds(c, json!({"a": null})), "{c}");
            assert!(!holds(c, json!({})), "{c}");
        }
        assert!(holds("a IS NULL", json!({})));
        assert!(holds("a NOT IN ('x', 'y')", json!({"a": "z"})));
        assert!(!holds("a NOT IN ('x', 'y')", json!({"a": "y"})));
        assert!(holds("a IN (1, 'x')", json!({"a": "x"})));
        assert!(holds("flag = 1", json!({"flag": true})));
        assert!(holds("share = TRUE", json!({"share": true})));
        assert!(holds("share = true", json!({"share": 1})));
        assert!(holds("share = FALSE", json!({"share": "f"})));
        assert!(!holds("share = true", json!({"share": "false"})));
        assert!(!holds("share = true", json!({"share": "maybe"})));
        assert!(!holds("flag = 1", json!({"flag": [1]})));
        assert!(holds("a = 'x' AND b IS NULL", json!({"a": "x"})));
        assert!(!holds("a = 'x' AND b IS NULL", json!({"a": "x", "b": 0})));
    }

    #[test]
    fn deserialises_from_a_string_in_toml() {
        #[derive(Deserialize)]
        struct C {
            r#where: Condition,
        }
        let c: C = toml::from_str("where = \"model = 'crm.lead'\"").unwrap();
        assert_eq!(c.r#where.fields(), vec!["model"]);
        let e = toml::from_str::<C>("where = \"model = \"").err().unwrap().to_string();
        assert!(e.contains("condition: expected a value"), "{e}");
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever is typed, parsing answers (never panics), and what parses prints back to
            /// the same condition.
            #[test]
            fn parse_never_panics_and_round_trips(s in "[ -~éà]{0,60}") {
                if let Ok(c) = s.parse::<Condition>() {
                    prop_assert_eq!(c.to_string().parse::<Condition>().ok(), Some(c));
                }
            }
        }
    }
}
