//! The real SMTP transport, against an SMTP server the test runs on loopback.

use std::sync::{Arc, Mutex};

use dossier::config::MailTransport;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{Options, parse_eml, spawn_with};

/// A minimal SMTP server (RFC 5321 happy path) that keeps every message it accepts.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let store = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
                let mut rcpt = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        write.write_all(b"250-test.local\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if cmd.starts_with("RCPT TO:") {
                        rcpt = line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned();
                        write.write_all(b"250 OK\r\n").await.unwrap();
                    } else if cmd == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = Vec::new();
                        loop {
                            line.clear();
                            lines.read_line(&mut line).await.unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            data.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
                        }
                        store.lock().unwrap().push((rcpt.clone(), data));
                        write.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        write.write_all(b"250 OK\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, inbox)
}

#[actix_web::test]
async fn verification_mail_goes_through_a_real_smtp_conversation() {
    let (port, inbox) = smtp_server().await;
    let options =
        Options { mail: Some(MailTransport::Smtp { url: format!("smtp://127.0.0.1:{port}") }), ..Default::default() };
    let app = spawn_with(options).await.unwrap();
    let res = app.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let received = inbox.lock().unwrap().clone();
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
