//! The presets of `examples/presets/` against the fixtures of `tests/fixtures/presets/`, on the
//! database each product runs on: the exact rows each planted person gets, no more, no fewer
//! (README.md of the fixtures lists them, with the traps each one sets).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, Connection};

use super::tests::{TestDb, VecSink, subject};
use super::*;

/// The preset's source, pointed at `url`.
fn preset(file: &str, url: &str) -> SqlSourceConfig {
    let path = format!("{}/examples/presets/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    #[derive(Deserialize)]
    struct File {
        sources: Vec<crate::connectors::SourceConfig>,
    }
    let mut file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let crate::connectors::SourceConfig::Sql(mut source) = file.sources.remove(0) else {
        panic!("{path}: not an SQL source")
    };
    source.url_env = None;
    source.url = Some(url.to_string());
    source
}

/// Every row `email` gets, as table → key values (the key's single column).
async fn rows_of(config: &SqlSourceConfig, email: &str) -> BTreeMap<String, BTreeSet<String>> {
    let connector = SqlConnector::new(config.clone()).unwrap();
    let mut sink = VecSink::default();
    connector.collect(&subject(email), &mut sink).await.unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (collection, _, records) in sink.collections {
        let c = config.collections.iter().find(|c| c.name == collection).unwrap();
        let ids = out.entry(c.table.clone()).or_default();
        for r in records {
            let values: Vec<String> = c
                .key
                .iter()
                .map(|k| r.get(k).unwrap_or_else(|| panic!("{collection}: no {k} in {r:?}")).to_string())
                .collect();
            let id = if values.len() == 1 { values[0].clone() } else { format!("({})", values.join(", ")) };
            assert!(ids.insert(id.clone()), "{} row {id} exported twice for {email}", c.table);
        }
    }
    out
}

fn expect(rows: &[(&str, &[i64])]) -> BTreeMap<String, BTreeSet<String>> {
    rows.iter().map(|(t, ids)| (t.to_string(), ids.iter().map(i64::to_string).collect())).collect()
}

/// Like [`expect`], for tables keyed by two columns (Odoo's relation tables).
fn expect_pairs(rows: &[(&str, &[i64])], pairs: &[(&str, &[(i64, i64)])]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = expect(rows);
    for (t, keys) in pairs {
        out.insert(t.to_string(), keys.iter().map(|(a, b)| format!("({a}, {b})")).collect());
    }
    out
}

#[tokio::test]
async fn dolibarr_20_preset_finds_exactly_each_persons_rows() {
    let Some(db) = TestDb::mysql_if_configured().await else { return };
    let fixture = include_str!("../../../tests/fixtures/presets/dolibarr20.mariadb.sql");
    let mut c = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(fixture)).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    let config = preset("dolibarr20.toml", &db.url);

    let cases = [
        (
            "marie@x.fr",
            expect(&[
                ("llx_socpeople", &[101]),
                ("llx_socpeople_extrafields", &[1]),
                ("llx_societe_contacts", &[1]),
                // Not 2 or 4: staff user 101 on the same documents.
                ("llx_element_contact", &[1, 5]),
                ("llx_propal", &[7]),
                // Not 7: Garage Moreau's invoice with the same number as her proposal.
                ("llx_facture", &[8]),
                // Event 1 is reached three ways, once; not 2, 8 (annemarie@), 9 or 13 (staff).
                ("llx_actioncomm", &[1, 3, 4, 5, 12]),
                ("llx_actioncomm_resources", &[1]),
                ("llx_mailing_cibles", &[1, 5]),
            ]),
        ),
        (
            "élodie@exemple.fr",
            expect(&[("llx_socpeople", &[102]), ("llx_actioncomm", &[4, 7]), ("llx_mailing_cibles", &[3])]),
        ),
        (
            "elodie@exemple.fr",
            expect(&[
                ("llx_socpeople", &[103]),
                ("llx_element_contact", &[6]),
                ("llx_commande", &[8]),
                ("llx_actioncomm", &[6]),
                ("llx_mailing_cibles", &[2]),
            ]),
        ),
        (
            "accueil@boulangerie-roux.fr",
            expect(&[
                ("llx_socpeople", &[104, 105]),
                ("llx_element_contact", &[7]),
                ("llx_propal", &[9]),
                ("llx_actioncomm", &[11]),
                ("llx_mailing_cibles", &[4]),
            ]),
        ),
        (
            "jean.petit@exemple.org",
            expect(&[
                ("llx_societe", &[13]),
                ("llx_socpeople", &[106]),
                ("llx_element_contact", &[8]),
                ("llx_facture", &[20, 21, 22, 23, 24]),
                ("llx_commande", &[20, 21]),
                ("llx_actioncomm", &[10]),
            ]),
        ),
    ];
    for (email, expected) in cases {
        assert_eq!(rows_of(&config, email).await, expected, "{email}");
    }
    // A staff member's own request finds what holds her address (the mails she sent, her emailing
    // target), never the staff rows that share a contact's number (user 101 = contact 101).
    assert_eq!(
        rows_of(&config, "sophie@notre-societe.fr").await,
        expect(&[("llx_actioncomm", &[1, 2, 4, 7, 8, 10, 11]), ("llx_mailing_cibles", &[7])])
    );
    // Nothing for someone unknown.
    assert_eq!(rows_of(&config, "nobody@example.org").await, expect(&[]));
    db.drop_db().await;
}

