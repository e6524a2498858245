//! Tests of the SQL connector: always on a temporary SQLite file; on PostgreSQL and MariaDB/MySQL
//! when `DOSSIER_TEST_POSTGRES_URL` / `DOSSIER_TEST_MYSQL_URL` are set (each test gets a fresh,
//! randomly named database, dropped afterwards). With `DOSSIER_TEST_REQUIRE_SERVICES=1` (CI), an
//! unset variable fails the test instead of skipping it.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use futures_util::{FutureExt, StreamExt as _};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};

use super::*;
use crate::connectors::{RecordSink, Subject, build};
use crate::domain::EmailAddress;
use crate::plans::Change;

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

    /// A fresh MySQL/MariaDB database, or `None` (the test skips) when none is configured.
    pub(crate) async fn mysql_if_configured() -> Option<TestDb> {
        Some(TestDb::mysql(service_url("DOSSIER_TEST_MYSQL_URL")?).await)
    }

    /// A fresh PostgreSQL database, or `None` (the test skips) when none is configured.
    pub(crate) async fn postgres_if_configured() -> Option<TestDb> {
        Some(TestDb::postgres(service_url("DOSSIER_TEST_POSTGRES_URL")?).await)
    }

    pub(crate) async fn drop_db(self) {
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
            ("{UUID}", "UUID", "CHAR(36)", "TEXT"),
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
async fn an_accented_address_is_another_person() {
    // MariaDB's default collation takes `é` for `e` (and `ß` for `ss`): matching must not.
    on_each_database(|db| async move {
        db.exec(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(100));
             INSERT INTO people VALUES (1, 'elodie@example.fr'), (2, 'élodie@example.fr'), (3, ' Élodie@Example.fr');",
        )
        .await;
        let c = connector(&db.url, "[[collections]]\nname = 'people'\ntable = 'people'\nemail_columns = ['email']\n");
        assert_eq!(collect(&c, "elodie@example.fr").await.ids("people", "id"), vec![1]);
        let accented = collect(&c, "élodie@example.fr").await.ids("people", "id");
        // SQLite lower-cases ASCII only: ` Élodie@…` stays `élodie` there only on the others.
        let expected = if db.dialect == Dialect::Sqlite { vec![2] } else { vec![2, 3] };
        assert_eq!(accented, expected);
    })
    .await;
}

#[tokio::test]
async fn a_normalised_email_column_is_compared_as_it_is() {
    // MariaDB cannot index `LOWER(TRIM(email))`: authors index a generated column holding it and
    // declare it normalised. Here a plain column filled with the normalised value stands in for it
    // on every database; on MariaDB the real generated column is checked with its planner too.
    on_each_database(|db| async move {
        db.exec(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(100), email_norm VARCHAR(100));
             CREATE INDEX people_email_norm ON people (email_norm);
             INSERT INTO people VALUES (1, ' Jeanne.Martin@Example.FR ', 'jeanne.martin@example.fr'),
               (2, 'paul@example.fr', 'paul@example.fr'), (3, 'JEANNE.MARTIN@example.fr', 'jeanne.martin@example.fr'),
               (4, 'élodie@example.fr', 'élodie@example.fr');",
        )
        .await;
        let c = connector(
            &db.url,
            "[[collections]]\nname = 'people'\ntable = 'people'\nnormalised_email_columns = ['email_norm']\n",
        );
        assert_eq!(collect(&c, "jeanne.martin@example.fr").await.ids("people", "id"), vec![1, 3]);
        // Still exact on MariaDB, whose collation takes `é` for `e`.
        assert_eq!(collect(&c, "elodie@example.fr").await.ids("people", "id"), Vec::<i64>::new());
        let mut listed = Vec::new();
        c.emails(&mut |e: &str| listed.push(e.to_string())).await.unwrap();
        listed.sort();
        assert_eq!(listed, ["jeanne.martin@example.fr", "paul@example.fr", "élodie@example.fr"]);
        // The planner of each database says which searches read the whole table.
        let both = "[[collections]]\nname = 'people'\ntable = 'people'\nemail_columns = ['email']\n\
                    normalised_email_columns = ['email_norm']\n";
        let unindexed = connector(&db.url, both).unindexed_email_columns().await.unwrap();
        assert_eq!(unindexed, [("people".to_string(), "email".to_string())]);
        if db.dialect != Dialect::MySql {
            db.exec("CREATE INDEX people_email_lower ON people (LOWER(TRIM(email)))").await;
            assert_eq!(connector(&db.url, both).unindexed_email_columns().await.unwrap(), []);
        }
        if db.dialect == Dialect::MySql {
            db.exec(
                "CREATE TABLE people2 (id INTEGER PRIMARY KEY, email VARCHAR(100),
                   email_norm VARCHAR(100) AS (LOWER(TRIM(email))) VIRTUAL, INDEX (email_norm));
                 INSERT INTO people2 (id, email) VALUES (1, ' Jeanne.Martin@Example.FR '), (2, 'paul@example.fr');",
            )
            .await;
            let c = connector(
                &db.url,
                "[[collections]]\nname = 'people'\ntable = 'people2'\ncolumns = ['id', 'email']\n\
                 normalised_email_columns = ['email_norm']\n",
            );
            assert_eq!(collect(&c, "jeanne.martin@example.fr").await.ids("people", "id"), vec![1]);
            let (cond, binds) = c.where_email(
                &[EmailColumn { name: "email_norm".into(), normalised: true, format: AddressFormat::Bare }],
                "x",
            );
            let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            let mut explain = sqlx::query(AssertSqlSafe(format!("EXPLAIN SELECT 1 FROM people2 WHERE {cond}")));
            for _ in &binds {
                explain = explain.bind("x");
            }
            let row = explain.fetch_one(&mut conn).await.unwrap();
            let key: Option<String> = sqlx::Row::try_get(&row, "key").unwrap();
            assert_eq!(key.as_deref(), Some("email_norm"), "the generated column's index serves the search");
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
                "name = \"crm\"\n{url}{root}key = [\"id\"]\n\
                 [[collections]]\nname = \"companies\"\ntable = \"companies\"\n\
                 erasure = {{ action = \"shared\", basis = \"archiving\", years = 1, from_column = \"founded_on\" }}\n\
                 via = {{ collection = \"contacts\", column = \"id\", references = \"company_id\" }}\n\
                 [[collections]]\nname = \"deals\"\ntable = \"deals\"\nkey = [\"id\"]\nerasure = {{ action = \"delete\" }}\n\
                 via = {{ collection = \"companies\", column = \"company_id\", references = \"id\" }}\n"
            ),
            "reached through `companies`, which is shared",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}{root}key = [\"id\"]\nrectifiable = [{{ field = \"email\", type = \"email\" }}]\n"
            ),
            "cannot be rectifiable",
        ),
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
            "source `crm`: collection `c2`: it is reached by 2 paths (`email_columns` and `via`), so it needs `key`",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}{root}[[collections]]\nname = \"notes\"\ntable = \"notes\"\nvia = {{ collection = \"contacts\", column = \"res_id\", references = \"id\", where = \"res_model = res.partner\" }}\n"
            ),
            "source `crm`: collection `notes`: `via.where` cannot be read: expected a value ('text', a number, TRUE or FALSE) at character 13",
        ),
        (
            &format!("name = \"crm\"\n{url}{root}where = \"type.source = 'external'\"\n"),
            "source `crm`: collection `contacts`: `where` reads `type.source`, but the collection has no lookup `type`",
        ),
        (
            &format!(
                "name = \"crm\"\n{url}{root}key = [\"id\"]\nerasure = {{ action = \"retain\", basis = \"legal-obligation\", years = 1, from_column = \"companies.created_on\" }}\n"
            ),
            "source `crm`: collection `contacts`: its rules read `companies.created_on`, but `companies` is not a collection it is reached through",
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
    let column = |name: &str, normalised| EmailColumn { name: name.into(), normalised, format: AddressFormat::Bare };
    let (cond, binds) = c.where_email(&[column("email", false), column("email2", false)], "a@b.fr");
    assert_eq!(cond, "LOWER(TRIM(\"email\")) = $1 OR LOWER(TRIM(\"email2\")) = $2");
    assert_eq!(binds, [Bind::Text("a@b.fr".into()), Bind::Text("a@b.fr".into())]);
    // A column declared normalised is compared as it is, so a plain index on it can serve.
    let (cond, _) = c.where_email(&[column("email_norm", true)], "a@b.fr");
    assert_eq!(cond, "\"email_norm\" = $1");
    assert_eq!(c.where_in("contact_id", 1, 3, None), "\"contact_id\" IN ($1, $2, $3)");
    assert_eq!(c.where_in("bean_id", 1, 2, Some("UUID")), "\"bean_id\" IN (CAST($1 AS UUID), CAST($2 AS UUID))");
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

// ---------------------------------------------------------------------------------------------
// Changing records: a SuiteCRM-style CRM, with real foreign keys

/// SuiteCRM keeps addresses in their own table and links them to contacts; accounts are shared by
/// their contacts. Jeanne (jeanne.martin@example.fr) has two contact records (c1, c2), each linked
/// to the same address; c1 has a recent and a ten-year-old invoice. Paul (c3) works at Jeanne's
/// account; another person (c4) has a look-alike address. Addresses e4-e8 only matter to
/// `list_emails`.
pub(crate) const SUITECRM_SCHEMA: &str = "
CREATE TABLE email_addresses (id {UUID} PRIMARY KEY, email_address {TEXT});
CREATE TABLE email_addr_bean_rel (id {UUID} PRIMARY KEY, email_address_id {UUID} NOT NULL, bean_id {UUID} NOT NULL,
  FOREIGN KEY (email_address_id) REFERENCES email_addresses (id));
CREATE TABLE accounts (id {UUID} PRIMARY KEY, name {TEXT} NOT NULL);
CREATE TABLE contacts (id {UUID} PRIMARY KEY, first_name {TEXT}, last_name {TEXT} NOT NULL, phone {TEXT}, city {TEXT},
  birth_date {DATE}, no_email {BOOL} NOT NULL, account_id {UUID}, created_on {DATE} NOT NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id));
