//! Connector benchmark: one person's access collection from a MariaDB CRM of 1,000,000 contacts
//! and 13,000,000 related rows, next to the same indexed queries run directly with sqlx.
//!
//! ```text
//! cargo run --release --example crm_bench                      # 1,000,000 contacts (seeded once)
//! cargo run --release --example crm_bench -- 100000            # a smaller CRM, for comparison
//! DOSSIER_BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306 …        # the server (default shown)
//! ```
//!
//! The CRM lives in the database `dossier_crm_bench_<contacts>`, seeded in the server itself from
//! MariaDB's `seq_1_to_N` tables (about two minutes for the full size) and kept for the next run;
//! pass `--reseed` to build it again. Per contact: 5 events, 2 invoices and 3 notes on average, spread
//! at random; a company shared by 10 contacts; a third of the addresses stored with other letter
//! case and surrounding spaces, matched through an indexed generated column `LOWER(TRIM(email))`
//! (`normalised_email_columns`), since MariaDB cannot index the expression itself. Two shapes of
//! real CRMs (issue 13): `attachments` point at a contact *or* a company through
//! `(res_model, res_id)` with the same integers (a polymorphic reference, followed with a `where`),
//! and `events` are reached by two paths, their `contact_id` and an `attendees` relation table
//! (a multi-path collection, each event once).
//!
//! For 200 people picked at random it times `SqlConnector::collect` (every row decoded to JSON and
//! handed to a sink, as a real access request does) and the direct queries (the same statements a
//! hand-written program would run on the same indexes, rows fetched and dropped), alternating which
//! runs first, and prints median, p95 and their ratio, plus the peak RSS. With `--expression`, both
//! search `LOWER(TRIM(email))` instead of the indexed column (what happens without
//! `normalised_email_columns` on MariaDB: every search reads the whole table), for 20 people.

use std::time::{Duration, Instant};

use dossier::connectors::sql::{SqlConnector, SqlSourceConfig};
use dossier::connectors::{Connector, Record, RecordSink, Subject};
use dossier::domain::EmailAddress;
use sqlx::{AssertSqlSafe, Connection, Executor, MySqlConnection, MySqlPool, Row};

const PEOPLE: usize = 200;
const WARM_UP: usize = 20;

fn peak_rss_kib() -> u64 {
    rss_field("VmHWM:")
}

fn rss_kib() -> u64 {
    rss_field("VmRSS:")
}

fn rss_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Counts what the connector hands over, as the export spool would receive it.
#[derive(Default)]
struct CountingSink {
    records: usize,
    bytes: usize,
}

impl RecordSink for CountingSink {
    fn begin_collection(&mut self, _collection: &str, _fields: &[String]) -> anyhow::Result<()> {
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        self.records += 1;
        self.bytes += serde_json::to_vec(&record)?.len();
        Ok(())
    }
}

