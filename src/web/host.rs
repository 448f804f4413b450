//! Only requests for one of the server's own names are answered. A fresh server answered
//! any `Host`, so a web page whose DNS name was rebound to it could drive it through a
//! visitor's browser (its setup page, its sign-in form) as if same-origin. Loopback names
//! are always answered (a browser on the machine, a reverse proxy on it, `healthcheck`),
//! `PV_PUBLIC_URL`'s host too; probes (`/healthz`, `/readyz`, `/metrics`) answer any name,
//! as balancers and scrapers use an address, and show nobody's data.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::ServeArgs;
use crate::error::{AppError, ErrorInfo};

const PROBES: &[&str] = &["/healthz", "/readyz", "/metrics"];
const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

pub async fn check(State(settings): State<Arc<ServeArgs>>, req: Request, next: Next) -> Response {
    if PROBES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    // An absolute-form request line names its host itself; `Host` then must agree, and
    // hyper does not check that, so the request line wins.
    let named = match req.uri().authority() {
        Some(a) => Some(a.as_str().to_owned()),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let Some(named) = named else {
        return AppError::BadRequest(
            "the request names no host (no Host header): send one, as every HTTP/1.1 client does".into(),
        )
        .into_response();
    };
    if is_ours(&named, settings.public_url.as_ref()) {
        return next.run(req).await;
    }
    misdirected(&named, settings.public_url.as_ref())
}

/// Whether `named` (`host` or `host:port`) is a loopback name (any port) or the public
/// URL's host and port (no port meaning the default of the public URL's scheme).
fn is_ours(named: &str, public: Option<&reqwest::Url>) -> bool {
    let Some((host, port)) = split_host(named) else {
        return false;
    };
    if LOOPBACK.contains(&host.as_str()) {
        return true;
    }
    let Some(url) = public else {
        return false;
    };
    let public_host = url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    // No port in `Host`: the default of the scheme the client used, taken to be the public URL's.
    let scheme_default = if url.scheme() == "https" { 443 } else { 80 };
    public_host.as_deref() == Some(host.as_str()) && Some(port.unwrap_or(scheme_default)) == url.port_or_known_default()
}

/// `host[:port]` lowercased, without a trailing dot; IPv6 literals keep their brackets.
/// `None` when it is not a well-formed authority.
fn split_host(named: &str) -> Option<(String, Option<u16>)> {
    let named = named.trim();
    let (host, port) = if named.starts_with('[') {
        let end = named.find(']')?;
        let (host, rest) = named.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?.parse::<u16>().ok()?)),
        }
    } else {
        match named.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (named, None),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.contains(['@', '/', ' ']) {
        return None;
    }
    Some((host, port))
}

fn misdirected(named: &str, public: Option<&reqwest::Url>) -> Response {
    // Echoed in the answer only quoted and cut short: it is whatever the client sent.
    let shown: String = named.chars().take(100).collect();
    let message = match public {
        Some(url) => {
            let url = url.as_str().trim_end_matches('/');
            format!(
                "this server answers as {url} (and as localhost), not as {shown:?}: open {url}. If {shown:?} is the name people use, set PV_PUBLIC_URL (--public-url) to it; behind a reverse proxy, have it pass the original Host header"
            )
        }
        None => format!(
            "this server answers only as localhost, 127.0.0.1 and [::1], not as {shown:?}, until PV_PUBLIC_URL (--public-url) names the address people open: start it with e.g. PV_PUBLIC_URL=https://{shown} if that is its name; behind a reverse proxy, have it pass the original Host header"
        ),
    };
    let info = ErrorInfo {
        status: StatusCode::MISDIRECTED_REQUEST,
        code: "misdirected_request",
        message,
    };
    let mut res = (info.status, info.message.clone()).into_response();
    res.extensions_mut().insert(info);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_the_public_url_are_ours_and_nothing_else() {
        let public = reqwest::Url::parse("https://vault.example.com").ok();
        let on_8443 = reqwest::Url::parse("https://vault.example.com:8443").ok();
        for ours in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
            "localhost.",
        ] {
            assert!(is_ours(ours, None), "{ours}");
        }
        for ours in ["vault.example.com", "Vault.Example.com:443", "vault.example.com."] {
            assert!(is_ours(ours, public.as_ref()), "{ours}");
        }
        assert!(is_ours("vault.example.com:8443", on_8443.as_ref()));
        for other in [
            "vault.example.com",
            "evil.example",
            "127.0.0.2",
            "localhost.evil.example",
            "localhost:x",
            "[::1]x",
            "",
            "user@localhost",
        ] {
            assert!(!is_ours(other, None), "{other}");
        }
        for other in ["vault.example.com:80", "vault.example.com:8443", "evil.example"] {
            assert!(!is_ours(other, public.as_ref()), "{other}");
        }
        assert!(!is_ours("vault.example.com", on_8443.as_ref()));
    }
}
