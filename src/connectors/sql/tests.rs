//! Tests of the SQL connector: always on a temporary SQLite file; on PostgreSQL and MariaDB/MySQL
//! when `DOSSIER_TEST_POSTGRES_URL` / `DOSSIER_TEST_MYSQL_URL` are set (each test gets a fresh,
//! randomly named database, dropped afterwards). With `DOSSIER_TEST_REQUIRE_SERVICES=1` (CI), an
//! unset variable fails the test instead of skipping it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use futures_util::FutureExt;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};

use super::*;
use crate::connectors::{RecordSink, Subject, build};
use crate::domain::EmailAddress;

// ---------------------------------------------------------------------------------------------
// Harness

/// A fresh database for one test.
pub(crate) struct TestDb {
    pub dialect: Dialect,
    pub url: String,
    admin_url: Option<String>,
    name: String,
    file: Option<PathBuf>,
}

fn unique_name() -> String {
    format!("dossier_t_{:016x}", rand::random::<u64>())
}

fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("DOSSIER_TEST_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{var} is not set but DOSSIER_TEST_REQUIRE_SERVICES=1: the test must not be skipped");
            }
            eprintln!("skipped: {var} is not set (set it to run this test against that database)");
            None
        }
    }
}

/// `scheme://user@host:port/db?params` with `db` replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..].find('/').map(|i| i + after_scheme).unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let name = unique_name();
        let file = std::env::temp_dir().join(format!("{name}.db"));
        let url = format!("sqlite://{}?mode=rwc", file.display());
        // Create the file (the connector itself never creates a database).
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("PRAGMA user_version = 1").execute(&mut c).await.unwrap();
        c.close().await.unwrap();
        TestDb { dialect: Dialect::Sqlite, url, admin_url: None, name, file: Some(file) }
    }

    async fn postgres(admin: String) -> TestDb {
        let name = unique_name();
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
        let url = with_database(&admin, &name);
        TestDb { dialect: Dialect::Postgres, url, admin_url: Some(admin), name, file: None }
    }

    async fn mysql(admin: String) -> TestDb {
        let name = unique_name();
        let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4")))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let url = with_database(&admin, &name);
        TestDb { dialect: Dialect::MySql, url, admin_url: Some(admin), name, file: None }
    }

    async fn drop_db(self) {
        match self.dialect {
            Dialect::Sqlite => {
                if let Some(f) = &self.file {
                    let _ = std::fs::remove_file(f);
                    let _ = std::fs::remove_file(f.with_extension("db-wal"));
                    let _ = std::fs::remove_file(f.with_extension("db-shm"));
                }
            }
            Dialect::Postgres => {
                if let Some(admin) = &self.admin_url
                    && let Ok(mut c) = sqlx::PgConnection::connect(admin).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut c).await;
                }
            }
            Dialect::MySql => {
                if let Some(admin) = &self.admin_url
                    && let Ok(mut c) = sqlx::MySqlConnection::connect(admin).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut c).await;
                }
            }
        }
    }

    /// Runs statements (`;`-separated, with the dialect's tokens replaced) on this database.
    pub async fn exec(&self, script: &str) {
        let script = self.dialect_sql(script);
        let statements: Vec<&str> = script.split(";\n").map(str::trim).filter(|s| !s.is_empty()).collect();
        macro_rules! run {
            ($conn:ty) => {{
                let mut c = <$conn>::connect(&self.url).await.unwrap();
                for s in &statements {
                    sqlx::raw_sql(AssertSqlSafe(s.to_string()))
                        .execute(&mut c)
                        .await
                        .unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                c.close().await.unwrap();
            }};
        }
        match self.dialect {
            Dialect::Sqlite => run!(sqlx::SqliteConnection),
            Dialect::Postgres => run!(sqlx::PgConnection),
            Dialect::MySql => run!(sqlx::MySqlConnection),
        }
    }

    fn dialect_sql(&self, sql: &str) -> String {
        let tokens: &[(&str, &str, &str, &str)] = &[
            // token, PostgreSQL, MySQL, SQLite
            ("{INT}", "BIGINT", "BIGINT", "INTEGER"),
            ("{TEXT}", "TEXT", "VARCHAR(255)", "TEXT"),
            ("{DEC}", "NUMERIC(20,2)", "DECIMAL(20,2)", "TEXT"),
            ("{DATE}", "DATE", "DATE", "TEXT"),
            ("{TS}", "TIMESTAMP", "DATETIME", "TEXT"),
            ("{TSTZ}", "TIMESTAMPTZ", "TIMESTAMP NULL", "TEXT"),
            ("{BLOB}", "BYTEA", "LONGBLOB", "BLOB"),
            ("{JSON}", "JSONB", "JSON", "TEXT"),
            ("{BOOL}", "BOOLEAN", "BOOLEAN", "BOOLEAN"),
            ("{FLOAT}", "DOUBLE PRECISION", "DOUBLE", "REAL"),
            ("{BLOB_LIT}", "'\\x00ff10'::bytea", "X'00FF10'", "X'00FF10'"),
            ("{TS_LIT}", "'2024-03-01 08:15:30'", "'2024-03-01 08:15:30'", "'2024-03-01T08:15:30'"),
            ("{TSTZ_LIT}", "'2024-03-01 10:15:30+02'", "'2024-03-01 08:15:30'", "'2024-03-01T08:15:30Z'"),
        ];
        let mut out = sql.to_string();
        for (token, pg, my, lite) in tokens {
            let with = match self.dialect {
                Dialect::Postgres => pg,
                Dialect::MySql => my,
                Dialect::Sqlite => lite,
            };
            out = out.replace(token, with);
        }
        out
    }
}

