//! Queue benchmark (issue 6): the staff queue page with 100,000 requests in the store must take
//! under 50 ms of server time, on SQLite and on PostgreSQL.
//!
//! ```text
//! CARGO_PROFILE_DEV_OPT_LEVEL=2 CARGO_PROFILE_DEV_DEBUG=false cargo build --example queue_bench
//! target/debug/examples/queue_bench                        # SQLite only
//! DOSSIER_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres target/debug/examples/queue_bench
//! target/debug/examples/queue_bench 20000                   # another number of requests
//! ```
//!
//! For each backend it starts the real server (`Application::build`, port 0) on a fresh store (a
//! new SQLite file; a new PostgreSQL database, created on the server of `DOSSIER_BENCH_POSTGRES_URL`
//! and dropped at the end), seeds the requests straight into the store with a realistic spread
//! (three years of receipts, statuses, rights, four deadline policies, five assignees and nobody),
//! signs a staff member in, then times the queue page over HTTP on loopback: 3 warm-up runs and
//! 50 measured runs per case, reported as p50 / p95 / max of the time from sending the request to
//! the last byte of the page (server time plus a loopback round trip).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use dossier::clock::ManualClock;
use dossier::config::{
    ExportSettings, JobSettings, MailSettings, MailTransport, RateLimitSettings, SecuritySettings, Settings,
    demo_controller,
};
use dossier::crypto::SecretKey;
use dossier::domain::{EmailAddress, Role};
use dossier::startup::Application;
use sqlx::Connection;

const RUNS: usize = 50;
const WARM_UP: usize = 3;
const BATCH: usize = 500;

/// Deterministic pseudo-random numbers, so every run seeds the same data.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Picks from `(weight, value)` pairs.
    fn pick<T: Copy>(&mut self, choices: &[(u64, T)]) -> T {
        let total: u64 = choices.iter().map(|c| c.0).sum();
        let mut r = self.next() % total;
        for (w, v) in choices {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        choices[0].1
    }
}

fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

struct Bench {
    client: awc::Client,
    base: String,
    cookie: String,
}

impl Bench {
    async fn get(&self, path: &str) -> anyhow::Result<(u16, usize)> {
        let mut res = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("cookie", self.cookie.clone()))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let body = res.body().limit(64 << 20).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((res.status().as_u16(), body.len()))
    }

    async fn time(&self, label: &str, path: &str) -> anyhow::Result<()> {
        for _ in 0..WARM_UP {
            let (status, _) = self.get(path).await?;
            anyhow::ensure!(status == 200, "{path}: HTTP {status}");
        }
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let (status, n) = self.get(path).await?;
            times.push(start.elapsed());
            anyhow::ensure!(status == 200, "{path}: HTTP {status}");
            bytes = n;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "  {label:<34} p50 {:>6.2} ms   p95 {:>6.2} ms   max {:>6.2} ms   ({} KB)",
            ms(p(0.50)),
            ms(p(0.95)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            bytes / 1024
        );
        Ok(())
    }
}

