//! API tokens: shown once, stored hashed, revocable; the CLI prints only the token.

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_EMAIL, spawn_app};

#[tokio::test]
async fn a_token_from_the_profile_page_works_once_shown_and_stops_when_revoked() {
    let app = spawn_app().await;
    let (admin, csrf) = app.setup_admin().await;
    let res = admin
        .post(app.url("/profile/tokens"))
        .form(&[("_csrf", csrf.as_str()), ("name", "RMM sync")])
        .send()
        .await
        .expect("create");
    // POST-redirect-GET: a reload of the page that shows the token cannot make another.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let shown_at = res.headers()["location"].to_str().expect("location").to_owned();
    assert!(shown_at.starts_with("/profile?new="), "{shown_at}");
    let page = admin
        .get(app.url(&shown_at))
        .send()
        .await
        .expect("shown")
        .text()
        .await
        .expect("body");
    let marker = "data-testid=\"new-token\">";
    let start = page.find(marker).expect("token shown") + marker.len();
    let token = page[start..start + page[start..].find('<').expect("end")].to_owned();
    assert!(token.starts_with("pv_"));

    let (status, me) = app.api(Method::GET, &token, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], ADMIN_EMAIL);

    // Never shown again, never stored in clear.
    let again = admin
        .get(app.url("/profile"))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("body");
    assert!(again.contains("RMM sync") && !again.contains(&token));
    // Told apart by its prefix (issue 13, item 11), with its last use, which the call above made.
    let prefix = &token[..11];
    let row = again.split("<td>RMM sync</td>").nth(1).expect("row");
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains(&format!("{prefix}…")), "{row}");
    assert!(row.contains("class=\"pv-token-used\"><time"), "last use shown: {row}");
    let kept: String = app
        .raw_db()
        .query_row("SELECT prefix FROM api_tokens", [], |r| r.get(0))
        .expect("prefix");
    assert_eq!(kept, prefix, "only the prefix is kept");
    let reloaded = admin
        .get(app.url(&shown_at))
        .send()
        .await
        .expect("reload")
        .text()
        .await
        .expect("body");
    assert!(
        !reloaded.contains(&token),
        "shown once: a reload does not show it again"
    );
    let count: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM api_tokens WHERE name = 'RMM sync'", [], |r| {
            r.get(0)
        })
        .expect("q");
    assert_eq!(count, 1, "one token, however often the page is reloaded");
    let stored: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM api_tokens WHERE token_hash = ?1", [&token], |r| {
            r.get(0)
        })
        .expect("q");
    assert_eq!(stored, 0);

    let id: String = app
        .raw_db()
        .query_row("SELECT id FROM api_tokens", [], |r| r.get(0))
        .expect("id");
    let res = admin
        .post(app.url(&format!("/profile/tokens/{id}/revoke")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, body) = app.api(Method::GET, &token, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn the_api_accepts_only_bearer_tokens_and_answers_errors_in_its_shape() {
    let app = spawn_app().await;
    let (admin, _) = app.setup_admin().await;
    // A browser session does not authenticate the API (which therefore needs no CSRF check).
    let res = admin.get(app.url("/api/v1/me")).send().await.expect("me");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = app.api(Method::GET, "pv_not-a-real-token", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].is_string());
    let token = app.token_for(ADMIN_EMAIL).await;
    let (status, body) = app.api(Method::GET, &token, "/api/v1/nothing-here", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

/// Issue 13, item 11, in the browser: reloading the page that shows a new token does not
/// create a second one (the POST is answered with a redirect), nor show the token again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_after_creating_a_token_in_the_browser_makes_no_second_one() {
    let Some(b) = crate::browser::Browser::start().await else {
        return;
    };
    let (app, token, sim) = crate::ops::admin_app().await;
    crate::ops::sim_tenant(&app, &token, &sim, "Adatum", 1, None).await;
    let mut shown = (String::new(), String::new());
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url("/profile")).await?;
        b.client
            .find(fantoccini::Locator::Css(
                "form[action='/profile/tokens'] input[name=name]",
            ))
            .await?
            .send_keys("Reloaded")
            .await?;
        b.client
            .find(fantoccini::Locator::XPath("//button[normalize-space()='Create token']"))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(fantoccini::Locator::Css("[data-testid=new-token]"))
            .await?;
        shown.0 = b.text_of("[data-testid=new-token]").await;
        b.client.refresh().await?;
        b.client.wait().for_element(fantoccini::Locator::Css("h1")).await?;
        shown.1 = b.text_of("body").await;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("token reload", &e).await;
    }
    b.close().await;
    assert!(shown.0.starts_with("pv_"), "the new token is shown once: {shown:?}");
    assert!(!shown.1.contains(&shown.0), "not shown again after the reload");
    let count: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM api_tokens WHERE name = 'Reloaded'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(count, 1, "the reload made no second token");
}
