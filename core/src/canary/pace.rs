//! How fast a release may start (and stop) CodeDeploy deployments without
//! CodeDeploy's traffic shifts being throttled by Lambda.
//!
//! Lambda allows 15 control-plane requests per second per account and
//! Region, all APIs together, and the quota cannot be raised (Lambda
//! quotas page, "API request rate": "Control plane API requests (excludes
//! invocation, GetFunction, and GetPolicy requests) — 15 requests per
//! second per Region", <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
//! CodeDeploy shifts an alias by calling Lambda through the deployment
//! group's service role, and those calls draw from the same bucket: the
//! managed policy `AWSCodeDeployRoleForLambda` grants it `GetAlias`,
//! `GetProvisionedConcurrencyConfig` and `UpdateAlias`. A deployment reads
//! the alias when it starts and reads and updates it at every traffic step
//! (the model here: [`READS_AT_START`], [`CALLS_PER_STEP`], [`CALLS_AT_END`];
//! AWS does not document the count, aws-sim makes the same calls). A
//! deployment throttled for long fails (serverless-plugin-canary-deployments
//! #159: "the number of requests by the IAM role … exceeded the request
//! limit for AWSLambda").
//!
//! Deployments started in the same second step in the same second for
//! their whole life (same config, same interval), so the release's peak
//! demand is set when they start. [`Pace`] spaces the starts so that the
//! calls of one start fit the share of the quota the release gives
//! CodeDeploy, and caps how many deployments shift at once so that their
//! steps never wrap around onto each other within one step interval. The
//! step interval is cut into phase slots a batch's time wide
//! ([`Pace::phase_slot`]); a slot holds at most a batch of deployments,
//! so a deployment that replaces a finished one starts where nobody else
//! steps — not onto a shift taking its last step.
//! Rollbacks (StopDeployment with rollback: a new deployment that reads,
//! moves and reads the alias at once) are spaced the same way.
//!
//! Pure arithmetic on deployment configs: no clock, no AWS call.

use std::time::Duration;

use crate::manifest::DeploymentConfig;

/// Lambda's control-plane request rate per account and Region (see the
/// module comment): requests per second.
pub const CONTROL_PLANE_RATE: f64 = 15.0;
/// The share of [`CONTROL_PLANE_RATE`] a release plans CodeDeploy's calls
/// into (requests per second). The rest (a third) is headroom for the
/// worker's own calls (reading and restoring aliases in a rollback,
/// publishing the next release), other users of the account, and a step
/// that CodeDeploy sends a little late.
pub const DEFAULT_CODEDEPLOY_RATE: f64 = 10.0;
/// Reads CodeDeploy makes when a deployment starts (GetAlias,
/// GetProvisionedConcurrencyConfig), before its first step.
pub const READS_AT_START: u32 = 2;
/// Calls CodeDeploy makes at each traffic step (two reads, UpdateAlias).
pub const CALLS_PER_STEP: u32 = 3;
/// Calls CodeDeploy makes when a deployment ends (GetAlias).
pub const CALLS_AT_END: u32 = 1;
/// Calls of a rollback deployment, all at once: the start's reads, one
/// step back to 100 % of the old version, the end's read.
pub const ROLLBACK_CALLS: u32 = READS_AT_START + CALLS_PER_STEP + CALLS_AT_END;

/// CodeDeploy: concurrent deployments per account (user guide, "Quotas";
/// older pages give smaller figures, Service Quotas has the account's).
pub const CONCURRENT_DEPLOYMENTS_MAX: usize = 1_000;
/// CodeDeploy: deployment groups per application (one per function here).
pub const DEPLOYMENT_GROUPS_PER_APPLICATION_MAX: usize = 1_000;
/// CodeDeploy: custom deployment configs per account.
pub const CUSTOM_DEPLOYMENT_CONFIGS_MAX: usize = 200;

/// Rollbacks asked for at once: their 60 calls take 4 s of the whole
/// quota, well inside the 30 s CodeDeploy keeps retrying a throttled call
/// (a rollback should not wait for the pace when a few need to go).
pub const STOP_BURST: usize = 10;

