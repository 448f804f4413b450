//! Issue 12's browser-side findings, through the real server: redirects after login,
//! cookie flags, the pre-login CSRF token, password-change throttling.

use policyvault::config::ServeArgs;
use reqwest::{Client, StatusCode, redirect};

use crate::helpers::{PASSWORD, browser, csrf_of, spawn_app, spawn_app_with};

/// Where a browser would go for a `Location` value: it drops tab, CR and LF and reads `\`
/// as `/`, so what is left must be a path of this site.
fn lands_on_this_site(location: &str) -> bool {
    let seen: String = location
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    seen.starts_with('/') && !seen.starts_with("//")
}

#[tokio::test]
async fn next_after_login_never_leaves_the_site_even_with_tabs_or_newlines() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let (signed_in, _) = app.signed_in(crate::helpers::ADMIN_EMAIL).await;
    for next in [
        "/%09/evil.example",
        "/%0a/x",
        "/%0d%0a/evil.example",
        "%09//evil.example",
        "/%09%5Cevil.example",
    ] {
        // Signed in: the login page redirects at once.
        let res = signed_in
            .get(app.url(&format!("/login?next={next}")))
            .send()
            .await
            .expect("get login");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        let to = res.headers()["location"].to_str().expect("ascii location");
        assert!(lands_on_this_site(to), "{next} redirected to {to:?}");

        // Signing in with the form's hidden `next`.
        let c = browser();
        let page = c
            .get(app.url("/login"))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        let decoded: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("n={next}"))
            .expect("decode")
            .remove(0)
            .1;
        let res = c
            .post(app.url("/login"))
            .form(&[
                ("_csrf", csrf_of(&page).as_str()),
                ("email", crate::helpers::ADMIN_EMAIL),
                ("password", PASSWORD),
                ("next", decoded.as_str()),
            ])
            .send()
            .await
            .expect("post login");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        let to = res.headers()["location"].to_str().expect("ascii location");
        assert!(lands_on_this_site(to), "{next} redirected to {to:?}");
    }
    // A real local path still works.
    let res = signed_in
        .get(app.url("/login?next=/profile%3Ftab%3D1"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.headers()["location"], "/profile?tab=1");
}

fn set_cookie_named(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn with_secure_cookies_every_cookie_is_secure() {
    let app = spawn_app_with(ServeArgs {
        secure_cookies: true,
        ..ServeArgs::for_tests()
    })
    .await;
    app.create_user("ops@msp.test", false).await;
    // No cookie store: a client keeps `Secure` cookies off plain http, so carry them by hand.
    let c = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    let res = c.get(app.url("/login")).send().await.expect("login page");
    let csrf_cookie = set_cookie_named(&res, "pv_csrf").expect("pv_csrf is set");
    assert!(csrf_cookie.contains("; Secure"), "{csrf_cookie}");
    let pair = csrf_cookie.split(';').next().expect("pair").to_owned();
    let csrf = csrf_of(&res.text().await.expect("body"));

    // Signing out without a session still shows a flash message on the login page.
    let res = c
        .post(app.url("/logout"))
        .header("cookie", &pair)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let flash = set_cookie_named(&res, "pv_flash").expect("pv_flash is set");
    assert!(flash.contains("; Secure"), "{flash}");

    let res = c
        .post(app.url("/login"))
        .header("cookie", &pair)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "ops@msp.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = set_cookie_named(&res, "pv_session").expect("session cookie");
    assert!(session.contains("; Secure"), "{session}");
}

#[tokio::test]
async fn a_pre_login_csrf_token_planted_by_the_client_is_refused() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let c = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    let planted = "a".repeat(43);
    for value in ["a", planted.as_str()] {
        let res = c
            .post(app.url("/login"))
            .header("cookie", format!("pv_csrf={value}"))
            .form(&[("_csrf", value), ("email", "ops@msp.test"), ("password", PASSWORD)])
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "planted {value:?}");
        assert!(
            set_cookie_named(&res, "pv_session").is_none(),
            "no session for a planted token"
        );
    }
    // The login page replaces a planted cookie with one of ours.
    let res = c
        .get(app.url("/login"))
        .header("cookie", format!("pv_csrf={planted}"))
        .send()
        .await
        .expect("get");
    let fresh = set_cookie_named(&res, "pv_csrf").expect("a new cookie");
    assert!(!fresh.contains(&planted));
}

#[tokio::test]
async fn changing_the_password_is_throttled_like_signing_in() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let (c, csrf) = app.signed_in("ops@msp.test").await;
    let mut statuses = Vec::new();
    for i in 0..10 {
        let res = c
            .post(app.url("/profile/password"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("current", format!("wrong guess {i}").as_str()),
                ("new", "another long passphrase 123"),
            ])
            .send()
            .await
            .expect("post");
        statuses.push(res.status());
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "wrong current passwords are throttled: {statuses:?}"
    );
    // Throttled means refused before checking: even the right password waits.
    let res = c
        .post(app.url("/profile/password"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", PASSWORD),
            ("new", "another long passphrase 123"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
