//! The demo databases' content: a few fixed people (see [`super::DEMO_PEOPLE`]) among a few
//! hundred generated ones. Generation is deterministic (a fixed seed, [`SplitMix64`]), so every
//! demo shows the same data and the tests can count it.

use sqlx::{Sqlite, Transaction};
use time::{Date, Duration, Month};

/// A tiny deterministic PRNG (splitmix64): enough to vary fictional names, never for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn range(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        let span = u64::try_from(hi_inclusive - lo + 1).unwrap_or(1);
        lo + i64::try_from(self.below(span)).unwrap_or(0)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let len = u64::try_from(items.len()).unwrap_or(1);
        let i = usize::try_from(self.below(len)).unwrap_or(0);
        &items[i.min(items.len() - 1)]
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub const SEED: u64 = 0x0D05_51E2_2024_0525;

#[rustfmt::skip]
pub(super) const FRENCH_FIRST: &[&str] = &[
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Élodie", "Sarah", "Juliette", "Louise", "Zoé",
    "Hélène", "Margaux", "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Théo", "Nathan",
    "François", "Mathéo", "Étienne", "Raphaël", "Noël", "Anaïs", "Benoît", "Cécile", "Gaëlle",
    "Jérôme",
];
#[rustfmt::skip]
pub(super) const FRENCH_LAST: &[&str] = &[
    "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
    "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
    "Martinez", "Legrand", "Gauthier",
];
#[rustfmt::skip]
pub(super) const ENGLISH_FIRST: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Lily", "George", "Harry",
    "Jack", "Jacob", "Charlie", "Thomas", "Oscar", "William", "James", "Henry", "Alfie", "Freya",
];
#[rustfmt::skip]
pub(super) const ENGLISH_LAST: &[&str] = &[
    "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Johnson", "Roberts",
    "Robinson", "Wright", "Thompson", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
    "Lewis", "Harris",
];
#[rustfmt::skip]
const FRENCH_CITIES: &[&str] = &[
    "Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux", "Rennes", "Strasbourg",
    "Montpellier",
];
#[rustfmt::skip]
const ENGLISH_CITIES: &[&str] = &[
    "London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Cardiff",
];
#[rustfmt::skip]
pub(super) const COMPANY_WORDS: &[&str] = &[
    "Atelier", "Boulangerie", "Cabinet", "Studio", "Maison", "Garage", "Librairie", "Agence",
    "Brasserie", "Pharmacie",
];
pub(super) const COMPANY_SUFFIX_FR: &[&str] = &["SARL", "SAS", "& Fils", "et Associés", "SA"];
pub(super) const COMPANY_SUFFIX_UK: &[&str] = &["Ltd", "& Co", "Partners LLP", "Group plc"];
#[rustfmt::skip]
const JOBS: &[&str] = &[
    "Gérante", "Directeur administratif", "Responsable achats", "Comptable", "Office manager",
    "Buyer", "Operations lead", "Assistante de direction", "Managing director", "Acheteur",
];
/// (product, unit price in cents)
#[rustfmt::skip]
const PRODUCTS: &[(&str, i64)] = &[
    ("Chaise ergonomique", 18_990), ("Bureau assis-debout", 54_900), ("Lampe de bureau", 4_990),
    ("Caisson à tiroirs", 12_950), ("Tableau blanc", 8_900), ("Ramette papier A4 (x5)", 2_450),
    ("Casque audio", 7_990), ("Support écran", 3_490),
];
#[rustfmt::skip]
const NOTES: &[&str] = &[
    "Demande de devis pour l'aménagement d'un nouvel espace.",
    "Relance sur une facture en attente de paiement.", "Question sur les délais de livraison.",
    "Souhaite être rappelé(e) la semaine prochaine.", "Asked for a quote for a new office.",
    "Reported a damaged parcel; replacement sent.", "Satisfait(e) de la dernière commande.",
    "Wants to change the delivery address for future orders.",
];
#[rustfmt::skip]
const AGENTS: &[&str] = &[
    "Sophie (support)", "Karim (ventes)", "Anne (comptabilité)", "Tom (sales)",
];
#[rustfmt::skip]
const CAMPAIGNS: &[&str] = &[
    "2024-01 Soldes d'hiver", "2024-03 Nouveautés printemps", "2024-06 Summer offers",
    "2024-09 Rentrée au bureau", "2024-11 Black Friday", "2025-01 Vœux et nouveautés",
];