async fn seed(pool: &sqlx::AnyPool, count: usize, staff: &[String], today: time::Date) -> anyhow::Result<()> {
    let mut rng = Lcg(42);
    // Requests still being worked are the recent ones; older ones are closed, except access and
    // portability requests, which usually stay `ready` (answered: the export was delivered).
    let recent: &[(u64, &str)] = &[
        (10, "verified"),
        (15, "collecting"),
        (10, "awaiting_confirmation"),
        (20, "awaiting_review"),
        (5, "executing"),
        (5, "needs_attention"),
        (20, "ready"),
        (10, "completed"),
        (3, "denied"),
        (2, "cancelled"),
    ];
    let old_export: &[(u64, &str)] = &[(60, "ready"), (30, "completed"), (3, "denied"), (7, "cancelled")];
    let old_change: &[(u64, &str)] = &[(85, "completed"), (5, "denied"), (10, "cancelled")];
    let kinds: &[(u64, &str)] =
        &[(50, "access"), (10, "portability"), (5, "rectification"), (25, "erasure"), (10, "objection")];
    let policies: &[(u64, (&str, i64))] =
        &[(70, ("eu-gdpr", 31)), (15, ("uk-gdpr", 31)), (10, ("ccpa", 45)), (5, ("lgpd", 15))];
    let mut counters = std::collections::BTreeMap::new();
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut sql = String::from(
            "INSERT INTO requests (id, reference, kind, status, email, email_hash, locale, jurisdiction, channel, \
             received_at, received_on, due_on, extension_notice_by, verified_at, completed_at, assignee_id, \
             created_at, updated_at) VALUES ",
        );
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            // Three years of receipts, evenly spread, the newest today.
            let back = rng.next() % 1095;
            let received = today - time::Duration::days(back as i64);
            let kind = rng.pick(kinds);
            let status = if back <= 45 {
                rng.pick(recent)
            } else if matches!(kind, "access" | "portability") {
                rng.pick(old_export)
            } else {
                rng.pick(old_change)
            };
            let open = !matches!(status, "completed" | "denied" | "cancelled");
            let (policy, days) = rng.pick(policies);
            let due = received + time::Duration::days(days);
            let year = received.year();
            let seq = counters.entry(year).and_modify(|n| *n += 1).or_insert(1);
            let reference = format!("DSR-{year}-{seq:06}");
            let assignee =
                if rng.next() % 10 < 3 { None } else { Some(staff[(rng.next() as usize) % staff.len()].clone()) };
            let received_at = (received.midnight().assume_utc().unix_timestamp() + 36_000) * 1000;
            let completed_at = (!open).then(|| received_at + (rng.next() % 40) as i64 * 86_400_000);
            let id = dossier::crypto::new_id();
            let email = format!("person{}@example.org", done + i);
            rows.push((
                id,
                reference,
                kind,
                status,
                email.clone(),
                dossier::crypto::sha256_hex(email.as_bytes()),
                policy,
                received_at,
                date_text(received),
                date_text(due),
                completed_at,
                assignee,
            ));
            let b = i * 12;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, 'en', ${}, 'web', ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 10,
                b + 8,
                b + 11,
                b + 12,
                b + 8,
                b + 8
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in rows {
            q = q
                .bind(r.0)
                .bind(r.1)
                .bind(r.2)
                .bind(r.3)
                .bind(r.4)
                .bind(r.5)
                .bind(r.6)
                .bind(r.7)
                .bind(r.8)
                .bind(r.9)
                .bind(r.10)
                .bind(r.11);
        }
        q.execute(pool).await.context("seeding requests")?;
        done += n;
    }
    Ok(())
}

