//! Small hardenings from the attack of issue 16: cacheable responses carry no cookie.

use crate::helpers::{Browser, Options, spawn_with};

/// `/static/*` is `public, max-age=31536000, immutable`: a shared cache keeps it and hands it to
/// everyone. It used to carry a `Set-Cookie` (a new visitor's CSRF seed, or the language chosen
/// with `?lang=`), which a cache would give every later visitor. Pages still set theirs.
#[actix_web::test]
async fn cacheable_static_files_set_no_cookie() {
    let app = spawn_with(Options::default()).await.unwrap();
    for path in ["/static/style.css", "/static/status.js", "/static/style.css?lang=fr"] {
        // A fresh browser: no CSRF seed yet, which is when a page would set one.
        let browser = Browser::new(app.address.clone());
        let res = browser.get(path).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
        assert_eq!(res.header("set-cookie"), None, "{path}");
    }
    // The same fresh visitor's first page still gets its CSRF seed and its language, and the
    // form it shows works.
    let browser = Browser::new(app.address.clone());
    let page = browser.get("/?lang=fr").await;
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let cookies = page.header("set-cookie").expect("a page sets its cookies");
    assert!(cookies.contains("dossier_lang=fr"), "{cookies}");
    assert_eq!(cookies.lines().count(), 2, "the CSRF seed and the language: {cookies}");
    let res = browser.submit_request("jeanne.martin@example.fr", "access").await;
    assert_eq!(res.status, 303, "{}", res.text());
}
