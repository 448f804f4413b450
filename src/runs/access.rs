//! Loading a run for a caller in a tenant (403/404 as for every tenant object).

use crate::auth::tenant_guard::{TenantAccess, check_owner};
use crate::db::Db;
use crate::db::runs::{self, Run};
use crate::error::AppError;

pub async fn load_run(db: &Db, access: &TenantAccess, run_id: &str) -> Result<Run, AppError> {
    let id = run_id.to_owned();
    let run = db.read(move |c| runs::get(c, &id)).await?;
    check_owner(db, access, run.as_ref().map(|r| r.tenant_id.clone()), "run").await?;
    run.ok_or_else(|| AppError::not_found("run"))
}
