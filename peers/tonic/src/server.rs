//! What the Chat server's handlers share (the Python server's State): its flags, stream
//! numbers, the running handlers, the shutdown, the health status, the printed lines.
use crate::flags::{self, Failure, Flags, Spec};
use crate::report::{out, quote};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

pub const SHUTTING_DOWN: &str = "server shutting down";
pub const SERVING: i32 = 1;
pub const NOT_SERVING: i32 = 2;
pub const SERVICE_UNKNOWN: i32 = 3;

/// A server's flags, read and checked (lib/server-flags.ts).
#[derive(Clone)]
pub struct ServerSettings {
    pub host: String,
    pub port: i64,
    pub count: i64,
    pub interval_ms: i64,
    pub grace_ms: i64,
    pub stall_after: Option<i64>,
    pub read_max_bytes: i64,
    pub max_streams: i64,
    pub ping_interval_ms: i64,
    pub ping_timeout_ms: i64,
    pub ping_explicit: bool,
    pub max_age_ms: i64,
    pub max_age_grace_ms: Option<i64>,
    pub quiet: bool,
    pub options: serde_json::Map<String, serde_json::Value>,
    pub stop_mode: String,
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

pub fn server_specs() -> Vec<Spec> {
    vec![
        flags::string("host", "address to listen on", "127.0.0.1"),
        flags::string("port", "port to listen on; 0 picks a free one", "50051"),
        flags::string("count", "responses per Chat stream", "3"),
        flags::string("interval-ms", "pause between two responses", "2000"),
        flags::string("grace-ms", "graceful-shutdown budget: in-flight streams may finish within it, the rest end unavailable", "5000"),
        flags::string("stall-after", "stop sending after this many messages and stay silent (a stalled handler in a live process)", "never"),
        flags::string("read-max-bytes", "largest request message accepted (max_decoding_message_size)", "4194304"),
        flags::string("max-streams", "concurrent streams per connection (Server::max_concurrent_streams)", "16"),
        flags::string("ping-interval-ms", "server-side keepalive: PING each connection this often; 0 turns it off", "60000"),
        flags::string("ping-timeout-ms", "server-side keepalive: close a connection whose PING is unanswered this long", "20000"),
        flags::string("write-stall-timeout-ms", "only 0: tonic keeps flow control to itself (no write-stall timeout)", "0"),
        flags::string("max-connection-age-ms", "rotate connections: this long after each opened (Server::max_connection_age)", "0 (off)"),
        flags::string("max-connection-age-grace-ms", "after the age, how long streams may run (Server::max_connection_age_grace)", "none: until they end"),
        flags::boolean("quiet", "do not print a line per message"),
        flags::string(
            "options",
            "tonic Server settings as a JSON object, by their method names (Server::http2_keepalive_interval, ...; ms); the other flags win over them",
            "none",
        ),
        flags::string(
            "stop-mode",
            "how SIGTERM or SIGINT stops the server: ours (a grace, then unavailable \"server shutting down\"), library-graceful (serve_with_shutdown's signal), library-immediate (the server and its runtime dropped: main returns)",
            "ours",
        ),
        flags::string("tls-cert", "serve HTTP/2 over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key", "none: h2c"),
        flags::string("tls-key", "the PEM private key of --tls-cert", "none"),
    ]
}

pub fn read_server_settings(f: &Flags) -> Result<ServerSettings, Failure> {
    if f.int("write-stall-timeout-ms", 0, 0, flags::MAX_SAFE)? != 0 {
        return flags::usage("--write-stall-timeout-ms: tonic offers no view of flow control, only 0 (off)");
    }
    let (cert, key) = (f.has("tls-cert"), f.has("tls-key"));
    if cert != key {
        return flags::usage("--tls-cert and --tls-key go together");
    }
    Ok(ServerSettings {
        host: f.string("host", "127.0.0.1"),
        port: f.int("port", 50051, 0, 65535)?,
        count: f.int("count", 3, 1, flags::MAX_SAFE)?,
        interval_ms: f.int("interval-ms", 2000, 0, flags::MAX_SAFE)?,
        grace_ms: f.int("grace-ms", 5000, 0, flags::MAX_SAFE)?,
        stall_after: f.optional("stall-after", 0)?,
        read_max_bytes: f.int("read-max-bytes", 4 << 20, 1, (1 << 31) - 1)?,
        max_streams: f.int("max-streams", 16, 1, (1 << 31) - 1)?,
        ping_interval_ms: f.int("ping-interval-ms", 60000, 0, flags::MAX_SAFE)?,
        ping_timeout_ms: f.int("ping-timeout-ms", 20000, 1, flags::MAX_SAFE)?,
        ping_explicit: f.has("ping-interval-ms") || f.has("ping-timeout-ms"),
        max_age_ms: f.int("max-connection-age-ms", 0, 0, flags::MAX_SAFE)?,
        max_age_grace_ms: f.optional("max-connection-age-grace-ms", 0)?,
        quiet: f.has("quiet"),
        options: f.options()?,
        stop_mode: f.choice("stop-mode", &["ours", "library-graceful", "library-immediate"], "ours")?,
        tls: if cert { Some((f.pem("tls-cert")?, f.pem("tls-key")?)) } else { None },
    })
}

/// The handlers' shared state.
pub struct State {
    pub settings: ServerSettings,
    next_id: AtomicI64,
    running: AtomicI64,
    /// true once the grace is over: handlers still running end unavailable.
    shutting_down: watch::Sender<bool>,
    status: Mutex<HashMap<String, i32>>,
    draining: AtomicBool,
    changed: watch::Sender<u64>,
    cancelled_by: Mutex<Option<String>>,
}

impl State {
    pub fn new(settings: ServerSettings) -> Arc<State> {
        Arc::new(State {
            settings,
            next_id: AtomicI64::new(1),
            running: AtomicI64::new(0),
            shutting_down: watch::channel(false).0,
            status: Mutex::new(HashMap::from([(String::new(), SERVING), ("chat.v1.ChatService".to_string(), SERVING)])),
            draining: AtomicBool::new(false),
            changed: watch::channel(0).0,
            cancelled_by: Mutex::new(None),
        })
    }

