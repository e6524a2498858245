//! Address-list benchmark: finding one person's address inside 1,000,000 address lists
//! (`"Marie Durand" <marie.durand17@gmail.com>, jean.petit4@orange.fr; team@company.example`),
//! on PostgreSQL and MariaDB, with the index each database can use (docs/connectors.md,
//! "Indexes for address formats"), next to the same search written by hand.
//!
//! ```text
//! cargo run --release --example address_bench              # 1,000,000 rows (seeded once)
//! cargo run --release --example address_bench -- 100000    # a smaller table
//! DOSSIER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432   (default shown)
//! DOSSIER_BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306             (default shown)
//! ```
//!
//! Each database gets `dossier_address_bench_<rows>`, seeded in the server and kept for the next
//! run (`--reseed` builds it again). A row's list holds its own person (with a display name), one
//! other person, and a team address every row shares; 30% of the people are at `gmail.com`, 20%
//! at `orange.fr`, the rest spread over 1,000 domains, so the search must pick a few rows among
//! many that share most of their text. Beside the table, `message_addresses` holds one row per
//! address (what the documented triggers keep up to date; the benchmark fills it directly).
//!
//! Three ways, each for 50 people picked at random, connector and direct alternating:
//! - `trigram` (PostgreSQL): `email_formats = { email_to = "list" }` on a table with a trigram
//!   GIN index on `LOWER(email_to)`;
//! - `scan` (MariaDB): the same configuration, no index can serve it;
//! - `lookup` (both): the lookup table as a normalised root collection, the messages reached
//!   through it with a `via`.

use std::time::{Duration, Instant};

use dossier::connectors::address::{self, AddressFormat};
use dossier::connectors::sql::{SqlConnector, SqlSourceConfig};
use dossier::connectors::{Connector, Record, RecordSink, Subject};
use dossier::domain::EmailAddress;
use sqlx::{AnyPool, AssertSqlSafe, Connection, Executor, Row};

const PEOPLE: usize = 50;
const WARM_UP: usize = 5;
const FIRST: &str = "'marie','jean','elodie','luc','sophie','paul','anne','marc','julie','pierre',\
                     'lea','hugo','chloe','louis','emma','nathan','ines','theo','camille','tom'";
const LAST: &str = "'durand','petit','martin','bernard','dubois','moreau','laurent','simon','michel','lefevre',\
                    'leroy','roux','david','bertrand','morel','fournier','girard','bonnet','dupont','lambert'";

/// The address of person `k` (an SQL expression in `k`), the same rule in both dialects.
fn address_sql(k: &str, postgres: bool) -> String {
    let k = format!("({k})");
    let domain = format!(
        "CASE WHEN {k} % 10 < 3 THEN 'gmail.com' WHEN {k} % 10 < 5 THEN 'orange.fr' \
         ELSE CONCAT('d', {k} % 1000, '.example.com') END"
    );
    if postgres {
        format!(
            "CONCAT((ARRAY[{FIRST}])[(1 + {k} % 20)::int], '.', (ARRAY[{LAST}])[(1 + ({k} / 20) % 20)::int], {k}, '@', \
             {domain})"
        )
    } else {
        format!("CONCAT(ELT(1 + {k} % 20, {FIRST}), '.', ELT(1 + ({k} DIV 20) % 20, {LAST}), {k}, '@', {domain})")
    }
}

/// The rust side of [`address_sql`]: person `k`'s address.
fn address_of(k: u64) -> String {
    let first: Vec<&str> = FIRST.split(',').map(|s| s.trim_matches('\'')).collect();
    let last: Vec<&str> = LAST.split(',').map(|s| s.trim_matches('\'')).collect();
    let domain = match k % 10 {
        0..=2 => "gmail.com".to_string(),
        3 | 4 => "orange.fr".to_string(),
        _ => format!("d{}.example.com", k % 1000),
    };
    format!("{}.{}{k}@{domain}", first[(k % 20) as usize], last[((k / 20) % 20) as usize])
}

