//! The audit trail's vocabulary: who acted ([`Actor`]) and what happened ([`Event`]), one variant
//! per event Dossier records (GDPR Art. 5(2) accountability).
//!
//! Stored rows are never rewritten: they are links of the hash chain (`store::audit`). So each
//! variant writes exactly the name and detail JSON that were written before the events were
//! typed (field order included: `serde_json` preserves it), and [`Event::from_stored`] reads any
//! row back — a known name with a detail it cannot read, or a name it does not know, becomes
//! [`Event::Unknown`] rather than an error. The staff timeline matches [`Event`] exhaustively, so
//! a new variant does not compile until it has its words in both languages.
//!
//! A detail never holds record contents, names, addresses or file names: only ids, counts, codes
//! and dates (the trail outlives the request's personal data).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DenialGround, RequestKind, RequestStatus, Role};

/// Who did it, stored as `system`, `requester` or `staff:<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Dossier itself: a job, housekeeping, the command line.
    System,
    /// The person the request is about, signed in with their verified address.
    Requester,
    /// A staff member, by account id (their display name is looked up when shown).
    Staff(String),
}

impl Actor {
    pub fn staff(id: &str) -> Actor {
        Actor::Staff(id.to_owned())
    }

    /// The stored form (`system`, `requester`, `staff:<id>`).
    pub fn stored(&self) -> String {
        match self {
            Actor::System => "system".to_owned(),
            Actor::Requester => "requester".to_owned(),
            Actor::Staff(id) => format!("staff:{id}"),
        }
    }

    /// Reads a stored actor; `None` for a form Dossier never writes.
    pub fn from_stored(s: &str) -> Option<Actor> {
        match s {
            "system" => Some(Actor::System),
            "requester" => Some(Actor::Requester),
            _ => s.strip_prefix("staff:").filter(|id| !id.is_empty()).map(Actor::staff),
        }
    }
}

/// Which step a manual source's task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskWork {
    /// Search the source and upload what was found.
    Collect,
    /// Make the approved changes by hand.
    Execute,
}

/// How staff completed a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    /// Files uploaded, or the change made.
    Done,
    /// Nothing about the person in the source.
    Nothing,
}

/// An uploaded file, by id and size only (its name is personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub id: String,
    pub size: i64,
}

/// The first broken link of an old chain that an operator chose to reseal past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedBreak {
    pub event: String,
    pub fault: String,
}

/// What a staff member viewed, beyond the request's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewed {
    /// The preview of the data collected for an access request.
    CollectedData,
}

/// Who changed a staff member's password, when it was not Dossier's command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    /// The account's owner, on their account page.
    #[serde(rename = "self")]
    Owner,
}

