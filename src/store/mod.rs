//! The store: one schema over SQLite (embedded default) or PostgreSQL (several instances).
//!
//! Everything goes through `sqlx::Any` with `$1` placeholders, which both backends accept. Where
//! PostgreSQL can do better (claiming jobs with `SKIP LOCKED`), the branch lives here and only here.
//! Functions that take `&mut AnyConnection` compose inside one transaction.

pub mod audit;
pub mod clarifications;
pub mod dashboard;
pub mod emails;
pub mod events;
pub mod exports;
pub mod inbox_handles;
pub mod jobs;
pub mod metrics;
pub mod notes;
pub mod pauses;
pub mod plans;
pub mod queue;
pub mod rate_limits;
pub mod requests;
pub mod sessions;
pub mod source_runs;
pub mod staff;
pub mod tasks;
pub mod verifications;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use sqlx::AnyConnection as Conn;

/// The PostgreSQL advisory lock that serialises write transactions ("dossier" + 1, in ASCII).
/// The audit chain no longer needs it (appends take no lock, see [`audit`]); what still does is
/// listed on [`Store::begin`].
pub const WRITE_LOCK: i64 = 0x646f_7373_6965_7201;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`. Any other scheme is refused with a message
    /// naming the accepted ones.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            bail!(
                "database_url must start with sqlite:// or postgres:// (found {:?})",
                url.split(':').next().unwrap_or("")
            );
        };
        let options = AnyConnectOptions::from_str(url).context("database_url is not a valid URL")?;
        if backend == Backend::Sqlite {
            prepare_sqlite_file(url)?;
        }
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // One writer at a time on SQLite: WAL lets readers go on, the busy timeout queues writers.
            pool = pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            });
        } else {
            pool = pool.max_connections(16);
        }
        let pool = pool.connect_with(options).await.context("cannot open the database at database_url")?;
        Ok(Self { pool, backend })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations").run(&self.pool).await.context("applying database migrations")?;
        audit::prepare(self).await
    }

    /// The versions of the migrations this binary carries.
    pub fn known_migrations() -> Vec<i64> {
        sqlx::migrate!("./migrations").iter().map(|m| m.version).collect()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction, serialised with every other one, as SQLite does by nature.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a deferred transaction that
    /// reads and then writes fails with `SQLITE_BUSY` when another writer got in between, which
    /// the busy timeout cannot cure. On PostgreSQL it takes [`WRITE_LOCK`] first. The audit chain
    /// no longer needs it (events are appended unsealed, without a lock, and sealed by one
    /// sealer), but other writes still do: code written for one writer at a time reads then
    /// writes without row locks (checks re-done "under the write lock": a manual task's completion
    /// in `services::tasks`, the last enabled admin in `services::staff::admin_change`, code
    /// attempts counted per verification), and taking this lock before any row lock is
    /// what keeps two transactions from deadlocking on each other's row locks. Removing it needs a
    /// documented row-lock order and retries on 40001/40P01 (issue 20). Writes are short (slow
    /// work — collecting, building exports, sending mail — happens outside transactions), so this
    /// costs little; reads are never serialised.
    pub async fn begin(&self) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.context("starting a database transaction"),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await.context("starting a database transaction")?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await
                    .context("waiting for the write lock")?;
                Ok(tx)
            }
        }
    }

    pub async fn conn(&self) -> anyhow::Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool.acquire().await.context("acquiring a database connection")
    }
}

/// Before SQLite opens a database it may create (`mode=rwc`), creates the file empty and private
/// (`0600`), since SQLite would give it the umask's mode; SQLite gives its `-wal` and `-shm` files
/// the database file's mode. An existing database is left as it is, with a warning when other
/// accounts may read it (see [`crate::fsutil`]).
fn prepare_sqlite_file(url: &str) -> anyhow::Result<()> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).context("database_url is not a valid URL")?;
    let path = options.get_filename();
    let creates = url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|p| p == "mode=rwc"));
    if path.exists() {
        crate::fsutil::warn_if_not_private(path, "database");
    } else if creates && path.parent().is_none_or(|dir| dir.as_os_str().is_empty() || dir.is_dir()) {
        crate::fsutil::create_private_file_if_missing(path)
            .with_context(|| format!("cannot create the database {}", path.display()))?;
    }
    Ok(())
}
