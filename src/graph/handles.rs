//! Per-tenant handles. A `GraphReader` can only read; a `GraphWriter` can also write and
//! hands out a reader, never the other way round, so code given a reader (preview, drift)
//! cannot write to a tenant: the compiler checks it.

use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;

use super::client::{Client, RetryPolicy};
use super::error::GraphError;
use super::limiter::Limits;

/// How to reach one tenant: built by the worker from the tenant row and its opened secret.
pub struct TenantConnection {
    pub login_base_url: String,
    pub graph_base_url: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

impl std::fmt::Debug for TenantConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantConnection")
            .field("graph_base_url", &self.graph_base_url)
            .field("entra_tenant_id", &self.entra_tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The process-wide Graph access: one HTTP client, token cache and limiter for all tenants.
#[derive(Clone)]
pub struct Graph {
    client: Arc<Client>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new(RetryPolicy::default(), Limits::default())
    }
}

impl Graph {
    pub fn new(retry: RetryPolicy, limits: Limits) -> Graph {
        Graph {
            client: Arc::new(Client::new(retry, limits)),
        }
    }

    pub fn reader(&self, conn: TenantConnection) -> GraphReader {
        GraphReader {
            client: self.client.clone(),
            conn: Arc::new(conn),
        }
    }

    /// The tenant id behind a domain (see [`super::token::resolve_domain`]).
    pub async fn resolve_domain(&self, login_base_url: &str, domain: &str) -> Result<String, super::GraphError> {
        super::token::resolve_domain(&self.client.http, login_base_url, domain).await
    }

    pub fn writer(&self, conn: TenantConnection) -> GraphWriter {
        GraphWriter {
            reader: self.reader(conn),
        }
    }
}

#[derive(Clone)]
pub struct GraphReader {
    client: Arc<Client>,
    conn: Arc<TenantConnection>,
}

impl GraphReader {
    /// Gets a token (or uses the cached one): proves the app credentials work.
    pub async fn check_credentials(&self) -> Result<(), GraphError> {
        self.client
            .tokens
            .token(&self.client.http, &self.conn)
            .await
            .map(|_| ())
    }

    /// This tenant's Graph, without version and trailing slash.
    pub fn graph_base_url(&self) -> &str {
        &self.conn.graph_base_url
    }

    /// The absolute URL of a path under `/beta/` on this tenant's Graph (for `@odata.bind`).
    pub fn beta_url(&self, path: &str) -> String {
        format!("{}/beta/{path}", self.conn.graph_base_url)
    }

    /// GET a path under `/beta/` (or an absolute nextLink).
    pub async fn get(&self, path: &str) -> Result<Value, GraphError> {
        self.client.send(&self.conn, Method::GET, path, None).await
    }

    /// Many GETs in `$batch`es of 20; one result per path, in order.
    pub async fn get_many(&self, paths: &[String]) -> Vec<Result<Value, GraphError>> {
        self.client.batch_get(&self.conn, paths).await
    }

    /// A POST that only reads (`directoryObjects/getByIds`): paced and counted as one read.
    pub async fn post_query(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.client
            .send_counted(
                &self.conn,
                Method::POST,
                path,
                Some(body),
                super::limiter::Access::Read,
                1,
            )
            .await
    }

    /// Every item of a collection, across pages.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, GraphError> {
        self.client.list_all(&self.conn, path).await
    }
}

#[derive(Clone)]
pub struct GraphWriter {
    reader: GraphReader,
}

impl GraphWriter {
    pub fn reader(&self) -> &GraphReader {
        &self.reader
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.reader
            .client
            .send(&self.reader.conn, Method::POST, path, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.reader
            .client
            .send(&self.reader.conn, Method::PATCH, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.reader
            .client
            .send(&self.reader.conn, Method::PUT, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, GraphError> {
        self.reader
            .client
            .send(&self.reader.conn, Method::DELETE, path, None)
            .await
    }
}
