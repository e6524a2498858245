//! The real SMTP transport, against an SMTP server the test runs on loopback.

use std::sync::{Arc, Mutex};

use dossier::config::MailTransport;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::helpers::{Options, parse_eml, spawn_with};

/// Every message an [`SmtpServer`] accepted: (recipient, raw message).
pub type Inbox = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal SMTP server (RFC 5321 happy path) on loopback that keeps every message it accepts.
/// [`SmtpServer::stop`] closes the listener and every open connection, as a mail server going down.
pub struct SmtpServer {
    pub port: u16,
    pub inbox: Inbox,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    /// On a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On `port` (0: a free one), e.g. the port a mailer was configured with while nothing listened.
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the SMTP test server binds");
        let port = listener.local_addr().unwrap().port();
        let inbox = Inbox::default();
        let store = inbox.clone();
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            connections.spawn(session(stream, store.clone()));
                        }
                        Err(_) => break,
                    },
                }
                while connections.try_join_next().is_some() {}
            }
            // Down means down: the connections a client pooled are closed too.
            connections.shutdown().await;
        });
        Self { port, inbox, stop: Some(stop), task }
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.inbox.lock().unwrap().clone()
    }

    /// Closes the listener and every connection; returns once nothing of the server is left.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: greeting, EHLO, MAIL, RCPT, DATA, QUIT; anything else is answered OK.
async fn session(stream: TcpStream, store: Inbox) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 test.local ESMTP\r\n").await.is_err() {
        return;
    }
    let mut rcpt = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            b"250-test.local\r\n250 8BITMIME\r\n"
        } else if cmd.starts_with("RCPT TO:") {
            rcpt = line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if cmd == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    // The client went away mid-message: nothing was accepted.
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
            }
            store.lock().unwrap().push((rcpt.clone(), data));
            b"250 queued\r\n"
        } else if cmd == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

#[actix_web::test]
async fn verification_mail_goes_through_a_real_smtp_conversation() {
    let server = SmtpServer::start().await;
    let port = server.port;
    let options =
        Options { mail: Some(MailTransport::Smtp { url: format!("smtp://127.0.0.1:{port}") }), ..Default::default() };
    let app = spawn_with(options).await.unwrap();
    let res = app.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let received = server.received();
    assert_eq!(received.len(), 1, "one message delivered");
    let (rcpt, data) = &received[0];
    assert_eq!(rcpt, "jeanne.martin@example.fr");
    let mail = parse_eml(data);
    assert_eq!(mail.code().len(), 6);
    assert!(mail.message_id.starts_with('<') && mail.message_id.contains('@'));
    // The code from the SMTP message verifies the request.
    let handle = res.location().split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&res.location()).await;
    let ok = app.post("/verify/code", &[("h", &handle), ("code", &mail.code()), ("csrf", &csrf)]).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    // The body is cleared once delivered: the store no longer holds the link or the code.
    let bodies: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM emails WHERE sent_at IS NOT NULL AND text_body IS NOT NULL")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!(bodies, 0);
}

/// The raw `emails` row of the only queued message.
async fn raw_outbox_row(app: &crate::helpers::TestApp) -> (String, String, String, String, String) {
    sqlx::query_as("SELECT id, to_addr, subject, text_body, html_body FROM emails WHERE sent_at IS NULL")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

/// A queued email is unreadable in the database (GDPR Art. 32(1)(a)): neither the address, nor
/// the code, nor the link's token is in its row; delivered, it says exactly what was composed.
async fn queued_emails_are_sealed_in_the_database(app: crate::helpers::TestApp) {
    let res = app.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303);
    let (id, to, subject, text, html) = raw_outbox_row(&app).await;
    let raw = format!("{to}\n{subject}\n{text}\n{html}");
    app.run_pending_jobs().await;
    let mail = app.last_email_to("jeanne.martin@example.fr");
    let (code, link) = (mail.code(), mail.link());
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(token.len() >= 32, "{link}");
    for secret in ["jeanne", "example.fr", code.as_str(), token.as_str(), "Verify", "verif"] {
        assert!(!raw.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} is readable in the row: {raw}");
    }
    let sealed: i32 = sqlx::query_scalar("SELECT sealed FROM emails WHERE id = $1")
        .bind(&id)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(sealed, 1);
    // What was delivered still works: the code verifies the request.
    let handle = res.location().split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&res.location()).await;
    let ok = app.post("/verify/code", &[("h", &handle), ("code", &code), ("csrf", &csrf)]).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
}
crate::on_both_backends!(queued_emails_are_sealed_in_the_database);