/// Runs `test` on SQLite, then on PostgreSQL and MySQL/MariaDB when configured. The database is
/// dropped even if the test panics.
pub(crate) async fn on_each_database<F, Fut>(test: F)
where
    F: Fn(&'static TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let postgres = service_url("DOSSIER_TEST_POSTGRES_URL");
    let mysql = service_url("DOSSIER_TEST_MYSQL_URL");
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        // Each database is created just before its run, so a failure leaves none behind.
        let db = match (dialect, &postgres, &mysql) {
            (Dialect::Sqlite, _, _) => TestDb::sqlite().await,
            (Dialect::Postgres, Some(url), _) => TestDb::postgres(url.clone()).await,
            (Dialect::MySql, _, Some(url)) => TestDb::mysql(url.clone()).await,
            _ => continue,
        };
        // Leaked so that the test future may borrow it for `'static`; a few bytes per test.
        let db: &'static TestDb = Box::leak(Box::new(db));
        let outcome = AssertUnwindSafe(test(db)).catch_unwind().await;
        let owned = TestDb {
            dialect: db.dialect,
            url: db.url.clone(),
            admin_url: db.admin_url.clone(),
            name: db.name.clone(),
            file: db.file.clone(),
        };
        owned.drop_db().await;
        if let Err(panic) = outcome {
            eprintln!("failed on {:?}", db.dialect);
            std::panic::resume_unwind(panic);
        }
    }
}

/// Collects everything a connector sends, checking the sink protocol as it goes.
#[derive(Debug, Default)]
pub(crate) struct VecSink {
    pub collections: Vec<(String, Vec<String>, Vec<Record>)>,
}

impl RecordSink for VecSink {
    fn begin_collection(&mut self, collection: &str, fields: &[String]) -> anyhow::Result<()> {
        assert!(
            self.collections.iter().all(|(c, _, _)| c != collection),
            "begin_collection called twice for {collection}"
        );
        self.collections.push((collection.to_string(), fields.to_vec(), Vec::new()));
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        let Some((_, fields, records)) = self.collections.last_mut() else {
            anyhow::bail!("record before begin_collection");
        };
        assert_eq!(&record.keys().cloned().collect::<Vec<_>>(), fields);
        records.push(record);
        Ok(())
    }
}

impl VecSink {
    pub fn names(&self) -> Vec<&str> {
        self.collections.iter().map(|(c, _, _)| c.as_str()).collect()
    }

    pub fn records(&self, collection: &str) -> &[Record] {
        self.collections.iter().find(|(c, _, _)| c == collection).map(|(_, _, r)| r.as_slice()).unwrap_or(&[])
    }

    /// The sorted values of `field` in a collection (ids, as i64).
    pub fn ids(&self, collection: &str, field: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .records(collection)
            .iter()
            .map(|r| r.get(field).and_then(Value::as_i64).unwrap_or_else(|| panic!("{field} in {r:?}")))
            .collect();
        ids.sort_unstable();
        ids
    }
}

