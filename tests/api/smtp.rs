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
