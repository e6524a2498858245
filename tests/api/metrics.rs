//! `/metrics`, `/ready` and `/health` as a monitoring system sees them: real scrapes, parsed by the
//! Prometheus client library's own parser (Python `prometheus_client`, installed by `.ci/run`),
//! and the token a scrape must carry.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use dossier::config::MetricsSettings;

use crate::helpers::{Browser, TestApp};
use crate::on_both_backends;

const TOKEN: &str = "metrics-token-for-the-tests-0123";

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// The exposition text as `prometheus_client.parser` reads it; panics when the parser refuses it.
/// `None` (the test skips, loudly) when the library is missing, unless services are required.
fn parse(text: &str) -> Option<Vec<Sample>> {
    let script = "import json, sys\n\
                  from prometheus_client.parser import text_string_to_metric_families as families\n\
                  out = [[s.name, s.labels, s.value] for f in families(sys.stdin.read()) for s in f.samples]\n\
                  print(json.dumps(out))\n";
    let available = Command::new("python3").args(["-c", "import prometheus_client"]).output();
    if !available.is_ok_and(|o| o.status.success()) {
        if std::env::var("DOSSIER_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("python3 with prometheus_client is missing (python3 -m pip install prometheus-client)");
        }
        eprintln!("skipped: python3 with prometheus_client is needed to parse the metrics");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the text:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, BTreeMap<String, String>, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    Some(rows)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|(_, _, v)| *v)
}

async fn scrape(browser: &Browser) -> Option<Vec<Sample>> {
    let res = browser.get_with("/metrics", &[("authorization", &format!("Bearer {TOKEN}"))]).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert!(!res.text().contains("jeanne"), "no personal data in the metrics");
    parse(&res.text())
}

fn enabled(listen: Option<std::net::SocketAddr>, token: Option<&str>) -> MetricsSettings {
    MetricsSettings { enabled: true, listen, token: token.map(|t| t.to_owned().into()) }
}

async fn metrics_count_requests_jobs_and_mail_behind_their_token(app: TestApp) {
    // Off by default.
    assert_eq!(app.get("/metrics").await.status, 404);
    assert_eq!(app.get("/ready").await.text(), r#"{"status":"ready"}"#);

    app.verified_request("jeanne.martin@example.fr", "access").await;
    let (_, browser) = app.instance_with(|s| s.metrics = enabled(None, Some(TOKEN))).await;
    assert_eq!(browser.get("/metrics").await.status, 401, "no token");
    let wrong = browser.get_with("/metrics", &[("authorization", "Bearer metrics-token-for-the-tests-0124")]).await;
    assert_eq!(wrong.status, 401, "a wrong token");
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer realm=\"dossier-metrics\""));

    let lower_case = browser.get_with("/metrics", &[("authorization", &format!("bearer  {TOKEN} "))]).await;
    assert_eq!(lower_case.status, 200, "the scheme is case-insensitive (RFC 7235)");

    let Some(before) = scrape(&browser).await else { return };
    // Verified: its collection is queued, the verification email delivered by the test helper.
    let verified = value(&before, "dossier_requests", &[("right", "access")]).expect("the access request");
    assert_eq!(verified, 1.0);
    let queued: f64 = before.iter().filter(|(n, _, _)| n == "dossier_jobs_queued").map(|(_, _, v)| v).sum();
    assert!(queued >= 1.0, "its jobs are queued: {before:?}");
    assert!(value(&before, "dossier_jobs_oldest_queued_age_seconds", &[]).is_some());
    assert_eq!(value(&before, "dossier_requests_overdue", &[]), Some(0.0));
    // Received on 10 March under the GDPR: due in April, not within 7 days.
    assert_eq!(value(&before, "dossier_requests_due_soon", &[("days", "7")]), Some(0.0));

    app.run_pending_jobs().await;
    let after = scrape(&browser).await.unwrap();
    assert_eq!(value(&after, "dossier_requests", &[("status", "ready"), ("right", "access")]), Some(1.0), "{after:?}");
    let queued: f64 = after.iter().filter(|(n, _, _)| n == "dossier_jobs_queued").map(|(_, _, v)| v).sum();
    assert_eq!(queued, 0.0, "{after:?}");
    assert_eq!(value(&after, "dossier_outbox_pending", &[]), Some(0.0));
    assert_eq!(value(&after, "dossier_outbox_oldest_age_seconds", &[]), Some(0.0));
    assert_eq!(value(&after, "dossier_source_runs", &[("source", "crm"), ("status", "done")]), Some(1.0), "{after:?}");

    // No sealer ran (the tests have no workers): the trail's events wait, visibly.
    let waiting = value(&after, "dossier_audit_unsealed_events", &[]).unwrap();
    assert!(waiting >= 1.0, "{after:?}");

    // Forty days on, past its due date: an answered request is not overdue.
    app.clock.advance(time::Duration::days(40));
    let later = scrape(&browser).await.unwrap();
    assert_eq!(value(&later, "dossier_requests_overdue", &[]), Some(0.0));
    // A sealer stuck for forty days shows in the age of the oldest unsealed event.
    let stuck = value(&later, "dossier_audit_oldest_unsealed_age_seconds", &[]).unwrap();
    assert!(stuck >= 40.0 * 86_400.0, "{stuck}");
    dossier::jobs::seal::run(&app.app).await.unwrap();
    let sealed = scrape(&browser).await.unwrap();
    assert_eq!(value(&sealed, "dossier_audit_unsealed_events", &[]), Some(0.0));
    assert_eq!(value(&sealed, "dossier_audit_oldest_unsealed_age_seconds", &[]), Some(0.0));
}
on_both_backends!(metrics_count_requests_jobs_and_mail_behind_their_token);

#[actix_web::test]
async fn metrics_on_their_own_address_keep_off_the_public_one() {
    let app = crate::helpers::spawn_with(Default::default()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}").parse().unwrap();
    let (_, public) = app.instance_with(|s| s.metrics = enabled(Some(listen), None)).await;
    assert_eq!(public.get("/metrics").await.status, 404, "not on the public address");
    let private = Browser::new(format!("http://127.0.0.1:{port}"));
    // No token configured: a separate address needs none.
    let res = private.get("/metrics").await;
    assert_eq!(res.status, 200);
    if let Some(samples) = parse(&res.text()) {
        assert_eq!(value(&samples, "dossier_outbox_pending", &[]), Some(0.0));
    }
    assert_eq!(private.get("/ready").await.status, 200);
    assert_eq!(private.get("/health").await.status, 200);
    assert_eq!(private.get("/").await.status, 404, "the portal is not served there");
}

#[test]
fn metrics_on_the_public_address_need_a_token() {
    let data = crate::helpers::TempDir::new("metrics-config");
    let path = data.0.join("dossier.toml");
    let config = crate::helpers::base_config(&data.0);
    let run = |extra: &str| {
        std::fs::write(&path, format!("{config}\n{extra}")).unwrap();
        Command::new(env!("CARGO_BIN_EXE_dossier"))
            .args(["migrate", "--config"])
            .arg(&path)
            .env("DOSSIER_SECRET_KEY", dossier::crypto::SecretKey::generate().to_base64())
            .env("DOSSIER_EXPORT_KEY", dossier::crypto::SecretKey::generate().to_base64())
            .env("DOSSIER_TEST_METRICS_TOKEN", "short")
            .env_remove("DOSSIER_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run("[metrics]\nenabled = true\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics on the public address need a token"), "{err}");
    let out = run("[metrics]\nenabled = true\ntoken_env = \"DOSSIER_TEST_METRICS_TOKEN\"\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));
    let out = run("[metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
