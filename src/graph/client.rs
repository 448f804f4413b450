//! Requests to Graph with retries and paging. Shared by every tenant's handles.
//!
//! Retries: 429, 503 and 504 wait `Retry-After` (seconds, possibly fractional, or an HTTP
//! date) when given, otherwise exponential backoff with full jitter; connection errors back
//! off the same way. Attempts are bounded and so is the total time, so a dead Graph turns
//! into `graph_unavailable` instead of a hung run. A 401 refreshes the token once.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::error::{ErrorCode, GraphError};
use super::handles::TenantConnection;
use super::limiter::{Access, Limiter, Limits};
use super::token::TokenCache;

/// A page of a big list plus some policies with scripts: far above any real answer, far
/// below what would hurt the process.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry is started that would end after this much time since the first attempt.
    pub deadline: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(180),
            request_timeout: Duration::from_secs(60),
        }
    }
}

pub struct Client {
    pub(super) http: reqwest::Client,
    pub(super) tokens: TokenCache,
    pub(super) limiter: Limiter,
    pub(super) retry: RetryPolicy,
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    Retry { after: Option<Duration>, error: GraphError },
    Fail(GraphError),
}

impl Client {
    pub fn new(retry: RetryPolicy, limits: Limits) -> Client {
        let http = reqwest::Client::builder()
            // A redirect would carry the bearer token (or, from the token endpoint, the
            // client secret) to whatever host it names: never follow one; a 3xx fails.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("policyvault/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client {
            http,
            tokens: TokenCache::default(),
            limiter: Limiter::new(limits),
            retry,
        }
    }

    /// One logical request with retries. `url` is absolute (a nextLink) or a path under
    /// `{graph}/beta/`.
    pub async fn send(
        &self,
        conn: &TenantConnection,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let access = if method == Method::GET {
            Access::Read
        } else {
            Access::Write
        };
        self.send_counted(conn, method, url, body, access, 1).await
    }

    /// `send` for a request that counts as `requests` requests of `access` against the
    /// tenant's limits (a `$batch` of GETs is that many reads).
    pub(super) async fn send_counted(
        &self,
        conn: &TenantConnection,
        method: Method,
        url: &str,
        body: Option<&Value>,
        access: Access,
        requests: u32,
    ) -> Result<Value, GraphError> {
        let url = if url.starts_with("http") {
            on_graph_host(conn, url)?
        } else {
            format!("{}/beta/{}", conn.graph_base_url, safe_relative(url)?)
        };
        let started = Instant::now();
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire(&conn.entra_tenant_id, access, requests).await;
            match self.attempt(conn, &method, &url, body).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) if e.code == ErrorCode::AuthFailed && !refreshed => {
                    // The token may have been revoked or rotated: one fresh try.
                    self.tokens.invalidate(conn);
                    refreshed = true;
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { after, mut error } => {
                    let wait = after
                        .unwrap_or_else(|| self.backoff(attempt))
                        .min(self.retry.max_delay.max(after.unwrap_or_default()));
                    if attempt >= self.retry.max_attempts || started.elapsed() + wait > self.retry.deadline {
                        if let Some(obj) = error.context.as_object_mut() {
                            obj.insert("attempt".into(), Value::from(attempt));
                        }
                        if error.code == ErrorCode::GraphThrottled {
                            return Err(error);
                        }
                        error.code = if error.code == ErrorCode::Network {
                            ErrorCode::Network
                        } else {
                            ErrorCode::GraphUnavailable
                        };
                        return Err(error);
                    }
                    tracing::debug!(
                        attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying a Graph request"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, conn: &TenantConnection, method: &Method, url: &str, body: Option<&Value>) -> Attempt {
        let token = match self.tokens.token(&self.http, conn).await {
            Ok(t) => t,
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::Network | ErrorCode::Timeout | ErrorCode::GraphUnavailable
                ) =>
            {
                return Attempt::Retry { after: None, error: e };
            }
            Err(e) => return Attempt::Fail(e),
        };
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(secrecy::ExposeSecret::expose_secret(&token));
        if let Some(b) = body {
            req = req.json(b);
        }
        let what = describe(url);
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let code = if e.is_timeout() {
                    ErrorCode::Timeout
                } else {
                    ErrorCode::Network
                };
                return Attempt::Retry {
                    after: None,
                    error: GraphError::new(code, format!("no answer from Graph for {what}"), &json!({})),
                };
            }
        };
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let request_id = res
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = match read_capped(res).await {
            Ok(b) => b,
            Err(e) => return Attempt::Fail(e),
        };
        if (200..300).contains(&status) {
            if bytes.is_empty() {
                return Attempt::Done(Value::Null);
            }
            return match serde_json::from_slice(&bytes) {
                Ok(v) => Attempt::Done(v),
                Err(_) => Attempt::Fail(GraphError::new(
                    ErrorCode::GraphUnavailable,
                    format!("Graph sent invalid JSON for {what}"),
                    &json!({"http_status": status}),
                )),
            };
        }
        let graph_code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        let ctx = json!({"request_id": request_id, "retry_after": retry_after});
        let error = GraphError::from_status(status, graph_code.as_deref(), &what, ctx);
        match status {
            429 | 503 | 504 => Attempt::Retry {
                after: retry_after.as_deref().and_then(parse_retry_after),
                error,
            },
            _ => Attempt::Fail(error),
        }
    }

    /// Exponential backoff with full jitter: a random delay in [0, min(cap, base·2^attempt)].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.retry.max_delay);
        ceiling.mul_f64(random_fraction())
    }

    /// Every item of a collection, following `@odata.nextLink` as given when it stays on the
    /// tenant's Graph host (see `on_graph_host`).
    pub async fn list_all(&self, conn: &TenantConnection, path: &str) -> Result<Vec<Value>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(url) = next.take() {
            let mut page = self.send(conn, Method::GET, &url, None).await?;
            if let Some(Value::Array(values)) = page.get_mut("value").map(Value::take) {
                items.extend(values);
            }
            next = page.get("@odata.nextLink").and_then(Value::as_str).map(str::to_owned);
        }
        Ok(items)
    }
}

