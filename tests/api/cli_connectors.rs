//! `dossier connectors check --email E`, run as the real binary against a configuration file with
//! an SQLite and a CSV source made from the demo data; and `--suppressed`, against the store of a
//! server that erased someone.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::{TempDir, base_config, toml_str};

const BIN: &str = env!("CARGO_BIN_EXE_dossier");

fn keygen() -> String {
    let out = Command::new(BIN).arg("keygen").output().expect("dossier keygen runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A configuration with the demo CRM (two collections, one without Art. 15 information) and the
/// demo loyalty export, plus `extra` sources.
fn write_config(dir: &Path, crm: &Path, extra: &str) -> std::path::PathBuf {
    let text = base_config(&dir.join("data"))
        + &format!(
            r#"
[[sources]]
kind = "sql"
name = "crm"
url = {crm_url}

[[sources.collections]]
name = "contacts"
table = "contacts"
email_columns = ["email", "email_alt"]

[sources.collections.art15]
purposes = ["Customer relationship"]
legal_basis = "Contract (Art. 6(1)(b))"
categories = ["Identity", "Contact details"]
retention = "3 years after the last order"

[[sources.collections]]
name = "orders"
table = "orders"
via = {{ collection = "contacts", column = "contact_id", references = "id" }}

[[sources]]
kind = "csv"
name = "loyalty"
dir = {csv_dir}
delimiter = ";"
encoding = "windows-1252"

[[sources.collections]]
name = "members"
file = "adherents.csv"
email_columns = ["E-mail"]
columns = [{{ header = "N° carte", as = "card" }}, "Nom", "Prénom", {{ header = "E-mail", as = "email" }}, {{ header = "Remarque", as = "note" }}]

[sources.collections.art15]
purposes = ["Loyalty programme"]
legal_basis = "Contract (Art. 6(1)(b))"
categories = ["Identity"]

[[sources.collections]]
name = "points"
file = "mouvements_points.csv"
via = {{ collection = "members", column = "N° carte", references = "N° carte" }}

[sources.collections.art15]
purposes = ["Loyalty programme"]
legal_basis = "Contract (Art. 6(1)(b))"
categories = ["Points"]
retention = "Until 31 December 2026"
{extra}"#,
            crm_url = toml_str(&format!("sqlite://{}?mode=ro", crm.join(dossier::demo::CRM_FILE).display())),
            csv_dir = toml_str(&crm.join(dossier::demo::LOYALTY_DIR).display().to_string()),
        );
    let path = dir.join("dossier.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_check(config: &Path, email: Option<&str>) -> (Output, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["connectors", "check", "--config"]).arg(config);
    if let Some(e) = email {
        cmd.args(["--email", e]);
    }
    let out = cmd
        .env("DOSSIER_SECRET_KEY", keygen())
        .env("DOSSIER_EXPORT_KEY", keygen())
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .output()
        .expect("dossier connectors check runs");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    (out, stdout)
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn check_with_email_shows_what_access_would_return_and_changes_nothing() {
    let tmp = TempDir::new("cli-connectors");
    let crm = tmp.0.join("crm");
    dossier::demo::create_demo_crm(&crm).await.unwrap();
    // An old table whose email column has no index.
    let legacy = tmp.0.join("legacy.db");
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", legacy.display())).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
             CREATE INDEX people_email_plain ON people (email);
             INSERT INTO people VALUES (1, ' JEANNE.MARTIN@example.fr', 'J. Martin'), (2, 'paul.durand@example.fr', 'P');
             CREATE TABLE messages (id INTEGER PRIMARY KEY, cc TEXT);
             CREATE TABLE notes (id INTEGER PRIMARY KEY, model TEXT, res_id INTEGER, body TEXT);
             INSERT INTO notes VALUES (1, 'people', 1, 'hers'), (2, 'company', 1, 'not hers');
             INSERT INTO messages VALUES (1, 'Paul <paul.durand@example.fr>; \"Martin, Jeanne\" <Jeanne.Martin@example.fr>'),
               (2, 'annejeanne.martin@example.fr, jeanne.martin@example.fr.com');",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let sources_files = || {
        let mut files = snapshot(&crm);
        files.push((legacy.clone(), std::fs::read(&legacy).unwrap()));
        files
    };
    let before = sources_files();
    let extra = format!(
        r#"
[[sources]]
kind = "sql"
name = "legacy"
url = {url}

[[sources.collections]]
name = "people"
table = "people"
email_columns = ["email"]

[[sources.collections]]
name = "messages"
table = "messages"
email_columns = ["cc"]
email_formats = {{ cc = "list" }}
columns = ["id"]

[[sources.collections]]
name = "notes"
table = "notes"
via = {{ collection = "people", column = "res_id", references = "id", where = "model = 'people'" }}
columns = ["id"]
"#,
        url = toml_str(&format!("sqlite://{}?mode=ro", legacy.display()))
    );
    let config = write_config(&tmp.0, &crm, &extra);

    let (out, stdout) = run_check(&config, Some("  Jeanne.Martin@EXAMPLE.fr"));
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    let expected_in_order = [
        "Checking 3 sources, and what an access request for jeanne.martin@example.fr would return.",
        "ok    crm (sql)",
        "      326 rows in table contacts (collection contacts)",
        "      warning: collection orders has no Art. 15 information (purposes, legal basis, categories, retention): \
         the person's export and /privacy will say nothing about it",
        "      access for jeanne.martin@example.fr:",
        "        contacts: 2 records",
        "          sample:",
        "        orders: 4 records",
        "ok    loyalty (csv)",
        "      10 rows in adherents.csv (collection members), 1 broken row skipped",
        "      warning: adherents.csv line 11: 6 fields where the header has 8; the row is skipped",
        "      12 rows in mouvements_points.csv (collection points)",
        "      warning: collection members: its Art. 15 information lacks retention",
        "      access for jeanne.martin@example.fr:",
        "        members: 2 records",
        "          sample:",
        "            card: \"70001\"",
        "            Prénom: \"Jeanne\"",
        "            note: null",
        "        points: 5 records",
        "            N° carte: \"70001\"",
        "ok    legacy (sql)",
        "      2 rows in table people (collection people)",
        "      warning: collection people has no Art. 15 information (purposes, legal basis, categories, retention): \
         the person's export and /privacy will say nothing about it",
        "      warning: collection people: no index serves the email column email of table people, so every request \
         reads the whole table; add one: CREATE INDEX people_email_lower ON people (LOWER(TRIM(email)))",
        "      warning: collection messages: no index serves the email column cc of table messages, so every \
         request reads the whole table; its values hold addresses inside them (email_formats), which SQLite \
         cannot index, so the search time grows with the table; if that is too slow, keep a lookup table with \
         one row per address, filled by triggers on messages, and search it as a normalised_email_columns \
         collection (docs/connectors.md, \"Address formats\")",
        "      warning: collection notes: no index serves the reference column res_id of table notes (`via`), so \
         every request reads the whole table; add one: CREATE INDEX notes_res_id ON notes (res_id) (with a \
         polymorphic reference, index the type column too: (res_id, <type column>))",
        "      access for jeanne.martin@example.fr:",
        "        people: 1 record",
        "        messages: 1 record",
        "        notes: 1 record",
        "All 3 sources answered.",
        "Nothing was changed: this check only reads from the sources.",
    ];
    let mut at = 0;
    for expected in expected_in_order {
        match lines[at..].iter().position(|l| *l == expected) {
            Some(i) => at += i + 1,
            None => panic!("missing, or out of order: {expected:?}\n{stdout}"),
        }
    }
    assert!(!stdout.contains("no index serves the email column email of table contacts"), "indexed: {stdout}");
    for other in ["jeanne.martin@example.com", "jeanne.martin2@example.fr", "Paul", "Hélène"] {
        assert!(!stdout.contains(other), "{other} shown in Jeanne's preview:\n{stdout}");
    }
    assert!(sources_files() == before, "the check changed a source file");

    // Without --email: the counts and warnings only.
    let (out, stdout) = run_check(&config, None);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("Checking 3 sources.\n"), "{stdout}");
    assert!(!stdout.contains("access for"), "{stdout}");
}

#[tokio::test]
async fn a_failing_source_is_named_the_others_still_checked_and_the_exit_code_is_1() {
    let tmp = TempDir::new("cli-connectors-fail");
    let crm = tmp.0.join("crm");
    dossier::demo::create_demo_crm(&crm).await.unwrap();
    let extra = format!(
        r#"
[[sources]]
kind = "csv"
name = "events"
dir = {dir}

[[sources.collections]]
name = "registrations"
file = "inscriptions.csv"
email_columns = ["email"]
"#,
        dir = toml_str(&crm.display().to_string())
    );
    let config = write_config(&tmp.0, &crm, &extra);
    let (out, stdout) = run_check(&config, Some("jeanne.martin@example.fr"));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok    crm (sql)") && stdout.contains("ok    loyalty (csv)"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "FAIL  events (csv): file inscriptions.csv not found in folder {} (collection registrations, source events)",
            crm.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("1 of 3 sources failed.\nNothing was changed"), "{stdout}");

    // A bad address is refused before anything is read.
    let (out, _) = run_check(&config, Some("not-an-address"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"), "{}", String::from_utf8_lossy(&out.stderr));
}

// ---------------------------------------------------------------------------------------------
// `--suppressed`: people erased earlier who are back in a source.

const JEANNE: &str = "jeanne.martin@example.fr";

/// Jeanne's erasure, taken through the pages to `completed` on an in-process server: verified by
/// the emailed link, the plan confirmed, approved as a whole by a staff member. Returns its
/// reference.
async fn erase_jeanne(app: &crate::helpers::TestApp) -> String {
    let status = app.request_awaiting_review(JEANNE, "erasure").await;
    let reference = status.rsplit('/').next().unwrap_or_default().to_owned();
    app.add_staff("agent@exemple.test", dossier::domain::Role::Agent).await;
    app.staff_login("agent@exemple.test").await;
    let res = app.staff_act(&reference, "review", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("done=review"), "{}", res.location());
    app.run_pending_jobs().await;
    app.forget_cookies();
    assert_eq!(app.request_status(&reference).await, "completed");
    assert_eq!(app.unfinished_jobs().await, 0);
    reference
}

/// The real binary on the server's own store and demo sources, with the server's secret key (the
/// keyed hashes of erased addresses only compare under it).
fn run_suppressed(app: &crate::helpers::TestApp, dir: &Path) -> (Output, String) {
    let crm = app.data_dir().join("crm");
    let crm = crm.to_str().expect("a UTF-8 temporary path");
    let sources =
        include_str!("../../src/demo/sources.toml").replace("{{DEMO_DIR}}", crm).replace("{{DEMO_PATH}}", crm);
    let store = format!("sqlite://{}?mode=rw", app.data_dir().join("dossier.db").display());
    let text = format!("database_url = {}\n{}\n{sources}", toml_str(&store), base_config(&dir.join("data")));
    let config = dir.join("dossier.toml");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(BIN)
        .args(["connectors", "check", "--suppressed", "--config"])
        .arg(&config)
        .env("DOSSIER_SECRET_KEY", app.app.settings.secret_key.to_base64())
        .env("DOSSIER_EXPORT_KEY", keygen())
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .output()
        .expect("dossier connectors check runs");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)).to_lowercase();
    assert!(!all.contains(JEANNE), "the address in clear:\n{stdout}");
    (out, stdout)
}

/// After Jeanne's erasure completed, nothing of her is found; once an import brings her contact
/// back (other case, a trailing space), the check names the source, the masked address and the
/// erasure's reference, and fails.
#[actix_web::test]
async fn check_suppressed_finds_an_erased_person_imported_again() {
    let app = crate::helpers::spawn_with(crate::helpers::Options::default()).await.unwrap();
    let reference = erase_jeanne(&app).await;
    let tmp = TempDir::new("cli-suppressed");

    let before = snapshot(&app.data_dir().join("crm"));
    let (out, stdout) = run_suppressed(&app, &tmp.0);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(snapshot(&app.data_dir().join("crm")) == before, "the check changed a source file");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("Looking for the 1 ")), "one person erased:\n{stdout}");
    for expected in [
        "All 3 sources answered.",
        "ok    crm: none of them is in this source",
        "ok    newsletter: none of them is in this source",
        "ok    loyalty: none of them is in this source",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?}:\n{stdout}");
    }
    assert!(!stdout.contains("FOUND"), "{stdout}");

    // An import brings her contact back into the CRM, in another case and with a trailing space.
    {
        use sqlx::Connection;
        let crm = app.data_dir().join("crm").join(dossier::demo::CRM_FILE);
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rw", crm.display())).await.unwrap();
        sqlx::query(
            "INSERT INTO contacts (first_name, last_name, email, preferred_language, created_at) \
             VALUES ('Jeanne', 'Martin', 'Jeanne.Martin@Example.fr ', 'fr', '2026-03-11')",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let (out, stdout) = run_suppressed(&app, &tmp.0);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    let found =
        lines.iter().position(|l| l.starts_with("FOUND crm")).unwrap_or_else(|| panic!("no FOUND crm:\n{stdout}"));
    assert_eq!(lines[found], "FOUND crm: 1 erased person is back in this source:", "{stdout}");
    assert_eq!(
        lines.get(found + 1).copied(),
        Some(format!("      j*****.m*****@e******.f* (erased by request {reference})").as_str()),
        "{stdout}"
    );
    for expected in
        ["ok    newsletter: none of them is in this source", "ok    loyalty: none of them is in this source"]
    {
        assert!(lines.contains(&expected), "missing {expected:?}:\n{stdout}");
    }
    assert_eq!(stdout.matches("FOUND").count(), 1, "{stdout}");
}
