//! First-run setup.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, browser, csrf_of, spawn_app};

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
        tasks.push(tokio::spawn(async move {
            let c = browser();
            let page = c.get(&setup).send().await.expect("get").text().await.expect("body");
            let email = format!("racer{i}@msp.test");
            let res = c
                .post(&setup)
                .form(&[
                    ("_csrf", csrf_of(&page).as_str()),
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
    let res = c
        .post(app.url("/setup"))
        .form(&[
            ("_csrf", csrf.as_str()),
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