/// Lambda calls CodeDeploy makes at the instant a deployment of `config`
/// starts: the start's reads and the first step (an AllAtOnce deployment
/// also ends then).
pub fn calls_at_start(config: DeploymentConfig) -> u32 {
    match config {
        DeploymentConfig::AllAtOnce => READS_AT_START + CALLS_PER_STEP + CALLS_AT_END,
        // The worker's own GetAlias and UpdateAlias.
        DeploymentConfig::Steps(_) => WORKER_CALLS_PER_STEP + 1,
        _ => READS_AT_START + CALLS_PER_STEP,
    }
}

/// Lambda calls of one worker-driven step: UpdateAlias (its answer carries
/// the next RevisionId; a GetAlias only when a job starts).
pub const WORKER_CALLS_PER_STEP: u32 = 1;

/// The shortest time between two traffic steps of `config` (`None`:
/// AllAtOnce, one step).
pub fn step_interval(config: DeploymentConfig) -> Option<Duration> {
    let steps = config.steps();
    steps
        .windows(2)
        .map(|w| w[1].0.saturating_sub(w[0].0))
        .filter(|d| !d.is_zero())
        .min()
}

/// The pace of one release's deployments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Requests per second planned for CodeDeploy's calls
    /// (`f64::INFINITY`: no pacing, every deployment starts at once).
    pub rate: f64,
    /// Time between two consecutive starts (a batch of `batch` starts
    /// occupies `batch × start_gap`).
    pub start_gap: Duration,
    /// Deployments started at the same instant (their calls fit one
    /// second of `rate`).
    pub batch: usize,
    /// Deployments shifting at once that keep every step apart: the
    /// shortest step interval of the release's configs over `start_gap`
    /// (`usize::MAX` when no config has a second step).
    pub cap: usize,
    /// Time between two consecutive rollbacks (StopDeployment).
    pub stop_gap: Duration,
    /// Rollbacks started at the same instant.
    pub stop_batch: usize,
    /// The shortest step interval of the release's configs
    /// ([`Duration::ZERO`]: no config has a second step). A deployment
    /// steps at its start time plus whole intervals, so its phase (start
    /// time modulo this interval) is where its calls fall for its whole
    /// life; see [`Pace::phase_slot`].
    pub interval: Duration,
}

/// `rate` is never NaN (see [`Pace::new`]).
impl Eq for Pace {}

impl Pace {
    /// No pacing at all: every deployment (and every rollback) at once.
    pub const UNPACED: Pace = Pace {
        rate: f64::INFINITY,
        start_gap: Duration::ZERO,
        batch: usize::MAX,
        cap: usize::MAX,
        stop_gap: Duration::ZERO,
        stop_batch: usize::MAX,
        interval: Duration::ZERO,
    };

    /// The pace for deployments of `configs` with `rate` requests per
    /// second planned for CodeDeploy (not finite or ≤ 0: [`Pace::UNPACED`]).
    pub fn new(configs: impl IntoIterator<Item = DeploymentConfig>, rate: f64) -> Pace {
        if !rate.is_finite() || rate <= 0.0 {
            return Pace::UNPACED;
        }
        let configs: Vec<DeploymentConfig> = configs.into_iter().collect();
        let per_start = configs
            .iter()
            .map(|c| calls_at_start(*c))
            .max()
            .unwrap_or(READS_AT_START + CALLS_PER_STEP);
        let start_gap = Duration::from_secs_f64(f64::from(per_start) / rate);
        let batch = ((rate / f64::from(per_start)).floor() as usize).max(1);
        let interval = configs
            .iter()
            .filter_map(|c| step_interval(*c))
            .min()
            .unwrap_or(Duration::ZERO);
        let cap = if interval.is_zero() {
            usize::MAX
        } else {
            ((interval.as_secs_f64() / start_gap.as_secs_f64()).floor() as usize).max(1)
        };
        // A rollback may use the whole quota (the release's own steps stop
        // as their deployments are stopped), in bursts of STOP_BURST.
        let stop_gap = Duration::from_secs_f64(f64::from(ROLLBACK_CALLS) / CONTROL_PLANE_RATE);
        let stop_batch = STOP_BURST;
        Pace {
            rate,
            start_gap,
            batch,
            cap,
            stop_gap,
            stop_batch,
            interval,
        }
    }

