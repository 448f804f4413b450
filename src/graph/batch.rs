//! JSON batching: up to 20 GETs in one `POST /beta/$batch`. Each sub-request is throttled on
//! its own, so only the sub-requests that came back 429/503/504 are sent again (in a new
//! batch, after the longest `Retry-After` among them); the others keep their answers.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{Client, parse_retry_after};
use super::error::{ErrorCode, GraphError};
use super::handles::TenantConnection;
use super::limiter::Access;

pub const MAX_BATCH: usize = 20;

impl Client {
    /// GETs every path (under `/beta/`), batched; one result per path, in order.
    pub async fn batch_get(&self, conn: &TenantConnection, paths: &[String]) -> Vec<Result<Value, GraphError>> {
        let mut results: Vec<Option<Result<Value, GraphError>>> = vec![None; paths.len()];
        for chunk_start in (0..paths.len()).step_by(MAX_BATCH) {
            let end = (chunk_start + MAX_BATCH).min(paths.len());
            self.batch_chunk(conn, paths, chunk_start..end, &mut results).await;
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(GraphError::new(
                        ErrorCode::Internal,
                        "a batch answer was missing",
                        &json!({}),
                    ))
                })
            })
            .collect()
    }

    async fn batch_chunk(
        &self,
        conn: &TenantConnection,
        paths: &[String],
        range: std::ops::Range<usize>,
        results: &mut [Option<Result<Value, GraphError>>],
    ) {
        // A path that would not stay where it was built is never sent, batched or not.
        let mut pending: Vec<usize> = Vec::with_capacity(range.len());
        for i in range {
            match super::client::safe_relative(&paths[i]) {
                Ok(_) => pending.push(i),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let started = Instant::now();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let requests: Vec<Value> = pending
                .iter()
                .map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("/{}", paths[*i])}))
                .collect();
            let count = u32::try_from(requests.len()).unwrap_or(u32::MAX);
            let envelope = self
                .send_counted(
                    conn,
                    Method::POST,
                    "$batch",
                    Some(&json!({ "requests": requests })),
                    Access::Read,
                    count,
                )
                .await;
            let answers = match envelope {
                Ok(v) => v["responses"].as_array().cloned().unwrap_or_default(),
                Err(e) => {
                    for i in pending.drain(..) {
                        results[i] = Some(Err(e.clone()));
                    }
                    return;
                }
            };
            let mut retry = Vec::new();
            let mut wait = Duration::ZERO;
            for a in answers {
                let Some(i) = a["id"]
                    .as_str()
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|i| pending.contains(i))
                else {
                    continue;
                };
                let status = u16::try_from(a["status"].as_u64().unwrap_or(0)).unwrap_or(0);
                if (200..300).contains(&status) {
                    results[i] = Some(Ok(a["body"].clone()));
                    continue;
                }
                let retry_after = header(&a, "retry-after");
                let ctx = json!({"retry_after": retry_after, "attempt": attempt});
                let error =
                    GraphError::from_status(status, a["body"]["error"]["code"].as_str(), paths[i].as_str(), ctx);
                if matches!(status, 429 | 503 | 504) && attempt < self.retry.max_attempts {
                    wait = wait.max(
                        retry_after
                            .as_deref()
                            .and_then(parse_retry_after)
                            .unwrap_or(self.retry.base_delay),
                    );
                    retry.push(i);
                }
                results[i] = Some(Err(error));
            }
            // Sub-requests the envelope did not answer are retried too.
            retry.extend(pending.iter().copied().filter(|i| results[*i].is_none()));
            pending = retry;
            if pending.is_empty() || started.elapsed() + wait > self.retry.deadline {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

fn header(answer: &Value, name: &str) -> Option<String> {
    let headers = answer["headers"].as_object()?;
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str().map(str::to_owned).or_else(|| Some(v.to_string())))
}
