//! The simulated clock: wall-clock time scaled by `--time-scale` plus any
//! explicit advances from the control API (`POST /_sim/clock`).
//!
//! Every timer in the sim (ack timeouts, continuation delays, deployment
//! steps, alarm evaluation) reads this clock and nothing else, so a test can run
//! a 10-minute canary in a second. It knows nothing about services.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The fastest time scale the sim accepts (control API and `--time-scale`).
pub const MAX_SCALE: f64 = 1e6;

/// The longest single advance of simulated time (10 years), so simulated
/// time stays far from `SystemTime`'s limits.
pub const MAX_ADVANCE_SECS: f64 = 10.0 * 365.0 * 86400.0;

/// Simulated time source. Cheap to read; safe to share.
#[derive(Debug)]
pub struct Clock {
    inner: Mutex<Base>,
}

#[derive(Debug, Clone, Copy)]
struct Base {
    /// Real instant at which `sim` was the simulated time.
    real: Instant,
    /// Simulated time at `real`.
    sim: SystemTime,
    /// Simulated seconds per real second.
    scale: f64,
}

impl Base {
    /// Simulated time at real instant `real_now`; never panics (an
    /// unrepresentable result stays at the base time).
    fn at(&self, real_now: Instant) -> SystemTime {
        let real = real_now.saturating_duration_since(self.real);
        Duration::try_from_secs_f64(real.as_secs_f64() * self.scale)
            .ok()
            .and_then(|d| self.sim.checked_add(d))
            .unwrap_or(self.sim)
    }
}

impl Clock {
    /// A clock starting at the current wall-clock time, running `scale` times
    /// faster than real time.
    pub fn new(scale: f64) -> Self {
        assert!(scale > 0.0 && scale.is_finite(), "time scale must be > 0");
        Clock {
            inner: Mutex::new(Base {
                real: Instant::now(),
                sim: SystemTime::now(),
                scale,
            }),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SystemTime {
        let b = *crate::lock(&self.inner);
        b.at(Instant::now())
    }

    /// The current simulated time in fractional seconds since the Unix epoch
    /// (the timestamp format of the AWS JSON protocols).
    pub fn now_epoch_secs(&self) -> f64 {
        epoch_secs(self.now())
    }

    /// Simulated seconds per real second.
    pub fn scale(&self) -> f64 {
        crate::lock(&self.inner).scale
    }

    /// Changes the time scale from now on; simulated time does not jump.
    /// Scale 0 freezes simulated time (see [`Clock::freeze`]).
    pub fn set_scale(&self, scale: f64) {
        assert!(scale >= 0.0 && scale.is_finite(), "time scale must be >= 0");
        let mut b = crate::lock(&self.inner);
        let now = b.at(Instant::now());
        *b = Base {
            real: Instant::now(),
            sim: now,
            scale,
        };
    }

    /// Stops simulated time where it is: nothing scheduled on it (traffic
    /// steps, alarm evaluations, timeouts) happens until [`Clock::advance`]
    /// or [`Clock::set_scale`] with a scale > 0. For tests that depend on
    /// *when* something happens: freeze, act, advance.
    pub fn freeze(&self) {
        self.set_scale(0.0);
    }

    /// Whether simulated time stands still.
    pub fn is_frozen(&self) -> bool {
        self.scale() == 0.0
    }

    /// Moves simulated time forward by `d` at once.
    pub fn advance(&self, d: Duration) {
        let mut b = crate::lock(&self.inner);
        // Saturates rather than panicking with the lock held.
        if let Some(t) = b.sim.checked_add(d) {
            b.sim = t;
        }
    }

    /// How long in real time a simulated duration lasts at the current scale
    /// (forever while frozen).
    pub fn to_real(&self, sim: Duration) -> Duration {
        let scale = self.scale();
        if scale == 0.0 {
            return Duration::MAX;
        }
        sim.div_f64(scale)
    }
}

/// Fractional seconds since the Unix epoch.
pub fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The time `secs` seconds after the Unix epoch, or `None` when that is
/// negative, not finite or beyond what `SystemTime` holds: request timestamps
/// go through this, never through `Duration::from_secs_f64` (which panics).
pub fn from_epoch_secs(secs: f64) -> Option<SystemTime> {
    if secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
}

/// ISO-8601 with milliseconds, as S3's XML and CloudWatch use.
pub fn iso8601(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// RFC 1123 (HTTP date), as S3's `Last-Modified` header uses.
pub fn http_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_time_runs_faster_and_advances() {
        let c = Clock::new(1000.0);
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(20));
        let dt = c.now().duration_since(t0).unwrap();
        assert!(dt >= Duration::from_secs(19), "{dt:?}");
        let t1 = c.now();
        c.advance(Duration::from_secs(3600));
        assert!(c.now().duration_since(t1).unwrap() >= Duration::from_secs(3600));
        c.set_scale(1.0);
        assert_eq!(c.scale(), 1.0);
        assert_eq!(c.to_real(Duration::from_secs(2)), Duration::from_secs(2));
        c.freeze();
        let t2 = c.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now(), t2, "frozen");
        c.advance(Duration::from_secs(60));
        assert_eq!(c.now(), t2 + Duration::from_secs(60));
        assert_eq!(c.to_real(Duration::from_secs(1)), Duration::MAX);
        c.set_scale(10.0);
        assert!(!c.is_frozen());
    }

    #[test]
    fn epoch_seconds_out_of_range_are_none_not_a_panic() {
        assert_eq!(
            from_epoch_secs(1.5),
            Some(UNIX_EPOCH + Duration::from_millis(1500))
        );
        for bad in [1e30, f64::NAN, f64::INFINITY, -1.0, 1.8e19] {
            assert_eq!(from_epoch_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(iso8601(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(http_date(t), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}
