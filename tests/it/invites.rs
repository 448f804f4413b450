//! Issue 13, item 14: an owner invites someone without an account by email; the one-time
//! link lets them set a password and join with the chosen role, once.

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_EMAIL, browser, csrf_of};

const NEW_PASSWORD: &str = "a brand new long passphrase";

#[tokio::test]
async fn an_invited_person_sets_a_password_once_and_joins_with_the_role() {
    let app = crate::helpers::spawn_app().await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    let tid = app.create_tenant(&token, "Contoso", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let res = c
        .post(app.url(&format!("/t/{tid}/members")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "New.Tech@MSP.test"),
            ("role", "operator"),
        ])
        .send()
        .await
        .expect("invite");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    assert!(to.starts_with(&format!("/t/{tid}/members?invite=")), "{to}");
    let page = app.page(&c, &to).await;
    assert!(
        page.contains("has no account yet, so they are invited as operator"),
        "{page}"
    );
    let marker = "class=\"pv-secret-once\">";
    let start = page.find(marker).expect("link shown") + marker.len();
    let link = page[start..start + page[start..].find('<').expect("end")].to_owned();
    assert!(link.starts_with(&format!("{}/invite/inv_", app.base)), "{link}");
    let again = app.page(&c, &to).await;
    assert!(!again.contains(&link), "shown once");
    assert!(
        again.contains("Invited, not joined yet") && again.contains("new.tech@msp.test"),
        "{again}"
    );
    let stored: i64 = app
        .raw_db()
        .query_row(
            "SELECT count(*) FROM invites WHERE token_hash = ?1",
            [link.rsplit('/').next().expect("token")],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(stored, 0, "only the hash is kept");

    // The invited person, not signed in.
    let guest = browser();
    let form = guest.get(&link).send().await.expect("open").text().await.expect("body");
    assert!(
        form.contains("new.tech@msp.test") && form.contains("Create my account"),
        "{form}"
    );
    let csrf = csrf_of(&form);
    let res = guest
        .post(&link)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("password", NEW_PASSWORD),
            ("password_repeat", "different"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = guest
        .post(&link)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = guest
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("body");
    assert!(
        home.contains("Your account is ready") && home.contains("Contoso"),
        "{home}"
    );
    let (_, members) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/members"), None)
        .await;
    assert!(
        members.as_array().is_some_and(|m| m
            .iter()
            .any(|x| x["email"] == "new.tech@msp.test" && x["role"] == "operator")),
        "{members}"
    );
    // The password works; the link does not, twice.
    let (_, res) = app.login("new.tech@msp.test", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser().get(&link).send().await.expect("reuse");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = browser()
        .get(app.url("/invite/inv_not-a-real-one"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"member.invited") && actions.contains(&"member.added"),
        "{actions:?}"
    );
    // An existing account is added directly, not invited.
    let res = c
        .post(app.url(&format!("/t/{tid}/members")))
        .form(&[
            ("_csrf", c_csrf(&app, &c).await.as_str()),
            ("email", "new.tech@msp.test"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .expect("role change");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/t/{tid}/members").as_str());
}

async fn c_csrf(app: &crate::helpers::TestApp, c: &reqwest::Client) -> String {
    app.page_csrf(c).await
}

/// Issue 20 (low): the request span logged the raw path, so every opening of an invitation
/// link wrote its token into the INFO log. The span names the route template instead.
#[tokio::test]
async fn invitation_tokens_stay_out_of_the_logs() {
    use crate::helpers::{PASSWORD, ServerProcess, run_binary, tenant_body};
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    let (ok, _, err) = run_binary(
        &["--data-dir", &d, "user", "add", "--email", ADMIN_EMAIL, "--superadmin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{err}");
    let (ok, token, err) = run_binary(&["--data-dir", &d, "token", "create", "--email", ADMIN_EMAIL], "");
    assert!(ok, "{err}");
    let server = ServerProcess::start(dir.path(), &[]);
    let created: serde_json::Value = reqwest::Client::new()
        .post(server.url("/api/v1/tenants"))
        .bearer_auth(token.trim())
        .json(&tenant_body("Contoso", "s3cret"))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let tid = created["id"].as_str().expect("id").to_owned();

    let c = browser();
    let text = |r: reqwest::Response| async move { r.text().await.expect("body") };
    let login = text(c.get(server.url("/login")).send().await.expect("login page")).await;
    let res = c
        .post(server.url("/login"))
        .form(&[
            ("_csrf", csrf_of(&login).as_str()),
            ("email", ADMIN_EMAIL),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = text(c.get(server.url("/")).send().await.expect("home")).await;
    let res = c
        .post(server.url(&format!("/t/{tid}/members")))
        .form(&[
            ("_csrf", csrf_of(&home).as_str()),
            ("email", "guest@msp.test"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .expect("invite");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    let page = text(c.get(server.url(&to)).send().await.expect("members")).await;
    let marker = "class=\"pv-secret-once\">";
    let start = page.find(marker).expect("link shown") + marker.len();
    let link = page[start..start + page[start..].find('<').expect("end")].to_owned();
    let secret = link.rsplit('/').next().expect("token").to_owned();
    assert!(secret.starts_with("inv_"), "{link}");
    let res = browser().get(&link).send().await.expect("open link");
    assert_eq!(res.status(), StatusCode::OK);
    // A link mangled in an email client: no route matches, and it holds the token too.
    let res = browser()
        .get(format!("{link}/"))
        .send()
        .await
        .expect("open mangled link");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let logs = server.stop();
    assert!(
        logs.contains("/invite/{token}"),
        "the request is logged, with its route: {logs}"
    );
    assert!(logs.contains("(no route)"), "{logs}");
    assert!(!logs.contains(&secret), "the token is in the log: {logs}");
}
