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

use super::quirks;
use super::state::{Faults, LIMIT_ANY, LIMIT_WINDOW, LIMIT_WRITES, State};
use crate::graph::registry::{PolicyType, Recipe, TYPES, Update};

pub type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn router(state: Shared, base_url: String) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/beta/$batch", post(batch))
        .route("/beta/{*path}", any(graph))
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/journal", get(journal))
        .route("/_sim/counters", get(counters))
        .with_state((state, Arc::new(base_url)))
}

type Ctx = AxState<(Shared, Arc<String>)>;

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
}

async fn token(AxState((state, _)): Ctx, Path(tenant): Path<String>, Form(f): Form<TokenForm>) -> Response {
    let mut s = lock(&state);
    s.token_requests += 1;
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

/// Splits `deviceManagement/deviceConfigurations/{id}/assign` into type, id and action.
fn route_of(path: &str) -> Option<(&'static PolicyType, Option<String>, Option<String>)> {
    let ty = TYPES
        .iter()
        .find(|t| path == t.collection || path.starts_with(&format!("{}/", t.collection)))?;
    let rest: Vec<&str> = path[ty.collection.len()..]
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    Some((
        ty,
        rest.first().map(|s| (*s).to_owned()),
        rest.get(1).map(|s| (*s).to_owned()),
    ))
}

/// Faults, counters and limits; `Err` is the response to send instead.
fn admit(s: &mut State, tenant: &str, collection: &str, write: bool) -> Result<(), Box<Response>> {
    let faults = s.faults.clone();
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

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(rename = "$expand")]
    expand: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<usize>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Properties a list leaves out (nested collections, script bodies).
fn for_list(ty: &PolicyType, o: &Value) -> Value {
    let mut o = o.clone();
    if ty.key == "settings_catalog" {
        o["settingCount"] = json!(quirks::setting_count(&o));
        if let Some(m) = o.as_object_mut() {
            m.remove(quirks::COUNT_OVERRIDE);
        }
    }
    if let Some(map) = o.as_object_mut() {
        for k in ty.expand {
            map.remove(*k);
        }
        for k in ["scriptContent", "detectionScriptContent", "remediationScriptContent"] {
            map.remove(k);
        }
    }
    o
}

fn for_get(ty: &PolicyType, o: &Value, expand: &[&str]) -> Value {
    let mut out = o.clone();
    if let Some(map) = out.as_object_mut() {
        for k in ty.expand {
            if !expand.contains(k) {
                map.remove(*k);
            }
        }
    }
    out
}

async fn graph(
    AxState((state, base)): Ctx,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(q): Query<ListQuery>,
    body: Option<Json<Value>>,
) -> Response {
    pause(&state).await;
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

async fn pause(state: &Shared) {
    let latency = {
        let mut s = lock(state);
        s.round_trips += 1;
        s.faults.latency_ms
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
}

fn caller(s: &State, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    s.tokens.get(token).cloned()
}

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
    let Some((ty, id, action)) = route_of(path) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        );
    };
    let write = *method != Method::GET;
    if let Err(res) = admit(s, tenant, ty.collection, write) {
        return *res;
    }
    if let Some(b) = &body
        && let Err(message) = quirks::refuse_annotations(b)
    {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    let result = match (method.as_str(), id, action.as_deref()) {
        ("GET", None, None) => list(s, tenant, ty, q, base),
        ("GET", Some(id), None) => get_one(s, tenant, ty, &id, q, base),
        ("GET", Some(id), Some("settings")) if ty.key == "settings_catalog" => {
            match s.tenants[tenant].objects.get(ty.collection).and_then(|m| m.get(&id)) {
                Some(o) => Json(quirks::settings_page(
                    o,
                    base,
                    ty.collection,
                    &id,
                    q.top,
                    q.skiptoken.unwrap_or(0),
                ))
                .into_response(),
                None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
            }
        }
        ("GET", Some(_), Some(a)) if ty.oma_secrets && a.starts_with("getOmaSettingPlainTextValue(") => {
            quirks::plain_text_value(s, tenant, a)
        }
        ("POST", Some(id), Some(a @ ("targetApps" | "scheduleActionsForRules"))) => {
            action_on(s, tenant, ty, &id, a, body)
        }
        ("GET", Some(id), Some("assignments")) => {
            let list = s.tenants[tenant].assignments.get(&id).cloned().unwrap_or_default();
            Json(json!({"value": list})).into_response()
        }
        ("POST", None, None) => create(s, tenant, ty, body),
        ("POST", Some(id), Some("assign")) => assign(s, tenant, ty, &id, body),
        ("PATCH" | "PUT", Some(id), None) => update(s, tenant, ty, &id, method, body),
        ("DELETE", Some(id), None) => delete(s, tenant, ty, &id),
        _ => graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "not supported by the simulator",
        ),
    };
    if write && result.status().is_success() {
        s.record_write(tenant, method.as_str(), path);
    }
    result
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
    pause(&state).await;
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

fn list(s: &State, tenant: &str, ty: &PolicyType, q: &ListQuery, base: &str) -> Response {
    let size = q
        .top
        .unwrap_or(if s.faults.page_size == 0 {
            25
        } else {
            s.faults.page_size
        })
        .clamp(1, 1000);
    let skip = q.skiptoken.unwrap_or(0);
    let all = s.tenants[tenant].objects.get(ty.collection);
    let page: Vec<Value> = all
        .into_iter()
        .flat_map(|m| m.values())
        .skip(skip)
        .take(size)
        .map(|o| for_list(ty, o))
        .collect();
    let total = all.map_or(0, std::collections::BTreeMap::len);
    let mut out = json!({"@odata.context": format!("{base}/beta/$metadata#{}", ty.collection), "value": page});
    if skip + size < total {
        out["@odata.nextLink"] = json!(format!(
            "{base}/beta/{}?$top={size}&$skiptoken={}",
            ty.collection,
            skip + size
        ));
    }
    Json(out).into_response()
}

/// The per-type actions that change a navigation collection.
fn action_on(s: &mut State, tenant: &str, ty: &PolicyType, id: &str, action: &str, body: Option<Value>) -> Response {
    let body = body.unwrap_or(Value::Null);
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    let mut tenant_data = std::mem::take(t);
    let answer = match tenant_data.objects.get_mut(ty.collection).and_then(|m| m.remove(id)) {
        None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
        Some(mut existing) => {
            let answer = match (action, ty.recipe) {
                ("targetApps", Recipe::AppProtection) => quirks::target_apps(&mut tenant_data, &mut existing, &body),
                ("scheduleActionsForRules", Recipe::Compliance) => {
                    quirks::schedule_actions(&mut tenant_data, &mut existing, &body)
                }
                _ => graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Resource not found for the segment.",
                ),
            };
            if answer.status().is_success() {
                existing["lastModifiedDateTime"] = json!(crate::clock::now());
            }
            tenant_data
                .objects
                .entry(ty.collection.to_owned())
                .or_default()
                .insert(id.to_owned(), existing);
            answer
        }
    };
    *s.tenants.get_mut(tenant).expect("admitted tenant exists") = tenant_data;
    answer
}