/// A relative path, if no segment of it would be resolved or reinterpreted on the way out
/// (see [`super::path::is_safe_relative`]).
pub(super) fn safe_relative(path: &str) -> Result<&str, GraphError> {
    if super::path::is_safe_relative(path) {
        Ok(path)
    } else {
        Err(GraphError::new(
            ErrorCode::GraphBadRequest,
            "a Graph path has a dot segment, an encoded slash or a fragment; the request was not sent",
            &json!({"reason": "unsafe path refused"}),
        ))
    }
}

/// An absolute URL (a nextLink Graph handed us) is only requested when it is on the
/// tenant's own Graph origin: the request carries the tenant's bearer token, and an answer
/// naming another host must not be able to collect it.
fn on_graph_host(conn: &TenantConnection, url: &str) -> Result<String, GraphError> {
    let origin = |u: &str| reqwest::Url::parse(u).ok().map(|u| u.origin());
    match (origin(url), origin(&conn.graph_base_url)) {
        (Some(got), Some(ours)) if got == ours && got.is_tuple() => Ok(url.to_owned()),
        _ => {
            let host = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "an unparseable URL".to_owned());
            Err(GraphError::new(
                ErrorCode::GraphUnavailable,
                format!("Graph sent a next-page link to {host}, not to this tenant's Graph host; refused"),
                &json!({"reason": format!("next-page link to another host ({host}) refused; the tenant's token is only sent to its Graph host")}),
            ))
        }
    }
}

/// `Retry-After` as seconds (`"2"`, `"2.128"`) or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

fn random_fraction() -> f64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    #[allow(clippy::cast_precision_loss)]
    let f = (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
    f
}

/// The path of a URL without query or host, for messages ("deviceManagement/...").
fn describe(url: &str) -> String {
    let path = url.split_once("/beta/").map_or(url, |(_, p)| p);
    path.split('?').next().unwrap_or(path).chars().take(120).collect()
}

async fn read_capped(mut res: reqwest::Response) -> Result<Vec<u8>, GraphError> {
    let mut out = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(GraphError::new(
                        ErrorCode::GraphUnavailable,
                        "Graph's answer is larger than we accept",
                        &json!({}),
                    ));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(_) => {
                return Err(GraphError::new(
                    ErrorCode::Network,
                    "the answer from Graph was cut off",
                    &json!({}),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_fractions_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("2.128"), Some(Duration::from_millis(2128)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn next_links_are_followed_only_on_the_tenants_graph_origin() {
        let conn = TenantConnection {
            login_base_url: "https://login.microsoftonline.com".into(),
            graph_base_url: "https://graph.microsoft.com".into(),
            entra_tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: String::new().into(),
        };
        assert!(on_graph_host(&conn, "https://graph.microsoft.com/beta/x?$skiptoken=1").is_ok());
        for evil in [
            "https://evil.example/beta/x",
            "http://graph.microsoft.com/beta/x",
            "https://graph.microsoft.com:444/beta/x",
            "https://graph.microsoft.com.evil.example/beta/x",
            "https://graph.microsoft.com@evil.example/beta/x",
            "http",
        ] {
            let e = on_graph_host(&conn, evil).expect_err(evil);
            assert!(
                e.context["reason"].as_str().is_some_and(|r| r.contains("refused")),
                "{evil}"
            );
        }
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let c = Client::new(RetryPolicy::default(), Limits::default());
        let delays: Vec<Duration> = (0..50).map(|_| c.backoff(10)).collect();
        assert!(delays.iter().all(|d| *d <= c.retry.max_delay));
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "jitter varies the delay");
    }
}
