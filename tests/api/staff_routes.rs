//! Every staff route and method against every kind of visitor, from one table (docs/staff.md,
//! "Routes and roles", says the same): anonymous → the login page; each role → allowed (the
//! status the table gives, for the table's harmless form) or 403; a POST without its CSRF token
//! → refused; a disabled account's session stops at once; lockout after repeated failures; when
//! admins require a second factor, a session without one opens only the account page.
//!
//! Adding a route: add one line to `ROUTES`. `{ref}` is a verified request's reference, `{staff}`
//! another staff member's id, `{task}` and `{notice}` ids that do not exist (the role is checked
//! before the id is looked up).

use dossier::domain::Role;

use crate::helpers::{Browser, Response, TestApp, enrol_totp, staff_password_step};
use crate::on_both_backends;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}
use Method::{Get, Post};

#[derive(Debug, Clone, Copy)]
enum Who {
    /// No session needed (the login itself); `ok` is what an anonymous visitor gets.
    Public,
    /// Any signed-in staff member (signing out).
    SignedIn,
    /// These roles; the others get 403.
    Roles(&'static [Role]),
}

const ALL: Who = Who::Roles(&[Role::Admin, Role::Agent, Role::Auditor]);
const ACTORS: Who = Who::Roles(&[Role::Admin, Role::Agent]);
const ADMINS: Who = Who::Roles(&[Role::Admin]);

struct Route {
    method: Method,
    path: &'static str,
    who: Who,
    /// The status an allowed visitor gets for this request (POSTs send the table's form with a
    /// valid CSRF token; an empty form is refused with a message, or changes nothing that matters).
    ok: u16,
    form: &'static [(&'static str, &'static str)],
}

const fn get(path: &'static str, who: Who, ok: u16) -> Route {
    Route { method: Get, path, who, ok, form: &[] }
}
const fn post(path: &'static str, who: Who, ok: u16, form: &'static [(&'static str, &'static str)]) -> Route {
    Route { method: Post, path, who, ok, form }
}

/// One line per route and method.
const ROUTES: &[Route] = &[
    // Signing in
    get("/staff/login", Who::Public, 200),
    post("/staff/login", Who::Public, 401, &[("email", "x@exemple.test"), ("password", "wrong")]),
    get("/staff/login/code", Who::Public, 303),
    post("/staff/login/code", Who::Public, 303, &[("code", "000000")]),
    post("/staff/logout", Who::SignedIn, 303, &[]),
    // The queue, one request, the register
    get("/staff", ALL, 200),
    post("/staff/search", ALL, 303, &[("q", "DSR-2026-000001")]),
    get("/staff/register.csv?from=2026-03-01&to=2026-03-31", ALL, 200),
    get("/staff/dashboard", ALL, 200),
    get("/staff/requests/{ref}", ALL, 200),
    get("/staff/requests/{ref}/data", ALL, 200),
    post("/staff/requests/{ref}/assign", ACTORS, 303, &[("assignee", "")]),
    post("/staff/requests/{ref}/note", ACTORS, 303, &[("reason", "")]),
    post("/staff/requests/{ref}/extend", ACTORS, 303, &[("reason", "")]),
    post("/staff/requests/{ref}/deny", ACTORS, 303, &[("ground", ""), ("reason", "")]),
    post("/staff/requests/{ref}/complete", ACTORS, 303, &[]),
    post("/staff/requests/{ref}/cancel", ACTORS, 303, &[("reason", "")]),
    post("/staff/requests/{ref}/clarify", ACTORS, 303, &[("reason", "")]),
    post("/staff/requests/{ref}/close_question", ACTORS, 303, &[]),
    post("/staff/requests/{ref}/review", ACTORS, 303, &[]),
    post("/staff/requests/{ref}/retry", ACTORS, 303, &[]),
    post("/staff/requests/{ref}/recipients/{notice}", ACTORS, 303, &[]),
    // Requests received another way; tasks for staff
    get("/staff/intake", ACTORS, 200),
    post("/staff/intake", ACTORS, 400, &[]),
    get("/staff/tasks", ALL, 200),
    get("/staff/tasks/{task}", ALL, 404),
    post("/staff/tasks/{task}/files", ACTORS, 404, &[]),
    post("/staff/tasks/{task}/complete", ACTORS, 400, &[]),
    post("/staff/tasks/{task}/files/0/remove", ACTORS, 404, &[]),
    // One's own account (every role)
    get("/staff/account", ALL, 200),
    post("/staff/account/password", ALL, 400, &[("current", ""), ("new", ""), ("confirm", "")]),
    post("/staff/account/totp/start", ALL, 303, &[]),
    post("/staff/account/totp/confirm", ALL, 400, &[("code", "")]),
    // Staff and settings (admins)
    get("/staff/admin/staff", ADMINS, 200),
    post("/staff/admin/staff", ADMINS, 400, &[("email", ""), ("role", "")]),
    post("/staff/admin/staff/{staff}/role", ADMINS, 303, &[("role", "agent")]),
    post("/staff/admin/staff/{staff}/disable", ADMINS, 303, &[]),
    post("/staff/admin/staff/{staff}/enable", ADMINS, 303, &[]),
    post("/staff/admin/staff/{staff}/reset-totp", ADMINS, 303, &[]),
    post("/staff/admin/settings", ADMINS, 303, &[]),
];

struct Ids {
    reference: String,
    staff: String,
}

impl Route {
    fn url(&self, ids: &Ids) -> String {
        self.path
            .replace("{ref}", &ids.reference)
            .replace("{staff}", &ids.staff)
            .replace("{task}", "0")
            .replace("{notice}", "0")
    }

