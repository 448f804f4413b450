//! Test fixtures: a real server on a random port with its own data directory, a browser-like
//! client (cookies, no automatic redirects), and one helper per common step.

use std::net::SocketAddr;
use std::path::PathBuf;

use policyvault::config::ServeArgs;
use policyvault::startup::App;
use policyvault::web::state::AppState;
use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const ADMIN_EMAIL: &str = "admin@msp.test";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServeArgs::for_tests()).await
}

pub async fn spawn_app_with(settings: ServeArgs) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let app = App::build(data_dir.path(), settings).await.expect("app builds");
    serve(app, data_dir)
}

/// Runs an app built by the test (e.g. after preparing its database while it was "down").
pub fn serve(app: App, data_dir: tempfile::TempDir) -> TestApp {
    let addr = app.local_addr();
    let state = app.state.clone();
    let shutdown = app.shutdown.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        data_dir,
        shutdown,
    }
}

/// A client that keeps cookies like a browser and shows us every redirect.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of `name="..." value="..."` or `<meta name=... content=...>` in a page.
pub fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let start = html.find(marker)?;
    let rest = &html[start..];
    let key = format!("{attr}=\"");
    let v = &rest[rest.find(&key)? + key.len()..];
    Some(v[..v.find('"')?].replace("&amp;", "&").replace("&quot;", "\""))
}

/// The run id at the end of a redirect to a run page (`/t/{tenant}/runs/{id}`).
pub fn run_id_in(res: &reqwest::Response) -> String {
    let to = res.headers()["location"].to_str().expect("location");
    // `/t/{tid}/runs/{rid}`, or a page showing the run: `…?run={rid}`.
    match to.split_once("run=") {
        Some((_, id)) => id.split('&').next().unwrap_or(id).to_owned(),
        None => to.rsplit('/').next().expect("run id").to_owned(),
    }
}

pub fn csrf_of(html: &str) -> String {
    attr_after(html, "name=\"_csrf\"", "value")
        .or_else(|| attr_after(html, "name=\"csrf-token\"", "content"))
        .expect("page has a CSRF token")
}

impl TestApp {
    /// Stops this server and starts a new one on the same data directory (a new port), as
    /// an upgrade or a reboot would. `prepare` runs on the database while no server is up.
    pub async fn restart(mut self, settings: ServeArgs, prepare: impl FnOnce(&rusqlite::Connection)) -> TestApp {
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let stopped = self.shutdown.clone();
        drop(self);
        stopped.cancelled().await;
        // The old server's tasks see the cancellation at their next await.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        prepare(&rusqlite::Connection::open(data_dir.path().join(policyvault::startup::DB_FILE)).expect("db"));
        // The old server keeps the data directory locked until its workers and connections
        // have finished; wait for that as a second `serve` would have to.
        let mut attempts = 0;
        let app = loop {
            match App::build(data_dir.path(), settings.clone()).await {
                Ok(app) => break app,
                Err(e) if e.to_string().contains("in use by another") && attempts < 400 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("app builds again: {e:#}"),
            }
        };
        serve(app, data_dir)
    }

    /// The body of a page fetched with a signed-in client.
    pub async fn page(&self, c: &Client, path: &str) -> String {
        c.get(self.url(path))
            .send()
            .await
            .expect("get page")
            .text()
            .await
            .expect("page body")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join(policyvault::startup::DB_FILE)
    }

    /// A raw connection to the database file, as an attacker or an operator with shell
    /// access would have.
    pub fn raw_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).expect("open db file")
    }

    /// Creates a user through the same service the admin page uses.
    pub async fn create_user(&self, email: &str, superadmin: bool) {
        policyvault::accounts::create_user(&self.state.db, email, PASSWORD.to_owned().into(), superadmin, "test")
            .await
            .expect("user created");
    }

    /// The code the setup page asks for: the server logs it at start, an in-process test
    /// reads it from the state instead.
    pub fn setup_code(&self) -> &str {
        self.state.setup_code.reveal()
    }

    /// First-run setup through the real page; returns a signed-in client and its CSRF token.
    pub async fn setup_admin(&self) -> (Client, String) {
        let c = browser();
        let page = c
            .get(self.url("/setup"))
            .send()
            .await
            .expect("get setup")
            .text()
            .await
            .expect("body");
        let res = c
            .post(self.url("/setup"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("setup_code", self.setup_code()),
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ])
            .send()
            .await
            .expect("post setup");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "setup redirects home");
        let csrf = self.page_csrf(&c).await;
        (c, csrf)
    }

    /// Signs in through the real login page.
    pub async fn login(&self, email: &str, password: &str) -> (Client, reqwest::Response) {
        let c = browser();
        let page = c
            .get(self.url("/login"))
            .send()
            .await
            .expect("get login")
            .text()
            .await
            .expect("body");
        let res = c
            .post(self.url("/login"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("post login");
        (c, res)
    }

    /// Signs in and returns the client and the session's CSRF token.
    pub async fn signed_in(&self, email: &str) -> (Client, String) {
        let (c, res) = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login succeeds for {email}");
        let csrf = self.page_csrf(&c).await;
        (c, csrf)
    }

    pub async fn page_csrf(&self, c: &Client) -> String {
        let home = c
            .get(self.url("/"))
            .send()
            .await
            .expect("home")
            .text()
            .await
            .expect("body");
        csrf_of(&home)
    }

    /// A fresh API token for a user (through the service the profile page uses).
    pub async fn token_for(&self, email: &str) -> String {
        let user = self
            .state
            .db
            .read({
                let e = email.to_owned();
                move |c| policyvault::db::users::find_by_email(c, &e)
            })
            .await
            .expect("db")
            .expect("user exists");
        policyvault::accounts::create_token(&self.state.db, &user, "test", "test")
            .await
            .expect("token")
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Client::new().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("api request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Creates a tenant through the API as `token` (a superadmin's).
    pub async fn create_tenant(&self, token: &str, name: &str, secret: &str) -> Value {
        let (status, body) = self
            .api(
                reqwest::Method::POST,
                token,
                "/api/v1/tenants",
                Some(tenant_body(name, secret)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "tenant created: {body}");
        body
    }
}

pub fn tenant_body(name: &str, secret: &str) -> Value {
    json!({
        "name": name,
        "entra_tenant_id": "6f1b2c3d-0000-4000-8000-00000000ab12",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": secret,
        "cloud": "global",
    })
}

/// The real `policyvault` binary, as built for this test run.
pub fn binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_policyvault"));
    cmd.env_remove("PV_MASTER_KEY")
        .env_remove("PV_DATA_DIR")
        .env_remove("PV_LISTEN");
    cmd
}

/// Runs the binary with `stdin` and returns (success, stdout, stderr).
pub fn run_binary(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = binary()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `policyvault serve` process on a random port whose logs (JSON, debug level) are kept.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    pub fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let mut child = binary()
            .args([
                "--data-dir",
                &data_dir.to_string_lossy(),
                "--log-format",
                "json",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .env("RUST_LOG", "debug")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn server");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["address"].as_str()
                {
                    let _ = tx.send(addr.to_owned());
                }
                sink.lock().expect("logs").push_str(&line);
                sink.lock().expect("logs").push('\n');
            }
        });
        let addr = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("server reports its address");
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").clone()
    }

    /// Stops the server (SIGKILL) and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.logs.lock().expect("logs").clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