pub(crate) fn subject(email: &str) -> Subject {
    Subject { email: EmailAddress::parse(email).unwrap() }
}

fn connector(url: &str, collections: &str) -> SqlConnector {
    let toml = format!("name = \"crm\"\nurl = {}\n{collections}", toml_string(url));
    let config: SqlSourceConfig = toml::from_str(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    SqlConnector::new(config).unwrap()
}

fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

async fn collect(c: &SqlConnector, email: &str) -> VecSink {
    let mut sink = VecSink::default();
    c.collect(&subject(email), &mut sink).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause));
    sink
}

// ---------------------------------------------------------------------------------------------
// A small CRM seeded with the cases that break naive code

const SCHEMA: &str = "
CREATE TABLE companies (id {INT} PRIMARY KEY, name {TEXT} NOT NULL, vat {TEXT});
CREATE TABLE contacts (id {INT} PRIMARY KEY, company_id {INT}, name {TEXT} NOT NULL, email {TEXT}, email2 {TEXT});
CREATE TABLE orders (id {INT} PRIMARY KEY, contact_id {INT} NOT NULL, total {DEC}, ordered_on {DATE},
  created_at {TS}, paid_at {TSTZ}, receipt {BLOB}, meta {JSON}, meta_raw {JSON}, shipped {BOOL}, weight {FLOAT}, note {TEXT});
CREATE TABLE order_lines (id {INT} PRIMARY KEY, order_id {INT} NOT NULL, product {TEXT} NOT NULL, qty {INT} NOT NULL);
INSERT INTO companies (id, name, vat) VALUES (1, 'Acme', 'FR123'), (2, 'Globex', NULL);
INSERT INTO contacts (id, company_id, name, email, email2) VALUES
  (1, 1, 'Jeanne Martin', '  Jeanne.Martin@Example.FR ', NULL),
  (2, 1, 'Paul Durand', 'paul.durand@example.fr', NULL),
  (3, 2, 'J. Martin (ancien compte)', NULL, 'JEANNE.MARTIN@example.fr'),
  (4, NULL, 'Jeanne Martin-Bis', 'jeanne.martin@example.fr.com', NULL),
  (5, NULL, 'Xavier', 'xjeanne.martin@example.fr', 'jeanne.martin@example.com'),
  (6, 2, 'Jeanne Martin 2', 'jeanne.martin2@example.fr', NULL),
  (7, NULL, 'Underscore', 'jeanneXmartin@example.fr', NULL);
INSERT INTO orders (id, contact_id, total, ordered_on, created_at, paid_at, receipt, meta, meta_raw, shipped, weight, note) VALUES
  (10, 1, '12345678901234567.89', '2024-03-01', {TS_LIT}, {TSTZ_LIT}, {BLOB_LIT}, '{\"channel\": \"web\", \"items\": [1, 2]}', '{\"a\": 1}', TRUE, 1.5, NULL),
  (11, 1, '0.10', '2024-04-02', NULL, NULL, NULL, NULL, NULL, FALSE, NULL, 'rappeler'),
  (12, 3, '5.00', '2023-12-31', NULL, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (13, 2, '99.99', '2024-01-15', NULL, NULL, NULL, NULL, NULL, TRUE, NULL, 'not Jeanne''s');
INSERT INTO order_lines (id, order_id, product, qty) VALUES
  (100, 10, 'Chaise', 2), (101, 10, 'Table', 1), (102, 12, 'Lampe', 3), (103, 13, 'Bureau', 1)
";

const COLLECTIONS: &str = r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email", "email2"]

[[collections]]
name = "companies"
table = "companies"
via = { collection = "contacts", column = "id", references = "company_id" }

[[collections]]
name = "orders"
table = "orders"
via = { collection = "contacts", column = "contact_id", references = "id" }
json_columns = ["meta"]

[[collections]]
name = "order_lines"
table = "order_lines"
via = { collection = "orders", column = "order_id", references = "id" }
"#;

#[tokio::test]
async fn finds_exactly_the_subjects_rows_through_references() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let c = connector(&db.url, COLLECTIONS);
        let sink = collect(&c, "Jeanne.Martin@example.fr").await;
        assert_eq!(sink.names(), ["contacts", "companies", "orders", "order_lines"]);
        // Case and surrounding spaces ignored (1), second email column (3); look-alikes (4, 5, 6)
        // and the colleague at the same company (2) are not hers.
        assert_eq!(sink.ids("contacts", "id"), [1, 3]);
        // Many-to-one: each company once, although reached from her contact rows.
        assert_eq!(sink.ids("companies", "id"), [1, 2]);
        // One-to-many, and two hops (lines of her orders only).
        assert_eq!(sink.ids("orders", "id"), [10, 11, 12]);
        assert_eq!(sink.ids("order_lines", "id"), [100, 101, 102]);
        // The stored value is exported as stored.
        assert_eq!(sink.records("contacts")[0]["email"], json!("  Jeanne.Martin@Example.FR "));
    })
    .await;
}

