//! A small W3C WebDriver client over `awc`, and the chromedriver process it talks to.
//!
//! Only what the scenarios use: one session, navigation, CSS lookups, clicks and keys, synchronous
//! scripts, window size, screenshots, cookies. Every wait is a bounded poll; nothing sleeps blindly.

use std::cell::Cell;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use awc::http::Method;
use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::TempDir;

/// How long a condition may take before the test fails. Pages here answer in milliseconds; the
/// margin is for a loaded two-core CI machine.
pub const PATIENCE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(25);
/// `[URL, readyState, h1 text, whether this document was there before the last `click_to`]`.
const PAGE_STATE: &str = "const h = document.querySelector('h1'); return [location.href, document.readyState, \
    h ? h.textContent.trim() : '', window.__dossierBeforeClick === true];";

/// The W3C key that identifies an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Polls `probe` until it returns `Some`, at most [`PATIENCE`]; panics naming `what` otherwise.
pub async fn poll<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {PATIENCE:?} waiting for {what}");
        actix_web::rt::time::sleep(POLL_EVERY).await;
    }
}

/// An element reference in the current page (stale once the page changes).
#[derive(Debug, Clone)]
pub struct Element(String);

#[derive(Debug)]
pub struct WebDriverError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebDriver {}: {} ({})", self.status, self.error, self.message.lines().next().unwrap_or(""))
    }
}

