//! Staff sign-in under attack (issue 16, items 1, 5 and 6): a flood of wrong logins against the
//! real `dossier` process keeps its memory bounded and the right password working; an attacker's
//! wrong passwords lock their own network out, never the account's owner on another one; and a
//! session alone cannot put a second factor on an account.

use std::path::Path;
use std::process::{Command, Stdio};

use dossier::domain::{EmailAddress, Role};
use futures_util::StreamExt;

use crate::helpers::{Browser, Response, TempDir, TestApp, staff_password_step, totp_code};
use crate::load::driver::start_dossier;
use crate::on_both_backends;

const BIN: &str = env!("CARGO_BIN_EXE_dossier");
const OWNER: &str = "dpo@exemple.test";
const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "do not match an active account";
const BUSY: &str = "Sign-in is very busy right now";

/// The staff login, sent by a trusted proxy (127.0.0.1) for the client `forwarded_for`.
async fn login_from(browser: &Browser, email: &str, password: &str, forwarded_for: &str) -> Response {
    let csrf = browser.csrf("/staff/login").await;
    browser
        .post_with(
            "/staff/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
            &[("X-Forwarded-For", forwarded_for)],
        )
        .await
}

// ---------------------------------------------------------------------------------------------
// Item 1: memory stays bounded under a flood of wrong logins, on the real process.

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB")
}