    pub fn running(&self) -> i64 {
        self.running.load(Ordering::SeqCst)
    }

    pub fn status(&self, service: &str) -> Option<i32> {
        self.status.lock().unwrap().get(service).copied()
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// A receiver that changes with each status change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn set_not_serving(&self) {
        self.draining.store(true, Ordering::SeqCst);
        for v in self.status.lock().unwrap().values_mut() {
            *v = NOT_SERVING;
        }
        self.changed.send_modify(|v| *v += 1);
    }

    pub fn end_streams(&self) {
        let _ = self.shutting_down.send(true);
    }

    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutting_down.subscribe()
    }

    pub fn set_cancelled_by(&self, how: &str) {
        *self.cancelled_by.lock().unwrap() = Some(how.to_string());
    }

    pub fn start_stream(self: &Arc<State>, peer: &str, protocol: &str) -> Stream {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.running.fetch_add(1, Ordering::SeqCst);
        out(&format!("stream {id} started: peer {peer}, protocol {protocol}"));
        Stream { state: self.clone(), id, ended: false }
    }
}

/// How a Chat stream's replies ended.
pub enum Outcome {
    Ok,
    ShuttingDown,
    /// The response stream was dropped: the client reset it, or its connection was lost.
    ClientGone,
}

/// One Chat handler's life: its number and its lines.
pub struct Stream {
    state: Arc<State>,
    pub id: i64,
    ended: bool,
}

impl Stream {
    /// Sends the Chat stream (lib/chat-replies.ts); `send` resolves false once the client is gone.
    pub async fn replies<F, Fut>(&self, name: &str, text: &str, mut send: F, gone: impl std::future::Future<Output = ()>) -> Outcome
    where
        F: FnMut(i64, String, SystemTime) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let s = &self.state.settings;
        let who = if name.is_empty() { "anonymous" } else { name };
        let mut shutting = self.state.shutting_down();
        tokio::pin!(gone);
        for index in 1..=s.count {
            let pause = if s.stall_after.is_some_and(|n| index > n) {
                None
            } else if index > 1 && s.interval_ms > 0 {
                Some(Duration::from_millis(s.interval_ms as u64))
            } else {
                Some(Duration::ZERO)
            };
            let sleep = async {
                match pause {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = &mut gone => return Outcome::ClientGone,
                _ = shutting.wait_for(|v| *v) => return Outcome::ShuttingDown,
            }
            if *shutting.borrow() {
                return Outcome::ShuttingDown;
            }
            let reply = format!("hello {who}, reply {index} of {} to {}", s.count, quote(text));
            if !send(index, reply, SystemTime::now()).await {
                return Outcome::ClientGone;
            }
            if !s.quiet {
                out(&format!("stream {} message {index}/{} handed to tonic", self.id, s.count));
            }
        }
        Outcome::Ok
    }

    /// How the handler ended: a status it gave, its client gone, or the library's stop.
    pub fn end(mut self, code: &str, message: &str, client_gone: bool) {
        self.ended = true;
        self.finish(code, message, client_gone);
    }

    fn finish(&self, code: &str, message: &str, client_gone: bool) {
        self.state.running.fetch_sub(1, Ordering::SeqCst);
        let detail = if message.is_empty() { String::new() } else { format!(" {}", quote(message)) };
        let how = self.state.cancelled_by.lock().unwrap().clone();
        match (client_gone, how) {
            (true, Some(how)) => out(&format!("stream {} cancelled by {how}", self.id)),
            (true, None) => out(&format!("stream {} client gone: {code}{detail}", self.id)),
            _ => out(&format!("stream {} ended: {code}{detail}", self.id)),
        }
    }
}

impl Drop for Stream {
    /// A handler dropped before it said how it ended: tonic dropped it with its stream.
    fn drop(&mut self) {
        if !self.ended {
            self.finish("canceled", "", true);
        }
    }
}

pub fn shutdown(phase: &str) {
    out(&format!("shutdown: {phase}"));
}

/// Gives the handlers a moment to say how they ended, then exits.
pub async fn exit_when_handlers_end(state: &State, status: i32) -> ! {
    for _ in 0..50 {
        if state.running() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown("done");
    std::process::exit(status)
}

/// The memory line of lib/memory-report.ts: Rust has no collector to ask, so the heap is
/// unknown (as grpcio's without tracemalloc); RSS from /proc.
pub fn report_memory(state: &State) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<i64>().ok()))
        .map(|pages| pages * 4096)
        .unwrap_or(0);
    out(&format!(
        "memory: heap used unknown (no collector in Rust), rss {rss} bytes ({:.1} MiB), {} handler(s) running",
        rss as f64 / 1048576.0,
        state.running()
    ));
}
