//! Customer tenants and their members: the operations pages and the API share.

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::role::Role;
use crate::clock;
use crate::db::memberships::{self, Member};
use crate::db::tenants::{self, Tenant};
use crate::db::{Db, users};
use crate::error::AppError;
use crate::graph::cloud::Cloud;
use crate::secrets::MasterKey;

/// A tenant as submitted by a form or the API. Empty optional strings mean "not given".
#[derive(Debug, Clone, Deserialize)]
pub struct TenantInput {
    pub name: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    /// Required on create; on edit, a non-empty value replaces the stored secret.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    pub cloud: String,
    #[serde(default)]
    pub graph_base_url: Option<String>,
    #[serde(default)]
    pub login_base_url: Option<String>,
}

/// Validated values, ready to store.
struct Valid {
    name: String,
    entra_tenant_id: String,
    client_id: String,
    cloud: Cloud,
    graph_base_url: String,
    login_base_url: String,
}

fn validate(input: &TenantInput, allow_custom: bool) -> Result<Valid, AppError> {
    checked(input, allow_custom).map_err(|problems| AppError::Invalid(problems.join("; ")))
}

/// Everything wrong with a tenant form at once (empty when it is fine), so a form shows
/// every problem in one go. `creating` also requires the client secret.
pub fn problems(input: &TenantInput, allow_custom: bool, creating: bool) -> Vec<String> {
    let mut list = checked(input, allow_custom).err().unwrap_or_default();
    if creating && let Err(AppError::Invalid(m)) = secret_required(input.client_secret.as_ref()) {
        list.push(m);
    }
    list
}

fn checked(input: &TenantInput, allow_custom: bool) -> Result<Valid, Vec<String>> {
    let mut problems = Vec::new();
    let mut keep = |r: Result<String, AppError>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let name = keep(crate::names::check(&input.name, "tenant", 100));
    let entra_tenant_id = keep(tenant_id_or_domain(&input.entra_tenant_id));
    let client_id = keep(guid(
        &input.client_id,
        "client id (Application ID of the app registration)",
    ));
    let cloud = Cloud::parse(input.cloud.trim());
    if cloud.is_none() {
        problems.push(format!(
            "cloud must be one of global, usgov, usgovdod, china; got {:?}",
            input.cloud
        ));
    }
    let custom_graph = non_empty(input.graph_base_url.as_deref());
    let custom_login = non_empty(input.login_base_url.as_deref());
    let cloud = cloud.unwrap_or(Cloud::Global);
    let default_or_empty =
        |given: Option<&str>, default: &str| given.is_none_or(|u| u.trim_end_matches('/') == default);
    // The cloud's own endpoints typed by hand (the settings form shows them) are not custom.
    let custom = !default_or_empty(custom_graph, cloud.graph_base_url())
        || !default_or_empty(custom_login, cloud.login_base_url());
    if custom && !allow_custom {
        problems.push(format!(
            "{CUSTOM_ENDPOINTS_DISABLED}; leave them empty to use the cloud's endpoints"
        ));
    }
    let mut url = |given: Option<&str>, field: &str, default: &str| match given {
        Some(u) => base_url(u, field).map_err(|e| problems.push(e.to_string())).ok(),
        None => Some(default.to_owned()),
    };
    let graph_base_url = url(custom_graph, "graph_base_url", cloud.graph_base_url());
    let login_base_url = url(custom_login, "login_base_url", cloud.login_base_url());
    match (name, entra_tenant_id, client_id, graph_base_url, login_base_url) {
        (Some(name), Some(entra_tenant_id), Some(client_id), Some(graph_base_url), Some(login_base_url))
            if problems.is_empty() =>
        {
            Ok(Valid {
                name,
                entra_tenant_id,
                client_id,
                cloud,
                graph_base_url,
                login_base_url,
            })
        }
        _ => Err(problems),
    }
}

/// The Entra tenant: its id (a GUID), or a domain of it (`contoso.onmicrosoft.com`), which
/// the next verify run resolves to the id through Entra's discovery document.
fn tenant_id_or_domain(raw: &str) -> Result<String, AppError> {
    let what = "Entra tenant id (Directory ID in the Entra admin center)";
    let s = raw.trim().to_lowercase();
    if looks_like_domain(&s) {
        return Ok(s);
    }
    guid(raw, what).map_err(|_| {
        AppError::Invalid(format!(
            "the {what} must be a GUID like 00000000-0000-0000-0000-000000000000 or a domain like contoso.onmicrosoft.com; got {:?}",
            raw.trim()
        ))
    })
}

