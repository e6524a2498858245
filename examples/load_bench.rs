//! Load benchmark: N concurrent browsers submitting the request form for a fixed time, against
//! Dossier (SQLite in a temporary folder, two job workers delivering the mail meanwhile) and
//! against a bare actix-web handler serving the same two routes, in the same run.
//!
//! ```text
//! cargo run --release --example load_bench -- --clients 200 --seconds 60
//! cargo run --example load_bench -- --clients 50 --seconds 5 --database-url postgres://…/db
//! ```
//!
//! Prints submissions/s, HTTP requests/s, latency percentiles and status counts for both, then
//! checks the store: every accepted submission stored exactly once. Exits non-zero on a 5xx, a
//! connection error or a store discrepancy. The driver is shared with `tests/api/load.rs`.

#[path = "../tests/api/load/driver.rs"]
mod driver;

use std::process::ExitCode;
use std::time::Duration;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = arg(&args, "--clients").map(|v| v.parse()).transpose()?.unwrap_or(200);
    let seconds: u64 = arg(&args, "--seconds").map(|v| v.parse()).transpose()?.unwrap_or(60);
    let database_url = arg(&args, "--database-url");
    let duration = Duration::from_secs(seconds);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("{clients} clients for {seconds} s on each target; {cores} CPUs");

    let (bare_addr, bare) = driver::start_bare().await?;
    let mut bare_report = driver::drive(bare_addr, clients, duration, "bare").await;
    bare.stop(true).await;
    println!("{}", bare_report.summary("bare actix-web handler"));

    let dir = std::env::temp_dir().join(format!("dossier-load-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir)?;
    let dossier = driver::start_dossier(&dir, database_url, 2, |_| {}).await?;
    let run = dossier::crypto::new_id()[..12].to_owned();
    let mut report = driver::drive(dossier.addr, clients, duration, &run).await;
    println!("{}", report.summary("dossier"));
    let check = driver::check_store(&dossier.app, &run, &report.accepted).await?;
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM emails WHERE sent_at IS NOT NULL")
        .fetch_one(dossier.app.store.pool())
        .await?;
    println!(
        "store: {} accepted, {} stored, {} missing, {} stored twice, {} stored unannounced, {} without exactly one \
         email, {} duplicate references; {sent} verification emails delivered by the workers during the run",
        report.accepted.len(),
        check.stored,
        check.missing.len(),
        check.duplicated,
        check.unannounced,
        check.without_one_email,
        check.duplicate_references,
    );
    dossier.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    for sample in report.error_samples.iter().chain(&bare_report.error_samples).take(5) {
        eprintln!("error sample: {sample}");
    }
    let ok = check.ok()
        && report.errors == 0
        && report.server_errors() == 0
        && bare_report.errors == 0
        && bare_report.server_errors() == 0;
    println!("{}", if ok { "OK" } else { "FAILED" });
    Ok(ok)
}
