use std::fmt;

/// The languages every user-facing string exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// Parses a language tag such as `fr`, `fr-FR` or `en_GB`.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(Locale, f32)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(l) = Locale::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((l, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_by_quality() {
        assert_eq!(Locale::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"), Some(Locale::Fr));
        assert_eq!(Locale::from_accept_language("de-DE,en;q=0.5,fr;q=0.7"), Some(Locale::Fr));
        assert_eq!(Locale::from_accept_language("de,es"), None);
        assert_eq!(Locale::from_accept_language("fr;q=0,en"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language(""), None);
    }
}
