//! A client's settings (lib/client-flags.ts), one call with its idle timeout, interrupts
//! and retries around the stack's own call, and --calls calls in a row (lib/run-calls.ts).
use crate::flags::{self, Failure, Flags, Spec};
use crate::report::{self, Reporter};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// What one call on an agent's channel may set for itself (lib/client-flags.ts callFlagNames).
pub const CALL_FLAGS: [&str; 7] = ["name", "text", "timeout-ms", "wait-for-ready", "health", "watch-health", "health-service"];

/// A client's flags, read and checked.
#[derive(Clone, Default)]
pub struct ClientSettings {
    pub method: String,
    pub health_service: String,
    pub host: String,
    pub port: i64,
    pub protocol: String,
    pub name: String,
    pub text: String,
    pub ping_interval_ms: Option<i64>,
    pub ping_timeout_ms: Option<i64>,
    pub timeout_ms: Option<i64>,
    pub idle_timeout_ms: Option<i64>,
    pub target: Option<String>,
    pub lb_policy: Option<String>,
    pub ping_idle: bool,
    pub health_check: bool,
    pub wait_for_ready: bool,
    pub retry_attempts: i64,
    pub options: Map<String, Value>,
    pub tls_ca: Option<Vec<u8>>,
    pub calls: i64,
    pub call_gap_ms: i64,
    pub json: bool,
    pub agent: bool,
}

impl ClientSettings {
    pub fn address(&self) -> String {
        self.target.clone().unwrap_or_else(|| flags::authority(&self.host, self.port))
    }
}

pub fn client_specs() -> Vec<Spec> {
    vec![
        flags::string("host", "server address", "127.0.0.1"),
        flags::string("port", "server port", "50051"),
        flags::string("protocol", "wire protocol: grpc (tonic speaks gRPC only)", "grpc"),
        flags::string("name", "name sent in the request", "alice"),
        flags::string("text", "text sent in the request", "are you there?"),
        flags::string("ping-interval-ms", "HTTP/2 keepalive: PING after this long without data", "off"),
        flags::string("ping-timeout-ms", "HTTP/2 keepalive: connection dead if a PING is unanswered this long", "20000 (hyper's)"),
        flags::string("timeout-ms", "deadline for the whole call (Request::set_timeout)", "none"),
        flags::string("idle-timeout-ms", "abort the stream (deadline_exceeded) when no message came for this long", "none"),
        flags::boolean("health", "instead of Chat, ask grpc.health.v1.Health/Check once; exit 0 only if SERVING"),
        flags::boolean("watch-health", "instead of Chat, call grpc.health.v1.Health/Watch and print each status until the stream ends"),
        flags::string("health-service", "service to ask --health or --watch-health about", "\"\" (the whole server)"),
        flags::string(
            "target",
            "several addresses behind one channel: ipv4:127.0.0.1:P1,127.0.0.2:P2 (Channel::balance_list, power of two choices)",
            "none",
        ),
        flags::string("lb-policy", "not in tonic: a list is balanced one way (power of two choices)", "none"),
        flags::boolean("ping-idle", "keepalive PINGs also while no call is open (Endpoint::keep_alive_while_idle)"),
        flags::boolean("health-check", "not in tonic: it has no client-side health checking"),
        flags::boolean("wait-for-ready", "not in tonic: it has no wait-for-ready"),
        flags::string(
            "retry",
            "attempts in all for a call that fails unavailable before its first message (the program's own retries, as lib/retry-interceptor.ts: tonic has none)",
            "1 (no retry)",
        ),
        flags::string(
            "options",
            "tonic Endpoint settings as a JSON object, by their method names (Endpoint::http2_keep_alive_interval, ...; ms); the other flags win over them",
            "none",
        ),
        flags::string("tls-ca", "speak HTTP/2 over TLS (ALPN h2), trusting the server certificates this PEM CA signed", "none: h2c"),
        flags::string("calls", "calls to make one after another on the same channel", "1"),
        flags::string("call-gap-ms", "pause between two calls", "0"),
        flags::boolean("json", "print the result as one JSON object on the last stdout line"),
        flags::boolean("agent", "serve many calls from stdin, one JSON command per line: the lab's client agent (docs/agent-protocol.md)"),
    ]
}

pub fn read_client_settings(f: &Flags) -> Result<ClientSettings, Failure> {
    if f.has("health") && f.has("watch-health") {
        return flags::usage("--health and --watch-health: choose one");
    }
    let method = if f.has("health") {
        "health-check"
    } else if f.has("watch-health") {
        "health-watch"
    } else {
        "chat"
    };
    Ok(ClientSettings {
        method: method.into(),
        health_service: f.string("health-service", ""),
        host: f.string("host", "127.0.0.1"),
        port: f.int("port", 50051, 1, 65535)?,
        protocol: f.choice("protocol", &["grpc"], "grpc")?,
        name: f.string("name", "alice"),
        text: f.string("text", "are you there?"),
        ping_interval_ms: f.optional("ping-interval-ms", 1)?,
        ping_timeout_ms: f.optional("ping-timeout-ms", 1)?,
        timeout_ms: f.optional("timeout-ms", 1)?,
        idle_timeout_ms: f.optional("idle-timeout-ms", 1)?,
        target: f.has("target").then(|| f.string("target", "")),
        lb_policy: if f.has("lb-policy") { Some(f.choice("lb-policy", &["pick_first", "round_robin"], "pick_first")?) } else { None },
        ping_idle: f.has("ping-idle"),
        health_check: f.has("health-check"),
        wait_for_ready: f.has("wait-for-ready"),
        retry_attempts: f.int("retry", 1, 1, 10)?,
        options: f.options()?,
        tls_ca: if f.has("tls-ca") { Some(f.pem("tls-ca")?) } else { None },
        calls: f.int("calls", 1, 1, 1000)?,
        call_gap_ms: f.int("call-gap-ms", 0, 0, flags::MAX_SAFE)?,
        json: f.has("json"),
        agent: f.has("agent"),
    })
}

