//! Every link the pages use, from one place.

use crate::domain::Reference;

pub fn home() -> String {
    "/".into()
}
pub fn submit() -> String {
    "/requests".into()
}
pub fn check_inbox(handle: &str) -> String {
    format!("/check-inbox?h={handle}")
}
pub fn verify_code() -> String {
    "/verify/code".into()
}
pub fn resend() -> String {
    "/verify/resend".into()
}
pub fn verify_link(token: &str) -> String {
    format!("/verify/{token}")
}
pub fn status(reference: &Reference) -> String {
    format!("/requests/{reference}")
}
pub fn signin(reference: &Reference) -> String {
    format!("/requests/{reference}/signin")
}
pub fn download(reference: &Reference) -> String {
    format!("/requests/{reference}/export")
}
/// The status page with what the person's last decision did.
pub fn status_said(reference: &Reference, said: &str) -> String {
    format!("/requests/{reference}?said={said}")
}
pub fn confirm_erasure(reference: &Reference) -> String {
    format!("/requests/{reference}/confirm")
}
pub fn withdraw(reference: &Reference) -> String {
    format!("/requests/{reference}/withdraw")
}
pub fn corrections(reference: &Reference) -> String {
    format!("/requests/{reference}/corrections")
}
pub fn objections(reference: &Reference) -> String {
    format!("/requests/{reference}/objections")
}
pub fn certificate(reference: &Reference) -> String {
    format!("/requests/{reference}/certificate")
}
pub fn certificate_download(reference: &Reference) -> String {
    format!("/requests/{reference}/certificate/download")
}
pub fn sign_out() -> String {
    "/signout".into()
}
pub fn stylesheet() -> String {
    format!("/static/style.css?v={}", &crate::crypto::sha256_hex(super::assets::STYLE.as_bytes())[..10])
}
pub fn status_script() -> String {
    format!("/static/status.js?v={}", &crate::crypto::sha256_hex(super::assets::STATUS_SCRIPT.as_bytes())[..10])
}
pub fn outbox() -> String {
    "/dev/outbox".into()
}
pub fn outbox_message(id: &str) -> String {
    format!("/dev/outbox/{id}")
}
pub fn staff_login() -> String {
    "/staff/login".into()
}
pub fn staff_logout() -> String {
    "/staff/logout".into()
}
pub fn staff_queue() -> String {
    "/staff".into()
}
pub fn staff_request(reference: &Reference) -> String {
    format!("/staff/requests/{reference}")
}
pub fn staff_review(reference: &Reference) -> String {
    format!("/staff/requests/{reference}/review")
}
pub fn staff_retry(reference: &Reference) -> String {
    format!("/staff/requests/{reference}/retry")
}
pub fn staff_recipient(reference: &Reference, notice_id: &str) -> String {
    format!("/staff/requests/{reference}/recipients/{notice_id}")
}
/// The preview of what a request collected (opening it is audited).
pub fn staff_data(reference: &str) -> String {
    format!("/staff/requests/{reference}/data")
}
pub fn staff_search() -> String {
    "/staff/search".into()
}
pub fn staff_intake() -> String {
    "/staff/intake".into()
}
/// The second step of a staff login: the code from the authenticator app.
pub fn staff_login_code() -> String {
    "/staff/login/code".into()
}
/// A staff member's own account: password and second factor.
pub fn staff_account() -> String {
    "/staff/account".into()
}
pub fn staff_account_password() -> String {
    "/staff/account/password".into()
}
pub fn staff_account_totp_start() -> String {
    "/staff/account/totp/start".into()
}
pub fn staff_account_totp_confirm() -> String {
    "/staff/account/totp/confirm".into()
}
/// Admins: staff accounts and the workspace's settings.
pub fn staff_admin() -> String {
    "/staff/admin/staff".into()
}
pub fn staff_admin_settings() -> String {
    "/staff/admin/settings".into()
}
/// An admin's change to one account: `role`, `disable`, `enable`, `reset-totp`.
pub fn staff_admin_member(id: &str, change: &str) -> String {
    format!("/staff/admin/staff/{id}/{change}")
}
pub fn staff_tasks() -> String {
    "/staff/tasks".into()
}
/// One request's tasks for staff (manual sources).
pub fn staff_tasks_for(reference: &str) -> String {
    format!("/staff/tasks?request={reference}")
}
pub fn staff_task(id: &str) -> String {
    format!("/staff/tasks/{id}")
}
pub fn staff_task_files(id: &str) -> String {
    format!("/staff/tasks/{id}/files")
}
pub fn staff_task_complete(id: &str) -> String {
    format!("/staff/tasks/{id}/complete")
}
/// Removes a file uploaded by mistake from an open task.
pub fn staff_task_file_remove(id: &str, file: &str) -> String {
    format!("/staff/tasks/{id}/files/{file}/remove")
}
pub fn privacy() -> String {
    "/privacy".into()
}