fn run_cli(config: &Path, keys: &(String, String), args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("DOSSIER_SECRET_KEY", &keys.0)
        .env("DOSSIER_EXPORT_KEY", &keys.1)
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the dossier command starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dossier {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// 200 wrong logins, 16 at a time, each for its own unknown address from its own network (so no
/// lock and no per-IP limit stops any of them: every one costs a full argon2 check), then the
/// right password. The process's peak memory stays under 256 MiB (the old code grew by 19 MiB
/// buffers the allocator kept), no answer is an error, a busy answer never says "wrong password",
/// and the right password still opens the workspace.
#[actix_web::test]
async fn a_flood_of_wrong_logins_keeps_memory_bounded_and_the_right_password_working() {
    let tmp = TempDir::new("login-flood");
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.0.join("dossier.toml");
    let text = format!(
        "{}\n[security]\ncookie_secure = false\ntrusted_proxies = [\"127.0.0.1\"]\n",
        crate::helpers::base_config(&data).replacen("[controller]", "default_locale = \"en\"\n\n[controller]", 1)
    );
    std::fs::write(&config, text).unwrap();
    let keys = (dossier::crypto::SecretKey::generate().to_base64(), dossier::crypto::SecretKey::generate().to_base64());
    run_cli(&config, &keys, &["staff", "add", "--email", OWNER, "--role", "admin"], &format!("{PASSWORD}\n"));

    let server = crate::faults::Server::start(&config, &keys, tmp.0.join("serve.log")).await;
    let pid = server.pid();
    let browser = Browser::new(server.address.clone());
    let before = peak_rss_kib(pid);

    let csrf = browser.csrf("/staff/login").await;
    let attempts: Vec<(String, String)> =
        (0..200).map(|i| (format!("nobody{i}@exemple.test"), format!("198.18.{i}.7"))).collect();
    let answers: Vec<Response> = futures_util::stream::iter(attempts.iter())
        .map(|(email, ip)| {
            let (browser, csrf) = (&browser, &csrf);
            async move {
                browser
                    .post_with(
                        "/staff/login",
                        &[("email", email.as_str()), ("password", "a wrong guess"), ("csrf", csrf.as_str())],
                        &[("X-Forwarded-For", ip.as_str())],
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let (mut wrong, mut busy) = (0, 0);
    for res in &answers {
        match res.status {
            401 => {
                assert!(res.text().contains(WRONG), "{}", res.text());
                wrong += 1;
            }
            503 => {
                assert!(res.text().contains(BUSY) && !res.text().contains(WRONG), "{}", res.text());
                busy += 1;
            }
            other => panic!("answer {other}: {}", res.text()),
        }
    }
    assert_eq!(wrong + busy, 200);
    assert!(wrong >= 100, "most wrong logins were checked ({wrong} checked, {busy} busy)");

    let ok = login_from(&browser, OWNER, PASSWORD, "192.0.2.10").await;
    assert_eq!((ok.status, ok.location()), (303, "/staff".to_owned()), "{}", ok.text());
    assert_eq!(browser.get("/staff").await.status, 200);
    let peak = peak_rss_kib(pid);
    eprintln!("peak resident memory: {} MiB before the flood, {} MiB after", before / 1024, peak / 1024);
    assert!(
        peak < 256 * 1024,
        "peak resident memory {} MiB after 200 wrong logins (before them: {} MiB)",
        peak / 1024,
        before / 1024
    );
    drop(server);
}

// ---------------------------------------------------------------------------------------------
// Item 5: an attacker locks their own network out, not the owner.

async fn attacker_locks_only_their_network(database_url: Option<String>) {
    let dir = TempDir::new("staff-lockout");
    let dossier = start_dossier(&dir.0, database_url, 0, |_| {}).await.unwrap();
    let owner = EmailAddress::parse(OWNER).unwrap();
    dossier::services::staff::create(&dossier.app.store, &owner, "DPO", Role::Admin, PASSWORD, dossier.app.now_ms())
        .await
        .unwrap();
    let address = format!("http://{}", dossier.addr);

    // Five wrong passwords from addresses of one /24 lock that network out for this address…
    let attacker = Browser::new(address.clone());
    for last in [7, 8, 9, 10, 11] {
        let res = login_from(&attacker, OWNER, "a wrong guess", &format!("203.0.113.{last}")).await;
        assert_eq!(res.status, 401);
    }
    let locked = login_from(&attacker, OWNER, PASSWORD, "203.0.113.200").await;
    assert_eq!(locked.status, 401, "even the right password, from the attacker's network");
    assert!(locked.text().contains("from your network. Try again in 1 minute"), "{}", locked.text());

    // …while the owner, on another network, signs in with the right password.
    let owner_browser = Browser::new(address.clone());
    let res = login_from(&owner_browser, OWNER, PASSWORD, "198.51.100.20").await;
    assert_eq!((res.status, res.location()), (303, "/staff".to_owned()), "{}", res.text());

    // The lock is in the audit trail, and admins see the attempts, the network masked.
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_events WHERE event = 'staff_login_locked' ORDER BY chain_seq")
            .fetch_one(dossier.app.store.pool())
            .await
            .unwrap();
    assert!(detail.contains("\"network\":\"203.0.113.0/24\"") && detail.contains("\"failures\":5"), "{detail}");
    let page = owner_browser.get("/staff/admin/staff").await.text();
    let row = page.split("class=\"failed-logins\"").nth(1).unwrap().split("</td>").next().unwrap();
    assert!(row.contains("5 failed") && row.contains("203.0.113.0/24 (5)") && row.contains("locked until"), "{row}");
    assert!(!page.contains("203.0.113.7") && !page.contains("198.51.100"), "addresses are shown masked: {row}");

    // The attacker's other guesses stay refused, and the owner's session is untouched.
    assert_eq!(login_from(&attacker, OWNER, "another guess", "203.0.113.50").await.status, 401);
    assert_eq!(owner_browser.get("/staff").await.status, 200);
    dossier.stop().await;
}

#[actix_web::test]
async fn an_attacker_locks_only_their_own_network_on_sqlite() {
    attacker_locks_only_their_network(None).await;
}

#[actix_web::test]
async fn an_attacker_locks_only_their_own_network_on_postgres() {
    let Some(db) = crate::helpers::fresh_postgres_database().await else { return };
    attacker_locks_only_their_network(Some(db.database_url())).await;
    drop(db);
}

// ---------------------------------------------------------------------------------------------
// Item 6: a session alone cannot enrol a second factor.

async fn a_first_second_factor_takes_the_password(app: TestApp) {
    app.add_staff(OWNER, Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&browser, OWNER, PASSWORD).await.location(), "/staff");
    let csrf = browser.csrf("/").await;
    assert_eq!(browser.post("/staff/account/totp/start", &[("csrf", &csrf)]).await.status, 303);
    let page = browser.get("/staff/account").await.text();
    assert!(page.contains("id=\"totp-current\" name=\"current\""), "the first enrolment asks for the password");
    let shown = page.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let secret = dossier::crypto::totp::base32_decode(&shown).unwrap();

    let active = || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT totp_secret FROM staff")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap()
    };
    for (form, says) in [
        (vec![("csrf", csrf.as_str()), ("code", "")], "current password is not right"),
        (vec![("csrf", csrf.as_str()), ("current", "")], "current password is not right"),
        (vec![("csrf", csrf.as_str()), ("current", "not my password")], "current password is not right"),
    ] {
        let code = totp_code(&app, &secret, 0);
        let mut form = form;
        if !form.iter().any(|(k, _)| *k == "code") {
            form.push(("code", &code));
        }
        let res = browser.post("/staff/account/totp/confirm", &form).await;
        assert_eq!(res.status, 400, "{form:?}");
        assert!(res.text().contains(says), "{form:?}: {}", res.text());
        assert_eq!(active().await, None, "nothing changed: {form:?}");
    }
    let enabled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_totp_enabled'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(enabled, 0);
    // The next sign-in still asks for the password alone.
    let other = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&other, OWNER, PASSWORD).await.location(), "/staff");

    let code = totp_code(&app, &secret, 0);
    let res =
        browser.post("/staff/account/totp/confirm", &[("csrf", &csrf), ("code", &code), ("current", PASSWORD)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(active().await.is_some(), "on with the right password and code");
    let later = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&later, OWNER, PASSWORD).await.location(), "/staff/login/code");
}
on_both_backends!(a_first_second_factor_takes_the_password);

// ---------------------------------------------------------------------------------------------
// Item 1: a login that cannot get a password slot is told to try again, never "wrong password".

/// Every password slot held (as by a flood of checks in progress): the login waits its few
/// seconds, then answers 503 in the person's language, counts nothing, and works once a slot
/// is free again.
async fn a_login_that_waits_too_long_is_told_to_try_again(app: TestApp) {
    app.add_staff(OWNER, Role::Agent).await;
    let passwords = &app.app.passwords;
    let mut held = Vec::new();
    for _ in 0..passwords.slots() {
        held.push(passwords.reserve().await.unwrap());
    }
    let browser = Browser::new(app.address.clone());
    let res = staff_password_step(&browser, OWNER, PASSWORD).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert!(res.text().contains(BUSY) && !res.text().contains(WRONG), "{}", res.text());
    assert_eq!(res.header("retry-after"), Some("3"));
    let fr = Browser::new(app.address.clone());
    let csrf = fr.csrf("/staff/login").await;
    let res = fr
        .post_with(
            "/staff/login",
            &[("email", OWNER), ("password", PASSWORD), ("csrf", &csrf)],
            &[("Accept-Language", "fr-FR,fr;q=0.9")],
        )
        .await;
    assert_eq!(res.status, 503);
    assert!(res.text().contains("La connexion est très sollicitée"), "{}", res.text());
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_login_failures").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(counted, 0, "a busy answer counts no failure");
    drop(held);
    assert_eq!(staff_password_step(&browser, OWNER, PASSWORD).await.location(), "/staff");
}
on_both_backends!(a_login_that_waits_too_long_is_told_to_try_again);

// ---------------------------------------------------------------------------------------------
// Review r1, item 4: a session alone cannot guess the password without limit.

const TOO_MANY: &str = "Too many wrong passwords for this account from your network";

/// Wrong current passwords on the account page count toward the login's lockout: after five, even
/// the right one is refused from that network (nothing changed), and so is a login from it; the
/// owner on another network is untouched.
async fn a_session_cannot_guess_the_password_without_limit(app: TestApp) {
    app.add_staff(OWNER, Role::Agent).await;
    let stolen = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&stolen, OWNER, PASSWORD).await.location(), "/staff");
    let csrf = stolen.csrf("/").await;
    let change = |current: &'static str| {
        let (stolen, csrf) = (&stolen, csrf.clone());
        async move {
            let new = "a brand new passphrase";
            let form = [("csrf", csrf.as_str()), ("current", current), ("new", new), ("confirm", new)];
            stolen.post("/staff/account/password", &form).await
        }
    };
    for guess in ["guess one", "guess two", "guess three", "guess four", "guess five"] {
        let res = change(guess).await;
        assert_eq!(res.status, 400, "{}", res.text());
        assert!(res.text().contains("current password") && !res.text().contains(TOO_MANY), "{}", res.text());
    }
    let res = change(PASSWORD).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.text().contains(TOO_MANY), "{}", res.text());
    // The second factor's page is refused as well, before any password is checked.
    assert_eq!(stolen.post("/staff/account/totp/start", &[("csrf", &csrf)]).await.status, 303);
    let res =
        stolen.post("/staff/account/totp/confirm", &[("csrf", &csrf), ("code", "123456"), ("current", PASSWORD)]).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.text().contains(TOO_MANY), "{}", res.text());
    // Nothing changed: the old password still opens the account, but not from the locked network.
    let here = Browser::new(app.address.clone());
    let res = staff_password_step(&here, OWNER, PASSWORD).await;
    assert_eq!(res.status, 401, "the lockout is the login's: {}", res.text());
    let locked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_login_locked'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert!(locked >= 1, "the lock is in the audit trail");
    let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_password_changed'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(changed, 0);
    app.clock.advance(time::Duration::minutes(2));
    assert_eq!(staff_password_step(&here, OWNER, PASSWORD).await.location(), "/staff", "the lock runs out");
}
on_both_backends!(a_session_cannot_guess_the_password_without_limit);