#[tokio::test]
async fn similar_addresses_are_not_matched() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let c = connector(&db.url, COLLECTIONS);
        for (email, expected) in [
            ("jeanne.martin@example.com", vec![5]),
            ("jeanne.martin2@example.fr", vec![6]),
            ("jeanne.martin@example.fr.com", vec![4]),
            ("martin@example.fr", vec![]),
            // Under LIKE, `_` would match the `X` of contact 7.
            ("jeanne_martin@example.fr", vec![]),
            ("nobody@example.org", vec![]),
        ] {
            let sink = collect(&c, email).await;
            assert_eq!(sink.ids("contacts", "id"), expected, "{email}");
            if expected.is_empty() {
                assert!(sink.names().is_empty(), "{email}: no empty collection is begun");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_reference_back_is_followed_only_when_configured() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let extra = r#"
[[collections]]
name = "colleagues"
table = "contacts"
columns = ["name"]
via = { collection = "companies", column = "company_id", references = "id" }
"#;
        let c = connector(&db.url, &format!("{COLLECTIONS}{extra}"));
        let sink = collect(&c, "jeanne.martin@example.fr").await;
        assert_eq!(sink.ids("contacts", "id"), [1, 3]);
        let mut colleagues: Vec<&str> =
            sink.records("colleagues").iter().map(|r| r["name"].as_str().unwrap()).collect();
        colleagues.sort_unstable();
        assert_eq!(colleagues, ["J. Martin (ancien compte)", "Jeanne Martin", "Jeanne Martin 2", "Paul Durand"]);
        // Only the configured columns are exported.
        assert_eq!(sink.collections[4].1, ["name"]);
    })
    .await;
}

#[tokio::test]
async fn values_map_faithfully_to_json() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let c = connector(&db.url, COLLECTIONS);
        let sink = collect(&c, "jeanne.martin@example.fr").await;
        let orders = sink.records("orders");
        let o10 = orders.iter().find(|r| r["id"] == json!(10)).unwrap();
        let o11 = orders.iter().find(|r| r["id"] == json!(11)).unwrap();
        assert_eq!(o10["contact_id"], json!(1));
        assert_eq!(o10["total"], json!("12345678901234567.89"), "decimals are exact strings");
        assert_eq!(o11["total"], json!("0.10"), "the scale is kept");
        assert_eq!(o10["ordered_on"], json!("2024-03-01"));
        assert_eq!(o10["created_at"], json!("2024-03-01T08:15:30"));
        assert_eq!(o10["paid_at"], json!("2024-03-01T08:15:30Z"));
        assert_eq!(o10["receipt"], json!("AP8Q"), "binary is base64");
        assert_eq!(o10["meta"], json!({"channel": "web", "items": [1, 2]}));
        let raw = if db.dialect == Dialect::Postgres { json!({"a": 1}) } else { json!("{\"a\": 1}") };
        assert_eq!(o10["meta_raw"], raw, "native JSON is embedded; JSON text is not unless listed");
        assert_eq!(o10["shipped"], json!(true));
        assert_eq!(o11["shipped"], json!(false));
        assert_eq!(o10["weight"], json!(1.5));
        assert_eq!(o10["note"], Value::Null);
        assert_eq!(o11["receipt"], Value::Null);
        assert_eq!(o11["note"], json!("rappeler"));
        // Columns come in table order.
        assert_eq!(
            sink.collections[2].1,
            [
                "id",
                "contact_id",
                "total",
                "ordered_on",
                "created_at",
                "paid_at",
                "receipt",
                "meta",
                "meta_raw",
                "shipped",
                "weight",
                "note"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn selected_columns_hide_the_keys_they_need() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let collections = r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email", "email2"]
columns = ["name"]

[[collections]]
name = "orders"
table = "orders"
columns = ["ordered_on", "total"]
via = { collection = "contacts", column = "contact_id", references = "id" }
"#;
        let c = connector(&db.url, collections);
        let sink = collect(&c, "jeanne.martin@example.fr").await;
        assert_eq!(sink.collections[0].1, ["name"]);
        assert_eq!(sink.collections[1].1, ["ordered_on", "total"]);
        assert_eq!(sink.records("orders").len(), 3);
    })
    .await;
}

