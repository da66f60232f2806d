//! When a job watching a shift looks again, and whether it hands itself
//! back to CodePipeline (pure: `now` and the schedule's due times are
//! given). The watch runs on a grid of `watch_interval`, except that it
//! looks right when the schedules say the next deployment ends (CodeDeploy's
//! start time + the config's total duration, [`ShiftDue`]) rather than up to
//! a whole interval later, and once more shortly after that if it was not
//! over yet. A job keeps holding past `hold_job` when the release ends
//! sooner than a hand-back would cost (CodePipeline queueing the next job,
//! the next poll, re-reading the artifact) and sooner than `hold_job` again.
//!
//! Times: `now` and the due times are on the engine's clock (the
//! simulated one in tests and benchmarks), delays are real; `time_scale`
//! (clock seconds per real second, 1 in production) converts. Knows no AWS
//! and no job.

use std::time::{Duration, Instant, SystemTime};

use crate::canary::shift::ShiftDue;

/// What handing a job back costs in real time, about: CodePipeline queues
/// the continuation, a worker polls it (1 s by default), acknowledges it
/// and re-reads the artifact and Lambda before it observes again.
pub const HAND_BACK_COST: Duration = Duration::from_secs(5);

/// Looking this long after a due time (real): CodeDeploy marks the
/// deployment over once its last step ran.
pub const DUE_MARGIN: Duration = Duration::from_millis(25);

/// `d` on the engine's clock, in real time.
pub fn real(d: Duration, time_scale: f64) -> Duration {
    if time_scale.is_finite() && time_scale > 0.0 {
        Duration::from_secs_f64((d.as_secs_f64() / time_scale).min(1e9))
    } else {
        d
    }
}

/// The real delay before the next look: `watch` on the grid; until the next
/// due time (+ [`DUE_MARGIN`]) when it comes before the grid point after
/// next would; a third of `watch` after a due time that was not over yet,
/// once. Never less than a third of `watch` (so two looks never run into
/// one tick of status calls).
pub fn watch_delay(
    now: SystemTime,
    due: Option<ShiftDue>,
    watch: Duration,
    time_scale: f64,
) -> Duration {
    let gap = (watch / 3).max(Duration::from_millis(1));
    let Some(due) = due else {
        return watch;
    };
    match due.next.duration_since(now) {
        Ok(until) => {
            let until = real(until, time_scale) + DUE_MARGIN;
            if until <= watch + gap {
                until.max(gap)
            } else {
                watch
            }
        }
        Err(late) => {
            if real(late.duration(), time_scale) < gap {
                gap
            } else {
                watch
            }
        }
    }
}

/// The real delay until the pace lets the next held-back deployment start
/// (or rollback go): at least a millisecond; `Duration::MAX` when nothing
/// is held back.
pub fn pace_delay(now: SystemTime, pace_due: Option<SystemTime>, time_scale: f64) -> Duration {
    match pace_due {
        None => Duration::MAX,
        Some(t) => real(t.duration_since(now).unwrap_or_default(), time_scale)
            .max(Duration::from_millis(1)),
    }
}

/// Whether a job that held its shift for `hold_job` keeps holding: the
/// last deployment ends (or ended) within [`HAND_BACK_COST`] of `now` —
/// and within `hold_job` (on the engine's clock), so a job never holds
/// more than twice as long as configured.
pub fn keep_holding(
    now: SystemTime,
    due: Option<ShiftDue>,
    hold_job: Duration,
    time_scale: f64,
) -> bool {
    let Some(last) = due.and_then(|d| d.last) else {
        return false;
    };
    let apart = match last.duration_since(now) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    real(apart, time_scale) <= HAND_BACK_COST && apart <= hold_job
}

