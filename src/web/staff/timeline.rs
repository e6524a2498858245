//! The request page's timeline: every audited [`Event`] as a sentence in the viewer's language, and
//! who did it in words. The match is exhaustive on purpose: a new event does not compile until it
//! has its sentence here (and its keys in `locales/{en,fr}/staff.toml`, `[timeline]`).

use std::collections::BTreeMap;

use crate::domain::audit::{Actor, ChangedBy, Event, TaskOutcome, TaskWork, Viewed};
use crate::i18n::Tr;
use crate::services::notify::{format_date, kind_label};
use crate::store::requests::text_to_date;

use super::account::role_label;
use super::intake::channel_label;
use super::queue::status_label;
use super::request::ground_label;

/// What a sentence needs besides the event: the staff members' display names by id (every
/// account, disabled ones included) and how a source is called.
pub struct Names<'a> {
    pub staff: &'a BTreeMap<String, String>,
    pub source: &'a dyn Fn(&str) -> String,
}

/// Who acted, in words: a staff member's current display name, "the requester" or "Dossier".
pub fn actor_text(t: Tr, actor: &Result<Actor, String>, names: &Names<'_>) -> String {
    match actor {
        Ok(Actor::System) => t.get("staff.timeline.actor_system").to_owned(),
        Ok(Actor::Requester) => t.get("staff.timeline.actor_requester").to_owned(),
        Ok(Actor::Staff(id)) => staff_name(t, id, names),
        // Never written by Dossier; shown as stored rather than hidden.
        Err(stored) => stored.clone(),
    }
}

fn staff_name(t: Tr, id: &str, names: &Names<'_>) -> String {
    names.staff.get(id).cloned().unwrap_or_else(|| t.get("staff.timeline.actor_removed").to_owned())
}

/// A stored ISO date in the viewer's words (as stored if it does not read as a date).
fn date(t: Tr, text: &str) -> String {
    text_to_date(text).map(|d| format_date(t, d)).unwrap_or_else(|_| text.to_owned())
}

fn method(t: Tr, method: &str) -> String {
    match method {
        "email_link" => t.get("staff.timeline.method_email_link").to_owned(),
        "email_code" => t.get("staff.timeline.method_email_code").to_owned(),
        "staff" => t.get("staff.timeline.method_staff").to_owned(),
        other => t.fmt("staff.timeline.method_other", &[("method", other)]),
    }
}

/// Which email, by its template.
fn email(t: Tr, template: &str) -> String {
    let key = match template {
        "verify" => "staff.timeline.email.verify",
        "signin" => "staff.timeline.email.signin",
        "confirmed" => "staff.timeline.email.confirmed",
        "export_ready" => "staff.timeline.email.export_ready",
        "plan_ready" => "staff.timeline.email.plan_ready",
        "changes_done" => "staff.timeline.email.changes_done",
        "extended" => "staff.timeline.email.extended",
        "cancelled" => "staff.timeline.email.cancelled",
        "denied" => "staff.timeline.email.denied",
        "ccpa_receipt" => "staff.timeline.email.ccpa_receipt",
        "clarification" => "staff.timeline.email.clarification",
        "deadline_reminder" => "staff.timeline.email.deadline_reminder",
        other => return other.to_owned(),
    };
    t.get(key).to_owned()
}

fn outcome_label(t: Tr, code: &str) -> String {
    match code {
        "applied" => t.get("staff.plan.outcome.applied").to_owned(),
        "already" => t.get("staff.plan.outcome.already").to_owned(),
        "missing" => t.get("staff.plan.outcome.missing").to_owned(),
        "mismatch" => t.get("staff.plan.outcome.mismatch").to_owned(),
        other => other.to_owned(),
    }
}

fn purpose(t: Tr, code: &str) -> String {
    match code.parse() {
        Ok(p) => crate::web::portal::changes::purpose_label(t, p, None),
        Err(()) => code.to_owned(),
    }
}

