//! Staff passwords: argon2id, computed in a bounded pool.
//!
//! Each argon2id computation (the defaults: 19 MiB of memory, 2 passes, 1 lane) needs a 19 MiB
//! working buffer. Letting every login allocate its own was an attack: the allocator keeps freed
//! buffers of that size, so a few hundred wrong logins grew the process by gigabytes, and under a
//! memory cap the next allocation failed — which was then read as "wrong password".
//!
//! Invariants of [`Passwords`]:
//! - at most `slots` computations run at once (a semaphore; `slots` is the number of cores, at
//!   least 1), each on a buffer owned by the pool: allocated once, on first use, reused after, so
//!   the pool's memory is bounded by `slots × 19 MiB` whatever the traffic;
//! - the permit and the buffer travel into the blocking task, so a request dropped mid-check
//!   cannot free its permit while its computation still runs;
//! - waiting longer than [`Passwords::wait`] for a permit is [`PasswordError::Busy`] (the caller
//!   answers "busy, try again"); a buffer that cannot be allocated, or a stored hash that cannot
//!   be read, is [`PasswordError::Failed`] — never a wrong password. Only a computed hash that
//!   differs from the stored one is a wrong password (`Ok(false)`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a check waits for a free slot before the caller is told to try again.
pub const WAIT: Duration = Duration::from_secs(3);

/// The salt length of new hashes (the PHC recommendation, 128 bits).
const SALT_LEN: usize = 16;

/// Why a password could not be hashed or checked. Neither means "wrong password".
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every slot stayed busy for the whole wait.
    #[error("every password-hashing slot stayed busy for {0:?}")]
    Busy(Duration),
    /// The buffer could not be allocated, the stored hash is unreadable, or the computation failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// The pool every password hash and check goes through (see the module's documentation).
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Arc<Semaphore>,
    size: usize,
    /// Buffers not in use; never more than `size` exist.
    free: Mutex<Vec<Box<[Block]>>>,
    wait: Duration,
    /// A hash no password matches, for unknown addresses (same parameters, so the same work).
    dummy: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").field("slots", &self.inner.size).field("wait", &self.inner.wait).finish()
    }
}

fn params() -> Params {
    Params::default()
}

fn hasher(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Passwords {
    /// A pool of `slots` computations (at least 1), each waiting at most `wait` for its turn.
    pub fn new(slots: usize, wait: Duration) -> Self {
        let size = slots.max(1);
        Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(size)),
                size,
                free: Mutex::new(Vec::new()),
                wait,
                dummy: dummy_hash(),
            }),
        }
    }

    /// One slot per core (at least 1), waiting at most [`WAIT`].
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from), WAIT)
    }

    /// A pool for callers without the application's state (the `dossier staff` commands): one per
    /// process, sized like [`Passwords::for_this_machine`].
    pub fn shared() -> &'static Passwords {
        static SHARED: std::sync::LazyLock<Passwords> = std::sync::LazyLock::new(Passwords::for_this_machine);
        &SHARED
    }

    /// How many computations may run at once.
    pub fn slots(&self) -> usize {
        self.inner.size
    }

    /// How long a check waits for a slot.
    pub fn wait(&self) -> Duration {
        self.inner.wait
    }

    /// A PHC string no password matches, with the parameters of new hashes: checking a password
    /// against it costs the same as against a real one.
    pub fn dummy_hash(&self) -> &str {
        &self.inner.dummy
    }

    /// Waits (at most [`Passwords::wait`]) for a free slot, for one hash or check. Callers that
    /// count an attempt take the slot first, so an attempt refused as busy is never counted.
    pub async fn reserve(&self) -> Result<Slot, PasswordError> {
        let permit = tokio::time::timeout(self.inner.wait, self.inner.slots.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy(self.inner.wait))?
            .context("the password pool is closed")?;
        Ok(Slot { permit, inner: self.inner.clone() })
    }

    /// The argon2id hash of `password`, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.reserve().await?.hash(password).await
    }

    /// Whether `password` matches the PHC string `hash`: `Ok(false)` only when the computed hash
    /// differs from the stored one.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PasswordError> {
        self.reserve().await?.verify(password, hash).await
    }

    /// Checks `password` against [`Passwords::dummy_hash`]: the work of a real check, always
    /// `Ok(false)` unless the pool is busy or failing.
    pub async fn verify_dummy(&self, password: &str) -> Result<bool, PasswordError> {
        self.reserve().await?.verify_dummy(password).await
    }
}

