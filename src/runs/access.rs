//! Loading a run for a caller in a tenant: another tenant's run answers 403 (unless the
//! caller may see that tenant, in which case the path was simply wrong: 404).

use crate::auth::tenant_guard::TenantAccess;
use crate::db::runs::{self, Run};
use crate::db::{Db, memberships};
use crate::error::AppError;

pub async fn load_run(db: &Db, access: &TenantAccess, run_id: &str) -> Result<Run, AppError> {
    let (id, user_id) = (run_id.to_owned(), access.caller.user.id.clone());
    let found = db
        .read(move |c| {
            let Some(run) = runs::get(c, &id)? else { return Ok(None) };
            let member_of_owner = memberships::role_of(c, &user_id, &run.tenant_id)?.is_some();
            Ok(Some((run, member_of_owner)))
        })
        .await?;
    match found {
        Some((run, _)) if run.tenant_id == access.tenant.id => Ok(run),
        Some((_, member)) if member || access.caller.user.superadmin => Err(AppError::not_found("run in this tenant")),
        Some(_) => Err(AppError::forbidden()),
        None => Err(AppError::not_found("run")),
    }
}