async fn run(backend: &str, database_url: String, data_dir: &std::path::Path, count: usize) -> anyhow::Result<()> {
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        base_url: None,
        data_dir: data_dir.to_owned(),
        database_url,
        demo: false,
        default_locale: dossier::domain::Locale::En,
        jurisdiction: dossier::deadlines::Policy::EuGdpr,
        policies: dossier::deadlines::Policy::ALL.to_vec(),
        controller: demo_controller(),
        security: SecuritySettings { cookie_secure: Some(false), ..Default::default() },
        exports: ExportSettings::default(),
        mail: MailSettings {
            transport: MailTransport::Outbox { dir: data_dir.join("outbox") },
            from: "Exemple SAS <privacy@exemple.test>".into(),
        },
        jobs: JobSettings { workers: 0, ..Default::default() },
        rate_limits: RateLimitSettings::default(),
        reminders: Default::default(),
        requests: Default::default(),
        metrics: Default::default(),
        sources: Vec::new(),
        secret_key: SecretKey::generate(),
        export_key: SecretKey::generate(),
    };
    let clock = ManualClock::new(time::macros::datetime!(2026-03-10 09:00 UTC));
    let application = Application::build(settings, Arc::new(clock)).await?;
    let base = format!("http://127.0.0.1:{}", application.port());
    let app = application.app();
    actix_web::rt::spawn(application.into_server());

    let password = "a long benchmark passphrase";
    let mut staff = Vec::new();
    for i in 0..5 {
        let email = EmailAddress::parse(&format!("agent{i}@exemple.test")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        dossier::services::staff::create(
            &app.store,
            &email,
            &format!("Agent {i}"),
            Role::Agent,
            password,
            app.now_ms(),
        )
        .await?;
        let mut conn = app.store.conn().await?;
        let row = dossier::store::staff::by_email(&mut conn, email.as_str()).await?.context("the new account")?;
        staff.push(row.id);
    }
    let started = Instant::now();
    let today = time::macros::date!(2026 - 03 - 10);
    seed(app.store.pool(), count, &staff, today).await?;
    if backend == "PostgreSQL" {
        // What autovacuum does on a live server after a bulk load.
        sqlx::query("VACUUM ANALYZE requests").execute(app.store.pool()).await?;
    }
    println!("{backend}: {count} requests seeded in {:.1} s", started.elapsed().as_secs_f64());

    let token = match dossier::services::staff::login(&app, "agent0@exemple.test", password, "127.0.0.1").await? {
        Ok(dossier::services::staff::LoginStep::Session(token)) => token,
        _ => anyhow::bail!("the benchmark's staff member could not sign in"),
    };
    let bench = Bench {
        client: awc::Client::builder().disable_redirects().timeout(Duration::from_secs(60)).finish(),
        base,
        cookie: format!("dossier_staff={token}"),
    };
    // A cursor about 90 % of the way through the whole queue, a reference and a person to look up.
    let offset = (count * 9 / 10) as i64;
    let (due, id): (String, String) =
        sqlx::query_as("SELECT due_on, id FROM requests ORDER BY due_on, id LIMIT 1 OFFSET $1")
            .bind(offset)
            .fetch_one(app.store.pool())
            .await?;
    let (reference, email_hash): (String, String) =
        sqlx::query_as("SELECT reference, email_hash FROM requests ORDER BY id LIMIT 1 OFFSET $1")
            .bind(offset / 3)
            .fetch_one(app.store.pool())
            .await?;
    let cases = [
        ("first page", "/staff".to_owned()),
        ("status + policy + mine", "/staff?status=awaiting_review&jurisdiction=eu-gdpr&assignee=mine".to_owned()),
        ("unassigned, overdue", "/staff?deadline=overdue&assignee=none".to_owned()),
        ("mine, due soon", "/staff?deadline=due_soon&assignee=mine".to_owned()),
        ("right + policy (rare)", "/staff?kind=rectification&jurisdiction=lgpd".to_owned()),
        ("deep keyset page (90 %)", format!("/staff?after={due}_{id}")),
        ("search by reference", format!("/staff?q={reference}")),
        ("search by person (keyed hash)", format!("/staff?person={email_hash}")),
        ("dashboard (12 months)", "/staff/dashboard".to_owned()),
    ];
    for (label, path) in &cases {
        bench.time(label, path).await?;
    }
    Ok(())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("dossier-queue-bench-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let result = run("SQLite", sqlite, &dir.join("sqlite"), count).await;
    if let Err(e) = &result {
        eprintln!("SQLite: {e:#}");
    }
    if let Ok(server) = std::env::var("DOSSIER_BENCH_POSTGRES_URL") {
        let name = format!("dossier_bench_{}", &dossier::crypto::new_id()[..12]);
        let (base, _) = server.rsplit_once('/').context("DOSSIER_BENCH_POSTGRES_URL needs a database name")?;
        let mut admin = sqlx::PgConnection::connect(&server).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        let outcome = run("PostgreSQL", format!("{base}/{name}"), &dir.join("postgres"), count).await;
        if let Err(e) = &outcome {
            eprintln!("PostgreSQL: {e:#}");
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
    } else {
        println!("PostgreSQL: skipped (set DOSSIER_BENCH_POSTGRES_URL)");
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}
