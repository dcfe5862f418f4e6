//! What does a tonic client read for a call made the moment its connection is reset (issue 27,
//! the lab's reset-call case)? This program serves grpc.health.v1.Health (tonic-health) behind a
//! TCP proxy of its own, makes one Check through the proxy to open the channel's connection, then
//! has the proxy reset it (SO_LINGER 0, then close: a TCP RST) and every new one, and makes a Check
//! at once. The gRPC rules (PROTOCOL-HTTP2.md: a connection failure closes every call with
//! UNAVAILABLE; statuscodes.md: UNAVAILABLE when no connection could be made) call for unavailable.
//! It prints how many of the runs ended with each code.
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[allow(deprecated)] // SO_LINGER 0 is the point: the close sends RST.
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// A proxy to `upstream` that resets every connection, old and new, once `resetting` is true.
async fn proxy(upstream: u16, resetting: watch::Receiver<bool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut resetting = resetting.clone();
            if *resetting.borrow() {
                reset(client);
                continue;
            }
            tokio::spawn(async move {
                let mut server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = resetting.wait_for(|on| *on) => reset(client),
                }
            });
        }
    });
    port
}

#[tokio::main]
async fn main() {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap().port();
    tokio::spawn(Server::builder().add_service(health).serve_with_incoming(TcpListenerStream::new(listener)));

    // The call comes 0 to 2 ms after the resets begin: the lab's came at its own moment.
    for delay_us in [0u64, 100, 200, 500, 1000, 2000] {
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..30 {
            let (resetting, watching) = watch::channel(false);
            let port = proxy(upstream, watching).await;
            let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect_lazy();
            let mut client = HealthClient::new(channel);
            let request = || HealthCheckRequest { service: String::new() };
            client.check(request()).await.unwrap();
            resetting.send(true).unwrap();
            tokio::time::sleep(Duration::from_micros(delay_us)).await;
            let code = match client.check(request()).await {
                Ok(_) => "Ok".to_string(),
                Err(status) => format!("{:?} {:?}", status.code(), status.message()),
            };
            *codes.entry(code).or_default() += 1;
        }
        for (code, n) in codes {
            println!("call {delay_us:>4} us after the resets began: {n:>2} of 30: {code}");
        }
    }
}
