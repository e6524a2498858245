//! The audit trail (GDPR Art. 5(2) accountability): append-only, one row per event, chained with
//! a keyed MAC, sealed in order by one sealer, and anchored outside the database.
//!
//! **Appending** ([`record`]) takes no lock: the event is inserted *unsealed* (`chain_seq` NULL),
//! with its recording order `ord` from a monotonic source — PostgreSQL's sequence
//! `audit_events_ord`, or `MAX(ord) + 1` on SQLite, whose write lock already serialises writers.
//! Two transactions recording events at once never wait for each other here.
//!
//! **Sealing** ([`seal`]) chains the committed unsealed events in `ord` order. Each takes the next
//! place `chain_seq` (1, 2, 3…) and gets
//!
//! ```text
//! mac = hex(HMAC-SHA256(K, prev_mac || JSON [chain_seq, segment, key_id, id, request_id, at, seq,
//!                                              actor, event, detail]))
//! ```
//!
//! over the stored values (`request_id` may be `null`; `detail` is the stored text, as a JSON
//! string), where `prev_mac` is the MAC of the event before ([`GENESIS`] for the first) and `K` is
//! derived from `DOSSIER_SECRET_KEY` ([`ChainKey`]). `key_id` is a short id derived from `K`
//! (never the key): when the key changes, the next sealed event opens a new `segment`, and its
//! `prev_mac` is the previous segment's last MAC, so the segments form one chain. An event whose
//! transaction commits late is simply sealed in a later round. Only one sealer runs at a time
//! (PostgreSQL: `pg_try_advisory_xact_lock(SEAL_LOCK)`, held by the sealer alone, never on the
//! write path; SQLite: its write lock), and the unique index on `chain_seq` refuses a fork anyway.
//!
//! **The window**: until it is sealed, an event can be changed or deleted by someone who can
//! write to the database, without a trace. The worker seals every [`SEAL_EVERY`] (2 seconds), and
//! `dossier audit verify` seals before it checks, so the window is a few seconds.
//!
//! **Anchoring** ([`Checkpoint`]): after each seal, the sealed count, the last MAC and its key id
//! are written to `<data_dir>/audit-checkpoint.json` (temporary file, fsync, rename; mode 0600;
//! under a file lock; the highest count wins and it is never lowered) and logged in one line
//! (`audit chain sealed`, count and MAC only). Before sealing, the sealer checks the chain still
//! has the checkpoint's MAC at the checkpoint's count, and refuses to seal on top of a chain that
//! lost its end — or that has sealed events and no checkpoint at all: only an empty chain and
//! [`upgrade`] create one implicitly; otherwise an operator re-anchors explicitly ([`reanchor`],
//! recorded as `audit_checkpoint_reestablished`). Nor does it build on rows placed after the
//! checkpoint's count unless each links and holds its MAC under the current key
//! (`check_tail`): `head` takes the highest place, which a row written directly could claim.
//!
//! **Open** (docs/security.md, "Audit trail"): the checkpoint itself carries no MAC, and "no
//! sealed event and no file" counts as a fresh chain, so someone who can write both the database
//! and the data directory can wipe the chain's columns or cut its end and write a matching file
//! without the key. Only the `audit chain sealed` log lines shipped off the host show it.
//!
//! **Verifying** ([`verify`]) walks the sealed chain with the key of each segment and names the
//! first place it breaks: an edited event (even with the following MACs recomputed by someone
//! without the key), a missing event in the middle, a relinked or re-segmented event, a segment
//! whose key is not available, and — against the checkpoint — events deleted from the end (fewer
//! sealed events than the checkpoint, or another MAC at its count), and rows placed at or below
//! where the chain starts (0, or the pruned point), which the walk never reads.
//!
//! **The old chain** (plain SHA-256, migration 0004) is verified under its own rule and resealed
//! once by [`upgrade`], which records `audit_chain_resealed`; a broken old chain is never resealed
//! silently, and an operator's accepted break covers that one event only. Stored events are otherwise never rewritten: sealing fills in the chain columns of
//! an unsealed row once.
//!
//! **Pruning** ([`prune`]): only whole sealed segments, oldest first, never the open one, and
//! only when the chain verifies; the checkpoint first records what was pruned (`pruned: {count,
//! mac, segment, key_id}` — the last place, MAC and segment removed), and [`verify`] starts from
//! there instead of [`GENESIS`]. An `audit_segments_pruned` event records it in the chain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::Row;

use super::{Backend, Conn, Store};
use crate::crypto::SecretKey;
use crate::domain::audit::{AcceptedBreak, Actor, Event};

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The `prev_mac` (and old `prev_hash`) of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The PostgreSQL advisory lock only the sealer takes ("dossier" + 2, in ASCII).
pub const SEAL_LOCK: i64 = 0x646f_7373_6965_7202;

/// How often the worker seals: the longest an event stays changeable without a trace.
pub const SEAL_EVERY: Duration = Duration::from_secs(2);

/// The checkpoint's file name in the data directory.
pub const CHECKPOINT_FILE: &str = "audit-checkpoint.json";

/// How many events [`verify`] reads, and [`seal`] seals in one transaction, at a time.
const PAGE: i64 = 1000;

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub detail: serde_json::Value,
}

/// The chain's key: derived from `DOSSIER_SECRET_KEY` for this purpose alone, with its short id.
#[derive(Clone)]
pub struct ChainKey {
    key: SecretKey,
    id: String,
}

impl ChainKey {
    pub fn from_secret(secret: &SecretKey) -> Self {
        let key = secret.derive("audit-chain-v1");
        let mut id = crate::crypto::keyed_hash(&key, b"audit chain key id");
        id.truncate(16);
        Self { key, id }
    }

    /// 16 hex digits naming the key, stored with each sealed event; it reveals nothing of the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, prev_mac: &str, content: &Content) -> String {
        let mut bytes = prev_mac.as_bytes().to_vec();
        bytes.extend_from_slice(content.encode().as_bytes());
        crate::crypto::keyed_hash(&self.key, &bytes)
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey({})", self.id)
    }
}

