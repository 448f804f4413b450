//! CSRF: every state-changing browser request needs the session's token and a same-site
//! origin.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, browser, csrf_of, spawn_app};

#[tokio::test]
async fn a_form_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, csrf) = app.setup_admin().await;
    let new_user = [("email", "x@msp.test"), ("password", PASSWORD)];

    let res = admin
        .post(app.url("/admin/users"))
        .form(&new_user)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("body").contains("did not come from this site"));

    let mut wrong = new_user.to_vec();
    wrong.push(("_csrf", "not-the-token"));
    let res = admin
        .post(app.url("/admin/users"))
        .form(&wrong)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let mut right = new_user.to_vec();
    right.push(("_csrf", csrf.as_str()));
    let res = admin
        .post(app.url("/admin/users"))
        .header("origin", "https://evil.example")
        .form(&right)
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a foreign origin is refused even with the token"
    );
    let n: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("q");
    assert_eq!(n, 1, "nothing was created");

    let res = admin
        .post(app.url("/admin/users"))
        .header("origin", &app.base)
        .form(&right)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "same origin with the token works");
}

#[tokio::test]
async fn htmx_requests_carry_the_token_in_a_header() {
    let app = spawn_app().await;
    let (admin, csrf) = app.setup_admin().await;
    let res = admin
        .post(app.url("/profile/tokens"))
        .header("hx-request", "true")
        .form(&[("name", "rmm")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["hx-retarget"], "#pv-toasts", "htmx gets a toast");
    let res = admin
        .post(app.url("/profile/tokens"))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("name", "rmm")])
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "accepted, then redirected to the page"
    );
}

#[tokio::test]
async fn the_login_form_is_protected_before_there_is_a_session() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    // A cross-site login form: no double-submit cookie, so no valid token.
    let res = browser()
        .post(app.url("/login"))
        .form(&[("_csrf", "guess"), ("email", "ops@msp.test"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let c = browser();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let res = c
        .post(app.url("/login"))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("email", "ops@msp.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// The `pv_csrf` value a response sets, if any.
fn set_pre_login_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("pv_csrf="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Issue 20, low finding: the pre-login token is rotated on use. A sign-in form that was
/// accepted (here: a wrong password) sets a new token, shown in the form it answers with;
/// the used one no longer goes with the browser's cookie.
#[tokio::test]
async fn a_pre_login_token_is_replaced_each_time_it_is_used() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = c.get(app.url("/login")).send().await.expect("login");
    let first = set_pre_login_cookie(&res).expect("a pre-login cookie");
    assert_eq!(csrf_of(&res.text().await.expect("body")), first);

    let post = |cookie: String, token: String| {
        c.post(app.url("/login"))
            .header("cookie", format!("pv_csrf={cookie}"))
            .form(&[
                ("_csrf", token.as_str()),
                ("email", "ops@msp.test"),
                ("password", "not the password"),
            ])
            .send()
    };
    let res = post(first.clone(), first.clone()).await.expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let second = set_pre_login_cookie(&res).expect("the used token is replaced");
    assert_ne!(second, first);
    assert_eq!(
        csrf_of(&res.text().await.expect("body")),
        second,
        "the form shown again carries the new token"
    );
    // The browser now holds the new cookie: the old token is refused with it.
    let res = post(second.clone(), first.clone()).await.expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(second.clone(), second.clone()).await.expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