#[tokio::test]
async fn large_key_sets_are_queried_in_batches() {
    on_each_database(|db| async move {
        let n = 1_234;
        let orders: Vec<String> = (0..n).map(|i| format!("({}, 1)", 1_000 + i)).collect();
        let lines: Vec<String> = (0..n).map(|i| format!("({}, {})", 50_000 + i, 1_000 + i)).collect();
        db.exec(&format!(
            "CREATE TABLE contacts (id {{INT}} PRIMARY KEY, email {{TEXT}});
CREATE TABLE orders (id {{INT}} PRIMARY KEY, contact_id {{INT}});
CREATE TABLE order_lines (id {{INT}} PRIMARY KEY, order_id {{INT}});
INSERT INTO contacts VALUES (1, 'big@example.fr'), (2, 'other@example.fr');
INSERT INTO orders VALUES {}, (9, 2);
INSERT INTO order_lines VALUES {}, (9, 9)",
            orders.join(", "),
            lines.join(", ")
        ))
        .await;
        let c = connector(
            &db.url,
            r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email"]
[[collections]]
name = "orders"
table = "orders"
via = { collection = "contacts", column = "contact_id", references = "id" }
[[collections]]
name = "order_lines"
table = "order_lines"
via = { collection = "orders", column = "order_id", references = "id" }
"#,
        );
        let sink = collect(&c, "big@example.fr").await;
        assert_eq!(sink.records("orders").len(), n);
        let ids = sink.ids("order_lines", "id");
        assert_eq!(ids.len(), n, "each line once across {} batches", n.div_ceil(MAX_BIND_PARAMS));
        assert_eq!(ids.first(), Some(&50_000));
        assert!(!ids.contains(&9));
    })
    .await;
}

#[tokio::test]
async fn check_reports_counts_and_names_what_is_missing() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let c = connector(&db.url, COLLECTIONS);
        let report = c.check().await.unwrap();
        assert_eq!(
            report.notes,
            [
                "7 rows in table contacts (collection contacts)",
                "2 rows in table companies (collection companies)",
                "4 rows in table orders (collection orders)",
                "4 rows in table order_lines (collection order_lines)",
            ]
        );

        let missing_table = connector(
            &db.url,
            r#"
[[collections]]
name = "people"
table = "llx_socpeople"
email_columns = ["email"]
"#,
        );
        for err in [
            missing_table.check().await.unwrap_err(),
            missing_table.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err(),
        ] {
            assert_eq!(err.kind, ConnectorErrorKind::Misconfigured, "{err}");
            assert!(err.message.contains("table llx_socpeople not found in database"), "{}", err.message);
            assert!(err.cause.is_some());
        }

        let missing_column = connector(
            &db.url,
            r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email", "mail_perso"]
"#,
        );
        let err = missing_column.check().await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert!(err.message.starts_with("column mail_perso not found in table contacts"), "{}", err.message);
        let err =
            missing_column.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured, "{err}");
        assert!(err.message.contains("collection contacts"), "{}", err.message);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Without a database

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    for url in ["postgres://postgres@127.0.0.1:1/crm", "mysql://root@127.0.0.1:1/crm"] {
        let c =
            connector(url, "[[collections]]\nname = \"contacts\"\ntable = \"contacts\"\nemail_columns = [\"email\"]\n");
        let err = c.check().await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Unreachable, "{url}: {err}");
        assert!(err.message.starts_with("cannot reach database crm"), "{}", err.message);
        let err = c.collect(&subject("a@example.fr"), &mut VecSink::default()).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Unreachable);
    }
}

