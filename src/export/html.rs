//! index.html: the readable report. The page around the records is one askama template rendered
//! once (it is small); the records tables are rendered row by row into a scratch file while the
//! data is streamed, then spliced in where the page template leaves its marker.

use askama::Template;
use time::{Date, OffsetDateTime};

use crate::config::ControllerInfo;
use crate::domain::Locale;
use crate::i18n::Tr;

/// Where the records tables go. Cannot come from data: every value is escaped, so `<` never
/// appears in rendered data.
pub const RECORDS_MARKER: &str = "<!-- dossier:records -->";

/// Rows shown per collection in the HTML; the JSON and CSV files always hold everything.
pub const HTML_ROWS_PER_COLLECTION: u64 = 1_000;

#[derive(Template)]
#[template(path = "export/index.html")]
pub struct IndexPage<'a> {
    pub t: Tr,
    pub lang: &'static str,
    pub title: &'a str,
    pub subtitle: String,
    pub reference: &'a str,
    pub kind_label: String,
    pub received: String,
    pub due: String,
    pub generated: String,
    pub controller: &'a ControllerInfo,
    pub has_data: bool,
    /// Records from sources (the tables); `has_data` also counts files staff uploaded.
    pub has_records: bool,
    /// Files staff uploaded for manual sources.
    pub files: Vec<FileView<'a>>,
    pub total_line: String,
    pub summary: Vec<SummaryRow>,
    pub info: Vec<InfoSource<'a>>,
    pub rights_intro: String,
    pub rights: Vec<RightView>,
    pub authority_name: &'a str,
    pub authority_address: &'a str,
    pub authority_url: &'a str,
    /// The authority's URL as a link, only when it is plain http(s).
    pub authority_link: Option<&'a str>,
    pub footer: String,
}

pub struct FileView<'a> {
    pub source_label: String,
    pub name: &'a str,
    /// Its path in the archive (a relative link from index.html).
    pub path: &'a str,
    /// Size in bytes, formatted.
    pub size: String,
    pub sha256: &'a str,
}

pub struct SummaryRow {
    pub source_label: String,
    pub collection_label: String,
    pub records: String,
    pub anchor: String,
}

pub struct InfoSource<'a> {
    pub label: String,
    pub collections: Vec<InfoCollection<'a>>,
}

pub struct InfoCollection<'a> {
    pub label: &'a str,
    pub purposes: Vec<&'a str>,
    pub legal_basis: Option<&'a str>,
    pub categories: Vec<&'a str>,
    pub recipients: Vec<RecipientView<'a>>,
    pub retention: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub automated_decisions: Option<&'a str>,
}

pub struct RecipientView<'a> {
    pub name: &'a str,
    pub country: Option<&'a str>,
    pub third_country: bool,
    pub safeguards: Option<&'a str>,
}

pub struct RightView {
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "export/collection_open.html")]
pub struct CollectionOpen<'a> {
    pub anchor: &'a str,
    pub source_label: &'a str,
    pub collection_label: &'a str,
    pub columns: &'a [String],
}

#[derive(Template)]
#[template(path = "export/row.html")]
pub struct Row<'a> {
    pub cells: &'a [String],
}

#[derive(Template)]
#[template(path = "export/collection_close.html")]
pub struct CollectionClose {
    pub note: String,
}

/// `1,234,567` in English, `1 234 567` (narrow no-break spaces) in French.
pub fn format_count(locale: Locale, n: u64) -> String {
    let sep = match locale {
        Locale::En => ",",
        Locale::Fr => "\u{202f}",
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// `12 March 2026`, `12 mars 2026`, `1er mars 2026`.
pub fn format_date(tr: Tr, date: Date) -> String {
    let key = format!("export.month.{}", u8::from(date.month()));
    let month = tr.get(&key).to_owned();
    let day = match (tr.locale, date.day()) {
        (Locale::Fr, 1) => "1er".to_owned(),
        (_, d) => d.to_string(),
    };
    format!("{day} {month} {}", date.year())
}

/// `12 March 2026 at 14:05 (UTC+01:00)`, in the instant's own offset.
pub fn format_datetime(tr: Tr, at: OffsetDateTime) -> String {
    let time = format!("{:02}:{:02}", at.hour(), at.minute());
    let off = at.offset();
    let offset = if off.is_utc() {
        "UTC".to_owned()
    } else {
        let sign = if off.is_negative() { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", off.whole_hours().unsigned_abs(), off.minutes_past_hour().unsigned_abs())
    };
    tr.fmt("export.format.datetime", &[("date", &format_date(tr, at.date())), ("time", &time), ("offset", &offset)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn counts_and_dates_read_naturally() {
        assert_eq!(format_count(Locale::En, 0), "0");
        assert_eq!(format_count(Locale::En, 999), "999");
        assert_eq!(format_count(Locale::En, 1234567), "1,234,567");
        assert_eq!(format_count(Locale::Fr, 12345), "12\u{202f}345");
        assert_eq!(format_date(Tr::new(Locale::En), date!(2026 - 03 - 12)), "12 March 2026");
        assert_eq!(format_date(Tr::new(Locale::Fr), date!(2026 - 03 - 01)), "1er mars 2026");
        assert_eq!(
            format_datetime(Tr::new(Locale::Fr), datetime!(2026-08-05 09:07 +02:00)),
            "5 août 2026 à 09:07 (UTC+02:00)"
        );
        assert_eq!(
            format_datetime(Tr::new(Locale::En), datetime!(2026-01-31 23:30 UTC)),
            "31 January 2026 at 23:30 (UTC)"
        );
    }
}