#[tokio::test]
async fn odoo_17_preset_finds_exactly_each_persons_rows() {
    let Some(db) = TestDb::postgres_if_configured().await else { return };
    let fixture = include_str!("../../../tests/fixtures/presets/odoo17.postgres.sql");
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(fixture)).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    let config = preset("odoo17.toml", &db.url);

    let marie = expect_pairs(
        &[
            // Not 20 (same name), not staff partners; her `email` is "Marie Lefèvre <marie@x.fr>".
            ("res_partner", &[11]),
            // Her portal login; not user 11 (staff, whose id equals her partner id).
            ("res_users", &[8]),
            // 15 only names her in copy.
            ("crm_lead", &[12, 15]),
            ("sale_order", &[12]),
            // Not 2 (lead 11), 3 (order 11), 12 (channel 11), 14 (annemarie@) or 15 (lead 15's chatter).
            ("mail_message", &[1, 4, 5, 13]),
            ("mail_notification", &[1]),
            ("mail_mail", &[1, 2]),
            ("mail_followers", &[1, 2, 6]),
            ("mail_activity", &[1, 3]),
            // Not 2 (lead 11) or 7 (channel 11).
            ("ir_attachment", &[1, 3, 6, 8]),
            ("mailing_contact", &[1]),
            ("mailing_subscription", &[1, 6]),
            ("mailing_trace", &[1, 3]),
        ],
        &[
            ("mail_message_res_partner_rel", &[(5, 11)]),
            ("message_attachment_rel", &[(4, 8)]),
            ("mail_mail_res_partner_rel", &[(1, 11)]),
        ],
    );
    let elodie_martin = expect(&[
        ("res_partner", &[12]),
        ("crm_lead", &[13]),
        ("mail_message", &[6, 7]),
        ("mail_mail", &[6]),
        ("mailing_contact", &[3]),
        ("mailing_subscription", &[3]),
        ("mailing_trace", &[4]),
    ]);
    let elodie_bernard = expect(&[
        ("res_partner", &[13]),
        ("mail_message", &[8]),
        ("mailing_contact", &[4]),
        ("mailing_subscription", &[4]),
        ("mailing_trace", &[6]),
    ]);
    let roux = expect(&[
        ("res_partner", &[15, 16]),
        ("mail_message", &[9]),
        ("mail_mail", &[5]),
        ("mail_followers", &[7, 8]),
        ("mailing_contact", &[5]),
        ("mailing_subscription", &[5]),
    ]);
    let jean = expect_pairs(
        &[
            ("res_partner", &[17]),
            ("sale_order", &[13, 14]),
            ("account_move", &[20, 21, 22, 23, 24, 25]),
            ("mail_message", &[10, 11, 16]),
            ("mail_notification", &[3]),
            ("mail_mail", &[3]),
            ("mail_followers", &[9, 10]),
            ("mail_activity", &[4]),
            ("ir_attachment", &[4, 5]),
        ],
        &[("mail_message_res_partner_rel", &[(10, 17)]), ("mail_mail_res_partner_rel", &[(3, 17)])],
    );
    for (email, expected) in [
        ("marie@x.fr", marie),
        ("élodie@exemple.fr", elodie_martin),
        ("elodie@exemple.fr", elodie_bernard),
        ("accueil@boulangerie-roux.fr", roux),
        ("jean.petit@exemple.org", jean),
    ] {
        assert_eq!(rows_of(&config, email).await, expected, "{email}");
    }
    assert_eq!(rows_of(&config, "nobody@example.org").await, expect(&[]));
    db.drop_db().await;
}
