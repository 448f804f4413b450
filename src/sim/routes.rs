//! The simulator's HTTP surface: Entra's token endpoint, the `/beta` subset we use, and
//! `/_sim/*` control endpoints for tests (faults, journal, counters).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::{self, ListQuery};
use super::state::{Faults, LIMIT_ANY, LIMIT_WINDOW, LIMIT_WRITES, State};
use super::{actions, quirks};
use crate::graph::registry::{PolicyType, TYPES};

pub type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn router(state: Shared, base_url: String) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/beta/$batch", post(batch))
        .route("/beta/{*path}", any(graph))
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/journal", get(journal))
        .route("/_sim/counters", get(counters))
        .with_state((state, Arc::new(base_url)))
}

type Ctx = AxState<(Shared, Arc<String>)>;

use quirks::error as graph_error;

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
}

/// Entra's OpenID discovery document for a tenant named by id or by domain: `issuer` and the
/// endpoints carry the tenant id, which is how a domain is resolved to it. An unknown tenant
/// answers 400 with AADSTS90002, as Entra does.
/// <https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri>
async fn openid_configuration(AxState((state, base)): Ctx, Path(tenant): Path<String>) -> Response {
    let Some(id) = lock(&state).resolve_tenant(&tenant) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "invalid_tenant",
                "error_description": format!("AADSTS90002: Tenant '{tenant}' not found."),
                "error_codes": [90_002]
            })),
        )
            .into_response();
    };
    Json(json!({
        "issuer": format!("{base}/{id}/v2.0"),
        "token_endpoint": format!("{base}/{id}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{base}/{id}/oauth2/v2.0/authorize"),
        "jwks_uri": format!("{base}/{id}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "tenant_region_scope": "EU",
    }))
    .into_response()
}

async fn token(AxState((state, _)): Ctx, Path(tenant): Path<String>, Form(f): Form<TokenForm>) -> Response {
    let mut s = lock(&state);
    s.token_requests += 1;
    // Entra takes the tenant's domain in place of its id.
    let tenant = s.resolve_tenant(&tenant).unwrap_or(tenant);
    let ok = !s.faults.auth_failure
        && f.grant_type.as_deref() == Some("client_credentials")
        && s.tenants.get(&tenant).is_some_and(|t| {
            Some(&t.client_id) == f.client_id.as_ref() && Some(&t.client_secret) == f.client_secret.as_ref()
        });
    if !ok {
        // The shape Entra uses for a wrong secret (AADSTS7000215).
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7_000_215]
            })),
        )
            .into_response();
    }
    let access_token = format!("sim.{}.{}", tenant, crate::auth::token::generate(""));
    s.tokens.insert(access_token.clone(), tenant);
    Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access_token})).into_response()
}

/// The type whose collection holds `path`, and the path's segments after the collection.
fn route_of(path: &str) -> Option<(&'static PolicyType, Vec<&str>)> {
    let ty = TYPES
        .iter()
        .filter(|t| path == t.collection || path.starts_with(&format!("{}/", t.collection)))
        .max_by_key(|t| t.collection.len())?;
    let rest = path[ty.collection.len()..]
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    Some((ty, rest))
}

/// Faults, counters and limits; `Err` is the response to send instead.
fn admit(s: &mut State, tenant: &str, collection: &str, write: bool) -> Result<(), Box<Response>> {
    let faults = s.faults.clone();
    if faults.forbidden_collections.iter().any(|c| c == collection) {
        return Err(Box::new(graph_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Application is not authorized to perform this operation.",
        )));
    }
    if faults.down_collections.iter().any(|c| c == collection) {
        return Err(Box::new(graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the service is down",
        )));
    }
    let throttle = faults.throttle_rate > 0.0 && s.roll() < faults.throttle_rate;
    let unavailable = faults.unavailable_rate > 0.0 && s.roll() < faults.unavailable_rate;
    let Some(t) = s.tenants.get_mut(tenant) else {
        return Err(Box::new(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "unknown tenant",
        )));
    };
    let now = Instant::now();
    while t
        .recent
        .front()
        .is_some_and(|(at, _)| now.duration_since(*at) > LIMIT_WINDOW)
    {
        t.recent.pop_front();
    }
    let over = faults.enforce_limits
        && (t.recent.len() >= LIMIT_ANY || (write && t.recent.iter().filter(|(_, w)| *w).count() >= LIMIT_WRITES));
    // Usage keeps counting while throttled, as Intune's does.
    t.recent.push_back((now, write));
    t.peak_window = t.peak_window.max(t.recent.len());
    if write {
        let writes = t.recent.iter().filter(|(_, w)| *w).count();
        t.peak_writes_window = t.peak_writes_window.max(writes);
    }
    if throttle || over {
        t.throttled += 1;
        let retry = if over { 2.0 } else { faults.retry_after_secs.max(0.0) };
        let mut res = graph_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "throttled");
        if let Ok(v) = retry.to_string().parse() {
            res.headers_mut().insert("retry-after", v);
        }
        return Err(Box::new(res));
    }
    if unavailable {
        return Err(Box::new(graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "try later",
        )));
    }
    if write {
        t.writes += 1;
    } else {
        t.reads += 1;
    }
    Ok(())
}