CREATE TABLE invoices (id {INT} PRIMARY KEY, contact_id {UUID} NOT NULL, issued_on {DATE} NOT NULL, amount {DEC} NOT NULL,
  FOREIGN KEY (contact_id) REFERENCES contacts (id));
CREATE TABLE events (id {INT} PRIMARY KEY, contact_id {UUID} NOT NULL, kind {TEXT} NOT NULL, occurred_at {TS} NOT NULL,
  FOREIGN KEY (contact_id) REFERENCES contacts (id));
INSERT INTO email_addresses (id, email_address) VALUES
  ('e0000000-0000-4000-8000-000000000001', '  Jeanne.Martin@Example.FR '),
  ('e0000000-0000-4000-8000-000000000002', 'jeanne.martin@example.fr.com'),
  ('e0000000-0000-4000-8000-000000000003', 'paul.durand@example.fr'),
  ('e0000000-0000-4000-8000-000000000004', NULL),
  ('e0000000-0000-4000-8000-000000000005', '   '),
  ('e0000000-0000-4000-8000-000000000006', 'PAUL.DURAND@example.fr '),
  ('e0000000-0000-4000-8000-000000000007', 'élodie@example.fr'),
  ('e0000000-0000-4000-8000-000000000008', 'elodie@example.fr');
INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id) VALUES
  ('b0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002'),
  ('b0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003'),
  ('b0000000-0000-4000-8000-000000000004', 'e0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000004');
INSERT INTO accounts (id, name) VALUES
  ('a0000000-0000-4000-8000-000000000001', 'Librairie du Marais'),
  ('a0000000-0000-4000-8000-000000000002', 'Martin Conseil');
INSERT INTO contacts (id, first_name, last_name, phone, city, birth_date, no_email, account_id, created_on) VALUES
  ('c0000000-0000-4000-8000-000000000001', 'Jeanne', 'Martin', '+33 6 12 34 56 78', 'Paris', '1984-02-29', FALSE, 'a0000000-0000-4000-8000-000000000001', '2024-09-02'),
  ('c0000000-0000-4000-8000-000000000002', 'Jeanne', 'Martin', NULL, 'Lyon', NULL, FALSE, 'a0000000-0000-4000-8000-000000000002', '2025-01-20'),
  ('c0000000-0000-4000-8000-000000000003', 'Paul', 'Durand', '+33 6 98 76 54 32', 'Paris', '1979-07-14', FALSE, 'a0000000-0000-4000-8000-000000000001', '2023-03-15'),
  ('c0000000-0000-4000-8000-000000000004', 'Jeanne', 'Martin-Bis', '+33 7 00 00 00 00', 'Nantes', '1990-01-01', FALSE, NULL, '2022-11-30');
INSERT INTO invoices (id, contact_id, issued_on, amount) VALUES
  (1, 'c0000000-0000-4000-8000-000000000001', '2024-05-02', '120.00'),
  (2, 'c0000000-0000-4000-8000-000000000001', '2014-01-15', '80.50'),
  (3, 'c0000000-0000-4000-8000-000000000003', '2015-01-01', '45.00'),
  (4, 'c0000000-0000-4000-8000-000000000002', '2025-11-30', '15.00'),
  (5, 'c0000000-0000-4000-8000-000000000004', '2013-06-01', '9.99');
INSERT INTO events (id, contact_id, kind, occurred_at) VALUES
  (1, 'c0000000-0000-4000-8000-000000000001', 'call', '2024-05-01 10:00:00'),
  (2, 'c0000000-0000-4000-8000-000000000001', 'email', '2024-05-03 09:30:00'),
  (3, 'c0000000-0000-4000-8000-000000000002', 'meeting', '2025-11-30 14:00:00'),
  (4, 'c0000000-0000-4000-8000-000000000003', 'call', '2024-06-01 11:00:00'),
  (5, 'c0000000-0000-4000-8000-000000000004', 'call', '2023-01-01 08:00:00')
";

/// The tables of [`SUITECRM_SCHEMA`], parents first.
const SUITECRM_TABLES: [&str; 6] =
    ["email_addresses", "email_addr_bean_rel", "accounts", "contacts", "invoices", "events"];

/// The SuiteCRM source as documented in `docs/connectors.md`: the address, its links, the
/// contacts pseudonymised and kept 3 years, the shared account unlinked, invoices kept 10 years,
/// events deleted.
pub(crate) const SUITECRM_COLLECTIONS: &str = r#"
[[collections]]
name = "email_addresses"
table = "email_addresses"
email_columns = ["email_address"]
key = ["id"]
erasure = { action = "delete" }

[[collections]]
name = "email_links"
table = "email_addr_bean_rel"
via = { collection = "email_addresses", column = "email_address_id", references = "id" }
key = ["id"]
erasure = { action = "delete" }

[[collections]]
name = "contacts"
table = "contacts"
via = { collection = "email_links", column = "id", references = "bean_id" }
key = ["id"]
erasure = { action = "pseudonymise", fields = { first_name = "null", last_name = "hash", phone = "mask", city = { value = "—" }, birth_date = "null", account_id = "null" }, basis = "legal-claims", years = 3, from_column = "created_on" }
rectifiable = [{ field = "phone", type = "phone" }, { field = "city" }, { field = "birth_date", type = "date" }]
objections = [{ purpose = "direct-marketing", set = { no_email = true } }]

[[collections]]
name = "accounts"
table = "accounts"
via = { collection = "contacts", column = "id", references = "account_id" }
key = ["id"]
erasure = { action = "shared", unlinked_by = "contacts.account_id" }

[[collections]]
name = "invoices"
table = "invoices"
via = { collection = "contacts", column = "contact_id", references = "id" }
key = ["id"]
erasure = { action = "retain", basis = "legal-obligation", years = 10, from_column = "issued_on", law = { en = "Commercial Code, art. L123-22", fr = "Code de commerce, art. L123-22" } }

