//! The job queue under the conditions a real deployment meets: slow workers whose lease is taken
//! over, sources finishing at the same time, mail servers that refuse, and the purges that must
//! leave no address behind.

use dossier::config::MailTransport;
use dossier::jobs::{Turn, run_once};
use dossier::store::jobs::{claim, complete, fail, renew};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{Options, TestApp};
use crate::on_both_backends;

async fn scalar_i64(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.app.store.pool()).await.unwrap()
}

/// A worker that stalls past its lease loses the job to another worker; when the first one comes
/// back, its late "done" (or "failed") changes nothing: the job stays with the worker holding it.
async fn a_late_worker_cannot_finish_a_job_taken_over(app: TestApp) {
    let res = app.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303);
    let backend = app.app.store.backend();
    let lease_s = app.app.settings.jobs.lease_seconds;
    let lease = lease_s * 1000;
    let mut conn = app.app.store.conn().await.unwrap();

    let first = claim(&mut conn, backend, "w1", app.app.now_ms(), lease).await.unwrap().expect("the email job");
    assert_eq!(first.attempts, 1);
    assert!(
        claim(&mut conn, backend, "w2", app.app.now_ms(), lease).await.unwrap().is_none(),
        "nobody else takes a job while its lease holds"
    );

    app.clock.advance(time::Duration::seconds(lease_s + 1));
    let second = claim(&mut conn, backend, "w2", app.app.now_ms(), lease).await.unwrap().expect("taken over");
    assert_eq!((second.id.as_str(), second.attempts), (first.id.as_str(), 2));

    let now = app.app.now_ms();
    assert!(!renew(&mut conn, &first, now + lease, now).await.unwrap(), "the lost lease cannot be renewed");
    assert!(!complete(&mut conn, &first, now).await.unwrap(), "the late completion is refused");
    assert!(!fail(&mut conn, &first, "late", None, now).await.unwrap(), "the late failure is refused");
    let (status, locked_by, attempts): (String, String, i32) =
        sqlx::query_as("SELECT status, locked_by, attempts FROM jobs WHERE id = $1")
            .bind(&first.id)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!((status.as_str(), locked_by.as_str(), attempts), ("running", "w2", 2), "still w2's");
    assert!(renew(&mut conn, &second, now + lease, now).await.unwrap(), "the holder renews its lease");

    // The holder's lease lapses too (it crashed): the queue runs the job to its end, once.
    app.clock.advance(time::Duration::seconds(lease_s + 1));
    drop(conn);
    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.emails().len(), 1, "one verification email");
    let mut conn = app.app.store.conn().await.unwrap();
    assert!(!complete(&mut conn, &second, app.app.now_ms()).await.unwrap(), "w2 is late now");
}
on_both_backends!(a_late_worker_cannot_finish_a_job_taken_over);

/// Three workers finish the request's three sources at the same time: the last one to finish
/// still sees the others done and queues the export.
async fn sources_finishing_together_still_produce_the_export(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'collect' AND status = 'queued'").await, 3);
    // Hold the confirmation email back a minute, so the workers take the three collections.
    sqlx::query("UPDATE jobs SET run_at = run_at + 60000 WHERE kind = 'send_email' AND status = 'queued'")
        .execute(app.app.store.pool())
        .await
        .unwrap();

    // On PostgreSQL, make the completions overlap for certain: hold the audit table, which each
    // completing transaction writes to after marking its source done, and let go only once every
    // worker is waiting inside its transaction.
    let gate = if app.app.store.backend() == dossier::store::Backend::Postgres {
        let mut tx = app.app.store.pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE audit_events IN EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
        Some(tx)
    } else {
        None
    };
    let release = async {
        let Some(gate) = gate else { return };
        let started = std::time::Instant::now();
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
            if waiting >= 3 {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(30), "the workers never met");
        }
        gate.commit().await.unwrap();
    };
    let (a, b, c, ()) =
        tokio::join!(run_once(&app.app, "w1"), run_once(&app.app, "w2"), run_once(&app.app, "w3"), release);
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (Turn::Done, Turn::Done, Turn::Done));
    assert_eq!(
        scalar_i64(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'build_export' AND status = 'queued'").await,
        1,
        "the export is queued once"
    );
    app.clock.advance(time::Duration::minutes(1));
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    let page = app.get(&status).await.text();
    assert!(page.contains("Ready to download"), "{page}");
    assert_eq!(app.get(&format!("{status}/export")).await.status, 200);
}
on_both_backends!(sources_finishing_together_still_produce_the_export);