    /// The phase slots of one step interval: a batch's time
    /// (`batch × start_gap`) each, `batch` deployments per slot. `None`
    /// when unpaced or no config has a second step.
    fn slots(&self) -> Option<(Duration, u64)> {
        if !self.is_paced() || self.interval.is_zero() || self.start_gap.is_zero() {
            return None;
        }
        let width = self
            .start_gap
            .saturating_mul(self.batch.min(u32::MAX as usize) as u32);
        let n = (self.interval.as_nanos() / width.as_nanos().max(1)).max(1) as u64;
        Some((width, n))
    }

    /// The phase slot a deployment started at `at` (time since the epoch)
    /// steps in for its whole life: deployments in one slot step within
    /// the same `batch × start_gap`, so each slot holds at most `batch`
    /// of them (their calls then fit one second of `rate`). `None` when
    /// unpaced or no config has a second step.
    pub fn phase_slot(&self, at: Duration) -> Option<u64> {
        let (width, n) = self.slots()?;
        let phase = at.as_nanos() % self.interval.as_nanos();
        Some(((phase / width.as_nanos()) as u64).min(n - 1))
    }

    /// The earliest time (since the epoch) at or after `now` whose phase
    /// slot holds fewer than `batch` deployments, given each slot's count
    /// (`occupied(slot)`): `now` itself when its slot has room, else the
    /// start of the next slot with room; `None` when every slot is full
    /// (or slots do not apply).
    pub fn next_free_phase(
        &self,
        now: Duration,
        occupied: impl Fn(u64) -> usize,
    ) -> Option<Duration> {
        let (width, n) = self.slots()?;
        let here = self.phase_slot(now)?;
        if occupied(here) < self.batch {
            return Some(now);
        }
        let into = Duration::from_nanos((now.as_nanos() % self.interval.as_nanos()) as u64);
        let interval_start = now.checked_sub(into)?;
        (1..=n).find_map(|j| {
            let slot = (here + j) % n;
            (occupied(slot) < self.batch).then(|| {
                let whole = (here + j) / n;
                interval_start
                    + self.interval.saturating_mul(whole as u32)
                    + width.saturating_mul(slot as u32)
            })
        })
    }

    /// Whether deployments are spaced at all.
    pub fn is_paced(&self) -> bool {
        self.rate.is_finite()
    }

    /// The cap on deployments in flight: `max_parallel` when the action
    /// sets it (`usize::MAX`: unset), else the quota's [`Pace::cap`]; never
    /// more than CodeDeploy's [`CONCURRENT_DEPLOYMENTS_MAX`].
    pub fn in_flight_cap(&self, max_parallel: usize) -> usize {
        if max_parallel == usize::MAX {
            self.cap
        } else {
            max_parallel
        }
        .clamp(1, CONCURRENT_DEPLOYMENTS_MAX)
    }

    /// CodeDeploy's peak demand on Lambda under this pace (requests per
    /// second): the start calls of the heaviest config, one start every
    /// `start_gap` (a batch's calls fit one second, so batches never add up
    /// to more).
    pub fn peak_rate(&self, configs: impl IntoIterator<Item = DeploymentConfig>) -> f64 {
        let per_start = configs.into_iter().map(calls_at_start).max().unwrap_or(0);
        if !self.is_paced() || self.start_gap.is_zero() {
            return f64::INFINITY;
        }
        f64::from(per_start) / self.start_gap.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINEAR_10_1: DeploymentConfig = DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 1,
    };
    const CANARY_10_5: DeploymentConfig = DeploymentConfig::Canary {
        percent: 10,
        minutes: 5,
    };

