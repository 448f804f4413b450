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
    // The form shown again carries the rotated pre-login token.
    let csrf = csrf_of(&res.text().await.expect("body"));
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

/// Invites `email` through the members page as the signed-in `c`; returns the link.
async fn invite_on_page(
    app: &crate::helpers::TestApp,
    c: &reqwest::Client,
    tid: &str,
    email: &str,
    role: &str,
) -> String {
    let csrf = app.page_csrf(c).await;
    let res = c
        .post(app.url(&format!("/t/{tid}/members")))
        .form(&[("_csrf", csrf.as_str()), ("email", email), ("role", role)])
        .send()
        .await
        .expect("invite");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email} invited");
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    let page = app.page(c, &to).await;
    let marker = "class=\"pv-secret-once\">";
    let start = page.find(marker).expect("link shown") + marker.len();
    page[start..start + page[start..].find('<').expect("end")].to_owned()
}

/// A superadmin's token, a tenant and `owners` users who are its owners (ids in order).
async fn tenant_with_owners(app: &crate::helpers::TestApp, owners: &[&str]) -> (String, String, Vec<String>) {
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    let tid = app.create_tenant(&token, "Contoso", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut ids = Vec::new();
    for email in owners {
        app.create_user(email, false).await;
        let (status, m) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tid}/members"),
                Some(serde_json::json!({"email": email, "role": "owner"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{m}");
        ids.push(m["user_id"].as_str().expect("user id").to_owned());
    }
    (token, tid, ids)
}

/// Tries to use an invitation link as a guest with a valid pre-login CSRF token; returns the
/// statuses of opening it and of submitting it.
async fn try_link(app: &crate::helpers::TestApp, link: &str) -> (StatusCode, StatusCode) {
    let guest = browser();
    let opened = guest.get(link).send().await.expect("open").status();
    let login = guest
        .get(app.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let csrf = csrf_of(&login);
    let posted = guest
        .post(link)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ])
        .send()
        .await
        .expect("post")
        .status();
    (opened, posted)
}

fn users_named(app: &crate::helpers::TestApp, email: &str) -> i64 {
    app.raw_db()
        .query_row("SELECT count(*) FROM users WHERE email = ?1", [email], |r| r.get(0))
        .expect("count users")
}

fn invites_for(app: &crate::helpers::TestApp, email: &str) -> i64 {
    app.raw_db()
        .query_row(
            "SELECT count(*) FROM invites WHERE email = ?1 AND used_at IS NULL",
            [email],
            |r| r.get(0),
        )
        .expect("count invites")
}

/// Issue 20, finding 4: the security test's case. An owner invites someone as owner, is then
/// removed from the tenant and disabled; the link must not make anyone an owner any more.
#[tokio::test]
async fn a_removed_and_disabled_owners_invitation_no_longer_joins() {
    let app = crate::helpers::spawn_app().await;
    let (_, tid, ids) = tenant_with_owners(&app, &["leaver@msp.test", "stayer@msp.test"]).await;
    let (leaver, _) = app.signed_in("leaver@msp.test").await;
    let link = invite_on_page(&app, &leaver, &tid, "friend@msp.test", "owner").await;

    let (admin, csrf) = app.signed_in(ADMIN_EMAIL).await;
    for path in [
        format!("/t/{tid}/members/{}/remove", ids[0]),
        format!("/admin/users/{}/disable", ids[0]),
    ] {
        let res = admin
            .post(app.url(&path))
            .form(&[("_csrf", csrf.as_str())])
            .send()
            .await
            .expect("admin action");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
    }

    let (opened, posted) = try_link(&app, &link).await;
    assert_eq!(opened, StatusCode::NOT_FOUND, "the link is dead");
    assert_eq!(posted, StatusCode::NOT_FOUND, "and cannot be submitted");
    assert_eq!(users_named(&app, "friend@msp.test"), 0, "no account was made");
}

/// Each way an inviter loses the owner role ends their pending invitations (disabled, removed,
/// demoted), and a link whose inviter is no longer an owner is refused when used even if the
/// invitation row survived (here: the role changed directly in the database file).
#[tokio::test]
async fn an_invitation_ends_with_its_inviters_owner_role() {
    let app = crate::helpers::spawn_app().await;
    let owners = [
        "demoted@msp.test",
        "disabled@msp.test",
        "removed@msp.test",
        "changed-in-db@msp.test",
        "still-owner@msp.test",
    ];
    let (token, tid, ids) = tenant_with_owners(&app, &owners).await;
    let mut links = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        let (c, _) = app.signed_in(owner).await;
        links.push(invite_on_page(&app, &c, &tid, &format!("guest{i}@msp.test"), "operator").await);
    }
    assert_eq!(invites_for(&app, "guest0@msp.test"), 1);

    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(serde_json::json!({"email": owners[0], "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (admin, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let res = admin
        .post(app.url(&format!("/admin/users/{}/disable", ids[1])))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, body) = app
        .api(
            Method::DELETE,
            &token,
            &format!("/api/v1/tenants/{tid}/members/{}", ids[2]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for (i, owner) in owners.iter().enumerate().take(3) {
        assert_eq!(
            invites_for(&app, &format!("guest{i}@msp.test")),
            0,
            "{owner}'s pending invitation is deleted"
        );
    }
    app.raw_db()
        .execute("UPDATE memberships SET role = 'viewer' WHERE user_id = ?1", [&ids[3]])
        .expect("demote in the file");

    for (i, link) in links.iter().enumerate().take(4) {
        let (opened, posted) = try_link(&app, link).await;
        assert_eq!(
            (opened, posted),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
            "the invitation of {} is dead",
            owners[i]
        );
        assert_eq!(users_named(&app, &format!("guest{i}@msp.test")), 0);
    }
    // The one who is still an owner: their invitation works.
    let (opened, posted) = try_link(&app, &links[4]).await;
    assert_eq!((opened, posted), (StatusCode::OK, StatusCode::SEE_OTHER));
    assert_eq!(users_named(&app, "guest4@msp.test"), 1);
}

/// An owner revokes a pending invitation: on the members page (a CSRF-protected form) and
/// through `DELETE /api/v1/tenants/{tid}/invites/{id}`; both are audited. Only owners of
/// the invitation's own tenant may.
#[tokio::test]
async fn an_owner_revokes_a_pending_invitation_on_the_page_and_through_the_api() {
    let app = crate::helpers::spawn_app().await;
    let (admin_token, tid, _) = tenant_with_owners(&app, &["owner@msp.test"]).await;
    let (owner, _) = app.signed_in("owner@msp.test").await;
    let first = invite_on_page(&app, &owner, &tid, "first@msp.test", "viewer").await;
    let second = invite_on_page(&app, &owner, &tid, "second@msp.test", "owner").await;

    // The page: each pending invitation has a revoke form.
    let page = app.page(&owner, &format!("/t/{tid}/members")).await;
    let marker = format!("action=\"/t/{tid}/invites/");
    let rows: Vec<&str> = page.split("<tr").filter(|r| r.contains(&marker)).collect();
    assert_eq!(rows.len(), 2, "a revoke form per pending invitation: {page}");
    let row = rows.iter().find(|r| r.contains("first@msp.test")).expect("first's row");
    assert!(row.contains("name=\"_csrf\""), "the form carries the CSRF token: {row}");
    let start = row.find(&marker).expect("action") + "action=\"".len();
    let action = row[start..start + row[start..].find('"').expect("end")].to_owned();
    assert!(action.ends_with("/revoke"), "{action}");
    let res = owner
        .post(app.url(&action))
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .expect("forged");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no valid CSRF token, no revoke");
    assert_eq!(invites_for(&app, "first@msp.test"), 1);
    let csrf = app.page_csrf(&owner).await;
    let res = owner
        .post(app.url(&action))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(invites_for(&app, "first@msp.test"), 0);
    assert_eq!(try_link(&app, &first).await.0, StatusCode::NOT_FOUND);
    let page = app.page(&owner, &format!("/t/{tid}/members")).await;
    assert!(page.contains("Invitation for first@msp.test revoked"), "{page}");

    // The API: list, then revoke; others may not.
    let owner_token = app.token_for("owner@msp.test").await;
    let (status, list) = app
        .api(
            Method::GET,
            &owner_token,
            &format!("/api/v1/tenants/{tid}/invites"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list.as_array().expect("list");
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["email"], "second@msp.test");
    assert_eq!(listed[0]["role"], "owner");
    let id = listed[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tenants/{tid}/invites/{id}");

    let other_tid = app.create_tenant(&admin_token, "Fabrikam", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.create_user("other-owner@msp.test", false).await;
    app.create_user("operator@msp.test", false).await;
    for (email, tenant, role) in [
        ("other-owner@msp.test", &other_tid, "owner"),
        ("operator@msp.test", &tid, "operator"),
    ] {
        let (status, body) = app
            .api(
                Method::POST,
                &admin_token,
                &format!("/api/v1/tenants/{tenant}/members"),
                Some(serde_json::json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let other = app.token_for("other-owner@msp.test").await;
    let operator = app.token_for("operator@msp.test").await;
    for (who, token, path) in [
        ("an owner of another tenant", &other, path.clone()),
        (
            "an owner of another tenant, through their own tenant",
            &other,
            format!("/api/v1/tenants/{other_tid}/invites/{id}"),
        ),
        ("an operator", &operator, path.clone()),
    ] {
        let (status, body) = app.api(Method::DELETE, token, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }
    assert_eq!(invites_for(&app, "second@msp.test"), 1, "still there");
    let (status, body) = app
        .api(
            Method::DELETE,
            &owner_token,
            &format!("/api/v1/tenants/{tid}/invites/00000000-0000-0000-0000-000000000000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.api(Method::DELETE, &owner_token, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(try_link(&app, &second).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.api(Method::DELETE, &owner_token, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked already");

    let (_, audit) = app
        .api(Method::GET, &owner_token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let revoked: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["action"] == "member.invite_revoked")
        .filter_map(|e| e["details"]["email"].as_str())
        .collect();
    assert_eq!(revoked.len(), 2, "{audit}");
    assert!(revoked.contains(&"first@msp.test") && revoked.contains(&"second@msp.test"));
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