/// A DNS name with at least two labels, none empty, letters, digits and inner hyphens only.
fn looks_like_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Whether `s` is a GUID in its usual 8-4-4-4-12 form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Why a tenant with hand-set endpoints is refused on a server without the switch.
pub const CUSTOM_ENDPOINTS_DISABLED: &str = "custom Graph or login endpoints are disabled on this server (start it with PV_ALLOW_CUSTOM_ENDPOINTS=1 to allow them, or set the tenant's endpoints back to its cloud's)";

/// Whether a stored tenant talks to other hosts than its cloud's.
pub fn uses_custom_endpoints(t: &Tenant) -> bool {
    let Some(cloud) = Cloud::parse(&t.cloud) else {
        return true;
    };
    t.graph_base_url != cloud.graph_base_url() || t.login_base_url != cloud.login_base_url()
}

/// Why an owner who is not a superadmin may not set a tenant's endpoints.
pub const CUSTOM_ENDPOINTS_SUPERADMIN_ONLY: &str = "only a superadmin may set custom Graph or login endpoints: they make the server send requests, and the client secret, to any host, internal ones too. Leave the endpoint fields as they are (or empty for the cloud's own), or ask a superadmin";

/// Whether saving `input` over `current` would point the tenant at custom endpoints it
/// does not use now: only a superadmin may do that. Keeping the endpoints a superadmin set,
/// or going back to the cloud's own, is not. An invalid input is left to the validation.
pub fn sets_new_custom_endpoints(current: &Tenant, input: &TenantInput) -> bool {
    let Ok(v) = checked(input, true) else {
        return false;
    };
    let custom = v.graph_base_url != v.cloud.graph_base_url() || v.login_base_url != v.cloud.login_base_url();
    custom && (v.graph_base_url != current.graph_base_url || v.login_base_url != current.login_base_url)
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A GUID in its usual 8-4-4-4-12 form, lowercased.
fn guid(raw: &str, what: &str) -> Result<String, AppError> {
    let s = raw.trim().trim_matches(|c| c == '{' || c == '}').to_lowercase();
    if is_guid(&s) {
        Ok(s)
    } else {
        Err(AppError::Invalid(format!(
            "the {what} must be a GUID like 00000000-0000-0000-0000-000000000000; got {:?}",
            raw.trim()
        )))
    }
}

/// An http(s) base URL without credentials, query or fragment; no trailing slash.
fn base_url(raw: &str, field: &str) -> Result<String, AppError> {
    let bad = |why: &str| AppError::Invalid(format!("{field}: {why} (got {raw:?})"));
    let url = Url::parse(raw).map_err(|_| bad("not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not contain credentials, a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn secret_required(s: Option<&SecretString>) -> Result<&SecretString, AppError> {
    let s = s
        .filter(|s| !s.expose_secret().trim().is_empty())
        .ok_or_else(|| AppError::Invalid("the client secret is required".into()))?;
    if s.expose_secret().len() > 1024 {
        return Err(AppError::Invalid(
            "the client secret is longer than 1024 characters".into(),
        ));
    }
    Ok(s)
}

/// The tenants already connected to the Entra tenant `input` names (its id or domain, as it
/// would be stored); empty while the field is not valid.
pub async fn already_connected(db: &Db, input: &TenantInput) -> Result<Vec<Tenant>, AppError> {
    let Ok(entra) = tenant_id_or_domain(&input.entra_tenant_id) else {
        return Ok(Vec::new());
    };
    Ok(db.read(move |c| tenants::with_entra_tenant_id(c, &entra)).await?)
}

fn name_taken(name: &str) -> AppError {
    AppError::Conflict(format!("a tenant named {name:?} already exists"))
}

pub async fn create(
    db: &Db,
    key: &MasterKey,
    input: TenantInput,
    allow_custom: bool,
    actor: &str,
) -> Result<Tenant, AppError> {
    let v = validate(&input, allow_custom)?;
    let secret = secret_required(input.client_secret.as_ref())?;
    let now = clock::now();
    let tenant = Tenant {
        id: clock::new_id(),
        name: v.name,
        entra_tenant_id: v.entra_tenant_id,
        client_id: v.client_id,
        cloud: v.cloud.as_str().to_owned(),
        graph_base_url: v.graph_base_url,
        login_base_url: v.login_base_url,
        created_at: now.clone(),
        updated_at: now.clone(),
        secret_updated_at: now,
    };
    let sealed = key.seal(secret, &tenant.id).map_err(|e| AppError::Internal(e.into()))?;
    let (row, actor) = (tenant.clone(), actor.to_owned());
    let result = db
        .write(move |tx| {
            tenants::insert(tx, &row, &sealed)?;
            audit::record(tx, &Event {
                tenant_id: Some(&row.id),
                actor: &actor,
                action: "tenant.created",
                run_id: None,
                details: json!({"name": row.name, "entra_tenant_id": row.entra_tenant_id, "client_id": row.client_id, "cloud": row.cloud}),
            })
        })
        .await;
    match result {
        Ok(()) => Ok(tenant),
        Err(e) if e.is_unique_violation() => Err(name_taken(&tenant.name)),
        Err(e) => Err(e.into()),
    }
}

/// Updates a tenant's settings; a non-empty `client_secret` also replaces the secret.
pub async fn update(
    db: &Db,
    key: &MasterKey,
    current: &Tenant,
    input: TenantInput,
    allow_custom: bool,
    actor: &str,
) -> Result<Tenant, AppError> {
    let v = validate(&input, allow_custom)?;
    let new_secret = match input
        .client_secret
        .as_ref()
        .filter(|s| !s.expose_secret().trim().is_empty())
    {
        Some(s) => Some(
            key.seal(secret_required(Some(s))?, &current.id)
                .map_err(|e| AppError::Internal(e.into()))?,
        ),
        None => None,
    };
    // The stored secret was entered for one app, in one directory, to be sent to one login
    // host: whoever points any of those elsewhere must prove they know the secret, or an
    // owner could have the server post it to a host of their choosing.
    let moved = v.entra_tenant_id != current.entra_tenant_id
        || v.client_id != current.client_id
        || v.graph_base_url != current.graph_base_url
        || v.login_base_url != current.login_base_url;
    if moved && new_secret.is_none() {
        return Err(AppError::Invalid(
            "changing the Entra tenant id, the client id, the cloud or an endpoint needs the client secret entered again".into(),
        ));
    }
    let now = clock::now();
    let tenant = Tenant {
        name: v.name,
        entra_tenant_id: v.entra_tenant_id,
        client_id: v.client_id,
        cloud: v.cloud.as_str().to_owned(),
        graph_base_url: v.graph_base_url,
        login_base_url: v.login_base_url,
        updated_at: now.clone(),
        secret_updated_at: if new_secret.is_some() {
            now.clone()
        } else {
            current.secret_updated_at.clone()
        },
        ..current.clone()
    };
    let (row, actor) = (tenant.clone(), actor.to_owned());
    let result = db
        .write(move |tx| {
            tenants::update(tx, &row)?;
            audit::record(tx, &Event {
                tenant_id: Some(&row.id),
                actor: &actor,
                action: "tenant.updated",
                run_id: None,
                details: json!({"name": row.name, "entra_tenant_id": row.entra_tenant_id, "client_id": row.client_id, "cloud": row.cloud}),
            })?;
            if let Some(sealed) = new_secret {
                tenants::replace_secret(tx, &row.id, &sealed, &now)?;
                audit::record(tx, &Event {
                    tenant_id: Some(&row.id),
                    actor: &actor,
                    action: "tenant.secret_replaced",
                    run_id: None,
                    details: json!({}),
                })?;
            }
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(tenant),
        Err(e) if e.is_unique_violation() => Err(name_taken(&tenant.name)),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a tenant, typed confirmation first; refused while it has active runs.
pub async fn delete(db: &Db, t: &Tenant, confirm: &str, actor: &str) -> Result<(), AppError> {
    if confirm.trim() != t.name {
        return Err(AppError::Invalid(format!(
            "deleting {0} removes its inventory, versions, backups, runs and schedules from policyvault (nothing in the tenant itself): confirm by typing its name, {0:?}",
            t.name
        )));
    }
    let (row, actor) = (t.clone(), actor.to_owned());
    db.write(move |tx| {
        let active = tenants::active_runs(tx, &row.id)?;
        if active > 0 {
            return Ok(Err(AppError::Conflict(format!(
                "{} has {active} queued or running run(s): wait for them to finish (see its Runs tab), then delete it",
                row.name
            ))));
        }
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&row.id),
                actor: &actor,
                action: "tenant.deleted",
                run_id: None,
                details: json!({"name": row.name, "entra_tenant_id": row.entra_tenant_id}),
            },
        )?;
        tenants::delete(tx, &row.id)?;
        Ok(Ok(()))
    })
    .await??;
    db.access_changed();
    Ok(())
}

/// Deletes a manual or scheduled backup set; refused while a run uses it.
pub async fn delete_backup_set(db: &Db, set: &crate::db::backups::BackupSet, actor: &str) -> Result<(), AppError> {
    use crate::db::backups;
    if set.origin == "before_restore" {
        return Err(AppError::Conflict(
            "a \"Before restore\" set is what undoing its restore puts back; it cannot be deleted on its own".into(),
        ));
    }
    let (row, actor) = (set.clone(), actor.to_owned());
    db.write(move |tx| {
        if let Some((run, kind)) = backups::active_run_using(tx, &row.id)? {
            return Ok(Err(AppError::Conflict(format!(
                "{} is in use by a {} that is still going (run {run}): wait for it to finish, then delete the set",
                row.name,
                if kind.starts_with("restore") { "restore" } else { "backup" }
            ))));
        }
        backups::delete(tx, &row.id)?;
        audit::record(tx, &Event {
            tenant_id: Some(&row.tenant_id),
            actor: &actor,
            action: "backup_set.deleted",
            run_id: None,
            details: json!({"backup_set_id": row.id, "name": row.name, "origin": row.origin, "items": row.item_count}),
        })?;
        Ok(Ok(()))
    })
    .await??;
    Ok(())
}

/// Adds a member by email or changes their role.
pub async fn set_member(db: &Db, tenant_id: &str, email: &str, role: &str, actor: &str) -> Result<Member, AppError> {
    let email = crate::accounts::normalize_email(email)?;
    let role = Role::parse(role.trim())
        .ok_or_else(|| AppError::Invalid(format!("role must be viewer, operator or owner; got {role:?}")))?;
    let (tenant_id, actor) = (tenant_id.to_owned(), actor.to_owned());
    let member = db.write(move |tx| {
        let Some(user) = users::find_by_email(tx, &email)? else {
            return Ok(Err(AppError::Invalid(format!("no user with email {email}: a superadmin must create the account first"))));
        };
        // A membership could only lower a superadmin's role (they are owner everywhere), which
        // would let an owner lock them out of the tenant.
        if user.superadmin {
            return Ok(Err(AppError::Invalid(format!(
                "{email} is a superadmin, and superadmins are owners of every tenant: they need no membership, and their role cannot be changed here"
            ))));
        }
        let before = memberships::role_of(tx, &user.id, &tenant_id)?;
        if before.as_deref() == Some("owner") && role != Role::Owner && memberships::count_owners(tx, &tenant_id)? <= 1 {
            return Ok(Err(AppError::Invalid("this is the tenant's last owner: make someone else owner first".into())));
        }
        memberships::upsert(tx, &user.id, &tenant_id, role.as_str(), &clock::now())?;
        let mut details = json!({"user_id": user.id, "email": user.email, "role": role.as_str(), "previous_role": before});
        if before.as_deref() == Some("owner") && role != Role::Owner {
            // Only owners invite: their invitations here end with their owner role.
            let deleted = crate::db::invites::delete_pending_by_inviter(tx, &user.id, Some(&tenant_id))?;
            crate::accounts::note_deleted_invites(&mut details, deleted);
        }
        audit::record(tx, &Event {
            tenant_id: Some(&tenant_id),
            actor: &actor,
            action: if before.is_some() { "member.role_changed" } else { "member.added" },
            run_id: None,
            details,
        })?;
        Ok(Ok(Member { user_id: user.id, email: user.email, role: role.as_str().to_owned() }))
    })
    .await??;
    // A changed role ends the member's open event streams (they reconnect with the new one).
    db.access_changed();
    Ok(member)
}

pub async fn remove_member(db: &Db, tenant_id: &str, user_id: &str, actor: &str) -> Result<(), AppError> {
    let (tenant_id, user_id, actor) = (tenant_id.to_owned(), user_id.to_owned(), actor.to_owned());
    db.write(move |tx| {
        let Some(role) = memberships::role_of(tx, &user_id, &tenant_id)? else {
            return Ok(Err(AppError::not_found("member")));
        };
        if role == "owner" && memberships::count_owners(tx, &tenant_id)? <= 1 {
            return Ok(Err(AppError::Invalid(
                "this is the tenant's last owner: make someone else owner first".into(),
            )));
        }
        memberships::delete(tx, &user_id, &tenant_id)?;
        let email = users::get(tx, &user_id)?.map(|u| u.email);
        let mut details = json!({"user_id": user_id, "email": email, "role": role});
        // Their invitations into this tenant carried their role here, which ends now.
        let deleted = crate::db::invites::delete_pending_by_inviter(tx, &user_id, Some(&tenant_id))?;
        crate::accounts::note_deleted_invites(&mut details, deleted);
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&tenant_id),
                actor: &actor,
                action: "member.removed",
                run_id: None,
                details,
            },
        )?;
        Ok(Ok(()))
    })
    .await??;
    db.access_changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TenantInput {
        TenantInput {
            name: "Contoso".into(),
            entra_tenant_id: "{6F1B2C3D-0000-4000-8000-00000000AB12}".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            client_secret: None,
            cloud: "usgovdod".into(),
            graph_base_url: Some(String::new()),
            login_base_url: None,
        }
    }

    #[test]
    fn guids_are_normalized_and_the_cloud_picks_the_endpoints() {
        let v = validate(&input(), false).expect("valid");
        assert_eq!(v.entra_tenant_id, "6f1b2c3d-0000-4000-8000-00000000ab12");
        assert_eq!(v.graph_base_url, "https://dod-graph.microsoft.us");
        assert_eq!(v.login_base_url, "https://login.microsoftonline.us");
    }

    #[test]
    fn a_domain_is_accepted_for_the_tenant_and_every_problem_is_listed() {
        let mut i = input();
        i.entra_tenant_id = " Contoso.OnMicrosoft.com ".into();
        assert_eq!(
            validate(&i, false).expect("valid").entra_tenant_id,
            "contoso.onmicrosoft.com"
        );
        for bad in ["contoso", "-x.com", "a..b", "x.123", "contoso.onmicrosoft.com/evil"] {
            i.entra_tenant_id = bad.into();
            assert!(validate(&i, false).is_err(), "{bad}");
        }
        i.client_id = "nope".into();
        i.cloud = "mars".into();
        let all = problems(&i, false, true);
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(all.iter().any(|p| p.contains("client secret")), "{all:?}");
    }

    #[test]
    fn bad_values_get_messages_that_name_the_field() {
        let mut i = input();
        i.client_id = "not-a-guid".into();
        assert!(
            validate(&i, false)
                .err()
                .expect("err")
                .to_string()
                .contains("client id")
        );
        let mut i = input();
        i.cloud = "mars".into();
        assert!(
            validate(&i, false)
                .err()
                .expect("err")
                .to_string()
                .contains("cloud must be")
        );
    }

    #[test]
    fn custom_endpoints_need_the_switch_and_a_clean_url() {
        let mut i = input();
        i.graph_base_url = Some("http://127.0.0.1:9000/".into());
        assert!(
            validate(&i, false)
                .err()
                .expect("err")
                .to_string()
                .contains("PV_ALLOW_CUSTOM_ENDPOINTS")
        );
        assert_eq!(validate(&i, true).expect("ok").graph_base_url, "http://127.0.0.1:9000");
        for bad in ["ftp://x", "https://u:p@x", "https://x/?q=1", "nonsense"] {
            i.graph_base_url = Some(bad.into());
            assert!(validate(&i, true).is_err(), "{bad}");
        }
    }
}
