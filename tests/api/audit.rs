//! The keyed audit chain: an untouched chain verifies; an edited event is named even when the
//! following MACs were recomputed without the key; a deleted event is named, in the middle or at
//! the end (against the checkpoint); appends take no lock on PostgreSQL and late commits are
//! sealed later; a key rotation opens a segment; the SHA-256 chain of earlier versions is
//! verified before it is resealed; `dossier audit verify` says what it checked.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use dossier::crypto::SecretKey;
use dossier::jobs::seal::seal_and_verify;
use dossier::store::audit::{self, Break, ChainKey, Checkpoint, Fault, Report, Sealing};
use sqlx::{Connection, Row};

use crate::helpers::{TempDir, TestApp};
use crate::on_both_backends;

async fn check(app: &TestApp) -> Report {
    seal_and_verify(&app.app, &[]).await.unwrap()
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

fn broken_at(report: &Report) -> Option<(Option<i64>, Fault)> {
    report.broken.as_ref().map(|b| (b.chain_seq, b.fault.clone()))
}

fn sha256_of(prev: &str, values: serde_json::Value) -> String {
    let mut bytes = prev.as_bytes().to_vec();
    bytes.extend_from_slice(values.to_string().as_bytes());
    dossier::crypto::sha256_hex(&bytes)
}

/// What someone with write access but without the key can do: change an event, then recompute
/// every hash after it — the old chain's SHA-256 rule in `hash`, and the same rule in `mac`, with
/// each event's `prev_*` pointing at the new value before it.
async fn forge_from(app: &TestApp, from: i64) {
    let rows = sqlx::query(
        "SELECT chain_seq, segment, key_id, id, request_id, at, seq, actor, event, detail, prev_mac FROM audit_events \
         WHERE chain_seq >= $1 ORDER BY chain_seq",
    )
    .bind(from)
    .fetch_all(app.app.store.pool())
    .await
    .unwrap();
    let mut prev: String = rows[0].get("prev_mac");
    for r in rows {
        let (chain_seq, id): (i64, String) = (r.get("chain_seq"), r.get("id"));
        let values = serde_json::json!([
            chain_seq,
            r.get::<i64, _>("segment"),
            r.get::<String, _>("key_id"),
            id,
            r.get::<Option<String>, _>("request_id"),
            r.get::<i64, _>("at"),
            r.get::<i64, _>("seq"),
            r.get::<String, _>("actor"),
            r.get::<String, _>("event"),
            r.get::<String, _>("detail")
        ]);
        let forged = sha256_of(&prev, values);
        exec(
            app,
            "UPDATE audit_events SET prev_mac = $1, mac = $2, prev_hash = $1, hash = $2 WHERE id = $3",
            &[&prev, &forged, &id],
        )
        .await;
        prev = forged;
    }
}

async fn an_edit_is_named_even_with_the_following_macs_recomputed(app: TestApp) {
    // A request's life writes a dozen events: received, emails, verified, sources, export…
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    app.verify_by_link(&mail).await;
    app.run_pending_jobs().await;
    let total = event_count(&app).await;
    assert!(total >= 8, "{total} events");
    let report = check(&app).await;
    assert!(report.is_intact(), "an untouched chain is intact: {report}");
    assert_eq!((report.events, report.unsealed), (total, 0), "every event sealed and checked");
    assert_eq!(report.segments.len(), 1);
    assert_eq!(report.segments[0].key_id, app.app.keys.audit.id());
    let anchored = Checkpoint::read(&app.app.settings.audit_checkpoint()).unwrap().expect("a checkpoint");
    assert_eq!((anchored.count, Some(&anchored.mac)), (total, report.head.as_ref()));

    // Someone edits event #3's detail and recomputes every hash after it, without the key.
    let (id, _) = event_at(&app, 3).await;
    assert_eq!(exec(&app, "UPDATE audit_events SET detail = $1 WHERE id = $2", &["{\"forged\":true}", &id]).await, 1);
    forge_from(&app, 3).await;
    let report = check(&app).await;
    assert_eq!(broken_at(&report), Some((Some(3), Fault::Altered)), "{report}");
    assert_eq!(report.events, 2, "checked up to the break");
    assert!(
        report.to_string().ends_with(&format!(
            "broken at event #3 ({id}): its MAC does not match its content: it was changed after it was sealed"
        )),
        "{report}"
    );
}
on_both_backends!(an_edit_is_named_even_with_the_following_macs_recomputed);

async fn a_deleted_event_in_the_middle_is_named(app: TestApp) {
    for n in 0..5 {
        record_in_own_transaction(&app, "step", n).await;
    }
    assert!(check(&app).await.is_intact());
    let (next, _) = event_at(&app, 4).await;
    assert_eq!(exec(&app, "DELETE FROM audit_events WHERE chain_seq = 3", &[]).await, 1);
    let report = check(&app).await;
    assert_eq!(
        report.broken,
        Some(Break { chain_seq: Some(4), id: Some(next.clone()), fault: Fault::Missing { first: 3, last: 3 } })
    );
    assert!(report.to_string().ends_with(&format!("broken at event #4 ({next}): event #3 before it is missing")));
}
on_both_backends!(a_deleted_event_in_the_middle_is_named);

async fn events_deleted_from_the_end_are_caught_by_the_checkpoint(app: TestApp) {
    for n in 0..5 {
        record_in_own_transaction(&app, "step", n).await;
    }
    assert!(check(&app).await.is_intact());
    assert_eq!(exec(&app, "DELETE FROM audit_events WHERE chain_seq > 3", &[]).await, 2);
    let report = check(&app).await;
    assert_eq!(broken_at(&report), Some((None, Fault::Truncated { sealed: 3, checkpoint: 5 })), "{report}");
    assert!(report.to_string().ends_with("events #4 to #5 were deleted"), "{report}");

    // The sealer refuses to build on the shortened chain: new events wait, the break stays visible.
    record_in_own_transaction(&app, "after", 0).await;
    let refusal = dossier::jobs::seal::run(&app.app).await.unwrap_err();
    assert!(format!("{refusal:#}").contains("events were deleted from its end"), "{refusal:#}");
    let report = check(&app).await;
    assert_eq!(report.unsealed, 1);
    assert_eq!(broken_at(&report), Some((None, Fault::Truncated { sealed: 3, checkpoint: 5 })));
    assert_eq!(Checkpoint::read(&app.app.settings.audit_checkpoint()).unwrap().unwrap().count, 5, "never lowered");
}
on_both_backends!(events_deleted_from_the_end_are_caught_by_the_checkpoint);

async fn a_key_rotation_opens_a_segment_verified_with_both_keys(app: TestApp) {
    for n in 0..3 {
        record_in_own_transaction(&app, "before", n).await;
    }
    assert!(check(&app).await.is_intact());
    let old_key = app.app.keys.audit.clone();
    let (_, last_mac) = {
        let row = sqlx::query("SELECT id, mac FROM audit_events WHERE chain_seq = 3")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
        (row.get::<String, _>("id"), row.get::<String, _>("mac"))
    };

    // The operator rotates DOSSIER_SECRET_KEY: the new instance seals under a new key id.
    let (rotated, _) = app.instance_with(|s| s.secret_key = SecretKey::generate()).await;
    assert_ne!(rotated.keys.audit.id(), old_key.id());
    for n in 0..2 {
        let mut tx = rotated.store.begin().await.unwrap();
        audit::record(&mut tx, None, "system", "after", &serde_json::json!({ "n": n }), rotated.now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        dossier::jobs::seal::run(&rotated).await.unwrap(),
        Sealing::Done {
            sealed: 2,
            count: 5,
            mac: sqlx::query_scalar("SELECT mac FROM audit_events WHERE chain_seq = 5")
                .fetch_one(rotated.store.pool())
                .await
                .unwrap()
        }
    );
    let (segment, prev_mac): (i64, String) =
        sqlx::query_as("SELECT segment, prev_mac FROM audit_events WHERE chain_seq = 4")
            .fetch_one(rotated.store.pool())
            .await
            .unwrap();
    assert_eq!((segment, prev_mac), (2, last_mac), "the new segment records the previous segment's last MAC");

    // The new key alone cannot check the first segment: the check says which key it needs.
    let report = seal_and_verify(&rotated, &[]).await.unwrap();
    assert_eq!(broken_at(&report), Some((Some(1), Fault::UnknownKey { key_id: old_key.id().to_owned() })));
    assert!(report.to_string().contains("DOSSIER_PREVIOUS_SECRET_KEYS"), "{report}");
    // With the previous key too, both segments verify, each under its own key.
    let report = seal_and_verify(&rotated, std::slice::from_ref(&old_key)).await.unwrap();
    assert!(report.is_intact(), "{report}");
    let segments: Vec<_> = report.segments.iter().map(|s| (s.number, s.key_id.clone(), s.first, s.last)).collect();
    assert_eq!(segments, vec![(1, old_key.id().to_owned(), 1, 3), (2, rotated.keys.audit.id().to_owned(), 4, 5)]);
    assert!(report.to_string().contains("checked 5 sealed events in 2 segment(s)"), "{report}");
}
on_both_backends!(a_key_rotation_opens_a_segment_verified_with_both_keys);

/// Three events sealed under the app's key, then one under a rotated key: two segments. Returns
/// the instance with the rotated key and the old key.
async fn two_segments(app: &TestApp) -> (std::sync::Arc<dossier::app::App>, ChainKey) {
    for n in 0..3 {
        record_in_own_transaction(app, "before", n).await;
    }
    assert!(check(app).await.is_intact());
    let old_key = app.app.keys.audit.clone();
    let (rotated, _) = app.instance_with(|s| s.secret_key = SecretKey::generate()).await;
    let mut tx = rotated.store.begin().await.unwrap();
    audit::record(&mut tx, None, "system", "after", &serde_json::json!({}), rotated.now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    dossier::jobs::seal::run(&rotated).await.unwrap();
    (rotated, old_key)
}

async fn only_whole_closed_segments_are_pruned_and_the_check_goes_on_from_them(app: TestApp) {
    let (rotated, old_key) = two_segments(&app).await;
    let checkpoint = rotated.settings.audit_checkpoint();
    let keys = [rotated.keys.audit.clone(), old_key.clone()];
    let prune = |through: i64, keys: Vec<ChainKey>| {
        let rotated = rotated.clone();
        let checkpoint = checkpoint.clone();
        async move { audit::prune(&rotated.store, &keys, &checkpoint, through, rotated.now_ms()).await }
    };

    // Not the open segment, not without the old key (the chain must verify first).
    let open = format!("{:#}", prune(2, keys.to_vec()).await.unwrap_err());
    assert!(open.contains("is the chain's open segment"), "{open}");
    let unverified = format!("{:#}", prune(1, vec![keys[0].clone()]).await.unwrap_err());
    assert!(unverified.contains("does not verify"), "{unverified}");
    assert_eq!(event_count(&app).await, 4, "nothing pruned");

    let pruned = prune(1, keys.to_vec()).await.unwrap();
    assert_eq!((pruned.count, pruned.segment, pruned.key_id.as_str()), (3, 1, old_key.id()));
    let left: Vec<String> = sqlx::query_scalar("SELECT event FROM audit_events ORDER BY chain_seq")
        .fetch_all(rotated.store.pool())
        .await
        .unwrap();
    assert_eq!(left, ["after", "audit_segments_pruned"], "segment 1 gone, its pruning recorded and sealed");
    assert_eq!(Checkpoint::read(&checkpoint).unwrap().unwrap().pruned, Some(pruned.clone()));

    // The old key is no longer needed: the check starts from the pruned segment's last MAC.
    let report = seal_and_verify(&rotated, &[]).await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.events, report.pruned.as_ref().map(|p| p.count)), (2, Some(3)));
    assert!(report.to_string().starts_with("pruned: events #1 to #3 (segments 1 to 1)"), "{report}");
    // And the first event left is still bound to what was pruned.
    exec(&app, "UPDATE audit_events SET prev_mac = $1 WHERE chain_seq = 4", &[audit::GENESIS]).await;
    let report = seal_and_verify(&rotated, &[]).await.unwrap();
    assert_eq!(broken_at(&report), Some((Some(4), Fault::Relinked)), "{report}");
    let again = format!("{:#}", prune(1, keys.to_vec()).await.unwrap_err());
    assert!(again.contains("does not verify"), "{again}");
}
on_both_backends!(only_whole_closed_segments_are_pruned_and_the_check_goes_on_from_them);

async fn events_written_before_the_chain_are_sealed_first(app: TestApp) {
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
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 3, "{report}");
    assert_eq!(event_at(&app, 1).await.0, "older");
    assert_eq!(event_at(&app, 2).await.0, "old");
}
on_both_backends!(events_written_before_the_chain_are_sealed_first);

