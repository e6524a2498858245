//! The demo events service, through the webhook connector configured as the demo configures it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::*;
use crate::connectors::webhook::WebhookConnector;
use crate::connectors::{Connector, ConnectorErrorKind, Record, Subject};
use crate::crypto::SecretKey;
use crate::demo::tests::Sink;
use crate::domain::EmailAddress;
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{self, FieldWrite, Step, erasure};

const TOKEN: &str = "demo-events-test-token";

struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Self {
        TempDir(std::env::temp_dir().join(format!("dossier_events_{:016x}", rand::random::<u64>())))
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database in a fresh folder, the service on a free port, and the connector built from the
/// demo's own source configuration with the token in `events.token`.
struct Demo {
    dir: TempDir,
    service: EventsService,
    connector: WebhookConnector,
}

impl Demo {
    async fn start() -> Demo {
        let dir = TempDir::new();
        let db = create_database(&dir.0).await.unwrap();
        let service = start(&db, SecretString::from(TOKEN)).await.unwrap();
        let token_file = dir.0.join(TOKEN_FILE);
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let connector = connector(&service, &token_file);
        Demo { dir, service, connector }
    }

    /// Every row of both tables, by table, as JSON, straight from the database.
    async fn rows(&self) -> BTreeMap<&'static str, Vec<Map<String, Value>>> {
        let mut conn =
            SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(self.dir.0.join(EVENTS_FILE)))
                .await
                .unwrap();
        let mut out = BTreeMap::new();
        for c in COLLECTIONS {
            let sql = format!("SELECT {} FROM {} ORDER BY id", json_object(c.fields), c.name);
            out.insert(c.name, objects(&mut conn, sql, &[]).await.unwrap());
        }
        out
    }
}

fn connector(service: &EventsService, token_file: &Path) -> WebhookConnector {
    let SourceConfig::Webhook(config) = source(&service.base_url(), token_file).unwrap() else {
        panic!("the events source is a webhook source")
    };
    WebhookConnector::new(config).unwrap()
}

fn subject(email: &str) -> Subject {
    Subject { email: EmailAddress::parse(email).unwrap() }
}

async fn collect(c: &WebhookConnector, email: &str) -> BTreeMap<String, Vec<Record>> {
    let mut sink = Sink::default();
    c.collect(&subject(email), &mut sink).await.unwrap();
    sink.records
}

const JEANNE: &str = "jeanne.martin@example.fr";

#[tokio::test]
async fn the_service_answers_the_check_and_each_persons_records_only() {
    let demo = Demo::start().await;
    let c = &demo.connector;
    let report = c.check().await.unwrap();
    assert_eq!(
        report.notes,
        [format!("{} answers dossier-connector/1 and serves attendees, registrations", demo.service.base_url())]
    );
    for info in &c.info().collections {
        let art15 = &info.art15;
        assert!(!art15.purposes.is_empty() && art15.legal_basis.is_some(), "{}", info.name);
        assert!(art15.retention.is_some() && art15.origin.is_some() && !art15.recipients.is_empty(), "{}", info.name);
    }

    let jeanne = collect(c, "  Jeanne.Martin@EXAMPLE.fr").await;
    let attendees = &jeanne["attendees"];
    assert_eq!(attendees.len(), 1);
    let fields: Vec<&str> = attendees[0].keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        ["id", "email", "full_name", "company", "dietary_requirements", "badge_printed_at", "marketing_opt_out"]
    );
    assert_eq!(attendees[0]["id"], Value::from(1), "numbers stay numbers");
    assert_eq!(attendees[0]["email"], Value::from(JEANNE));
    assert_eq!(attendees[0]["dietary_requirements"], Value::from("Végétarienne"));
    let registrations = &jeanne["registrations"];
    assert_eq!(registrations.len(), 3);
    assert!(registrations.iter().all(|r| r["attendee_id"] == 1));
    let all = serde_json::to_string(&jeanne).unwrap();
    assert!(!all.contains("example.com") && !all.contains("Atelier Martin"), "the other Jeanne Martin leaked");

    let oliver = collect(c, "oliver.smith@example.co.uk").await;
    assert_eq!((oliver["attendees"].len(), oliver["registrations"].len()), (1, 1));
    assert!(collect(c, "nobody@example.org").await.is_empty());

    // Every address, trimmed and lower-cased by the connector.
    let mut found = Vec::new();
    c.emails(&mut |e: &str| found.push(e.to_string())).await.unwrap();
    assert_eq!(found.len(), 43);
    assert!(found.contains(&"oliver.smith@example.co.uk".to_string()), "{found:?}");
    assert!(found.iter().all(|e| e.trim() == e && e.to_lowercase() == *e && e.contains("@example.")));
    demo.service.stop().await;
}

