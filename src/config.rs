//! The command line. Every option is also a `PV_*` environment variable, so the container
//! can be configured without a command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "policyvault",
    version,
    about = "Back up, compare and restore Intune configuration"
)]
pub struct Cli {
    /// Where the database and the master key live.
    #[arg(long, env = "PV_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// `text` for people, `json` for log shippers.
    #[arg(long, env = "PV_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server with the Graph simulator and two demo tenants (synced and backed up),
    /// in a fresh data directory unless `--data-dir` is given; prints the URL and the login.
    Demo(ServeArgs),
    /// Run the Graph simulator alone (for trying policyvault without Microsoft tenants).
    SimGraph(SimArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// List the supported object types: what is backed up, restored, and the Graph permission
    /// each needs.
    Types {
        /// One JSON array, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when the local server answers `/healthz` (used by the container's HEALTHCHECK).
    Healthcheck {
        #[arg(long, env = "PV_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        superadmin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for the user, and nothing else.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Write a consistent copy of the database to FILE, also while the server runs.
    Backup { file: PathBuf },
}

/// Everything the server needs beyond the data directory.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PV_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Worker tasks that run Graph operations. A run holds one while it waits on its
    /// tenant's Graph limits, so this is how many tenants make progress at once; an idle
    /// worker is a parked task and costs next to nothing.
    #[arg(long, env = "PV_WORKERS", default_value_t = 128)]
    pub workers: usize,

    /// Mark cookies `Secure`; set it whenever the server is reached over HTTPS.
    #[arg(long, env = "PV_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = parse_flag)]
    pub secure_cookies: bool,

    /// The address people open, e.g. `https://vault.example.com`. Requests naming another
    /// host (`Host` header) are refused with 421, so a web page that rebinds its DNS name to
    /// this server cannot use it through a visitor's browser; localhost, 127.0.0.1 and
    /// [::1] are always answered, and so are `/healthz`, `/readyz` and `/metrics`.
    #[arg(long, env = "PV_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<reqwest::Url>,

    /// Allow tenants with hand-set Graph/login URLs (the demo and the tests need it).
    #[arg(long, env = "PV_ALLOW_CUSTOM_ENDPOINTS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = parse_flag)]
    pub allow_custom_endpoints: bool,

    /// 64 hex characters; overrides the key file in the data directory.
    #[arg(long, env = "PV_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// A session unused this long is ended.
    #[arg(long, env = "PV_SESSION_IDLE_MINUTES", default_value_t = 8 * 60)]
    pub session_idle_minutes: u32,

    /// Attempts per Graph request before giving up (429/503/504 and connection errors retry).
    #[arg(long, env = "PV_GRAPH_MAX_ATTEMPTS", default_value_t = 6)]
    pub graph_max_attempts: u32,

    /// First backoff step in milliseconds when Graph gives no `Retry-After` (doubles, jittered).
    #[arg(long, env = "PV_GRAPH_BACKOFF_MS", default_value_t = 500)]
    pub graph_backoff_ms: u64,

    /// Longest a run may take, in seconds, before it fails with `timeout` (each kind has its
    /// own default; this caps them all).
    #[arg(long, env = "PV_RUN_DEADLINE_SECS")]
    pub run_deadline_secs: Option<u64>,

    /// When set, `/metrics` needs `Authorization: Bearer <this>`; when not, it answers only
    /// direct loopback requests (a proxied one says so in X-Forwarded-For and gets 403).
    #[arg(long, env = "PV_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// A session is ended this long after login, however active.
    #[arg(long, env = "PV_SESSION_MAX_HOURS", default_value_t = 7 * 24)]
    pub session_max_hours: u32,

    /// Share (percent) of Intune's per-tenant limits (1,000 requests and 100 writes per 20 s)
    /// that our pacing may use in any 20 s. Lower it when other tools use the same app
    /// registration in the same tenants.
    #[arg(long, env = "PV_GRAPH_LIMIT_PERCENT", default_value_t = crate::graph::limiter::DEFAULT_PERCENT,
          value_parser = clap::value_parser!(u8).range(10..=100))]
    pub graph_limit_percent: u8,