[[collections]]
name = "events"
table = "events"
via = { collection = "contacts", column = "contact_id", references = "id" }
key = ["id"]
erasure = { action = "delete" }
"#;

/// A SuiteCRM-style id: `id('c', 1)` is contact c1's.
fn id(kind: char, n: u32) -> Value {
    json!(format!("{kind}0000000-0000-4000-8000-{n:012}"))
}

/// A fresh SuiteCRM database on `db` and its connector.
pub(crate) async fn suitecrm(db: &TestDb) -> SqlConnector {
    db.exec(SUITECRM_SCHEMA).await;
    connector(&db.url, SUITECRM_COLLECTIONS)
}

/// Every row of every table, ordered by id: what a test compares before and after.
type Dump = BTreeMap<&'static str, Vec<Record>>;

async fn dump(c: &SqlConnector) -> Dump {
    let pool = c.pool().await.unwrap();
    let mut out = Dump::new();
    for table in SUITECRM_TABLES {
        let sql = format!("SELECT * FROM {} ORDER BY {}", c.dialect.quote(table), c.dialect.quote("id"));
        let rows: Vec<Record> = pool.fetch(sql, Vec::new()).map(|r| r.unwrap()).collect().await;
        out.insert(table, rows);
    }
    out
}

fn row<'d>(dump: &'d mut Dump, table: &str, id: &Value) -> &'d mut Record {
    let rows = dump.get_mut(table).unwrap_or_else(|| panic!("no table {table}"));
    rows.iter_mut().find(|r| &r["id"] == id).unwrap_or_else(|| panic!("no row {id} in {table}"))
}

fn remove(dump: &mut Dump, table: &str, ids: &[Value]) {
    let rows = dump.get_mut(table).unwrap_or_else(|| panic!("no table {table}"));
    let before = rows.len();
    rows.retain(|r| !ids.contains(&r["id"]));
    assert_eq!(rows.len(), before - ids.len(), "{table}: every id to remove is there");
}

fn ids_of(dump: &Dump, table: &str) -> Vec<Value> {
    dump[table].iter().map(|r| r["id"].clone()).collect()
}

fn today() -> time::Date {
    time::macros::date!(2026 - 03 - 10)
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(crate::crypto::SecretKey::generate())
}

/// The steps of an erasure of `email` with every item approved, as the rest of Dossier builds
/// them: `locate`, then the erasure plan.
async fn erasure_steps(c: &SqlConnector, email: &str) -> Vec<Step> {
    let located = c.locate(&subject(email)).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause));
    located
        .iter()
        .filter_map(|record| {
            let rules = &c.info().collection(&record.collection)?.rules;
            let change = crate::plans::erasure::plan(rules, record, today(), Default::default()).change()?;
            Some(Step { collection: record.collection.clone(), key: record.key.clone(), change })
        })
        .collect()
}

fn update(collection: &str, key: Value, fields: Vec<(&str, crate::plans::FieldWrite)>) -> Step {
    Step {
        collection: collection.into(),
        key: json!({ "id": key }).as_object().cloned().unwrap_or_default(),
        change: Change::Update(fields.into_iter().map(|(f, w)| (f.to_string(), w)).collect()),
    }
}

fn delete(collection: &str, key: Value) -> Step {
    Step {
        collection: collection.into(),
        key: json!({ "id": key }).as_object().cloned().unwrap_or_default(),
        change: Change::Delete,
    }
}

async fn execute(c: &SqlConnector, steps: &[Step], p: &Pseudonymiser) -> Vec<StepOutcome> {
    c.execute(steps, p).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause))
}

#[tokio::test]
async fn locate_finds_the_records_the_rules_apply_to() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let located = c.locate(&subject("jeanne.martin@example.fr")).await.unwrap();
        let keys = |collection: &str| -> Vec<Value> {
            located.iter().filter(|l| l.collection == collection).map(|l| l.key["id"].clone()).collect()
        };
        let sorted = |mut v: Vec<Value>| {
            v.sort_by_key(|v| v.to_string());
            v
        };
        assert_eq!(keys("email_addresses"), [id('e', 1)]);
        assert_eq!(sorted(keys("email_links")), [id('b', 1), id('b', 2)]);
        assert_eq!(sorted(keys("contacts")), [id('c', 1), id('c', 2)], "not Paul (same account), not c4 (look-alike)");
        assert_eq!(sorted(keys("accounts")), [id('a', 1), id('a', 2)], "each account once");
        assert_eq!(sorted(keys("invoices")), [json!(1), json!(2), json!(4)]);
        assert_eq!(sorted(keys("events")), [json!(1), json!(2), json!(3)]);
        assert_eq!(located.len(), 13, "each row once: {located:#?}");
        // The values the rules need, decoded as for an export; nothing else.
        let c1 = located.iter().find(|l| l.key["id"] == id('c', 1)).unwrap();
        assert_eq!(
            Value::Object(c1.values.clone()),
            json!({"created_on": "2024-09-02", "phone": "+33 6 12 34 56 78", "city": "Paris", "birth_date": "1984-02-29"})
        );
        let c2 = located.iter().find(|l| l.key["id"] == id('c', 2)).unwrap();
        assert_eq!(Value::Object(c2.values.clone()), json!({"created_on": "2025-01-20", "phone": null, "city": "Lyon", "birth_date": null}));
        let invoice = located.iter().find(|l| l.collection == "invoices" && l.key["id"] == json!(2)).unwrap();
        assert_eq!(Value::Object(invoice.values.clone()), json!({"issued_on": "2014-01-15"}));
        assert!(
            located
                .iter()
                .filter(|l| l.collection != "contacts" && l.collection != "invoices")
                .all(|l| l.values.is_empty())
        );

        // Collections without rules are read to reach the others, but not located.
        let only_contacts = connector(
            &db.url,
            r#"
[[collections]]
name = "email_addresses"
table = "email_addresses"
email_columns = ["email_address"]
columns = ["email_address"]
[[collections]]
name = "email_links"
table = "email_addr_bean_rel"
via = { collection = "email_addresses", column = "email_address_id", references = "id" }
[[collections]]
name = "contacts"
table = "contacts"
via = { collection = "email_links", column = "id", references = "bean_id" }
key = ["id"]
objections = [{ purpose = "direct-marketing", set = { no_email = 1 } }]
[[collections]]
name = "events"
table = "events"
via = { collection = "contacts", column = "contact_id", references = "id" }
"#,
        );
        let located = only_contacts.locate(&subject("jeanne.martin@example.fr.com")).await.unwrap();
        assert_eq!(
            located,
            [Located {
                collection: "contacts".into(),
                key: json!({"id": id('c', 4)}).as_object().cloned().unwrap(),
                values: crate::plans::Values::new(),
            }]
        );
    })
    .await;
}

#[tokio::test]
async fn an_approved_erasure_changes_exactly_the_planned_rows() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let p = pseudonymiser();
        let before = dump(&c).await;
        let steps = erasure_steps(&c, "jeanne.martin@example.fr").await;
        let outcomes = execute(&c, &steps, &p).await;
        assert_eq!(outcomes.len(), steps.len());
        for (step, outcome) in steps.iter().zip(&outcomes) {
            assert!(outcome.found, "{step:?}");
            assert!(outcome.satisfies(&step.change), "{step:?}: {outcome:?}");
        }
        let after = dump(&c).await;

        // Exactly these rows are gone; Paul's and the look-alike's are all still there.
        assert_eq!(ids_of(&after, "email_addresses"), (2..=8).map(|n| id('e', n)).collect::<Vec<_>>());
        assert_eq!(ids_of(&after, "email_addr_bean_rel"), [id('b', 3), id('b', 4)]);
        assert_eq!(ids_of(&after, "accounts"), [id('a', 1), id('a', 2)], "shared accounts are kept");
        assert_eq!(ids_of(&after, "contacts"), (1..=4).map(|n| id('c', n)).collect::<Vec<_>>());
        assert_eq!(
            ids_of(&after, "invoices"),
            [json!(1), json!(3), json!(4), json!(5)],
            "the 2014 invoice is past 10 years"
        );
        assert_eq!(ids_of(&after, "events"), [json!(4), json!(5)]);

        // Every other value is as it was; Jeanne's contacts are pseudonymised field by field.
        let mut expected = before.clone();
        remove(&mut expected, "email_addresses", &[id('e', 1)]);
        remove(&mut expected, "email_addr_bean_rel", &[id('b', 1), id('b', 2)]);
        remove(&mut expected, "invoices", &[json!(2)]);
        remove(&mut expected, "events", &[json!(1), json!(2), json!(3)]);
        let martin = p.pseudonym("Martin");
        for (n, phone) in [(1, json!("+3* 6 1* 3* 5* 7*")), (2, Value::Null)] {
            let contact = row(&mut expected, "contacts", &id('c', n));
            contact["first_name"] = Value::Null;
            contact["last_name"] = json!(martin);
            contact["phone"] = phone;
            contact["city"] = json!("—");
            contact["birth_date"] = Value::Null;
            contact["account_id"] = Value::Null;
        }
        assert_eq!(after, expected);
    })
    .await;
}