async fn parallel_appends_make_one_valid_chain(app: TestApp) {
    const N: usize = 40;
    let appends = (0..N).map(|n| record_in_own_transaction(&app, "parallel", n));
    futures_util::future::join_all(appends).await;
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == N as i64, "{report}");
    assert_eq!(event_count(&app).await, N as i64);
}
on_both_backends!(parallel_appends_make_one_valid_chain);

/// On PostgreSQL, appends from many connections at once (several instances) each in its own
/// transaction, then one chain once sealed.
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
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 64, "{report}");
}

/// On PostgreSQL, an open transaction holding an unsealed event does not hold up another
/// transaction's event (no lock on the write path), and the late one is sealed in a later round.
#[actix_web::test]
async fn appends_do_not_wait_for_each_other_and_late_commits_are_sealed_later_on_postgres() {
    let options = crate::helpers::Options { backend: crate::helpers::Backend::Postgres, ..Default::default() };
    let Some(app) = crate::helpers::spawn_with(options).await else { return };
    let pool = app.app.store.pool();
    let now = app.app.now_ms();
    let mut first = pool.begin().await.unwrap();
    audit::record(&mut first, None, "system", "slow", &serde_json::json!({}), now).await.unwrap();
    // A second connection records and commits while the first is still open. With a lock on the
    // append path this would wait for the first transaction: give up after a generous bound.
    let second = async {
        let mut tx = pool.begin().await.unwrap();
        audit::record(&mut tx, None, "system", "quick", &serde_json::json!({}), now).await.unwrap();
        tx.commit().await.unwrap();
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), second)
        .await
        .expect("the second append waited for the first transaction");
    let sealed = dossier::jobs::seal::run(&app.app).await.unwrap();
    assert!(matches!(sealed, Sealing::Done { sealed: 1, count: 1, .. }), "{sealed:?}");
    let event_of = |n: i64| async move {
        sqlx::query_scalar::<_, String>("SELECT event FROM audit_events WHERE chain_seq = $1")
            .bind(n)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(event_of(1).await, "quick", "the committed event is sealed; the open one is not visible yet");
    first.commit().await.unwrap();
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 2, "{report}");
    assert_eq!(event_of(2).await, "slow", "sealed in the next round, after the one that committed first");
}

