//! The staff queue's filters by deadline policy and assignee, alone and combined with the others,
//! their counts per status, and pages that keep every filter.

use dossier::domain::Role;

use crate::helpers::{Seed, TestApp, hidden};
use crate::on_both_backends;

/// The references listed on a queue page, in order.
fn refs_in(html: &str) -> Vec<String> {
    html.split("class=\"reference\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
}

/// The count shown beside a status's link in the counts bar, and the link itself.
fn count_of(html: &str, status: &str) -> Option<(String, i64)> {
    let marker = format!("status={status}");
    let nav = html.split("class=\"counts\"").nth(1)?.split("</nav>").next()?;
    let link = nav.split("<a href=\"").skip(1).find(|a| a.split('"').next().unwrap_or("").contains(&marker))?;
    let href = link.split('"').next()?.replace("&#38;", "&").replace("&amp;", "&");
    let n = link.split("class=\"count\">").nth(1)?.split('<').next()?.parse().ok()?;
    Some((href, n))
}

async fn the_queue_filters_by_policy_and_assignee(app: TestApp) {
    let me = app.add_staff("camille@exemple.test", Role::Agent).await;
    let other = app.add_staff("sacha@exemple.test", Role::Agent).await;
    let (me_id, other_id) = (me.id.as_str(), other.id.as_str());
    // Today is 10 March 2026.
    let seeds = [
        ("DSR-2026-000001", "eu-gdpr", Some(me_id), "awaiting_review", "2026-03-20"),
        ("DSR-2026-000002", "uk-gdpr", Some(other_id), "collecting", "2026-03-25"),
        ("DSR-2026-000003", "eu-gdpr", None, "verified", "2026-04-01"),
        ("DSR-2026-000004", "ccpa", Some(me_id), "completed", "2026-04-10"),
        ("DSR-2026-000005", "uk-gdpr", None, "needs_attention", "2026-03-05"),
        ("DSR-2026-000006", "eu-gdpr", Some(other_id), "needs_attention", "2026-03-12"),
        // Answered (its export is ready): past its due date, but not overdue.
        ("DSR-2026-000007", "eu-gdpr", None, "ready", "2026-03-01"),
    ];
    for (reference, jurisdiction, assignee, status, due_on) in seeds {
        app.seed_request(Seed { reference, jurisdiction, assignee, status, due_on, ..Seed::default() }).await;
    }
    // Never verified: no reference, never listed.
    sqlx::query(
        "INSERT INTO requests (id, kind, status, email, email_hash, locale, jurisdiction, channel, received_at, \
         received_on, due_on, extension_notice_by, created_at, updated_at) VALUES ('00000000000000000000000000000000', \
         'access', 'submitted', 'x@example.org', 'h', 'en', 'eu-gdpr', 'web', 0, '2026-03-01', '2026-03-02', \
         '2026-03-02', 0, 0)",
    )
    .execute(app.app.store.pool())
    .await
    .unwrap();
    app.staff_login("camille@exemple.test").await;

    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "jurisdiction=eu-gdpr".into(),
            vec!["DSR-2026-000007", "DSR-2026-000006", "DSR-2026-000001", "DSR-2026-000003"],
        ),
        ("jurisdiction=uk-gdpr".into(), vec!["DSR-2026-000005", "DSR-2026-000002"]),
        ("jurisdiction=lgpd".into(), vec![]),
        ("assignee=mine".into(), vec!["DSR-2026-000001", "DSR-2026-000004"]),
        ("assignee=none".into(), vec!["DSR-2026-000007", "DSR-2026-000005", "DSR-2026-000003"]),
        (format!("assignee={other_id}"), vec!["DSR-2026-000006", "DSR-2026-000002"]),
        ("jurisdiction=eu-gdpr&assignee=none".into(), vec!["DSR-2026-000007", "DSR-2026-000003"]),
        ("jurisdiction=uk-gdpr&deadline=overdue".into(), vec!["DSR-2026-000005"]),
        ("deadline=overdue".into(), vec!["DSR-2026-000005"]),
        ("assignee=mine&status=completed".into(), vec!["DSR-2026-000004"]),
        ("assignee=mine&kind=erasure".into(), vec![]),
        ("jurisdiction=eu-gdpr&status=needs_attention&assignee=".to_owned() + other_id, vec!["DSR-2026-000006"]),
        // Unknown values filter nothing rather than failing.
        (
            "jurisdiction=mars&assignee=someone".into(),
            vec![
                "DSR-2026-000007",
                "DSR-2026-000005",
                "DSR-2026-000006",
                "DSR-2026-000001",
                "DSR-2026-000002",
                "DSR-2026-000003",
                "DSR-2026-000004",
            ],
        ),
    ];
    for (query, expected) in &cases {
        let res = app.get(&format!("/staff?{query}")).await;
        assert_eq!(res.status, 200, "{query}");
        assert_eq!(refs_in(&res.text()), *expected, "{query}");
    }

    // Counts follow the policy and assignee filters (not the status filter), and their links keep them.
    let page = app.get("/staff?jurisdiction=eu-gdpr&status=verified").await.text();
    let (href, n) = count_of(&page, "needs_attention").expect("a needs-attention count");
    assert_eq!(n, 1);
    assert_eq!(href, "/staff?status=needs_attention&jurisdiction=eu-gdpr");
    assert_eq!(count_of(&page, "awaiting_review").map(|c| c.1), Some(1));
    assert_eq!(count_of(&page, "ready").map(|c| c.1), Some(1));
    assert_eq!(count_of(&page, "completed"), None, "the CCPA request is not counted");
    let page = app.get("/staff?assignee=mine").await.text();
    assert_eq!(count_of(&page, "completed").map(|c| c.1), Some(1));
    assert_eq!(count_of(&page, "collecting"), None);
    // The answered request reads as answered, not overdue.
    assert!(app.get("/staff?status=ready").await.text().contains("Answered"));

    // The filter form carries the new filters to the page's address.
    let csrf = hidden(&app.get("/staff").await.text(), "csrf").unwrap();
    let res = app
        .post("/staff/search", &[("csrf", &csrf), ("jurisdiction", "uk-gdpr"), ("assignee", "none"), ("q", "")])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), "/staff?jurisdiction=uk-gdpr&assignee=none");
    assert_eq!(refs_in(&app.get(&res.location()).await.text()), ["DSR-2026-000005"]);
}
on_both_backends!(the_queue_filters_by_policy_and_assignee);