/// One audited event and its detail. Variant names are the stored names in `snake_case`; fields
/// are written in the order shown. Dates are ISO `YYYY-MM-DD` text as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "detail", rename_all = "snake_case")]
pub enum Event {
    // --- The request's life -------------------------------------------------------------------
    /// A request arrived: on the portal, or entered by staff (`entered_by`, `received_on`).
    Received {
        #[serde(with = "code")]
        kind: RequestKind,
        channel: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entered_by: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        received_on: Option<String>,
    },
    /// The address was proven (`method`: `email_link`, `email_code`, `staff`) and the request got
    /// its reference.
    Verified {
        method: String,
        #[serde(default)]
        reference: String,
    },
    StatusChanged {
        #[serde(with = "code")]
        from: RequestStatus,
        #[serde(with = "code")]
        to: RequestStatus,
    },
    WrongCode {},
    SignedIn {
        method: String,
    },
    Assigned {
        /// The staff member's id; `None`: nobody.
        to: Option<String>,
    },
    NoteAdded {},
    /// GDPR Art. 12(3): the due date moved from `from` to `to`.
    Extended {
        from: String,
        to: String,
    },
    Denied {
        #[serde(with = "code")]
        ground: DenialGround,
    },
    Retried {},
    Withdrawn {},
    /// The clock moved the due date (a pause it counts ended, or it started late).
    DueDateMoved {
        from: String,
        to: String,
        #[serde(default)]
        paused_days: i64,
    },
    /// CCPA §7021(a): receipt confirmed, due by `confirm_by`.
    ReceiptConfirmed {
        confirm_by: Option<String>,
    },
    ClarificationAsked {
        clock_stops: bool,
    },
    ClarificationAnswered {
        chars: i64,
    },
    ClarificationClosed {},
    // --- Sources, exports, plans ----------------------------------------------------------------
    SourceCollected {
        source: String,
        records: i64,
    },
    ExportBuilt {
        export: String,
        records: u64,
        files: u64,
        sha256: String,
    },
    ExportDownloaded {
        export: String,
    },
    ExportDeleted {
        export: String,
    },
    SourcePlanned {
        source: String,
        records: i64,
        items: i64,
    },
    PlanConfirmed {},
    CorrectionsProposed {
        corrections: i64,
        statement: bool,
    },
    ObjectionsChosen {
        purposes: Vec<String>,
    },
    Reviewed {
        approved: i64,
        excluded: i64,
    },
    /// Outcome code (`applied`, `already`, `missing`, `mismatch`) → items.
    SourceExecuted {
        source: String,
        outcomes: BTreeMap<String, i64>,
    },
    ChangesCompleted {
        applied: i64,
        kept: i64,
        excluded: i64,
    },
    AddressForgotten {},
    /// GDPR Art. 19: a recipient was told.
    RecipientTold {
        notice: String,
    },
    CertificateDownloaded {
        locale: String,
    },
    /// A step failed for good; `error` is already redacted.
    JobFailed {
        kind: String,
        error: String,
    },
    EmailQueued {
        template: String,
    },
    EmailSent {
        template: String,
    },
    TaskOpened {
        task: String,
        source: String,
        kind: TaskWork,
        /// Execute: the approved items to change by hand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<i64>,
    },
    TaskFilesUploaded {
        task: String,
        source: String,
        files: Vec<FileRef>,
    },
    TaskFileRemoved {
        task: String,
        source: String,
        file: FileRef,
    },
    TaskCompleted {
        task: String,
        source: String,
        kind: TaskWork,
        outcome: TaskOutcome,
        files: i64,
        note: bool,
    },
    /// The closed request's personal data was purged (its register row and this trail stay).
    PersonalDataPurged {},
    // --- Staff ----------------------------------------------------------------------------------
    /// GDPR Art. 5(2): staff saw the request's personal data.
    StaffViewed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        what: Option<Viewed>,
    },
    /// A search of the queue by the person's address (`by`: `email`).
    StaffSearched {
        by: String,
    },
    RegisterExported {
        from: String,
        to: String,
    },
    StaffCreated {
        staff: String,
        #[serde(with = "code")]
        role: Role,
    },
    StaffRoleChanged {
        staff: String,
        #[serde(with = "code")]
        from: Role,
        #[serde(with = "code")]
        to: Role,
    },
    StaffPasswordChanged {
        staff: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<ChangedBy>,
    },
    StaffDisabled {
        staff: String,
    },
    StaffEnabled {
        staff: String,
    },
    /// `factors`: `password` or `password+totp`.
    StaffLogin {
        factors: String,
    },
    StaffTotpEnabled {
        staff: String,
    },
    StaffTotpReplaced {
        staff: String,
    },
    StaffTotpReset {
        staff: String,
    },
    WorkspaceSettingChanged {
        setting: String,
        value: bool,
    },
    /// Too many failed sign-ins from one client network: that network is locked out of the
    /// account for `minutes` (`network` is masked, e.g. `203.0.113.0/24`).
    StaffLoginLocked {
        staff: String,
        network: String,
        failures: i64,
        minutes: i64,
    },

    // --- The audit trail itself ---------------------------------------------------------------
    /// The SHA-256 chain of earlier versions was verified and resealed under the keyed rule; a
    /// break an operator accepted (`dossier audit reseal --accept-broken`) is recorded with it.
    AuditChainResealed {
        old_head: String,
        old_count: i64,
        key_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted_break: Option<AcceptedBreak>,
    },
    /// The checkpoint was lost and an operator anchored the verified chain anew at its end
    /// (`dossier audit reseal --reanchor`): `count` events, last MAC `mac` under `key_id`.
    AuditCheckpointReestablished {
        count: i64,
        mac: String,
        key_id: String,
    },
    /// Whole sealed segments were pruned: `count` events through `through_segment`, whose last
    /// MAC was `mac`.
    AuditSegmentsPruned {
        through_segment: i64,
        count: i64,
        mac: String,
        key_id: String,
        deleted: u64,
    },
    /// A stored row this version cannot read: a name it does not know (written by a newer or an
    /// older Dossier, or through the string API), or a detail of another shape. Never written.
    #[serde(skip)]
    Unknown {
        name: String,
        detail: serde_json::Value,
    },
}

