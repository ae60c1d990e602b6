//! A fake PMU turfinfo API: a real HTTP/1.1 server on 127.0.0.1 (std only, one thread per
//! connection, `Connection: close`), started per test on a free port, answering per-path
//! scripts and recording every request.
//!
//! ```ignore
//! // A whole synthetic "PMU" for the fixture days under tests/fixtures/api/:
//! let api = FakeApi::serve_days(&FIXTURE_DAYS);          // 14032025 and 15032025
//! let base = api.base_url();                               // "http://127.0.0.1:PORT"
//! // ... run `pmu-lake extract --api-base {base} --start 14032025 --end 15032025` ...
//! assert_eq!(api.count("/rest/client/1/programme/14032025"), 1);
//!
//! // The same fixture day served under another date (today, say):
//! api.add_day("15032025", "28112026");
//!
//! // Scripted answers for one path, served in order; the last one repeats:
//! let api = FakeApi::start();                              // unknown paths answer 404
//! api.route("/rest/client/1/programme/14032025",
//!           vec![Reply::Empty(500), Reply::Empty(500), Reply::json(body)]);
//! api.route(path, vec![Reply::RetryAfter { status: 429, secs: 1 }, Reply::json(body)]);
//! api.route(path, vec![Reply::Truncated(body.clone()), Reply::html(), Reply::Drop,
//!                      Reply::Slow(Duration::from_secs(3), Box::new(Reply::json(body)))]);
//! api.set_latency(Duration::from_millis(50));              // before every answer
//!
//! // An answer held back until the test opens the gate (a run caught mid-flight, no timing):
//! let gate = Gate::new();
//! api.route(path, vec![Reply::Gated(gate.clone(), Box::new(Reply::json(body)))]);
//! // ... the run asks, waits ...; then:
//! gate.open();
//!
//! api.requests();       // every request: path (with query), lower-cased headers, arrival time
//! api.max_in_flight();  // most requests being answered at once
//! day_objects("14032025", "14032025"); // what serve_days serves: URL path, lake path, bytes
//! ```
//!
//! Fixture layout: `tests/fixtures/api/<DDMMYYYY>/programme.json` and
//! `<DDMMYYYY>/R{r}C{c}/{participants,performances,rapports}.json`; an empty file named
//! `<stage>.204` is answered 204; whatever has no file is answered 404.
//!
//! `cargo run --example fake_api -- [--port N] [DAY…]` serves the fixture days until killed,
//! for a manual `make extract … PMU_API_BASE=http://127.0.0.1:N`.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The fixture days committed under tests/fixtures/api/.
pub const FIXTURE_DAYS: [&str; 2] = ["14032025", "15032025"];

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status with a body.
    Body {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A status with no body (204, 404, 403, 500…).
    Empty(u16),
    /// A status (429, 503) with a `Retry-After: secs` header.
    RetryAfter { status: u16, secs: u64 },
    /// Waits, then answers.
    Slow(Duration, Box<Reply>),
    /// A 200 announcing more bytes than it sends, then the connection closes.
    Truncated(Vec<u8>),
    /// Reads the request and closes the connection without a byte.
    Drop,
    /// Waits until the gate is open, then answers.
    Gated(Gate, Box<Reply>),
}

/// A latch the test opens once; every [`Reply::Gated`] answer waits for it.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.0.0.lock().unwrap();
        while !*open {
            open = self.0.1.wait(open).unwrap();
        }
    }
}

impl Reply {
    pub fn json(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Body {
            status: 200,
            content_type: "application/json;charset=UTF-8",
            body: body.into(),
        }
    }