/// A request never verified expires, and its address is forgotten everywhere: the request, the
/// emails (sent or not), the verifications. Two instances purging at once expire it once.
async fn an_expired_unverified_request_leaves_no_address(app: TestApp) {
    app.submit_and_read_mail("someone@example.org", "access").await;
    // A second one whose email was not even sent yet when it expires.
    assert_eq!(app.submit_request("another.one@example.org", "portability").await.status, 303);
    app.clock.advance(time::Duration::days(8));

    let (a, b) = tokio::join!(dossier::jobs::housekeeping::run(&app.app), dossier::jobs::housekeeping::run(&app.app));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.unverified + b.unverified, 2, "each request expired once: {a:?} {b:?}");

    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, email FROM requests").fetch_all(app.app.store.pool()).await.unwrap();
    assert_eq!(rows, vec![("expired".to_owned(), None), ("expired".to_owned(), None)]);
    let expiries = scalar_i64(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE event = 'status_changed' AND detail LIKE '%expired%'",
    )
    .await;
    assert_eq!(expiries, 2, "one audit event per expiry");
    let with_address = scalar_i64(
        &app,
        "SELECT COUNT(*) FROM emails WHERE to_addr <> '' OR text_body IS NOT NULL OR html_body IS NOT NULL",
    )
    .await;
    assert_eq!(with_address, 0, "no address nor body left in the outbox table");
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM emails").await, 2, "the record of what was sent stays");
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM verifications").await, 0);

    // The unsent message is not sent to nobody: its job ends without a delivery.
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.emails().len(), 1, "only the message sent before the expiry");
    assert_eq!(dossier::jobs::housekeeping::run(&app.app).await.unwrap().unverified, 0);
}
on_both_backends!(an_expired_unverified_request_leaves_no_address);

/// Spent sessions and verifications go, and so do spools no collection needs; a spool being
/// written for a request still collecting stays.
async fn sessions_verifications_and_stale_spools_are_purged(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    app.verify_by_link(&mail).await;
    // Collecting, its jobs not run yet: its spool is in use.
    let collecting: String =
        sqlx::query_scalar("SELECT id FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    let spool_root = app.app.settings.spool_dir();
    let in_use = spool_root.join(&collecting);
    let orphan = spool_root.join(dossier::crypto::new_id());
    for dir in [&in_use, &orphan] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("x.spool"), b"encrypted").unwrap();
    }
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM requester_sessions").await, 1);
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM verifications").await, 1);

    app.clock.advance(time::Duration::hours(2));
    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!((purged.sessions, purged.verifications, purged.spools), (1, 0, 1), "{purged:?}");
    assert!(in_use.exists() && !orphan.exists());
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM requester_sessions").await, 0);

    app.clock.advance(time::Duration::days(1));
    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(purged.verifications, 1, "a day after it expired");
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM verifications").await, 0);

    // Once the request is no longer collecting, its spool goes too.
    app.run_pending_jobs().await;
    std::fs::create_dir_all(&in_use).unwrap();
    assert_eq!(dossier::jobs::housekeeping::run(&app.app).await.unwrap().spools, 1);
    assert!(!in_use.exists());
}
on_both_backends!(sessions_verifications_and_stale_spools_are_purged);

/// Runs every job, moving the clock past each retry's backoff, until none is left.
async fn run_jobs_until_settled(app: &TestApp) {
    for _ in 0..20 {
        app.run_pending_jobs().await;
        if app.unfinished_jobs().await == 0 {
            return;
        }
        app.clock.advance(time::Duration::hours(7));
    }
    panic!("jobs still unfinished after 20 rounds");
}

/// The mail server never answers: the email job dies, and the message's body (it carries the
/// verification link and code) is not kept.
async fn a_dead_email_job_leaves_no_body(app: TestApp) {
    assert_eq!(app.submit_request("jeanne.martin@example.fr", "access").await.status, 303);
    run_jobs_until_settled(&app).await;
    let (status, attempts, max): (String, i32, i32) =
        sqlx::query_as("SELECT status, attempts, max_attempts FROM jobs WHERE kind = 'send_email'")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!(status, "dead");
    assert_eq!(attempts, max);
    assert_eq!(max, app.app.settings.jobs.max_attempts, "the configured number of attempts");
    let (text, html, sent): (Option<String>, Option<String>, Option<i64>) =
        sqlx::query_as("SELECT text_body, html_body, sent_at FROM emails")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!((text, html, sent), (None, None, None));
    assert_eq!(scalar_i64(&app, "SELECT COUNT(*) FROM audit_events WHERE event = 'job_failed'").await, 1);
}
on_both_backends!(
    a_dead_email_job_leaves_no_body,
    crate::helpers::Options {
        mail: Some(dossier::config::MailTransport::Smtp { url: "smtp://127.0.0.1:1".into() }),
        ..Default::default()
    }
);