// ---------------------------------------------------------------------------------------------
// The upgrade from the SHA-256 chain (migration 0016).

/// Writes `n` events the way the previous version did: chained with plain SHA-256, `ord` set to
/// their place as migration 0016 does. Returns their ids.
async fn old_chain(app: &TestApp, n: i64) -> Vec<String> {
    let mut prev = audit::GENESIS.to_owned();
    let mut ids = Vec::new();
    for chain_seq in 1..=n {
        let id = format!("old{chain_seq}");
        let detail = format!("{{\"n\":{chain_seq}}}");
        let hash =
            sha256_of(&prev, serde_json::json!([chain_seq, id, null, 1000 + chain_seq, 0, "system", "old", detail]));
        sqlx::query(
            "INSERT INTO audit_events (id, at, seq, actor, event, detail, chain_seq, prev_hash, hash, ord) \
             VALUES ($1, $2, 0, 'system', 'old', $3, $4, $5, $6, $4)",
        )
        .bind(&id)
        .bind(1000 + chain_seq)
        .bind(&detail)
        .bind(chain_seq)
        .bind(&prev)
        .bind(&hash)
        .execute(app.app.store.pool())
        .await
        .unwrap();
        prev = hash;
        ids.push(id);
    }
    // As after the migration: the recording order moves past the old chain's places.
    app.app.store.migrate().await.unwrap();
    ids
}