#[tokio::test]
async fn executing_the_same_steps_twice_changes_nothing_more() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let p = pseudonymiser();
        let steps = erasure_steps(&c, "jeanne.martin@example.fr").await;
        let first = execute(&c, &steps, &p).await;
        let once = dump(&c).await;
        // A crash after the source committed, before Dossier recorded it: the job runs again.
        let second = execute(&c, &steps, &p).await;
        assert_eq!(dump(&c).await, once);
        for ((step, a), b) in steps.iter().zip(&first).zip(&second) {
            match step.change {
                Change::Delete => assert!(a.found && !b.found, "a delete finds nothing the second time"),
                Change::Update(_) => assert_eq!(a, b, "an update reads back the same values"),
            }
            assert!(b.satisfies(&step.change));
        }
    })
    .await;
}

#[tokio::test]
async fn a_partial_approval_changes_only_the_approved_rows() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let p = pseudonymiser();
        let before = dump(&c).await;
        let steps = erasure_steps(&c, "jeanne.martin@example.fr").await;
        // Staff approve two items: c2's anonymisation and the deletion of event 3.
        let approved: Vec<Step> = steps
            .into_iter()
            .filter(|s| s.key["id"] == id('c', 2) || (s.collection == "events" && s.key["id"] == json!(3)))
            .collect();
        assert_eq!(approved.len(), 2);
        execute(&c, &approved, &p).await;
        let mut expected = before;
        remove(&mut expected, "events", &[json!(3)]);
        let c2 = row(&mut expected, "contacts", &id('c', 2));
        c2["first_name"] = Value::Null;
        c2["last_name"] = json!(p.pseudonym("Martin"));
        c2["city"] = json!("—");
        c2["account_id"] = Value::Null;
        assert_eq!(dump(&c).await, expected);
    })
    .await;
}

#[tokio::test]
async fn a_failing_step_rolls_back_the_whole_call() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let p = pseudonymiser();
        let before = dump(&c).await;
        // Deleting c1 fails: its retained invoice still references it. The update and the event
        // deletion run before it, and must be undone.
        let steps = [
            delete("contacts", id('c', 1)),
            update("contacts", id('c', 2), vec![("city", crate::plans::FieldWrite::Null)]),
            delete("events", json!(3)),
        ];
        let err = c.execute(&steps, &p).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured, "{err}");
        assert_eq!(
            err.message,
            format!(
                "cannot delete a row of table contacts (collection contacts) in database {}: other rows still \
                 reference it (a foreign key); anonymise it instead, or also erase the collection that references it",
                c.database
            )
        );
        assert!(err.cause.is_some());
        assert_eq!(dump(&c).await, before, "nothing was applied");
    })
    .await;
}

#[tokio::test]
async fn a_key_that_matches_several_rows_changes_nothing() {
    on_each_database(|db| async move {
        db.exec(SUITECRM_SCHEMA).await;
        // Two of Jeanne's contact records share the last name this `key` wrongly names.
        let by_name = r#"
[[collections]]
name = "email_addresses"
table = "email_addresses"
email_columns = ["email_address"]
[[collections]]
name = "email_links"
table = "email_addr_bean_rel"
via = { collection = "email_addresses", column = "email_address_id", references = "id" }
[[collections]]
name = "contacts"
table = "contacts"
via = { collection = "email_links", column = "id", references = "bean_id" }
key = ["last_name"]
rectifiable = [{ field = "city" }]
[[collections]]
name = "events"
table = "events"
via = { collection = "contacts", column = "contact_id", references = "id" }
key = ["contact_id"]
erasure = { action = "delete" }
"#;
        let c = connector(&db.url, by_name);
        let p = pseudonymiser();
        let before = dump(&c).await;
        let by_key = |key: Value, change: Change| Step {
            collection: if key.get("last_name").is_some() { "contacts" } else { "events" }.into(),
            key: key.as_object().cloned().unwrap(),
            change,
        };
        let ok = update("contacts", id('c', 9), vec![("city", crate::plans::FieldWrite::Null)]);
        for step in [
            by_key(
                json!({"last_name": "Martin"}),
                Change::Update(vec![("city".into(), crate::plans::FieldWrite::Null)]),
            ),
            by_key(json!({"contact_id": id('c', 1)}), Change::Delete),
        ] {
            let ok = Step { key: json!({"last_name": "Durand"}).as_object().cloned().unwrap(), ..ok.clone() };
            let err = c.execute(&[ok, step], &p).await.unwrap_err();
            assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
            assert!(err.message.contains("matches several rows of table "), "{}", err.message);
            assert_eq!(dump(&c).await, before);
        }
    })
    .await;
}

#[tokio::test]
async fn rectification_writes_dates_and_text_and_reads_them_back() {
    use crate::plans::{FieldType, FieldWrite, rectification};
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let before = dump(&c).await;
        let birth_date = rectification::parse(FieldType::Date, "1985-03-01").unwrap();
        let city = rectification::parse(FieldType::Text, " Lyon 3e ").unwrap();
        let step = update(
            "contacts",
            id('c', 1),
            vec![("birth_date", FieldWrite::Value(birth_date)), ("city", FieldWrite::Value(city))],
        );
        let outcomes = execute(&c, std::slice::from_ref(&step), &pseudonymiser()).await;
        assert_eq!(
            outcomes,
            [StepOutcome {
                found: true,
                after: Some(json!({"birth_date": "1985-03-01", "city": "Lyon 3e"}).as_object().cloned().unwrap())
            }]
        );
        assert!(outcomes[0].satisfies(&step.change));
        let mut expected = before;
        let c1 = row(&mut expected, "contacts", &id('c', 1));
        c1["birth_date"] = json!("1985-03-01");
        c1["city"] = json!("Lyon 3e");
        assert_eq!(dump(&c).await, expected);

        // A record that is gone is reported, and nothing is written.
        let gone = update("contacts", id('c', 9), vec![("city", FieldWrite::Value(json!("Paris")))]);
        let outcomes = execute(&c, std::slice::from_ref(&gone), &pseudonymiser()).await;
        assert_eq!(outcomes, [StepOutcome { found: false, after: None }]);
        assert!(!outcomes[0].satisfies(&gone.change));
    })
    .await;
}

#[tokio::test]
async fn an_objection_sets_a_boolean_flag() {
    use crate::plans::{FieldWrite, Purpose, objection};
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let before = dump(&c).await;
        let rules = &c.info().collection("contacts").unwrap().rules;
        let chosen = std::collections::BTreeSet::from([Purpose::DirectMarketing]);
        let rule = objection::applicable(rules, &chosen).next().unwrap();
        let steps: Vec<Step> = [id('c', 1), id('c', 2)]
            .into_iter()
            .map(|key| Step {
                collection: "contacts".into(),
                key: json!({ "id": key }).as_object().cloned().unwrap(),
                change: objection::change(rule),
            })
            .collect();
        let outcomes = execute(&c, &steps, &pseudonymiser()).await;
        for (step, outcome) in steps.iter().zip(&outcomes) {
            assert_eq!(outcome.after.as_ref().map(|a| a["no_email"].clone()), Some(json!(true)));
            assert!(outcome.satisfies(&step.change));
        }
        let mut expected = before;
        row(&mut expected, "contacts", &id('c', 1))["no_email"] = json!(true);
        row(&mut expected, "contacts", &id('c', 2))["no_email"] = json!(true);
        assert_eq!(dump(&c).await, expected);

        // Written as a number, read back as the boolean it is.
        let step = update("contacts", id('c', 2), vec![("no_email", FieldWrite::Value(json!(0)))]);
        let outcomes = execute(&c, std::slice::from_ref(&step), &pseudonymiser()).await;
        assert_eq!(outcomes[0].after.as_ref().map(|a| a["no_email"].clone()), Some(json!(false)));
        assert!(outcomes[0].satisfies(&step.change));
    })
    .await;
}

