//! The real `policyvault serve` binary as a child process on loopback, with a superadmin, an
//! API token and a browser session prepared in its data directory before it starts. A child
//! process keeps the server's memory apart from the simulator's and the clients' (which run
//! in the bench process), so its RSS is the server's alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use policyvault::sim::{SimHandle, SimTenantInfo};
use serde_json::{Value, json};

pub struct Server {
    child: Child,
    pub base: String,
    pub token: String,
    /// `pv_session=...`, for pages and event streams (they take cookies, not tokens).
    pub cookie: String,
    pub dir: PathBuf,
    pub http: reqwest::Client,
}

/// `target/release/policyvault` next to this bench binary. Under `cargo run` (or when the
/// binary is missing) it is built first, once per bench process, so that
/// `cargo run --release --bin bench -- all` is the whole recipe.
pub fn binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let bin = std::env::current_exe()?.with_file_name("policyvault");
    let cargo = std::env::var("CARGO").ok();
    let ok = *BUILT.get_or_init(|| {
        if cargo.is_none() && bin.exists() {
            return true;
        }
        let cargo = cargo.unwrap_or_else(|| "cargo".to_owned());
        Command::new(cargo)
            .args(["build", "--quiet", "--release", "--bin", "policyvault"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok || !bin.exists() {
        bail!("could not build {}", bin.display());
    }
    Ok(bin)
}

pub fn temp_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pv-bench-{label}-{}", policyvault::clock::new_id()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `policyvault serve` on `dir` and waits until `/healthz` answers.
/// The bench's superadmin in `db`, and an API token for it.
pub async fn bench_admin(db: &policyvault::db::Db) -> anyhow::Result<(policyvault::db::users::User, String)> {
    let user = policyvault::accounts::create_user(
        db,
        "bench@msp.test",
        "bench password 123".to_owned().into(),
        true,
        "bench",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = policyvault::accounts::create_token(db, &user, "bench", "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((user, token))
}

/// The server's own default (`PV_WORKERS`), so figures describe what users run.
pub const DEFAULT_WORKERS: usize = 128;

pub fn spawn(dir: &Path, workers: usize) -> anyhow::Result<(Child, String)> {
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("server.log"))?;
    let mut child = Command::new(binary()?)
        .args(["--data-dir", &dir.to_string_lossy(), "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--workers", &workers.to_string()])
        .env_remove("PV_MASTER_KEY")
        .env_remove("PV_DATA_DIR")
        .env_remove("PV_LISTEN")
        .env("PV_ALLOW_CUSTOM_ENDPOINTS", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("could not start the server binary")?;
    let base = format!("http://127.0.0.1:{port}");
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                return Ok((child, base));
            }
        }
        if Instant::now() > until || child.try_wait()?.is_some() {
            let _ = child.kill();
            bail!(
                "the server did not answer /healthz (log: {})",
                dir.join("server.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (VmRSS, VmHWM) of a process in bytes.
pub fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / (1024.0 * 1024.0);
    format!("{m:.1} MiB")
}

impl Server {
    pub async fn start(workers: usize) -> anyhow::Result<Server> {
        let dir = temp_dir("server");
        let (token, cookie) = {
            let (db, _) = policyvault::startup::open_data_dir(&dir, None)?;
            let (user, token) = bench_admin(&db).await?;
            let session = policyvault::auth::session::create(&db, &user.id, Some("bench".into())).await?;
            (token, format!("{}={session}", policyvault::auth::session::COOKIE))
        };
        let (child, base) = spawn(&dir, workers)?;
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        Ok(Server {
            child,
            base,
            token,
            cookie,
            dir,
            http,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> (u64, u64) {
        memory_of(self.pid())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path}: {status} {v}");
        }
        Ok(v)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self.http.get(self.url(path)).bearer_auth(&self.token).send().await?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {path}: {status} {v}");
        }
        Ok(v)
    }

    /// The server's database writes and commits so far (`/metrics`), to take differences of.
    pub async fn writes(&self) -> anyhow::Result<[u64; 2]> {
        let text = self
            .http
            .get(self.url("/metrics"))
            .bearer_auth(&self.token)
            .send()
            .await?
            .text()
            .await?;
        let counter = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok([
            counter("policyvault_db_writes_total "),
            counter("policyvault_db_commits_total "),
        ])
    }

    /// Creates a tenant that points at a new simulated tenant with `per_type` policies of
    /// every supported type; returns our tenant id.
    pub async fn sim_tenant(
        &self,
        sim: &SimHandle,
        name: &str,
        per_type: usize,
    ) -> anyhow::Result<(String, SimTenantInfo)> {
        let t = sim.add_tenant(name, per_type);
        self.register(sim, name, t).await
    }

    /// Registers a simulated tenant as a policyvault tenant; returns its id.
    pub async fn register(
        &self,
        sim: &SimHandle,
        name: &str,
        t: SimTenantInfo,
    ) -> anyhow::Result<(String, SimTenantInfo)> {
        let created = self
            .post(
                "/api/v1/tenants",
                &json!({"name": name, "entra_tenant_id": t.entra_tenant_id, "client_id": t.client_id,
                        "client_secret": t.client_secret, "cloud": "global",
                        "graph_base_url": sim.base_url(), "login_base_url": sim.base_url()}),
            )
            .await?;
        let id = created["id"].as_str().context("tenant id")?.to_owned();
        Ok((id, t))
    }

    /// Starts a run at `path` (a POST answering `{run}`) and returns its id.
    pub async fn start_run(&self, path: &str, body: &Value) -> anyhow::Result<String> {
        let started = self.post(path, body).await?;
        Ok(started["run"]["id"].as_str().context("run id")?.to_owned())
    }

    /// Polls until the run is finished; returns it.
    pub async fn wait_run(&self, tid: &str, rid: &str) -> anyhow::Result<Value> {
        loop {
            let run = self.get(&format!("/api/v1/tenants/{tid}/runs/{rid}")).await?;
            if matches!(run["status"].as_str(), Some("succeeded" | "failed" | "partial")) {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn sync(&self, tid: &str) -> anyhow::Result<Value> {
        let rid = self
            .start_run(&format!("/api/v1/tenants/{tid}/sync"), &json!({}))
            .await?;
        self.wait_run(tid, &rid).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Seconds between two of the server's timestamps (`created_at`, `finished_at`, …).
pub fn secs_between(from: &Value, to: &Value) -> f64 {
    let parse = |v: &Value| v.as_str().and_then(policyvault::clock::parse_time);
    match (parse(from), parse(to)) {
        #[allow(clippy::cast_precision_loss)]
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    }
}

/// Wall time of a finished run: from its creation (the start request) to its end.
pub fn run_secs(run: &Value) -> f64 {
    secs_between(&run["created_at"], &run["finished_at"])
}

/// One page fetched `requests` times in a row with the signed-in session: the sorted
/// durations and the page's size in bytes.
pub async fn time_page(
    server: &Server,
    url: &str,
    requests: usize,
) -> anyhow::Result<(Vec<std::time::Duration>, usize)> {
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for _ in 0..requests {
        let started = std::time::Instant::now();
        let res = server.http.get(url).header("cookie", &server.cookie).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        times.push(started.elapsed());
        if !status.is_success() {
            anyhow::bail!("GET {url}: {status}");
        }
        bytes = body.len();
    }
    times.sort();
    Ok((times, bytes))
}

/// The table of `time_page` results: p50, p95, max and size per page.
pub fn print_page_rows(rows: &[(&str, Vec<std::time::Duration>, usize)]) {
    println!("| page | p50 | p95 | max | page size |");
    println!("|---|---|---|---|---|");
    for (what, times, bytes) in rows {
        println!(
            "| {what} | {} | {} | {} | {} KiB |",
            crate::ms(crate::percentile(times, 0.5)),
            crate::ms(crate::percentile(times, 0.95)),
            crate::ms(times.last().copied().unwrap_or_default()),
            bytes / 1024
        );
    }
}