/// What the MAC covers, as stored.
struct Content<'a> {
    chain_seq: i64,
    segment: i64,
    key_id: &'a str,
    event: &'a Stored,
}

impl Content<'_> {
    fn encode(&self) -> String {
        let e = self.event;
        serde_json::json!([
            self.chain_seq,
            self.segment,
            self.key_id,
            e.id,
            e.request_id,
            e.at,
            e.seq,
            e.actor,
            e.event,
            e.detail
        ])
        .to_string()
    }
}

/// An event's own columns, as stored.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    request_id: Option<String>,
    at: i64,
    seq: i64,
    actor: String,
    event: String,
    detail: String,
}

/// A sealed row: its content and the chain fields the seal gave it.
struct Sealed {
    event: Stored,
    chain_seq: i64,
    segment: Option<i64>,
    key_id: Option<String>,
    prev_mac: Option<String>,
    mac: Option<String>,
}

impl Sealed {
    fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Self> {
        Ok(Self {
            event: Stored::from_row(r)?,
            chain_seq: r.try_get("chain_seq")?,
            segment: r.try_get("segment")?,
            key_id: r.try_get("key_id")?,
            prev_mac: r.try_get("prev_mac")?,
            mac: r.try_get("mac")?,
        })
    }
}

impl Stored {
    fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: r.try_get("id")?,
            request_id: r.try_get("request_id")?,
            at: r.try_get("at")?,
            seq: r.try_get("seq")?,
            actor: r.try_get("actor")?,
            event: r.try_get("event")?,
            detail: r.try_get("detail")?,
        })
    }

    /// The hash of the SHA-256 chain (migration 0004), kept to verify it before resealing.
    fn legacy_hash(&self, chain_seq: i64, prev_hash: &str) -> String {
        let encoded = serde_json::json!([
            chain_seq,
            self.id,
            self.request_id,
            self.at,
            self.seq,
            self.actor,
            self.event,
            self.detail
        ])
        .to_string();
        let mut bytes = prev_hash.as_bytes().to_vec();
        bytes.extend_from_slice(encoded.as_bytes());
        crate::crypto::sha256_hex(&bytes)
    }
}

/// Appends an unsealed event. `actor` is `requester`, `system` or `staff:<id>`; `detail` never
/// holds record contents. No lock is taken: the event is in the chain once the sealer, a few
/// seconds after the caller's transaction commits, gives it its place.
pub async fn record(
    conn: &mut Conn,
    request_id: Option<&str>,
    actor: &str,
    event: &str,
    detail: &serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    // `seq` orders events written in the same millisecond by this process, without a query.
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as i64;
    let sql = if conn.backend_name() == "PostgreSQL" {
        "INSERT INTO audit_events (id, request_id, at, seq, actor, event, detail, ord) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, nextval('audit_events_ord'))"
    } else {
        "INSERT INTO audit_events (id, request_id, at, seq, actor, event, detail, ord) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT COALESCE(MAX(ord), 0) + 1 FROM audit_events))"
    };
    sqlx::query(sql)
        .bind(crate::crypto::new_id())
        .bind(request_id)
        .bind(now)
        .bind(seq)
        .bind(actor)
        .bind(event)
        .bind(detail.to_string())
        .execute(&mut *conn)
        .await
        .context("recording an audit event")?;
    Ok(())
}

/// After the migrations: PostgreSQL's recording order comes from a sequence, created here (plain
/// SQL migrations run on both backends, and SQLite has no sequences) and never behind the
/// places the old chain's events keep.
pub async fn prepare(store: &Store) -> anyhow::Result<()> {
    if store.backend() != Backend::Postgres {
        return Ok(());
    }
    let mut tx = store.pool().begin().await.context("preparing the audit order")?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(&mut *tx).await?;
    sqlx::query("CREATE SEQUENCE IF NOT EXISTS audit_events_ord").execute(&mut *tx).await?;
    sqlx::query(
        // The next `nextval` must be above every stored `ord`. A fresh sequence has not been
        // called yet (`is_called` false): its next value is `last_value` itself, not one more.
        "SELECT setval('audit_events_ord', m, true) FROM (SELECT MAX(ord) AS m FROM audit_events) t \
         WHERE m IS NOT NULL AND m >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END \
         FROM audit_events_ord)",
    )
    .execute(&mut *tx)
    .await
    .context("moving the audit order past the old chain")?;
    tx.commit().await?;
    Ok(())
}

/// A request's events, sealed or waiting. A row with a place at or below 0 is outside the chain
/// (the sealer never gives one): it was written into the database directly, and is not shown as
/// part of the trail — [`verify`] reports it ([`Fault::OutsideChain`]).
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT at, actor, event, detail FROM audit_events WHERE request_id = $1 \
         AND (chain_seq IS NULL OR chain_seq > 0) ORDER BY at, ord, seq",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading audit events")?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEvent {
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                event: r.try_get("event")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checkpoint: the chain's end, outside the database.

/// The sealed chain's end as last anchored: its count, last MAC and that MAC's key id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub count: i64,
    pub mac: String,
    pub key_id: String,
    /// When it was written (unix milliseconds).
    pub at: i64,
    /// The segments pruned so far, if any ([`prune`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
}

/// What [`prune`] removed: every event up to `count`, the end of segment `segment`, whose last
/// MAC (`mac`, under `key_id`) the rest of the chain goes on from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pruned {
    pub count: i64,
    pub mac: String,
    pub segment: i64,
    pub key_id: String,
    pub at: i64,
}