#[tokio::test]
async fn emails_gives_every_address_once_normalised() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        let mut found: Vec<String> = Vec::new();
        c.emails(&mut |address: &str| found.push(address.to_string())).await.unwrap();
        found.sort();
        assert_eq!(
            found,
            [
                "elodie@example.fr",
                "jeanne.martin@example.fr",
                "jeanne.martin@example.fr.com",
                "paul.durand@example.fr",
                "élodie@example.fr"
            ],
            "trimmed and lower-cased, NULL and blank skipped, each once, `é` not merged into `e`"
        );
    })
    .await;
}

#[tokio::test]
async fn check_names_a_rule_column_missing_from_the_table() {
    on_each_database(|db| async move {
        let c = suitecrm(db).await;
        assert_eq!(c.check().await.unwrap().notes.len(), SUITECRM_TABLES.len());
        let wrong = connector(
            &db.url,
            r#"
[[collections]]
name = "email_addresses"
table = "email_addresses"
email_columns = ["email_address"]
key = ["id"]
erasure = { action = "retain", basis = "legal-claims", years = 1, from_column = "created_on" }
"#,
        );
        let err = wrong.check().await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert!(err.message.starts_with("column created_on not found in table email_addresses"), "{}", err.message);
    })
    .await;
}

#[test]
fn rules_are_checked_when_the_connector_is_built() {
    let source = "name = \"crm\"\nurl = \"sqlite://crm.db\"\n[[collections]]\nname = \"contacts\"\ntable = \"contacts\"\nemail_columns = [\"email\"]\n";
    let cases: &[(&str, &str)] = &[
        ("erasure = { action = \"delete\" }", "collection `contacts`: its rules change records, so it needs `key`"),
        ("key = [\"id\"]\nrectifiable = [{ field = \"first name\" }]", "`first name` is not a valid column name"),
        (
            "key = [\"id; DROP TABLE contacts\"]\nerasure = { action = \"delete\" }",
            "`key` column `id; DROP TABLE contacts` is not a valid column name",
        ),
        (
            "key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = { \"no-email\" = 1 } }]",
            "`no-email` is not a valid column name",
        ),
        (
            "key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { phone = \"scramble\" } }",
            "unknown anonymisation `scramble`",
        ),
    ];
    for (rules, expected) in cases {
        let err = config_error(&format!("{source}{rules}\n"));
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        assert!(err.starts_with("source `crm`: ") || !err.contains("collection `"), "{err}");
    }
    let ok = SqlConnector::new(
        toml::from_str(&format!("name = \"crm\"\nurl = \"sqlite://crm.db\"\n{SUITECRM_COLLECTIONS}")).unwrap(),
    )
    .unwrap();
    let contacts = &ok.info().collection("contacts").unwrap().rules;
    assert_eq!(contacts.key, ["id"]);
    assert_eq!(contacts.rectifiable.len(), 3);
}

#[tokio::test]
async fn steps_the_configuration_no_longer_allows_are_refused_before_connecting() {
    // Nothing listens on port 1: a refusal that needed the database would say "cannot reach".
    let c = connector("postgres://postgres@127.0.0.1:1/crm", SUITECRM_COLLECTIONS);
    let p = pseudonymiser();
    let cases = [
        (delete("leads", json!(1)), "source crm has no collection leads"),
        (
            Step {
                collection: "contacts".into(),
                key: json!({"uuid": "x"}).as_object().cloned().unwrap(),
                change: Change::Delete,
            },
            "identified by other columns than its `key` (id)",
        ),
        (
            update("contacts", id('c', 1), vec![("no_email_since", crate::plans::FieldWrite::Null)]),
            "do not allow changing column no_email_since",
        ),
        (update("contacts", id('c', 1), vec![("id", crate::plans::FieldWrite::Null)]), "changing column id"),
    ];
    for (step, expected) in cases {
        let err = c.execute(&[step], &p).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert!(err.message.contains(expected), "{expected:?} in {}", err.message);
    }
    assert_eq!(c.execute(&[], &p).await.unwrap(), [], "no step, no connection");
}

// ---------------------------------------------------------------------------------------------
// Text that is not valid UTF-8