fn seed(rows: u64, postgres: bool) -> Vec<String> {
    let (series, n, other) = if postgres {
        (format!("generate_series(1::bigint, {rows}::bigint) AS s(n)"), "n", format!("(n * 7919) % {rows} + 1"))
    } else {
        (format!("seq_1_to_{rows}"), "seq", format!("(seq * 7919) % {rows} + 1"))
    };
    let own = address_sql(n, postgres);
    let other_addr = address_sql(&other, postgres);
    let name = if postgres {
        format!("INITCAP(SPLIT_PART({own}, '.', 1))")
    } else {
        format!("CONCAT(UCASE(LEFT({own}, 1)), SUBSTRING(SUBSTRING_INDEX({own}, '.', 1), 2))")
    };
    let text = if postgres { "TEXT" } else { "VARCHAR(400)" };
    let mut script = vec![
        format!("CREATE TABLE messages (id INT PRIMARY KEY, subject VARCHAR(100), email_to {text} NOT NULL)"),
        "CREATE TABLE message_addresses (message_id INT NOT NULL, address VARCHAR(255) NOT NULL)".to_string(),
        format!(
            "INSERT INTO messages (id, subject, email_to) SELECT {n}, CONCAT('Message ', {n}), \
             CONCAT('\"', {name}, '\" <', {own}, '>, ', {other_addr}, '; team@company.example') FROM {series}"
        ),
        format!("INSERT INTO message_addresses SELECT {n}, {own} FROM {series}"),
        format!("INSERT INTO message_addresses SELECT {n}, {other_addr} FROM {series}"),
        format!("INSERT INTO message_addresses SELECT {n}, 'team@company.example' FROM {series}"),
        "CREATE INDEX message_addresses_address ON message_addresses (address)".to_string(),
        "CREATE INDEX message_addresses_message ON message_addresses (message_id)".to_string(),
    ];
    if postgres {
        script.push("CREATE EXTENSION IF NOT EXISTS pg_trgm".to_string());
        script.push("CREATE INDEX messages_email_to_trgm ON messages USING gin (LOWER(email_to) gin_trgm_ops)".into());
        script.push("ANALYZE".to_string());
    } else {
        script.push("ANALYZE TABLE messages, message_addresses".to_string());
    }
    script.push("CREATE TABLE bench_seeded (rows_seeded BIGINT NOT NULL)".to_string());
    script.push(format!("INSERT INTO bench_seeded VALUES ({rows})"));
    script
}

const LIST_SOURCE: &str = r#"
name = "mail"
[[collections]]
name = "messages"
table = "messages"
email_columns = ["email_to"]
email_formats = { email_to = "list" }
"#;

const LOOKUP_SOURCE: &str = r#"
name = "mail"
[[collections]]
name = "addresses"
table = "message_addresses"
normalised_email_columns = ["address"]
[[collections]]
name = "messages"
table = "messages"
via = { collection = "addresses", column = "id", references = "message_id" }
"#;

#[derive(Default)]
struct CountingSink {
    records: usize,
    messages: usize,
    in_messages: bool,
}

impl RecordSink for CountingSink {
    fn begin_collection(&mut self, collection: &str, _fields: &[String]) -> anyhow::Result<()> {
        self.in_messages = collection == "messages";
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        self.records += 1;
        self.messages += usize::from(self.in_messages);
        std::hint::black_box(serde_json::to_vec(&record)?);
        Ok(())
    }
}