    /// Seconds a connection may take to send a request's headers, and may sit idle between
    /// requests, before it is closed: half-open and slow-header connections cannot pile up.
    #[arg(long, env = "PV_HEADER_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,

    /// Seconds within which a request's whole body must have arrived (counted from its
    /// headers); a slower one is cut with 408, so trickled bodies cannot hold memory and
    /// connections. Raise it if large imports come over slow links.
    #[arg(long, env = "PV_BODY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,

    /// Open connections one client address may hold at once; further ones are closed as
    /// they arrive. Connections from PV_TRUSTED_PROXIES are not counted (the proxy carries
    /// everyone's).
    #[arg(long, env = "PV_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: u32,

    /// Scheduled backups may fire at most this often (seconds between two triggers), so a
    /// typo such as `* * * * *` cannot spend a tenant's Graph quota every minute.
    #[arg(long, env = "PV_SCHEDULE_MIN_INTERVAL_SECS", default_value_t = 900)]
    pub schedule_min_interval_secs: u64,

    /// Reverse proxies whose `X-Forwarded-For` is believed: comma-separated addresses or
    /// CIDR ranges (`127.0.0.1,10.0.0.0/8`). Only for a connection from one of them, the
    /// client is the rightmost address in that header that is not itself a trusted proxy;
    /// every other connection is its own peer address, whatever it sends. Empty: no proxy.
    #[arg(long, env = "PV_TRUSTED_PROXIES", default_value = "", value_parser = crate::client_addr::parse_list)]
    pub trusted_proxies: crate::client_addr::TrustedProxies,
}

/// Accepts the spellings people use in environment files.
fn parse_flag(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected 1/0, true/false, yes/no or on/off, got {other:?}")),
    }
}

/// An http(s) URL with a host and nothing after it: policyvault serves from the root.
fn parse_public_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s.trim()).map_err(|e| {
        format!("{s:?} is not a URL ({e}); give the address people open, e.g. https://vault.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?} must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host name"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{s:?} must be only scheme, host and port (policyvault serves from the root), e.g. https://vault.example.com"
        ));
    }
    Ok(url)
}

impl ServeArgs {
    /// Settings for tests and embedding: loopback, random port.
    pub fn for_tests() -> ServeArgs {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 2,
            secure_cookies: false,
            public_url: None,
            allow_custom_endpoints: true,
            master_key: None,
            session_idle_minutes: 60,
            session_max_hours: 24,
            metrics_token: None,
            graph_max_attempts: 3,
            run_deadline_secs: None,
            graph_backoff_ms: 10,
            schedule_min_interval_secs: 1,
            header_timeout_secs: 30,
            body_timeout_secs: 30,
            max_connections_per_address: 64,
            graph_limit_percent: crate::graph::limiter::DEFAULT_PERCENT,
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_accept_common_spellings_and_reject_others() {
        assert_eq!(parse_flag("1"), Ok(true));
        assert_eq!(parse_flag("Off"), Ok(false));
        assert!(parse_flag("maybe").is_err());
    }

    #[test]
    fn a_public_url_is_scheme_host_and_port_only() {
        let url = parse_public_url("https://Vault.Example.com").expect("ok");
        assert_eq!(url.host_str(), Some("vault.example.com"));
        assert!(parse_public_url("http://10.0.0.5:8080/").is_ok());
        for bad in [
            "vault.example.com",
            "ftp://vault.example.com",
            "https://vault.example.com/pv",
            "https://u@vault.example.com",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}

/// `policyvault sim-graph`: where the simulator listens, what it holds, which faults it injects.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    #[arg(long, env = "PV_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Seeds content and fault sequences: the same seed gives the same simulator.
    #[arg(long, default_value_t = 49)]
    pub seed: u64,
    #[arg(long, default_value_t = 5)]
    pub policies_per_type: usize,
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    #[arg(long, default_value_t = 0.0)]
    pub unavailable_rate: f64,
    /// Answer 429 beyond Intune's real per-tenant limits.
    #[arg(long)]
    pub enforce_limits: bool,
}