fn seed_script(contacts: u64) -> Vec<String> {
    let companies = (contacts / 10).max(1);
    let events = contacts * 5;
    let invoices = contacts * 2;
    let notes = contacts * 3;
    let mut script = vec![
        "CREATE TABLE companies (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, vat VARCHAR(20), city VARCHAR(60))"
            .to_string(),
        "CREATE TABLE contacts (id INT PRIMARY KEY, company_id INT, first_name VARCHAR(60), last_name VARCHAR(60),
           email VARCHAR(190), email_norm VARCHAR(190) AS (LOWER(TRIM(email))) VIRTUAL, phone VARCHAR(30),
           created_at DATETIME)"
            .to_string(),
        "CREATE TABLE events (id BIGINT PRIMARY KEY, contact_id INT NOT NULL, kind VARCHAR(20), at DATETIME,
           detail VARCHAR(200))"
            .to_string(),
        "CREATE TABLE invoices (id INT PRIMARY KEY, contact_id INT NOT NULL, number VARCHAR(20),
           total DECIMAL(12,2), issued_on DATE)"
            .to_string(),
        "CREATE TABLE notes (id INT PRIMARY KEY, contact_id INT NOT NULL, body TEXT, created_at DATETIME)".to_string(),
        "CREATE TABLE attendees (id INT PRIMARY KEY, event_id BIGINT NOT NULL, contact_id INT NOT NULL)".to_string(),
        "CREATE TABLE attachments (id INT PRIMARY KEY, res_model VARCHAR(20) NOT NULL, res_id INT NOT NULL,
           name VARCHAR(100))"
            .to_string(),
        format!(
            "INSERT INTO companies SELECT seq, CONCAT('Société ', seq), CONCAT('FR', LPAD(seq, 11, '0')),
               ELT(1 + seq % 5, 'Paris', 'Lyon', 'Marseille', 'Lille', 'Nantes') FROM seq_1_to_{companies}"
        ),
    ];
    // In slices of one million rows, so no single transaction grows huge.
    let slices = |total: u64, insert: &dyn Fn(u64, u64) -> String, script: &mut Vec<String>| {
        let mut from = 1;
        while from <= total {
            let to = (from + 999_999).min(total);
            script.push(insert(from, to));
            from = to + 1;
        }
    };
    slices(
        contacts,
        &|a, b| {
            format!(
                "INSERT INTO contacts (id, company_id, first_name, last_name, email, phone, created_at)
                 SELECT seq, 1 + seq % {companies}, ELT(1 + seq % 6, 'Jeanne', 'Paul', 'Élodie', 'Marc', 'Zoé', 'Luc'),
                   CONCAT('Nom', seq),
                   IF(seq % 3 = 0, CONCAT(' Person.', seq, '@Example.COM '), CONCAT('person.', seq, '@example.com')),
                   CONCAT('+336', LPAD(seq, 8, '0')), '2020-01-01' + INTERVAL (seq % 1500) DAY
                 FROM seq_{a}_to_{b}"
            )
        },
        &mut script,
    );
    // Related rows point at a contact chosen by a multiplicative hash: spread at random, about
    // the average per contact, some contacts with none.
    let related = |table: &str, total: u64, columns: &str, values: &str, script: &mut Vec<String>| {
        let table = table.to_string();
        let columns = columns.to_string();
        let values = values.to_string();
        slices(
            total,
            &move |a, b| {
                format!(
                    "INSERT INTO {table} ({columns}) SELECT seq, 1 + (seq * 2654435761) % {contacts}, {values} \
                     FROM seq_{a}_to_{b}"
                )
            },
            script,
        );
    };
    related(
        "events",
        events,
        "id, contact_id, kind, at, detail",
        "ELT(1 + seq % 4, 'login', 'order', 'mail', 'call'), '2024-01-01' + INTERVAL (seq % 60000000) SECOND, \
         CONCAT('Événement ', seq, ' depuis le site')",
        &mut script,
    );
    related(
        "invoices",
        invoices,
        "id, contact_id, number, total, issued_on",
        "CONCAT('F', seq), (seq % 100000) / 100, '2018-01-01' + INTERVAL (seq % 3000) DAY",
        &mut script,
    );
    related(
        "notes",
        notes,
        "id, contact_id, body, created_at",
        "CONCAT('Appel du client, rappeler avant le ', seq % 28 + 1, ' du mois.'), \
         '2022-01-01' + INTERVAL (seq % 40000000) SECOND",
        &mut script,
    );
    // One attendee row per contact on average, on a random event (usually someone else's).
    related("attendees", contacts, "id, contact_id, event_id", &format!("1 + (seq * 40503) % {events}"), &mut script);
    // Two attachments per contact on average: half on contacts, half on companies, whose ids
    // overlap the contacts' (the trap a `via` without a condition falls into).
    slices(
        contacts * 2,
        &|a, b| {
            format!(
                "INSERT INTO attachments (id, res_model, res_id, name)
                 SELECT seq, IF(seq % 2 = 0, 'contact', 'company'),
                   IF(seq % 2 = 0, 1 + (seq * 2654435761) % {contacts}, 1 + (seq * 2654435761) % {companies}),
                   CONCAT('document-', seq, '.pdf')
                 FROM seq_{a}_to_{b}"
            )
        },
        &mut script,
    );
    // Secondary indexes after loading: faster than maintaining them row by row.
    script.extend(
        [
            "ALTER TABLE contacts ADD INDEX contacts_email_norm (email_norm), ADD INDEX contacts_company (company_id)",
            "ALTER TABLE events ADD INDEX events_contact (contact_id)",
            "ALTER TABLE invoices ADD INDEX invoices_contact (contact_id)",
            "ALTER TABLE notes ADD INDEX notes_contact (contact_id)",
            "ALTER TABLE attendees ADD INDEX attendees_contact (contact_id)",
            "ALTER TABLE attachments ADD INDEX attachments_res (res_id, res_model)",
            "ANALYZE TABLE companies, contacts, events, invoices, notes, attendees, attachments",
            "CREATE TABLE bench_seeded_v2 (contacts BIGINT NOT NULL)",
        ]
        .map(String::from),
    );
    script.push(format!("INSERT INTO bench_seeded_v2 VALUES ({contacts})"));
    script
}

