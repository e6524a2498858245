//! What operators' machines read: `/health` (liveness: the store answers), `/ready` (readiness:
//! and every migration this binary knows is applied — newer ones are allowed, as during a rolling
//! upgrade), and `/metrics` (Prometheus text format 0.0.4, see [`render`]).
//!
//! `/metrics` is off unless `[metrics] enabled`. On the public address it needs the configured
//! bearer token (the configuration refuses to start without one); on a separate `metrics.listen`
//! address the token is checked when one is configured. It reports counts, ages and source names,
//! never anything about a person.

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;

use crate::app::App;
use crate::store::metrics::{DUE_SOON_DAYS, Snapshot};

/// The routes of a separate metrics listener.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics_separate));
}

pub async fn health(app: web::Data<App>) -> HttpResponse {
    match sqlx::query("SELECT 1").execute(app.store.pool()).await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(_) => HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "database unavailable" })),
    }
}

pub async fn ready(app: web::Data<App>) -> HttpResponse {
    let applied = match app.store.conn().await {
        Ok(mut conn) => crate::store::metrics::applied_migrations(&mut conn).await,
        Err(e) => Err(e),
    };
    let Ok(applied) = applied else {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "database unavailable" }));
    };
    let missing: Vec<i64> =
        crate::store::Store::known_migrations().into_iter().filter(|v| !applied.contains(v)).collect();
    if missing.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "migrations not applied", "missing": missing }))
    }
}

/// `/metrics` on the public address: only when enabled there, and always behind the token.
pub async fn metrics_public(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    let m = &app.settings.metrics;
    if !m.enabled || m.listen.is_some() {
        return HttpResponse::NotFound().finish();
    }
    serve(&app, &req).await
}

async fn metrics_separate(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    serve(&app, &req).await
}

async fn serve(app: &App, req: &HttpRequest) -> HttpResponse {
    if let Some(token) = &app.settings.metrics.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        if !crate::crypto::constant_time_eq(given.as_bytes(), token.expose_secret().trim().as_bytes()) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"dossier-metrics\""))
                .finish();
        }
    }
    let now = app.now_ms();
    let snapshot = async {
        let today = app.zone.local_date(app.clock.now()).map_err(anyhow::Error::from)?;
        let mut conn = app.store.conn().await?;
        crate::store::metrics::snapshot(&mut conn, today, now).await
    };
    match snapshot.await {
        Ok(s) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(render(&s, now)),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "metrics could not be read");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// The snapshot in Prometheus text format. Every family is present even when it has no sample,
/// so dashboards and alerts see a zero rather than a gap.
pub fn render(s: &Snapshot, now: i64) -> String {
    let mut out = String::new();
    let age = |at: Option<i64>| at.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);

    family(&mut out, "dossier_requests", "Requests on record, by status and right.");
    for (status, kind, n) in &s.requests {
        sample(&mut out, "dossier_requests", &[("status", status), ("right", kind)], *n as f64);
    }
    family(&mut out, "dossier_requests_overdue", "Requests awaiting their answer past the due date, clock running.");
    sample(&mut out, "dossier_requests_overdue", &[], s.overdue as f64);
    family(
        &mut out,
        "dossier_requests_due_soon",
        "Requests awaiting their answer due today or within the next days (label days), clock running.",
    );
    sample(&mut out, "dossier_requests_due_soon", &[("days", &DUE_SOON_DAYS.to_string())], s.due_soon as f64);

    family(&mut out, "dossier_jobs_queued", "Jobs waiting to run, by kind (retries included).");
    for j in &s.jobs {
        sample(&mut out, "dossier_jobs_queued", &[("kind", &j.kind)], j.queued as f64);
    }
    family(&mut out, "dossier_jobs_running", "Jobs claimed by a worker, by kind.");
    for j in &s.jobs {
        sample(&mut out, "dossier_jobs_running", &[("kind", &j.kind)], j.running as f64);
    }
    family(&mut out, "dossier_jobs_dead", "Jobs that failed after their last attempt and need someone, by kind.");
    for j in &s.jobs {
        sample(&mut out, "dossier_jobs_dead", &[("kind", &j.kind)], j.dead as f64);
    }
    family(&mut out, "dossier_jobs_oldest_queued_age_seconds", "How long the oldest due job of each kind has waited.");
    for j in s.jobs.iter().filter(|j| j.queued > 0) {
        sample(&mut out, "dossier_jobs_oldest_queued_age_seconds", &[("kind", &j.kind)], age(j.oldest_due_at));
    }

    family(&mut out, "dossier_outbox_pending", "Emails written and not yet delivered.");
    sample(&mut out, "dossier_outbox_pending", &[], s.outbox_pending as f64);
    family(
        &mut out,
        "dossier_outbox_oldest_age_seconds",
        "How long the oldest undelivered email has waited (mail lag).",
    );
    sample(&mut out, "dossier_outbox_oldest_age_seconds", &[], age(s.outbox_oldest_at));

    family(&mut out, "dossier_source_runs", "Sources' runs for the requests on record, by source and status.");
    for (source, status, n) in &s.source_runs {
        sample(&mut out, "dossier_source_runs", &[("source", source), ("status", status)], *n as f64);
    }

    family(
        &mut out,
        "dossier_audit_unsealed_events",
        "Audit events recorded and not sealed into the chain yet (changeable without a trace until sealed).",
    );
    sample(&mut out, "dossier_audit_unsealed_events", &[], s.audit_unsealed as f64);
    family(
        &mut out,
        "dossier_audit_oldest_unsealed_age_seconds",
        "How long the oldest unsealed audit event has waited (the sealer runs every 2 seconds).",
    );
    sample(&mut out, "dossier_audit_oldest_unsealed_age_seconds", &[], age(s.audit_oldest_unsealed_at));
    out
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format requires: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::metrics::JobKind;

    #[test]
    fn renders_every_family_with_escaped_labels() {
        let s = Snapshot {
            requests: vec![("verified".into(), "access".into(), 3)],
            overdue: 1,
            due_soon: 2,
            jobs: vec![JobKind {
                kind: "deliver_email".into(),
                queued: 4,
                running: 0,
                dead: 1,
                oldest_due_at: Some(1_000),
            }],
            outbox_pending: 4,
            outbox_oldest_at: Some(500),
            source_runs: vec![("crm \"main\"\\x\n".into(), "failed".into(), 2)],
            audit_unsealed: 3,
            audit_oldest_unsealed_at: Some(8_000),
        };
        let text = render(&s, 11_000);
        assert!(text.contains("dossier_requests{status=\"verified\",right=\"access\"} 3\n"), "{text}");
        assert!(text.contains("dossier_requests_due_soon{days=\"7\"} 2\n"));
        assert!(text.contains("dossier_jobs_oldest_queued_age_seconds{kind=\"deliver_email\"} 10\n"));
        assert!(text.contains("dossier_outbox_oldest_age_seconds 10.5\n"));
        assert!(
            text.contains("dossier_source_runs{source=\"crm \\\"main\\\"\\\\x\\n\",status=\"failed\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("dossier_audit_unsealed_events 3\n"), "{text}");
        assert!(text.contains("dossier_audit_oldest_unsealed_age_seconds 3\n"), "{text}");
        assert_eq!(text.matches("# TYPE").count(), 12);
    }
}
