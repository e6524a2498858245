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
pub fn staff_search() -> String {
    "/staff/search".into()
}
pub fn staff_intake() -> String {
    "/staff/intake".into()
}
