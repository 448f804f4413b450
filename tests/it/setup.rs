//! First-run setup.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, ServerProcess, browser, csrf_of, spawn_app};

#[tokio::test]
async fn a_fresh_server_sends_everyone_to_setup_and_setup_makes_a_superadmin() {
    let app = spawn_app().await;
    let c = browser();
    let res = c.get(app.url("/login")).send().await.expect("login");
    assert_eq!(res.headers()["location"], "/setup");

    let (admin, _) = app.setup_admin().await;
    let home = admin
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("body");
    assert!(home.contains(ADMIN_EMAIL) && home.contains("No tenants yet"), "{home}");

    // Setup is closed for good once a user exists.
    let res = browser().get(app.url("/setup")).send().await.expect("setup");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    let me = app.token_for(ADMIN_EMAIL).await;
    let (_, body) = app.api(reqwest::Method::GET, &me, "/api/v1/me", None).await;
    assert_eq!(body["superadmin"], true);
}

#[tokio::test]
async fn racing_setup_forms_create_exactly_one_account() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let setup = app.url("/setup");
        let code = app.setup_code().to_owned();
        tasks.push(tokio::spawn(async move {
            let c = browser();
            let page = c.get(&setup).send().await.expect("get").text().await.expect("body");
            let email = format!("racer{i}@msp.test");
            let res = c
                .post(&setup)
                .form(&[
                    ("_csrf", csrf_of(&page).as_str()),
                    ("setup_code", &code),
                    ("email", &email),
                    ("password", PASSWORD),
                    ("password_repeat", PASSWORD),
                ])
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            res.headers()["location"] != "/login"
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.expect("task"));
    }
    let users: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("count");
    assert_eq!(users, 1);
    assert_eq!(winners, 1, "one form won, the others were sent to sign in");
}

#[tokio::test]
async fn setup_refuses_a_short_or_mismatched_password_and_keeps_the_email() {
    let app = spawn_app().await;
    let c = browser();
    let page = c
        .get(app.url("/setup"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = csrf_of(&page);
    let res = c
        .post(app.url("/setup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("setup_code", app.setup_code()),
            ("email", "a@msp.test"),
            ("password", "short"),
            ("password_repeat", "short"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.expect("body");
    assert!(body.contains("at least 12 characters") && body.contains("a@msp.test"));
    // Each accepted pre-login form rotates the token: the form shown again carries the new one.
    let csrf = csrf_of(&body);
    let res = c
        .post(app.url("/setup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("setup_code", app.setup_code()),
            ("email", "a@msp.test"),
            ("password", PASSWORD),
            ("password_repeat", "something else!!"),
        ])
        .send()
        .await
        .expect("post");
    assert!(res.text().await.expect("body").contains("The two passwords differ"));
    let users: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("count");
    assert_eq!(users, 0);
}

/// Issue 20: the setup page belonged to whoever found a fresh server first. It now needs the
/// one-time code the server writes to its log at start, which only its operator can read.
#[tokio::test]
async fn setup_needs_the_code_the_server_logged_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let server = ServerProcess::start(dir.path(), &[]);
    let c = browser();
    let page = c
        .get(server.url("/setup"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = std::sync::Mutex::new(csrf_of(&page));
    let post = |code: String| {
        let token = csrf.lock().expect("token").clone();
        c.post(server.url("/setup"))
            .form(&[
                ("_csrf", token.as_str()),
                ("setup_code", code.as_str()),
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("password_repeat", PASSWORD),
            ])
            .send()
    };
    for wrong in ["", "AAAA-BBBB-CCCC-DDDD-EEEE"] {
        let res = post(wrong.to_owned()).await.expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "code {wrong:?}");
        let body = res.text().await.expect("body");
        assert!(body.contains("setup code") && body.contains("log"), "{body}");
        *csrf.lock().expect("token") = csrf_of(&body);
    }
    assert!(
        page.contains("name=\"setup_code\""),
        "the form asks for the code: {page}"
    );
    // The code, from the log (JSON here: one field; in text logs the same line).
    let mut code = None;
    for _ in 0..100 {
        code = server.logs().lines().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            v["fields"]["setup_code"].as_str().map(str::to_owned)
        });
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let code = code.expect("the server logs a setup code while no account exists");
    // Typed by a person: lower case and spaces instead of dashes are fine.
    let res = post(code.to_lowercase().replace('-', " ")).await.expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    // Used once: setup is closed, the same code opens nothing for anyone else.
    let other = browser();
    let login = other
        .get(server.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let res = other
        .post(server.url("/setup"))
        .form(&[
            ("_csrf", csrf_of(&login).as_str()),
            ("setup_code", code.as_str()),
            ("email", "second@msp.test"),
            ("password", PASSWORD),
            ("password_repeat", PASSWORD),
        ])
        .send()
        .await
        .expect("post again");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    let logs = server.stop();
    assert_eq!(logs.matches(&code).count(), 1, "logged once, at start: {logs}");
}

/// Issue 20: a fresh server answered any `Host`, so a DNS-rebinding page could reach its
/// setup page through a visitor's browser. Only loopback names (and `PV_PUBLIC_URL`'s) are
/// answered; health checks answer whatever name a probe uses.
#[tokio::test]
async fn a_request_for_another_host_name_is_refused_with_the_setting_to_change() {
    let app = spawn_app().await;
    let port = app.addr.port();
    let c = browser();
    let get = |path: &str, host: &str| c.get(app.url(path)).header("host", host).send();
    let res = get("/setup", "rebind.attacker.example").await.expect("get");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    let why = res.text().await.expect("body");
    assert!(
        why.contains("rebind.attacker.example") && why.contains("PV_PUBLIC_URL"),
        "{why}"
    );
    let res = c
        .get(app.url("/api/v1/me"))
        .header("host", "rebind.attacker.example")
        .bearer_auth("pv_whatever")
        .send()
        .await
        .expect("api");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "misdirected_request", "{body}");
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "LocalHost".to_owned(),
    ] {
        let res = get("/setup", &host).await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        let res = get(path, "10.1.2.3:8080").await.expect("probe");
        assert_ne!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
    }

    // With PV_PUBLIC_URL, its name is answered too (behind a proxy that keeps `Host`).
    let public = crate::helpers::spawn_app_with(policyvault::config::ServeArgs {
        public_url: reqwest::Url::parse("https://vault.example.com").ok(),
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    let get = |host: &str| c.get(public.url("/setup")).header("host", host).send();
    for host in ["vault.example.com", "VAULT.example.com:443", "localhost"] {
        assert_eq!(get(host).await.expect("get").status(), StatusCode::OK, "{host}");
    }
    let res = get("vault.example.com:8443").await.expect("get");
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    let why = res.text().await.expect("body");
    assert!(why.contains("open https://vault.example.com"), "{why}");
}
