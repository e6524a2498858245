//! The dashboard (`/staff/dashboard`): requests with known dates, written into the store, give
//! exactly the numbers a DPO would compute by hand.

use dossier::domain::Role;

use crate::helpers::{Seed, TestApp, ms_at};
use crate::on_both_backends;

/// The text of the element with `id="…"`, tags stripped.
fn by_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let rest = html.split(&marker).nth(1).unwrap_or_else(|| panic!("no #{id} in the page"));
    let inner = rest.split("</dd>").next().unwrap();
    let mut out = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// The cells of the row headed `head` in the table `id`.
fn row(html: &str, table: &str, head: &str) -> Vec<String> {
    let t = html.split(&format!("<table id=\"{table}\">")).nth(1).unwrap().split("</table>").next().unwrap();
    let r = t.split(&format!("<th scope=\"row\">{head}</th>")).nth(1).unwrap_or_else(|| panic!("{head} in {table}"));
    let r = r.split("</tr>").next().unwrap();
    r.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap().to_owned()).collect()
}

async fn insert_export(app: &TestApp, request_id: &str, day: &str) {
    sqlx::query(
        "INSERT INTO exports (id, request_id, file_name, size_bytes, sha256, records, created_at, expires_at) \
         VALUES ($1, $2, 'x.zip.enc', 1, 'x', 1, $3, $4)",
    )
    .bind(dossier::crypto::new_id())
    .bind(request_id)
    .bind(ms_at(day, 12))
    .bind(ms_at(day, 12) + 30 * 86_400_000)
    .execute(app.app.store.pool())
    .await
    .unwrap();
}

async fn source_run(app: &TestApp, request_id: &str, source: &str, status: &str, day: &str) {
    sqlx::query("INSERT INTO source_runs (request_id, source, status, records, updated_at) VALUES ($1, $2, $3, 0, $4)")
        .bind(request_id)
        .bind(source)
        .bind(status)
        .bind(ms_at(day, 12))
        .execute(app.app.store.pool())
        .await
        .unwrap();
}