impl Checkpoint {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CHECKPOINT_FILE)
    }

    /// The checkpoint at `path`, `None` when there is no file.
    pub fn read(path: &Path) -> anyhow::Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not an audit checkpoint", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes `self` at `path` unless the file already holds a higher count (instances sharing
    /// the file: the highest wins, it is never lowered). Atomic: a temporary file, written and
    /// synced with mode 0600, renamed over the old one, under an exclusive lock on a lock file
    /// beside it. Returns the checkpoint the file holds afterwards.
    pub fn advance(&self, path: &Path) -> anyhow::Result<Checkpoint> {
        let dir = path.parent().context("the checkpoint has no folder")?;
        let lock = private_options(false)
            .open(path.with_extension("lock"))
            .with_context(|| format!("opening the lock beside {}", path.display()))?;
        lock.lock().context("locking the audit checkpoint")?;
        let current = Self::read(path)?;
        let mut next = match &current {
            Some(c) if c.count >= self.count => {
                if c.count == self.count && c.mac != self.mac {
                    tracing::error!(
                        count = self.count,
                        "the audit checkpoint holds another MAC at this count: kept, run `dossier audit verify`"
                    );
                }
                c.clone()
            }
            _ => self.clone(),
        };
        // What was pruned is never forgotten either.
        next.pruned = [current.as_ref().and_then(|c| c.pruned.clone()), self.pruned.clone()]
            .into_iter()
            .flatten()
            .max_by_key(|p| p.count);
        if current.as_ref() == Some(&next) {
            return Ok(next);
        }
        let temp = dir.join(format!(".{CHECKPOINT_FILE}.{}.tmp", crate::crypto::new_id()));
        let written = (|| -> anyhow::Result<()> {
            let mut file = private_options(true).open(&temp)?;
            file.write_all(serde_json::to_string_pretty(&next)?.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&temp, path)?;
            // The rename itself must survive a crash.
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(e).with_context(|| format!("writing the audit checkpoint {}", path.display()));
        }
        Ok(next)
    }
}

