//! The simulator's objects: list, get, create, update, delete and assignments of every
//! supported type, with the checks Graph makes. Per-type behaviour is in `quirks`, actions
//! and nested collections in `actions`.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::quirks::{self, error as graph_error};
use super::state::{SimTenant, State};
use crate::graph::registry::{Assign, PolicyType, TYPES, Update};

/// The OData query options the simulator understands.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(rename = "$expand")]
    pub expand: Option<String>,
    #[serde(rename = "$skiptoken")]
    pub skiptoken: Option<usize>,
    #[serde(rename = "$top")]
    pub top: Option<usize>,
    #[serde(rename = "$filter")]
    pub filter: Option<String>,
}

impl ListQuery {
    pub fn expanded(&self) -> Vec<&str> {
        self.expand
            .as_deref()
            .map(|e| e.split(',').map(str::trim).collect())
            .unwrap_or_default()
    }
}

/// Properties a list leaves out (nested collections, script bodies).
fn for_list(ty: &PolicyType, o: &Value) -> Value {
    let mut o = o.clone();
    quirks::hide_write_only(ty, &mut o);
    if ty.key == "settings_catalog" {
        o["settingCount"] = json!(quirks::setting_count(&o));
        if let Some(m) = o.as_object_mut() {
            m.remove(quirks::COUNT_OVERRIDE);
        }
    }
    if let Some(map) = o.as_object_mut() {
        for k in ty.inline() {
            map.remove(k);
        }
        for k in ["scriptContent", "detectionScriptContent", "remediationScriptContent"] {
            map.remove(k);
        }
    }
    o
}

fn for_get(ty: &PolicyType, o: &Value, expand: &[&str]) -> Value {
    let mut out = o.clone();
    quirks::hide_write_only(ty, &mut out);
    if let Some(map) = out.as_object_mut() {
        for k in ty.expand {
            if !expand.contains(k) {
                map.remove(*k);
            }
        }
        // Read with requests of their own, never inline.
        for k in ty.nested {
            map.remove(*k);
        }
    }
    out
}

/// A page of a collection. `$expand=assignments` puts each object's assignments on it, as
/// CIPP's and IntuneManagement's list calls rely on; the next link carries the expansion on
/// (Graph's next links keep the query's options: `shared/GRAPH.md`, Paging).
pub fn list(s: &State, tenant: &str, ty: &PolicyType, q: &ListQuery, base: &str) -> Response {
    let expand = q.expanded();
    if !expand.is_empty()
        && let Some(refused) = list_expansion_refused(s, ty, &expand)
    {
        return refused;
    }
    let size = q
        .top
        .unwrap_or(if s.faults.page_size == 0 {
            25
        } else {
            s.faults.page_size
        })
        .clamp(1, 1000);
    let skip = q.skiptoken.unwrap_or(0);
    let t = &s.tenants[tenant];
    let all = t.objects.get(ty.collection);
    let page: Vec<Value> = all
        .into_iter()
        .flat_map(|m| m.iter())
        .skip(skip)
        .take(size)
        .map(|(id, o)| {
            let mut out = for_list(ty, o);
            if expand.contains(&"assignments") {
                out["assignments"] = json!(t.assignments.get(id).cloned().unwrap_or_default());
            }
            out
        })
        .collect();
    let total = all.map_or(0, std::collections::BTreeMap::len);
    let mut out = json!({"@odata.context": format!("{base}/beta/$metadata#{}", ty.collection), "value": page});
    if skip + size < total {
        let expand = q.expand.as_deref().map(|e| format!("$expand={e}&")).unwrap_or_default();
        out["@odata.nextLink"] = json!(format!(
            "{base}/beta/{}?{expand}$top={size}&$skiptoken={}",
            ty.collection,
            skip + size
        ));
    }
    Json(out).into_response()
}

/// The expansions a list takes: `assignments` only, on types that have them (anything else
/// is a 400, as Graph answers for a navigation property it cannot expand there).
fn list_expansion_refused(s: &State, ty: &PolicyType, expand: &[&str]) -> Option<Response> {
    let refused = |what: &str| {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Expanding '{what}' is not supported on this collection."),
        )
    };
    if s.faults.list_expand_refused {
        return Some(refused(expand.join(",").as_str()));
    }
    expand
        .iter()
        .find(|e| **e != "assignments" || !ty.has_assignments() || !ty.expand_assignments)
        .map(|other| refused(other))
}