async fn the_dashboard_shows_the_numbers_of_the_period(app: TestApp) {
    // Today is 10 March 2026 (Paris): the default period is April 2025 to March 2026.
    let mut ids = Vec::new();
    // Ten answered requests: 3, 5, 8, 10, 11, 13, 15, 20, 26 and 36 days from receipt to answer.
    // (reference, kind, status, policy, received, due, answered, how: export or closed)
    let answered = [
        ("DSR-2026-000001", "access", "ready", "eu-gdpr", "2026-01-05", "2026-02-05", "2026-01-08", true),
        ("DSR-2026-000002", "access", "ready", "eu-gdpr", "2026-01-06", "2026-02-06", "2026-01-11", true),
        // Completed by staff later: the export was the answer.
        ("DSR-2026-000003", "access", "completed", "eu-gdpr", "2026-01-07", "2026-02-07", "2026-01-15", true),
        ("DSR-2026-000004", "portability", "ready", "eu-gdpr", "2026-01-12", "2026-02-12", "2026-01-22", true),
        ("DSR-2026-000005", "erasure", "completed", "eu-gdpr", "2026-01-13", "2026-02-13", "2026-01-24", false),
        ("DSR-2026-000006", "erasure", "completed", "eu-gdpr", "2026-01-20", "2026-02-20", "2026-02-02", false),
        ("DSR-2026-000007", "objection", "denied", "eu-gdpr", "2026-02-02", "2026-03-02", "2026-02-17", false),
        // Late: 15 days under the LGPD.
        ("DSR-2026-000008", "rectification", "completed", "lgpd", "2026-02-03", "2026-02-18", "2026-02-23", false),
        ("DSR-2026-000009", "erasure", "completed", "lgpd", "2026-02-04", "2026-02-19", "2026-03-02", false),
        // On time only thanks to its extension (GDPR Art. 12(3)): due 26 February before it.
        ("DSR-2026-000010", "erasure", "completed", "eu-gdpr", "2026-01-26", "2026-04-27", "2026-03-03", false),
    ];
    for (reference, kind, status, jurisdiction, received_on, due_on, day, exported) in answered {
        let completed_at = (status != "ready").then(|| ms_at(if exported { "2026-02-20" } else { day }, 12));
        // The answer date: the export built and emailed, else the closure (migration 0017).
        let answered_at = Some(ms_at(day, 12));
        let seed = Seed {
            reference,
            kind,
            status,
            jurisdiction,
            received_on,
            due_on,
            completed_at,
            answered_at,
            ..Seed::default()
        };
        let id = app.seed_request(seed).await;
        if exported {
            insert_export(&app, &id, day).await;
        }
        ids.push(id);
    }
    // Received in the period but not answered: withdrawn, overdue now, on track.
    let others = [
        ("DSR-2026-000011", "access", "cancelled", "2026-02-10", "2026-03-10", Some(ms_at("2026-02-11", 12))),
        ("DSR-2026-000012", "access", "collecting", "2026-03-02", "2026-03-09", None),
        ("DSR-2026-000013", "erasure", "verified", "2026-03-05", "2026-04-05", None),
    ];
    for (reference, kind, status, received_on, due_on, completed_at) in others {
        let seed = Seed { reference, kind, status, received_on, due_on, completed_at, ..Seed::default() };
        ids.push(app.seed_request(seed).await);
    }
    // Before the period: counts nowhere.
    let old = Seed {
        reference: "DSR-2024-000001",
        kind: "erasure",
        status: "completed",
        received_on: "2024-06-01",
        due_on: "2024-07-01",
        completed_at: Some(ms_at("2024-10-01", 12)),
        answered_at: Some(ms_at("2024-10-01", 12)),
        ..Seed::default()
    };
    let old = app.seed_request(old).await;
    // Source runs: the CRM failed three times in the period (and once before it), billing once.
    for (i, (source, status)) in [
        ("crm", "failed"),
        ("crm", "failed"),
        ("crm", "failed"),
        ("billing", "failed"),
        ("crm", "done"),
        ("newsletter", "done"),
    ]
    .into_iter()
    .enumerate()
    {
        source_run(&app, &ids[i], source, status, "2026-02-01").await;
    }
    source_run(&app, &old, "crm", "failed", "2024-06-02").await;

    app.add_staff("audit@exemple.test", Role::Auditor).await;
    app.staff_login("audit@exemple.test").await;
    let res = app.get("/staff/dashboard").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let page = res.text();
    assert!(page.contains("href=\"/staff/dashboard\""), "the staff navigation links to it");
    assert_eq!(by_id(&page, "median"), "12 day(s)");
    assert_eq!(by_id(&page, "p90"), "27 day(s)");
    assert_eq!(by_id(&page, "on-time"), "80 %");
    // The collecting request due yesterday; not the answered access requests past their due date.
    assert_eq!(by_id(&page, "overdue"), "1");
    // Per month, by right (access, portability, rectification, erasure, objection, total).
    assert_eq!(row(&page, "months-table", "January 2026"), ["3", "1", "0", "3", "0", "7"]);
    assert_eq!(row(&page, "months-table", "February 2026"), ["1", "0", "1", "1", "1", "4"]);
    assert_eq!(row(&page, "months-table", "March 2026"), ["1", "0", "0", "1", "0", "2"]);
    assert_eq!(row(&page, "months-table", "April 2025"), ["0", "0", "0", "0", "0", "0"]);
    assert!(!page.contains("June 2024"));
    assert_eq!(row(&page, "on-time-table", "On or before the due date"), ["8"]);
    assert_eq!(row(&page, "on-time-table", "After the due date"), ["2"]);
    assert_eq!(row(&page, "days-table", "0–7 days"), ["2"]);
    assert_eq!(row(&page, "days-table", "8–14 days"), ["4"]);
    assert_eq!(row(&page, "days-table", "31–45 days"), ["1"]);
    assert_eq!(row(&page, "sources-table", "Customer relationship management (CRM)"), ["3", "4"]);
    assert_eq!(row(&page, "sources-table", "billing"), ["1", "1"]);
    assert!(!page.contains("newsletter</th>"), "a source that never failed is not listed");
    // Four accessible SVG charts, each with its title and description.
    assert_eq!(page.matches("<svg class=\"chart\" role=\"img\"").count(), 4);
    assert_eq!(page.matches("<desc id=").count(), 4);
    assert!(page.contains("<title id=\"months-title\">Requests per month, by right</title>"));
    assert!(!page.contains("<script"), "no JavaScript");

    // A period of one month: February's three answered requests (15, 20, 26 days).
    let feb = app.get("/staff/dashboard?from=2026-02&to=2026-02").await.text();
    assert_eq!(by_id(&feb, "median"), "20 day(s)");
    assert_eq!(by_id(&feb, "p90"), "24.8 day(s)");
    assert_eq!(by_id(&feb, "on-time"), "33 %");
    assert!(!feb.contains("January 2026"));
    assert_eq!(row(&feb, "sources-table", "Customer relationship management (CRM)"), ["3", "4"]);

    // Bad or too long periods: a message in the page, the default period, never an error.
    for query in ["from=2026-13&to=2026-02", "from=2020-01&to=2026-02", "from=2026-03&to=2026-01", "from=x"] {
        let res = app.get(&format!("/staff/dashboard?{query}")).await;
        assert_eq!(res.status, 200, "{query}");
        let text = res.text();
        assert!(text.contains("id=\"period-error\""), "{query}");
        assert_eq!(by_id(&text, "median"), "12 day(s)", "{query}");
    }

    // In French, with the French decimal comma.
    let fr = app.get("/staff/dashboard?from=2026-02&to=2026-02&lang=fr").await.text();
    assert_eq!(by_id(&fr, "p90"), "24,8 jour(s)");

    // Anonymous visitors are sent to the login.
    app.forget_cookies();
    let res = app.get("/staff/dashboard").await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), "/staff/login");
}
on_both_backends!(the_dashboard_shows_the_numbers_of_the_period);