/// Options for a file only Dossier's user may read, created that way (not fixed afterwards).
fn private_options(create_new: bool) -> std::fs::OpenOptions {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

// ---------------------------------------------------------------------------------------------
// Sealing.

/// The last sealed event.
#[derive(Debug, Clone)]
struct Head {
    chain_seq: i64,
    segment: i64,
    key_id: Option<String>,
    mac: String,
}

impl Head {
    fn empty() -> Head {
        Head { chain_seq: 0, segment: 0, key_id: None, mac: GENESIS.to_owned() }
    }
}

async fn head(conn: &mut Conn) -> anyhow::Result<Head> {
    let row = sqlx::query(
        // Places start at 1: a row below (written directly, outside the chain) is never built on.
        "SELECT chain_seq, segment, key_id, mac FROM audit_events WHERE chain_seq > 0 \
         ORDER BY chain_seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .context("reading the audit chain's last event")?;
    let Some(r) = row else { return Ok(Head::empty()) };
    let chain_seq: i64 = r.try_get("chain_seq")?;
    let Some(mac) = r.try_get::<Option<String>, _>("mac")? else {
        bail!(
            "audit event #{chain_seq} was chained under the old SHA-256 rule and not resealed: an instance of an \
             earlier version is still running, or the upgrade did not finish (docs/deployment.md)"
        );
    };
    Ok(Head {
        chain_seq,
        segment: r.try_get::<Option<i64>, _>("segment")?.unwrap_or(1),
        key_id: r.try_get("key_id")?,
        mac,
    })
}

/// What one [`seal`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealing {
    /// Another sealer holds the lock; it will seal these events.
    Busy,
    /// `sealed` events were given their place; the chain now ends at `head` (count, MAC).
    Done { sealed: i64, count: i64, mac: String },
}

/// Seals every committed unsealed event in recording order, then advances the checkpoint at
/// `checkpoint` and logs the new end. Refuses (an error) when the chain no longer holds the
/// checkpoint's MAC at its count: events were deleted from the end, or the chain rewritten.
pub async fn seal(store: &Store, key: &ChainKey, checkpoint: &Path, now: i64) -> anyhow::Result<Sealing> {
    let anchored = Checkpoint::read(checkpoint)?;
    let idle = || Sealing::Done { sealed: 0, count: anchored.as_ref().map_or(0, |c| c.count), mac: String::new() };
    // Nothing to seal (most rounds): a read, no lock of any kind.
    let waiting: Option<String> = sqlx::query_scalar("SELECT id FROM audit_events WHERE chain_seq IS NULL LIMIT 1")
        .fetch_optional(store.pool())
        .await
        .context("looking for unsealed audit events")?;
    if waiting.is_none() {
        return Ok(idle());
    }
    // PostgreSQL: the lock is held by a transaction of its own until the checkpoint is written,
    // so two sealers never interleave; writers never take it.
    let mut guard = match store.backend() {
        Backend::Postgres => {
            let mut guard = store.pool().begin().await.context("starting the sealer")?;
            let got: i64 =
                sqlx::query_scalar("SELECT CAST(CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END AS BIGINT)")
                    .bind(SEAL_LOCK)
                    .fetch_one(&mut *guard)
                    .await
                    .context("taking the sealer's lock")?;
            if got == 0 {
                return Ok(Sealing::Busy);
            }
            Some(guard)
        }
        Backend::Sqlite => None,
    };
    let mut sealed = 0;
    let mut last = None;
    loop {
        let mut tx = match store.backend() {
            Backend::Postgres => store.pool().begin().await.context("starting a seal")?,
            // SQLite: the write lock at once, so the head read here is still the head at commit.
            Backend::Sqlite => store.begin().await?,
        };
        if sealed == 0 {
            check_anchor(&mut tx, anchored.as_ref()).await?;
            check_tail(&mut tx, key, anchored.as_ref()).await?;
        }
        let mut head = head(&mut tx).await?;
        let rows = sqlx::query(
            "SELECT id, request_id, at, seq, actor, event, detail FROM audit_events WHERE chain_seq IS NULL \
             ORDER BY CASE WHEN ord IS NULL THEN 0 ELSE 1 END, ord, at, seq, id LIMIT $1",
        )
        .bind(PAGE)
        .fetch_all(&mut *tx)
        .await
        .context("reading unsealed audit events")?;
        if rows.is_empty() {
            break;
        }
        let page = rows.len() as i64;
        for r in &rows {
            let event = Stored::from_row(r)?;
            let chain_seq = head.chain_seq + 1;
            let segment = if head.key_id.as_deref() == Some(key.id()) { head.segment } else { head.segment + 1 };
            let mac = key.mac(&head.mac, &Content { chain_seq, segment, key_id: key.id(), event: &event });
            let done = sqlx::query(
                "UPDATE audit_events SET chain_seq = $1, segment = $2, key_id = $3, prev_mac = $4, mac = $5, \
                 sealed_at = $6 WHERE id = $7 AND chain_seq IS NULL",
            )
            .bind(chain_seq)
            .bind(segment)
            .bind(key.id())
            .bind(&head.mac)
            .bind(&mac)
            .bind(now)
            .bind(&event.id)
            .execute(&mut *tx)
            .await
            .context("sealing an audit event")?;
            if done.rows_affected() != 1 {
                bail!("audit event {} was sealed by someone else meanwhile", event.id);
            }
            head = Head { chain_seq, segment, key_id: Some(key.id().to_owned()), mac };
        }
        tx.commit().await.context("committing a seal")?;
        sealed += page;
        last = Some(head);
        if page < PAGE {
            break;
        }
    }
    let Some(head) = last else { return Ok(idle()) };
    let point =
        Checkpoint { count: head.chain_seq, mac: head.mac.clone(), key_id: key.id().to_owned(), at: now, pruned: None };
    point.advance(checkpoint)?;
    // The anchor's second copy: the log. A count and a MAC, nothing about anyone.
    tracing::info!(count = head.chain_seq, mac = %head.mac, key_id = %key.id(), sealed, "audit chain sealed");
    if let Some(guard) = guard.take() {
        guard.rollback().await.ok();
    }
    Ok(Sealing::Done { sealed, count: head.chain_seq, mac: head.mac })
}

/// Refuses to seal on top of a chain that no longer ends as the checkpoint says — or that has
/// sealed events but no checkpoint at all: deleting the file and the chain's last events must not
/// pass for a fresh start. Only an empty chain (or [`upgrade`], which anchors first) starts a
/// checkpoint implicitly; otherwise an operator re-anchors with [`reanchor`].
async fn check_anchor(conn: &mut Conn, anchored: Option<&Checkpoint>) -> anyhow::Result<()> {
    let Some(point) = anchored else {
        let head = head(conn).await?;
        if head.chain_seq > 0 {
            bail!(
                "the audit chain has {} sealed events but there is no checkpoint ({CHECKPOINT_FILE} in the data \
                 directory): it was deleted, or this instance has another data directory; not sealing. Restore \
                 the file, or run `dossier audit reseal --reanchor` once `dossier audit verify` shows nothing else \
                 wrong (docs/deployment.md)",
                head.chain_seq
            );
        }
        return Ok(());
    };
    let mac: Option<Option<String>> = sqlx::query_scalar("SELECT mac FROM audit_events WHERE chain_seq = $1")
        .bind(point.count)
        .fetch_optional(&mut *conn)
        .await
        .context("reading the audit event at the checkpoint")?;
    match mac {
        Some(Some(mac)) if mac == point.mac => Ok(()),
        Some(_) => bail!(
            "the audit chain no longer has the checkpoint's MAC at event #{}: it was rewritten; not sealing \
             (run `dossier audit verify`)",
            point.count
        ),
        None => bail!(
            "the audit chain has no event #{} although the checkpoint anchored it: events were deleted from its \
             end; not sealing (run `dossier audit verify`)",
            point.count
        ),
    }
}

/// Refuses to seal on top of a row after the anchored end whose MAC does not hold: `head` takes
/// the highest place, so a row written directly at `head + 1` with a made-up MAC would otherwise
/// be built on. Rows after the checkpoint are those sealed since it was last written (normally
/// none, or a round whose checkpoint write failed), all under the current key.
async fn check_tail(conn: &mut Conn, key: &ChainKey, anchored: Option<&Checkpoint>) -> anyhow::Result<()> {
    let from = anchored.map_or(0, |c| c.count);
    let mut last = if from == 0 {
        Head::empty()
    } else {
        let r = sqlx::query("SELECT segment, key_id, mac FROM audit_events WHERE chain_seq = $1")
            .bind(from)
            .fetch_one(&mut *conn)
            .await
            .context("reading the audit event at the checkpoint")?;
        Head {
            chain_seq: from,
            segment: r.try_get::<Option<i64>, _>("segment")?.unwrap_or(1),
            key_id: r.try_get("key_id")?,
            mac: r.try_get::<Option<String>, _>("mac")?.unwrap_or_default(),
        }
    };
    let rows = sqlx::query(
        "SELECT chain_seq, segment, key_id, prev_mac, mac, id, request_id, at, seq, actor, event, detail \
         FROM audit_events WHERE chain_seq > $1 ORDER BY chain_seq",
    )
    .bind(from)
    .fetch_all(&mut *conn)
    .await
    .context("reading the audit events after the checkpoint")?;
    for r in &rows {
        let Sealed { event, chain_seq, segment, key_id, prev_mac, mac } = Sealed::from_row(r)?;
        let expected_segment =
            if last.key_id.as_deref() == key_id.as_deref() { last.segment } else { last.segment + 1 };
        let holds = chain_seq == last.chain_seq + 1
            && prev_mac.as_deref() == Some(last.mac.as_str())
            && key_id.as_deref() == Some(key.id())
            && segment == Some(expected_segment)
            && mac.as_deref().is_some_and(|m| {
                let expected = key
                    .mac(&last.mac, &Content { chain_seq, segment: expected_segment, key_id: key.id(), event: &event });
                crate::crypto::constant_time_eq(m.as_bytes(), expected.as_bytes())
            });
        if !holds {
            bail!(
                "audit event #{chain_seq}, after the checkpoint's #{from}, does not hold under the current key: it \
                 was written outside the sealer; not sealing (run `dossier audit verify`)"
            );
        }
        last = Head { chain_seq, segment: expected_segment, key_id, mac: mac.unwrap_or_default() };
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Verifying.

/// Why the chain is broken at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The event's MAC does not match its content: changed after sealing (or its MAC forged
    /// without the key).
    Altered,
    /// Events `first..=last` are missing before this one: deleted from the middle.
    Missing { first: i64, last: i64 },
    /// The event does not record the previous event's MAC: moved, inserted or relinked.
    Relinked,
    /// Its segment number does not follow from its key id (a segment changes with the key).
    Segment,
    /// It opens a segment sealed under a key that was not given to the check.
    UnknownKey { key_id: String },
    /// Fewer events are sealed than the checkpoint anchored: events were deleted from the end.
    Truncated { sealed: i64, checkpoint: i64 },
    /// The event at the checkpoint's count has another MAC than the checkpoint's.
    CheckpointDiffers,
    /// Sealed events exist but there is no checkpoint: the chain's end cannot be checked.
    NoCheckpoint,
    /// `count` rows claim a place at or below where the chain starts (0, or the pruned point):
    /// the sealer never writes them; they were inserted into the database directly.
    OutsideChain { count: i64, floor: i64 },
}

/// The first place the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The event's place, when the break is at an event.
    pub chain_seq: Option<i64>,
    pub id: Option<String>,
    pub fault: Fault,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match &self.fault {
            Fault::Altered => "its MAC does not match its content: it was changed after it was sealed".to_owned(),
            Fault::Missing { first, last } if first == last => format!("event #{first} before it is missing"),
            Fault::Missing { first, last } => format!("events #{first} to #{last} before it are missing"),
            Fault::Relinked => "it does not record the MAC of the event before it".to_owned(),
            Fault::Segment => "its segment does not follow from its key id".to_owned(),
            Fault::UnknownKey { key_id } => format!(
                "it was sealed under key id {key_id}, which was not given: pass that DOSSIER_SECRET_KEY in \
                 DOSSIER_PREVIOUS_SECRET_KEYS"
            ),
            Fault::Truncated { sealed, checkpoint } => {
                let gone = if sealed + 1 == *checkpoint {
                    format!("event #{checkpoint} was deleted")
                } else {
                    format!("events #{} to #{checkpoint} were deleted", sealed + 1)
                };
                return write!(
                    f,
                    "broken at the end: {sealed} events are sealed but the checkpoint anchored {checkpoint}: {gone}"
                );
            }
            Fault::CheckpointDiffers => {
                "its MAC is not the one the checkpoint anchored: the chain was rewritten".into()
            }
            Fault::NoCheckpoint => {
                return f.write_str("not anchored: sealed events exist but there is no checkpoint file");
            }
            Fault::OutsideChain { count, floor } => {
                return write!(
                    f,
                    "broken: {count} event(s) claim a place at or below #{floor}, outside the chain (the sealer \
                     never writes them: they were inserted into the database directly{})",
                    if *floor > 0 { ", or left by a pruning that was interrupted" } else { "" }
                );
            }
        };
        match (self.chain_seq, &self.id) {
            (Some(n), Some(id)) => write!(f, "broken at event #{n} ({id}): {why}"),
            (Some(n), None) => write!(f, "broken at event #{n}: {why}"),
            _ => write!(f, "broken: {why}"),
        }
    }
}

