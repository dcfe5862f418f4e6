//! Chat calls (or health checks) with tonic, with the flags, printed lines and --json
//! record of client.ts (docs/flags.md); with --agent, the lab's client agent.
//!
//!     cargo run --release --bin tonic-client -- --port 50051 --ping-interval-ms 250
//!
//! tonic has no retry policy, no wait-for-ready, no client-side health checking and one
//! way to balance a list of addresses (Channel::balance_list: power of two choices).
//! --retry is this program's own, as lib/retry-interceptor.ts is connect-node's.
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_lab::calls::{self, CallEnd, CallFuture, Caller, ClientSettings, Shared, Sinks};
use tonic_lab::chat::ChatRequest;
use tonic_lab::chat::chat_service_client::ChatServiceClient;
use tonic_lab::flags::{self, Failure, Flags, Options};
use tonic_lab::report::{clock_text, out};
use tonic_lab::agent;

const PROGRAM: &str = "tonic-client";
const SUMMARY: &str = "one Chat call (or a health check) with tonic (gRPC only)";
const LIBRARY: &str = "tonic 0.14.9";

fn main() {
    flags::run(PROGRAM, || {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let f = Flags::parse(PROGRAM, SUMMARY, &calls::client_specs(), &argv)?;
        let s = calls::read_client_settings(&f)?;
        let runtime = tokio::runtime::Runtime::new().map_err(|e| Failure::Other(e.to_string()))?;
        runtime.block_on(async move {
            if s.agent {
                let new_caller: agent::NewCaller = Arc::new(|s: &ClientSettings| new_caller(s).map_err(|e| e.to_string()));
                agent::run("tonic", PROGRAM, LIBRARY.into(), calls::client_specs, new_caller).await;
                return Ok(());
            }
            let caller = new_caller(&s)?;
            let (tx, rx) = tokio::sync::watch::channel(None);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = tx.send(Some("interrupted by SIGINT".to_string()));
                }
            });
            let sinks = Sinks { out: calls::stdout_sink(), events: None };
            let (record, last) = calls::run_sequence("tonic", caller.as_ref(), &s, rx, &sinks).await;
            if s.json {
                out(&serde_json::Value::Object(record.clone()).to_string());
            }
            let ok = record.get("code").and_then(|c| c.as_str()) == Some("ok") && !last.unhealthy;
            std::process::exit(if ok { 0 } else { 1 });
        })
    })
}

struct TonicCaller {
    channel: Channel,
}

/// A channel of its own (tonic shares no connection between channels), lazily connected.
fn new_caller(s: &ClientSettings) -> Result<Arc<dyn Caller>, Failure> {
    let refused: Vec<&str> = [
        (s.lb_policy.is_some(), "--lb-policy"),
        (s.health_check, "--health-check"),
        (s.wait_for_ready, "--wait-for-ready"),
    ]
    .iter()
    .filter(|(given, _)| *given)
    .map(|(_, flag)| *flag)
    .collect();
    if !refused.is_empty() {
        return flags::usage(format!(
            "{}: not in tonic: it balances a list one way (power of two choices), and has no wait-for-ready and no client-side health checking",
            refused.join(", ")
        ));
    }
    let mut o = Options::new(s.options.clone());
    let interval = o.ms("Endpoint::http2_keep_alive_interval")?;
    let timeout = o.ms("Endpoint::keep_alive_timeout")?;
    let idle = o.boolean("Endpoint::keep_alive_while_idle")?;
    let connect = o.ms("Endpoint::connect_timeout")?;
    let request = o.ms("Endpoint::timeout")?;
    let tcp = o.ms("Endpoint::tcp_keepalive")?;
    o.check()?;
    let interval = s.ping_interval_ms.map(|ms| Duration::from_millis(ms as u64)).or(interval);
    let timeout = s.ping_timeout_ms.map(|ms| Duration::from_millis(ms as u64)).or(timeout);
    let idle = if s.ping_idle { Some(true) } else { idle };
    let scheme = if s.tls_ca.is_some() { "https" } else { "http" };
    let endpoint = |address: &str| -> Result<Endpoint, Failure> {
        let mut e = Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| Failure::Usage(format!("--host/--port/--target: {address}: {e}")))?;
        if let Some(d) = interval {
            e = e.http2_keep_alive_interval(d);
        }
        if let Some(d) = timeout {
            e = e.keep_alive_timeout(d);
        }
        if let Some(b) = idle {
            e = e.keep_alive_while_idle(b);
        }
        if let Some(d) = connect {
            e = e.connect_timeout(d);
        }
        if let Some(d) = request {
            e = e.timeout(d);
        }
        e = e.tcp_keepalive(tcp);
        if let Some(ca) = &s.tls_ca {
            e = e
                .tls_config(key_log(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca))))
                .map_err(|e| Failure::Usage(format!("--tls-ca: {e}")))?;
        }
        Ok(e)
    };
    let channel = match &s.target {
        Some(target) => {
            let Some(list) = target.strip_prefix("ipv4:") else {
                return flags::usage(format!("--target must be ipv4:HOST:PORT,HOST:PORT..., got \"{target}\""));
            };
            let endpoints: Result<Vec<Endpoint>, Failure> = list.split(',').filter(|a| !a.is_empty()).map(endpoint).collect();
            Channel::balance_list(endpoints?.into_iter())
        }
        None => endpoint(&flags::authority(&s.host, s.port))?.connect_lazy(),
    };
    Ok(Arc::new(TonicCaller { channel }))
}

