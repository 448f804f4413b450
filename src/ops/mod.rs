//! Run kinds: one file per kind, each a `RunHandler` for the engine in `runs/`.

pub mod backup;
pub mod backup_rerun;
pub mod backup_start;
pub mod capture;
pub mod conditional_access;
pub mod directory;
pub mod drift_check;
pub mod drift_start;
pub mod listing;
pub mod prefetch;
pub mod references;
pub mod restore;
pub mod restore_plan;
pub mod sealing;
pub mod setting_definitions;
pub mod snapshot;
pub mod starts;
pub mod sync;
pub mod verify;

use std::sync::Arc;

use serde_json::json;

use crate::db::{Db, tenants};
use crate::graph::{ErrorCode, Graph, GraphReader, GraphWriter, TenantConnection};
use crate::runs::handler::{RunFailure, RunHandler};
use crate::secrets::MasterKey;

/// What run kinds need: the database, the key that opens tenant secrets, and Graph.
#[derive(Clone)]
pub struct Deps {
    pub db: Db,
    pub key: Arc<MasterKey>,
    pub graph: Graph,
    /// `PV_ALLOW_CUSTOM_ENDPOINTS`, checked again at use (see `connection`).
    pub allow_custom_endpoints: bool,
}

impl Deps {
    /// Seals and opens the secret values captured from this tenant.
    pub fn sealer(&self, tenant_id: &str) -> sealing::Sealer {
        sealing::Sealer {
            key: self.key.clone(),
            tenant_id: tenant_id.to_owned(),
        }
    }

    /// The one place a tenant's client secret is opened: into the token request's connection.
    async fn connection(&self, tenant_id: &str) -> Result<TenantConnection, RunFailure> {
        let id = tenant_id.to_owned();
        let found = self
            .db
            .read(move |c| Ok((tenants::get(c, &id)?, tenants::sealed_secret(c, &id)?)))
            .await
            .map_err(|_| failure(ErrorCode::Internal))?;
        let (Some(t), Some(sealed)) = found else {
            return Err(failure(ErrorCode::Internal));
        };
        // The guard on save is not enough: a tenant saved while custom endpoints were
        // allowed keeps its URLs after a restart without the flag. Check before the secret
        // is opened.
        if !self.allow_custom_endpoints && crate::tenants::uses_custom_endpoints(&t) {
            return Err(RunFailure {
                code: ErrorCode::AuthFailed,
                context: crate::graph::error::safe_context(
                    &json!({"reason": crate::tenants::CUSTOM_ENDPOINTS_DISABLED}),
                ),
            });
        }
        let secret = self
            .key
            .open(&sealed, &t.id)
            .map_err(|_| failure(ErrorCode::AuthFailed))?;
        Ok(TenantConnection {
            login_base_url: t.login_base_url,
            graph_base_url: t.graph_base_url,
            entra_tenant_id: t.entra_tenant_id,
            client_id: t.client_id,
            client_secret: secret,
        })
    }

    /// A tenant saved with its domain (`contoso.onmicrosoft.com`) in place of its tenant id
    /// gets its id here, from Entra's discovery document (no secret is sent); the tenant row
    /// then holds the id, and an audit event linked to the run says so.
    pub async fn resolve_domain(&self, tenant_id: &str, run_id: &str) -> Result<(), RunFailure> {
        let id = tenant_id.to_owned();
        let t = self
            .db
            .read(move |c| tenants::get(c, &id))
            .await
            .map_err(|_| failure(ErrorCode::Internal))?
            .ok_or_else(|| failure(ErrorCode::Internal))?;
        if crate::tenants::is_guid(&t.entra_tenant_id) {
            return Ok(());
        }
        if !self.allow_custom_endpoints && crate::tenants::uses_custom_endpoints(&t) {
            return Err(RunFailure {
                code: ErrorCode::AuthFailed,
                context: crate::graph::error::safe_context(
                    &json!({"reason": crate::tenants::CUSTOM_ENDPOINTS_DISABLED}),
                ),
            });
        }
        let guid = self
            .graph
            .resolve_domain(&t.login_base_url, &t.entra_tenant_id)
            .await
            .map_err(|e| RunFailure {
                code: e.code,
                context: e.context,
            })?;
        let (run_id, domain) = (run_id.to_owned(), t.entra_tenant_id.clone());
        self.db
            .write(move |tx| {
                tenants::set_entra_tenant_id(tx, &t.id, &domain, &guid, &crate::clock::now())?;
                crate::audit::record(
                    tx,
                    &crate::audit::Event {
                        tenant_id: Some(&t.id),
                        actor: "system",
                        action: "tenant.domain_resolved",
                        run_id: Some(&run_id),
                        details: json!({"domain": domain, "entra_tenant_id": guid}),
                    },
                )
            })
            .await
            .map_err(|_| failure(ErrorCode::Internal))
    }

    /// A read-only handle whose credentials were just checked: a wrong secret fails the
    /// whole run once, instead of every item.
    pub async fn reader(&self, tenant_id: &str) -> Result<GraphReader, RunFailure> {
        let reader = self.graph.reader(self.connection(tenant_id).await?);
        reader.check_credentials().await.map_err(|e| RunFailure {
            code: e.code,
            context: e.context,
        })?;
        Ok(reader)
    }

    pub async fn writer(&self, tenant_id: &str) -> Result<GraphWriter, RunFailure> {
        let writer = self.graph.writer(self.connection(tenant_id).await?);
        writer.reader().check_credentials().await.map_err(|e| RunFailure {
            code: e.code,
            context: e.context,
        })?;
        Ok(writer)
    }
}

fn failure(code: ErrorCode) -> RunFailure {
    RunFailure {
        code,
        context: json!({}),
    }
}

/// Every run kind this build can execute.
pub fn handlers(deps: &Deps) -> Vec<Arc<dyn RunHandler>> {
    vec![
        Arc::new(verify::Verify(deps.clone())),
        Arc::new(sync::Sync(deps.clone())),
        Arc::new(snapshot::Snapshot(deps.clone())),
        Arc::new(backup::Backup(deps.clone())),
        Arc::new(restore::Preview(deps.clone())),
        Arc::new(drift_check::DriftCheck(deps.clone())),
        Arc::new(restore::Execute(deps.clone(), restore::EXECUTE)),
        Arc::new(restore::Execute(deps.clone(), restore::RERUN)),
    ]
}
