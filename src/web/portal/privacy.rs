//! `/privacy`: what the operator holds, why, for how long, who receives it and where it comes from
//! (GDPR Art. 13 and 14 transparency), from the same source metadata the exports use, grouped by
//! source and collection, with the controller, its DPO and the supervisory authority. Built from
//! configuration only: it never shows anything about a person.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::app::App;
use crate::connectors::{CollectionInfo, Text};
use crate::domain::Locale;
use crate::i18n::Tr;
use crate::web::{Page, PageError};

pub struct RecipientView {
    pub name: String,
    pub country: Option<String>,
    pub third_country: bool,
    pub safeguards: Option<String>,
}

pub struct CollectionView {
    pub id: String,
    pub label: String,
    pub purposes: Vec<String>,
    pub legal_basis: Option<String>,
    pub categories: Vec<String>,
    pub recipients: Vec<RecipientView>,
    pub retention: Option<String>,
    pub origin: Option<String>,
    pub automated: Option<String>,
}

pub struct SourceView {
    pub label: String,
    /// A source searched by staff (a paper archive): said so, since a person may wonder.
    pub by_hand: bool,
    pub collections: Vec<CollectionView>,
}

pub struct RightView {
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "portal/privacy.html")]
struct PrivacyTemplate<'a> {
    t: Tr,
    page: &'a Page,
    controller: &'a crate::config::ControllerInfo,
    authority_name: &'a str,
    /// The authority's URL as a link, only when it is plain http(s).
    authority_link: Option<&'a str>,
    rights_intro: String,
    rights: Vec<RightView>,
    sources: Vec<SourceView>,
}

fn text(t: &Option<Text>, l: Locale) -> Option<String> {
    t.as_ref().map(|t| t.get(l).trim().to_owned()).filter(|s| !s.is_empty())
}

fn collection(c: &CollectionInfo, l: Locale, id: String) -> CollectionView {
    let a = &c.art15;
    let label = c.label.get(l).trim();
    CollectionView {
        id,
        label: if label.is_empty() { c.name.clone() } else { label.to_owned() },
        purposes: a.purposes.iter().map(|p| p.get(l).to_owned()).collect(),
        legal_basis: text(&a.legal_basis, l),
        categories: a.categories.iter().map(|p| p.get(l).to_owned()).collect(),
        recipients: a
            .recipients
            .iter()
            .map(|r| RecipientView {
                name: r.name.get(l).to_owned(),
                country: r.country.clone(),
                third_country: r.third_country,
                safeguards: text(&r.safeguards, l),
            })
            .collect(),
        retention: text(&a.retention, l),
        origin: text(&a.origin, l),
        automated: text(&a.automated_decisions, l),
    }
}

/// The rights a person has (GDPR Art. 13(2)(b)), as in every export.
const RIGHTS: [&str; 5] = ["rectification", "erasure", "restriction", "objection", "portability"];

pub async fn show(page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    let t = page.t;
    let l = t.locale;
    let c = &app.settings.controller;
    let sources = app
        .connectors
        .iter()
        .enumerate()
        .map(|(i, connector)| {
            let info = connector.info();
            let label = info.label.get(l).trim();
            SourceView {
                label: if label.is_empty() { info.name.clone() } else { label.to_owned() },
                by_hand: connector.staff_task().is_some(),
                collections: info
                    .collections
                    .iter()
                    .enumerate()
                    .map(|(j, col)| collection(col, l, format!("s{i}-c{j}")))
                    .collect(),
            }
        })
        .filter(|s| !s.collections.is_empty())
        .collect();
    let rights = RIGHTS
        .iter()
        .map(|id| RightView {
            title: t.get(&format!("export.rights.{id}.title")).to_owned(),
            text: t.get(&format!("export.rights.{id}.text")).to_owned(),
        })
        .collect();
    let body = PrivacyTemplate {
        t,
        page: &page,
        controller: c,
        authority_name: c.authority.name.get(l),
        authority_link: c.authority.link(),
        rights_intro: t.fmt("portal.privacy.rights_intro", &[("email", &c.contact_email)]),
        rights,
        sources,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