    /// The "access denied" page some CDNs send with status 200.
    pub fn html() -> Reply {
        Reply::Body {
            status: 200,
            content_type: "text/html",
            body:
                b"<html><head><title>Access Denied</title></head><body>Access Denied</body></html>"
                    .to_vec(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Vec<Reply>>>,
    served: Mutex<HashMap<String, usize>>,
    requests: Mutex<Vec<Request>>,
    latency: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
}

/// The running server; it stops when dropped.
pub struct FakeApi {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

/// An object `serve_days` serves.
#[derive(Debug, Clone)]
pub struct ServedObject {
    /// URL path on the API.
    pub path: String,
    /// Where extract stores it, relative to the day directory: `R1C1/participants.json.zst`
    /// or `R2C6/performances.204`.
    pub lake_rel: String,
    /// The body served, `None` for a 204.
    pub body: Option<Vec<u8>>,
}

/// The API path of a day's programme (DDMMYYYY). The paths are written out here, apart from
/// `pmu_lake::api`, so that a wrong URL in the crate fails the tests.
pub fn programme_path(day: &str) -> String {
    format!("/rest/client/1/programme/{day}")
}

/// The API path of one stage (`participants`, `performances`, `rapports`) of race R{r}C{c}.
pub fn race_path(day: &str, r: impl Display, c: impl Display, stage: &str) -> String {
    match stage {
        "participants" => format!("/rest/client/61/programme/{day}/R{r}/C{c}/participants"),
        "performances" => {
            format!("/rest/client/61/programme/{day}/R{r}/C{c}/performances-detaillees/pretty")
        }
        "rapports" => format!("/rest/client/1/programme/{day}/R{r}/C{c}/rapports-definitifs"),
        other => panic!("unknown stage {other}"),
    }
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api")
}

/// The objects of fixture day `fixture`, served as day `as_day` (both DDMMYYYY).
pub fn day_objects(fixture: &str, as_day: &str) -> Vec<ServedObject> {
    let dir = fixtures_dir().join(fixture);
    let mut out = Vec::new();
    let read = |p: PathBuf| {
        std::fs::read(&p).unwrap_or_else(|e| panic!("reading fixture {}: {e}", p.display()))
    };
    out.push(ServedObject {
        path: programme_path(as_day),
        lake_rel: "programme.json.zst".into(),
        body: Some(read(dir.join("programme.json"))),
    });
    let mut races: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing fixture day {}: {e}", dir.display()))
        .map(|e| {
            e.expect("fixture entry")
                .file_name()
                .into_string()
                .expect("ASCII fixture names")
        })
        .filter(|n| n.starts_with('R'))
        .collect();
    races.sort();
    for race in races {
        let (r, c) = race[1..]
            .split_once('C')
            .expect("fixture race dirs are RxCy");
        for entry in std::fs::read_dir(dir.join(&race)).expect("listing a fixture race") {
            let name = entry
                .expect("fixture entry")
                .file_name()
                .into_string()
                .expect("ASCII fixture names");
            let (stage, ext) = name.split_once('.').expect("fixture files are stage.ext");
            let tail = race_path(as_day, r, c, stage);
            let (lake_rel, body) = match ext {
                "json" => (
                    format!("{race}/{stage}.json.zst"),
                    Some(read(dir.join(&race).join(&name))),
                ),
                "204" => (format!("{race}/{stage}.204"), None),
                other => panic!("unknown fixture extension {other}"),
            };
            out.push(ServedObject {
                path: tail,
                lake_rel,
                body,
            });
        }
    }
    out
}

impl FakeApi {
    /// Starts an empty server: every path answers 404 until routed.
    pub fn start() -> FakeApi {
        Self::start_on(0)
    }

    /// Starts on a given port (0: any free port).
    pub fn start_on(port: u16) -> FakeApi {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("binding the fake API");
        let addr = listener.local_addr().expect("fake API address");
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || handle(stream, &shared));
                }
            })
        };
        FakeApi {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Starts a server answering the given fixture days (each served under its own date).
    pub fn serve_days(days: &[&str]) -> FakeApi {
        let api = FakeApi::start();
        for day in days {
            api.add_day(day, day);
        }
        api
    }

    /// Serves fixture day `fixture` under the date `as_day` (both DDMMYYYY).
    pub fn add_day(&self, fixture: &str, as_day: &str) {
        for o in day_objects(fixture, as_day) {
            let reply = match o.body {
                Some(body) => Reply::json(body),
                None => Reply::Empty(204),
            };
            self.route(&o.path, vec![reply]);
        }
    }

    /// Scripts `path` (without query): answers in order, the last one repeating.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "a route needs at least one reply");
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), replies);
        self.shared.served.lock().unwrap().remove(path);
    }

    /// A delay before every answer (makes concurrency observable).
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.latency.lock().unwrap() = latency;
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests received for `path` (query string ignored).
    pub fn count(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| strip_query(&r.path) == path)
            .count()
    }

    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the requests seen so far (not the scripts).
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn handle(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((path, headers)) = read_head(&mut stream) else {
        return;
    };
    let at = Instant::now();
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    shared.requests.lock().unwrap().push(Request {
        path: path.clone(),
        headers,
        at,
    });
    let reply = next_reply(shared, strip_query(&path));
    let latency = *shared.latency.lock().unwrap();
    if !latency.is_zero() {
        thread::sleep(latency);
    }
    respond(&mut stream, &reply);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = stream.shutdown(Shutdown::Both);
}

fn next_reply(shared: &Shared, path: &str) -> Reply {
    let routes = shared.routes.lock().unwrap();
    let Some(script) = routes.get(path) else {
        return Reply::Empty(404);
    };
    let mut served = shared.served.lock().unwrap();
    let n = served.entry(path.to_string()).or_insert(0);
    let reply = script[(*n).min(script.len() - 1)].clone();
    *n += 1;
    reply
}

/// Reads a request head; `None` if the peer went away (or the shutdown wake-up connection).
fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((path, headers))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn respond(stream: &mut TcpStream, reply: &Reply) {
    // Write errors mean the client gave up (a timeout): nothing to do.
    let _ = match reply {
        Reply::Body {
            status,
            content_type,
            body,
        } => write_response(
            stream,
            *status,
            &[("Content-Type", content_type)],
            body,
            body.len(),
        ),
        Reply::Empty(204) => {
            stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        }
        Reply::Empty(status) => write_response(stream, *status, &[], b"", 0),
        Reply::RetryAfter { status, secs } => write_response(
            stream,
            *status,
            &[("Retry-After", &secs.to_string())],
            b"",
            0,
        ),
        Reply::Slow(wait, inner) => {
            thread::sleep(*wait);
            respond(stream, inner);
            Ok(())
        }
        Reply::Truncated(body) => write_response(
            stream,
            200,
            &[("Content-Type", "application/json;charset=UTF-8")],
            &body[..body.len() / 2],
            body.len() + 100,
        ),
        Reply::Drop => Ok(()),
        Reply::Gated(gate, inner) => {
            gate.wait();
            respond(stream, inner);
            Ok(())
        }
    };
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    content_length: usize,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {content_length}\r\nConnection: close\r\n",
        reason(status)
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