pub(super) fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let folded = match c {
                'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                ' ' | '\'' => return None,
                c => c,
            };
            Some(folded.to_ascii_lowercase())
        })
        .collect()
}

fn date(y: i32, m: Month, d: u8) -> anyhow::Result<Date> {
    Ok(Date::from_calendar_date(y, m, d)?)
}

fn day_after(start: Date, days: i64) -> Date {
    start.checked_add(Duration::days(days)).unwrap_or(start)
}

fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn iso_ts(d: Date, minutes: i64) -> String {
    format!("{}T{:02}:{:02}:00Z", iso_date(d), (minutes / 60) % 24, minutes % 60)
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

type Tx<'a> = Transaction<'a, Sqlite>;

pub const CRM_SCHEMA: &str = "
CREATE TABLE companies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  registration_number TEXT,
  city TEXT,
  country TEXT NOT NULL
);
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  company_id INTEGER REFERENCES companies(id),
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT,
  email_alt TEXT,
  phone TEXT,
  job_title TEXT,
  preferred_language TEXT NOT NULL,
  no_marketing BOOLEAN NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  no_surveys INTEGER NOT NULL DEFAULT 0,
  restricted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_email ON contacts (LOWER(TRIM(email)));
CREATE INDEX contacts_email_alt ON contacts (LOWER(TRIM(email_alt)));
CREATE INDEX contacts_company ON contacts (company_id);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts(id),
  reference TEXT NOT NULL,
  ordered_on TEXT NOT NULL,
  status TEXT NOT NULL,
  total TEXT NOT NULL,
  currency TEXT NOT NULL
);
CREATE INDEX orders_contact ON orders (contact_id);
CREATE TABLE order_lines (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  unit_price_cents INTEGER NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE TABLE interactions (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts(id),
  channel TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  agent TEXT NOT NULL,
  notes TEXT
);
CREATE INDEX interactions_contact ON interactions (contact_id);
";

/// Added after the first demos were created: [`super::create_demo_crm`] adds it to an older
/// `crm.db` too.
pub const QUOTE_REQUESTS_SCHEMA: &str = "
CREATE TABLE quote_requests (
  id INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  copy_to TEXT,
  subject TEXT NOT NULL
);
";

/// Added with polymorphic references (issue 13): [`super::create_demo_crm`] adds it to an older
/// `crm.db` too. Like Odoo's `mail_message`, a message points at a contact, a company *or* an
/// order through `(model, res_id)`; `email_from` is its author as `Name <address>`.
pub const MESSAGES_SCHEMA: &str = "
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  res_id INTEGER NOT NULL,
  email_from TEXT,
  written_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX messages_record ON messages (res_id, model);
";

pub const NEWSLETTER_SCHEMA: &str = "
CREATE TABLE subscribers (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  first_name TEXT,
  language TEXT NOT NULL,
  consent_at TEXT NOT NULL,
  consent_source TEXT NOT NULL,
  unsubscribed_at TEXT
);
CREATE INDEX subscribers_email ON subscribers (LOWER(TRIM(email)));
CREATE TABLE campaign_events (
  id INTEGER PRIMARY KEY,
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
  campaign TEXT NOT NULL,
  event TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  link TEXT
);
CREATE INDEX campaign_events_subscriber ON campaign_events (subscriber_id);
";

/// Ids handed out in order, one counter per table.
#[derive(Default)]
struct Ids {
    company: i64,
    contact: i64,
    order: i64,
    line: i64,
    interaction: i64,
    subscriber: i64,
    event: i64,
}

fn next(counter: &mut i64) -> i64 {
    *counter += 1;
    *counter
}

struct Contact<'s> {
    company_id: Option<i64>,
    first: &'s str,
    last: &'s str,
    email: Option<&'s str>,
    email_alt: Option<&'s str>,
    phone: Option<String>,
    job: Option<&'s str>,
    lang: &'s str,
    no_marketing: bool,
    created: String,
}