/// A right current password clears the failures it follows (as a login does).
async fn a_right_password_clears_the_failures(app: TestApp) {
    app.add_staff(OWNER, Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&browser, OWNER, PASSWORD).await.location(), "/staff");
    let csrf = browser.csrf("/").await;
    let new = "a brand new passphrase";
    for _ in 0..4 {
        let res = browser
            .post("/staff/account/password", &[("csrf", &csrf), ("current", "nope"), ("new", new), ("confirm", new)])
            .await;
        assert_eq!(res.status, 400);
    }
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_login_failures").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(counted, 1, "the wrong passwords are counted");
    let res = browser
        .post("/staff/account/password", &[("csrf", &csrf), ("current", PASSWORD), ("new", new), ("confirm", new)])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_login_failures").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(counted, 0, "and cleared by the right one");
}
on_both_backends!(a_right_password_clears_the_failures);

// ---------------------------------------------------------------------------------------------
// Review r1, item 11b: a session alone cannot add accounts nor change roles.

async fn adding_a_member_or_changing_a_role_takes_the_admins_password(app: TestApp) {
    app.add_staff(OWNER, Role::Admin).await;
    let agent_id = app.add_staff("agent@exemple.test", Role::Agent).await.id;
    let admin = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&admin, OWNER, PASSWORD).await.location(), "/staff");
    let page = admin.get("/staff/admin/staff").await.text();
    assert!(page.contains("id=\"add-current\" name=\"current\""), "the add form asks for the password");
    let csrf = admin.csrf("/").await;
    let staff_count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM staff").fetch_one(app.app.store.pool()).await.unwrap()
    };
    for current in [None, Some("not my password")] {
        let mut form = vec![("csrf", csrf.as_str()), ("email", "evil@exemple.test"), ("role", "admin")];
        form.extend(current.map(|c| ("current", c)));
        let res = admin.post("/staff/admin/staff", &form).await;
        assert_eq!(res.status, 400, "{}", res.text());
        assert!(res.text().contains("your own password is not right"), "{}", res.text());
        assert!(!res.text().contains("not my password"), "the password is not sent back");
        assert_eq!(staff_count().await, 2, "nothing created");
    }
    let role = || async {
        sqlx::query_scalar::<_, String>("SELECT role FROM staff WHERE id = $1")
            .bind(&agent_id)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap()
    };
    let path = format!("/staff/admin/staff/{agent_id}/role");
    for form in
        [vec![("csrf", csrf.as_str()), ("role", "admin")], vec![("csrf", &csrf), ("role", "admin"), ("current", "x")]]
    {
        let res = admin.post(&path, &form).await;
        assert!(res.location().ends_with("refused=password"), "{}", res.location());
        assert!(admin.get(&res.location()).await.text().contains("your own password is not right"));
        assert_eq!(role().await, "agent", "nothing changed");
    }
    let res = admin.post(&path, &[("csrf", &csrf), ("role", "admin"), ("current", PASSWORD)]).await;
    assert!(res.location().ends_with("done=role"), "{}", res.location());
    assert_eq!(role().await, "admin");
    let res = admin
        .post(
            "/staff/admin/staff",
            &[("csrf", &csrf), ("email", "new@exemple.test"), ("role", "agent"), ("current", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(staff_count().await, 3);
}
on_both_backends!(adding_a_member_or_changing_a_role_takes_the_admins_password);

// ---------------------------------------------------------------------------------------------
// Review r2, item 7: a session alone can neither re-enable an account nor change the two-step
// sign-in requirement.

async fn re_enabling_or_the_two_step_setting_takes_the_admins_password(app: TestApp) {
    app.add_staff(OWNER, Role::Admin).await;
    let agent_id = app.add_staff("agent@exemple.test", Role::Agent).await.id;
    let admin = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&admin, OWNER, PASSWORD).await.location(), "/staff");
    let csrf = admin.csrf("/").await;
    let res = admin.post(&format!("/staff/admin/staff/{agent_id}/disable"), &[("csrf", &csrf)]).await;
    assert!(res.location().ends_with("done=disable"), "{}", res.location());
    let page = admin.get("/staff/admin/staff").await.text();
    assert!(page.contains(&format!("id=\"enable-current-{agent_id}\" name=\"current\"")), "enable asks for it");
    assert!(page.contains("id=\"settings-current\" name=\"current\""), "the settings ask for it");
    let disabled = || async {
        sqlx::query_scalar::<_, i32>("SELECT disabled FROM staff WHERE id = $1")
            .bind(&agent_id)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap()
    };
    let path = format!("/staff/admin/staff/{agent_id}/enable");
    for form in [vec![("csrf", csrf.as_str())], vec![("csrf", &csrf), ("current", "not my password")]] {
        let res = admin.post(&path, &form).await;
        assert!(res.location().ends_with("refused=password"), "{}", res.location());
        assert!(admin.get(&res.location()).await.text().contains("your own password is not right"));
        assert_eq!(disabled().await, 1, "still disabled");
        assert_eq!(
            staff_password_step(&Browser::new(app.address.clone()), "agent@exemple.test", PASSWORD).await.status,
            401
        );
    }
    let res = admin.post(&path, &[("csrf", &csrf), ("current", PASSWORD)]).await;
    assert!(res.location().ends_with("done=enable"), "{}", res.location());
    assert_eq!(disabled().await, 0);
    assert_eq!(
        staff_password_step(&Browser::new(app.address.clone()), "agent@exemple.test", PASSWORD).await.status,
        303
    );

    let required = || async { dossier::services::staff::totp_required(&app.app).await.unwrap() };
    for form in [
        vec![("csrf", csrf.as_str()), ("require_totp", "1")],
        vec![("csrf", &csrf), ("require_totp", "1"), ("current", "not my password")],
    ] {
        let res = admin.post("/staff/admin/settings", &form).await;
        assert!(res.location().ends_with("refused=password"), "{}", res.location());
        assert!(admin.get(&res.location()).await.text().contains("your own password is not right"));
        assert!(!required().await, "nothing changed");
    }
    let res =
        admin.post("/staff/admin/settings", &[("csrf", &csrf), ("require_totp", "1"), ("current", PASSWORD)]).await;
    assert!(res.location().ends_with("done=settings"), "{}", res.location());
    assert!(required().await);
}
on_both_backends!(re_enabling_or_the_two_step_setting_takes_the_admins_password);