/// One segment of the chain: the events sealed under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub number: i64,
    pub key_id: String,
    pub first: i64,
    pub last: i64,
}

/// What [`verify`] checked, and the first break if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Sealed events checked, in order, up to the break.
    pub events: i64,
    pub segments: Vec<Segment>,
    /// The last checked event's MAC.
    pub head: Option<String>,
    /// Events recorded but not sealed yet (not covered by the check).
    pub unsealed: i64,
    /// The checkpoint compared with the chain, if any.
    pub checkpoint: Option<Checkpoint>,
    /// Where the check started when segments were pruned (the checkpoint records it).
    pub pruned: Option<Pruned>,
    pub broken: Option<Break>,
}

impl Report {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.pruned {
            writeln!(f, "pruned: events #1 to #{} (segments 1 to {}); checked from its last MAC", p.count, p.segment)?;
        }
        writeln!(f, "checked {} sealed events in {} segment(s)", self.events, self.segments.len())?;
        for s in &self.segments {
            writeln!(f, "  segment {}: events #{} to #{}, key id {}", s.number, s.first, s.last, s.key_id)?;
        }
        match &self.checkpoint {
            Some(c) => writeln!(f, "checkpoint: {} events, MAC {} (key id {})", c.count, c.mac, c.key_id)?,
            None => writeln!(f, "checkpoint: none")?,
        }
        writeln!(f, "not sealed yet: {} events", self.unsealed)?;
        match (&self.broken, &self.head) {
            (Some(b), _) => write!(f, "{b}"),
            (None, Some(head)) => write!(f, "ok: {} events, last MAC {head}", self.events),
            (None, None) => write!(f, "ok: 0 events"),
        }
    }
}