async fn company(
    tx: &mut Tx<'_>,
    ids: &mut Ids,
    name: &str,
    reg: Option<&str>,
    city: &str,
    country: &str,
) -> anyhow::Result<i64> {
    let id = next(&mut ids.company);
    sqlx::query("INSERT INTO companies (id, name, registration_number, city, country) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(name)
        .bind(reg)
        .bind(city)
        .bind(country)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

async fn contact(tx: &mut Tx<'_>, ids: &mut Ids, c: &Contact<'_>) -> anyhow::Result<i64> {
    let id = next(&mut ids.contact);
    sqlx::query(
        "INSERT INTO contacts (id, company_id, first_name, last_name, email, email_alt, phone, job_title, \
         preferred_language, no_marketing, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(c.company_id)
    .bind(c.first)
    .bind(c.last)
    .bind(c.email)
    .bind(c.email_alt)
    .bind(c.phone.as_deref())
    .bind(c.job)
    .bind(c.lang)
    .bind(c.no_marketing)
    .bind(&c.created)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// An order with its lines; `lines` are (product index, quantity). Returns the order id.
async fn order(
    tx: &mut Tx<'_>,
    ids: &mut Ids,
    contact_id: i64,
    on: Date,
    status: &str,
    currency: &str,
    lines: &[(usize, i64)],
) -> anyhow::Result<i64> {
    let id = next(&mut ids.order);
    let total: i64 = lines.iter().map(|(p, q)| PRODUCTS[p % PRODUCTS.len()].1 * q).sum();
    sqlx::query(
        "INSERT INTO orders (id, contact_id, reference, ordered_on, status, total, currency) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(contact_id)
    .bind(format!("CMD-{}-{id:05}", on.year()))
    .bind(iso_date(on))
    .bind(status)
    .bind(money(total))
    .bind(currency)
    .execute(&mut **tx)
    .await?;
    for (p, q) in lines {
        let (product, price) = PRODUCTS[p % PRODUCTS.len()];
        sqlx::query(
            "INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(next(&mut ids.line))
        .bind(id)
        .bind(product)
        .bind(q)
        .bind(price)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

async fn interaction(
    tx: &mut Tx<'_>,
    ids: &mut Ids,
    contact_id: i64,
    channel: &str,
    at: String,
    agent: &str,
    notes: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO interactions (id, contact_id, channel, occurred_at, agent, notes) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(next(&mut ids.interaction))
    .bind(contact_id)
    .bind(channel)
    .bind(at)
    .bind(agent)
    .bind(notes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn subscriber(
    tx: &mut Tx<'_>,
    ids: &mut Ids,
    email: &str,
    (first, lang): (Option<&str>, &str),
    consent_at: String,
    source: &str,
    unsubscribed_at: Option<String>,
) -> anyhow::Result<i64> {
    let id = next(&mut ids.subscriber);
    sqlx::query(
        "INSERT INTO subscribers (id, email, first_name, language, consent_at, consent_source, unsubscribed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(email)
    .bind(first)
    .bind(lang)
    .bind(consent_at)
    .bind(source)
    .bind(unsubscribed_at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

async fn event(
    tx: &mut Tx<'_>,
    ids: &mut Ids,
    subscriber_id: i64,
    campaign: &str,
    kind: &str,
    at: String,
    link: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO campaign_events (id, subscriber_id, campaign, event, occurred_at, link) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(next(&mut ids.event))
    .bind(subscriber_id)
    .bind(campaign)
    .bind(kind)
    .bind(at)
    .bind(link)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Number of generated (not hand-written) contacts.
pub const GENERATED_CONTACTS: usize = 320;

/// Fills both databases (each in its own transaction, opened by the caller).
pub async fn fill(crm: &mut Tx<'_>, newsletter: &mut Tx<'_>) -> anyhow::Result<()> {
    let mut ids = Ids::default();
    let start = date(2019, Month::January, 1)?;

    // --- The hand-written people (see DEMO_PEOPLE) -------------------------------------------
    let librairie =
        company(crm, &mut ids, "Librairie du Marais SARL", Some("552 100 554 00021"), "Paris", "FR").await?;
    let jeanne = contact(
        crm,
        &mut ids,
        &Contact {
            company_id: Some(librairie),
            first: "Jeanne",
            last: "Martin",
            email: Some("jeanne.martin@example.fr"),
            email_alt: None,
            phone: Some("+33 6 12 34 56 78".into()),
            job: Some("Gérante"),
            lang: "fr",
            no_marketing: false,
            created: "2021-02-14T09:30:00Z".into(),
        },
    )
    .await?;
    // Her older personal account: the address is only in the secondary column.
    let jeanne_old = contact(
        crm,
        &mut ids,
        &Contact {
            company_id: None,
            first: "Jeanne",
            last: "Martin",
            email: Some("jeanne.m.perso@example.net"),
            email_alt: Some("Jeanne.Martin@example.fr"),
            phone: None,
            job: None,
            lang: "fr",
            no_marketing: true,
            created: "2019-06-03T17:05:00Z".into(),
        },
    )
    .await?;
    // A colleague at the same company: reached from the company, never exported for Jeanne.
    contact(
        crm,
        &mut ids,
        &Contact {
            company_id: Some(librairie),
            first: "Paul",
            last: "Durand",
            email: Some("paul.durand@example.fr"),
            email_alt: None,
            phone: Some("+33 1 42 00 00 01".into()),
            job: Some("Libraire"),
            lang: "fr",
            no_marketing: false,
            created: "2021-02-14T09:45:00Z".into(),
        },
    )
    .await?;
    order(crm, &mut ids, jeanne, date(2023, Month::March, 2)?, "delivered", "EUR", &[(0, 2), (2, 3)]).await?;
    order(crm, &mut ids, jeanne, date(2024, Month::September, 16)?, "delivered", "EUR", &[(1, 1)]).await?;
    order(crm, &mut ids, jeanne, date(2025, Month::May, 5)?, "paid", "EUR", &[(5, 10), (6, 1), (7, 2)]).await?;
    order(crm, &mut ids, jeanne_old, date(2019, Month::November, 28)?, "delivered", "EUR", &[(3, 1)]).await?;
    interaction(crm, &mut ids, jeanne, "call", "2023-02-20T10:12:00Z".into(), AGENTS[1], Some(NOTES[0])).await?;
    interaction(
        crm,
        &mut ids,
        jeanne,
        "email",
        "2024-09-20T15:40:00Z".into(),
        AGENTS[0],
        Some("Cliente signale un problème d'affichage : le champ commentaire contenait <script>alert(1)</script>, à vérifier."),
    )
    .await?;
    interaction(crm, &mut ids, jeanne, "meeting", "2025-04-11T14:00:00Z".into(), AGENTS[1], Some(NOTES[6])).await?;
    interaction(crm, &mut ids, jeanne_old, "email", "2019-12-02T08:55:00Z".into(), AGENTS[2], None).await?;

    let lyon = company(crm, &mut ids, "Brasserie des Terreaux SAS", Some("784 671 695 00087"), "Lyon", "FR").await?;
    let other_jeanne = contact(
        crm,
        &mut ids,
        &Contact {
            company_id: Some(lyon),
            first: "Jeanne",
            last: "Martin",
            email: Some("jeanne.martin@example.com"),
            email_alt: None,
            phone: Some("+33 4 78 00 00 02".into()),
            job: Some("Acheteuse"),
            lang: "fr",
            no_marketing: false,
            created: "2022-05-10T11:00:00Z".into(),
        },
    )
    .await?;
    order(crm, &mut ids, other_jeanne, date(2022, Month::June, 1)?, "delivered", "EUR", &[(4, 1)]).await?;
    interaction(crm, &mut ids, other_jeanne, "call", "2022-06-03T09:00:00Z".into(), AGENTS[0], Some(NOTES[2])).await?;
    let jeanne2 = contact(
        crm,
        &mut ids,
        &Contact {
            company_id: None,
            first: "Jeanne",
            last: "Martin-Lefèvre",
            email: Some("jeanne.martin2@example.fr"),
            email_alt: None,
            phone: None,
            job: None,
            lang: "fr",
            no_marketing: false,
            created: "2023-10-21T19:20:00Z".into(),
        },
    )
    .await?;
    order(crm, &mut ids, jeanne2, date(2023, Month::October, 21)?, "cancelled", "EUR", &[(2, 1)]).await?;

    let smith = company(crm, &mut ids, "Smith & Daughters Ltd", Some("GB 09876543"), "Manchester", "GB").await?;
    let oliver = contact(
        crm,
        &mut ids,
        &Contact {
            company_id: Some(smith),
            first: "Oliver",
            last: "Smith",
            email: Some("oliver.smith@example.co.uk"),
            email_alt: Some("o.smith@example.org"),
            phone: Some("+44 161 496 0000".into()),
            job: Some("Managing director"),
            lang: "en",
            no_marketing: false,
            created: "2022-01-17T10:00:00Z".into(),
        },
    )
    .await?;
    order(crm, &mut ids, oliver, date(2022, Month::February, 1)?, "delivered", "GBP", &[(1, 4), (0, 4)]).await?;
    order(crm, &mut ids, oliver, date(2024, Month::July, 9)?, "delivered", "GBP", &[(6, 2)]).await?;
    interaction(crm, &mut ids, oliver, "call", "2024-07-15T13:30:00Z".into(), AGENTS[3], Some(NOTES[5])).await?;

    let j = subscriber(
        newsletter,
        &mut ids,
        "JEANNE.MARTIN@example.fr  ",
        (Some("Jeanne"), "fr"),
        "2021-02-14T09:31:00Z".into(),
        "formulaire d'inscription, site web",
        None,
    )
    .await?;
    event(newsletter, &mut ids, j, CAMPAIGNS[0], "open", "2024-01-10T07:45:00Z".into(), None).await?;
    event(
        newsletter,
        &mut ids,
        j,
        CAMPAIGNS[0],
        "click",
        "2024-01-10T07:46:00Z".into(),
        Some("https://shop.example.fr/soldes"),
    )
    .await?;
    event(newsletter, &mut ids, j, CAMPAIGNS[1], "open", "2024-03-05T12:02:00Z".into(), None).await?;
    event(newsletter, &mut ids, j, CAMPAIGNS[4], "open", "2024-11-29T20:15:00Z".into(), None).await?;
    event(
        newsletter,
        &mut ids,
        j,
        CAMPAIGNS[4],
        "click",
        "2024-11-29T20:16:00Z".into(),
        Some("https://shop.example.fr/black-friday"),
    )
    .await?;
    let oj = subscriber(
        newsletter,
        &mut ids,
        "jeanne.martin@example.com",
        (Some("Jeanne"), "fr"),
        "2022-05-10T11:02:00Z".into(),
        "checkout",
        None,
    )
    .await?;
    event(newsletter, &mut ids, oj, CAMPAIGNS[2], "open", "2024-06-12T08:00:00Z".into(), None).await?;
    subscriber(
        newsletter,
        &mut ids,
        "jeanne.martin2@example.fr",
        (None, "fr"),
        "2023-10-21T19:21:00Z".into(),
        "checkout",
        Some("2024-02-01T10:00:00Z".into()),
    )
    .await?;
    let os = subscriber(
        newsletter,
        &mut ids,
        "oliver.smith@example.co.uk",
        (Some("Oliver"), "en"),
        "2022-01-17T10:05:00Z".into(),
        "website sign-up form",
        None,
    )
    .await?;
    event(newsletter, &mut ids, os, CAMPAIGNS[2], "open", "2024-06-12T09:10:00Z".into(), None).await?;
    event(
        newsletter,
        &mut ids,
        os,
        CAMPAIGNS[2],
        "click",
        "2024-06-12T09:11:00Z".into(),
        Some("https://shop.example.fr/en/summer"),
    )
    .await?;

    // --- Generated people ------------------------------------------------------------------
    let mut rng = SplitMix64::new(SEED);
    let mut companies = Vec::new();
    for _ in 0..40 {
        let english = rng.chance(25);
        let (name, city, country) = if english {
            let last = rng.pick(ENGLISH_LAST);
            (format!("{last} {}", rng.pick(COMPANY_SUFFIX_UK)), *rng.pick(ENGLISH_CITIES), "GB")
        } else {
            let word = rng.pick(COMPANY_WORDS);
            let last = rng.pick(FRENCH_LAST);
            (format!("{word} {last} {}", rng.pick(COMPANY_SUFFIX_FR)), *rng.pick(FRENCH_CITIES), "FR")
        };
        let reg = format!("{:03} {:03} {:03}", rng.below(1000), rng.below(1000), rng.below(1000));
        companies.push(company(crm, &mut ids, &name, Some(&reg), city, country).await?);
    }
    for n in 0..GENERATED_CONTACTS {
        let english = rng.chance(30);
        let (first, last, lang, domain) = if english {
            (*rng.pick(ENGLISH_FIRST), *rng.pick(ENGLISH_LAST), "en", *rng.pick(&["example.co.uk", "example.org"]))
        } else {
            (*rng.pick(FRENCH_FIRST), *rng.pick(FRENCH_LAST), "fr", *rng.pick(&["example.net", "example.org"]))
        };
        // The number makes every generated address distinct from the hand-written ones.
        let email = format!("{}.{}.{}@{domain}", ascii_fold(first), ascii_fold(last), 100 + n);
        let email_alt = rng.chance(15).then(|| format!("{}{}@example.net", ascii_fold(first), 500 + n));
        let email = (!rng.chance(3)).then_some(email);
        let company_id = rng.chance(70).then(|| *rng.pick(&companies));
        let created = day_after(start, rng.range(0, 2000));
        let phone = rng.chance(60).then(|| {
            if english {
                format!("+44 20 7946 {:04}", rng.below(10_000))
            } else {
                format!("+33 6 {:02} {:02} {:02} {:02}", rng.below(100), rng.below(100), rng.below(100), rng.below(100))
            }
        });
        let job = rng.chance(60).then(|| *rng.pick(JOBS));
        let c = contact(
            crm,
            &mut ids,
            &Contact {
                company_id,
                first,
                last,
                email: email.as_deref(),
                email_alt: email_alt.as_deref(),
                phone,
                job,
                lang,
                no_marketing: rng.chance(10),
                created: iso_ts(created, rng.range(8 * 60, 19 * 60)),
            },
        )
        .await?;
        for _ in 0..rng.below(5) {
            let on = day_after(created, rng.range(1, 900));
            let lines: Vec<(usize, i64)> =
                (0..rng.range(1, 4)).map(|_| (usize::try_from(rng.below(8)).unwrap_or(0), rng.range(1, 6))).collect();
            let status = *rng.pick(&["delivered", "delivered", "delivered", "paid", "cancelled"]);
            let currency = if english { "GBP" } else { "EUR" };
            order(crm, &mut ids, c, on, status, currency, &lines).await?;
        }
        for _ in 0..rng.below(4) {
            let at = iso_ts(day_after(created, rng.range(0, 900)), rng.range(8 * 60, 19 * 60));
            let channel = *rng.pick(&["call", "email", "meeting"]);
            let note = rng.chance(85).then(|| *rng.pick(NOTES));
            interaction(crm, &mut ids, c, channel, at, rng.pick::<&str>(AGENTS), note).await?;
        }
        if let Some(email) = &email
            && rng.chance(55)
        {
            let consent = day_after(created, rng.range(0, 30));
            let unsub = rng.chance(15).then(|| iso_ts(day_after(consent, rng.range(30, 700)), 600));
            let source = *rng.pick(&["formulaire d'inscription, site web", "checkout", "salon professionnel"]);
            let s = subscriber(newsletter, &mut ids, email, (Some(first), lang), iso_ts(consent, 720), source, unsub)
                .await?;
            for _ in 0..rng.below(6) {
                let campaign = *rng.pick(CAMPAIGNS);
                let at = iso_ts(day_after(consent, rng.range(1, 700)), rng.range(6 * 60, 23 * 60));
                if rng.chance(35) {
                    event(newsletter, &mut ids, s, campaign, "click", at, Some("https://shop.example.fr/offres"))
                        .await?;
                } else {
                    event(newsletter, &mut ids, s, campaign, "open", at, None).await?;
                }
            }
        }
    }
    quote_requests(crm).await?;
    messages(crm).await
}

/// Whether the demo CRM has the messages table (a demo created before it had not).
pub(super) async fn has_messages(crm: &mut sqlx::SqliteConnection) -> anyhow::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'messages'")
            .fetch_optional(&mut *crm)
            .await?;
    Ok(found.is_some())
}

/// Messages and notes on CRM records, written after everything else with no random draw. Jeanne
/// has 1 and 3 (on her contact 1; 3 is also hers by its author: one record, two paths), 4 (on
/// her order 1) and 6 (on her old contact 2). Message 2 is on *company* 2, the other Jeanne's
/// brasserie, whose id equals her old contact's: a `via` without `model = 'contacts'` would hand
/// it to her. Message 5 is on Paul's contact.
pub(super) async fn messages(crm: &mut Tx<'_>) -> anyhow::Result<()> {
    let agent = "Sophie Bernard <sophie.bernard@shop.example.fr>";
    let rows: [(&str, i64, &str, &str, &str); 6] = [
        ("contacts", 1, agent, "2023-02-20T10:30:00Z", "Prefers deliveries on Tuesday mornings."),
        ("companies", 2, agent, "2024-01-08T09:00:00Z", "Wholesale contract to renew in March; ask for the new menu."),
        (
            "contacts",
            1,
            "Jeanne Martin <jeanne.martin@example.fr>",
            "2024-09-20T15:32:00Z",
            "Could you send me the invoice for order CMD-2023-00001 again?",
        ),
        ("orders", 1, agent, "2023-03-06T11:15:00Z", "Delivery delayed by the carrier; customer informed by phone."),
        ("contacts", 3, agent, "2024-05-14T16:00:00Z", "Asked for the autumn catalogue."),
        ("contacts", 2, agent, "2021-02-14T10:00:00Z", "Old personal account, kept for its 2019 order."),
    ];
    for (i, (model, res_id, from, at, body)) in rows.into_iter().enumerate() {
        sqlx::query("INSERT INTO messages (id, model, res_id, email_from, written_at, body) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(i64::try_from(i + 1)?)
            .bind(model)
            .bind(res_id)
            .bind(from)
            .bind(at)
            .bind(body)
            .execute(&mut **crm)
            .await?;
    }
    Ok(())
}

/// Added after the first demos were created, at the end of `contacts` in [`CRM_SCHEMA`]: the
/// person's objection to satisfaction surveys (GDPR Art. 21(1)) and the restriction marker
/// (Art. 18). [`super::create_demo_crm`] adds them to an older `crm.db` too.
pub const CONTACT_MARKERS: &str = "
ALTER TABLE contacts ADD COLUMN no_surveys INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;
";

/// Whether the demo CRM's contacts have the columns of [`CONTACT_MARKERS`].
pub(super) async fn has_contact_markers(crm: &mut sqlx::SqliteConnection) -> anyhow::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('contacts') WHERE name = 'restricted'")
            .fetch_optional(&mut *crm)
            .await?;
    Ok(found.is_some())
}

/// Whether the demo CRM has the quote requests table (a demo created before it had not).
pub(super) async fn has_quote_requests(crm: &mut sqlx::SqliteConnection) -> anyhow::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'quote_requests'")
            .fetch_optional(&mut *crm)
            .await?;
    Ok(found.is_some())
}

/// The website's quote form, as its mail gateway stored it: the sender with a display name
/// (`email_formats`: "address"), the addresses copied as a list (`email_formats`: "list"). Written
/// after the generated people, with no random draw, so their content does not change. Jeanne has
/// rows 1 (her own request) and 3 (sent from her bookshop's mailbox, her in copy); row 2 is the
/// other Jeanne's, under the same quoted display name; row 4 is Oliver's. (No row holds a
/// look-alike that contains Jeanne's address: the fault tests check that her address is nowhere
/// in the sources after her erasure; the connector tests cover those traps.)
pub(super) async fn quote_requests(crm: &mut Tx<'_>) -> anyhow::Result<()> {
    let rows: [(&str, &str, Option<&str>, &str); 4] = [
        (
            "2024-02-12T10:04:00Z",
            "Jeanne Martin <jeanne.martin@example.fr>",
            None,
            "Devis : 40 exemplaires, rentrée littéraire",
        ),
        ("2024-03-01T16:20:00Z", "\"Martin, Jeanne\" <jeanne.martin@example.com>", None, "Devis : présentoir"),
        (
            "2024-09-18T08:47:00Z",
            "Librairie du Marais <contact@librairie-marais.example>",
            Some("compta@librairie-marais.example; \"Martin, Jeanne\" <Jeanne.Martin@example.fr>"),
            "Devis : commande de Noël",
        ),
        (
            "2024-10-02T14:12:00Z",
            "Oliver Smith <oliver.smith@example.co.uk>",
            Some("mailto:accounts@smith-books.example"),
            "Quote: English titles for the autumn",
        ),
    ];
    for (i, (at, by, copy, subject)) in rows.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO quote_requests (id, received_at, requested_by, copy_to, subject) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(i64::try_from(i + 1)?)
        .bind(at)
        .bind(by)
        .bind(copy)
        .bind(subject)
        .execute(&mut **crm)
        .await?;
    }
    Ok(())
}
