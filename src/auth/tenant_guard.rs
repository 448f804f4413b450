//! The one place that decides whether a caller may touch a tenant.
//!
//! [`guard`] is a `route_layer` on the `/t/{tenant}` page router and the
//! `/api/v1/tenants/{tid}` router, so every route added there is guarded without anyone
//! remembering to: it loads the caller's membership and puts a [`TenantAccess`] into the
//! request, or answers 403. Handlers then ask `access.require(Role::Operator)?`.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use super::caller::Caller;
use super::role::Role;
use crate::db::Db;
use crate::db::tenants::Tenant;
use crate::db::{memberships, tenants};
use crate::error::AppError;

/// Path parameters that name a tenant.
pub const TENANT_PARAMS: [&str; 2] = ["tenant", "tid"];

#[derive(Debug, Clone)]
pub struct TenantAccess {
    pub tenant: Tenant,
    /// The caller's effective role ([`Role::effective`]): `Owner` for a superadmin, whatever
    /// their membership says; their membership's role for everyone else.
    pub role: Role,
    pub caller: Caller,
}

impl TenantAccess {
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role in {}; you are {}",
                needed.as_str(),
                self.tenant.name,
                self.role.as_str()
            )))
        }
    }
}

pub async fn guard(
    State(db): State<Db>,
    params: RawPathParams,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let caller = req
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(AppError::Unauthorized)?;
    let tenant_id = params
        .iter()
        .find(|(k, _)| TENANT_PARAMS.contains(k))
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("tenant guard on a route without a tenant parameter")))?;
    let user_id = caller.user.id.clone();
    let (tenant, role) = db
        .read_now(move |c| {
            Ok((
                tenants::get(c, &tenant_id)?,
                memberships::role_of(c, &user_id, &tenant_id)?,
            ))
        })
        .await?;
    let role = Role::effective(caller.user.superadmin, role.as_deref());
    let access = match (tenant, role) {
        (Some(tenant), Some(role)) => TenantAccess { tenant, role, caller },
        // Only a superadmin learns that a tenant does not exist; others cannot probe ids.
        (None, _) if caller.user.superadmin => return Err(AppError::not_found("tenant")),
        _ => return Err(AppError::forbidden()),
    };
    req.extensions_mut().insert(access);
    Ok(next.run(req).await)
}

/// Refuses a caller without `needed` before the handler reads the body (see
/// `Routes::post_large_as`); runs inside [`guard`], which put the access in.
pub async fn require_before_body(needed: Role, req: Request, next: Next) -> Result<Response, AppError> {
    let access = req
        .extensions()
        .get::<TenantAccess>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a role check outside the tenant guard")))?;
    access.require(needed)?;
    Ok(next.run(req).await)
}

/// 403 when the object belongs to a tenant the caller is not in; 404 when it does not exist
/// or belongs to another tenant the caller may see.
pub async fn check_owner(
    db: &crate::db::Db,
    access: &TenantAccess,
    owner_tenant: Option<String>,
    what: &str,
) -> Result<(), AppError> {
    match owner_tenant {
        Some(t) if t == access.tenant.id => Ok(()),
        Some(t) => {
            let user_id = access.caller.user.id.clone();
            let member = db.read(move |c| memberships::role_of(c, &user_id, &t)).await?.is_some();
            if member || access.caller.user.superadmin {
                Err(AppError::NotFound(format!("no such {what} in this tenant")))
            } else {
                Err(AppError::forbidden())
            }
        }
        None => Err(AppError::not_found(what)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TenantAccess>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("TenantAccess used on a route outside the tenant guard")))
    }
}