#[tokio::test]
async fn erasing_jeanne_changes_her_rows_only_and_twice_is_once() {
    let demo = Demo::start().await;
    let c = &demo.connector;
    let before = demo.rows().await;
    let today = time::macros::date!(2026 - 01 - 15);
    let plan = |located: Vec<plans::Located>| -> Vec<Step> {
        located
            .into_iter()
            .filter_map(|l| {
                let rules = &c.info().collection(&l.collection).unwrap().rules;
                let change = erasure::plan(rules, &l, today, Default::default()).change()?;
                Some(Step { collection: l.collection, key: l.key, change })
            })
            .collect()
    };
    let steps = plan(c.locate(&subject(JEANNE)).await.unwrap());
    assert_eq!(steps.len(), 4, "her attendee record and 3 registrations: {steps:?}");
    let pseudonymiser = Pseudonymiser::new(SecretKey::generate());
    let outcomes = c.execute(&steps, &pseudonymiser).await.unwrap();
    assert!(outcomes.iter().all(|o| o.found), "{outcomes:?}");
    let attendee = outcomes.iter().find_map(|o| o.after.as_ref()).unwrap();
    assert_eq!(attendee.len(), 4, "every anonymised field read back as written: {attendee:?}");

    let after = demo.rows().await;
    let jeanne = &after["attendees"][0];
    assert_eq!(jeanne["id"], Value::from(1));
    // Anonymised by unlinking: the address is cleared, never replaced by a pseudonym.
    for field in ["email", "full_name", "company", "dietary_requirements"] {
        assert_eq!(jeanne[field], Value::Null, "{field}");
    }
    assert_eq!(jeanne["badge_printed_at"], before["attendees"][0]["badge_printed_at"], "not in the rule: kept");
    assert_eq!(after["attendees"][1..], before["attendees"][1..], "nobody else's record changed");
    let others: Vec<_> = before["registrations"].iter().filter(|r| r["attendee_id"] != 1).collect();
    assert_eq!(after["registrations"].iter().collect::<Vec<_>>(), others, "exactly her registrations deleted");
    assert!(collect(c, JEANNE).await.is_empty(), "nothing is found for her any more");

    // The same call again (a retry after a crash): the same result, reported as already applied.
    let again = c.execute(&steps, &pseudonymiser).await.unwrap();
    assert_eq!(again.iter().filter(|o| o.found).count(), 1, "only the update finds its record: {again:?}");
    assert_eq!(demo.rows().await, after);
    demo.service.stop().await;
}

#[tokio::test]
async fn objection_and_rectification_write_the_configured_fields() {
    let demo = Demo::start().await;
    let c = &demo.connector;
    let rules = &c.info().collection("attendees").unwrap().rules;
    assert_eq!(rules.rectifiable.iter().map(|r| r.field.as_str()).collect::<Vec<_>>(), ["full_name", "company"]);
    let located = c.locate(&subject("oliver.smith@example.co.uk")).await.unwrap();
    let oliver = located.iter().find(|l| l.collection == "attendees").unwrap();
    assert_eq!(oliver.values["full_name"], Value::from("Oliver Smith"));
    let objection = rules.objections[0].set.iter().map(|(f, v)| (f.clone(), FieldWrite::Value(v.clone())));
    let rectification = [("company".to_string(), FieldWrite::Value(Value::from("Smith & Sons Ltd")))];
    let step = Step {
        collection: "attendees".into(),
        key: oliver.key.clone(),
        change: plans::Change::Update(objection.chain(rectification).collect()),
    };
    let pseudonymiser = Pseudonymiser::new(SecretKey::generate());
    let outcome = c.execute(&[step], &pseudonymiser).await.unwrap().remove(0);
    let after = outcome.after.unwrap();
    assert_eq!(
        (after["marketing_opt_out"].clone(), after["company"].clone()),
        (Value::from(1), Value::from("Smith & Sons Ltd"))
    );
    demo.service.stop().await;
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_a_clear_sentence() {
    let demo = Demo::start().await;
    let wrong = demo.dir.0.join("wrong.token");
    std::fs::write(&wrong, "not-the-token").unwrap();
    let e = connector(&demo.service, &wrong).check().await.unwrap_err();
    assert_eq!(e.kind, ConnectorErrorKind::Misconfigured);
    assert!(
        e.message.contains("source events refused Dossier's token (HTTP 401 on /health): \"missing or wrong token\""),
        "{e}"
    );
    assert!(e.message.contains(&format!("check that the file {} holds the token", wrong.display())), "{e}");
    assert!(!e.message.contains("not-the-token"));
    // Unknown paths and malformed calls get the protocol's error document too.
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let bearer = format!("Bearer {TOKEN}");
    let mut r =
        agent.get(format!("{}/nowhere", demo.service.base_url())).header("Authorization", &bearer).call().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.body_mut().read_to_string().unwrap(), r#"{"error":"nothing at GET /nowhere"}"#);
    let mut r = agent
        .post(format!("{}/locate", demo.service.base_url()))
        .header("Authorization", &bearer)
        .header("Content-Type", "application/json")
        .send(json!({"email": JEANNE, "collections": {"attendees": {"key": ["id"], "fields": ["phone"]}}}).to_string())
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.body_mut().read_to_string().unwrap(), r#"{"error":"collection attendees has no field phone"}"#);
    demo.service.stop().await;
}

#[tokio::test]
async fn the_database_is_created_once_and_the_demo_source_reads_its_token_file() {
    let dir = TempDir::new();
    let db = create_database(&dir.0).await.unwrap();
    let bytes = std::fs::read(&db).unwrap();
    create_database(&dir.0).await.unwrap();
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "left untouched");
    let other = TempDir::new();
    assert_eq!(std::fs::read(create_database(&other.0).await.unwrap()).unwrap(), bytes, "same seed, same bytes");

    let source = start_demo(&dir.0).await.unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    let token_file = dir.0.join(TOKEN_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let SourceConfig::Webhook(config) = source else { panic!("a webhook source") };
    assert_eq!(config.token_file.as_deref(), Some(token_file.as_path()));
    let c = WebhookConnector::new(config).unwrap();
    c.check().await.unwrap();
    assert_eq!(collect(&c, JEANNE).await["registrations"].len(), 3);
}
