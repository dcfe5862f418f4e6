//! The Chat service on tonic, with the flags and printed lines of server.ts
//! (docs/flags.md) where tonic lets it tell.
//!
//!     cargo run --release --bin tonic-server -- --port 50051
//!
//! --stop-mode: ours (serve_with_shutdown's signal: GOAWAY, streams finish within
//! --grace-ms, the rest end unavailable "server shutting down"), library-graceful
//! (serve_with_shutdown's signal, then it waits for every connection with no time limit)
//! or library-immediate (the server dropped with its runtime, as when main returns: every
//! connection closed, no GOAWAY).
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_lab::chat::chat_service_server::{ChatService, ChatServiceServer};
use tonic_lab::chat::{ChatRequest, ChatResponse};
use tonic_lab::flags::{self, Failure, Flags, Options};
use tonic_lab::report::out;
use tonic_lab::server::{self, Outcome, SHUTTING_DOWN, ServerSettings, State, shutdown};

const PROGRAM: &str = "tonic-server";

fn main() {
    flags::run(PROGRAM, || {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let f = Flags::parse(PROGRAM, "the Chat service on tonic (gRPC over h2c, or TLS with --tls-cert)", &server::server_specs(), &argv)?;
        let settings = server::read_server_settings(&f)?;
        let runtime = tokio::runtime::Runtime::new().map_err(|e| Failure::Other(e.to_string()))?;
        runtime.block_on(serve(settings))
    })
}

struct Chat {
    state: Arc<State>,
}

#[tonic::async_trait]
impl ChatService for Chat {
    type ChatStream = ReceiverStream<Result<ChatResponse, Status>>;