/// The hand-written search: the same prefilter and the same exact check, or the lookup join.
async fn direct(pool: &AnyPool, way: &str, email: &str, postgres: bool) -> anyhow::Result<usize> {
    let p = |i: usize| if postgres { format!("${i}") } else { "?".to_string() };
    if way == "lookup" {
        let sql = format!(
            "SELECT m.id, m.subject, m.email_to FROM message_addresses a JOIN messages m ON m.id = a.message_id \
             WHERE a.address = {}",
            p(1)
        );
        return Ok(sqlx::query(AssertSqlSafe(sql)).bind(email).fetch_all(pool).await?.len());
    }
    let pattern = format!("%{}%", email.replace('!', "!!").replace('%', "!%").replace('_', "!_"));
    let sql = format!("SELECT id, subject, email_to FROM messages WHERE LOWER(email_to) LIKE {} ESCAPE '!'", p(1));
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(pattern).fetch_all(pool).await?;
    let mut found = 0;
    for r in rows {
        let value: String = r.try_get("email_to")?;
        found += usize::from(address::holds(&value, AddressFormat::List, email));
    }
    Ok(found)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(server: &str, postgres: bool, rows: u64, reseed: bool) -> anyhow::Result<()> {
    let database = format!("dossier_address_bench_{rows}");
    let url = format!("{server}/{database}");
    let seeded: Option<i64> = match sqlx::AnyConnection::connect(&url).await {
        Ok(mut c) => sqlx::query("SELECT rows_seeded FROM bench_seeded")
            .fetch_optional(&mut c)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<i64, _>(0).ok()),
        Err(_) => None,
    };
    let admin_url = if postgres { format!("{server}/postgres") } else { server.to_string() };
    if reseed || seeded != Some(rows as i64) {
        println!("seeding {database}: {rows} rows …");
        let mut admin = sqlx::AnyConnection::connect(&admin_url).await?;
        let force = if postgres { " WITH (FORCE)" } else { "" };
        admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database}{force}"))).await?;
        let charset = if postgres { "" } else { " CHARACTER SET utf8mb4" };
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {database}{charset}"))).await?;
        let mut c = sqlx::AnyConnection::connect(&url).await?;
        let started = Instant::now();
        for statement in seed(rows, postgres) {
            c.execute(AssertSqlSafe(statement)).await?;
        }
        println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    let pool = AnyPool::connect(&url).await?;
    let ways: &[&str] = if postgres { &["trigram", "lookup"] } else { &["scan", "lookup"] };
    for way in ways {
        let source = if *way == "lookup" { LOOKUP_SOURCE } else { LIST_SOURCE };
        let config: SqlSourceConfig = toml::from_str(&format!("url = {url:?}\n{source}"))?;
        let connector = SqlConnector::new(config)?;
        let mut state: u64 = 0x5eed;
        let people = if *way == "scan" { 10 } else { PEOPLE };
        let (mut via_connector, mut via_direct, mut found) = (Vec::new(), Vec::new(), 0);
        for i in 0..people + WARM_UP {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let email = address_of(1 + (state >> 33) % rows);
            let subject = Subject { email: EmailAddress::parse(&email)? };
            let run_connector = async {
                let mut sink = CountingSink::default();
                let started = Instant::now();
                connector.collect(&subject, &mut sink).await.map_err(|e| anyhow::anyhow!("{e}: {:?}", e.cause))?;
                anyhow::Ok((started.elapsed(), sink.messages))
            };
            let run_direct = async {
                let started = Instant::now();
                let n = direct(&pool, way, &email, postgres).await?;
                anyhow::Ok((started.elapsed(), n))
            };
            let ((c, messages), (d, n)) = if i % 2 == 0 {
                let c = run_connector.await?;
                (c, run_direct.await?)
            } else {
                let d = run_direct.await?;
                (run_connector.await?, d)
            };
            assert_eq!(messages, n, "{email}: the connector and the direct search found the same messages");
            if i >= WARM_UP {
                via_connector.push(c);
                via_direct.push(d);
                found += messages;
            }
        }
        via_connector.sort();
        via_direct.sort();
        let (c50, d50) = (percentile(&via_connector, 0.5), percentile(&via_direct, 0.5));
        println!(
            "{} {way}, {rows} rows, {people} people, {:.1} messages each: connector median {} p95 {}, \
             direct median {} p95 {}, ratio {:.2}",
            if postgres { "PostgreSQL" } else { "MariaDB" },
            found as f64 / people as f64,
            ms(c50),
            ms(percentile(&via_connector, 0.95)),
            ms(d50),
            ms(percentile(&via_direct, 0.95)),
            c50.as_secs_f64() / d50.as_secs_f64()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reseed = args.iter().any(|a| a == "--reseed");
    let rows: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let pg =
        std::env::var("DOSSIER_BENCH_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let my = std::env::var("DOSSIER_BENCH_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    run(pg.trim_end_matches('/'), true, rows, reseed).await?;
    run(my.trim_end_matches('/'), false, rows, reseed).await?;
    Ok(())
}
