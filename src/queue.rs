//! The kinds of background work, as typed jobs: what each one carries, its name in the queue, and
//! how it is queued exactly once.
//!
//! A leaf module (it uses the store alone): the services queue work through it, and the workers of
//! [`crate::jobs`] read it back, so neither imports the other. A job's payload is stored as JSON
//! (`jobs.payload`) and its idempotency key is its kind and its text values, in field order
//! (`collect:<request>:<source>`): a second job with the same key is not queued.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::store::Conn;
use crate::store::jobs::{self as rows, NewJob};

/// One kind of job: its payload is `Self`, its name [`Job::KIND`].
pub trait Job: Serialize + DeserializeOwned {
    /// The kind's name in the `jobs` table.
    const KIND: &'static str;

    /// The payload a claimed job of this kind carries.
    fn read(payload: &serde_json::Value) -> anyhow::Result<Self> {
        serde_json::from_value(payload.clone())
            .map_err(|e| anyhow::anyhow!("a {} job's payload cannot be read: {e}", Self::KIND))
    }
}

/// Delivers one stored email.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail {
    pub email_id: String,
}

impl Job for SendEmail {
    const KIND: &'static str = "send_email";
}

/// Collects the person's records from one source (access, portability). `round` makes a retry a
/// new job (its key differs from the first one's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collect {
    pub request_id: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

impl Job for Collect {
    const KIND: &'static str = "collect";
}

/// Builds the export once every source is collected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildExport {
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

impl Job for BuildExport {
    const KIND: &'static str = "build_export";
}

/// Plans the changes one source makes (erasure, rectification, objection).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub request_id: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<String>,
}

impl Job for Plan {
    const KIND: &'static str = "plan";
}

/// Applies a source's approved changes. Every round is a new job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execute {
    pub request_id: String,
    pub source: String,
    pub round: String,
}

impl Job for Execute {
    const KIND: &'static str = "execute";
}

/// Queues `job` (about request `request_id`, if any) to run from `now`, unless a job with the
/// same key is already queued. Returns whether it was queued.
pub async fn enqueue<J: Job>(
    conn: &mut Conn,
    job: &J,
    request_id: Option<&str>,
    max_attempts: i32,
    now: i64,
) -> anyhow::Result<bool> {
    let payload = serde_json::to_value(job)?;
    let values: Vec<&str> =
        payload.as_object().into_iter().flat_map(|o| o.values()).filter_map(|v| v.as_str()).collect();
    let idempotency_key = Some(format!("{}:{}", J::KIND, values.join(":")));
    let new = NewJob { kind: J::KIND, idempotency_key, payload, request_id, max_attempts, run_at: now };
    rows::enqueue(conn, new, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_and_keys_are_those_queued_before_the_types() {
        // Jobs queued by an earlier version must still be read, and deduplicated against.
        let stored = serde_json::json!({ "request_id": "r1", "source": "crm" });
        let c = Collect::read(&stored).unwrap();
        assert_eq!((c.request_id.as_str(), c.source.as_str(), c.round), ("r1", "crm", None));
        assert_eq!(serde_json::to_value(Collect::read(&stored).unwrap()).unwrap(), stored);
        let e = Execute { request_id: "r1".into(), source: "crm".into(), round: "x".into() };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({ "request_id": "r1", "source": "crm", "round": "x" })
        );
        let err = Execute::read(&stored).unwrap_err().to_string();
        assert!(err.contains("execute job's payload cannot be read"), "{err}");
    }
}
