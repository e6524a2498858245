//! `/privacy`: the operator's transparency page (GDPR Art. 13 and 14), from the sources'
//! metadata, in both languages, with nothing about any person.

use dossier::domain::Locale;

use crate::helpers::TestApp;
use crate::on_both_backends;

/// The page's text with the entities auto-escaping writes turned back into characters.
fn text(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn the_privacy_page_lists_every_collection_in_both_languages(app: TestApp) {
    let home = app.get("/").await.text();
    assert!(home.contains("href=\"/privacy\""), "the portal links to it: {home}");

    for (lang, locale, title) in [
        ("en", Locale::En, "How we use personal data"),
        ("fr", Locale::Fr, "Comment nous utilisons les données personnelles"),
    ] {
        let res = app.get(&format!("/privacy?lang={lang}")).await;
        assert_eq!(res.status, 200);
        let page = text(&res.text());
        assert!(page.contains(&format!("<html lang=\"{lang}\"")), "{page}");
        assert!(page.contains(&format!("<h1>{title}</h1>")), "{page}");
        let mut collections = 0;
        for connector in &app.app.connectors {
            let info = connector.info();
            assert!(page.contains(&format!("<h3>{}</h3>", info.label.get(locale))), "{lang}: {}", info.name);
            for c in &info.collections {
                collections += 1;
                assert!(page.contains(&format!("{}</h4>", c.label.get(locale))), "{lang}: {}", c.name);
                for p in &c.art15.purposes {
                    assert!(page.contains(p.get(locale)), "{lang}: purpose of {}", c.name);
                }
                if let Some(r) = &c.art15.retention {
                    assert!(page.contains(r.get(locale)), "{lang}: retention of {}", c.name);
                }
                for r in &c.art15.recipients {
                    assert!(page.contains(r.name.get(locale)), "{lang}: recipient of {}", c.name);
                }
            }
        }
        assert!(collections >= 9, "the demo's collections are all there ({collections})");
        // Plain checks against the demo's own words, in each language.
        let (contacts, accountants, retention, authority) = match locale {
            Locale::En => (
                "Contact records",
                "Cabinet Lefort & Associés (chartered accountants)",
                "10 years from the end of the financial year",
                "Making a complaint",
            ),
            Locale::Fr => (
                "Fiches contact",
                "Cabinet Lefort & Associés (expert-comptable)",
                "10 ans à compter de la clôture de l'exercice",
                "Introduire une réclamation",
            ),
        };
        for expected in [
            contacts,
            accountants,
            retention,
            authority,
            "Exemple SAS",
            "dpo@exemple.test",
            "CNIL",
            "3 place de Fontenoy",
        ] {
            assert!(page.contains(expected), "{lang}: {expected}");
        }
        // Configuration only: no person's address or name ever appears.
        for person in ["jeanne", "martin", "oliver", "@example.fr", "@example.co.uk"] {
            assert!(!page.to_lowercase().contains(person), "{lang}: {person}");
        }
    }
}
on_both_backends!(the_privacy_page_lists_every_collection_in_both_languages);