    #[test]
    fn starts_fit_the_codedeploy_share_of_the_quota() {
        let p = Pace::new([LINEAR_10_1], DEFAULT_CODEDEPLOY_RATE);
        // 5 calls a start at 10/s: one start every 0.5 s, two together.
        assert_eq!(p.start_gap, Duration::from_millis(500));
        assert_eq!(p.batch, 2);
        // Steps every 60 s, starts 0.5 s apart: 120 before they wrap.
        assert_eq!(p.cap, 120);
        assert!((p.peak_rate([LINEAR_10_1]) - 10.0).abs() < 1e-9);
        // AllAtOnce ends at once: 6 calls a start.
        let a = Pace::new([DeploymentConfig::AllAtOnce], DEFAULT_CODEDEPLOY_RATE);
        assert_eq!(a.start_gap, Duration::from_millis(600));
        assert_eq!(a.batch, 1);
        assert_eq!(a.cap, usize::MAX, "no second step: nothing to wrap");
        assert!(a.peak_rate([DeploymentConfig::AllAtOnce]) <= CONTROL_PLANE_RATE);
    }

    #[test]
    fn mixed_configs_take_the_worst_start_and_the_shortest_interval() {
        let p = Pace::new(
            [CANARY_10_5, DeploymentConfig::AllAtOnce, LINEAR_10_1],
            DEFAULT_CODEDEPLOY_RATE,
        );
        assert_eq!(p.start_gap, Duration::from_millis(600));
        assert_eq!(p.cap, 100);
        let c = Pace::new([CANARY_10_5], DEFAULT_CODEDEPLOY_RATE);
        assert_eq!(c.cap, 600);
    }

    #[test]
    fn rollbacks_are_spaced_within_the_whole_quota() {
        let p = Pace::new([LINEAR_10_1], DEFAULT_CODEDEPLOY_RATE);
        assert_eq!(p.stop_gap, Duration::from_millis(400));
        assert_eq!(p.stop_batch, 10);
        // A burst's calls drain within a few seconds of the quota, far
        // inside CodeDeploy's 30 s of retries.
        let drain = f64::from(ROLLBACK_CALLS) * p.stop_batch as f64 / CONTROL_PLANE_RATE;
        assert!(drain <= 5.0, "{drain}");
    }

    #[test]
    fn an_explicit_max_parallel_wins_and_no_rate_means_no_pacing() {
        let p = Pace::new([LINEAR_10_1], DEFAULT_CODEDEPLOY_RATE);
        assert_eq!(p.in_flight_cap(usize::MAX), 120);
        assert_eq!(p.in_flight_cap(7), 7);
        let u = Pace::new([LINEAR_10_1], f64::INFINITY);
        assert_eq!(u, Pace::UNPACED);
        assert!(!u.is_paced());
        assert_eq!(u.in_flight_cap(usize::MAX), CONCURRENT_DEPLOYMENTS_MAX);
        assert_eq!(Pace::new([LINEAR_10_1], 0.0), Pace::UNPACED);
    }

    #[test]
    fn step_intervals() {
        assert_eq!(step_interval(LINEAR_10_1), Some(Duration::from_secs(60)));
        assert_eq!(step_interval(CANARY_10_5), Some(Duration::from_secs(300)));
        assert_eq!(step_interval(DeploymentConfig::AllAtOnce), None);
    }

    #[test]
    fn phase_slots_are_a_batch_wide_and_the_next_free_one_wraps_around() {
        let p = Pace::new([LINEAR_10_1], DEFAULT_CODEDEPLOY_RATE);
        assert_eq!(p.interval, Duration::from_secs(60));
        let s = Duration::from_secs;
        // Two starts a second: slots of 1 s, 60 of them.
        assert_eq!(p.phase_slot(s(0)), Some(0));
        assert_eq!(p.phase_slot(s(61) + Duration::from_millis(999)), Some(1));
        assert_eq!(p.phase_slot(s(119)), Some(59));
        let full_from_10 = |slot: u64| if slot >= 10 { 2 } else { 1 };
        assert_eq!(p.next_free_phase(s(125), full_from_10), Some(s(125)));
        let free_only_3 = |slot: u64| if slot == 3 { 0 } else { 2 };
        assert_eq!(
            p.next_free_phase(s(130) + Duration::from_millis(500), free_only_3),
            Some(s(183))
        );
        assert_eq!(p.next_free_phase(s(130), |_| 2), None, "every slot full");
        assert_eq!(Pace::UNPACED.phase_slot(s(5)), None);
        assert_eq!(
            Pace::new([DeploymentConfig::AllAtOnce], 10.0).phase_slot(s(5)),
            None,
            "one step: no phase to keep apart"
        );
    }
}