fn ended(status: Status) -> CallEnd {
    CallEnd { code: status.code() as i32, message: status.message().to_string(), unhealthy: false }
}

impl Caller for TonicCaller {
    fn call(&self, s: &ClientSettings, deadline: Option<Instant>, r: Shared) -> CallFuture {
        let channel = self.channel.clone();
        let s = s.clone();
        Box::pin(async move {
            let health = HealthCheckRequest { service: s.health_service.clone() };
            match s.method.as_str() {
                "health-check" => match HealthClient::new(channel).check(timed(Request::new(health), deadline)).await {
                    Ok(response) => {
                        let status = response.into_inner().status;
                        r.lock().unwrap().message(1, &serving_name(status), None);
                        CallEnd { code: 0, message: String::new(), unhealthy: status != 1 }
                    }
                    Err(status) => ended(status),
                },
                "health-watch" => match HealthClient::new(channel).watch(timed(Request::new(health), deadline)).await {
                    Ok(response) => {
                        let mut stream = response.into_inner();
                        let mut index = 0;
                        loop {
                            match stream.message().await {
                                Ok(Some(m)) => {
                                    index += 1;
                                    r.lock().unwrap().message(index, &serving_name(m.status), None);
                                }
                                Ok(None) => return CallEnd::default(),
                                Err(status) => return ended(status),
                            }
                        }
                    }
                    Err(status) => ended(status),
                },
                _ => {
                    let request = ChatRequest { name: s.name.clone(), text: s.text.clone() };
                    match ChatServiceClient::new(channel).chat(timed(Request::new(request), deadline)).await {
                        Ok(response) => {
                            let mut stream = response.into_inner();
                            loop {
                                match stream.message().await {
                                    Ok(Some(m)) => {
                                        let sent = m.sent_at.map(|t| clock_text(t.seconds, t.nanos));
                                        r.lock().unwrap().message(m.index as i64, &m.text, sent);
                                    }
                                    Ok(None) => return CallEnd::default(),
                                    Err(status) => return ended(status),
                                }
                            }
                        }
                        Err(status) => ended(status),
                    }
                }
            }
        })
    }
}

/// The connections' secrets go where SSLKEYLOGFILE says, when it says (the lab's tap
/// reads inside TLS with them, issue 19).
fn key_log(config: ClientTlsConfig) -> ClientTlsConfig {
    if std::env::var_os("SSLKEYLOGFILE").is_some() { config.use_key_log() } else { config }
}

/// What is left of the call's deadline for this attempt, as Request::set_timeout (grpc-timeout).
fn timed<T>(mut request: Request<T>, deadline: Option<Instant>) -> Request<T> {
    if let Some(d) = deadline {
        request.set_timeout(d.saturating_duration_since(Instant::now()));
    }
    request
}

fn serving_name(status: i32) -> String {
    match status {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

