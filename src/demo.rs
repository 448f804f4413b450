//! `policyvault demo`: the server and the Graph simulator with two demo tenants, a demo
//! admin, the inventory synced and a first backup taken. Afterwards a few policies of the
//! first tenant change "in the portal", so "Check drift" and a restore have something to show.

use std::io::Write;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::accounts;
use crate::cli::run_with_signals;
use crate::config::ServeArgs;
use crate::db::users;
use crate::runs::Engine;
use crate::sim::SimHandle;
use crate::startup::App;

/// `demo`: a fresh data directory (unless one is given), the Graph simulator with two demo
/// tenants, a demo admin, and an inventory sync and a first backup already started.
pub async fn demo(data_dir: Option<PathBuf>, mut settings: ServeArgs) -> anyhow::Result<()> {
    let dir = match data_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("policyvault-demo-{}", crate::clock::new_id())),
    };
    settings.allow_custom_endpoints = true;
    let sim = crate::sim::SimHandle::start(
        "127.0.0.1:0".parse()?,
        49,
        crate::sim::state::Faults {
            latency_ms: 40,
            ..Default::default()
        },
    )
    .await?;
    let app = App::build(&dir, settings).await?;
    let email = "admin@demo.local";
    let password = crate::auth::token::generate("demo-");
    let existing = {
        let e = email.to_owned();
        app.state.db.read(move |c| users::find_by_email(c, &e)).await?
    };
    let admin = match existing {
        Some(u) => {
            // An existing demo directory: keep its data, give the admin a fresh password.
            accounts::reset_password(
                &app.state.db,
                &u.id,
                SecretString::from(password.clone()),
                false,
                "demo",
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            u
        }
        None => accounts::create_user(&app.state.db, email, SecretString::from(password.clone()), true, "demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    seed_demo_tenants(&app, &sim, &admin).await?;
    let addr = app.local_addr();
    let banner = format!(
        "\n  policyvault demo is running\n  open      http://{addr}/\n  sign in   {email} / {password}\n  graph     simulator at {} (two demo tenants)\n  try       Contoso Pharma → Check drift: after its first backup, two policies changed and one was deleted in the portal\n  data dir  {}\n  stop      Ctrl-C\n",
        sim.base_url(),
        dir.display()
    );
    // A closed stdout (the reader went away) must not take the server down: no `println!`.
    let _ = writeln!(std::io::stdout(), "{banner}");
    run_with_signals(app).await
}

/// Points two tenants at the simulator (its port changes every start) and starts a sync and
/// a first backup of each, so the first page a newcomer sees is already populated.
async fn seed_demo_tenants(app: &App, sim: &crate::sim::SimHandle, admin: &users::User) -> anyhow::Result<()> {
    use crate::auth::caller::{Caller, Via};
    use crate::auth::role::Role;
    use crate::auth::tenant_guard::TenantAccess;
    let db = &app.state.db;
    for name in ["Contoso Pharma", "Fabrikam Legal"] {
        let t = sim.add_demo_tenant(name, 6);
        let input = crate::tenants::TenantInput {
            name: name.to_owned(),
            entra_tenant_id: t.entra_tenant_id.clone(),
            client_id: t.client_id.clone(),
            client_secret: Some(SecretString::from(t.client_secret.clone())),
            cloud: "global".into(),
            graph_base_url: Some(sim.base_url()),
            login_base_url: Some(sim.base_url()),
        };
        let lookup = name.to_owned();
        let existing = db
            .read(move |c| Ok(crate::db::tenants::list_all(c)?.into_iter().find(|x| x.name == lookup)))
            .await?;
        let tenant = match existing {
            Some(current) => crate::tenants::update(db, &app.state.key, &current, input, true, "demo").await,
            None => crate::tenants::create(db, &app.state.key, input, true, "demo").await,
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let access = TenantAccess {
            tenant,
            role: Role::Owner,
            caller: Caller {
                user: admin.clone(),
                via: Via::ApiToken {
                    token_id: "demo".into(),
                },
            },
        };
        let sync = crate::ops::starts::sync(&app.state.engine, &access)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let drift = (name == "Contoso Pharma").then(|| (sim.clone(), t.entra_tenant_id.clone()));
        tokio::spawn(first_backup(app.state.engine.clone(), access, sync.run.id, drift));
    }
    Ok(())
}

/// The first backup needs the inventory: it starts when the sync has finished. Then, for
/// the tenant given in `drift`, a few policies change behind our back.
async fn first_backup(
    engine: Engine,
    access: crate::auth::tenant_guard::TenantAccess,
    sync_run: String,
    drift: Option<(SimHandle, String)>,
) {
    use crate::runs::wait::finished;
    // The simulator answers a demo tenant in seconds; two minutes is a wide margin.
    let at_most = std::time::Duration::from_secs(120);
    if finished(&engine, &sync_run, at_most).await.is_none() {
        return;
    }
    // A demo started again on the same data dir keeps its first backup.
    let tid = access.tenant.id.clone();
    let sets = engine.db.read(move |c| crate::db::backups::list(c, &tid)).await;
    if sets.is_ok_and(|sets| !sets.is_empty()) {
        return;
    }
    let started = match crate::ops::starts::backup(&engine, &access, "First backup (demo)", None).await {
        Ok((_, started)) => started,
        Err(e) => {
            tracing::warn!(error = %e, "demo: could not start the first backup");
            return;
        }
    };
    if let Some((sim, entra_id)) = drift
        && finished(&engine, &started.run.id, at_most).await.is_some()
    {
        drift_in_the_portal(&sim, &entra_id);
    }
}

/// Two policies edited and one deleted, as an admin in the Intune portal might.
fn drift_in_the_portal(sim: &SimHandle, entra_id: &str) {
    let first = |collection: &str| {
        let mut all = sim.objects(entra_id, collection);
        all.sort_by(|a, b| a["displayName"].as_str().cmp(&b["displayName"].as_str()));
        all.first().and_then(|o| o["id"].as_str()).map(str::to_owned)
    };
    if let Some(id) = first("deviceManagement/deviceConfigurations") {
        sim.edit_object(entra_id, "deviceManagement/deviceConfigurations", &id, |o| {
            o["passwordMinimumLength"] = serde_json::json!(4);
            o["description"] = serde_json::json!("Shortened during a support call");
        });
    }
    if let Some(id) = first("deviceManagement/deviceCompliancePolicies") {
        sim.edit_object(entra_id, "deviceManagement/deviceCompliancePolicies", &id, |o| {
            o["description"] = serde_json::json!("Edited in the portal");
        });
    }
    if let Some(id) = first("deviceManagement/deviceManagementScripts") {
        sim.delete_object(entra_id, "deviceManagement/deviceManagementScripts", &id);
    }
}