async fn the_next_page_keeps_every_filter(app: TestApp) {
    let me = app.add_staff("camille@exemple.test", Role::Agent).await;
    // 53 Brazilian requests for nobody, 2 for me, and 10 EU ones for nobody, due on different days.
    let mut expected = Vec::new();
    for i in 0..65u32 {
        let reference = format!("DSR-2026-{:06}", i + 1);
        let due = time::macros::date!(2026 - 03 - 11) + time::Duration::days(i64::from(i));
        let due_on = due.to_string();
        let (jurisdiction, assignee) = match i {
            0..=52 => ("lgpd", None),
            53..=54 => ("lgpd", Some(me.id.as_str())),
            _ => ("eu-gdpr", None),
        };
        app.seed_request(Seed { reference: &reference, jurisdiction, assignee, due_on: &due_on, ..Seed::default() })
            .await;
        if i <= 52 {
            expected.push(reference);
        }
    }
    app.staff_login("camille@exemple.test").await;
    let first = app.get("/staff?jurisdiction=lgpd&assignee=none").await.text();
    let mut seen = refs_in(&first);
    assert_eq!(seen.len(), 50);
    let next = first.split("href=\"").skip(1).map(|s| s.split('"').next().unwrap()).find(|h| h.contains("after="));
    let next = next.expect("a next page link").replace("&#38;", "&").replace("&amp;", "&");
    assert!(next.contains("jurisdiction=lgpd") && next.contains("assignee=none") && next.contains("after="), "{next}");
    seen.extend(refs_in(&app.get(&next).await.text()));
    assert_eq!(seen, expected, "{next}");
}
on_both_backends!(the_next_page_keeps_every_filter);