    async fn chat(&self, request: Request<ChatRequest>) -> Result<Response<Self::ChatStream>, Status> {
        let peer = request.remote_addr().map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
        let st = self.state.start_stream(&peer, "grpc");
        let req = request.into_inner();
        // One message at a time towards tonic: the handler learns the client left when tonic
        // drops the stream (the channel's receiver).
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            let gone = {
                let tx = tx.clone();
                async move { tx.closed().await }
            };
            let send = |index: i64, text: String, at: std::time::SystemTime| {
                let tx = tx.clone();
                let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let sent_at = prost_types::Timestamp { seconds: since.as_secs() as i64, nanos: since.subsec_nanos() as i32 };
                async move { tx.send(Ok(ChatResponse { index: index as u32, text, sent_at: Some(sent_at) })).await.is_ok() }
            };
            match st.replies(&req.name, &req.text, send, gone).await {
                Outcome::Ok => st.end("ok", "", false),
                Outcome::ShuttingDown => {
                    let _ = tx.send(Err(Status::unavailable(SHUTTING_DOWN))).await;
                    st.end("unavailable", SHUTTING_DOWN, false);
                }
                Outcome::ClientGone => st.end("canceled", "", true),
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// grpc.health.v1.Health as the lab's Node servers serve it (lib/health-status.ts).
struct HealthService {
    state: Arc<State>,
}

type HealthWatch = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for HealthService {
    type WatchStream = HealthWatch;

    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        match self.state.status(&service) {
            Some(status) => Ok(Response::new(HealthCheckResponse { status })),
            None => Err(Status::not_found(format!("unknown service \"{service}\""))),
        }
    }

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthWatch>, Status> {
        let service = request.into_inner().service;
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut changes = state.changes();
            let mut last = -1;
            loop {
                let status = state.status(&service).unwrap_or(server::SERVICE_UNKNOWN);
                if status != last {
                    last = status;
                    if tx.send(Ok(HealthCheckResponse { status })).await.is_err() {
                        return;
                    }
                    continue;
                }
                if state.draining() {
                    let _ = tx.send(Err(Status::unavailable(SHUTTING_DOWN))).await;
                    return;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// The flags and --options as tonic Server settings: the profile's first, the flags given over them.
fn builder(s: &ServerSettings) -> Result<Server, Failure> {
    let mut o = Options::new(s.options.clone());
    let ms = |v: i64| Duration::from_millis(v as u64);
    let mut interval = (s.ping_interval_ms > 0).then(|| ms(s.ping_interval_ms));
    let mut timeout = ms(s.ping_timeout_ms);
    let option_interval = o.ms("Server::http2_keepalive_interval")?;
    let option_timeout = o.ms("Server::http2_keepalive_timeout")?;
    if !s.ping_explicit {
        if option_interval.is_some() {
            interval = option_interval;
        }
        if let Some(t) = option_timeout {
            timeout = t;
        }
    }
    let streams = o.count("Server::max_concurrent_streams")?.unwrap_or(s.max_streams as u64);
    let mut age = o.ms("Server::max_connection_age")?;
    let mut grace = o.ms("Server::max_connection_age_grace")?;
    if s.max_age_ms > 0 {
        age = Some(ms(s.max_age_ms));
    }
    if let Some(g) = s.max_age_grace_ms {
        grace = Some(ms(g));
    }
    let tcp_keepalive = o.ms("Server::tcp_keepalive")?;
    o.check()?;
    let mut b = Server::builder()
        .max_concurrent_streams(Some(streams as u32))
        .http2_keepalive_interval(interval)
        .http2_keepalive_timeout(Some(timeout))
        .tcp_keepalive(tcp_keepalive);
    if let Some(a) = age {
        b = b.max_connection_age(a);
    }
    if let Some(g) = grace {
        b = b.max_connection_age_grace(g);
    }
    if let Some((cert, key)) = &s.tls {
        b = b
            .tls_config({
                // The connections' secrets go where SSLKEYLOGFILE says (the lab's tap, issue 19).
                let config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
                if std::env::var_os("SSLKEYLOGFILE").is_some() { config.use_key_log() } else { config }
            })
            .map_err(|e| Failure::Usage(format!("--tls-cert/--tls-key: {e}")))?;
    }
    Ok(b)
}

async fn serve(s: ServerSettings) -> Result<(), Failure> {
    let mut b = builder(&s)?;
    let where_ = flags::authority(&s.host, s.port);
    let address: SocketAddr = format!("{where_}")
        .parse()
        .map_err(|_| Failure::Usage(format!("--host {}: not an address of this machine", s.host)))?;
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => Failure::Usage(format!("--port {}: {where_} is already in use", s.port)),
        std::io::ErrorKind::AddrNotAvailable => Failure::Usage(format!("--host {}: not an address of this machine", s.host)),
        _ => Failure::Other(e.to_string()),
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let state = State::new(s.clone());
    let chat = ChatServiceServer::new(Chat { state: state.clone() }).max_decoding_message_size(s.read_max_bytes as usize);
    let health = HealthServer::new(HealthService { state: state.clone() });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = b.add_service(chat).add_service(health);
    let serving = tokio::spawn(router.serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
        let _ = stop_rx.await;
    }));
    signals(state.clone(), stop_tx, serving);
    out(&format!("listening on {} (pid {}, tonic 0.14.9)", flags::authority(&s.host, port as i64), std::process::id()));
    std::future::pending::<()>().await;
    Ok(())
}

/// Stops the server on SIGTERM or SIGINT as --stop-mode says; the memory line on SIGUSR2.
fn signals(state: Arc<State>, stop: tokio::sync::oneshot::Sender<()>, serving: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let mut usr2 = signal(SignalKind::user_defined2()).expect("SIGUSR2 handler");
    tokio::spawn(async move {
        let mut stop = Some(stop);
        let mut serving = Some(serving);
        let mut count = 0;
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = usr2.recv() => { server::report_memory(&state); continue; }
            };
            count += 1;
            let running = state.running();
            match state.settings.stop_mode.as_str() {
                "library-immediate" => {
                    shutdown(&format!("{name}: the server dropped with its runtime, {running} stream(s) in flight"));
                    state.set_cancelled_by("the server dropped");
                    // As main returning: the runtime and every connection task go, sockets close.
                    shutdown("done");
                    std::process::exit(0);
                }
                "library-graceful" => {
                    if count > 1 {
                        continue;
                    }
                    shutdown(&format!("{name}: serve_with_shutdown's signal, {running} stream(s) in flight"));
                    let _ = stop.take().map(|s| s.send(()));
                    let state = state.clone();
                    let serving = serving.take();
                    tokio::spawn(async move {
                        if let Some(s) = serving {
                            let _ = s.await;
                        }
                        server::exit_when_handlers_end(&state, 0).await;
                    });
                }
                _ => {
                    if count > 1 {
                        shutdown(&format!("second {name}: ending {running} stream(s) with unavailable \"{SHUTTING_DOWN}\""));
                        state.end_streams();
                        let state = state.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            server::exit_when_handlers_end(&state, 1).await;
                        });
                        continue;
                    }
                    state.set_not_serving();
                    shutdown(&format!(
                        "{name}: serve_with_shutdown's signal (GOAWAY), {running} stream(s) in flight, grace {} ms",
                        state.settings.grace_ms
                    ));
                    let _ = stop.take().map(|s| s.send(()));
                    let (drained, grace) = (state.clone(), state.clone());
                    let serving = serving.take();
                    tokio::spawn(async move {
                        if let Some(s) = serving {
                            let _ = s.await;
                        }
                        server::exit_when_handlers_end(&drained, 0).await;
                    });
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(grace.settings.grace_ms as u64)).await;
                        let n = grace.running();
                        if n > 0 {
                            shutdown(&format!("grace over: ending {n} stream(s) with unavailable \"{SHUTTING_DOWN}\""));
                        }
                        grace.end_streams();
                        // A peer that never reads the statuses must not hold the exit up: a second later, cut.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        shutdown("connections still open 1000 ms after grace: closing them");
                        server::exit_when_handlers_end(&grace, 0).await;
                    });
                }
            }
        }
    });
}
