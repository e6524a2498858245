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

/// Why an NDJSON answer could not be read to its end.
#[derive(Debug)]
enum Ndjson {
    Read(std::io::Error),
    /// It stopped before `{"end": true}`.
    Cut,
    /// Line N is longer than allowed.
    TooLong(u64),
    /// Line N is not one JSON item of the expected shape.
    NotALine(u64),
    /// `each` refused an item.
    Refused(ConnectorError),
}

/// Reads an NDJSON answer: `each` gets every line but the closing `{"end": true}`, in order;
/// blank lines are skipped; at most `max_line` bytes a line are read into memory.
fn read_ndjson<T: DeserializeOwned>(
    mut reader: impl BufRead,
    max_line: u64,
    mut each: impl FnMut(T) -> Result<(), ConnectorError>,
) -> Result<(), Ndjson> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = (&mut reader).take(max_line + 1).read_until(b'\n', &mut line).map_err(Ndjson::Read)?;
        if n == 0 {
            return Err(Ndjson::Cut);
        }
        number += 1;
        if line.len() as u64 > max_line {
            return Err(Ndjson::TooLong(number));
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<StreamLine<T>>(text) {
            Ok(StreamLine::End { end: true }) => return Ok(()),
            Ok(StreamLine::Item(item)) => each(item).map_err(Ndjson::Refused)?,
            Ok(StreamLine::End { end: false }) | Err(_) => return Err(Ndjson::NotALine(number)),
        }
    }
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
        each: impl FnMut(T) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let response = self.post(path, body, Answer::Stream)?;
        let reader = BufReader::new(response.into_body().into_reader());
        read_ndjson(reader, MAX_LINE_BYTES, each).map_err(|e| match e {
            Ndjson::Read(e) => self.transport_error(ureq::Error::from(e), path),
            Ndjson::Cut => self.not_the_protocol(format!(
                "its answer to {path} stopped before the closing line {{\"end\": true}}, so it may be incomplete"
            )),
            Ndjson::TooLong(number) => self.not_the_protocol(format!(
                "line {number} of its answer to {path} is longer than {} MiB",
                MAX_LINE_BYTES / (1024 * 1024)
            )),
            Ndjson::NotALine(number) => self.not_the_protocol(format!("line {number} of its answer to {path}")),
            Ndjson::Refused(e) => e,
        })
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Ndjson, read_ndjson};

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Item {
        collection: String,
        n: u32,
    }

    fn read(bytes: &[u8], max_line: u64) -> (Vec<Item>, Result<(), Ndjson>) {
        let mut items = Vec::new();
        let result = read_ndjson(bytes, max_line, |i: Item| {
            items.push(i);
            Ok(())
        });
        (items, result)
    }

    proptest! {
        /// Any bytes at all: an answer or an error, never a panic, and never more than the lines.
        #[test]
        fn any_answer_is_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 1u64..64) {
            let (items, _) = read(&bytes, max);
            prop_assert!(items.len() <= bytes.iter().filter(|b| **b == b'\n').count() + 1);
        }

        /// What a service writes comes back whole and in order, blank lines and CRLF included;
        /// cut anywhere before the closing line, the answer is refused as incomplete.
        #[test]
        fn items_come_back_in_order_and_a_cut_is_never_complete(
            items in proptest::collection::vec(("\\PC{0,12}", any::<u32>()), 0..8),
            crlf in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for (collection, n) in &items {
                text.push_str(&serde_json::json!({ "collection": collection, "n": n }).to_string());
                text.push_str(eol);
                text.push_str(eol);
            }
            let body_len = text.len();
            text.push_str("{\"end\": true}");
            text.push_str(eol);
            let (read_items, result) = read(text.as_bytes(), 1024);
            prop_assert!(result.is_ok());
            let expected: Vec<Item> = items.iter().map(|(c, n)| Item { collection: c.clone(), n: *n }).collect();
            prop_assert_eq!(read_items, expected);

            let at = cut.index(body_len + 1);
            let (_, result) = read(&text.as_bytes()[..at], 1024);
            prop_assert!(matches!(result, Err(Ndjson::Cut) | Err(Ndjson::NotALine(_))), "{:?}", result);
        }
    }

    #[test]
    fn a_long_line_is_refused_before_it_is_read_whole() {
        let line = format!("{{\"collection\":\"{}\",\"n\":1}}\n{{\"end\":true}}\n", "x".repeat(100));
        assert!(matches!(read(line.as_bytes(), 64).1, Err(Ndjson::TooLong(1))));
        assert!(read(line.as_bytes(), 1024).1.is_ok());
        assert!(matches!(read(b"{\"end\": false}\n", 64).1, Err(Ndjson::NotALine(1))));
    }
}