/// An SMTP server that refuses every recipient, quoting the address in its reply, as real ones do.
async fn refusing_smtp_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        "250 test.local\r\n".to_owned()
                    } else if cmd.starts_with("RCPT TO:") {
                        let rcpt = line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned();
                        format!("550 5.1.1 <{rcpt}>: Recipient address rejected\r\n")
                    } else if cmd == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        "250 OK\r\n".to_owned()
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// The server's refusal names the recipient: the stored error and the audit trail keep the
/// reason, with the address masked.
#[actix_web::test]
async fn a_refusal_quoting_the_address_is_stored_masked() {
    for backend in [crate::helpers::Backend::Sqlite, crate::helpers::Backend::Postgres] {
        let port = refusing_smtp_server().await;
        let mail = Some(MailTransport::Smtp { url: format!("smtp://127.0.0.1:{port}") });
        let Some(app) = crate::helpers::spawn_with(Options { backend, mail, ..Default::default() }).await else {
            continue;
        };
        assert_eq!(app.submit_request("jeanne.martin@example.fr", "access").await.status, 303);
        run_jobs_until_settled(&app).await;
        let last_error: String =
            sqlx::query_scalar("SELECT last_error FROM jobs").fetch_one(app.app.store.pool()).await.unwrap();
        assert!(last_error.contains("550") && last_error.contains("Recipient address rejected"), "{last_error}");
        let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE event = 'job_failed'")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
        for stored in [&last_error, &detail] {
            assert!(!stored.to_lowercase().contains("jeanne.martin@example.fr"), "{backend:?}: {stored}");
            assert!(stored.contains("***@"), "the reply's address is there, masked: {stored}");
        }
    }
}

/// `requests.personal_data_days` after a request closed, its personal data goes (address,
/// statement, staff notes, emails' addresses and bodies) and its record stays: the register row,
/// the audit trail, the keyed hash that still finds the person's requests. An open request and
/// one closed more recently keep theirs.
async fn a_closed_request_keeps_its_record_but_not_its_personal_data(app: TestApp) {
    let old = app.request_awaiting_review("jeanne.martin@example.fr", "rectification").await;
    let old_ref = old.rsplit('/').next().unwrap().to_owned();
    app.add_staff("dpo@exemple.test", dossier::domain::Role::Admin).await;
    app.staff_login("dpo@exemple.test").await;
    assert_eq!(app.staff_act(&old_ref, "note", &[("reason", "Called her back about it")]).await.status, 303);
    assert_eq!(app.staff_act(&old_ref, "review", &[]).await.status, 303);
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&old_ref).await, "completed");
    let open = app.verified_request("paul.durand@example.fr", "access").await;
    app.run_pending_jobs().await;

    let days = app.app.settings.requests.personal_data_days;
    app.clock.advance(time::Duration::days(days - 1));
    assert_eq!(dossier::jobs::housekeeping::run(&app.app).await.unwrap().closed, 0, "not yet");
    app.clock.advance(time::Duration::days(2));
    assert_eq!(dossier::jobs::housekeeping::run(&app.app).await.unwrap().closed, 1);
    assert_eq!(dossier::jobs::housekeeping::run(&app.app).await.unwrap().closed, 0, "once");

    let row: (Option<String>, Option<String>, String, String) =
        sqlx::query_as("SELECT email, statement, email_hash, status FROM requests WHERE reference = $1")
            .bind(&old_ref)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!((row.0, row.1, row.3.as_str()), (None, None, "completed"));
    assert!(!row.2.is_empty(), "the keyed hash stays");
    let notes = scalar_i64(&app, "SELECT COUNT(*) FROM request_notes").await;
    assert_eq!(notes, 0);
    let leftover: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM emails e JOIN requests r ON r.id = e.request_id WHERE r.reference = $1 \
         AND (e.to_addr <> '' OR e.text_body IS NOT NULL OR e.html_body IS NOT NULL)",
    )
    .bind(&old_ref)
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(leftover, 0, "no address nor body left in its emails");
    let purged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events a JOIN requests r ON r.id = a.request_id \
         WHERE r.reference = $1 AND a.event = 'personal_data_purged'",
    )
    .bind(&old_ref)
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(purged, 1);
    // The open request (ready, never closed) keeps its address.
    let open_ref = open.rsplit('/').next().unwrap();
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM requests WHERE reference = $1")
        .bind(open_ref)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(email.as_deref(), Some("paul.durand@example.fr"));
    // The register still lists the closed request (two years later: a new staff session).
    app.staff_login("dpo@exemple.test").await;
    let register = app.get("/staff/register.csv?from=2026-03-01&to=2026-03-31").await.text();
    assert!(register.contains(&old_ref), "{register}");
}
on_both_backends!(a_closed_request_keeps_its_record_but_not_its_personal_data);