/// Walks the sealed chain in order with the key of each segment (`keys`: the current one and any
/// previous ones), compares its end with `checkpoint`, and stops at the first break.
pub async fn verify(conn: &mut Conn, keys: &[ChainKey], checkpoint: Option<&Checkpoint>) -> anyhow::Result<Report> {
    let mut report = Report {
        events: 0,
        segments: Vec::new(),
        head: None,
        unsealed: 0,
        checkpoint: checkpoint.cloned(),
        pruned: checkpoint.and_then(|c| c.pruned.clone()),
        broken: None,
    };
    let mut last = match &report.pruned {
        Some(p) => Head { chain_seq: p.count, segment: p.segment, key_id: Some(p.key_id.clone()), mac: p.mac.clone() },
        None => Head::empty(),
    };
    let mut mac_at_checkpoint = None;
    'pages: loop {
        let rows = sqlx::query(
            "SELECT chain_seq, segment, key_id, prev_mac, mac, id, request_id, at, seq, actor, event, detail \
             FROM audit_events WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2",
        )
        .bind(last.chain_seq)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await
        .context("reading the audit chain")?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let Sealed { event, chain_seq, segment, key_id, prev_mac, mac } = Sealed::from_row(r)?;
            let fault = |fault| Break { chain_seq: Some(chain_seq), id: Some(event.id.clone()), fault };
            if chain_seq != last.chain_seq + 1 {
                report.broken = Some(fault(Fault::Missing { first: last.chain_seq + 1, last: chain_seq - 1 }));
                break 'pages;
            }
            if prev_mac.as_deref() != Some(last.mac.as_str()) {
                report.broken = Some(fault(Fault::Relinked));
                break 'pages;
            }
            let (Some(segment), Some(key_id)) = (segment, key_id) else {
                report.broken = Some(fault(Fault::Segment));
                break 'pages;
            };
            let expected_segment =
                if last.key_id.as_deref() == Some(key_id.as_str()) { last.segment } else { last.segment + 1 };
            if segment != expected_segment {
                report.broken = Some(fault(Fault::Segment));
                break 'pages;
            }
            let Some(key) = keys.iter().find(|k| k.id() == key_id) else {
                report.broken = Some(fault(Fault::UnknownKey { key_id }));
                break 'pages;
            };
            let expected = key.mac(&last.mac, &Content { chain_seq, segment, key_id: &key_id, event: &event });
            let Some(mac) = mac.filter(|m| crate::crypto::constant_time_eq(m.as_bytes(), expected.as_bytes())) else {
                report.broken = Some(fault(Fault::Altered));
                break 'pages;
            };
            match report.segments.last_mut() {
                Some(s) if s.number == segment => s.last = chain_seq,
                _ => report.segments.push(Segment {
                    number: segment,
                    key_id: key_id.clone(),
                    first: chain_seq,
                    last: chain_seq,
                }),
            }
            if checkpoint.is_some_and(|c| c.count == chain_seq) {
                mac_at_checkpoint = Some((event.id.clone(), mac.clone()));
            }
            report.events += 1;
            report.head = Some(mac.clone());
            last = Head { chain_seq, segment, key_id: Some(key_id), mac };
        }
    }
    report.unsealed = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE chain_seq IS NULL")
        .fetch_one(&mut *conn)
        .await
        .context("counting unsealed audit events")?;
    if report.broken.is_some() {
        return Ok(report);
    }
    // The walk reads only the places after the floor: anything at or below it is outside.
    let floor = report.pruned.as_ref().map_or(0, |p| p.count);
    let outside: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE chain_seq IS NOT NULL AND chain_seq <= $1")
            .bind(floor)
            .fetch_one(&mut *conn)
            .await
            .context("counting audit events outside the chain")?;
    if outside > 0 {
        report.broken = Some(Break { chain_seq: None, id: None, fault: Fault::OutsideChain { count: outside, floor } });
        return Ok(report);
    }
    report.broken = match (checkpoint, mac_at_checkpoint) {
        (None, _) if report.events > 0 => Some(Break { chain_seq: None, id: None, fault: Fault::NoCheckpoint }),
        (None, _) => None,
        (Some(c), _) if c.count > last.chain_seq => Some(Break {
            chain_seq: None,
            id: None,
            fault: Fault::Truncated { sealed: last.chain_seq, checkpoint: c.count },
        }),
        (Some(c), Some((id, mac))) if mac != c.mac => {
            Some(Break { chain_seq: Some(c.count), id: Some(id), fault: Fault::CheckpointDiffers })
        }
        _ => None,
    };
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Pruning.

/// Deletes every event of the sealed segments 1 to `through_segment`: whole segments only, never
/// the open one (the current key's). The chain must verify first (`keys`: the current one first,
/// then those of every older segment), so pruning never erases the evidence of a break. The
/// checkpoint records what was pruned before anything is deleted, [`verify`] goes on from there,
/// and an `audit_segments_pruned` event in the chain says so.
pub async fn prune(
    store: &Store,
    keys: &[ChainKey],
    checkpoint: &Path,
    through_segment: i64,
    now: i64,
) -> anyhow::Result<Pruned> {
    let current_key = keys.first().context("pruning needs the current key")?;
    let anchored = Checkpoint::read(checkpoint)?;
    let report = verify(&mut *store.conn().await?, keys, anchored.as_ref()).await?;
    if let Some(broken) = &report.broken {
        bail!("the audit chain does not verify ({broken}): nothing was pruned");
    }
    let Some(end) = report.segments.iter().find(|s| s.number == through_segment) else {
        bail!("segment {through_segment} is not in the audit chain (pruned already, or not sealed yet)");
    };
    if report.segments.last() == Some(end) {
        bail!(
            "segment {through_segment} is the chain's open segment (events are still sealed into it): only a \
             segment closed by a key rotation can be pruned"
        );
    }
    let anchored = anchored.context("the audit chain has no checkpoint")?;
    let mac: String = sqlx::query_scalar("SELECT mac FROM audit_events WHERE chain_seq = $1")
        .bind(end.last)
        .fetch_one(store.pool())
        .await
        .context("reading the last event to prune")?;
    let pruned = Pruned { count: end.last, mac, segment: end.number, key_id: end.key_id.clone(), at: now };
    // Anchored first: after a crash before the deletion, the check skips what is left of it.
    Checkpoint { pruned: Some(pruned.clone()), ..anchored }.advance(checkpoint)?;
    let mut tx = match store.backend() {
        Backend::Postgres => {
            let mut tx = store.pool().begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(&mut *tx).await?;
            tx
        }
        Backend::Sqlite => store.begin().await?,
    };
    let deleted = sqlx::query("DELETE FROM audit_events WHERE chain_seq <= $1")
        .bind(pruned.count)
        .execute(&mut *tx)
        .await
        .context("pruning audit events")?
        .rows_affected();
    let event = Event::AuditSegmentsPruned {
        through_segment: pruned.segment,
        count: pruned.count,
        mac: pruned.mac.clone(),
        key_id: pruned.key_id.clone(),
        deleted,
    };
    super::events::record(&mut tx, None, &Actor::System, &event, now).await?;
    tx.commit().await.context("committing the pruning")?;
    tracing::info!(count = pruned.count, segment = pruned.segment, mac = %pruned.mac, "audit segments pruned");
    seal(store, current_key, checkpoint, now).await?;
    Ok(pruned)
}

// ---------------------------------------------------------------------------------------------
// Re-anchoring.