// ---------------------------------------------------------------------------------------------
// Review r1, item 5: the per-client hourly limit counts an IPv6 /64 as one client.

async fn the_hourly_login_limit_counts_a_slash_64_once(database_url: Option<String>) {
    let dir = TempDir::new("staff-login-64");
    let dossier = start_dossier(&dir.0, database_url, 0, |_| {}).await.unwrap();
    let now = dossier.app.now_ms();
    for (email, role) in [(OWNER, Role::Admin), ("agent@exemple.test", Role::Agent)] {
        let email = EmailAddress::parse(email).unwrap();
        dossier::services::staff::create(&dossier.app.store, &email, "Staff", role, PASSWORD, now).await.unwrap();
    }
    let address = format!("http://{}", dossier.addr);
    let attacker = Browser::new(address.clone());
    // 60 logins in the hour from 60 addresses of one /64 (after five, refused by the lock alone).
    for i in 1..=60 {
        let res = login_from(&attacker, OWNER, "a wrong guess", &format!("2001:db8:1:2::{i:x}")).await;
        assert_eq!(res.status, 401, "{i}");
    }
    // The 61st, from yet another address of that /64, for another account and the right password:
    // refused by the hourly limit.
    let res = login_from(&attacker, "agent@exemple.test", PASSWORD, "2001:db8:1:2:ffff::1").await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert!(res.text().contains("Try again in"), "{}", res.text());
    // Another /64 is another client.
    let other = Browser::new(address.clone());
    let res = login_from(&other, "agent@exemple.test", PASSWORD, "2001:db8:1:3::1").await;
    assert_eq!((res.status, res.location()), (303, "/staff".to_owned()), "{}", res.text());
    dossier.stop().await;
}

#[actix_web::test]
async fn the_hourly_login_limit_counts_a_slash_64_once_on_sqlite() {
    the_hourly_login_limit_counts_a_slash_64_once(None).await;
}

#[actix_web::test]
async fn the_hourly_login_limit_counts_a_slash_64_once_on_postgres() {
    let Some(db) = crate::helpers::fresh_postgres_database().await else { return };
    the_hourly_login_limit_counts_a_slash_64_once(Some(db.database_url())).await;
    drop(db);
}