async fn graph(
    AxState((state, base)): Ctx,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<ListQuery>,
    body: Option<Json<Value>>,
) -> Response {
    let _answering = pause(&state).await;
    let mut s = lock(&state);
    let Some(tenant) = caller(&s, &headers) else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        );
    };
    dispatch(&mut s, &tenant, &method, &path, &q, body.map(|Json(b)| b), &base)
}

/// A request's latency; counts it in flight until the returned guard is dropped.
async fn pause(state: &Shared) -> InFlight {
    let latency = {
        let mut s = lock(state);
        s.round_trips += 1;
        s.in_flight += 1;
        s.peak_in_flight = s.peak_in_flight.max(s.in_flight);
        s.faults.latency_ms
    };
    let guard = InFlight(state.clone());
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    while lock(state).faults.hold {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    guard
}

/// A `/beta` request being answered (for the in-flight figures).
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = lock(&self.0);
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

fn caller(s: &State, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    s.tokens.get(token).cloned()
}

/// Directory objects by id: `POST /beta/directoryObjects/getByIds` (a read, fault switches
/// under the collection name `directoryObjects`).
const DIRECTORY_QUERY: &str = "directoryObjects/getByIds";

/// Settings catalog definitions, `GET /beta/deviceManagement/configurationSettings/{id}`
/// (fault switches under this collection name).
const SETTING_DEFINITIONS: &str = "deviceManagement/configurationSettings";

/// One Graph request, after authentication: admission (faults, limits), the operation, and
/// the journal entry for a successful write.
fn dispatch(
    s: &mut State,
    tenant: &str,
    method: &Method,
    path: &str,
    q: &ListQuery,
    body: Option<Value>,
    base: &str,
) -> Response {
    // `getByIds` is a POST that only reads.
    let write = *method != Method::GET && path != DIRECTORY_QUERY;
    let route = route_of(path);
    let collection = route.as_ref().map_or_else(
        || {
            if path == DIRECTORY_QUERY {
                "directoryObjects"
            } else if path.starts_with(SETTING_DEFINITIONS) {
                SETTING_DEFINITIONS
            } else {
                path
            }
        },
        |(ty, _)| ty.collection,
    );
    if let Err(res) = admit(s, tenant, collection, write) {
        return *res;
    }
    if let Some(b) = &body
        && let Err(message) = quirks::refuse_annotations(b)
    {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    let result = if let Some((ty, segs)) = route {
        on_type(s, tenant, ty, method, &segs, q, body, base)
    } else {
        let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
        let body = body.unwrap_or(Value::Null);
        actions::outside_types(t, method.as_str(), path, &body, q).unwrap_or_else(|| {
            graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )
        })
    };
    if write && result.status().is_success() {
        s.record_write(tenant, method.as_str(), path);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn on_type(
    s: &mut State,
    tenant: &str,
    ty: &'static PolicyType,
    method: &Method,
    segs: &[&str],
    q: &ListQuery,
    body: Option<Value>,
    base: &str,
) -> Response {
    match (method.as_str(), segs) {
        ("GET", []) => objects::list(s, tenant, ty, q, base),
        ("GET", [id]) => objects::get_one(s, tenant, ty, id, q, base),
        ("GET", [id, "assignments"]) if ty.has_assignments() => {
            let list = s.tenants[tenant].assignments.get(*id).cloned().unwrap_or_default();
            Json(json!({"value": list})).into_response()
        }
        ("POST", []) => objects::create(s, tenant, ty, body),
        ("POST", [id, "assign"]) => objects::assign(s, tenant, ty, id, body),
        ("POST", [id, "assignments"]) => objects::add_assignment(s, tenant, ty, id, body),
        ("DELETE", [id, "assignments", a]) => objects::delete_assignment(s, tenant, id, a),
        ("PATCH" | "PUT", [id]) => objects::update(s, tenant, ty, id, method, body),
        ("DELETE", [id]) => objects::delete(s, tenant, ty, id),
        (m, [id, rest @ ..]) => below(s, tenant, ty, id, m, rest, q, body.unwrap_or(Value::Null), base),
        _ => graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "not supported by the simulator",
        ),
    }
}

/// A request below one object: the object is taken out while the action changes it.
#[allow(clippy::too_many_arguments)]
fn below(
    s: &mut State,
    tenant: &str,
    ty: &PolicyType,
    id: &str,
    method: &str,
    rest: &[&str],
    q: &ListQuery,
    body: Value,
    base: &str,
) -> Response {
    let faults = s.faults.clone();
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    let Some(mut obj) = t.objects.get_mut(ty.collection).and_then(|m| m.remove(id)) else {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    };
    let request = actions::Below {
        method,
        rest,
        body: &body,
        q,
        base,
        id,
        faults: &faults,
    };
    let answer = actions::on_object(t, ty, &mut obj, &request);
    t.objects
        .entry(ty.collection.to_owned())
        .or_default()
        .insert(id.to_owned(), obj);
    answer.unwrap_or_else(|| {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        )
    })
}

#[derive(Deserialize)]
struct BatchRequest {
    id: String,
    method: String,
    url: String,
}

#[derive(Deserialize)]
struct Batch {
    requests: Vec<BatchRequest>,
}

/// `POST /beta/$batch`: GETs only (what we batch); each sub-request is admitted, counted and
/// throttled on its own, as Intune does.
async fn batch(AxState((state, base)): Ctx, headers: HeaderMap, body: Option<Json<Batch>>) -> Response {
    let _answering = pause(&state).await;
    let Some(Json(batch)) = body else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid batch payload.");
    };
    if batch.requests.is_empty() || batch.requests.len() > 20 {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "A batch holds 1 to 20 requests.");
    }
    let answers: Vec<(String, Response)> = {
        let mut s = lock(&state);
        let Some(tenant) = caller(&s, &headers) else {
            return graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty or invalid.",
            );
        };
        batch
            .requests
            .into_iter()
            .map(|r| {
                if !r.method.eq_ignore_ascii_case("GET") {
                    return (
                        r.id,
                        graph_error(StatusCode::BAD_REQUEST, "BadRequest", "the simulator batches GETs only"),
                    );
                }
                let url = r.url.trim_start_matches('/');
                let (path, query) = url.split_once('?').unwrap_or((url, ""));
                let q: ListQuery = serde_urlencoded::from_str(query).unwrap_or_default();
                let res = dispatch(&mut s, &tenant, &Method::GET, path, &q, None, &base);
                (r.id, res)
            })
            .collect()
    };
    let mut responses = Vec::with_capacity(answers.len());
    for (id, res) in answers {
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut headers = serde_json::Map::new();
        if let Some(r) = retry_after {
            headers.insert("Retry-After".into(), json!(r));
        }
        responses.push(json!({"id": id, "status": status, "headers": headers, "body": body}));
    }
    Json(json!({ "responses": responses })).into_response()
}

async fn get_faults(AxState((state, _)): Ctx) -> Json<Faults> {
    Json(lock(&state).faults.clone())
}

async fn set_faults(AxState((state, _)): Ctx, Json(f): Json<Faults>) -> Json<Faults> {
    lock(&state).faults = f.clone();
    Json(f)
}

async fn journal(AxState((state, _)): Ctx) -> Json<Value> {
    Json(json!(lock(&state).journal))
}

async fn counters(AxState((state, _)): Ctx) -> Json<Value> {
    let s = lock(&state);
    let per: serde_json::Map<String, Value> = s
        .tenants
        .iter()
        .map(|(id, t)| {
            (
                id.clone(),
                json!({"reads": t.reads, "writes": t.writes, "throttled": t.throttled, "directory_queries": t.directory_queries, "setting_definition_reads": t.setting_definition_reads}),
            )
        })
        .collect();
    Json(json!({"token_requests": s.token_requests, "round_trips": s.round_trips, "tenants": per}))
}