/// An operator's explicit decision (`dossier audit reseal --reanchor`) to anchor the chain anew
/// when its checkpoint is lost: only when there is no checkpoint, and only once the chain
/// verifies from its start (`keys`: the current one first, then those of older segments). The
/// checkpoint is written at the chain's current end, an `audit_checkpoint_reestablished` event
/// records it in the chain, and the log says so at error level: events deleted from the end
/// before this cannot be detected any more, and whoever reads the trail must know.
pub async fn reanchor(store: &Store, keys: &[ChainKey], checkpoint: &Path, now: i64) -> anyhow::Result<Checkpoint> {
    let key = keys.first().context("re-anchoring needs the current key")?;
    if let Some(c) = Checkpoint::read(checkpoint)? {
        bail!(
            "{} exists (count {}): nothing to re-anchor; `dossier audit verify` compares the chain with it",
            checkpoint.display(),
            c.count
        );
    }
    let report = verify(&mut *store.conn().await?, keys, None).await?;
    match &report.broken {
        Some(Break { fault: Fault::NoCheckpoint, .. }) => {}
        Some(broken) => bail!("the audit chain does not verify ({broken}): not re-anchored"),
        None => bail!("no event is sealed yet: the first seal creates the checkpoint"),
    }
    let (Some(end), Some(mac)) = (report.segments.last(), report.head.clone()) else {
        bail!("no event is sealed yet: the first seal creates the checkpoint");
    };
    let point = Checkpoint { count: end.last, mac, key_id: end.key_id.clone(), at: now, pruned: None };
    let point = point.advance(checkpoint)?;
    let mut tx = store.begin().await?;
    let event = Event::AuditCheckpointReestablished {
        count: point.count,
        mac: point.mac.clone(),
        key_id: point.key_id.clone(),
    };
    super::events::record(&mut tx, None, &Actor::System, &event, now).await?;
    tx.commit().await.context("recording the re-established checkpoint")?;
    tracing::error!(
        count = point.count,
        mac = %point.mac,
        key_id = %point.key_id,
        "the audit checkpoint was re-established by an operator: deletions from the chain's end before this cannot be detected"
    );
    seal(store, key, checkpoint, now).await?;
    Ok(point)
}

// ---------------------------------------------------------------------------------------------
// The upgrade from the SHA-256 chain.