    fn allows(&self, role: Role) -> bool {
        match self.who {
            Who::Public | Who::SignedIn => true,
            Who::Roles(roles) => roles.contains(&role),
        }
    }

    fn has_dummy_id(&self) -> bool {
        self.path.contains("{task}") || self.path.contains("{notice}")
    }

    fn is_account_page(&self) -> bool {
        self.path.starts_with("/staff/account")
    }

    /// Sends the request with `browser`, with a valid CSRF token on a POST unless `csrf` is false.
    async fn send(&self, browser: &Browser, ids: &Ids, csrf: bool) -> Response {
        let url = self.url(ids);
        match self.method {
            Get => browser.get(&url).await,
            Post => {
                let token = browser.csrf("/").await;
                let mut form = self.form.to_vec();
                if csrf {
                    form.push(("csrf", &token));
                }
                browser.post(&url, &form).await
            }
        }
    }
}

fn redirected_to(res: &Response, to: &str) -> bool {
    res.status == 303 && res.header("location") == Some(to)
}

const NOT_ALLOWED: &str = "Your role does not allow this";
const FORM_EXPIRED: &str = "This form has expired";

async fn staff(app: &TestApp, email: &str, role: Role) -> (Browser, String) {
    let id = app.add_staff(email, role).await.id;
    let browser = Browser::new(app.address.clone());
    let res = staff_password_step(&browser, email, crate::helpers::STAFF_PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.text());
    (browser, id)
}

async fn every_route_checks_the_visitor_as_documented(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    let (admin, _) = staff(&app, "admin@exemple.test", Role::Admin).await;
    let (agent, _) = staff(&app, "agent@exemple.test", Role::Agent).await;
    let (auditor, _) = staff(&app, "audit@exemple.test", Role::Auditor).await;
    let target = app.add_staff("target@exemple.test", Role::Agent).await.id;
    let ids = Ids { reference, staff: target };
    let signed_in_routes = || ROUTES.iter().filter(|r| !matches!(r.who, Who::Public));

    // Anonymous: the login page for everything but the login itself.
    let anonymous = Browser::new(app.address.clone());
    for route in ROUTES {
        let res = route.send(&anonymous, &ids, true).await;
        match route.who {
            Who::Public => {
                assert_eq!(res.status, route.ok, "anonymous {:?} {}: {}", route.method, route.path, res.text())
            }
            _ => assert!(
                redirected_to(&res, "/staff/login"),
                "anonymous {:?} {}: {}",
                route.method,
                route.path,
                res.status
            ),
        }
    }

    // Each role: allowed (with the table's status) or 403 — signing out last. Every mismatch is
    // listed before the test fails, so a new route's line is fixed in one run.
    let mut wrong = Vec::new();
    for (browser, role) in [(&admin, Role::Admin), (&agent, Role::Agent), (&auditor, Role::Auditor)] {
        for route in signed_in_routes().filter(|r| !matches!(r.who, Who::SignedIn)) {
            let res = route.send(browser, &ids, true).await;
            let what = format!("{role} {:?} {}", route.method, route.path);
            if route.allows(role) {
                if res.status != route.ok || redirected_to(&res, "/staff/login") {
                    wrong.push(format!("{what}: {} (expected {})", res.status, route.ok));
                }
            } else if res.status != 403 || !res.text().contains(NOT_ALLOWED) {
                wrong.push(format!("{what}: {} (expected 403, role not allowed)", res.status));
            }
        }
        assert_eq!(browser.get("/staff").await.status, 200, "{role}: still signed in");
    }
    assert!(wrong.is_empty(), "routes answering otherwise than documented:\n{}", wrong.join("\n"));

    // A POST without its CSRF token changes nothing, for a role that may send it. (A route whose
    // id does not exist may say so first: a multipart form's token is read after its target.)
    for route in ROUTES.iter().filter(|r| r.method == Post) {
        let res = route.send(&admin, &ids, false).await;
        if res.status == 404 && route.has_dummy_id() {
            continue;
        }
        assert_eq!(res.status, 403, "no CSRF {}", route.path);
        assert!(res.text().contains(FORM_EXPIRED), "no CSRF {}: {}", route.path, res.text());
    }
    assert_eq!(admin.get("/staff").await.status, 200, "signing out needs the token too");

    // A disabled account's session stops at once, on every route.
    let agent_id: String = sqlx::query_scalar("SELECT id FROM staff WHERE email = 'agent@exemple.test'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let csrf = admin.csrf("/").await;
    let res = admin.post(&format!("/staff/admin/staff/{agent_id}/disable"), &[("csrf", &csrf)]).await;
    assert!(res.location().ends_with("done=disable"), "{}", res.location());
    for route in signed_in_routes() {
        let res = route.send(&agent, &ids, true).await;
        assert!(redirected_to(&res, "/staff/login"), "disabled {:?} {}: {}", route.method, route.path, res.status);
    }

    // Second factor required: a session without one gets the account page only. The matrix's
    // posts without the admin's password counted as wrong ones and locked them out: forgotten.
    sqlx::query("DELETE FROM staff_login_failures").execute(app.app.store.pool()).await.unwrap();
    let res = admin
        .post(
            "/staff/admin/settings",
            &[("csrf", &csrf), ("require_totp", "1"), ("current", crate::helpers::STAFF_PASSWORD)],
        )
        .await;
    assert!(res.location().ends_with("done=settings"), "{}", res.location());
    for route in signed_in_routes().filter(|r| !r.is_account_page() && !matches!(r.who, Who::SignedIn)) {
        let res = route.send(&auditor, &ids, true).await;
        assert!(redirected_to(&res, "/staff/account"), "no TOTP {:?} {}: {}", route.method, route.path, res.status);
    }
    let page = auditor.get("/staff/account").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Your organisation requires two-step sign-in"), "{}", page.text());
    assert!(!page.text().contains("/staff/account/password"), "nothing else, not even the password form");
    assert!(redirected_to(&admin.get("/staff/admin/staff").await, "/staff/account"), "admins too");
    enrol_totp(&app, &auditor).await;
    assert_eq!(auditor.get("/staff").await.status, 200, "enrolled: the workspace opens");
    assert_eq!(auditor.get("/staff/admin/staff").await.status, 403, "and roles apply again");

    // Signing out ends the session.
    let res = ROUTES.iter().find(|r| matches!(r.who, Who::SignedIn)).unwrap().send(&auditor, &ids, true).await;
    assert!(redirected_to(&res, "/staff/login"));
    assert!(redirected_to(&auditor.get("/staff").await, "/staff/login"));
}
on_both_backends!(every_route_checks_the_visitor_as_documented);

async fn repeated_failures_lock_an_address_even_with_the_right_password(app: TestApp) {
    app.add_staff("agent@exemple.test", Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    for _ in 0..dossier::services::staff::FAILURES_BEFORE_LOCK {
        assert_eq!(staff_password_step(&browser, "agent@exemple.test", "a wrong guess").await.status, 401);
    }
    let res = staff_password_step(&browser, "agent@exemple.test", crate::helpers::STAFF_PASSWORD).await;
    assert_eq!(res.status, 401);
    assert!(res.text().contains("Try again in 1 minute"), "{}", res.text());
    assert!(redirected_to(&browser.get("/staff").await, "/staff/login"));
}
on_both_backends!(repeated_failures_lock_an_address_even_with_the_right_password);
