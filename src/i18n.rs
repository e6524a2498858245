//! French and English catalogs. Every string a person reads comes from `locales/{en,fr}/*.toml`.
//!
//! Keys are dotted paths (`portal.home.title`); parameters are written `{name}`. A test fails when
//! a key exists in one language and not the other, or when a template uses a key that exists in
//! neither.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::domain::Locale;

/// One file per area and language; each area's keys start with the file's name.
macro_rules! catalog_files {
    ($lang:literal: $($area:literal),+) => {
        [$((concat!("locales/", $lang, "/", $area, ".toml"), include_str!(concat!("../locales/", $lang, "/", $area, ".toml")))),+]
    };
}
const EN: &[(&str, &str)] = &catalog_files!("en": "common", "portal", "mail", "export", "staff");
const FR: &[(&str, &str)] = &catalog_files!("fr": "common", "portal", "mail", "export", "staff");

static CATALOGS: LazyLock<[BTreeMap<String, String>; 2]> = LazyLock::new(|| [load(EN), load(FR)]);

fn load(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (path, src) in files {
        let area = path.rsplit('/').next().unwrap_or("").trim_end_matches(".toml");
        let parsed = parse(src).unwrap_or_else(|e| panic!("{path} is not valid TOML: {e}"));
        out.extend(parsed.into_iter().map(|(k, v)| (format!("{area}.{k}"), v)));
    }
    out
}

fn parse(src: &str) -> Result<BTreeMap<String, String>, toml::de::Error> {
    fn flatten(prefix: &str, table: toml::Table, out: &mut BTreeMap<String, String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => flatten(&key, t, out),
                toml::Value::String(s) => {
                    out.insert(key, s);
                }
                other => panic!("catalog key {key} must be a string, not a {}", other.type_str()),
            }
        }
    }
    let table: toml::Table = toml::from_str(src)?;
    let mut out = BTreeMap::new();
    flatten("", table, &mut out);
    Ok(out)
}

fn catalog(locale: Locale) -> &'static BTreeMap<String, String> {
    match locale {
        Locale::En => &CATALOGS[0],
        Locale::Fr => &CATALOGS[1],
    }
}

/// The translator handed to every template: `{{ t.get("portal.home.title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }

    /// The month's name (`common.month.1` … `common.month.12`).
    pub fn month(&self, month: time::Month) -> &'static str {
        const KEYS: [&str; 12] = [
            "common.month.1",
            "common.month.2",
            "common.month.3",
            "common.month.4",
            "common.month.5",
            "common.month.6",
            "common.month.7",
            "common.month.8",
            "common.month.9",
            "common.month.10",
            "common.month.11",
            "common.month.12",
        ];
        self.get(KEYS[usize::from(u8::from(month)) - 1])
    }

    /// The string for `key`; a missing key shows the key itself (and the catalog test fails).
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        match catalog(self.locale).get(key) {
            Some(s) => s.as_str(),
            None => {
                tracing::warn!(key, locale = %self.locale, "missing translation");
                key
            }
        }
    }

    /// The string for `key` with each `{name}` replaced by its value.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

/// All keys of a catalog, for tests and tools.
pub fn keys(locale: Locale) -> impl Iterator<Item = &'static str> {
    catalog(locale).keys().map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_languages_have_the_same_keys() {
        let en: BTreeSet<_> = keys(Locale::En).collect();
        let fr: BTreeSet<_> = keys(Locale::Fr).collect();
        let missing_fr: Vec<_> = en.difference(&fr).collect();
        let missing_en: Vec<_> = fr.difference(&en).collect();
        assert!(missing_fr.is_empty(), "keys missing in fr.toml: {missing_fr:?}");
        assert!(missing_en.is_empty(), "keys missing in en.toml: {missing_en:?}");
    }

    #[test]
    fn parameters_match_across_languages() {
        let params = |s: &str| -> BTreeSet<String> {
            s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned())).collect()
        };
        for key in keys(Locale::En) {
            let en = params(Tr::new(Locale::En).get(key));
            let fr = params(Tr::new(Locale::Fr).get(key));
            assert_eq!(en, fr, "parameters differ for {key}");
        }
    }

    /// File names that look like keys (`export.key`) are not keys.
    const FILE_EXTENSIONS: &[&str] =
        &["key", "toml", "json", "html", "csv", "txt", "db", "zip", "enc", "spool", "css", "eml"];

    /// Every `t.get("…")` / `t.fmt("…"` in templates and every `tr.get("…")` in code names a real key.
    #[test]
    fn every_key_used_exists() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        walk(&root.join("templates"), &mut files);
        walk(&root.join("src"), &mut files);
        let en: BTreeSet<_> = keys(Locale::En).collect();
        let mut missing = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            // Any string literal shaped like a catalog key, wherever it is written.
            for piece in text.split('"') {
                let is_key = ["common.", "portal.", "mail.", "export.", "staff."].iter().any(|p| piece.starts_with(p))
                    && piece.len() > 8
                    && piece.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
                    && !piece.ends_with('.')
                    && !FILE_EXTENSIONS.iter().any(|ext| piece.rsplit('.').next() == Some(*ext));
                if is_key && !en.contains(piece) {
                    missing.push(format!("{}: {piece}", f.display()));
                }
            }
        }
        assert!(missing.is_empty(), "unknown catalog keys: {missing:#?}");
    }

    #[test]
    fn fmt_replaces_parameters() {
        let tr = Tr::new(Locale::En);
        assert_eq!(tr.fmt("common.test.greeting", &[("name", "Ana")]), "Hello, Ana");
    }
}
