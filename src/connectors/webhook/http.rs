//! The HTTP side of the webhook connector: one blocking `ureq` agent, the bearer token, timeouts,
//! bounded answers, NDJSON read line by line, and every failure turned into a sentence.
//!
//! Everything here blocks: callers run it on `tokio::task::spawn_blocking`.

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connectors::{ConnectorError, ConnectorErrorKind};
use crate::domain::redact_emails;

use super::PROTOCOL;

/// The largest JSON answer read whole (`/health`, `/read`, `/execute`).
pub(super) const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// The largest single line of an NDJSON answer (one record).
pub(super) const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// The most of an error answer read, and the most characters of its sentence kept.
const MAX_ERROR_BYTES: u64 = 64 * 1024;
const MAX_ERROR_CHARS: usize = 300;

/// A streamed answer may go on this long in total, as long as no wait for the next bytes exceeds
/// the call timeout.
const MAX_STREAM: Duration = Duration::from_secs(30 * 60);

/// What a call is doing, for the timeouts that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A JSON document: the whole call must end within the timeout.
    Whole,
    /// NDJSON: the headers must come within the timeout, and then each wait for more data.
    Stream,
}

/// One line of an NDJSON answer: an item, or the line `{"end": true}` that closes every stream
/// (without it, an answer cut short would look complete).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StreamLine<T> {
    End { end: bool },
    Item(T),
}

pub(super) struct Client {
    agent: ureq::Agent,
    /// Without a trailing `/`.
    base: String,
    token: SecretString,
    /// Where the token comes from ("the environment variable X", "the file Y"), for a 401.
    token_origin: String,
    source: String,
    timeout: Duration,
}

