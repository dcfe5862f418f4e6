//! Does a tonic client's deadline end a server stream that goes quiet (issue 27)? A tonic
//! server serves grpc.health.v1.Health (tonic-health): Watch sends the status, then
//! nothing until it changes. A tonic client watches with a 500 ms deadline, set the two
//! ways tonic offers: Request::set_timeout (the grpc-timeout header) and
//! Endpoint::timeout. statuscodes.md: DEADLINE_EXCEEDED when the deadline expires first.
//! Each way prints what ended the call, or that our own 5 s watchdog had to.
use std::time::{Duration, Instant};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main]
async fn main() {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(Server::builder().add_service(health).serve_with_incoming(TcpListenerStream::new(listener)));

    for how in ["Request::set_timeout(500 ms)", "Endpoint::timeout(500 ms)"] {
        let mut endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
        if how.starts_with("Endpoint") {
            endpoint = endpoint.timeout(Duration::from_millis(500));
        }
        let mut client = HealthClient::new(endpoint.connect().await.unwrap());
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        if how.starts_with("Request") {
            request.set_timeout(Duration::from_millis(500));
        }
        let start = Instant::now();
        let watch = async {
            let mut stream = client.watch(request).await?.into_inner();
            while let Some(status) = stream.message().await? {
                println!("{how}: message {:?} at {} ms", status.status, start.elapsed().as_millis());
            }
            Ok::<(), tonic::Status>(())
        };
        match tokio::time::timeout(Duration::from_secs(5), watch).await {
            Ok(Ok(())) => println!("{how}: the stream ended ok at {} ms", start.elapsed().as_millis()),
            Ok(Err(status)) => println!("{how}: {:?} {:?} at {} ms", status.code(), status.message(), start.elapsed().as_millis()),
            Err(_) => println!("{how}: still waiting at {} ms (our watchdog: nothing else ended it)", start.elapsed().as_millis()),
        }
    }
}