pub fn get_one(s: &State, tenant: &str, ty: &PolicyType, id: &str, q: &ListQuery, base: &str) -> Response {
    let expand = q.expanded();
    if expand.contains(&"assignments") && !ty.expand_assignments {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Expanding 'assignments' is not supported on this resource.",
        );
    }
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
            if ty.has_assignments() && expand.contains(&"assignments") {
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
    let ids = |s: &State| -> std::collections::BTreeSet<String> {
        s.tenants[tenant]
            .objects
            .get(collection)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let before = ids(s);
    let res = create(s, tenant, ty, Some(body));
    let status = res.status();
    // The one id that was not there before.
    let id = ids(s).difference(&before).next().cloned();
    match (status.is_success(), id) {
        (true, Some(id)) => Ok(id),
        _ => Err(format!("the simulator refused the object ({status})")),
    }
}

pub fn create(s: &mut State, tenant: &str, ty: &PolicyType, body: Option<Value>) -> Response {
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

pub fn update(
    s: &mut State,
    tenant: &str,
    ty: &PolicyType,
    id: &str,
    method: &Method,
    body: Option<Value>,
) -> Response {
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
    let current = t.objects[ty.collection][id].clone();
    if let Err(message) = quirks::on_update(t, ty, &current, &mut patch) {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
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
            if !ty.inline().any(|n| n == k.as_str()) {
                map.insert(k, v);
            }
        }
    }
    existing["lastModifiedDateTime"] = json!(crate::clock::now());
    StatusCode::NO_CONTENT.into_response()
}

pub fn assign(s: &mut State, tenant: &str, ty: &PolicyType, id: &str, body: Option<Value>) -> Response {
    let key = match ty.assign {
        Assign::Action(key) => key,
        Assign::EachPost => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The action 'assign' does not exist on this resource; post each assignment to /assignments.",
            );
        }
        Assign::None => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "this resource has no assignments",
            );
        }
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
    let stored: Vec<Value> = list.into_iter().map(|a| stored_assignment(t, a)).collect();
    t.assignments.insert(id.to_owned(), stored);
    StatusCode::NO_CONTENT.into_response()
}

/// An assignment as Graph keeps it: with an id of its own, without what clients may not set.
pub fn stored_assignment(t: &mut SimTenant, mut a: Value) -> Value {
    if let Some(m) = a.as_object_mut() {
        for k in ["id", "source", "sourceId", "@odata.type"] {
            m.remove(k);
        }
    }
    if a.is_object() {
        a["id"] = json!(t.new_id());
    }
    a
}

/// `POST …/{id}/assignments` (types without an `assign` action): adds one assignment.
pub fn add_assignment(s: &mut State, tenant: &str, ty: &PolicyType, id: &str, body: Option<Value>) -> Response {
    if ty.assign != Assign::EachPost {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "use the assign action");
    }
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    if !t.objects.get(ty.collection).is_some_and(|m| m.contains_key(id)) {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    }
    let Some(a) = body.filter(|b| b.get("target").is_some()) else {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "'target' is required");
    };
    let a = stored_assignment(t, a);
    t.assignments.entry(id.to_owned()).or_default().push(a.clone());
    (StatusCode::CREATED, Json(a)).into_response()
}

/// `DELETE …/{id}/assignments/{assignmentId}`.
pub fn delete_assignment(s: &mut State, tenant: &str, id: &str, assignment: &str) -> Response {
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    let Some(list) = t.assignments.get_mut(id) else {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    };
    let before = list.len();
    list.retain(|a| a.get("id").and_then(Value::as_str) != Some(assignment));
    if list.len() == before {
        return graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found");
    }
    StatusCode::NO_CONTENT.into_response()
}

pub fn delete(s: &mut State, tenant: &str, ty: &PolicyType, id: &str) -> Response {
    let t = s.tenants.get_mut(tenant).expect("admitted tenant exists");
    if let Some(o) = t.objects.get(ty.collection).and_then(|m| m.get(id))
        && let Err(message) = quirks::may_delete(ty, o)
    {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    match t.objects.get_mut(ty.collection).and_then(|m| m.remove(id)) {
        Some(_) => {
            t.assignments.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found"),
    }
}
