//! What does a tonic client read when its server dies mid-stream (issue 27)? This program
//! starts itself as a tonic server (grpc.health.v1.Health, tonic-health), watches it with
//! a tonic client, and kills the server (SIGKILL) after the first message. The gRPC rules
//! (PROTOCOL-HTTP2.md: a connection failure closes every call with UNAVAILABLE) call for
//! unavailable.
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("server") {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        Server::builder().add_service(health).serve_with_incoming(TcpListenerStream::new(listener)).await.unwrap();
        return;
    }
    for run in 1..=3 {
        let exe = std::env::current_exe().unwrap();
        let mut server = tokio::process::Command::new(exe).arg("server").stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        let port = lines.next_line().await.unwrap().unwrap();
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap();
        let mut client = HealthClient::new(channel);
        let mut stream = client.watch(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
        let first = stream.message().await;
        server.start_kill().unwrap(); // SIGKILL
        server.wait().await.unwrap();
        match stream.message().await {
            Err(status) => println!("run {run}: after {first:?}: {:?} {:?}", status.code(), status.message()),
            Ok(m) => println!("run {run}: after {first:?}: {m:?}"),
        }
    }
}
