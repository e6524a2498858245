//! The collected-data preview (`/staff/requests/{reference}/data`): what an access request found,
//! read from its encrypted export; each opening audited; nothing once the data is purged.

use dossier::domain::Role;

use crate::helpers::TestApp;
use crate::on_both_backends;

async fn data_views(app: &TestApp) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, detail FROM audit_events WHERE event = 'staff_viewed' ORDER BY ord")
            .fetch_all(app.app.store.pool())
            .await
            .unwrap();
    rows.into_iter().filter(|(_, detail)| detail.contains("collected_data")).collect()
}

async fn staff_preview_what_an_access_request_collected(app: TestApp) {
    let status = app.verified_request("jeanne.martin@example.fr", "access").await;
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");
    let reference = status.rsplit('/').next().unwrap().to_owned();
    let data = format!("/staff/requests/{reference}/data");

    // Anonymous: the login, and nothing recorded.
    app.forget_cookies();
    let res = app.get(&data).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), "/staff/login");
    assert!(data_views(&app).await.is_empty());

    let agent = app.add_staff("agent@exemple.test", Role::Agent).await;
    app.staff_login("agent@exemple.test").await;
    let request_page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(request_page.contains(&format!("href=\"{data}\"")), "the request's page links to the preview");
    let res = app.get(&data).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let page = res.text();
    // Jeanne's records, per source and collection, read back from the encrypted export.
    for text in [
        "Customer relationship management (CRM) · Contact records",
        "<td>jeanne.martin@example.fr</td>",
        "<td>Jeanne</td>",
        "<td>Martin</td>",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    assert!(page.contains("Read from the encrypted export"));
    let views = data_views(&app).await;
    assert_eq!(views.len(), 1, "the opening is recorded");
    assert_eq!(views[0].0, format!("staff:{}", agent.id), "naming the staff member");
    app.get(&data).await;
    assert_eq!(data_views(&app).await.len(), 2, "every opening is recorded");

    // Closed, then past the retention of personal data: housekeeping purges it, and the preview
    // says so and shows nothing (though the export file may still exist).
    let res = app.staff_act(&reference, "complete", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.clock.advance(time::Duration::days(app.app.settings.requests.personal_data_days + 1));
    dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    app.staff_login("agent@exemple.test").await;
    let page = app.get(&data).await.text();
    assert!(page.contains("personal data has been purged"), "{page}");
    assert!(!page.contains("jeanne.martin@example.fr"));
    assert!(!page.contains("<td>Martin</td>"));
    assert_eq!(data_views(&app).await.len(), 2, "nothing shown, nothing to record");
}
on_both_backends!(staff_preview_what_an_access_request_collected);
