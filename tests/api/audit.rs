//! The hash-chained audit log: an untouched chain verifies; editing, deleting or slipping in an
//! event is named at the first broken link; parallel appends still make one valid chain; and
//! `dossier audit verify` says so with its exit status.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use dossier::store::audit::{self, ChainCheck, Fault};
use sqlx::{Connection, Row};

use crate::helpers::{TempDir, TestApp};
use crate::on_both_backends;

async fn verify(app: &TestApp) -> ChainCheck {
    let mut conn = app.app.store.conn().await.unwrap();
    audit::verify(&mut conn).await.unwrap()
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(app.app.store.pool()).await.unwrap()
}

/// The id and detail of the event at `chain_seq`.
async fn event_at(app: &TestApp, chain_seq: i64) -> (String, String) {
    let row = sqlx::query("SELECT id, detail FROM audit_events WHERE chain_seq = $1")
        .bind(chain_seq)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    (row.get("id"), row.get("detail"))
}

async fn exec(app: &TestApp, sql: &str, binds: &[&str]) -> u64 {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(app.app.store.pool()).await.unwrap().rows_affected()
}

async fn record_in_own_transaction(app: &TestApp, event: &str, n: usize) {
    let mut tx = app.app.store.begin().await.unwrap();
    audit::record(&mut tx, None, "system", event, &serde_json::json!({ "n": n }), app.app.now_ms()).await.unwrap();
    tx.commit().await.unwrap();
}

async fn an_edit_or_a_deletion_is_named_at_the_first_broken_link(app: TestApp) {
    // A request's life writes a dozen events: received, emails, verified, sources, export…
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    app.verify_by_link(&mail).await;
    app.run_pending_jobs().await;
    let total = event_count(&app).await;
    assert!(total >= 8, "{total} events");
    match verify(&app).await {
        ChainCheck::Intact { events, head } => {
            assert_eq!(events, total);
            assert_eq!(head.len(), 64);
        }
        broken => panic!("an untouched chain is intact: {broken}"),
    }

    // Someone edits an event's detail in the database.
    let (id, detail) = event_at(&app, 3).await;
    assert_eq!(exec(&app, "UPDATE audit_events SET detail = $1 WHERE id = $2", &["{\"forged\":true}", &id]).await, 1);
    let check = verify(&app).await;
    assert_eq!(check, ChainCheck::Broken { chain_seq: Some(3), id: id.clone(), fault: Fault::Altered });
    assert_eq!(check.to_string(), format!("broken at event #3 ({id}): its hash does not match its content"));

    // Put back, the chain is whole again; then someone deletes an event.
    exec(&app, "UPDATE audit_events SET detail = $1 WHERE id = $2", &[&detail, &id]).await;
    assert!(matches!(verify(&app).await, ChainCheck::Intact { .. }));
    exec(&app, "DELETE FROM audit_events WHERE chain_seq = 5", &[]).await;
    let (next, _) = event_at(&app, 6).await;
    let check = verify(&app).await;
    assert_eq!(check, ChainCheck::Broken { chain_seq: Some(6), id: next.clone(), fault: Fault::OutOfSequence });
    assert_eq!(check.to_string(), format!("broken at event #6 ({next}): it does not follow the previous event"));
}
on_both_backends!(an_edit_or_a_deletion_is_named_at_the_first_broken_link);

async fn an_event_slipped_in_outside_the_chain_is_named(app: TestApp) {
    record_in_own_transaction(&app, "first", 1).await;
    exec(
        &app,
        "INSERT INTO audit_events (id, at, seq, actor, event, detail) VALUES ('slipped', 1, 0, 'system', 'x', '{}')",
        &[],
    )
    .await;
    assert_eq!(
        verify(&app).await,
        ChainCheck::Broken { chain_seq: None, id: "slipped".into(), fault: Fault::Unchained }
    );
}
on_both_backends!(an_event_slipped_in_outside_the_chain_is_named);

async fn events_written_before_the_chain_are_chained_by_the_first_append(app: TestApp) {
    assert_eq!(event_count(&app).await, 0, "a fresh store");
    for (id, at) in [("older", 1_000), ("old", 2_000)] {
        exec(
            &app,
            "INSERT INTO audit_events (id, at, seq, actor, event, detail) VALUES ($1, CAST($2 AS BIGINT), 0, 'system', 'x', '{}')",
            &[id, &at.to_string()],
        )
        .await;
    }
    record_in_own_transaction(&app, "new", 1).await;
    assert!(matches!(verify(&app).await, ChainCheck::Intact { events: 3, .. }));
    assert_eq!(event_at(&app, 1).await.0, "older");
    assert_eq!(event_at(&app, 2).await.0, "old");
}
on_both_backends!(events_written_before_the_chain_are_chained_by_the_first_append);

async fn parallel_appends_make_one_valid_chain(app: TestApp) {
    const N: usize = 40;
    let appends = (0..N).map(|n| record_in_own_transaction(&app, "parallel", n));
    futures_util::future::join_all(appends).await;
    let check = verify(&app).await;
    assert!(matches!(check, ChainCheck::Intact { events, .. } if events == N as i64), "{check}");
    assert_eq!(event_count(&app).await, N as i64);
}
on_both_backends!(parallel_appends_make_one_valid_chain);

/// On PostgreSQL, appends from many connections at once (several instances) still chain one after
/// another, each in its own transaction.
#[actix_web::test]
async fn parallel_appends_from_many_tasks_on_postgres() {
    let options = crate::helpers::Options { backend: crate::helpers::Backend::Postgres, ..Default::default() };
    let Some(app) = crate::helpers::spawn_with(options).await else { return };
    let store = app.app.store.clone();
    let now = app.app.now_ms();
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await?;
                audit::record(&mut tx, None, "system", "parallel", &serde_json::json!({ "n": n }), now).await?;
                tx.commit().await?;
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(matches!(verify(&app).await, ChainCheck::Intact { events: 64, .. }), "{}", verify(&app).await);
}

const BIN: &str = env!("CARGO_BIN_EXE_dossier");

fn keygen() -> String {
    let out = Command::new(BIN).arg("keygen").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn dossier(config: &Path, args: &[&str], stdin: &str) -> Output {
    let (secret, export) = (keygen(), keygen());
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("DOSSIER_SECRET_KEY", secret)
        .env("DOSSIER_EXPORT_KEY", export)
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_verify_command_names_the_broken_link_and_fails() {
    let tmp = TempDir::new("cli-audit");
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.0.join("dossier.toml");
    std::fs::write(&config, crate::helpers::base_config(&data)).unwrap();
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();

    // Two staff accounts: two audit events.
    for email in ["dpo@exemple.test", "agent@exemple.test"] {
        let out = dossier(&config, &["staff", "add", "--email", email, "--role", "agent"], "a long passphrase\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = dossier(&config, &["audit", "verify"], "");
    assert!(out.status.success(), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).starts_with("ok: 2 events\n"), "{}", text(&out));

    let db = format!("sqlite://{}", data.join("dossier.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let id: String =
        sqlx::query_scalar("SELECT id FROM audit_events WHERE chain_seq = 2").fetch_one(&mut conn).await.unwrap();
    sqlx::query("UPDATE audit_events SET actor = 'requester' WHERE id = ?").bind(&id).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let out = dossier(&config, &["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(text(&out), format!("broken at event #2 ({id}): its hash does not match its content\n"));
}