/// The event as one sentence.
pub fn sentence(t: Tr, event: &Event, names: &Names<'_>) -> String {
    let n = |v: i64| v.to_string();
    let source = |s: &str| (names.source)(s);
    let staff = |id: &str| staff_name(t, id, names);
    match event {
        Event::Received { kind, channel, entered_by: _, received_on } => match received_on {
            None if channel == "web" => t.fmt("staff.timeline.received_web", &[("kind", kind_label(t, *kind))]),
            _ => t.fmt(
                "staff.timeline.received_entered",
                &[
                    ("kind", kind_label(t, *kind)),
                    ("channel", channel_label(t, channel)),
                    ("date", &received_on.as_deref().map(|d| date(t, d)).unwrap_or_default()),
                ],
            ),
        },
        Event::Verified { method: m, reference } if reference.is_empty() => {
            t.fmt("staff.timeline.verified_plain", &[("method", &method(t, m))])
        }
        Event::Verified { method: m, reference } => {
            t.fmt("staff.timeline.verified", &[("method", &method(t, m)), ("reference", reference)])
        }
        Event::StatusChanged { from, to } => {
            t.fmt("staff.timeline.status_changed", &[("from", status_label(t, *from)), ("to", status_label(t, *to))])
        }
        Event::WrongCode {} => t.get("staff.timeline.wrong_code").to_owned(),
        Event::SignedIn { method: m } => t.fmt("staff.timeline.signed_in", &[("method", &method(t, m))]),
        Event::Assigned { to: Some(id) } => t.fmt("staff.timeline.assigned", &[("name", &staff(id))]),
        Event::Assigned { to: None } => t.get("staff.timeline.unassigned").to_owned(),
        Event::NoteAdded {} => t.get("staff.timeline.note_added").to_owned(),
        Event::Extended { from, to } => {
            t.fmt("staff.timeline.extended", &[("from", &date(t, from)), ("to", &date(t, to))])
        }
        Event::Denied { ground } => t.fmt("staff.timeline.denied", &[("ground", ground_label(t, *ground))]),
        Event::Retried {} => t.get("staff.timeline.retried").to_owned(),
        Event::Withdrawn {} => t.get("staff.timeline.withdrawn").to_owned(),
        Event::DueDateMoved { from, to, paused_days } => t.fmt(
            "staff.timeline.due_date_moved",
            &[("from", &date(t, from)), ("to", &date(t, to)), ("days", &n(*paused_days))],
        ),
        Event::ReceiptConfirmed { confirm_by: Some(by) } => {
            t.fmt("staff.timeline.receipt_confirmed", &[("date", &date(t, by))])
        }
        Event::ReceiptConfirmed { confirm_by: None } => t.get("staff.timeline.receipt_confirmed_plain").to_owned(),
        Event::ClarificationAsked { clock_stops: true } => t.get("staff.timeline.clarification_asked_stops").to_owned(),
        Event::ClarificationAsked { clock_stops: false } => t.get("staff.timeline.clarification_asked_runs").to_owned(),
        Event::ClarificationAnswered { chars } => {
            t.fmt("staff.timeline.clarification_answered", &[("chars", &n(*chars))])
        }
        Event::ClarificationClosed {} => t.get("staff.timeline.clarification_closed").to_owned(),
        Event::SourceCollected { source: s, records } => {
            t.fmt("staff.timeline.source_collected", &[("source", &source(s)), ("records", &n(*records))])
        }
        Event::ExportBuilt { export: _, records, files, sha256: _ } => {
            t.fmt("staff.timeline.export_built", &[("records", &records.to_string()), ("files", &files.to_string())])
        }
        Event::ExportDownloaded { .. } => t.get("staff.timeline.export_downloaded").to_owned(),
        Event::ExportDeleted { .. } => t.get("staff.timeline.export_deleted").to_owned(),
        Event::SourcePlanned { source: s, records, items } => t.fmt(
            "staff.timeline.source_planned",
            &[("source", &source(s)), ("records", &n(*records)), ("items", &n(*items))],
        ),
        Event::PlanConfirmed {} => t.get("staff.timeline.plan_confirmed").to_owned(),
        Event::CorrectionsProposed { corrections, statement: false } => {
            t.fmt("staff.timeline.corrections_proposed", &[("n", &n(*corrections))])
        }
        Event::CorrectionsProposed { corrections, statement: true } => {
            t.fmt("staff.timeline.corrections_proposed_statement", &[("n", &n(*corrections))])
        }
        Event::ObjectionsChosen { purposes } => {
            let list = purposes.iter().map(|p| purpose(t, p)).collect::<Vec<_>>().join(", ");
            t.fmt("staff.timeline.objections_chosen", &[("purposes", &list)])
        }
        Event::Reviewed { approved, excluded } => {
            t.fmt("staff.timeline.reviewed", &[("approved", &n(*approved)), ("excluded", &n(*excluded))])
        }
        Event::SourceExecuted { source: s, outcomes } => {
            let list = outcomes.iter().map(|(code, k)| format!("{} {k}", outcome_label(t, code))).collect::<Vec<_>>();
            t.fmt("staff.timeline.source_executed", &[("source", &source(s)), ("outcomes", &list.join(", "))])
        }
        Event::ChangesCompleted { applied, kept, excluded } => t.fmt(
            "staff.timeline.changes_completed",
            &[("applied", &n(*applied)), ("kept", &n(*kept)), ("excluded", &n(*excluded))],
        ),
        Event::AddressForgotten {} => t.get("staff.timeline.address_forgotten").to_owned(),
        Event::RecipientTold { .. } => t.get("staff.timeline.recipient_told").to_owned(),
        Event::CertificateDownloaded { locale } => {
            let language = match locale.as_str() {
                "fr" => t.get("staff.clarify.language_fr"),
                "en" => t.get("staff.clarify.language_en"),
                other => other,
            };
            t.fmt("staff.timeline.certificate_downloaded", &[("language", language)])
        }
        Event::JobFailed { kind, error } => t.fmt("staff.timeline.job_failed", &[("step", kind), ("error", error)]),
        Event::EmailQueued { template } => t.fmt("staff.timeline.email_queued", &[("email", &email(t, template))]),
        Event::EmailSent { template } => t.fmt("staff.timeline.email_sent", &[("email", &email(t, template))]),
        Event::TaskOpened { task: _, source: s, kind: TaskWork::Collect, items: _ } => {
            t.fmt("staff.timeline.task_opened_collect", &[("source", &source(s))])
        }
        Event::TaskOpened { task: _, source: s, kind: TaskWork::Execute, items } => t.fmt(
            "staff.timeline.task_opened_execute",
            &[("source", &source(s)), ("items", &items.map(n).unwrap_or_default())],
        ),
        Event::TaskFilesUploaded { task: _, source: s, files } => {
            t.fmt("staff.timeline.task_files_uploaded", &[("source", &source(s)), ("files", &files.len().to_string())])
        }
        Event::TaskFileRemoved { task: _, source: s, file: _ } => {
            t.fmt("staff.timeline.task_file_removed", &[("source", &source(s))])
        }
        Event::TaskCompleted { task: _, source: s, kind, outcome, files, note } => {
            let key = match (kind, outcome) {
                (TaskWork::Collect, TaskOutcome::Done) => "staff.timeline.task_completed_collect",
                (TaskWork::Execute, TaskOutcome::Done) => "staff.timeline.task_completed_execute",
                (_, TaskOutcome::Nothing) => "staff.timeline.task_completed_nothing",
            };
            let mut s = t.fmt(key, &[("source", &source(s)), ("files", &n(*files))]);
            if *note {
                s.push(' ');
                s.push_str(t.get("staff.timeline.task_note"));
            }
            s
        }
        Event::PersonalDataPurged {} => t.get("staff.timeline.personal_data_purged").to_owned(),
        Event::StaffViewed { what: None } => t.get("staff.timeline.staff_viewed").to_owned(),
        Event::StaffViewed { what: Some(Viewed::CollectedData) } => {
            t.get("staff.timeline.staff_viewed_data").to_owned()
        }
        Event::StaffSearched { .. } => t.get("staff.timeline.staff_searched").to_owned(),
        Event::RegisterExported { from, to } => {
            t.fmt("staff.timeline.register_exported", &[("from", &date(t, from)), ("to", &date(t, to))])
        }
        Event::StaffCreated { staff: id, role } => {
            t.fmt("staff.timeline.staff_created", &[("name", &staff(id)), ("role", role_label(t, *role))])
        }
        Event::StaffRoleChanged { staff: id, from, to } => t.fmt(
            "staff.timeline.staff_role_changed",
            &[("name", &staff(id)), ("from", role_label(t, *from)), ("to", role_label(t, *to))],
        ),
        Event::StaffPasswordChanged { staff: id, by: None } => {
            t.fmt("staff.timeline.staff_password_changed", &[("name", &staff(id))])
        }
        Event::StaffPasswordChanged { staff: id, by: Some(ChangedBy::Owner) } => {
            t.fmt("staff.timeline.staff_password_changed_self", &[("name", &staff(id))])
        }
        Event::StaffDisabled { staff: id } => t.fmt("staff.timeline.staff_disabled", &[("name", &staff(id))]),
        Event::StaffEnabled { staff: id } => t.fmt("staff.timeline.staff_enabled", &[("name", &staff(id))]),
        Event::StaffLogin { factors } => {
            let how = match factors.as_str() {
                "password" => t.get("staff.timeline.factors_password"),
                "password+totp" => t.get("staff.timeline.factors_totp"),
                other => other,
            };
            t.fmt("staff.timeline.staff_login", &[("factors", how)])
        }
        Event::StaffTotpEnabled { staff: id } => t.fmt("staff.timeline.staff_totp_enabled", &[("name", &staff(id))]),
        Event::StaffTotpReplaced { staff: id } => t.fmt("staff.timeline.staff_totp_replaced", &[("name", &staff(id))]),
        Event::StaffTotpReset { staff: id } => t.fmt("staff.timeline.staff_totp_reset", &[("name", &staff(id))]),
        Event::WorkspaceSettingChanged { setting, value } if setting == crate::services::staff::REQUIRE_TOTP => {
            t.get(if *value { "staff.timeline.totp_required" } else { "staff.timeline.totp_not_required" }).to_owned()
        }
        Event::WorkspaceSettingChanged { setting, value } => {
            t.fmt("staff.timeline.setting_changed", &[("setting", setting), ("value", &value.to_string())])
        }
        Event::StaffLoginLocked { staff: id, network, failures, minutes } => t.fmt(
            "staff.timeline.staff_login_locked",
            &[
                ("name", &staff(id)),
                ("network", network),
                ("failures", &failures.to_string()),
                ("minutes", &minutes.to_string()),
            ],
        ),
        Event::AuditChainResealed { old_count, accepted_break: None, .. } => {
            t.fmt("staff.timeline.audit_chain_resealed", &[("count", &old_count.to_string())])
        }
        Event::AuditChainResealed { old_count, accepted_break: Some(b), .. } => t.fmt(
            "staff.timeline.audit_chain_resealed_past_break",
            &[("count", &old_count.to_string()), ("event", &b.event)],
        ),
        Event::AuditCheckpointReestablished { count, .. } => {
            t.fmt("staff.timeline.audit_checkpoint_reestablished", &[("count", &count.to_string())])
        }
        Event::AuditSegmentsPruned { through_segment, count, .. } => t.fmt(
            "staff.timeline.audit_segments_pruned",
            &[("count", &count.to_string()), ("segment", &through_segment.to_string())],
        ),
        Event::Unknown { name, detail: _ } => t.fmt("staff.timeline.unknown", &[("name", name)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;
    use crate::domain::audit::examples;

    #[test]
    fn every_event_reads_as_its_own_sentence_in_both_languages() {
        let staff = BTreeMap::from([("st1".to_owned(), "Alice Martin".to_owned())]);
        let source = |s: &str| format!("<{s}>");
        let names = Names { staff: &staff, source: &source };
        for locale in [Locale::En, Locale::Fr] {
            let t = Tr::new(locale);
            let generic = t.get("staff.events.other");
            for (event, name, _) in examples() {
                let text = sentence(t, &event, &names);
                assert!(!text.is_empty(), "{name}");
                // A missing key comes back as the key itself; a missing parameter as `{…}`.
                assert!(!text.contains("staff.timeline."), "{locale:?} {name}: {text}");
                assert!(!text.contains('{'), "{locale:?} {name}: {text}");
                assert_ne!(text, generic, "{name}");
                if matches!(event, Event::Unknown { .. }) {
                    assert!(text.contains(name), "{text}");
                } else {
                    assert!(!text.contains('_'), "{locale:?} {name}: a code shows in {text:?}");
                }
            }
        }
    }

    #[test]
    fn statuses_and_actors_are_words() {
        let staff = BTreeMap::from([("st1".to_owned(), "Alice Martin".to_owned())]);
        let source = |s: &str| s.to_owned();
        let names = Names { staff: &staff, source: &source };
        let t = Tr::new(Locale::En);
        let event = Event::StatusChanged {
            from: crate::domain::RequestStatus::Submitted,
            to: crate::domain::RequestStatus::Verified,
        };
        let text = sentence(t, &event, &names);
        assert!(text.contains(status_label(t, crate::domain::RequestStatus::Submitted)), "{text}");
        assert!(!text.contains("submitted"), "{text}");
        assert_eq!(actor_text(t, &Ok(Actor::staff("st1")), &names), "Alice Martin");
        assert_eq!(actor_text(t, &Ok(Actor::staff("gone")), &names), "a staff member who has since been removed");
        assert_eq!(actor_text(t, &Ok(Actor::Requester), &names), "the requester");
        assert_eq!(actor_text(t, &Ok(Actor::System), &names), "Dossier");
        let fr = Tr::new(Locale::Fr);
        assert_ne!(actor_text(fr, &Ok(Actor::Requester), &names), "the requester");
    }
}