impl Client {
    pub(super) fn new(
        source: &str,
        base: String,
        token: SecretString,
        token_origin: &str,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Self {
        // Plain HTTP is only ever to this machine: never through a proxy, which would see the
        // token. HTTPS goes through the environment's proxy (`HTTPS_PROXY`, `NO_PROXY`), tunnelled.
        let proxy = if base.starts_with("https://") { ureq::Proxy::try_from_env() } else { None };
        let config = ureq::Agent::config_builder()
            .proxy(proxy)
            // Statuses are read here, to quote the service's `{"error": …}`.
            .http_status_as_error(false)
            // A redirect would carry the token elsewhere: it is reported instead of followed.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .user_agent(format!("dossier/{} ({PROTOCOL})", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
            base,
            token,
            token_origin: token_origin.to_string(),
            source: source.to_string(),
            timeout,
        }
    }

    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, a JSON document back.
    pub(super) fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ConnectorError> {
        let request = self.agent.get(format!("{}{path}", self.base));
        let request = self.limits(request, Answer::Whole);
        let response = request
            .header("Authorization", self.bearer())
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.transport_error(e, path))?;
        self.read_json(response, path)
    }

    /// `POST path` with a JSON body, a JSON document back.
    pub(super) fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ConnectorError> {
        let response = self.post(path, body, Answer::Whole)?;
        self.read_json(response, path)
    }

    /// `POST path` with a JSON body, an NDJSON answer back: `each` gets every line but the
    /// closing `{"end": true}`, in order, as it arrives. Nothing is kept once handed over.
    pub(super) fn post_stream<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        mut each: impl FnMut(T) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let response = self.post(path, body, Answer::Stream)?;
        let mut reader = BufReader::new(response.into_body().into_reader());
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let read = (&mut reader).take(MAX_LINE_BYTES + 1).read_until(b'\n', &mut line);
            let n = read.map_err(|e| self.transport_error(ureq::Error::from(e), path))?;
            if n == 0 {
                return Err(self.not_the_protocol(format!(
                    "its answer to {path} stopped before the closing line {{\"end\": true}}, so it may be incomplete"
                )));
            }
            number += 1;
            if line.len() as u64 > MAX_LINE_BYTES {
                return Err(self.not_the_protocol(format!(
                    "line {number} of its answer to {path} is longer than {} MiB",
                    MAX_LINE_BYTES / (1024 * 1024)
                )));
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<StreamLine<T>>(text) {
                Ok(StreamLine::End { end: true }) => return Ok(()),
                Ok(StreamLine::Item(item)) => each(item)?,
                Ok(StreamLine::End { end: false }) | Err(_) => {
                    return Err(self.not_the_protocol(format!("line {number} of its answer to {path}")));
                }
            }
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.expose_secret())
    }

    fn limits<B>(&self, request: ureq::RequestBuilder<B>, answer: Answer) -> ureq::RequestBuilder<B> {
        let config = request.config();
        match answer {
            Answer::Whole => config.timeout_per_call(Some(self.timeout)),
            Answer::Stream => config
                .timeout_send_request(Some(self.timeout))
                .timeout_send_body(Some(self.timeout))
                .timeout_recv_response(Some(self.timeout))
                .timeout_per_read(Some(self.timeout))
                .timeout_recv_body(Some(MAX_STREAM)),
        }
        .build()
    }

    fn post(
        &self,
        path: &str,
        body: &impl Serialize,
        answer: Answer,
    ) -> Result<ureq::http::Response<ureq::Body>, ConnectorError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ConnectorError::new(ConnectorErrorKind::Failed, format!("the call to {path} could not be written"))
                .with_cause(e)
        })?;
        let request = self.limits(self.agent.post(format!("{}{path}", self.base)), answer);
        let accept = match answer {
            Answer::Whole => "application/json",
            Answer::Stream => "application/x-ndjson",
        };
        let response = request
            .header("Authorization", self.bearer())
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .send(&bytes[..])
            .map_err(|e| self.transport_error(e, path))?;
        self.success(response, path)
    }

    fn read_json<T: DeserializeOwned>(
        &self,
        response: ureq::http::Response<ureq::Body>,
        path: &str,
    ) -> Result<T, ConnectorError> {
        let mut response = self.success(response, path)?;
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_JSON_BYTES)
            .read_to_vec()
            .map_err(|e| self.transport_error(e, path))?;
        serde_json::from_slice(&bytes).map_err(|_| self.not_the_protocol(format!("its answer to {path}")))
    }

    /// The response when its status is 2xx; otherwise the error it stands for, with the
    /// service's own sentence.
    fn success(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        path: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, ConnectorError> {
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let said = response
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BYTES)
            .read_to_vec()
            .ok()
            .and_then(|bytes| error_sentence(&bytes));
        let source = &self.source;
        let says = said.map(|s| format!(": \"{s}\"")).unwrap_or_default();
        let (kind, message) = match status {
            401 | 403 => (
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {source} refused Dossier's token (HTTP {status} on {path}){says}; check that {} \
                     holds the token the service expects",
                    self.token_origin
                ),
            ),
            404 => (
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {source} has nothing at {}{path} (HTTP 404){says}; check `base_url` and that the \
                     service speaks {PROTOCOL}",
                    self.base
                ),
            ),
            300..=399 => (
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {source} redirected {path} elsewhere (HTTP {status}); Dossier does not follow \
                     redirects (they would carry its token): set `base_url` to the service's own address"
                ),
            ),
            500..=599 => (
                ConnectorErrorKind::Unreachable,
                format!("source {source} failed to answer {path} (HTTP {status}){says}"),
            ),
            _ => (ConnectorErrorKind::Failed, format!("source {source} refused {path} (HTTP {status}){says}")),
        };
        Err(ConnectorError::new(kind, message))
    }

    /// A failure below HTTP statuses: connecting, TLS, timeouts, a broken or oversized answer.
    fn transport_error(&self, e: ureq::Error, path: &str) -> ConnectorError {
        use std::io::ErrorKind as Io;
        let source = &self.source;
        let base = &self.base;
        let (kind, message) = match &e {
            ureq::Error::Timeout(_) => (
                ConnectorErrorKind::Unreachable,
                format!(
                    "source {source} did not answer {path} in time (the limit is {} seconds, `timeout_seconds`)",
                    self.timeout.as_secs()
                ),
            ),
            ureq::Error::Io(io) if io.kind() == Io::TimedOut || io.kind() == Io::WouldBlock => (
                ConnectorErrorKind::Unreachable,
                format!(
                    "source {source} did not answer {path} in time (the limit is {} seconds, `timeout_seconds`)",
                    self.timeout.as_secs()
                ),
            ),
            ureq::Error::HostNotFound => (
                ConnectorErrorKind::Unreachable,
                format!("source {source} cannot be reached: the host name in {base} is not known"),
            ),
            ureq::Error::ConnectionFailed => (
                ConnectorErrorKind::Unreachable,
                format!("source {source} cannot be reached at {base} (is the service running?)"),
            ),
            ureq::Error::Io(io) if io.kind() == Io::ConnectionRefused => (
                ConnectorErrorKind::Unreachable,
                format!(
                    "source {source} cannot be reached at {base}: the connection was refused (is the service running?)"
                ),
            ),
            ureq::Error::Io(_) => {
                (ConnectorErrorKind::Unreachable, format!("the connection to source {source} broke during {path}"))
            }
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) | ureq::Error::TlsRequired => (
                ConnectorErrorKind::Misconfigured,
                format!(
                    "the secure connection to source {source} at {base} failed: its certificate is not trusted, \
                     has expired, or is for another name"
                ),
            ),
            ureq::Error::BodyExceedsLimit(_) => (
                ConnectorErrorKind::Failed,
                format!(
                    "source {source} answered {path} with more than {} MiB, the most Dossier reads at once",
                    MAX_JSON_BYTES / (1024 * 1024)
                ),
            ),
            ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) | ureq::Error::BodyStalled => {
                return self.not_the_protocol(format!("its answer to {path} is not valid HTTP"));
            }
            _ => (ConnectorErrorKind::Unreachable, format!("the call to source {source} ({path}) failed")),
        };
        ConnectorError::new(kind, message).with_cause(e)
    }

    /// An answer that does not follow the protocol. `what` says where, never what it held (it
    /// may hold personal data).
    pub(super) fn not_the_protocol(&self, what: String) -> ConnectorError {
        ConnectorError::new(
            ConnectorErrorKind::Failed,
            format!(
                "source {} answered something that is not the protocol ({what}); the service must follow {PROTOCOL}, \
                 see docs/connector-protocol.md",
                self.source
            ),
        )
    }
}

/// The `error` sentence of an error answer: control characters removed, shortened, addresses
/// masked (it is shown to staff and written to logs).
fn error_sentence(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer {
        error: String,
    }
    let answer: ErrorAnswer = serde_json::from_slice(bytes).ok()?;
    let clean: String = answer.error.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean: String = clean.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        return None;
    }
    // Masked before shortening: a cut address would no longer be recognised as one.
    let clean = redact_emails(&clean);
    Some(match clean.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    })
}

#[cfg(test)]
pub(super) fn sentence_for_tests(bytes: &[u8]) -> Option<String> {
    error_sentence(bytes)
}