#[tokio::test]
async fn a_missing_sqlite_file_is_not_created() {
    let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
    let c = connector(
        &format!("sqlite://{}?mode=rwc", path.display()),
        "[[collections]]\nname = \"contacts\"\ntable = \"contacts\"\nemail_columns = [\"email\"]\n",
    );
    let err = c.check().await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured, "{err}");
    assert!(!path.exists());
}

fn config_error(toml_text: &str) -> String {
    match toml::from_str::<SqlSourceConfig>(toml_text) {
        Err(e) => e.to_string(),
        Ok(c) => match SqlConnector::new(c) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted:\n{toml_text}"),
        },
    }
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    let root = "[[collections]]\nname = \"contacts\"\ntable = \"contacts\"\nemail_columns = [\"email\"]\n";
    let url = "url = \"sqlite://crm.db\"\n";
    let cases: &[(&str, &str)] = &[
        (&format!("name = \"crm\"\n{root}"), "set `url_env`"),
        (&format!("name = \"crm\"\n{url}url_env = \"CRM_URL\"\n{root}"), "not both"),
        (
            &format!("name = \"crm\"\nurl_env = \"DOSSIER_TEST_SURELY_UNSET_VAR\"\n{root}"),
            "DOSSIER_TEST_SURELY_UNSET_VAR",
        ),
        (&format!("name = \"crm\"\nurl = \"oracle://db/crm\"\n{root}"), "postgres://, postgresql://, mysql://"),
        (
            &format!(
                "name = \"crm\"\n{url}[[collections]]\nname = \"c\"\ntable = \"contacts; DROP TABLE x\"\nemail_columns = [\"email\"]\n"
            ),
            "not a valid table name",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}[[collections]]\nname = \"c\"\ntable = \"contacts\"\nemail_columns = [\"e\\\"mail\"]\n"
            ),
            "not a valid column name",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}[[collections]]\nname = \"c\"\ntable = \"a.b.c\"\nemail_columns = [\"email\"]\n"
            ),
            "not a valid table name",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}[[collections]]\nname = \"orders\"\ntable = \"orders\"\nvia = {{ collection = \"contacts\", column = \"contact_id\", references = \"id\" }}\n{root}"
            ),
            "not a collection declared before it",
        ),
        (
            &format!("name = \"crm\"\n{url}[[collections]]\nname = \"c\"\ntable = \"contacts\"\n"),
            "needs either `email_columns`",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}{root}[[collections]]\nname = \"c2\"\ntable = \"t\"\nemail_columns = [\"e\"]\nvia = {{ collection = \"contacts\", column = \"a\", references = \"id\" }}\n"
            ),
            "both `email_columns` and `via`",
        ),
        (&format!("name = \"crm\"\n{url}{root}{root}"), "two collections are named `contacts`"),
        (&format!("name = \"crm\"\n{url}{root}colour = \"blue\"\n"), "unknown field `colour`"),
        (&format!("name = \"crm\"\n{url}"), "missing field `collections`"),
    ];
    for (text, expected) in cases {
        let err = config_error(text);
        assert!(err.contains(expected), "expected {expected:?} in {err:?} for\n{text}");
    }
}

#[test]
fn identifiers_are_quoted_per_dialect_and_values_bound() {
    assert_eq!(Dialect::Postgres.quote("crm.contacts"), "\"crm\".\"contacts\"");
    assert_eq!(Dialect::MySql.quote("llx_socpeople"), "`llx_socpeople`");
    let c = connector(
        "postgres://u@localhost/crm",
        "[[collections]]\nname = \"c\"\ntable = \"contacts\"\nemail_columns = [\"email\", \"email2\"]\n",
    );
    let (cond, binds) = c.where_email(&["email".into(), "email2".into()], "a@b.fr");
    assert_eq!(cond, "LOWER(TRIM(\"email\")) = $1 OR LOWER(TRIM(\"email2\")) = $2");
    assert_eq!(binds, [Bind::Text("a@b.fr".into()), Bind::Text("a@b.fr".into())]);
    assert_eq!(c.where_in("contact_id", 3), "\"contact_id\" IN ($1, $2, $3)");
}

