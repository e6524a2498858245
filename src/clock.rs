//! Time as a dependency, so tests drive it explicitly instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    fn now_ms(&self) -> i64 {
        (self.now().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Shared by the test and the application it drives.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Arc::new(AtomicI64::new((start.unix_timestamp_nanos() / 1_000_000) as i64)))
    }

    pub fn advance(&self, by: time::Duration) {
        self.0.fetch_add(by.whole_milliseconds() as i64, Ordering::SeqCst);
    }

    pub fn set(&self, to: OffsetDateTime) {
        self.0.store((to.unix_timestamp_nanos() / 1_000_000) as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_ms(self.0.load(Ordering::SeqCst))
    }
}

/// Unix milliseconds (the store's instants) to a UTC date-time.
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