/// chromedriver on a free loopback port, with one Chromium session. Dropping it ends the session
/// and the process, even when the test panicked.
pub struct Browser {
    process: Child,
    port: u16,
    base: String,
    session: String,
    open: Cell<bool>,
    client: awc::Client,
    /// Chromium's fresh profile, removed after the process is gone.
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver, waits for `/status` to say ready, and opens a headless session.
    pub async fn start(chromium: &Path, chromedriver: &Path, width: u32, height: u32) -> Browser {
        let client = awc::Client::builder().timeout(Duration::from_secs(90)).disable_redirects().finish();
        let (process, port) = start_chromedriver(&client, chromedriver).await;
        let profile = TempDir::new("chromium-profile");
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--hide-scrollbars",
                    "--lang=en-US",
                    format!("--user-data-dir={}", profile.0.display()),
                    format!("--window-size={width},{height}"),
                ],
                "prefs": { "intl.accept_languages": "en-US,en" },
            },
        }}});
        let mut browser =
            Browser { process, port, base, session: String::new(), open: Cell::new(false), client, _profile: profile };
        let created = browser.call(Method::POST, "/session", Some(capabilities)).await;
        let created = created.unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        browser.session = created["sessionId"].as_str().expect("a session id").to_owned();
        browser.open.set(true);
        browser
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, WebDriverError> {
        let req = self.client.request(method, format!("{}{path}", self.base));
        let sent = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        let mut res =
            sent.map_err(|e| WebDriverError { status: 0, error: "transport".into(), message: e.to_string() })?;
        let bytes = res.body().limit(256 * 1024 * 1024).await.map_err(|e| WebDriverError {
            status: res.status().as_u16(),
            error: "body".into(),
            message: e.to_string(),
        })?;
        let status = res.status().as_u16();
        let parsed: Value = serde_json::from_slice(&bytes).map_err(|e| WebDriverError {
            status,
            error: "not JSON".into(),
            message: format!("{e}: {}", String::from_utf8_lossy(&bytes)),
        })?;
        let value = parsed.get("value").cloned().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(WebDriverError {
                status,
                error: value["error"].as_str().unwrap_or("unknown error").to_owned(),
                message: value["message"].as_str().unwrap_or("").to_owned(),
            })
        }
    }

    /// A session command that must succeed.
    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Clicks `el` (a link or a submit button) and waits for the page it leads to, whose URL
    /// satisfies `pred`; returns that URL. Fails at once, naming the page, when a new page has
    /// loaded but is another one (a refused form lands on an error page, maybe at the same URL).
    pub async fn click_to(&self, el: &Element, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.script("window.__dossierBeforeClick = true;", vec![]).await;
        self.click(el).await;
        self.wait_url(what, pred).await
    }

    /// Waits until the current URL satisfies `pred`; returns it. Fails early when a page loaded
    /// after [`Browser::click_to`]'s click is complete and is not the expected one.
    pub async fn wait_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // One script reads the URL and the document together, so both describe the same page.
            let state = self.script(PAGE_STATE, vec![]).await;
            let url = state[0].as_str().unwrap_or_default().to_owned();
            if pred(&url) {
                return url;
            }
            let settled_elsewhere = state[1] == "complete" && state[3] == false;
            if settled_elsewhere || Instant::now() >= deadline {
                panic!("expected {what}, but the browser is on {url}, titled {:?}", state[2].as_str().unwrap_or(""));
            }
            actix_web::rt::time::sleep(POLL_EVERY).await;
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self.cmd(Method::POST, "/elements", Some(json!({ "using": "css selector", "value": css }))).await;
        found
            .as_array()
            .map(|a| a.iter().filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))).collect())
            .unwrap_or_default()
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        self.find_all(css).await.into_iter().next()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        poll(&format!("an element matching {css:?}"), || self.try_find(css)).await
    }

    pub async fn click(&self, el: &Element) {
        self.cmd(Method::POST, &format!("/element/{}/click", el.0), Some(json!({}))).await;
    }

    pub async fn send_keys(&self, el: &Element, text: &str) {
        self.cmd(Method::POST, &format!("/element/{}/value", el.0), Some(json!({ "text": text }))).await;
    }

    /// The rendered text (as a person sees it, CSS text-transform included).
    pub async fn text(&self, el: &Element) -> String {
        self.cmd(Method::GET, &format!("/element/{}/text", el.0), None).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        self.cmd(Method::GET, &format!("/element/{}/attribute/{name}", el.0), None).await.as_str().map(str::to_owned)
    }

    /// Runs a synchronous script (`arguments[i]` are `args`) and returns its value.
    pub async fn script(&self, body: &str, args: Vec<Value>) -> Value {
        self.cmd(Method::POST, "/execute/sync", Some(json!({ "script": body, "args": args }))).await
    }

    /// Presses and releases one key (a WebDriver key code such as `\u{E004}`, Tab), as a keyboard would.
    pub async fn press(&self, key: &str) {
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
            { "type": "keyDown", "value": key },
            { "type": "keyUp", "value": key },
        ]}]});
        self.cmd(Method::POST, "/actions", Some(actions)).await;
        self.cmd(Method::DELETE, "/actions", None).await;
    }

    /// Sets the viewport (the page's `innerWidth` × `innerHeight`) to exactly `width` × `height`:
    /// the window is resized, measured, and corrected by the size of the browser's own frame.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let measure = || async {
            let v = self.script("return [window.innerWidth, window.innerHeight];", vec![]).await;
            (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0))
        };
        let resize = |w: i64, h: i64| async move {
            self.cmd(Method::POST, "/window/rect", Some(json!({ "width": w, "height": h }))).await;
        };
        let (w, h) = (i64::from(width), i64::from(height));
        resize(w, h).await;
        let (iw, ih) = measure().await;
        if (iw, ih) != (w, h) {
            resize(w + (w - iw), h + (h - ih)).await;
        }
        poll(&format!("a {width}×{height} viewport"), || async { (measure().await == (w, h)).then_some(()) }).await;
    }

    /// A PNG of the whole page (beyond the viewport), or of the viewport if that is not available.
    pub async fn screenshot(&self) -> Vec<u8> {
        let full =
            json!({ "cmd": "Page.captureScreenshot", "params": { "format": "png", "captureBeyondViewport": true } });
        let path = format!("/session/{}/goog/cdp/execute", self.session);
        let data = match self.call(Method::POST, &path, Some(full)).await {
            Ok(v) if v["data"].is_string() => v["data"].as_str().unwrap_or_default().to_owned(),
            _ => self.cmd(Method::GET, "/screenshot", None).await.as_str().unwrap_or_default().to_owned(),
        };
        base64::engine::general_purpose::STANDARD.decode(data).expect("a base64 PNG")
    }

    pub async fn page_source(&self) -> String {
        self.cmd(Method::GET, "/source", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Every cookie of the current page, HttpOnly ones included, as a `Cookie:` header value.
    pub async fn cookie_header(&self) -> String {
        let cookies = self.cmd(Method::GET, "/cookie", None).await;
        cookies
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| Some(format!("{}={}", c["name"].as_str()?, c["value"].as_str()?)))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    /// Ends the session (Chromium exits) and the driver.
    pub async fn quit(self) {
        if self.open.replace(false) {
            let _ = self.call(Method::DELETE, &format!("/session/{}", self.session), None).await;
        }
        // Drop kills chromedriver.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A panicking test never reached `quit`: end the session synchronously so Chromium does not
        // outlive chromedriver.
        if self.open.replace(false) {
            delete_session_blocking(self.port, &self.session);
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn delete_session_blocking(port: u16, session: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}

/// A loopback port nobody listens on right now (a race is possible; the caller retries).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// A process that is killed if the guard is dropped before it is handed over.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn start_chromedriver(client: &awc::Client, chromedriver: &Path) -> (Child, u16) {
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut guard = ChildGuard(Some(child));
        let url = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = guard.0.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                last_error = format!("chromedriver exited with {status} (port {port} taken?)");
                break;
            }
            if let Ok(mut res) = client.get(&url).timeout(Duration::from_secs(2)).send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == Value::Bool(true)
            {
                let child = guard.0.take().expect("the child is still held");
                return (child, port);
            }
            if Instant::now() >= deadline {
                last_error = format!("chromedriver on port {port} was not ready after {PATIENCE:?}");
                break;
            }
            actix_web::rt::time::sleep(POLL_EVERY).await;
        }
    }
    panic!("{last_error}");
}
