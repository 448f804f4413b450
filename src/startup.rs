//! Building and running the server: used by `serve`, `demo` and every integration test, so
//! tests exercise exactly what production runs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::setup_code::SetupCode;
use crate::auth::throttle::LoginThrottle;
use crate::clock;
use crate::config::ServeArgs;
use crate::db::{Db, sessions, users};
use crate::runs::worker::{self, PoolConfig};
use crate::runs::{Engine, lease};
use crate::schedules::Scheduler;
use crate::secrets::MasterKey;
use crate::web::{
    self,
    state::{AppState, Shared},
};

pub const DB_FILE: &str = "policyvault.db";
/// Held locked (`flock`) by the server using the data directory; holds its pid.
pub const LOCK_FILE: &str = "policyvault.lock";
const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(600);
/// On SIGTERM, in-flight items get this long to finish; the rest is left to recovery.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct App {
    listener: TcpListener,
    /// Released when the server has stopped (or the app is dropped unstarted).
    lock: DataDirLock,
    pub state: AppState,
    /// Cancel to stop the server gracefully (tests, signals).
    pub shutdown: CancellationToken,
}

/// Opens the database in `data_dir` (creating the directory and the master key on first
/// start). Shared by the server and the command-line tools.
pub fn open_data_dir(data_dir: &Path, master_key: Option<&str>) -> anyhow::Result<(Db, MasterKey)> {
    prepare_data_dir(data_dir)?;
    open_prepared(data_dir, master_key)
}

fn open_prepared(data_dir: &Path, master_key: Option<&str>) -> anyhow::Result<(Db, MasterKey)> {
    let key = MasterKey::load_or_create(data_dir, master_key)?;
    let db = Db::open(&data_dir.join(DB_FILE))?;
    Ok((db, key))
}

/// Creates the directory (owner only) if needed and checks that it takes writes, so a
/// read-only one is one clear sentence instead of a pool timeout per connection.
fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(data_dir)
        .with_context(|| format!("could not create the data directory {}", data_dir.display()))?;
    let probe = data_dir.join(format!(".write-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            anyhow::bail!(
                "the data directory {} is read-only; make it writable for this user (uid of the server) or point --data-dir / PV_DATA_DIR at a writable one",
                data_dir.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("could not write in the data directory {}", data_dir.display())),
    }
}

/// The exclusive lock on a data directory: two servers on one database would both resume
/// the same runs and both run the scheduler. The kernel drops the lock when the process
/// ends, however it ends.
pub struct DataDirLock {
    _file: std::fs::File,
}

pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    use std::io::{Read, Seek, Write};
    let path = data_dir.join(LOCK_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("could not open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.seek(std::io::SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            Ok(DataDirLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "unknown pid".to_owned(),
                pid => format!("pid {pid}"),
            };
            anyhow::bail!(
                "the data directory {} is in use by another policyvault server ({holder}); stop it first, or give this server its own --data-dir",
                data_dir.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("could not lock the data directory {}", data_dir.display()))
        }
    }
}

impl App {
    pub async fn build(data_dir: &Path, settings: ServeArgs) -> anyhow::Result<App> {
        prepare_data_dir(data_dir)?;
        // Before the key and the database: a second server must not even create a key.
        let lock = lock_data_dir(data_dir)?;
        let (db, key) = open_prepared(data_dir, settings.master_key.as_deref())?;
        let listener = TcpListener::bind(settings.listen).await.with_context(|| {
            format!(
                "could not listen on {} (is another server running there?)",
                settings.listen
            )
        })?;
        let key = Arc::new(key);
        let deps = crate::ops::Deps {
            db: db.clone(),
            key: key.clone(),
            graph: graph_for(&settings),
            allow_custom_endpoints: settings.allow_custom_endpoints,
        };
        let engine = Engine::new(db.clone(), crate::ops::handlers(&deps));
        let scheduler = Scheduler::new(engine.clone(), settings.schedule_min_interval_secs).await?;
        let state = AppState::new(Shared {
            engine,
            scheduler,
            fragments: Arc::default(),
            shown_once: Arc::default(),
            db,
            settings: Arc::new(settings),
            key,
            throttle: Arc::new(LoginThrottle::default()),
            setup_code: SetupCode::generate(),
        });
        Ok(App {
            listener,
            lock,
            state,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.listen)
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let App {
            listener,
            lock,
            state,
            shutdown,
        } = self;
        let address = listener.local_addr().unwrap_or(state.settings.listen);
        announce_setup_code(&state, address).await?;
        tokio::spawn(sweep_sessions(state.clone(), shutdown.clone()));
        let recovered = lease::expire_orphaned_leases(&state.engine).await?;
        if recovered > 0 {
            tracing::warn!(runs = recovered, "resuming runs left running by a previous process");
        }
        let pool = PoolConfig {
            workers: state.settings.workers,
            max_deadline: state.settings.run_deadline_secs.map(Duration::from_secs),
            ..PoolConfig::default()
        };
        let workers = worker::spawn(state.engine.clone(), pool, shutdown.clone());
        let scheduler = state.scheduler.clone();
        let stop_scheduler = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = scheduler.run(stop_scheduler).await {
                tracing::error!(error = %e, "the backup scheduler stopped; scheduled backups will not run until restart");
            }
        });
        let limits = ConnLimits {
            header_timeout: Duration::from_secs(state.settings.header_timeout_secs),
            body_timeout: Duration::from_secs(state.settings.body_timeout_secs),
            per_address: Arc::new(PerAddress::new(
                state.settings.max_connections_per_address,
                state.settings.trusted_proxies.clone(),
            )),
        };
        let app = web::router(state);
        let served = serve_http(listener, app, limits, shutdown.clone()).await;
        // Workers stop claiming at once and finish the item in hand; what is left stays
        // `running` and is resumed by the next start.
        shutdown.cancel();
        if tokio::time::timeout(SHUTDOWN_GRACE, join_all(workers)).await.is_err() {
            tracing::warn!("workers did not stop within the grace period; their runs resume at next start");
        }
        drop(lock);
        served
    }
}

