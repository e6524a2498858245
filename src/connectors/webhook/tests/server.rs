//! A tiny HTTP/1.1 server on a loopback port for the webhook tests: one thread per connection,
//! one request per connection, and a handler that writes whatever answer the test needs (valid,
//! broken, late or never).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

pub struct TestServer {
    pub url: String,
    addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let (requests, handler) = (Arc::clone(&requests), Arc::clone(&handler));
                    std::thread::spawn(move || {
                        // Bounds a handler that waits for the client to go away.
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                        let Some(request) = read_request(&mut stream) else { return };
                        requests.lock().unwrap().push(request.clone());
                        handler(&request, &mut stream);
                        let _ = stream.flush();
                        let _ = stream.shutdown(std::net::Shutdown::Write);
                    });
                }
            })
        };
        TestServer { url: format!("http://{addr}"), addr, requests, stop, thread: Some(thread) }
    }

    /// The requests received so far, for `path`.
    pub fn received(&self, path: &str) -> Vec<Request> {
        self.requests.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let body = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    Some(Request { method, path, headers, body })
}

/// A whole JSON answer.
pub fn json(stream: &mut TcpStream, status: u16, body: &Value) {
    raw(stream, status, "application/json", body.to_string().as_bytes());
}

/// A whole answer of any content.
pub fn raw(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} Answer\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// The head of a chunked NDJSON answer; then [`line`] for each line and [`end_chunks`].
pub fn start_stream(stream: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\
                Connection: close\r\n\r\n";
    let _ = stream.write_all(head.as_bytes());
}

/// One NDJSON line, as one chunk, sent at once.
pub fn line(stream: &mut TcpStream, value: &Value) {
    chunk(stream, format!("{value}\n").as_bytes());
}

pub fn chunk(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(format!("{:x}\r\n", bytes.len()).as_bytes());
    let _ = stream.write_all(bytes);
    let _ = stream.write_all(b"\r\n");
    let _ = stream.flush();
}

/// The end of the chunked body (not of the protocol's stream: that is the line `{"end": true}`).
pub fn end_chunks(stream: &mut TcpStream) {
    let _ = stream.write_all(b"0\r\n\r\n");
}

/// A whole NDJSON answer: `lines`, then `{"end": true}`.
pub fn ndjson(stream: &mut TcpStream, lines: &[Value]) {
    start_stream(stream);
    for l in lines {
        line(stream, l);
    }
    line(stream, &serde_json::json!({"end": true}));
    end_chunks(stream);
}

/// Waits, without answering, until the client gives up and closes the connection.
pub fn never_answer(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}