impl Event {
    /// The stored name and detail. `Unknown` gives back what was read.
    pub fn to_stored(&self) -> serde_json::Result<(String, serde_json::Value)> {
        use serde::ser::Error;
        if let Event::Unknown { name, detail } = self {
            return Ok((name.clone(), detail.clone()));
        }
        let serde_json::Value::Object(mut tagged) = serde_json::to_value(self)? else {
            return Err(serde_json::Error::custom("an event serialises as an object"));
        };
        match (tagged.remove("event"), tagged.remove("detail")) {
            (Some(serde_json::Value::String(name)), Some(detail)) => Ok((name, detail)),
            _ => Err(serde_json::Error::custom("an event serialises with its name and detail")),
        }
    }

    /// The stored name.
    pub fn name(&self) -> serde_json::Result<String> {
        Ok(self.to_stored()?.0)
    }

    /// Reads a stored row, whatever it holds.
    pub fn from_stored(name: &str, detail: &serde_json::Value) -> Event {
        let tagged = serde_json::json!({ "event": name, "detail": detail });
        serde_json::from_value(tagged)
            .unwrap_or_else(|_| Event::Unknown { name: name.to_owned(), detail: detail.clone() })
    }
}

/// Serde through a domain type's stored code (`as_str` / `FromStr`).
mod code {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::domain::{DenialGround, RequestKind, RequestStatus, Role};

    pub trait Code: Sized {
        fn code(&self) -> &'static str;
        fn from_code(s: &str) -> Option<Self>;
    }

    macro_rules! codes {
        ($($t:ty),*) => {$(
            impl Code for $t {
                fn code(&self) -> &'static str {
                    self.as_str()
                }
                fn from_code(s: &str) -> Option<Self> {
                    s.parse().ok()
                }
            }
        )*};
    }
    codes!(RequestKind, RequestStatus, DenialGround, Role);

    pub fn serialize<T: Code, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.code())
    }

    pub fn deserialize<'de, T: Code, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        T::from_code(&s).ok_or_else(|| D::Error::custom(format!("unknown code {s:?}")))
    }
}