async fn upgrade(app: &TestApp, accept: Option<&str>) -> anyhow::Result<i64> {
    let a = &app.app;
    audit::upgrade(&a.store, &a.keys.audit, &a.settings.audit_checkpoint(), a.now_ms(), accept).await
}

async fn the_sha256_chain_is_verified_then_resealed_once(app: TestApp) {
    old_chain(&app, 3).await;
    let old_head: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = 3")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(upgrade(&app, None).await.unwrap(), 3);
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE event = 'audit_chain_resealed'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["old_count"], 3);
    assert_eq!(detail["old_head"], old_head.as_str());
    assert_eq!(detail["key_id"], app.app.keys.audit.id());
    // The old events keep their places and their old hashes; the chain and its anchor go on.
    assert_eq!(event_at(&app, 1).await.0, "old1");
    let kept: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = 3")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(kept, old_head);
    record_in_own_transaction(&app, "new", 1).await;
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 5, "{report}");
    let fourth: String = sqlx::query_scalar("SELECT event FROM audit_events WHERE chain_seq = 4")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(fourth, "audit_chain_resealed", "sealed right after the resealed chain");
    assert_eq!(upgrade(&app, None).await.unwrap(), 0, "once");
}
on_both_backends!(the_sha256_chain_is_verified_then_resealed_once);

