//! Where "now" comes from, for what is not event time: the forward-skew
//! check. The engine and a partition read a [`Clock`]; tests set a
//! [`ManualClock`].

use std::sync::atomic::Ordering;

/// Where "now" comes from, for what is not event time: the forward-skew
/// check (an event stamped later than now plus the limit is evaluated but
/// not counted).
pub trait Clock: Send + Sync {
    /// Milliseconds since the epoch, or `None` to trust event time.
    fn now_ms(&self) -> Option<i64>;
    /// True when the clock never goes back (by more than the forward-skew
    /// limit matters): the engine may then keep the last time it read and
    /// read the clock again only for an event later than that time plus
    /// the limit, instead of for every event. `false` by default.
    fn is_monotonic(&self) -> bool {
        false
    }
}

/// Trusts event time: no event is ever past the forward skew (as with
/// [`EngineBuilder::forward_skew_limit_ms`](crate::run::engine::EngineBuilder::forward_skew_limit_ms)`(None)`).
#[derive(Debug, Default, Clone, Copy)]
pub struct EventClock;

impl Clock for EventClock {
    fn now_ms(&self) -> Option<i64> {
        None
    }
}

/// The machine's clock: the default. A replayed log lies in the past, so
/// against this clock only events stamped in the future are skewed.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Option<i64> {
        Some(chrono::Utc::now().timestamp_millis())
    }
    fn is_monotonic(&self) -> bool {
        true
    }
}

/// A clock tests set by hand.
#[derive(Debug, Default)]
pub struct ManualClock(pub std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock at `ms`.
    pub fn new(ms: i64) -> Self {
        ManualClock(std::sync::atomic::AtomicI64::new(ms))
    }
    /// Sets the time.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed))
    }
}

/// "Now" for the forward-skew check of an event at `event_ms` under the
/// limit `skew` (none: event time), and the clock reading to keep, if it
/// was read. A monotonic clock is read again only for an event later than
/// the kept reading (`cached`) plus the limit (live traffic: about once per
/// limit), so the hot path costs one load of a rarely written value.
pub(crate) fn skew_now(
    clock: &dyn Clock,
    monotonic: bool,
    skew: Option<u64>,
    cached: impl FnOnce() -> i64,
    event_ms: i64,
) -> (i64, Option<i64>) {
    let Some(skew) = skew else {
        return (event_ms, None);
    };
    if !monotonic {
        return (clock.now_ms().unwrap_or(event_ms), None);
    }
    let cached = cached();
    if i128::from(event_ms) <= i128::from(cached) + i128::from(skew) {
        return (cached, None);
    }
    match clock.now_ms() {
        Some(now) => (now.max(cached), Some(now)),
        None => (event_ms, None),
    }
}