/// A reserved turn in the pool: one hash or check, then the slot is free again.
pub struct Slot {
    permit: OwnedSemaphorePermit,
    inner: Arc<Inner>,
}

impl Slot {
    /// See [`Passwords::hash`].
    pub async fn hash(self, password: &str) -> Result<String, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill(&mut salt[..]);
        let password = secret(password);
        self.run(move |blocks| {
            let params = params();
            let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
            hasher(params.clone())
                .hash_password_into_with_memory(password.expose_secret().as_bytes(), &salt, &mut out, blocks)
                .map_err(|e| anyhow!("hashing a password: {e}"))?;
            phc_string(&params, &salt, &out)
        })
        .await
    }

    /// See [`Passwords::verify`].
    pub async fn verify(self, password: &str, hash: &str) -> Result<bool, PasswordError> {
        let stored = Stored::parse(hash)?;
        let password = secret(password);
        self.run(move |blocks| stored.matches(password.expose_secret().as_bytes(), blocks)).await
    }

    /// See [`Passwords::verify_dummy`].
    pub async fn verify_dummy(self, password: &str) -> Result<bool, PasswordError> {
        let dummy = self.inner.dummy.clone();
        self.verify(password, &dummy).await
    }

    /// Runs `work` on a pool buffer, in a blocking thread that owns the permit until it ends.
    async fn run<T, F>(self, work: F) -> Result<T, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce(&mut [Block]) -> anyhow::Result<T> + Send + 'static,
    {
        let Slot { permit, inner } = self;
        tokio::task::spawn_blocking(move || inner.compute(permit, work))
            .await
            .context("checking a password")?
            .map_err(PasswordError::Failed)
    }
}

impl Inner {
    /// Takes a free buffer (allocating one if fewer than `size` exist yet), runs `work` on it and
    /// gives it back; the permit is released last.
    fn compute<T>(
        &self,
        permit: OwnedSemaphorePermit,
        work: impl FnOnce(&mut [Block]) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let taken = self.free.lock().map_err(|_| anyhow!("the password pool's lock is poisoned"))?.pop();
        let mut blocks = match taken {
            Some(b) => b,
            None => allocate(params().block_count())?,
        };
        let result = work(&mut blocks);
        // What a check leaves in the buffer derives from the password: wiped before reuse.
        blocks.fill(Block::new());
        if let Ok(mut free) = self.free.lock() {
            free.push(blocks);
        }
        drop(permit);
        result
    }
}

/// A zeroed buffer of `count` blocks, or an error (never an abort) when memory is short.
fn allocate(count: usize) -> anyhow::Result<Box<[Block]>> {
    let mut blocks: Vec<Block> = Vec::new();
    blocks
        .try_reserve_exact(count)
        .map_err(|e| anyhow!("cannot allocate {} MiB to check a password: {e}", count * Block::SIZE / (1024 * 1024)))?;
    blocks.resize(count, Block::new());
    Ok(blocks.into_boxed_slice())
}

/// The password, copied for the blocking thread (wiped there when the check ends).
fn secret(password: &str) -> SecretString {
    SecretString::from(password.to_owned())
}

fn phc_string(params: &Params, salt: &[u8], out: &[u8]) -> anyhow::Result<String> {
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("encoding argon2 parameters: {e}"))?,
        salt: Some(Salt::new(salt).map_err(|e| anyhow!("encoding a salt: {e}"))?),
        hash: Some(Output::new(out).map_err(|e| anyhow!("encoding a hash: {e}"))?),
    };
    Ok(hash.to_string())
}