/// What one connection may hold, and for how long.
struct ConnLimits {
    header_timeout: Duration,
    body_timeout: Duration,
    per_address: Arc<PerAddress>,
}

/// Open connections per client address, so one client cannot take every socket and task
/// (100 trickling connections held 190 MB before bodies had a deadline). Trusted proxies
/// are not counted: they carry everyone's connections.
struct PerAddress {
    max: u32,
    exempt: crate::client_addr::TrustedProxies,
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, u32>>,
}

/// One admitted connection; gives its slot back when dropped.
struct Slot {
    of: Arc<PerAddress>,
    ip: Option<std::net::IpAddr>,
}

impl PerAddress {
    fn new(max: u32, exempt: crate::client_addr::TrustedProxies) -> PerAddress {
        PerAddress {
            max,
            exempt,
            open: std::sync::Mutex::default(),
        }
    }

    fn admit(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<Slot> {
        let ip = ip.to_canonical();
        if crate::client_addr::is_trusted_proxy(ip, &self.exempt) {
            return Some(Slot {
                of: self.clone(),
                ip: None,
            });
        }
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            of: self.clone(),
            ip: Some(ip),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut open = self.of.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// The accept loop: axum's router on hyper's HTTP/1 connections with a header-read timeout
/// (`axum::serve` sets none, so a client that sends half a header, or connects and sends
/// nothing, held a connection forever). Hyper starts that timer whenever it waits for a
/// request head, so it also closes keep-alive connections idle between requests; a
/// streaming answer (SSE) is not waiting for a head and is not affected. Request bodies get
/// their own deadline (`web::deadline`), and each client address a bounded number of open
/// connections: one over it is closed at once. On shutdown, stops accepting, asks every
/// connection to finish its request in flight, and waits for them.
async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service;
    // Every connection task holds a sender; all dropped = all connections closed.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    let header_timeout = limits.header_timeout;
    loop {
        let (stream, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(slot) = limits.per_address.admit(remote.ip()) else {
            tracing::debug!(address = %remote.ip(), "closed a connection over the per-address limit");
            drop(stream);
            continue;
        };
        let router = app.clone();
        let body_timeout = limits.body_timeout;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
            let mut router = router.clone();
            let req = req.map(|body| axum::body::Body::new(web::deadline::DeadlineBody::new(body, body_timeout)));
            async move { router.call(req).await }
        });
        let (stop, open) = (shutdown.clone(), open_tx.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let _slot = slot;
            let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection closed with an error");
                    }
                }
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            drop(open);
        });
    }
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// While no account exists, the setup page asks for the code: it goes to the log, which only
/// whoever runs the server reads. Here, not in `build`: the demo creates its admin between
/// the two, and a newcomer must not be shown a code nobody needs.
async fn announce_setup_code(state: &AppState, address: SocketAddr) -> anyhow::Result<()> {
    if state.db.read(users::count).await? > 0 {
        return Ok(());
    }
    let base = match &state.settings.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None if address.ip().is_unspecified() => format!("http://localhost:{}", address.port()),
        None => format!("http://{address}"),
    };
    tracing::warn!(
        setup_code = %state.setup_code.reveal(),
        "no account exists yet: open {base}/setup and enter the setup_code of this line to create the first administrator (or run `policyvault user add --superadmin`); every start makes a new code"
    );
    Ok(())
}

async fn join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

fn graph_for(settings: &ServeArgs) -> crate::graph::Graph {
    let retry = crate::graph::client::RetryPolicy {
        max_attempts: settings.graph_max_attempts.max(1),
        base_delay: Duration::from_millis(settings.graph_backoff_ms),
        ..crate::graph::client::RetryPolicy::default()
    };
    crate::graph::Graph::new(
        retry,
        crate::graph::limiter::Limits::within_percent(settings.graph_limit_percent),
    )
}

/// Deletes expired sessions now and then, so the table does not grow forever.
async fn sweep_sessions(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SESSION_SWEEP_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let idle = Utc::now() - chrono::Duration::minutes(i64::from(state.settings.session_idle_minutes));
        let absolute = Utc::now() - chrono::Duration::hours(i64::from(state.settings.session_max_hours));
        let (idle, absolute) = (clock::format_time(idle), clock::format_time(absolute));
        if let Err(e) = state
            .db
            .write(move |tx| sessions::delete_expired(tx, &idle, &absolute))
            .await
        {
            tracing::warn!(error = %e, "could not sweep expired sessions");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