fn get_one(s: &State, tenant: &str, ty: &PolicyType, id: &str, q: &ListQuery, base: &str) -> Response {
    let expand: Vec<&str> = q
        .expand
        .as_deref()
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let t = &s.tenants[tenant];
    match t.objects.get(ty.collection).and_then(|m| m.get(id)) {
        Some(o) => {
            let mut out = for_get(ty, o, &expand);
            if ty.key == "settings_catalog" {
                out["settings"] = o.get("settings").cloned().unwrap_or_else(|| json!([]));
                quirks::shape_settings_read(&mut out, base, ty.collection, id, expand.contains(&"settings"));
                if !expand.contains(&"settings")
                    && let Some(m) = out.as_object_mut()
                {
                    m.remove("settings");
                }
            }
            if ty.assign_key.is_some() && expand.contains(&"assignments") {
                out["assignments"] = json!(t.assignments.get(id).cloned().unwrap_or_default());
            }
            Json(out).into_response()
        }
        None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
    }
}

/// A create from a test or the seed, through the same checks as a POST.
pub fn create_direct(s: &mut State, tenant: &str, collection: &str, body: Value) -> Result<String, String> {
    let ty = TYPES
        .iter()
        .find(|t| t.collection == collection)
        .ok_or_else(|| format!("no simulated type at {collection}"))?;
    if !s.tenants.contains_key(tenant) {
        return Err(format!("no simulated tenant {tenant}"));
    }
    if let Err(message) = quirks::refuse_annotations(&body) {
        return Err(format!("the simulator refused the object (400): {message}"));
    }
    let res = create(s, tenant, ty, Some(body));
    let status = res.status();
    let id = s.tenants[tenant]
        .objects
        .get(collection)
        .and_then(|m| m.keys().max().cloned());
    match (status.is_success(), id) {
        (true, Some(id)) => Ok(id),
        _ => Err(format!("the simulator refused the object ({status})")),
    }
}