async fn a_broken_sha256_chain_is_not_resealed_silently(app: TestApp) {
    let ids = old_chain(&app, 3).await;
    exec(&app, "UPDATE audit_events SET detail = '{\"n\":99}' WHERE chain_seq = 2", &[]).await;
    let refusal = format!("{:#}", upgrade(&app, None).await.unwrap_err());
    assert!(
        refusal.contains(&format!("broken at event #2 ({}): its hash does not match its content", ids[1])),
        "{refusal}"
    );
    assert!(refusal.contains(&format!("dossier audit reseal --accept-broken {}", ids[1])), "{refusal}");
    let resealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE mac IS NOT NULL")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!((resealed, event_count(&app).await), (0, 3), "nothing changed");

    // Accepting another event than the broken one changes nothing either.
    assert!(upgrade(&app, Some(&ids[0])).await.is_err());
    // The operator accepts the named break: resealed, and the trail says so.
    assert_eq!(upgrade(&app, Some(&ids[1])).await.unwrap(), 3);
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_events WHERE event = 'audit_chain_resealed'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert!(detail.contains(&format!("\"accepted_break\":{{\"event\":\"{}\"", ids[1])), "{detail}");
    assert!(check(&app).await.is_intact());
}
on_both_backends!(a_broken_sha256_chain_is_not_resealed_silently);

// ---------------------------------------------------------------------------------------------
// The command line.

const BIN: &str = env!("CARGO_BIN_EXE_dossier");