/// A text value whose bytes are not UTF-8 used to fail the whole job with "has type TEXT, which
/// Dossier cannot export". It is the person's data all the same: exported as its bytes, in base64
/// with a note, beside the valid values of the same row.
#[tokio::test]
async fn text_that_is_not_utf8_is_exported_as_its_bytes() {
    let one = "[[collections]]\nname = \"t\"\ntable = \"t\"\nemail_columns = [\"email\"]\n";
    let not_text = |bytes: &[u8]| {
        use base64::Engine as _;
        json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes), "note": decode::NOT_TEXT_NOTE })
    };
    on_each_database(|db| async move {
        match db.dialect {
            Dialect::Sqlite => {
                // SQLite keeps any bytes in TEXT: 'Café' written in Latin-1 by an older tool.
                db.exec(
                    "CREATE TABLE t (email TEXT, name TEXT, city TEXT);
INSERT INTO t VALUES ('a@example.fr', CAST(X'436166E9' AS TEXT), 'Paris')",
                )
                .await;
                let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                let class: String = sqlx::query_scalar("SELECT typeof(name) FROM t").fetch_one(&mut c).await.unwrap();
                assert_eq!(class, "text", "the fixture is TEXT, not a BLOB");
                c.close().await.unwrap();
                let sink = collect(&connector(&db.url, one), "a@example.fr").await;
                let r = &sink.records("t")[0];
                assert_eq!(r["name"], not_text(b"Caf\xe9"));
                assert_eq!(r["city"], json!("Paris"));
            }
            Dialect::MySql => {
                // A Latin-1 column is transcoded by the server: text, as the person wrote it.
                db.exec(
                    "CREATE TABLE t (email VARCHAR(100), name VARCHAR(50) CHARACTER SET latin1, raw VARCHAR(50) CHARACTER SET binary);
INSERT INTO t VALUES ('a@example.fr', X'436166E9', X'436166E9')",
                )
                .await;
                let sink = collect(&connector(&db.url, one), "a@example.fr").await;
                let r = &sink.records("t")[0];
                assert_eq!(r["name"], json!("Café"));
                // A binary column is bytes, in base64 as every binary type.
                assert_eq!(r["raw"], json!("Q2Fm6Q=="));
            }
            Dialect::Postgres => {
                // Only an SQL_ASCII database holds text that is not in its encoding, and the
                // server will not send it to a UTF-8 client.
                let admin = db.admin_url.clone().unwrap();
                let name = unique_name();
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                let create = format!(
                    "CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
                );
                sqlx::raw_sql(AssertSqlSafe(create)).execute(&mut c).await.unwrap();
                let url = with_database(&admin, &name);
                let outcome = AssertUnwindSafe(async {
                    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                    sqlx::raw_sql(
                        "CREATE TABLE t (email TEXT, name TEXT, city TEXT);
                         INSERT INTO t VALUES ('a@example.fr', E'Caf\\xe9', 'Paris')",
                    )
                    .execute(&mut conn)
                    .await
                    .unwrap();
                    conn.close().await.unwrap();
                    // PostgreSQL itself refuses to send it as UTF-8 text: the job says so, by
                    // table, never as a type Dossier cannot export.
                    let mut sink = VecSink::default();
                    let err = connector(&url, one).collect(&subject("a@example.fr"), &mut sink).await.unwrap_err();
                    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
                    assert!(err.message.contains("reading table t (collection t)"), "{}", err.message);
                    assert!(err.message.contains("is not valid UTF-8"), "{}", err.message);
                    assert!(!err.message.contains("Caf") && !err.message.contains("type"), "{}", err.message);
                })
                .catch_unwind()
                .await;
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut c).await;
                if let Err(panic) = outcome {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Address formats: display names, lists, `mailto:`, and the traps a `LIKE` alone falls into

const MESSAGES: &str = "
CREATE TABLE messages (id {INT} PRIMARY KEY, email {TEXT}, from_addr {TEXT}, cc {TEXT}, subject {TEXT});
CREATE TABLE attachments (id {INT} PRIMARY KEY, message_id {INT} NOT NULL, name {TEXT});
INSERT INTO messages (id, email, from_addr, cc, subject) VALUES
  (1, NULL, 'Marie Lefèvre <marie@x.fr>', NULL, 'display name'),
  (2, NULL, '\"Lefèvre, Marie\" <Marie@X.fr>', NULL, 'quoted name with a comma, capitals'),
  (3, NULL, 'mailto:marie@x.fr', NULL, 'mailto'),
  (4, NULL, 'other@y.org', 'a@y.org, Marie <marie@x.fr>', 'list with commas'),
  (5, NULL, 'other@y.org', 'a@y.org; MARIE@x.fr', 'list with semicolons'),
  (6, NULL, 'Anne <annemarie@x.fr>', 'annemarie@x.fr', 'substring trap'),
  (7, NULL, 'marie@x.fr.evil.com', 'Marie <marie@x.fr.com>', 'longer domain trap'),
  (8, NULL, 'Élodie <élodie@x.fr>', 'élodie@x.fr', 'accented'),
  (9, NULL, 'Elodie <elodie@x.fr>', NULL, 'not accented'),
  (10, ' Marie@x.fr ', NULL, NULL, 'bare column'),
  (11, 'Marie <marie@x.fr>', NULL, NULL, 'a bare column holds one bare address'),
  (12, NULL, '\"marie@x.fr\" <other@y.org>', NULL, 'an address in a display name is not where mail goes'),
  (13, NULL, NULL, 'jean_luc@x.fr', 'underscore'),
  (14, NULL, NULL, 'jeanXluc@x.fr, jean%luc@x.fr', 'pattern characters');
INSERT INTO attachments (id, message_id, name) VALUES (100, 1, 'a.pdf'), (101, 6, 'b.pdf'), (102, 8, 'c.pdf')
";

const MESSAGE_COLLECTIONS: &str = r#"
[[collections]]
name = "messages"
table = "messages"
email_columns = ["email", "from_addr", "cc"]
email_formats = { from_addr = "address", cc = "list" }
columns = ["id", "subject"]
key = ["id"]
erasure = { action = "delete" }

[[collections]]
name = "attachments"
table = "attachments"
via = { collection = "messages", column = "message_id", references = "id" }
key = ["id"]
erasure = { action = "delete" }
"#;

/// The expected message ids of each subject, on every database.
const MESSAGE_CASES: &[(&str, &[i64], &[i64])] = &[
    ("marie@x.fr", &[1, 2, 3, 4, 5, 10], &[100]),
    ("annemarie@x.fr", &[6], &[101]),
    ("élodie@x.fr", &[8], &[102]),
    ("elodie@x.fr", &[9], &[]),
    ("other@y.org", &[4, 5, 12], &[]),
    ("marie@x.fr.com", &[7], &[]),
    ("jean_luc@x.fr", &[13], &[]),
    ("jean%luc@x.fr", &[14], &[]),
    // Under a `LIKE` alone, every `marie@x.fr` row would match.
    ("arie@x.fr", &[], &[]),
];

#[tokio::test]
async fn address_formats_find_exactly_the_subjects_rows() {
    on_each_database(|db| async move {
        db.exec(MESSAGES).await;
        let c = connector(&db.url, MESSAGE_COLLECTIONS);
        for (email, messages, attachments) in MESSAGE_CASES {
            let sink = collect(&c, email).await;
            assert_eq!(sink.ids("messages", "id"), *messages, "{email} on {:?}", db.dialect);
            assert_eq!(sink.ids("attachments", "id"), *attachments, "{email} on {:?}", db.dialect);
            // The columns read only to check the match are not exported.
            for r in sink.records("messages") {
                assert_eq!(r.keys().collect::<Vec<_>>(), ["id", "subject"]);
            }
            // Erasure finds the very same rows.
            let located = c.locate(&subject(email)).await.unwrap();
            let keys = |collection: &str| -> Vec<i64> {
                let mut v: Vec<i64> = located
                    .iter()
                    .filter(|l| l.collection == collection)
                    .map(|l| l.key["id"].as_i64().unwrap())
                    .collect();
                v.sort_unstable();
                v
            };
            assert_eq!(keys("messages"), *messages, "locate {email} on {:?}", db.dialect);
            assert_eq!(keys("attachments"), *attachments, "locate {email} on {:?}", db.dialect);
        }
    })
    .await;
}

#[tokio::test]
async fn an_erasure_through_an_address_list_deletes_only_the_subjects_rows() {
    on_each_database(|db| async move {
        db.exec(MESSAGES).await;
        let c = connector(&db.url, MESSAGE_COLLECTIONS);
        let steps = erasure_steps(&c, "marie@x.fr").await;
        let outcomes = execute(&c, &steps, &pseudonymiser()).await;
        assert!(outcomes.iter().all(|o| o.found), "{outcomes:?}");
        // What is left, read with a plain query on each database.
        let left = |table: &'static str| async move {
            let sql = format!("SELECT id FROM {table} ORDER BY id");
            let mut ids: Vec<i64> = Vec::new();
            match db.dialect {
                Dialect::Sqlite => {
                    let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                    for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
                        ids.push(sqlx::Row::get(&r, 0));
                    }
                }
                Dialect::Postgres => {
                    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                    for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
                        ids.push(sqlx::Row::get(&r, 0));
                    }
                }
                Dialect::MySql => {
                    let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
                    for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
                        ids.push(sqlx::Row::get(&r, 0));
                    }
                }
            }
            ids
        };
        assert_eq!(left("messages").await, [6, 7, 8, 9, 11, 12, 13, 14]);
        assert_eq!(left("attachments").await, [101, 102]);
    })
    .await;
}

