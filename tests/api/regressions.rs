//! Attack families that held when Dossier was attacked from outside, kept held: hostile CRM
//! content into every page and file, session fixation, and slowloris. (CSRF, IDOR, role
//! escalation, forwarded-header spoofing, code brute force and TOTP replay have their tests
//! beside the features; docs/security.md lists them all.)

use std::time::{Duration, Instant};

use dossier::domain::Role;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::export::{file_text, json_records, open_zip};
use crate::helpers::TestApp;
use crate::on_both_backends;

const HOSTILE: &str = "<script>alert('crm')</script>\"><img src=x onerror=alert(1)>{{7*7}}';--";

/// A note in Jeanne's CRM history written by an attacker (a web form that fed the CRM, say).
async fn plant_hostile_note(app: &TestApp) {
    let db = app.data_dir().join("crm").join(dossier::demo::CRM_FILE);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rw", db.display())).await.unwrap();
    sqlx::query(
        "INSERT INTO interactions (contact_id, channel, occurred_at, agent, notes) \
         SELECT id, 'web', '2026-03-01T10:00:00', $1, $1 FROM contacts WHERE email = 'jeanne.martin@example.fr'",
    )
    .bind(HOSTILE)
    .execute(&mut conn)
    .await
    .unwrap();
}

/// The note's markup as text: `<` escaped by name or by number.
fn shown_escaped(html: &str) -> bool {
    html.contains("&lt;script&gt;alert(") || html.contains("&#60;script&#62;alert(")
}

/// Markup in a source's values is shown as text everywhere a person or staff member reads it:
/// the staff preview, the status page, the ZIP's `index.html`; the JSON keeps the value as it is.
async fn hostile_crm_content_is_text_in_every_page_and_file(app: TestApp) {
    plant_hostile_note(&app).await;
    let status = app.verified_request("jeanne.martin@example.fr", "access").await;
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");

    let zip = app.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let archive = open_zip(&zip.body);
    let index = file_text(&archive, "index.html");
    assert!(shown_escaped(&index), "the note is shown, escaped");
    for raw in ["<script>alert(", "<img src=x"] {
        assert!(!index.contains(raw), "{raw} reached index.html as markup");
    }
    let notes = json_records(&archive, "crm", "interactions");
    assert!(notes.iter().any(|r| r["notes"] == HOSTILE), "the JSON keeps the value as stored: {notes:?}");

    let page = app.get(&status).await.text();
    assert!(!page.contains("<script>alert("), "the status page");

    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.add_staff("agent@exemple.test", Role::Agent).await;
    app.staff_login("agent@exemple.test").await;
    let preview = app.get(&format!("/staff/requests/{reference}/data")).await;
    assert_eq!(preview.status, 200);
    let preview = preview.text();
    assert!(shown_escaped(&preview), "the preview shows the note");
    for raw in ["<script>alert(", "<img src=x"] {
        assert!(!preview.contains(raw), "{raw} reached the staff preview as markup");
    }
}
on_both_backends!(hostile_crm_content_is_text_in_every_page_and_file);

/// A session id planted before sign-in (by a sibling site, or a shared computer) is never the
/// one that signs in: staff sign-in issues a fresh session, and the planted id opens nothing.
async fn a_planted_staff_session_is_never_signed_in(app: TestApp) {
    app.add_staff("agent@exemple.test", Role::Agent).await;
    let planted = "attacker-chosen-session-id-0000000000000000";
    app.forget_cookies();
    app.browser.set_cookie("dossier_staff", planted);
    app.staff_login("agent@exemple.test").await;
    let issued = app.browser.cookie("dossier_staff").expect("a session cookie");
    assert_ne!(issued, planted, "the session is fresh");
    assert_eq!(app.get("/staff").await.status, 200, "the real session works");

    let attacker = crate::helpers::Browser::new(app.address.clone());
    attacker.set_cookie("dossier_staff", planted);
    let res = attacker.get("/staff").await;
    assert_eq!(res.status, 303, "the planted id opens nothing");
    assert_eq!(res.location(), "/staff/login");
}
on_both_backends!(a_planted_staff_session_is_never_signed_in);

/// Slowloris: many connections that send half a request and then nothing neither keep others
/// out nor stay open: the server answers everyone else at once and drops each of them when its
/// time to send the headers runs out (actix-web's client request timeout).
#[actix_web::test]
async fn half_sent_requests_neither_block_others_nor_stay_open() {
    let app = crate::helpers::spawn_with(Default::default()).await.unwrap();
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    assert_eq!(app.get("/health").await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(3), "answered while 200 connections hang");

    // Every half-sent request is closed by the server (read returns 0 or a 408), bounded wait.
    let mut buf = [0u8; 256];
    for s in &mut slow {
        let n = tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf))
            .await
            .expect("the server drops a connection that never finishes its headers")
            .unwrap_or(0);
        assert!(n == 0 || buf[..n].starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&buf[..n]));
    }
}