const SOURCE: &str = r#"
name = "crm"
[[collections]]
name = "contacts"
table = "contacts"
normalised_email_columns = ["email_norm"]
columns = ["id", "company_id", "first_name", "last_name", "email", "phone", "created_at"]
[[collections]]
name = "companies"
table = "companies"
via = { collection = "contacts", column = "id", references = "company_id" }
[[collections]]
name = "attendance"
table = "attendees"
via = { collection = "contacts", column = "contact_id", references = "id" }
[[collections]]
name = "events"
table = "events"
key = ["id"]
via = [
  { collection = "contacts", column = "contact_id", references = "id" },
  { collection = "attendance", column = "id", references = "event_id" },
]
[[collections]]
name = "attachments"
table = "attachments"
via = { collection = "contacts", column = "res_id", references = "id", where = "res_model = 'contact'" }
[[collections]]
name = "invoices"
table = "invoices"
via = { collection = "contacts", column = "contact_id", references = "id" }
[[collections]]
name = "notes"
table = "notes"
via = { collection = "contacts", column = "contact_id", references = "id" }
"#;

/// The same statements, written by hand: the person's contacts by the indexed column, then each
/// related table by the contacts' ids (and the company by its id), the events by either path
/// (each once), the attachments by id and model.
async fn direct(pool: &MySqlPool, email: &str, column: &str) -> anyhow::Result<usize> {
    let contacts = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, company_id, first_name, last_name, email, phone, created_at FROM contacts
         WHERE {column} = ? AND CAST({column} AS BINARY) = CAST(? AS BINARY)"
    )))
    .bind(email)
    .bind(email)
    .fetch_all(pool)
    .await?;
    let mut rows = contacts.len();
    let ids: Vec<i32> = contacts.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    let companies: Vec<Option<i32>> = contacts.iter().map(|r| r.try_get("company_id")).collect::<Result<_, _>>()?;
    let companies: Vec<i32> = companies.into_iter().flatten().collect();
    if !companies.is_empty() {
        let list = vec!["?"; companies.len()].join(", ");
        let mut q = sqlx::query(AssertSqlSafe(format!("SELECT * FROM companies WHERE id IN ({list})")));
        for id in &companies {
            q = q.bind(id);
        }
        rows += q.fetch_all(pool).await?.len();
    }
    if !ids.is_empty() {
        let list = vec!["?"; ids.len()].join(", ");
        for table in ["invoices", "notes"] {
            let mut q = sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table} WHERE contact_id IN ({list})")));
            for id in &ids {
                q = q.bind(id);
            }
            rows += q.fetch_all(pool).await?.len();
        }
        let mut q = sqlx::query(AssertSqlSafe(format!("SELECT * FROM attendees WHERE contact_id IN ({list})")));
        for id in &ids {
            q = q.bind(id);
        }
        let attendees = q.fetch_all(pool).await?;
        rows += attendees.len();
        let events: Vec<i64> = attendees.iter().map(|r| r.try_get("event_id")).collect::<Result<_, _>>()?;
        let mut sql = format!("SELECT * FROM events WHERE contact_id IN ({list})");
        if !events.is_empty() {
            sql.push_str(&format!(" OR id IN ({})", vec!["?"; events.len()].join(", ")));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in &ids {
            q = q.bind(id);
        }
        for id in &events {
            q = q.bind(id);
        }
        rows += q.fetch_all(pool).await?.len();
        let mut q =
            sqlx::query(AssertSqlSafe(format!("SELECT * FROM attachments WHERE res_id IN ({list}) AND res_model = ?")));
        for id in &ids {
            q = q.bind(id);
        }
        rows += q.bind("contact").fetch_all(pool).await?.len();
    }
    Ok(rows)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reseed = args.iter().any(|a| a == "--reseed");
    let expression = args.iter().any(|a| a == "--expression");
    let (people_count, column) = if expression { (20, "LOWER(TRIM(email))") } else { (PEOPLE, "email_norm") };
    let contacts: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let server = std::env::var("DOSSIER_BENCH_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let server = server.trim_end_matches('/').to_string();
    let database = format!("dossier_crm_bench_{contacts}");
    let url = format!("{server}/{database}");

    let mut admin = MySqlConnection::connect(&server).await?;
    let seeded: Option<i64> = match MySqlConnection::connect(&url).await {
        Ok(mut c) => {
            sqlx::query_scalar("SELECT contacts FROM bench_seeded_v2").fetch_optional(&mut c).await.ok().flatten()
        }
        Err(_) => None,
    };
    if reseed || seeded != Some(contacts as i64) {
        println!("seeding {database}: {contacts} contacts, {} related rows …", contacts * 13);
        admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database}"))).await?;
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {database} CHARACTER SET utf8mb4"))).await?;
        let mut c = MySqlConnection::connect(&url).await?;
        let started = Instant::now();
        for statement in seed_script(contacts) {
            c.execute(AssertSqlSafe(statement)).await?;
        }
        println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    let counts: Vec<(String, i64)> = {
        let mut c = MySqlConnection::connect(&url).await?;
        let mut out = Vec::new();
        for table in ["contacts", "companies", "events", "invoices", "notes", "attendees", "attachments"] {
            let n: i64 =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(&mut c).await?;
            out.push((table.to_string(), n));
        }
        out
    };
    println!("{}", counts.iter().map(|(t, n)| format!("{t}: {n}")).collect::<Vec<_>>().join(", "));

    let source = if expression {
        SOURCE.replace("normalised_email_columns = [\"email_norm\"]", "email_columns = [\"email\"]")
    } else {
        SOURCE.to_string()
    };
    let config: SqlSourceConfig = toml::from_str(&format!("url = {url:?}\n{source}"))?;
    let connector = SqlConnector::new(config)?;
    let pool = MySqlPool::connect(&url).await?;
    let rss_before = rss_kib();

    // People picked by a fixed LCG, so every run measures the same ones.
    let mut state: u64 = 0x5eed;
    let mut people = Vec::new();
    for _ in 0..people_count + WARM_UP {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let id = 1 + (state >> 33) % contacts;
        people.push(EmailAddress::parse(&format!("person.{id}@example.com"))?);
    }

    let (mut via_connector, mut via_direct) = (Vec::new(), Vec::new());
    let (mut records, mut bytes) = (0, 0);
    for (i, email) in people.iter().enumerate() {
        let subject = Subject { email: email.clone() };
        let run_connector = async {
            let mut sink = CountingSink::default();
            let started = Instant::now();
            connector.collect(&subject, &mut sink).await.map_err(|e| anyhow::anyhow!("{e}: {:?}", e.cause))?;
            anyhow::Ok((started.elapsed(), sink))
        };
        let run_direct = async {
            let started = Instant::now();
            let rows = direct(&pool, email.as_str(), column).await?;
            anyhow::Ok((started.elapsed(), rows))
        };
        let ((c, sink), (d, rows)) = if i % 2 == 0 {
            let c = run_connector.await?;
            (c, run_direct.await?)
        } else {
            let d = run_direct.await?;
            (run_connector.await?, d)
        };
        assert_eq!(sink.records, rows, "the connector and the direct queries found the same rows");
        if i >= WARM_UP {
            via_connector.push(c);
            via_direct.push(d);
            records += sink.records;
            bytes += sink.bytes;
        }
    }
    via_connector.sort();
    via_direct.sort();
    let (c50, d50) = (percentile(&via_connector, 0.5), percentile(&via_direct, 0.5));
    println!(
        "{people_count} people, {:.1} records ({:.1} KB of JSON) per person on average",
        records as f64 / people_count as f64,
        bytes as f64 / people_count as f64 / 1000.0
    );
    println!(
        "connector: median {}, p95 {}, max {}",
        ms(c50),
        ms(percentile(&via_connector, 0.95)),
        ms(*via_connector.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "direct:    median {}, p95 {}, max {}",
        ms(d50),
        ms(percentile(&via_direct, 0.95)),
        ms(*via_direct.last().unwrap_or(&Duration::ZERO))
    );
    println!("ratio of medians: {:.2}", c50.as_secs_f64() / d50.as_secs_f64());
    println!("RSS before the runs {} KiB, peak {} KiB", rss_before, peak_rss_kib());
    Ok(())
}
