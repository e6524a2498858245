//! Outgoing mail. Messages are composed from the catalogs in the request's language, stored in the
//! outbox table with the change that causes them, and delivered by a `send_email` job through
//! SMTP, or, in demo mode, into `.eml` files listed at `/dev/outbox`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSettings, MailTransport};
use crate::i18n::Tr;
use crate::store::emails::EmailRow;

/// What one email says, before it is rendered as text and HTML.
pub struct Content {
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// A button (HTML) or a line (text) leading to `url`.
    pub action: Option<(String, String)>,
    /// A code to type, shown large. Emails with a code prove an address, so they also say what
    /// to do if the person did not ask for one.
    pub code: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextMail<'a> {
    t: Tr,
    c: &'a Content,
    controller: &'a str,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlMail<'a> {
    t: Tr,
    c: &'a Content,
    controller: &'a str,
}

/// Renders `content` as (text, html).
pub fn render(t: Tr, content: &Content, controller: &str) -> anyhow::Result<(String, String)> {
    let text = TextMail { t, c: content, controller }.render().context("rendering a text email")?;
    let html = HtmlMail { t, c: content, controller }.render().context("rendering an HTML email")?;
    Ok((text, html))
}

/// What `/dev/outbox` shows of a message written to the demo outbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OutboxPreview {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The demo outbox's messages, newest first.
pub fn read_outbox(dir: &Path) -> anyhow::Result<Vec<OutboxPreview>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort_unstable_by(|a, b| b.cmp(a));
    Ok(paths.iter().filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok()).collect())
}

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        match &settings.transport {
            MailTransport::Smtp { url } => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context(
                        "the SMTP URL is not valid (smtp://host:port, smtps://host:465, smtp://host:587?tls=required)",
                    )?
                    .timeout(Some(std::time::Duration::from_secs(30)))
                    .build();
                Ok(Mailer::Smtp(transport))
            }
            MailTransport::Outbox { dir } => {
                crate::fsutil::create_private_dir_all(dir)
                    .with_context(|| format!("cannot create the outbox {}", dir.display()))?;
                Ok(Mailer::Outbox(dir.clone()))
            }
        }
    }

    pub fn outbox_dir(&self) -> Option<&Path> {
        match self {
            Mailer::Outbox(dir) => Some(dir),
            Mailer::Smtp(_) => None,
        }
    }

    /// Delivers one stored email. Its Message-ID is the stored one, so a retried send after a
    /// crash is recognisable as the same message.
    pub async fn send(&self, email: &EmailRow, from: &str) -> anyhow::Result<()> {
        let message = build_message(email, from)?;
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message).await.context("the SMTP server did not accept the message")?;
            }
            Mailer::Outbox(dir) => {
                let bytes = message.formatted();
                // Names sort in delivery order: a nanosecond timestamp, then the email's id.
                let nanos =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
                let stem = format!("{nanos:020}-{}", email.id);
                let name = format!("{stem}.eml");
                let tmp = dir.join(format!(".{name}.tmp"));
                // Private files (live codes and links): see crate::fsutil.
                crate::fsutil::write_private_new_async(&tmp, &bytes).await.context("writing to the outbox")?;
                tokio::fs::rename(&tmp, dir.join(name)).await.context("writing to the outbox")?;
                // A readable copy for the demo's /dev/outbox page.
                let preview = OutboxPreview {
                    id: email.id.clone(),
                    to: email.to_addr.clone(),
                    subject: email.subject.clone(),
                    text: email.text_body.clone().unwrap_or_default(),
                };
                let json = serde_json::to_vec(&preview).context("writing an outbox preview")?;
                crate::fsutil::write_private_new_async(&dir.join(format!("{stem}.json")), &json)
                    .await
                    .context("writing to the outbox")?;
            }
        }
        Ok(())
    }
}

fn build_message(email: &EmailRow, from: &str) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().context("mail.from is not a valid address")?;
    let to: Mailbox = email.to_addr.parse().context("the recipient address is not valid")?;
    let text = email.text_body.clone().context("the email was already sent; its body is gone")?;
    let html = email.html_body.clone().unwrap_or_default();
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .context("building an email")
}
