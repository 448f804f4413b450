//! Sign in, sign out, throttling, disabled accounts.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, spawn_app};

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let (c, res) = app.login("ops@msp.test", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pv_session="))
        .expect("session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"));
    // Only the hash is stored: the cookie's token is nowhere in the database.
    let token = cookie
        .trim_start_matches("pv_session=")
        .split(';')
        .next()
        .expect("value")
        .to_owned();
    let stored: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM sessions WHERE token_hash = ?1", [&token], |r| {
            r.get(0)
        })
        .expect("q");
    assert_eq!(stored, 0);

    let home = c.get(app.url("/")).send().await.expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    let csrf = crate::helpers::csrf_of(&home.text().await.expect("body"));
    let out = c
        .post(app.url("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.headers()["location"], "/login");
    let after = c.get(app.url("/")).send().await.expect("home");
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "signed out");
    let sessions: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .expect("q");
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled_even_for_the_right_one() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    for _ in 0..5 {
        let (_, res) = app.login("ops@msp.test", "wrong password!!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.text().await.expect("body").contains("Wrong email or password"));
    }
    let (_, res) = app.login("ops@msp.test", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the brake holds even for the right password"
    );
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.expect("body").contains("Too many failed sign-ins"));

    // Unknown accounts answer exactly like wrong passwords (no account enumeration)…
    let (_, res) = app.login("nobody@msp.test", "whatever password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.expect("body").contains("Wrong email or password"));
    // …and every failure is in the audit log, with no password in it.
    let failed: i64 = app
        .raw_db()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE action = 'login.failed'",
            [],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(failed, 6);
    let leaked: i64 = app
        .raw_db()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE details LIKE '%wrong password%'",
            [],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_open_sessions() {
    let app = spawn_app().await;
    let (admin, csrf) = app.setup_admin().await;
    app.create_user("leaver@msp.test", false).await;
    let (leaver, _) = app.signed_in("leaver@msp.test").await;
    let id: String = app
        .raw_db()
        .query_row("SELECT id FROM users WHERE email = 'leaver@msp.test'", [], |r| r.get(0))
        .expect("id");
    let res = admin
        .post(app.url(&format!("/admin/users/{id}/disable")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        leaver.get(app.url("/")).send().await.expect("home").status(),
        StatusCode::SEE_OTHER
    );
    let (_, res) = app.login("leaver@msp.test", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The right password of a disabled account answers like a wrong one: saying
    // "disabled" would confirm the password to whoever guessed it.
    let body = res.text().await.expect("body");
    assert!(body.contains("Wrong email or password"), "{body}");
    assert!(!body.contains("disabled"), "{body}");

    // The last active superadmin cannot disable themself.
    let admin_id: String = app
        .raw_db()
        .query_row("SELECT id FROM users WHERE email = ?1", [ADMIN_EMAIL], |r| r.get(0))
        .expect("id");
    admin
        .post(app.url(&format!("/admin/users/{admin_id}/disable")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("disable self");
    let disabled: bool = app
        .raw_db()
        .query_row("SELECT disabled FROM users WHERE id = ?1", [&admin_id], |r| r.get(0))
        .expect("q");
    assert!(!disabled);
}

#[tokio::test]
async fn after_sign_in_the_user_lands_where_they_were_going_but_never_off_site() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let c = crate::helpers::browser();
    let res = c.get(app.url("/profile")).send().await.expect("profile");
    assert_eq!(res.headers()["location"], "/login?next=%2Fprofile");
    let page = c
        .get(app.url("/login?next=//evil.example"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let csrf = crate::helpers::csrf_of(&page);
    let res = c
        .post(app.url("/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "ops@msp.test"),
            ("password", PASSWORD),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.headers()["location"], "/");
}

/// Issue 20 finding 5: concurrent guesses all passed the brake's check before the first
/// failure was recorded. The attempt is now reserved before the password is hashed, so of
/// 30 wrong guesses and the right password sent at once, at most the 5 free attempts are
/// checked and the rest are refused as throttled, the right one included unless it was
/// among the first 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_outrun_the_per_account_limit() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    // Every client first has its login page (and its pre-login token), so the posts below
    // leave at the same moment.
    let mut ready = Vec::new();
    for i in 0..31 {
        let c = crate::helpers::browser();
        let page = c
            .get(app.url("/login"))
            .send()
            .await
            .expect("get login")
            .text()
            .await
            .expect("body");
        let password = if i == 30 { PASSWORD } else { "wrong password!!" };
        ready.push((c, crate::helpers::csrf_of(&page), password));
    }
    let url = app.url("/login");
    let posts = ready.iter().map(|(c, csrf, password)| {
        let url = url.clone();
        async move {
            c.post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("email", "ops@msp.test"),
                    ("password", password),
                    ("next", "/"),
                ])
                .send()
                .await
                .expect("post login")
                .status()
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    let checked = answers
        .iter()
        .filter(|s| matches!(**s, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER))
        .count();
    let throttled = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked <= 5, "{checked} passwords were checked: {answers:?}");
    assert_eq!(checked + throttled, 31, "{answers:?}");
    let audited: i64 = app
        .raw_db()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE action IN ('login.failed', 'login.succeeded')",
            [],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(
        usize::try_from(audited).ok(),
        Some(checked),
        "one audit event per checked password"
    );
}

/// Finding 5, the profile's password change: it shares the brake (and its reservation), so
/// a stolen session cannot guess the current password in parallel either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_of_the_current_password_are_limited_too() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let (c, csrf) = app.signed_in("ops@msp.test").await;
    let posts = (0..30).map(|_| {
        let (c, csrf) = (c.clone(), csrf.clone());
        let url = app.url("/profile/password");
        async move {
            c.post(url)
                .header("x-csrf-token", csrf)
                .form(&[("current", "wrong password!!"), ("new", "another long password")])
                .send()
                .await
                .expect("post password")
                .status()
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let throttled = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked <= 5, "{checked} current passwords were checked: {answers:?}");
    assert_eq!(checked + throttled, 30, "{answers:?}");
    // The login form counts the same failures: the account is braked there too.
    let (_, res) = app.login("ops@msp.test", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Signs in through the login page with an optional `X-Forwarded-For`; the status and how
/// long the sign-in took.
async fn login_via(
    app: &crate::helpers::TestApp,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, std::time::Duration) {
    let c = crate::helpers::browser();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .expect("get login")
        .text()
        .await
        .expect("body");
    let mut post = c.post(app.url("/login")).form(&[
        ("_csrf", crate::helpers::csrf_of(&page).as_str()),
        ("email", email),
        ("password", password),
        ("next", "/"),
    ]);
    if let Some(xff) = forwarded_for {
        post = post.header("x-forwarded-for", xff);
    }
    let started = std::time::Instant::now();
    let status = post.send().await.expect("post login").status();
    (status, started.elapsed())
}

fn failure_addresses(app: &crate::helpers::TestApp) -> Vec<String> {
    let db = app.raw_db();
    let mut stmt = db
        .prepare("SELECT DISTINCT json_extract(details, '$.address') FROM audit_events WHERE action = 'login.failed'")
        .expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

/// Issue 20 finding 6: 20 failures from one address refused every account from it, and
/// behind the README's TLS proxy every user has the proxy's address. An account with no
/// failures of its own is now only slowed by its address, never refused; one with failures
/// of its own still is. Without PV_TRUSTED_PROXIES a forwarded address is not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_a_shared_address_slow_other_accounts_but_do_not_lock_them_out() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    app.create_user("mistyped@msp.test", false).await;
    let (status, _) = login_via(&app, "mistyped@msp.test", "wrong password!!", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for i in 1..20 {
        // The forwarded address is the attacker's to choose: ignored, no proxy is trusted.
        let spoofed = format!("192.0.2.{i}");
        let (status, _) = login_via(&app, &format!("user{i}@msp.test"), "wrong password!!", Some(&spoofed)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(failure_addresses(&app), ["127.0.0.1"]);
    let (status, took) = login_via(&app, "ops@msp.test", PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a clean account is not refused for its address"
    );
    assert!(
        took >= policyvault::auth::throttle::ADDRESS_SLOWDOWN,
        "but slowed: {took:?}"
    );
    let (status, _) = login_via(&app, "mistyped@msp.test", PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "an account with failures of its own is refused from the braked address"
    );
}

/// Finding 6 behind a trusted proxy: the client is the rightmost untrusted hop of
/// `X-Forwarded-For`, so one client's failures brake that client only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_brake_and_the_audit_log_see_the_real_client() {
    let app = crate::helpers::spawn_app_with(policyvault::config::ServeArgs {
        trusted_proxies: policyvault::client_addr::parse_list("127.0.0.1,10.0.0.0/8").expect("proxies"),
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    app.create_user("ops@msp.test", false).await;
    app.create_user("mistyped@msp.test", false).await;
    let attacker = "6.6.6.6, 203.0.113.7, 10.0.0.5";
    let (status, _) = login_via(&app, "mistyped@msp.test", "wrong password!!", Some(attacker)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for i in 1..20 {
        let (status, _) = login_via(&app, &format!("user{i}@msp.test"), "wrong password!!", Some(attacker)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(failure_addresses(&app), ["203.0.113.7"]);
    // Another client through the same proxy is neither refused nor slowed…
    let (status, took) = login_via(&app, "mistyped@msp.test", PASSWORD, Some("198.51.100.9")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "another client is not braked");
    assert!(
        took < policyvault::auth::throttle::ADDRESS_SLOWDOWN,
        "nor slowed: {took:?}"
    );
    // …while the braked client is slowed even for a clean account.
    let (status, took) = login_via(&app, "ops@msp.test", PASSWORD, Some("203.0.113.7")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(took >= policyvault::auth::throttle::ADDRESS_SLOWDOWN, "{took:?}");
}
