//! Behind a reverse proxy, and under load.
//!
//! The per-IP limit counts the client a trusted proxy forwards, and the TCP peer otherwise (a
//! spoofed `X-Forwarded-For` dodges nothing). Then the bounded load test: 200 browsers submitting
//! the request form for a few seconds through the trusted-proxy path, with the job workers
//! delivering mail meanwhile: no 5xx, no connection error, every accepted request stored once.
//! `examples/load_bench.rs` runs the same driver for a minute and prints the numbers.

pub(crate) mod driver;

use std::time::Duration;

use driver::{Client, check_store, drive, start_dossier};

use crate::helpers::TempDir;

/// Fetches the form and posts a request for `email`, coming `X-Forwarded-For` `forwarded`.
/// Returns the POST's status.
async fn submit_via(client: &mut Client, forwarded: &str, email: &str) -> u16 {
    let headers = [("X-Forwarded-For", forwarded), ("Sec-Fetch-Site", "same-origin")];
    let form = client.send("GET", "/", &headers, None).await.unwrap();
    assert_eq!(form.status, 200);
    let html = String::from_utf8_lossy(&form.body).into_owned();
    let csrf = crate::helpers::hidden(&html, "csrf").unwrap();
    let body = format!("email={}&kind=access&csrf={csrf}", email.replace('@', "%40"));
    client.send("POST", "/requests", &headers, Some(&body)).await.unwrap().status
}

/// How many requests are stored for `email`.
async fn stored(app: &dossier::app::App, email: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE email = $1")
        .bind(email)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_limit_counts_each_forwarded_client() {
    let dir = TempDir::new("proxy");
    // 127.0.0.1 (the test's connections) is a trusted proxy; two submissions per client per hour.
    let dossier = start_dossier(&dir.0, None, 0, |s| s.rate_limits.submissions_per_ip_per_hour = 2).await.unwrap();
    let mut client = Client::new(dossier.addr);
    assert_eq!(submit_via(&mut client, "198.51.100.1", "a1@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "198.51.100.1", "a2@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "198.51.100.1", "a3@example.org").await, 429, "the third from one client");
    assert_eq!(stored(&dossier.app, "a3@example.org").await, 0, "nothing stored when refused");
    // Another person behind the same proxy has their own limit.
    assert_eq!(submit_via(&mut client, "198.51.100.2", "b1@example.org").await, 303);
    // The refused client cannot get through by prepending a made-up address: the proxy appends
    // the address it saw, and that one is counted.
    assert_eq!(submit_via(&mut client, "203.0.113.77, 198.51.100.1", "a4@example.org").await, 429);
    // Through a chain of trusted proxies, the rightmost hop that is not one is counted.
    assert_eq!(submit_via(&mut client, "198.51.100.2, 127.0.0.1", "b2@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "198.51.100.2, 127.0.0.1", "b3@example.org").await, 429);
    // Garbage is counted against the proxy that passed it, not as a new client each time.
    assert_eq!(submit_via(&mut client, "not-an-address", "g1@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "still-not-one", "g2@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "nor-this", "g3@example.org").await, 429);
    assert_eq!(stored(&dossier.app, "b1@example.org").await, 1);
    dossier.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_an_untrusted_peer_forwarded_headers_are_ignored() {
    let dir = TempDir::new("proxy");
    // Only 10.0.0.0/8 is trusted: the test's connections from 127.0.0.1 are clients themselves.
    let dossier = start_dossier(&dir.0, None, 0, |s| {
        s.rate_limits.submissions_per_ip_per_hour = 2;
        s.security.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await
    .unwrap();
    let mut client = Client::new(dossier.addr);
    assert_eq!(submit_via(&mut client, "198.51.100.1", "a1@example.org").await, 303);
    assert_eq!(submit_via(&mut client, "198.51.100.2", "a2@example.org").await, 303);
    // A new forged address each time changes nothing: the peer, 127.0.0.1, has used its two.
    assert_eq!(submit_via(&mut client, "198.51.100.3", "a3@example.org").await, 429);
    let mut other = Client::new(dossier.addr);
    let headers = [("Forwarded", "for=198.51.100.4"), ("Sec-Fetch-Site", "same-origin")];
    let form = other.send("GET", "/", &headers, None).await.unwrap();
    let csrf = crate::helpers::hidden(&String::from_utf8_lossy(&form.body), "csrf").unwrap();
    let body = format!("email=a4%40example.org&kind=access&csrf={csrf}");
    assert_eq!(other.send("POST", "/requests", &headers, Some(&body)).await.unwrap().status, 429);
    assert_eq!(stored(&dossier.app, "a3@example.org").await + stored(&dossier.app, "a4@example.org").await, 0);
    dossier.stop().await;
}

/// 200 clients for 10 s against Dossier with its job workers running; asserts what a user would
/// notice: no error page, no refused connection, and every "check your inbox" backed by exactly
/// one stored request with its one verification email.
async fn two_hundred_clients(database_url: Option<String>, dir: TempDir) {
    let dossier = start_dossier(&dir.0, database_url, 2, |_| {}).await.unwrap();
    let run = dossier::crypto::new_id()[..12].to_owned();
    let mut report = drive(dossier.addr, 200, Duration::from_secs(10), &run).await;
    eprintln!("{}", report.summary("dossier"));
    assert_eq!(report.errors, 0, "connection errors: {:?}", report.error_samples);
    assert_eq!(report.server_errors(), 0, "5xx: {:?} {:?}", report.statuses, report.form_statuses);
    assert!(report.accepted.len() >= 200, "every client got at least one request through: {:?}", report.statuses);
    assert_eq!(
        report.statuses.keys().copied().collect::<Vec<_>>(),
        vec![303],
        "every submission accepted: each comes from its own forwarded address and its own email"
    );
    let check = check_store(&dossier.app, &run, &report.accepted).await.unwrap();
    assert!(check.ok(), "{check:?}");
    assert_eq!(check.stored, report.accepted.len() as i64);
    dossier.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_for_ten_seconds_on_sqlite() {
    let dir = TempDir::new("load");
    two_hundred_clients(None, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_for_ten_seconds_on_postgres() {
    let Some(db) = crate::helpers::fresh_postgres_database().await else { return };
    let dir = TempDir::new("load");
    two_hundred_clients(Some(db.database_url()), dir).await;
    drop(db);
}