/// A PHC string with a random salt and a random output: no password hashes to it.
fn dummy_hash() -> String {
    let (mut salt, mut out) = ([0u8; SALT_LEN], [0u8; Params::DEFAULT_OUTPUT_LEN]);
    rand::rng().fill(&mut salt[..]);
    rand::rng().fill(&mut out[..]);
    // Fixed-size, valid inputs: encoding cannot fail; should it, a malformed dummy is refused as
    // unreadable (an error page), never accepted.
    phc_string(&params(), &salt, &out).unwrap_or_default()
}

/// A stored hash, read.
struct Stored {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl Stored {
    fn parse(hash: &str) -> anyhow::Result<Self> {
        let phc = PasswordHash::new(hash).map_err(|e| anyhow!("a stored password hash is unreadable: {e}"))?;
        let algorithm = Algorithm::try_from(phc.algorithm.as_str())
            .map_err(|e| anyhow!("a stored password hash's algorithm: {e}"))?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).map_err(|e| anyhow!("a stored password hash's version: {e}"))?,
            None => Version::default(),
        };
        let params = Params::try_from(&phc).map_err(|e| anyhow!("a stored password hash's parameters: {e}"))?;
        if params.block_count() > self::params().block_count() {
            // The pool's buffers are sized for the parameters Dossier writes.
            anyhow::bail!(
                "a stored password hash asks for {} KiB, more than the {} KiB this version uses",
                params.m_cost(),
                self::params().m_cost()
            );
        }
        let salt = phc.salt.context("a stored password hash has no salt")?.as_ref().to_vec();
        let expected = phc.hash.context("a stored password hash has no output")?.as_bytes().to_vec();
        Ok(Self { algorithm, version, params, salt, expected })
    }

    fn matches(&self, password: &[u8], blocks: &mut [Block]) -> anyhow::Result<bool> {
        let mut out = vec![0u8; self.expected.len()];
        Argon2::new(self.algorithm, self.version, self.params.clone())
            .hash_password_into_with_memory(password, &self.salt, &mut out, blocks)
            .map_err(|e| anyhow!("checking a password: {e}"))?;
        Ok(super::constant_time_eq(&out, &self.expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password_and_read_the_argon2_crate_s_own() {
        let pool = Passwords::new(2, WAIT);
        let h = pool.hash("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(pool.verify("correct horse battery staple", &h).await.unwrap());
        assert!(!pool.verify("Correct horse battery staple", &h).await.unwrap());
        assert!(!pool.verify_dummy("correct horse battery staple").await.unwrap());
        // A hash written by the previous code (`PasswordHasher::hash_password`) still verifies.
        use argon2::PasswordHasher;
        let old = Argon2::default().hash_password(b"an older passphrase").unwrap().to_string();
        assert!(pool.verify("an older passphrase", &old).await.unwrap());
        assert!(!pool.verify("another passphrase", &old).await.unwrap());
        // Ours verifies with the crate's own verifier too.
        use argon2::PasswordVerifier;
        assert!(Argon2::default().verify_password(b"correct horse battery staple", h.as_str()).is_ok());
        assert!(pool.inner.free.lock().unwrap().len() <= 2, "never more buffers than slots");
    }

    #[tokio::test]
    async fn an_unreadable_hash_is_an_error_not_a_wrong_password() {
        let pool = Passwords::new(1, WAIT);
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$invalid",
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        ] {
            assert!(matches!(pool.verify("x", bad).await, Err(PasswordError::Failed(_))), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_after_its_wait() {
        let pool = Passwords::new(1, Duration::from_millis(20));
        let held = pool.inner.slots.clone().acquire_owned().await.unwrap();
        let h = pool.dummy_hash().to_owned();
        assert!(matches!(pool.verify("x", &h).await, Err(PasswordError::Busy(_))));
        assert!(matches!(pool.hash("x").await, Err(PasswordError::Busy(_))));
        drop(held);
        assert!(!pool.verify("x", &h).await.unwrap());
    }

    #[test]
    fn an_allocation_failure_is_an_error() {
        assert!(allocate(usize::MAX / Block::SIZE).is_err());
    }
}
