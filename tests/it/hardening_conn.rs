//! Issue 12 finding 9: connections that send half a header, or sit idle, are closed by the
//! server; a live event stream is not. Raw TCP against the real server.

use std::time::Duration;

use policyvault::config::ServeArgs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

/// Far longer than the 1 s header timeout of these tests: only a bound so that a server that
/// never closes fails the test instead of hanging it.
const BOUND: Duration = Duration::from_secs(20);

/// Reads until the server closes the connection; returns everything it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| String::from_utf8_lossy(&all).into_owned())
}

fn quick_timeouts() -> ServeArgs {
    ServeArgs {
        header_timeout_secs: 1,
        ..ServeArgs::for_tests()
    }
}

#[tokio::test]
async fn a_connection_that_sends_half_a_header_is_closed_by_the_server() {
    let app = spawn_app_with(quick_timeouts()).await;
    let mut conns = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: pv.test\r\nX-Slow: ")
            .await
            .expect("write half a header");
        conns.push(s);
    }
    // And one that connects and says nothing at all.
    conns.push(TcpStream::connect(app.addr).await.expect("connect"));
    for mut s in conns {
        let sent = read_until_closed(&mut s).await;
        assert!(sent.is_some(), "the server kept a half-open connection");
        assert!(!sent.unwrap_or_default().contains("200 OK"), "no request was served");
    }
    // The server still serves everyone else.
    let res = reqwest::get(app.url("/healthz")).await.expect("healthz");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_a_live_stream_is_not() {
    let app = spawn_app_with(quick_timeouts()).await;
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: pv.test\r\n\r\n")
        .await
        .expect("request");
    let sent = read_until_closed(&mut s).await.expect("the idle connection is closed");
    assert!(
        sent.starts_with("HTTP/1.1 200"),
        "the request itself was answered: {sent}"
    );

    // An event stream sends nothing for a while (keep-alive comes every 15 s) and must
    // outlive the header timeout: it is an answer in progress, not a connection waiting.
    app.setup_admin().await;
    let (c, _) = app.signed_in(crate::helpers::ADMIN_EMAIL).await;
    let mut res = c.get(app.url("/events/active")).send().await.expect("stream");
    // The snapshot: the active runs (summary, list) and the bell, then nothing.
    let mut snapshot = String::new();
    while !snapshot.contains("event: bell") {
        let chunk = res.chunk().await.expect("snapshot").expect("snapshot event");
        snapshot.push_str(&String::from_utf8_lossy(&chunk));
    }
    let next = tokio::time::timeout(Duration::from_secs(3), res.chunk()).await;
    assert!(next.is_err(), "the stream ended during a quiet spell: {next:?}");
}