#[test]
fn the_url_never_shows_in_debug_output() {
    let config: SqlSourceConfig = toml::from_str(
        "name = \"crm\"\nurl = \"postgres://u:hunter2@db/crm\"\n[[collections]]\nname = \"c\"\ntable = \"t\"\nemail_columns = [\"e\"]\n",
    )
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
    let c = SqlConnector::new(config).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn sources_build_through_the_shared_entry_point() {
    let sources: Vec<crate::connectors::SourceConfig> = toml::from_str::<toml::Table>(
        "[[sources]]\nkind = \"sql\"\nname = \"crm\"\nurl = \"sqlite://crm.db\"\n[[sources.collections]]\nname = \"c\"\ntable = \"t\"\nemail_columns = [\"e\"]\n",
    )
    .unwrap()["sources"]
        .clone()
        .try_into()
        .unwrap();
    let built = build(&sources).unwrap();
    assert_eq!(built[0].info().kind, "sql");
    assert_eq!(built[0].info().collections[0].name, "c");
}

#[tokio::test]
async fn database_specific_types_map_faithfully() {
    on_each_database(|db| async move {
        let one = "[[collections]]\nname = \"t\"\ntable = \"t\"\nemail_columns = [\"email\"]\n";
        match db.dialect {
            Dialect::Postgres => {
                db.exec(
                    "CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE t (email TEXT, u UUID, tags TEXT[], m mood, iv INTERVAL, big NUMERIC, f4 REAL, ts TIMESTAMP);
INSERT INTO t VALUES ('a@example.fr', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ARRAY['x', NULL], 'sad',
  '1 year 2 mons 3 days 01:00:00', 1234567890123456789012345678901234567890.123456789, 1.1,
  '2024-03-01 08:15:30.123456')",
                )
                .await;
                let sink = collect(&connector(&db.url, one), "a@example.fr").await;
                let r = &sink.records("t")[0];
                assert_eq!(r["u"], json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
                assert_eq!(r["tags"], json!(["x", null]));
                assert_eq!(r["m"], json!("sad"));
                assert_eq!(r["iv"], json!("P1Y2M3DT1H"));
                assert_eq!(r["big"], json!("1234567890123456789012345678901234567890.123456789"));
                assert_eq!(r["f4"], json!(1.1));
                assert_eq!(r["ts"], json!("2024-03-01T08:15:30.123456"));
            }
            Dialect::MySql => {
                db.exec(
                    "SET SESSION sql_mode = '';
CREATE TABLE t (email VARCHAR(100), code VARCHAR(20) COLLATE utf8mb4_bin, raw VARBINARY(8),
  d DATE, n TINYINT UNSIGNED, y YEAR, e ENUM('on', 'off'), big DECIMAL(65, 30));
INSERT INTO t VALUES ('a@example.fr', 'AbC', X'00FF10', '0000-00-00', 200, 2024, 'off',
  '12345678901234567890123456789012345.123456789012345678901234567890')",
                )
                .await;
                let sink = collect(&connector(&db.url, one), "A@example.fr").await;
                let r = &sink.records("t")[0];
                assert_eq!(r["code"], json!("AbC"), "a _bin collation is still text");
                assert_eq!(r["raw"], json!("AP8Q"));
                assert_eq!(r["d"], Value::Null, "the server sends a zero date as NULL");
                assert_eq!(r["n"], json!(200));
                assert_eq!(r["y"], json!(2024));
                assert_eq!(r["e"], json!("off"));
                assert_eq!(r["big"], json!("12345678901234567890123456789012345.123456789012345678901234567890"));
            }
            Dialect::Sqlite => {
                db.exec(
                    "CREATE TABLE t (email TEXT, anything, flag BOOLEAN);
INSERT INTO t VALUES ('a@example.fr', 12, 2), ('A@EXAMPLE.FR', 'douze', 0), (' a@example.fr', X'00', NULL)",
                )
                .await;
                let sink = collect(&connector(&db.url, one), "a@example.fr").await;
                let values: Vec<(&Value, &Value)> =
                    sink.records("t").iter().map(|r| (&r["anything"], &r["flag"])).collect();
                assert_eq!(
                    values,
                    [(&json!(12), &json!(2)), (&json!("douze"), &json!(false)), (&json!("AA=="), &Value::Null)],
                    "values read by storage class"
                );
            }
        }
    })
    .await;
}
