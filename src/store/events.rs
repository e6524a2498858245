//! The typed way into the audit trail: [`record`] appends an [`Event`] by an [`Actor`] through
//! [`super::audit::record`] (which keeps the hash chain), and [`for_request`] reads a request's
//! events back as [`Event`]s, whatever the stored rows hold (see [`crate::domain::audit`]).

use anyhow::Context;

use super::{Conn, audit};
use crate::domain::audit::{Actor, Event};

/// Appends `event` by `actor` to the chain, inside the caller's transaction (see
/// [`super::audit::record`]).
pub async fn record(
    conn: &mut Conn,
    request_id: Option<&str>,
    actor: &Actor,
    event: &Event,
    now: i64,
) -> anyhow::Result<()> {
    let (name, detail) = event.to_stored().context("encoding an audit event")?;
    audit::record(conn, request_id, &actor.stored(), &name, &detail, now).await
}

/// A recorded event, read back.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: i64,
    /// `Err` holds a stored actor Dossier does not write (shown as stored).
    pub actor: Result<Actor, String>,
    pub event: Event,
}

/// A request's events in the order they happened.
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Recorded>> {
    Ok(audit::for_request(conn, request_id)
        .await?
        .into_iter()
        .map(|e| Recorded {
            at: e.at,
            actor: Actor::from_stored(&e.actor).ok_or(e.actor),
            event: Event::from_stored(&e.event, &e.detail),
        })
        .collect())
}