/// One example of every variant with the exact detail text Dossier writes for it, for tests here
/// and in the timeline. The match in [`examples_cover_every_variant`] fails to compile when a
/// variant is added without an example.
#[cfg(test)]
pub fn examples() -> Vec<(Event, &'static str, &'static str)> {
    use RequestStatus as S;
    let s = |v: &str| v.to_owned();
    vec![
        (
            Event::Received { kind: RequestKind::Access, channel: s("web"), entered_by: None, received_on: None },
            "received",
            r#"{"kind":"access","channel":"web"}"#,
        ),
        (
            Event::Received {
                kind: RequestKind::Erasure,
                channel: s("letter"),
                entered_by: Some(s("st1")),
                received_on: Some(s("2026-03-02")),
            },
            "received",
            r#"{"kind":"erasure","channel":"letter","entered_by":"st1","received_on":"2026-03-02"}"#,
        ),
        (
            Event::Verified { method: s("email_link"), reference: s("DSR-2026-0001") },
            "verified",
            r#"{"method":"email_link","reference":"DSR-2026-0001"}"#,
        ),
        (
            Event::StatusChanged { from: S::Submitted, to: S::Verified },
            "status_changed",
            r#"{"from":"submitted","to":"verified"}"#,
        ),
        (Event::WrongCode {}, "wrong_code", "{}"),
        (Event::SignedIn { method: s("email_code") }, "signed_in", r#"{"method":"email_code"}"#),
        (Event::Assigned { to: Some(s("st1")) }, "assigned", r#"{"to":"st1"}"#),
        (Event::Assigned { to: None }, "assigned", r#"{"to":null}"#),
        (Event::NoteAdded {}, "note_added", "{}"),
        (
            Event::Extended { from: s("2026-04-02"), to: s("2026-06-02") },
            "extended",
            r#"{"from":"2026-04-02","to":"2026-06-02"}"#,
        ),
        (Event::Denied { ground: DenialGround::Excessive }, "denied", r#"{"ground":"excessive"}"#),
        (Event::Retried {}, "retried", "{}"),
        (Event::Withdrawn {}, "withdrawn", "{}"),
        (
            Event::DueDateMoved { from: s("2026-04-02"), to: s("2026-04-09"), paused_days: 7 },
            "due_date_moved",
            r#"{"from":"2026-04-02","to":"2026-04-09","paused_days":7}"#,
        ),
        (
            Event::ReceiptConfirmed { confirm_by: Some(s("2026-03-12")) },
            "receipt_confirmed",
            r#"{"confirm_by":"2026-03-12"}"#,
        ),
        (Event::ReceiptConfirmed { confirm_by: None }, "receipt_confirmed", r#"{"confirm_by":null}"#),
        (Event::ClarificationAsked { clock_stops: true }, "clarification_asked", r#"{"clock_stops":true}"#),
        (Event::ClarificationAnswered { chars: 42 }, "clarification_answered", r#"{"chars":42}"#),
        (Event::ClarificationClosed {}, "clarification_closed", "{}"),
        (
            Event::SourceCollected { source: s("crm"), records: 3 },
            "source_collected",
            r#"{"source":"crm","records":3}"#,
        ),
        (
            Event::ExportBuilt { export: s("ex1"), records: 5, files: 2, sha256: s("ab") },
            "export_built",
            r#"{"export":"ex1","records":5,"files":2,"sha256":"ab"}"#,
        ),
        (Event::ExportDownloaded { export: s("ex1") }, "export_downloaded", r#"{"export":"ex1"}"#),
        (Event::ExportDeleted { export: s("ex1") }, "export_deleted", r#"{"export":"ex1"}"#),
        (
            Event::SourcePlanned { source: s("crm"), records: 4, items: 6 },
            "source_planned",
            r#"{"source":"crm","records":4,"items":6}"#,
        ),
        (Event::PlanConfirmed {}, "plan_confirmed", "{}"),
        (
            Event::CorrectionsProposed { corrections: 2, statement: true },
            "corrections_proposed",
            r#"{"corrections":2,"statement":true}"#,
        ),
        (
            Event::ObjectionsChosen { purposes: vec![s("direct-marketing")] },
            "objections_chosen",
            r#"{"purposes":["direct-marketing"]}"#,
        ),
        (Event::Reviewed { approved: 3, excluded: 1 }, "reviewed", r#"{"approved":3,"excluded":1}"#),
        (
            Event::SourceExecuted {
                source: s("crm"),
                outcomes: BTreeMap::from([(s("applied"), 2), (s("missing"), 1)]),
            },
            "source_executed",
            r#"{"source":"crm","outcomes":{"applied":2,"missing":1}}"#,
        ),
        (
            Event::ChangesCompleted { applied: 2, kept: 1, excluded: 0 },
            "changes_completed",
            r#"{"applied":2,"kept":1,"excluded":0}"#,
        ),
        (Event::AddressForgotten {}, "address_forgotten", "{}"),
        (Event::RecipientTold { notice: s("n1") }, "recipient_told", r#"{"notice":"n1"}"#),
        (Event::CertificateDownloaded { locale: s("fr") }, "certificate_downloaded", r#"{"locale":"fr"}"#),
        (
            Event::JobFailed { kind: s("collect"), error: s("timeout") },
            "job_failed",
            r#"{"kind":"collect","error":"timeout"}"#,
        ),
        (Event::EmailQueued { template: s("verify") }, "email_queued", r#"{"template":"verify"}"#),
        (Event::EmailSent { template: s("verify") }, "email_sent", r#"{"template":"verify"}"#),
        (
            Event::TaskOpened { task: s("t1"), source: s("paper"), kind: TaskWork::Collect, items: None },
            "task_opened",
            r#"{"task":"t1","source":"paper","kind":"collect"}"#,
        ),
        (
            Event::TaskOpened { task: s("t1"), source: s("paper"), kind: TaskWork::Execute, items: Some(2) },
            "task_opened",
            r#"{"task":"t1","source":"paper","kind":"execute","items":2}"#,
        ),
        (
            Event::TaskFilesUploaded {
                task: s("t1"),
                source: s("paper"),
                files: vec![FileRef { id: s("f1"), size: 10 }],
            },
            "task_files_uploaded",
            r#"{"task":"t1","source":"paper","files":[{"id":"f1","size":10}]}"#,
        ),
        (
            Event::TaskFileRemoved { task: s("t1"), source: s("paper"), file: FileRef { id: s("f1"), size: 10 } },
            "task_file_removed",
            r#"{"task":"t1","source":"paper","file":{"id":"f1","size":10}}"#,
        ),
        (
            Event::TaskCompleted {
                task: s("t1"),
                source: s("paper"),
                kind: TaskWork::Collect,
                outcome: TaskOutcome::Done,
                files: 1,
                note: false,
            },
            "task_completed",
            r#"{"task":"t1","source":"paper","kind":"collect","outcome":"done","files":1,"note":false}"#,
        ),
        (
            Event::TaskCompleted {
                task: s("t1"),
                source: s("paper"),
                kind: TaskWork::Execute,
                outcome: TaskOutcome::Nothing,
                files: 0,
                note: true,
            },
            "task_completed",
            r#"{"task":"t1","source":"paper","kind":"execute","outcome":"nothing","files":0,"note":true}"#,
        ),
        (Event::PersonalDataPurged {}, "personal_data_purged", "{}"),
        (Event::StaffViewed { what: None }, "staff_viewed", "{}"),
        (Event::StaffViewed { what: Some(Viewed::CollectedData) }, "staff_viewed", r#"{"what":"collected_data"}"#),
        (Event::StaffSearched { by: s("email") }, "staff_searched", r#"{"by":"email"}"#),
        (
            Event::RegisterExported { from: s("2026-01-01"), to: s("2026-01-31") },
            "register_exported",
            r#"{"from":"2026-01-01","to":"2026-01-31"}"#,
        ),
        (
            Event::StaffCreated { staff: s("st2"), role: Role::Agent },
            "staff_created",
            r#"{"staff":"st2","role":"agent"}"#,
        ),
        (
            Event::StaffRoleChanged { staff: s("st2"), from: Role::Agent, to: Role::Admin },
            "staff_role_changed",
            r#"{"staff":"st2","from":"agent","to":"admin"}"#,
        ),
        (Event::StaffPasswordChanged { staff: s("st2"), by: None }, "staff_password_changed", r#"{"staff":"st2"}"#),
        (
            Event::StaffPasswordChanged { staff: s("st2"), by: Some(ChangedBy::Owner) },
            "staff_password_changed",
            r#"{"staff":"st2","by":"self"}"#,
        ),
        (Event::StaffDisabled { staff: s("st2") }, "staff_disabled", r#"{"staff":"st2"}"#),
        (Event::StaffEnabled { staff: s("st2") }, "staff_enabled", r#"{"staff":"st2"}"#),
        (Event::StaffLogin { factors: s("password+totp") }, "staff_login", r#"{"factors":"password+totp"}"#),
        (Event::StaffTotpEnabled { staff: s("st2") }, "staff_totp_enabled", r#"{"staff":"st2"}"#),
        (Event::StaffTotpReplaced { staff: s("st2") }, "staff_totp_replaced", r#"{"staff":"st2"}"#),
        (Event::StaffTotpReset { staff: s("st2") }, "staff_totp_reset", r#"{"staff":"st2"}"#),
        (
            Event::WorkspaceSettingChanged { setting: s("require_totp"), value: true },
            "workspace_setting_changed",
            r#"{"setting":"require_totp","value":true}"#,
        ),
        (
            Event::StaffLoginLocked { staff: s("st2"), network: s("203.0.113.0/24"), failures: 5, minutes: 1 },
            "staff_login_locked",
            r#"{"staff":"st2","network":"203.0.113.0/24","failures":5,"minutes":1}"#,
        ),
        (
            Event::AuditChainResealed { old_head: s("ab12"), old_count: 40, key_id: s("k1"), accepted_break: None },
            "audit_chain_resealed",
            r#"{"old_head":"ab12","old_count":40,"key_id":"k1"}"#,
        ),
        (
            Event::AuditChainResealed {
                old_head: s("ab12"),
                old_count: 40,
                key_id: s("k1"),
                accepted_break: Some(AcceptedBreak { event: s("e7"), fault: s("its hash does not match") }),
            },
            "audit_chain_resealed",
            r#"{"old_head":"ab12","old_count":40,"key_id":"k1","accepted_break":{"event":"e7","fault":"its hash does not match"}}"#,
        ),
        (
            Event::AuditCheckpointReestablished { count: 120, mac: s("ef56"), key_id: s("k1") },
            "audit_checkpoint_reestablished",
            r#"{"count":120,"mac":"ef56","key_id":"k1"}"#,
        ),
        (
            Event::AuditSegmentsPruned {
                through_segment: 2,
                count: 900,
                mac: s("cd34"),
                key_id: s("k2"),
                deleted: 900,
            },
            "audit_segments_pruned",
            r#"{"through_segment":2,"count":900,"mac":"cd34","key_id":"k2","deleted":900}"#,
        ),
        (
            Event::Unknown { name: s("from_the_future"), detail: serde_json::json!({"x": 1}) },
            "from_the_future",
            r#"{"x":1}"#,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_stored_exactly_as_before_and_read_back() {
        for (event, name, detail) in examples() {
            let (stored_name, stored_detail) = event.to_stored().unwrap();
            assert_eq!(stored_name, name);
            // The text the hash chain covers: same keys, same order, same values.
            assert_eq!(stored_detail.to_string(), detail, "{name}");
            let parsed: serde_json::Value = serde_json::from_str(detail).unwrap();
            assert_eq!(Event::from_stored(name, &parsed), event, "{name} reads back");
        }
    }

    #[test]
    fn examples_cover_every_variant() {
        let mut seen = std::collections::BTreeSet::new();
        for (event, _, _) in examples() {
            // Exhaustive on purpose: a new variant must get an example (and so its test).
            let n = match event {
                Event::Received { .. } => 0,
                Event::Verified { .. } => 1,
                Event::StatusChanged { .. } => 2,
                Event::WrongCode {} => 3,
                Event::SignedIn { .. } => 4,
                Event::Assigned { .. } => 5,
                Event::NoteAdded {} => 6,
                Event::Extended { .. } => 7,
                Event::Denied { .. } => 8,
                Event::Retried {} => 9,
                Event::Withdrawn {} => 10,
                Event::DueDateMoved { .. } => 11,
                Event::ReceiptConfirmed { .. } => 12,
                Event::ClarificationAsked { .. } => 13,
                Event::ClarificationAnswered { .. } => 14,
                Event::ClarificationClosed {} => 15,
                Event::SourceCollected { .. } => 16,
                Event::ExportBuilt { .. } => 17,
                Event::ExportDownloaded { .. } => 18,
                Event::ExportDeleted { .. } => 19,
                Event::SourcePlanned { .. } => 20,
                Event::PlanConfirmed {} => 21,
                Event::CorrectionsProposed { .. } => 22,
                Event::ObjectionsChosen { .. } => 23,
                Event::Reviewed { .. } => 24,
                Event::SourceExecuted { .. } => 25,
                Event::ChangesCompleted { .. } => 26,
                Event::AddressForgotten {} => 27,
                Event::RecipientTold { .. } => 28,
                Event::CertificateDownloaded { .. } => 29,
                Event::JobFailed { .. } => 30,
                Event::EmailQueued { .. } => 31,
                Event::EmailSent { .. } => 32,
                Event::TaskOpened { .. } => 33,
                Event::TaskFilesUploaded { .. } => 34,
                Event::TaskFileRemoved { .. } => 35,
                Event::TaskCompleted { .. } => 36,
                Event::PersonalDataPurged {} => 37,
                Event::StaffViewed { .. } => 38,
                Event::StaffSearched { .. } => 39,
                Event::RegisterExported { .. } => 40,
                Event::StaffCreated { .. } => 41,
                Event::StaffRoleChanged { .. } => 42,
                Event::StaffPasswordChanged { .. } => 43,
                Event::StaffDisabled { .. } => 44,
                Event::StaffEnabled { .. } => 45,
                Event::StaffLogin { .. } => 46,
                Event::StaffTotpEnabled { .. } => 47,
                Event::StaffTotpReplaced { .. } => 48,
                Event::StaffTotpReset { .. } => 49,
                Event::WorkspaceSettingChanged { .. } => 50,
                Event::StaffLoginLocked { .. } => 51,
                Event::AuditChainResealed { .. } => 52,
                Event::AuditSegmentsPruned { .. } => 53,
                Event::Unknown { .. } => 54,
                Event::AuditCheckpointReestablished { .. } => 55,
            };
            seen.insert(n);
        }
        assert_eq!(seen.len(), 56, "every variant has an example");
    }

    #[test]
    fn unreadable_rows_become_unknown_and_old_shapes_still_read() {
        let odd = serde_json::json!({ "from": "somewhere", "to": "verified" });
        assert_eq!(
            Event::from_stored("status_changed", &odd),
            Event::Unknown { name: "status_changed".into(), detail: odd.clone() }
        );
        assert!(matches!(Event::from_stored("no_such_event", &odd), Event::Unknown { .. }));
        assert!(matches!(Event::from_stored("wrong_code", &serde_json::Value::Null), Event::Unknown { .. }));
        // Fields added over time have defaults; extra fields are ignored.
        assert_eq!(
            Event::from_stored("verified", &serde_json::json!({ "method": "email_link" })),
            Event::Verified { method: "email_link".into(), reference: String::new() }
        );
        assert_eq!(
            Event::from_stored("due_date_moved", &serde_json::json!({ "from": "2026-01-01", "to": "2026-01-02" })),
            Event::DueDateMoved { from: "2026-01-01".into(), to: "2026-01-02".into(), paused_days: 0 }
        );
        assert_eq!(Event::from_stored("note_added", &serde_json::json!({ "extra": 1 })), Event::NoteAdded {});
    }

    #[test]
    fn actors_round_trip_and_odd_ones_are_refused() {
        for actor in [Actor::System, Actor::Requester, Actor::staff("d35ec7")] {
            assert_eq!(Actor::from_stored(&actor.stored()), Some(actor));
        }
        assert_eq!(Actor::staff("d35ec7").stored(), "staff:d35ec7");
        assert_eq!(Actor::from_stored("staff:"), None);
        assert_eq!(Actor::from_stored("law:gdpr-art-21-3"), None);
    }
}
