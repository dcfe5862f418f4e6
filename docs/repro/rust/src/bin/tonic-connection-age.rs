//! Does a tonic server with max_connection_age and max_connection_age_grace send GOAWAY at the
//! age (A9: GOAWAY at MAX_CONNECTION_AGE, the connection closed MAX_CONNECTION_AGE_GRACE later)?
//! A tonic server (grpc.health.v1.Health, tonic-health) with an age of 300 ms, with and without a
//! grace of 1 s; a tonic channel opens Watch A at once and Watch B at 600 ms, after the age. Had
//! the server sent GOAWAY at 300 ms, B would go out on a new connection and still be open at 2 s;
//! on the old connection it ends when that connection is dropped.
use std::time::{Duration, Instant};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

async fn watch_until(
    mut client: HealthClient<tonic::transport::Channel>,
    start: Instant,
    until: Duration,
) -> String {
    let mut stream = match client.watch(HealthCheckRequest { service: String::new() }).await {
        Ok(r) => r.into_inner(),
        Err(s) => return format!("failed at start: {:?} {:?}", s.code(), s.message()),
    };
    loop {
        match tokio::time::timeout_at((start + until).into(), stream.message()).await {
            Err(_) => return format!("still open at {} ms", until.as_millis()),
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return format!("ended ok at {} ms", start.elapsed().as_millis()),
            Ok(Err(s)) => return format!("{:?} {:?} at {} ms", s.code(), s.message(), start.elapsed().as_millis()),
        }
    }
}

#[tokio::main]
async fn main() {
    for grace in [None, Some(Duration::from_secs(1))] {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut builder = Server::builder().max_connection_age(Duration::from_millis(300));
        if let Some(g) = grace {
            builder = builder.max_connection_age_grace(g);
        }
        let server = tokio::spawn(builder.add_service(health).serve_with_incoming(TcpListenerStream::new(listener)));
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap();
        let start = Instant::now();
        let a = tokio::spawn(watch_until(HealthClient::new(channel.clone()), start, Duration::from_secs(2)));
        tokio::time::sleep(Duration::from_millis(600)).await;
        let b = tokio::spawn(watch_until(HealthClient::new(channel), start, Duration::from_secs(2)));
        println!("age 300 ms, grace {:?}:", grace);
        println!("  watch A (opened at 0 ms):   {}", a.await.unwrap());
        println!("  watch B (opened at 600 ms): {}", b.await.unwrap());
        server.abort();
    }
}