/// Clock seconds per real second between two `(real, clock)` samples.
pub fn scale_between(a: (Instant, SystemTime), b: (Instant, SystemTime)) -> f64 {
    let real = b.0.saturating_duration_since(a.0).as_secs_f64();
    let clock = b.1.duration_since(a.1).map(|d| d.as_secs_f64());
    match clock {
        Ok(c) if real >= 0.1 && c > 0.0 && (c / real).is_finite() => c / real,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> SystemTime {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        if s >= 0.0 {
            base + Duration::from_secs_f64(s)
        } else {
            base - Duration::from_secs_f64(-s)
        }
    }

    fn due(next: f64, last: Option<f64>) -> Option<ShiftDue> {
        Some(ShiftDue {
            next: t(next),
            last: last.map(t),
        })
    }

    const W: Duration = Duration::from_secs(1);

    #[test]
    fn the_grid_without_a_due_time_or_far_from_it() {
        assert_eq!(watch_delay(t(0.0), None, W, 1.0), W);
        // Due in 540 s (9 simulated minutes at scale 54 = 10 s real).
        assert_eq!(watch_delay(t(0.0), due(540.0, None), W, 54.0), W);
    }

    #[test]
    fn looks_right_at_the_due_time_when_it_is_within_the_next_grid_step() {
        // 1.2 s real before the due time, scale 54: the next grid point (1 s)
        // would look 0.2 s early and the one after 0.8 s late.
        let d = watch_delay(t(0.0), due(1.2 * 54.0, None), W, 54.0);
        assert_eq!(d, Duration::from_millis(1200) + DUE_MARGIN);
        // Real time, 0.5 s before.
        assert_eq!(
            watch_delay(t(0.0), due(0.5, None), W, 1.0),
            Duration::from_millis(500) + DUE_MARGIN
        );
        // Never sooner than a third of the interval.
        assert_eq!(watch_delay(t(0.0), due(0.01, None), W, 1.0), W / 3);
        // A 15 s grid in production: looks at the due time 7 s away.
        assert_eq!(
            watch_delay(t(0.0), due(7.0, None), Duration::from_secs(15), 1.0),
            Duration::from_secs(7) + DUE_MARGIN
        );
    }

    #[test]
    fn once_more_shortly_after_a_due_time_then_back_to_the_grid() {
        // Just past the due time (the look at due + margin): once more soon.
        assert_eq!(watch_delay(t(0.03), due(0.0, None), W, 1.0), W / 3);
        // Still not over a third of an interval later: the grid again.
        assert_eq!(watch_delay(t(0.4), due(0.0, None), W, 1.0), W);
        // Scale 54: 0.03 s real late = 1.6 s simulated.
        assert_eq!(watch_delay(t(1.62), due(0.0, None), W, 54.0), W / 3);
    }

    #[test]
    fn holds_on_when_the_release_ends_sooner_than_a_hand_back() {
        let hold = Duration::from_secs(300);
        // Scale 54: the last deployment ends in 4 simulated minutes = 4.4 s.
        assert!(keep_holding(t(0.0), due(100.0, Some(240.0)), hold, 54.0));
        // In real time 4 minutes away: hand back.
        assert!(!keep_holding(t(0.0), due(100.0, Some(240.0)), hold, 1.0));
        // Never longer than the hold again: 4 minutes away, holding 3.
        assert!(!keep_holding(
            t(0.0),
            due(100.0, Some(240.0)),
            Duration::from_secs(180),
            54.0
        ));
        // A wave still to start: hand back.
        assert!(!keep_holding(t(0.0), due(1.0, None), hold, 1.0));
        // Ended 3 s ago and not over yet (a hook running): still holding;
        // long overdue: hand back.
        assert!(keep_holding(t(3.0), due(0.0, Some(0.0)), hold, 1.0));
        assert!(!keep_holding(t(30.0), due(0.0, Some(0.0)), hold, 1.0));
        assert!(!keep_holding(t(0.0), None, hold, 1.0));
    }

    #[test]
    fn clock_rate() {
        let i = Instant::now();
        let a = (i, t(0.0));
        assert_eq!(
            scale_between(a, (i + Duration::from_secs(2), t(120.0))),
            60.0
        );
        assert_eq!(scale_between(a, (i + Duration::from_secs(2), t(2.0))), 1.0);
        // Too soon to tell, or a clock that went back: 1.
        assert_eq!(
            scale_between(a, (i + Duration::from_millis(10), t(5.0))),
            1.0
        );
        assert_eq!(scale_between(a, (i + Duration::from_secs(2), t(-1.0))), 1.0);
        assert_eq!(real(Duration::from_secs(54), 54.0), Duration::from_secs(1));
        assert_eq!(
            real(Duration::from_secs(5), f64::NAN),
            Duration::from_secs(5)
        );
    }
}