fn dossier(config: &Path, args: &[&str], keys: &(String, String), env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("DOSSIER_SECRET_KEY", &keys.0)
        .env("DOSSIER_EXPORT_KEY", &keys.1)
        .env("RUST_LOG", "off")
        .envs(env.iter().copied())
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
async fn the_verify_command_says_what_it_checked_and_where_the_chain_breaks() {
    let tmp = TempDir::new("cli-audit");
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.0.join("dossier.toml");
    std::fs::write(&config, crate::helpers::base_config(&data)).unwrap();
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let keys = (SecretKey::generate().to_base64(), SecretKey::generate().to_base64());
    let key_id = ChainKey::from_secret(&SecretKey::from_base64(&keys.0).unwrap()).id().to_owned();

    // Three staff accounts: three audit events, waiting to be sealed.
    for email in ["dpo@exemple.test", "agent@exemple.test", "aide@exemple.test"] {
        let out =
            dossier(&config, &["staff", "add", "--email", email, "--role", "agent"], &keys, &[], "a long passphrase\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = dossier(&config, &["audit", "verify"], &keys, &[], "");
    assert!(out.status.success(), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    let said = text(&out);
    for line in [
        "sealed 3 waiting events\n".to_owned(),
        "checked 3 sealed events in 1 segment(s)\n".to_owned(),
        format!("  segment 1: events #1 to #3, key id {key_id}\n"),
        "checkpoint: 3 events, MAC ".to_owned(),
        "not sealed yet: 0 events\n".to_owned(),
        "ok: 3 events, last MAC ".to_owned(),
    ] {
        assert!(said.contains(&line), "{line:?} in:\n{said}");
    }
    let checkpoint = data.join(audit::CHECKPOINT_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&checkpoint).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Another key alone cannot vouch for the chain; given the previous key too, it can.
    let rotated = (SecretKey::generate().to_base64(), keys.1.clone());
    let out = dossier(&config, &["audit", "verify"], &rotated, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("sealed under key id {key_id}, which was not given")), "{}", text(&out));
    let out = dossier(&config, &["audit", "verify"], &rotated, &[("DOSSIER_PREVIOUS_SECRET_KEYS", &keys.0)], "");
    assert!(out.status.success(), "{}", text(&out));

    // An edit is named.
    let db = format!("sqlite://{}", data.join("dossier.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let (id, actor): (String, String) =
        sqlx::query_as("SELECT id, actor FROM audit_events WHERE chain_seq = 2").fetch_one(&mut conn).await.unwrap();
    sqlx::query("UPDATE audit_events SET actor = 'requester' WHERE id = ?").bind(&id).execute(&mut conn).await.unwrap();
    let out = dossier(&config, &["audit", "verify"], &keys, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).ends_with(&format!(
            "broken at event #2 ({id}): its MAC does not match its content: it was changed after it was sealed\n"
        )),
        "{}",
        text(&out)
    );
    sqlx::query("UPDATE audit_events SET actor = ? WHERE id = ?")
        .bind(&actor)
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();

    // So is the end cut off.
    sqlx::query("DELETE FROM audit_events WHERE chain_seq = 3").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let out = dossier(&config, &["audit", "verify"], &keys, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out)
            .ends_with("broken at the end: 2 events are sealed but the checkpoint anchored 3: event #3 was deleted\n"),
        "{}",
        text(&out)
    );

    // Without its checkpoint the chain is not anchored, and only an explicit re-anchoring fixes that.
    std::fs::remove_file(&checkpoint).unwrap();
    let out = dossier(&config, &["audit", "verify"], &keys, &[], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).ends_with("not anchored: sealed events exist but there is no checkpoint file\n"),
        "{}",
        text(&out)
    );
    let out = dossier(&config, &["audit", "reseal", "--reanchor"], &keys, &[], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).starts_with("re-anchored the audit chain at event #2 (MAC "), "{}", text(&out));
    let out = dossier(&config, &["audit", "verify"], &keys, &[], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok: 3 events, last MAC "), "{}", text(&out));
}

// ---------------------------------------------------------------------------------------------
// Review r1: rows outside the chain, a lost checkpoint, accepted breaks, the recording order.

async fn insert_sealed_looking(app: &TestApp, id: &str, request_id: Option<&str>, chain_seq: i64) {
    sqlx::query(
        "INSERT INTO audit_events (id, request_id, at, seq, actor, event, detail, chain_seq, segment, key_id, \
         prev_mac, mac, ord) VALUES ($1, $2, $3, 0, 'requester', 'request_withdrawn', '{}', $4, 1, $5, $6, $6, $7)",
    )
    .bind(id)
    .bind(request_id)
    .bind(app.app.now_ms())
    .bind(chain_seq)
    .bind(app.app.keys.audit.id())
    .bind(audit::GENESIS)
    .bind(-1_000_000 - chain_seq)
    .execute(app.app.store.pool())
    .await
    .unwrap();
}

async fn a_row_outside_the_chain_is_reported_and_not_shown_as_the_trail(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    app.verify_by_link(&mail).await;
    assert!(check(&app).await.is_intact());
    let request_id: String =
        sqlx::query_scalar("SELECT id FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    let before =
        dossier::store::events::for_request(&mut app.app.store.conn().await.unwrap(), &request_id).await.unwrap().len();
    // Someone with write access adds a "withdrawn" event at place 0 and at place -5: the walk
    // from #1 never reads them.
    insert_sealed_looking(&app, "forged0", Some(&request_id), 0).await;
    insert_sealed_looking(&app, "forged-5", Some(&request_id), -5).await;
    let report = check(&app).await;
    assert_eq!(broken_at(&report), Some((None, Fault::OutsideChain { count: 2, floor: 0 })), "{report}");
    assert!(report.to_string().contains("2 event(s) claim a place at or below #0, outside the chain"), "{report}");
    let shown =
        dossier::store::events::for_request(&mut app.app.store.conn().await.unwrap(), &request_id).await.unwrap();
    assert_eq!(shown.len(), before, "the forged rows are not part of the request's trail");
}
on_both_backends!(a_row_outside_the_chain_is_reported_and_not_shown_as_the_trail);

async fn the_sealer_never_builds_on_a_row_outside_the_chain(app: TestApp) {
    // An empty chain, and a row written directly at place -5: the first event still gets place 1.
    insert_sealed_looking(&app, "forged-5", None, -5).await;
    record_in_own_transaction(&app, "first", 0).await;
    dossier::jobs::seal::run(&app.app).await.unwrap();
    let (id, _) = event_at(&app, 1).await;
    let event: String = sqlx::query_scalar("SELECT event FROM audit_events WHERE id = $1")
        .bind(&id)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(event, "first");
    let report = check(&app).await;
    assert_eq!(broken_at(&report), Some((None, Fault::OutsideChain { count: 1, floor: 0 })), "{report}");
}
on_both_backends!(the_sealer_never_builds_on_a_row_outside_the_chain);

async fn a_row_below_the_pruned_point_is_reported(app: TestApp) {
    let (rotated, old_key) = two_segments(&app).await;
    let keys = [rotated.keys.audit.clone(), old_key];
    audit::prune(&rotated.store, &keys, &rotated.settings.audit_checkpoint(), 1, rotated.now_ms()).await.unwrap();
    assert!(seal_and_verify(&rotated, &[]).await.unwrap().is_intact());
    insert_sealed_looking(&app, "forged2", None, 2).await;
    let report = seal_and_verify(&rotated, &[]).await.unwrap();
    assert_eq!(broken_at(&report), Some((None, Fault::OutsideChain { count: 1, floor: 3 })), "{report}");
}
on_both_backends!(a_row_below_the_pruned_point_is_reported);

async fn a_lost_checkpoint_stops_the_sealer_until_an_operator_reanchors(app: TestApp) {
    for n in 0..5 {
        record_in_own_transaction(&app, "step", n).await;
    }
    assert!(check(&app).await.is_intact());
    let path = app.app.settings.audit_checkpoint();
    // Someone deletes the checkpoint and the chain's last two events, then an event is recorded.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(exec(&app, "DELETE FROM audit_events WHERE chain_seq > 3", &[]).await, 2);
    record_in_own_transaction(&app, "after", 0).await;
    let refusal = format!("{:#}", dossier::jobs::seal::run(&app.app).await.unwrap_err());
    assert!(refusal.contains("3 sealed events but there is no checkpoint"), "{refusal}");
    assert!(refusal.contains("dossier audit reseal --reanchor"), "{refusal}");
    assert_eq!(Checkpoint::read(&path).unwrap(), None, "not quietly recreated");
    let report = check(&app).await;
    assert_eq!((broken_at(&report), report.unsealed), (Some((None, Fault::NoCheckpoint)), 1), "{report}");

    // The operator re-anchors explicitly: at the verified end, recorded in the chain.
    let keys = [app.app.keys.audit.clone()];
    let point = audit::reanchor(&app.app.store, &keys, &path, app.app.now_ms()).await.unwrap();
    let (_, mac3): (String, String) = {
        let row = sqlx::query("SELECT id, mac FROM audit_events WHERE chain_seq = 3")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
        (row.get("id"), row.get("mac"))
    };
    assert_eq!((point.count, point.mac.as_str(), point.key_id.as_str()), (3, mac3.as_str(), app.app.keys.audit.id()));
    let (_, detail) = event_at(&app, 5).await;
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail, serde_json::json!({ "count": 3, "mac": mac3, "key_id": app.app.keys.audit.id() }));
    let names: Vec<String> =
        sqlx::query_scalar("SELECT event FROM audit_events WHERE chain_seq > 3 ORDER BY chain_seq")
            .fetch_all(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!(names, ["after", "audit_checkpoint_reestablished"]);
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 5, "{report}");
    // Only once: with a checkpoint there is nothing to re-anchor.
    let again = format!("{:#}", audit::reanchor(&app.app.store, &keys, &path, app.app.now_ms()).await.unwrap_err());
    assert!(again.contains("nothing to re-anchor"), "{again}");
}
on_both_backends!(a_lost_checkpoint_stops_the_sealer_until_an_operator_reanchors);

async fn a_broken_chain_is_not_reanchored(app: TestApp) {
    for n in 0..3 {
        record_in_own_transaction(&app, "step", n).await;
    }
    assert!(check(&app).await.is_intact());
    let path = app.app.settings.audit_checkpoint();
    std::fs::remove_file(&path).unwrap();
    exec(&app, "UPDATE audit_events SET detail = '{\"n\":9}' WHERE chain_seq = 2", &[]).await;
    let keys = [app.app.keys.audit.clone()];
    let refusal = format!("{:#}", audit::reanchor(&app.app.store, &keys, &path, app.app.now_ms()).await.unwrap_err());
    assert!(refusal.contains("does not verify") && refusal.contains("broken at event #2"), "{refusal}");
    assert_eq!(Checkpoint::read(&path).unwrap(), None);
}
on_both_backends!(a_broken_chain_is_not_reanchored);

async fn an_accepted_break_covers_that_event_only(app: TestApp) {
    let ids = old_chain(&app, 4).await;
    exec(&app, "UPDATE audit_events SET detail = '{\"n\":99}' WHERE chain_seq = 2", &[]).await;
    exec(&app, "UPDATE audit_events SET detail = '{\"n\":98}' WHERE chain_seq = 4", &[]).await;
    let refusal = format!("{:#}", upgrade(&app, Some(&ids[1])).await.unwrap_err());
    assert!(
        refusal.contains(&format!("broken again after the accepted break at {}: at event #4 ({})", ids[1], ids[3])),
        "{refusal}"
    );
    let resealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE mac IS NOT NULL")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(resealed, 0, "nothing resealed");
    // Restored from a backup, the later event checks again from the accepted one's stored hash.
    let detail = "{\"n\":4}";
    exec(&app, "UPDATE audit_events SET detail = $1 WHERE chain_seq = 4", &[detail]).await;
    assert_eq!(upgrade(&app, Some(&ids[1])).await.unwrap(), 4);
    assert!(check(&app).await.is_intact());
}
on_both_backends!(an_accepted_break_covers_that_event_only);

async fn an_old_chain_of_one_event_is_resealed_and_recording_goes_on(app: TestApp) {
    old_chain(&app, 1).await;
    // PostgreSQL: the recording order's next value must be past the old event's `ord` (1).
    assert_eq!(upgrade(&app, None).await.unwrap(), 1);
    record_in_own_transaction(&app, "new", 1).await;
    let report = check(&app).await;
    assert!(report.is_intact() && report.events == 3, "{report}");
}
on_both_backends!(an_old_chain_of_one_event_is_resealed_and_recording_goes_on);

// ---------------------------------------------------------------------------------------------
// Review r2: the sealer checks what lies after the anchored end before building on it.

async fn the_sealer_never_builds_on_a_forged_row_after_the_end(app: TestApp) {
    for n in 0..3 {
        record_in_own_transaction(&app, "step", n).await;
    }
    assert!(check(&app).await.is_intact());
    // Someone with write access adds a row at place #4 linked to #3's MAC, with a made-up MAC.
    let mac3: String = sqlx::query_scalar("SELECT mac FROM audit_events WHERE chain_seq = 3")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    insert_sealed_looking(&app, "forged4", None, 4).await;
    exec(&app, "UPDATE audit_events SET prev_mac = $1 WHERE id = 'forged4'", &[&mac3]).await;
    record_in_own_transaction(&app, "after", 0).await;
    let refusal = format!("{:#}", dossier::jobs::seal::run(&app.app).await.unwrap_err());
    assert!(refusal.contains("audit event #4, after the checkpoint's #3, does not hold"), "{refusal}");
    let unsealed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE chain_seq IS NULL")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(unsealed, 1, "nothing was chained from the forged row");
    let report = check(&app).await;
    assert_eq!(broken_at(&report), Some((Some(4), Fault::Altered)), "{report}");
}
on_both_backends!(the_sealer_never_builds_on_a_forged_row_after_the_end);
