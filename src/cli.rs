//! The commands other than `serve`: each opens the data directory itself, does one thing,
//! and reports errors on standard error with a non-zero exit code (from `main`).

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::accounts;
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

/// `types`: the supported object types, as a Markdown table or (with `--json`) one JSON array.
pub fn types(json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&crate::graph::catalogue::rows())?);
    } else {
        print!("{}", crate::graph::catalogue::markdown());
    }
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

pub use crate::demo::demo;

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

/// `policyvault sim-graph`: serves until Ctrl-C or SIGTERM.
pub async fn sim_graph(args: crate::config::SimArgs) -> anyhow::Result<()> {
    use crate::sim::SimHandle;
    let faults = crate::sim::state::Faults {
        latency_ms: args.latency_ms,
        throttle_rate: args.throttle_rate,
        retry_after_secs: 1.0,
        unavailable_rate: args.unavailable_rate,
        enforce_limits: args.enforce_limits,
        ..crate::sim::state::Faults::default()
    };
    let sim = SimHandle::start(args.listen, args.seed, faults).await?;
    println!("Graph simulator on {}", sim.base_url());
    for name in ["Contoso Pharma", "Fabrikam Legal"] {
        let t = sim.add_demo_tenant(name, args.policies_per_type);
        println!(
            "  {name}: tenant {} client {} secret {}",
            t.entra_tenant_id, t.client_id, t.client_secret
        );
    }
    println!(
        "  faults: GET/POST {}/_sim/faults · journal: {}/_sim/journal",
        sim.base_url(),
        sim.base_url()
    );
    startup::shutdown_signal().await;
    sim.stop();
    Ok(())
}