/// A message queued by a version before sealing (plain text, `sealed = 0`) and the same message
/// queued now are delivered with the same address, subject and text, to the byte.
async fn plain_rows_from_before_sealing_are_still_delivered(app: crate::helpers::TestApp) {
    let res = app.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let request_id: String =
        sqlx::query_scalar("SELECT id FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    let text = "Bonjour,\n\nVotre demande est bien reçue : https://privacy.example.com/requests/DSR-2026-000001\n\n— Exemple SAS\n";
    let html = "<p>Bonjour, votre demande est bien reçue.</p>";
    let subject = "Votre demande — accusé de réception";
    let now = app.app.now_ms();
    let mut tx = app.app.store.begin().await.unwrap();
    // As an older version wrote it: no `sealed` column in its INSERT.
    sqlx::query(
        "INSERT INTO emails (id, request_id, template, to_addr, subject, text_body, html_body, message_id, created_at) \
         VALUES ('legacy', $1, 'test', 'oliver.smith@example.co.uk', $2, $3, $4, '<legacy@privacy.example.com>', $5)",
    )
    .bind(&request_id)
    .bind(subject)
    .bind(text)
    .bind(html)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    let row = dossier::store::emails::EmailRow {
        id: "current".into(),
        request_id: Some(request_id.clone()),
        template: "test".into(),
        to_addr: "oliver.smith@example.co.uk".into(),
        subject: subject.into(),
        text_body: Some(text.into()),
        html_body: Some(html.into()),
        message_id: "<current@privacy.example.com>".into(),
        sent_at: None,
    };
    dossier::store::emails::insert(&mut tx, &app.app.settings.secret_key, &row, now).await.unwrap();
    for id in ["legacy", "current"] {
        dossier::services::progress::enqueue_email(&app.app, &mut tx, id, &request_id, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(app.run_pending_jobs().await, 2);
    assert_eq!(app.unfinished_jobs().await, 0);
    let delivered: Vec<_> = app.emails().into_iter().filter(|m| m.to.contains("oliver.smith")).collect();
    assert_eq!(delivered.len(), 2, "both delivered");
    let legacy = delivered.iter().find(|m| m.message_id.contains("legacy")).unwrap();
    let current = delivered.iter().find(|m| m.message_id.contains("current")).unwrap();
    assert_eq!(legacy.text.replace("\r\n", "\n"), text);
    assert_eq!((&legacy.to, &legacy.subject, &legacy.text), (&current.to, &current.subject, &current.text));
}
crate::on_both_backends!(plain_rows_from_before_sealing_are_still_delivered);

/// A sealed row altered in the database is not delivered: the job fails with a clear error,
/// recorded on the job, and the worker goes on with the other messages.
async fn a_tampered_row_fails_delivery_with_a_clear_error(app: crate::helpers::TestApp) {
    assert_eq!(app.submit_request("jeanne.martin@example.fr", "access").await.status, 303);
    let (id, _, _, text, _) = raw_outbox_row(&app).await;
    // One character of the ciphertext changed (base64 of the nonce + ciphertext + tag).
    let mut bytes = text.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    sqlx::query("UPDATE emails SET text_body = $1 WHERE id = $2")
        .bind(String::from_utf8(bytes).unwrap())
        .bind(&id)
        .execute(app.app.store.pool())
        .await
        .unwrap();
    // Another person's request, queued after it, is delivered all the same.
    assert_eq!(app.submit_request("oliver.smith@example.co.uk", "access").await.status, 303);
    assert_eq!(app.run_pending_jobs().await, 2, "both jobs ran; run_pending returned normally");
    assert_eq!(app.emails().len(), 1);
    assert!(app.emails()[0].to.contains("oliver.smith"));
    let (status, error): (String, String) = sqlx::query_as(
        "SELECT status, last_error FROM jobs WHERE kind = 'send_email' AND payload LIKE '%' || $1 || '%'",
    )
    .bind(&id)
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(status, "queued", "retried later, as any failed delivery");
    assert!(error.contains("text_body cannot be opened") && error.contains("altered"), "{error}");
}
crate::on_both_backends!(a_tampered_row_fails_delivery_with_a_clear_error);