fn create(s: &mut State, tenant: &str, ty: &PolicyType, body: Option<Value>) -> Response {
    let Some(Value::Object(mut o)) = body else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "a JSON object is required");
    };
    if let Some(field) = ty
        .read_only
        .iter()
        .find(|f| **f != "@odata.context" && o.contains_key(**f))
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("property '{field}' is read-only"),
        );
    }
    if ty.typed && !o.contains_key("@odata.type") {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "@odata.type is required for this resource",
        );
    }
    if o.get(ty.name_field).and_then(Value::as_str).is_none_or(str::is_empty) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("'{}' is required", ty.name_field),
        );
    }
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    if let Err(message) = quirks::on_create(t, ty, &mut o) {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    let id = t.new_id();
    o.insert("id".into(), json!(id));
    o.insert("createdDateTime".into(), json!(crate::clock::now()));
    o.insert("lastModifiedDateTime".into(), json!(crate::clock::now()));
    let o = Value::Object(o);
    t.objects
        .entry(ty.collection.to_owned())
        .or_default()
        .insert(id, o.clone());
    (StatusCode::CREATED, Json(o)).into_response()
}

fn update(s: &mut State, tenant: &str, ty: &PolicyType, id: &str, method: &Method, body: Option<Value>) -> Response {
    let Some(Value::Object(mut patch)) = body else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "a JSON object is required");
    };
    let put = *method == Method::PUT;
    // PATCH-only types refuse PUT; the settings catalog takes both (PATCH for properties).
    if put && ty.update == Update::Patch {
        return graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "this resource is updated with PATCH",
        );
    }
    if ty.key == "settings_catalog" && !put && patch.contains_key("settings") {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "settings cannot be changed with PATCH; use PUT",
        );
    }
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    if !t.objects.get(ty.collection).is_some_and(|m| m.contains_key(id)) {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    }
    quirks::on_update(t, ty, &mut patch);
    let Some(existing) = t.objects.get_mut(ty.collection).and_then(|m| m.get_mut(id)) else {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    };
    if ty.typed
        && patch
            .get("@odata.type")
            .is_some_and(|v| Some(v) != existing.get("@odata.type"))
    {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "@odata.type cannot be changed");
    }
    if let Some(field) = ty
        .read_only
        .iter()
        .find(|f| **f != "@odata.context" && **f != "id" && patch.contains_key(**f))
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("property '{field}' is read-only"),
        );
    }
    if put {
        let keep = ["id", "createdDateTime"].map(|k| (k, existing.get(k).cloned()));
        *existing = Value::Object(patch);
        for (k, v) in keep {
            if let Some(v) = v {
                existing[k] = v;
            }
        }
    } else if let Some(map) = existing.as_object_mut() {
        // PATCH changes properties only; navigation collections stay (as in Graph).
        for (k, v) in patch {
            if !ty.expand.contains(&k.as_str()) {
                map.insert(k, v);
            }
        }
    }
    existing["lastModifiedDateTime"] = json!(crate::clock::now());
    StatusCode::NO_CONTENT.into_response()
}

fn assign(s: &mut State, tenant: &str, ty: &PolicyType, id: &str, body: Option<Value>) -> Response {
    let Some(key) = ty.assign_key else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "this resource has no assignments",
        );
    };
    let Some(list) = body
        .as_ref()
        .and_then(|b| b.get(key))
        .and_then(Value::as_array)
        .cloned()
    else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("'{key}' is required"));
    };
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    if !t.objects.get(ty.collection).is_some_and(|m| m.contains_key(id)) {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    }
    // `assign` replaces every assignment; `id`, `source`, `sourceId` are Graph's to set.
    let cleaned: Vec<Value> = list
        .into_iter()
        .map(|mut a| {
            if let Some(m) = a.as_object_mut() {
                for k in ["id", "source", "sourceId", "@odata.type"] {
                    m.remove(k);
                }
            }
            a
        })
        .collect();
    t.assignments.insert(id.to_owned(), cleaned);
    StatusCode::NO_CONTENT.into_response()
}

fn delete(s: &mut State, tenant: &str, ty: &PolicyType, id: &str) -> Response {
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    match t.objects.get_mut(ty.collection).and_then(|m| m.remove(id)) {
        Some(_) => {
            t.assignments.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
    }
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
                json!({"reads": t.reads, "writes": t.writes, "throttled": t.throttled}),
            )
        })
        .collect();
    Json(json!({"token_requests": s.token_requests, "round_trips": s.round_trips, "tenants": per}))
}