/// How a call ended: its status number, message, and for a Check whether it was not SERVING.
#[derive(Clone, Debug, Default)]
pub struct CallEnd {
    pub code: i32,
    pub message: String,
    pub unhealthy: bool,
}

pub type Shared = Arc<Mutex<Reporter>>;
pub type CallFuture = Pin<Box<dyn Future<Output = CallEnd> + Send>>;

/// A stack's way to make calls on one channel of its own.
pub trait Caller: Send + Sync {
    /// One call as `s` says; `deadline`: the call's, over all its attempts. Dropping the
    /// future cancels the call.
    fn call(&self, s: &ClientSettings, deadline: Option<Instant>, r: Shared) -> CallFuture;
}

/// Why a call was ended from outside it: the Ctrl-C or cancel command's words.
pub type Interrupt = watch::Receiver<Option<String>>;

/// One call with its idle timeout (lib/idle-timeout-interceptor.ts), interrupts, and
/// retries as lib/retry-interceptor.ts makes them (tonic has none of its own).
pub async fn one_call(caller: &dyn Caller, s: &ClientSettings, r: Shared, mut interrupt: Interrupt) -> CallEnd {
    let deadline = s.timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
    let woken = Arc::new(Notify::new());
    {
        let w = woken.clone();
        r.lock().unwrap().after_message = Some(Box::new(move || w.notify_one()));
    }
    let idle = s.idle_timeout_ms.map(|ms| Duration::from_millis(ms as u64));
    let mut attempt = 1;
    loop {
        let mut call = caller.call(s, deadline, r.clone());
        let mut idle_at = idle.map(|d| tokio::time::Instant::now() + d);
        let end = loop {
            let sleep = async {
                match idle_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                end = &mut call => break end,
                _ = interrupt.changed() => {
                    if let Some(why) = interrupt.borrow().clone() {
                        return CallEnd { code: 1, message: why, unhealthy: false };
                    }
                }
                _ = woken.notified() => idle_at = idle.map(|d| tokio::time::Instant::now() + d),
                _ = sleep => {
                    return CallEnd {
                        code: 4,
                        message: format!("idle timeout: no message for {} ms", s.idle_timeout_ms.unwrap_or(0)),
                        unhealthy: false,
                    };
                }
            }
        };
        let received = r.lock().unwrap().received();
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if end.code != 14 || received > 0 || attempt >= s.retry_attempts || expired {
            return end;
        }
        // Full jitter, as gRFC A6.
        let backoff = f64::min(2000.0, 250.0 * 2f64.powi(attempt as i32 - 1));
        let pause = Duration::from_millis((rand::random::<f64>() * backoff) as u64);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = interrupt.changed() => {
                if let Some(why) = interrupt.borrow().clone() {
                    return CallEnd { code: 1, message: why, unhealthy: false };
                }
            }
        }
        attempt += 1;
    }
}

/// Where a sequence of calls reports to: the lines, and the agent's events.
pub struct Sinks {
    pub out: Arc<dyn Fn(&str) + Send + Sync>,
    pub events: Option<Arc<dyn Fn(i64, &str, Value) + Send + Sync>>,
}

/// --calls calls one after another, --call-gap-ms apart: the last call's record, the
/// earlier ones in previousCalls.
pub async fn run_sequence(
    client: &str,
    caller: &dyn Caller,
    s: &ClientSettings,
    interrupt: Interrupt,
    sinks: &Sinks,
) -> (Map<String, Value>, CallEnd) {
    let mut results: Vec<Map<String, Value>> = vec![];
    let mut last = CallEnd { code: 1, message: "no call made".into(), unhealthy: false };
    for n in 1..=s.calls {
        if n > 1 && s.call_gap_ms > 0 {
            tokio::time::sleep(Duration::from_millis(s.call_gap_ms as u64)).await;
        }
        if n > 1 && interrupt.borrow().is_some() {
            break;
        }
        let out = sinks.out.clone();
        let events = sinks.events.clone().map(|e| {
            Arc::new(move |kind: &str, fields: Value| e(n, kind, fields)) as Arc<dyn Fn(&str, Value) + Send + Sync>
        });
        let reporter = Arc::new(Mutex::new(Reporter::new(
            client,
            &s.protocol,
            &s.address(),
            (n, s.calls),
            Box::new(move |line| out(line)),
            events,
        )));
        last = one_call(caller, s, reporter.clone(), interrupt.clone()).await;
        results.push(reporter.lock().unwrap().finish(last.code, &last.message));
    }
    let mut record = results.pop().unwrap_or_default();
    if !results.is_empty() {
        record.insert("previousCalls".into(), Value::Array(results.into_iter().map(Value::Object).collect()));
    }
    (record, last)
}

/// Prints a line through the reporter's sink, for the CLI.
pub fn stdout_sink() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|line: &str| report::out(line))
}