#[tokio::test]
async fn emails_reads_the_addresses_inside_formatted_columns() {
    on_each_database(|db| async move {
        db.exec(MESSAGES).await;
        let c = connector(&db.url, MESSAGE_COLLECTIONS);
        let mut found: Vec<String> = Vec::new();
        c.emails(&mut |address: &str| found.push(address.to_string())).await.unwrap();
        found.sort();
        found.dedup();
        assert_eq!(
            found,
            [
                "a@y.org",
                "annemarie@x.fr",
                "elodie@x.fr",
                "jean%luc@x.fr",
                "jean_luc@x.fr",
                "jeanxluc@x.fr",
                "marie <marie@x.fr>",
                "marie@x.fr",
                "marie@x.fr.com",
                "marie@x.fr.evil.com",
                "other@y.org",
                "élodie@x.fr",
            ],
            "the bare column as it is (one value is not an address), the others parsed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_index_advice_for_an_address_list_names_what_each_database_needs() {
    on_each_database(|db| async move {
        db.exec(MESSAGES).await;
        let c = connector(&db.url, MESSAGE_COLLECTIONS);
        let mut unindexed = c.unindexed_email_columns().await.unwrap();
        unindexed.sort();
        let names: Vec<&str> = unindexed.iter().map(|(_, col)| col.as_str()).collect();
        assert_eq!(names, ["cc", "email", "from_addr"]);
        let advice = c.index_advice("messages", "cc");
        match db.dialect {
            Dialect::Postgres => {
                assert!(advice.contains("USING gin (LOWER(cc) gin_trgm_ops)"), "{advice}");
                assert!(advice.contains("CREATE EXTENSION IF NOT EXISTS pg_trgm"), "{advice}");
            }
            Dialect::MySql | Dialect::Sqlite => {
                assert!(advice.contains("cannot index") && advice.contains("lookup table"), "{advice}");
            }
        }
        assert!(c.index_advice("messages", "email").contains("LOWER(TRIM(email))"));
        // With the trigram index the PostgreSQL planner uses it for the prefilter.
        if db.dialect == Dialect::Postgres {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let has_trgm = sqlx::query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
                .fetch_optional(&mut conn)
                .await
                .unwrap()
                .is_some();
            if has_trgm {
                db.exec(
                    "CREATE EXTENSION IF NOT EXISTS pg_trgm;
                     CREATE INDEX messages_cc_trgm ON messages USING gin (LOWER(cc) gin_trgm_ops)",
                )
                .await;
                let unindexed = connector(&db.url, MESSAGE_COLLECTIONS).unindexed_email_columns().await.unwrap();
                let names: Vec<&str> = unindexed.iter().map(|(_, col)| col.as_str()).collect();
                assert!(!names.contains(&"cc"), "{names:?}");
            } else {
                eprintln!("pg_trgm is not available on this server: the index itself is not tried");
            }
        }
    })
    .await;
}

#[test]
fn address_formats_are_refused_when_unknown_or_misplaced() {
    let refused = |formats: &str| -> String {
        let toml = format!(
            "name = \"crm\"\nurl = \"sqlite://x.db\"\n[[collections]]\nname = \"messages\"\ntable = \"messages\"\n\
             email_columns = [\"email\", \"cc\"]\n{formats}\n"
        );
        let config: SqlSourceConfig = toml::from_str(&toml).unwrap();
        SqlConnector::new(config).unwrap_err().to_string()
    };
    let err = refused("email_formats = { cc = \"lists\" }");
    assert!(err.starts_with("source `crm`: collection `messages`: email column `cc` has the format `lists`"), "{err}");
    let err = refused("email_formats = { bcc = \"list\" }");
    assert!(err.contains("`bcc`, which is not one of its `email_columns`"), "{err}");
    assert_eq!(contains_pattern("a_b%c!d@x.fr"), "%a!_b!%c!!d@x.fr%");
}

// ---------------------------------------------------------------------------------------------
// Polymorphic references, lookups and several paths (issue 13)

/// An Odoo-shaped `notes` table pointing at a contact *or* a company through
/// `(res_model, res_id)`, and a Dolibarr-shaped `element_contact` whose `fk_socpeople` is a
/// contact for an `external` type and a staff user for an `internal` one. Jeanne's contact id (1)
/// is also Acme's company id, and staff user 1's id.
const POLY: &str = "
CREATE TABLE contacts (id {INT} PRIMARY KEY, company_id {INT}, name {TEXT} NOT NULL, email {TEXT});
CREATE TABLE companies (id {INT} PRIMARY KEY, name {TEXT} NOT NULL);
CREATE TABLE notes (id {INT} PRIMARY KEY, res_model {TEXT} NOT NULL, res_id {INT} NOT NULL, body {TEXT}, author {TEXT});
CREATE TABLE c_type_contact (rowid {INT} PRIMARY KEY, source {TEXT} NOT NULL, element {TEXT} NOT NULL);
CREATE TABLE element_contact (rowid {INT} PRIMARY KEY, element_id {INT} NOT NULL, fk_socpeople {INT} NOT NULL, fk_c_type_contact {INT});
CREATE TABLE orders (id {INT} PRIMARY KEY, contact_id {INT} NOT NULL, ordered_on {DATE});
INSERT INTO contacts (id, company_id, name, email) VALUES
  (1, 10, 'Jeanne Martin', 'jeanne@x.fr'), (2, 1, 'Paul Durand', 'paul@x.fr');
INSERT INTO companies (id, name) VALUES (1, 'Acme'), (10, 'Globex');
INSERT INTO notes (id, res_model, res_id, body, author) VALUES
  (100, 'res.partner', 1, 'call Jeanne', NULL),
  (101, 'res.company', 1, 'Acme contract, not Jeanne''s', NULL),
  (102, 'res.partner', 2, 'call Paul', NULL),
  (103, 'res.partner', 1, 'Jeanne wrote on her own record', 'jeanne@x.fr'),
  (104, 'res.company', 10, 'Jeanne wrote on Globex', 'Jeanne@X.fr'),
  (105, 'res.partner', 2, 'Jeanne wrote on Paul', 'jeanne@x.fr'),
  (106, 'res.company', 2, 'about company 2, Paul''s contact id', NULL);
INSERT INTO c_type_contact (rowid, source, element) VALUES
  (1, 'external', 'propal'), (2, 'internal', 'propal'), (3, 'external', 'facture'), (4, 'external', 'commande');
INSERT INTO element_contact (rowid, element_id, fk_socpeople, fk_c_type_contact) VALUES
  (1, 500, 1, 1), (2, 501, 1, 2), (3, 502, 1, 3), (4, 503, 1, 4), (5, 504, 2, 1), (6, 505, 1, 99), (7, 506, 1, NULL);
INSERT INTO orders (id, contact_id, ordered_on) VALUES
  (20, 1, '2023-12-31'), (21, 1, '2024-01-01'), (22, 1, '2024-06-30'), (23, 2, '2024-02-02'), (24, 1, NULL)
";

const POLY_COLLECTIONS: &str = r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email"]
key = ["id"]
erasure = { action = "delete" }

[[collections]]
name = "notes"
table = "notes"
email_columns = ["author"]
via = { collection = "contacts", column = "res_id", references = "id", where = "res_model = 'res.partner'" }
key = ["id"]
erasure = { action = "delete" }

[[collections]]
name = "contact_roles"
table = "element_contact"
via = { collection = "contacts", column = "fk_socpeople", references = "id", where = "type.source = 'external' AND type.element IN ('propal', 'facture')" }
lookups = { type = { table = "c_type_contact", column = "rowid", from = "fk_c_type_contact" } }
key = ["rowid"]
erasure = { action = "delete" }

[[collections]]
name = "recent_orders"
table = "orders"
via = { collection = "contacts", column = "contact_id", references = "id" }
where = "ordered_on >= '2024-01-01'"
"#;

#[tokio::test]
async fn a_polymorphic_reference_reaches_only_the_rows_its_condition_names() {
    on_each_database(|db| async move {
        db.exec(POLY).await;
        let c = connector(&db.url, POLY_COLLECTIONS);
        let sink = collect(&c, "jeanne@x.fr").await;
        assert_eq!(sink.ids("contacts", "id"), [1]);
        // 100 and 103 through her contact (103 also by its author: once); 104 and 105 by author
        // only. 101 (Acme, company id 1 = her contact id) and 106 are other records' notes.
        assert_eq!(sink.ids("notes", "id"), [100, 103, 104, 105], "on {:?}", db.dialect);
        // External roles on quotes and invoices only: not the staff user 1 (internal), not an
        // order role, not a row whose type is missing or NULL.
        assert_eq!(sink.ids("contact_roles", "rowid"), [1, 3], "on {:?}", db.dialect);
        // The lookup's columns are not exported.
        assert_eq!(
            sink.records("contact_roles")[0].keys().collect::<Vec<_>>(),
            ["rowid", "element_id", "fk_socpeople", "fk_c_type_contact"]
        );
        // A date condition, the text literal compared as a date (cast on PostgreSQL).
        assert_eq!(sink.ids("recent_orders", "id"), [21, 22], "on {:?}", db.dialect);

        // Paul: his note, and the note Jeanne wrote on him; never Acme's (res_id 1 is Jeanne).
        let paul = collect(&c, "paul@x.fr").await;
        assert_eq!(paul.ids("notes", "id"), [102, 105]);
        assert_eq!(paul.ids("contact_roles", "rowid"), [5]);

        // `locate` finds the very same rows, each once.
        let located = c.locate(&subject("jeanne@x.fr")).await.unwrap();
        let keys = |collection: &str, k: &str| -> Vec<i64> {
            let mut v: Vec<i64> =
                located.iter().filter(|l| l.collection == collection).map(|l| l.key[k].as_i64().unwrap()).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(keys("notes", "id"), [100, 103, 104, 105], "{located:#?}");
        assert_eq!(keys("contact_roles", "rowid"), [1, 3]);
        assert_eq!(located.len(), 7);

        // An erasure through them deletes exactly those rows; Acme's note stays.
        let before = dump_tables(&c, &["notes", "element_contact"]).await;
        let steps: Vec<Step> = located
            .iter()
            .filter(|l| l.collection != "contacts")
            .map(|l| Step { collection: l.collection.clone(), key: l.key.clone(), change: Change::Delete })
            .collect();
        execute(&c, &steps, &pseudonymiser()).await;
        let after = dump_tables(&c, &["notes", "element_contact"]).await;
        assert_eq!(before["notes"].len() - 4, after["notes"].len());
        let left: Vec<i64> = after["notes"].iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(left, [101, 102, 106]);
        let left: Vec<i64> = after["element_contact"].iter().map(|r| r["rowid"].as_i64().unwrap()).collect();
        assert_eq!(left, [2, 4, 5, 6, 7]);
    })
    .await;
}

/// Every row of `tables`, ordered by their first column.
async fn dump_tables(c: &SqlConnector, tables: &[&str]) -> BTreeMap<String, Vec<Record>> {
    let pool = c.pool().await.unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let mut rows: Vec<Record> = pool
            .fetch(format!("SELECT * FROM {} ORDER BY 1", c.dialect.quote(t)), Vec::new())
            .map(|r| r.unwrap())
            .collect()
            .await;
        rows.sort_by_key(|r| r.values().next().map(ToString::to_string));
        out.insert(t.to_string(), rows);
    }
    out
}

#[tokio::test]
async fn a_row_reached_by_several_references_is_given_once() {
    on_each_database(|db| async move {
        db.exec(POLY).await;
        // Notes on her contact, and notes on her company: a list of references, plus her address.
        let c = connector(
            &db.url,
            r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email"]
[[collections]]
name = "companies"
table = "companies"
via = { collection = "contacts", column = "id", references = "company_id" }
[[collections]]
name = "notes"
table = "notes"
columns = ["body"]
email_columns = ["author"]
# Checked by the parser: only the rows found by their author, not those reached by reference.
email_formats = { author = "address" }
via = [
  { collection = "contacts", column = "res_id", references = "id", where = "res_model = 'res.partner'" },
  { collection = "companies", column = "res_id", references = "id", where = "res_model = 'res.company'" },
]
key = ["id"]
erasure = { action = "delete" }
"#,
        );
        let sink = collect(&c, "jeanne@x.fr").await;
        // 104 is reached by its author and through her company (Globex): once. The key read to
        // merge them is not exported.
        let bodies: Vec<&str> = sink.records("notes").iter().map(|r| r["body"].as_str().unwrap()).collect();
        assert_eq!(bodies.len(), 4, "{bodies:?}");
        let mut sorted = bodies.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4, "each note once: {bodies:?}");
        assert!(!bodies.iter().any(|b| b.contains("Acme")), "{bodies:?}");
        assert!(sink.records("notes").iter().all(|r| r.keys().collect::<Vec<_>>() == ["body"]));
        let located = c.locate(&subject("jeanne@x.fr")).await.unwrap();
        let mut ids: Vec<i64> = located.iter().map(|l| l.key["id"].as_i64().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(ids, [100, 103, 104, 105]);
    })
    .await;
}

#[tokio::test]
async fn a_rule_reads_a_value_of_the_parent_row() {
    on_each_database(|db| async move {
        db.exec(SCHEMA).await;
        let c = connector(
            &db.url,
            r#"
[[collections]]
name = "contacts"
table = "contacts"
email_columns = ["email", "email2"]
[[collections]]
name = "orders"
table = "orders"
columns = ["id", "total"]
via = { collection = "contacts", column = "contact_id", references = "id" }
[[collections]]
name = "order_lines"
table = "order_lines"
via = { collection = "orders", column = "order_id", references = "id" }
key = ["id"]
erasure = { action = "retain", basis = "legal-obligation", years = 10, from_column = "orders.ordered_on", law = "Code de commerce, art. L123-22" }
"#,
        );
        let located = c.locate(&subject("jeanne.martin@example.fr")).await.unwrap();
        let on = |id: i64| {
            let l = located.iter().find(|l| l.key["id"] == json!(id)).unwrap_or_else(|| panic!("{located:#?}"));
            Value::Object(l.values.clone())
        };
        assert_eq!(on(100), json!({"orders.ordered_on": "2024-03-01"}));
        assert_eq!(on(101), json!({"orders.ordered_on": "2024-03-01"}));
        assert_eq!(on(102), json!({"orders.ordered_on": "2023-12-31"}));
        assert_eq!(located.len(), 3);
        // The export is unchanged by it: the parent's date is not exported where `columns` leaves it out.
        let sink = collect(&c, "jeanne.martin@example.fr").await;
        assert!(sink.records("orders").iter().all(|r| r.keys().collect::<Vec<_>>() == ["id", "total"]));
        assert!(sink.records("order_lines").iter().all(|r| !r.contains_key("orders.ordered_on")));
        // A step on such a collection never looks for the parent's column on its own table.
        let outcomes = execute(&c, &[delete("order_lines", json!(102))], &pseudonymiser()).await;
        assert_eq!(outcomes.len(), 1);
        let left = dump_tables(&c, &["order_lines"]).await;
        let ids: Vec<i64> = left["order_lines"].iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [100, 101, 103]);
    })
    .await;
}

#[tokio::test]
async fn check_names_a_condition_or_lookup_that_does_not_exist() {
    on_each_database(|db| async move {
        db.exec(POLY).await;
        let err = |collections: &str| {
            let c = connector(&db.url, collections);
            async move { c.check().await.expect_err("check passed").message }
        };
        let notes =
            POLY_COLLECTIONS.replace("where = \"res_model = 'res.partner'\"", "where = \"res_modle = 'res.partner'\"");
        assert_eq!(
            err(&notes).await,
            format!(
                "column res_modle not found in table notes of database {} (collection notes, source crm, read by the \
                 `where` of `via` res_id)",
                c_database(db)
            )
        );
        let roles = POLY_COLLECTIONS.replace("type.element IN", "type.elemnt IN");
        assert_eq!(
            err(&roles).await,
            format!(
                "column elemnt not found in table c_type_contact of database {} (collection contact_roles, source crm, \
                 `lookups.type`)",
                c_database(db)
            )
        );
        let table = POLY_COLLECTIONS.replace("table = \"c_type_contact\"", "table = \"c_type_contacts\"");
        let message = err(&table).await;
        assert!(message.contains("c_type_contacts") && message.ends_with("(read by `lookups.type`)"), "{message}");
        let fine = connector(&db.url, POLY_COLLECTIONS).check().await.unwrap();
        assert!(fine.notes.iter().any(|n| n.contains("table element_contact (collection contact_roles)")));
    })
    .await;
}

fn c_database(db: &TestDb) -> String {
    connector(&db.url, COLLECTIONS).database.clone()
}

#[tokio::test]
async fn a_reference_without_an_index_is_reported() {
    on_each_database(|db| async move {
        db.exec(POLY).await;
        let c = connector(&db.url, POLY_COLLECTIONS);
        let mut unindexed = c.unindexed_references().await.unwrap();
        unindexed.sort();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            unindexed,
            [pair("contact_roles", "fk_socpeople"), pair("notes", "res_id"), pair("recent_orders", "contact_id")]
        );
        db.exec("CREATE INDEX notes_res ON notes (res_id, res_model);\nCREATE INDEX ec_people ON element_contact (fk_socpeople)").await;
        let c = connector(&db.url, POLY_COLLECTIONS);
        assert_eq!(c.unindexed_references().await.unwrap(), [pair("recent_orders", "contact_id")]);
    })
    .await;
}