/// Verifies the SHA-256 chain of migration 0004 under its own rule and reseals it under `key`:
/// its events keep their places and become segment 1; an `audit_chain_resealed` event records
/// the old head and count, and is sealed with any event waiting. Does nothing when there is no
/// old chain left. When the old chain is broken, nothing changes and the error names the first
/// broken event — unless `accept_broken` is that event's id (an operator's explicit decision,
/// recorded in the resealed event). Returns the number of events resealed.
pub async fn upgrade(
    store: &Store,
    key: &ChainKey,
    checkpoint: &Path,
    now: i64,
    accept_broken: Option<&str>,
) -> anyhow::Result<i64> {
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE chain_seq IS NOT NULL AND mac IS NULL")
            .fetch_one(store.pool())
            .await
            .context("looking for the old audit chain")?;
    if pending == 0 {
        return Ok(0);
    }
    let mut tx = match store.backend() {
        Backend::Postgres => {
            let mut tx = store.pool().begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(&mut *tx).await?;
            tx
        }
        Backend::Sqlite => store.begin().await?,
    };
    let rows = sqlx::query(
        "SELECT chain_seq, prev_hash, hash, id, request_id, at, seq, actor, event, detail FROM audit_events \
         WHERE chain_seq IS NOT NULL AND mac IS NULL ORDER BY chain_seq",
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading the old audit chain")?;
    if rows.is_empty() {
        // Another instance resealed it meanwhile.
        return Ok(0);
    }
    let first: i64 = rows[0].try_get("chain_seq")?;
    if first != 1 {
        bail!("the old audit chain does not start at event #1 (it starts at #{first}): resealing refused");
    }
    let (mut last_hash, mut resealed) = (GENESIS.to_owned(), Vec::with_capacity(rows.len()));
    let mut broken: Option<(String, &str)> = None;
    let mut prev_seq = 0;
    for r in &rows {
        let event = Stored::from_row(r)?;
        let chain_seq: i64 = r.try_get("chain_seq")?;
        let prev_hash: Option<String> = r.try_get("prev_hash")?;
        let hash: Option<String> = r.try_get("hash")?;
        // Checked to the end: an accepted break covers that one event only, and the check goes on
        // from its stored hash, so a later break is refused too.
        {
            let why = if chain_seq != prev_seq + 1 || prev_hash.as_deref() != Some(last_hash.as_str()) {
                Some("it does not follow the previous event")
            } else if hash.as_deref() != Some(event.legacy_hash(chain_seq, &last_hash).as_str()) {
                Some("its hash does not match its content")
            } else {
                None
            };
            if let Some(why) = why {
                if let Some((accepted, _)) = &broken {
                    bail!(
                        "the audit chain written before the keyed chain is broken again after the accepted break \
                         at {accepted}: at event #{chain_seq} ({}): {why}. Nothing was resealed: an accepted break \
                         covers that one event only (see docs/deployment.md, \"Upgrading to the keyed audit \
                         chain\")",
                        event.id
                    );
                }
                if accept_broken != Some(event.id.as_str()) {
                    bail!(
                        "the audit chain written before the keyed chain does not verify under its SHA-256 rule: \
                         broken at event #{chain_seq} ({}): {why}. Nothing was resealed. Find out what happened \
                         (restore the event from a backup if it was changed), or accept the break explicitly with \
                         `dossier audit reseal --accept-broken {}` (see docs/deployment.md, \"Upgrading to the \
                         keyed audit chain\")",
                        event.id,
                        event.id
                    );
                }
                broken = Some((event.id.clone(), why));
            }
        }
        last_hash = hash.unwrap_or_default();
        prev_seq = chain_seq;
        resealed.push((chain_seq, event));
    }
    let old_count = resealed.len() as i64;
    // The resealed chain's end is its last place (after an accepted missing event, not the count).
    let end = resealed.last().map_or(0, |(chain_seq, _)| *chain_seq);
    let mut mac = GENESIS.to_owned();
    for (chain_seq, event) in &resealed {
        let next = key.mac(&mac, &Content { chain_seq: *chain_seq, segment: 1, key_id: key.id(), event });
        sqlx::query(
            "UPDATE audit_events SET segment = 1, key_id = $1, prev_mac = $2, mac = $3, sealed_at = $4 \
             WHERE id = $5 AND mac IS NULL",
        )
        .bind(key.id())
        .bind(&mac)
        .bind(&next)
        .bind(now)
        .bind(&event.id)
        .execute(&mut *tx)
        .await
        .context("resealing an event of the old audit chain")?;
        mac = next;
    }
    let event = Event::AuditChainResealed {
        old_head: last_hash.clone(),
        old_count,
        key_id: key.id().to_owned(),
        accepted_break: broken
            .map(|(event, fault)| AcceptedBreak { event: event.to_string(), fault: fault.to_string() }),
    };
    super::events::record(&mut tx, None, &Actor::System, &event, now).await?;
    tx.commit().await.context("committing the resealed audit chain")?;
    tracing::info!(old_count, old_head = %last_hash, "the SHA-256 audit chain was verified and resealed");
    // The resealed chain's end, then the event that says so (and anything waiting), anchored.
    Checkpoint { count: end, mac, key_id: key.id().to_owned(), at: now, pruned: None }.advance(checkpoint)?;
    seal(store, key, checkpoint, now).await?;
    Ok(old_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(detail: &str, request_id: Option<&str>) -> Stored {
        Stored {
            id: "a".into(),
            request_id: request_id.map(str::to_owned),
            at: 2,
            seq: 3,
            actor: "system".into(),
            event: "x".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn the_mac_covers_every_field_the_previous_mac_and_the_key() {
        let key = ChainKey::from_secret(&SecretKey::generate());
        let other = ChainKey::from_secret(&SecretKey::generate());
        assert_eq!(key.id().len(), 16);
        assert_ne!(key.id(), other.id());
        let e = stored("{}", Some("r"));
        let mac = |k: &ChainKey, prev: &str, seq: i64, seg: i64, id: &str, e: &Stored| {
            k.mac(prev, &Content { chain_seq: seq, segment: seg, key_id: id, event: e })
        };
        let base = mac(&key, GENESIS, 1, 1, key.id(), &e);
        assert_eq!(base.len(), 64);
        assert_eq!(base, mac(&key, GENESIS, 1, 1, key.id(), &e), "deterministic");
        assert_ne!(base, mac(&other, GENESIS, 1, 1, key.id(), &e), "keyed");
        assert_ne!(base, mac(&key, &"1".repeat(64), 1, 1, key.id(), &e));
        assert_ne!(base, mac(&key, GENESIS, 2, 1, key.id(), &e));
        assert_ne!(base, mac(&key, GENESIS, 1, 2, key.id(), &e));
        assert_ne!(base, mac(&key, GENESIS, 1, 1, other.id(), &e));
        for changed in [
            stored("{ }", Some("r")),
            stored("{}", None),
            Stored { at: 3, ..stored("{}", Some("r")) },
            Stored { seq: 4, ..stored("{}", Some("r")) },
            Stored { actor: "staff:1".into(), ..stored("{}", Some("r")) },
            Stored { event: "y".into(), ..stored("{}", Some("r")) },
            Stored { id: "b".into(), ..stored("{}", Some("r")) },
        ] {
            assert_ne!(base, mac(&key, GENESIS, 1, 1, key.id(), &changed), "{changed:?}");
        }
        // Field boundaries are unambiguous: moving text between fields changes the MAC.
        let a = Stored { actor: "ab".into(), event: "c".into(), ..stored("{}", None) };
        let b = Stored { actor: "a".into(), event: "bc".into(), ..stored("{}", None) };
        assert_ne!(mac(&key, GENESIS, 1, 1, key.id(), &a), mac(&key, GENESIS, 1, 1, key.id(), &b));
    }

    #[test]
    fn breaks_are_named_in_words() {
        let at = |fault| Break { chain_seq: Some(123), id: Some("abc".into()), fault };
        assert_eq!(
            at(Fault::Altered).to_string(),
            "broken at event #123 (abc): its MAC does not match its content: it was changed after it was sealed"
        );
        assert_eq!(
            at(Fault::Missing { first: 122, last: 122 }).to_string(),
            "broken at event #123 (abc): event #122 before it is missing"
        );
        let end = Break { chain_seq: None, id: None, fault: Fault::Truncated { sealed: 10, checkpoint: 13 } };
        assert_eq!(
            end.to_string(),
            "broken at the end: 10 events are sealed but the checkpoint anchored 13: events #11 to #13 were deleted"
        );
    }

    #[test]
    fn the_checkpoint_only_moves_forward_and_is_private() {
        let dir = std::env::temp_dir().join(format!("dossier-checkpoint-{}", crate::crypto::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = Checkpoint::path(&dir);
        assert_eq!(Checkpoint::read(&path).unwrap(), None);
        let at =
            |count: i64| Checkpoint { count, mac: format!("{count:064}"), key_id: "k".into(), at: count, pruned: None };
        assert_eq!(at(5).advance(&path).unwrap(), at(5));
        assert_eq!(at(3).advance(&path).unwrap(), at(5), "never lowered");
        assert_eq!(Checkpoint::read(&path).unwrap(), Some(at(5)));
        assert_eq!(at(9).advance(&path).unwrap(), at(9));
        // What was pruned is kept by every later advance, and never moves back.
        let pruned = Pruned { count: 4, mac: "m".into(), segment: 1, key_id: "k".into(), at: 1 };
        let with = |count: i64| Checkpoint { pruned: Some(pruned.clone()), ..at(count) };
        assert_eq!(with(9).advance(&path).unwrap(), with(9), "same count, pruning recorded");
        assert_eq!(at(12).advance(&path).unwrap(), with(12));
        let earlier = Checkpoint { pruned: Some(Pruned { count: 2, ..pruned.clone() }), ..at(13) };
        assert_eq!(earlier.advance(&path).unwrap(), with(13));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "tmp"))
            .count();
        assert_eq!(leftovers, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
