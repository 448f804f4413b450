//! The commands other than `serve`: each opens the data directory itself, does one thing,
//! and reports errors on standard error with a non-zero exit code (from `main`).

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::accounts;
use crate::config::ServeArgs;
use crate::db::users;
use crate::startup::{self, App};

/// `user add`: the password comes from standard input (first line), never from argv, where
/// other users of the machine could read it.
pub async fn user_add(data_dir: &Path, email: &str, superadmin: bool) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!(
            "no password on standard input; pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | policyvault user add --email ...`"
        );
    }
    let (db, _) = startup::open_data_dir(data_dir, std::env::var("PV_MASTER_KEY").ok().as_deref())?;
    let user = accounts::create_user(&db, email, SecretString::from(password), superadmin, "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "created user {} ({})",
        user.email,
        if user.superadmin { "superadmin" } else { "user" }
    );
    Ok(())
}

/// `token create`: prints the token and nothing else, so scripts can capture it.
pub async fn token_create(data_dir: &Path, email: &str, name: &str) -> anyhow::Result<()> {
    let (db, _) = startup::open_data_dir(data_dir, std::env::var("PV_MASTER_KEY").ok().as_deref())?;
    let wanted = accounts::normalize_email(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let lookup = wanted.clone();
    let Some(user) = db.read(move |c| users::find_by_email(c, &lookup)).await? else {
        bail!("no user with email {wanted}; create one with `policyvault user add --email {wanted}`");
    };
    if user.disabled {
        bail!("the user {wanted} is disabled; enable them first");
    }
    let token = accounts::create_token(&db, &user, name, "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{token}");
    Ok(())
}

/// `db backup FILE`: a consistent copy, also while the server runs.
pub async fn db_backup(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!(
            "{} already exists; choose a new file name (a backup never overwrites)",
            file.display()
        );
    }
    let db_path = data_dir.join(startup::DB_FILE);
    if !db_path.exists() {
        bail!("no database at {}; check --data-dir / PV_DATA_DIR", db_path.display());
    }
    let db = crate::db::Db::open(&db_path)?;
    db.backup_to(file)
        .await
        .with_context(|| format!("could not write the backup to {}", file.display()))?;
    eprintln!("backed up {} to {}", db_path.display(), file.display());
    Ok(())
}

/// `healthcheck`: exit 0 when the local server answers `/healthz`.
pub async fn healthcheck(listen: SocketAddr) -> anyhow::Result<()> {
    // A server bound to all interfaces is reached on loopback.
    let host = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!("http://{}/healthz", SocketAddr::new(host, listen.port()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
    let res = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    if !res.status().is_success() {
        bail!("{url} answered {}", res.status());
    }
    Ok(())
}

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
            accounts::reset_password(&app.state.db, &u.id, SecretString::from(password.clone()), "demo")
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
        "\n  policyvault demo is running\n  open      http://{addr}/\n  sign in   {email} / {password}\n  graph     simulator at {} (two demo tenants)\n  data dir  {}\n  stop      Ctrl-C\n",
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
        let t = sim.add_tenant(name, 6);
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
        // The first backup needs the inventory: start it when the sync has finished.
        let engine = app.state.engine.clone();
        tokio::spawn(async move {
            for _ in 0..600 {
                let id = sync.run.id.clone();
                match engine.db.read(move |c| crate::db::runs::get(c, &id)).await {
                    Ok(Some(r)) if r.is_terminal() => {
                        // A demo started again on the same data dir keeps its first backup.
                        let tid = access.tenant.id.clone();
                        let has_backup = engine.db.read(move |c| crate::db::backups::list(c, &tid)).await;
                        if has_backup.is_ok_and(|sets| !sets.is_empty()) {
                            return;
                        }
                        if let Err(e) = crate::ops::starts::backup(&engine, &access, "First backup (demo)", None).await
                        {
                            tracing::warn!(error = %e, "demo: could not start the first backup");
                        }
                        return;
                    }
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                    Err(_) => return,
                }
            }
        });
    }
    Ok(())
}

/// Runs until Ctrl-C or SIGTERM.
pub async fn run_with_signals(app: App) -> anyhow::Result<()> {
    let stop = app.shutdown.clone();
    tokio::spawn(async move {
        startup::shutdown_signal().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        stop.cancel();
    });
    app.run_until_stopped().await
}
