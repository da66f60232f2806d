//! Lambda's API request-rate quotas, which AWS enforces per account and
//! region and which cannot be increased ("Lambda quotas", API requests):
//! GetFunction 100 requests/s; GetPolicy 15 requests/s; the remainder of
//! the control plane (every API but invocation, GetFunction and GetPolicy)
//! 15 requests/s across all APIs together, not per API. Invoke is not
//! metered here (its limits are concurrency, which the sim does not model).
//! The sim has one account: there is one bucket per region and group, and
//! every caller draws from it, whoever it is.
//!
//! Two kinds of callers share a bucket, and they live on different clocks:
//! - **HTTP callers** (access keys: the worker, tests, the CLI) are real
//!   programs whose request rate is real. Their calls are judged on the
//!   **real** clock, whatever the time scale, so a worker's own rate limiter
//!   meets AWS's real figures.
//! - **Services of the sim** that call Lambda as AWS's do (CodeDeploy
//!   shifting an alias through its service role) act on the **simulated**
//!   clock. Their calls are judged on simulated time, so a schedule is
//!   throttled at ×60 exactly when it is at ×1.
//!
//! So each bucket is seen on both clocks: a *real* view (refilled at the
//! rate per real second) and a *simulated* view (refilled at the rate per
//! simulated second), each holding `burst_seconds` of the rate (AWS does
//! not document its burst; default one second's worth) and starting full.
//! A call is admitted by the view of its own clock (it needs one token
//! there) and is charged to both: one token on its own clock, and on the
//! other clock what it is worth there at the current time scale (an HTTP
//! call `scale` tokens of the simulated view, a simulated call `1/scale` of
//! the real view; nothing while the clock is frozen), never taking a view
//! below zero. At ×1 the two views are one bucket, AWS's; at other scales
//! each caller keeps its own clock's rate and burst, and sees the others'
//! share of the rate. (Charging a simulated call only `1/scale` of a real
//! token would keep the rate but not the burst: at ×60 a burst of 360
//! calls would cost 6 tokens and pass where at ×1 only 15 of them do.)
//!
//! A refused HTTP request is answered 429 `TooManyRequestsException` with
//! `Type: User`, `Reason: CallerRateLimitExceeded`, `message: Rate
//! exceeded` and a `Retry-After` header (whole seconds until a token is
//! back, at least 1); it takes no token. A refused simulated call is told
//! so and retries on its own terms (CodeDeploy's backoff).
//!
//! Every call and refusal is counted by caller ([`Quotas::report`], `GET
//! /_sim/lambda/quota`). On by default; [`super::Lambda::set_request_quota`]
//! (or `POST /_sim/lambda/quota`) changes or disables it, which also
//! refills every bucket and starts the counts again. Knows no operation
//! handler and no service that calls it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// The rates (requests per second) and burst of the quota.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RequestQuota {
    /// Every control-plane API together (not invocation, GetFunction, GetPolicy).
    pub control_plane: f64,
    pub get_function: f64,
    pub get_policy: f64,
    /// How many seconds of its rate a bucket holds (the burst).
    pub burst_seconds: f64,
}

impl Default for RequestQuota {
    /// AWS's documented quotas.
    fn default() -> Self {
        RequestQuota {
            control_plane: 15.0,
            get_function: 100.0,
            get_policy: 15.0,
            burst_seconds: 1.0,
        }
    }
}

impl RequestQuota {
    /// An error naming the bad field, for the control API.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("controlPlane", self.control_plane),
            ("getFunction", self.get_function),
            ("getPolicy", self.get_policy),
            ("burstSeconds", self.burst_seconds),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(format!("{name} must be a number > 0, got {v}"));
            }
        }
        Ok(())
    }

    fn rate(&self, g: Group) -> Option<f64> {
        match g {
            Group::GetFunction => Some(self.get_function),
            Group::GetPolicy => Some(self.get_policy),
            Group::ControlPlane => Some(self.control_plane),
            Group::Unmetered => None,
        }
    }
}

/// Which quota an operation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    GetFunction,
    GetPolicy,
    ControlPlane,
    /// Invocation.
    Unmetered,
}

pub fn group(operation: &str) -> Group {
    match operation {
        "GetFunction" => Group::GetFunction,
        "GetPolicy" => Group::GetPolicy,
        "Invoke" | "InvokeAsync" | "InvokeWithResponseStream" => Group::Unmetered,
        _ => Group::ControlPlane,
    }
}

/// Who makes a call: the key of the report, and the clock it is judged on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Caller {
    /// An HTTP caller, by the access key id that signed the request
    /// (`anonymous` when unsigned). Real clock.
    AccessKey(String),
    /// A service of the sim calling Lambda as AWS's own service does (e.g.
    /// `CodeDeploy`). Simulated clock.
    Service(&'static str),
}

impl Caller {
    pub fn name(&self) -> &str {
        match self {
            Caller::AccessKey(k) => k,
            Caller::Service(s) => s,
        }
    }

    fn on_simulated_clock(&self) -> bool {
        matches!(self, Caller::Service(_))
    }
}

/// The instant of a call on both clocks, and the time scale between them.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub real: Instant,
    /// For a simulated caller, the simulated instant the call is made at
    /// (an event's due time, possibly a little before the clock's now).
    pub simulated: SystemTime,
    /// Simulated seconds per real second (0: frozen).
    pub scale: f64,
}

/// One view of a bucket: its tokens at an instant of its clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level<T> {
    tokens: f64,
    at: T,
}

/// Time since another instant of the same clock, zero if it is not later.
trait Since: Copy + Ord {
    fn since(self, earlier: Self) -> Duration;
}

impl Since for Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Since for SystemTime {
    fn since(self, earlier: Self) -> Duration {
        self.duration_since(earlier).unwrap_or_default()
    }
}

impl<T: Since> Level<T> {
    fn full(capacity: f64, now: T) -> Self {
        Level {
            tokens: capacity,
            at: now,
        }
    }

    /// Refills up to `now` (an earlier `now` refills nothing).
    fn refill(&mut self, rate: f64, capacity: f64, now: T) {
        let elapsed = now.since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at = self.at.max(now);
    }

    /// Takes a token at `now`, or says how long until one is back.
    fn take(&mut self, rate: f64, capacity: f64, now: T) -> Result<(), Duration> {
        self.refill(rate, capacity, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Charges `cost` tokens at `now`, never below zero; returns what was taken.
    fn charge(&mut self, rate: f64, capacity: f64, now: T, cost: f64) -> f64 {
        self.refill(rate, capacity, now);
        let taken = cost.min(self.tokens).max(0.0);
        self.tokens -= taken;
        taken
    }
}

/// One account bucket (a region and a group), on both clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    real: Level<Instant>,
    simulated: Level<SystemTime>,
}

/// What one caller spent and was refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Calls admitted (metered ones only).
    pub calls: u64,
    /// Calls refused (HTTP: answered 429).
    pub throttled: u64,
    /// Tokens taken from the real view of the buckets.
    pub real_tokens: f64,
    /// Tokens taken from the simulated view of the buckets.
    pub simulated_tokens: f64,
    /// Admitted and refused calls per operation.
    pub operations: BTreeMap<String, OperationUsage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationUsage {
    pub calls: u64,
    pub throttled: u64,
}

/// One caller's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerUsage {
    pub caller: String,
    /// `real` (HTTP callers) or `simulated` (the sim's services).
    pub clock: &'static str,
    #[serde(flatten)]
    pub usage: Usage,
}

/// The buckets of every region, the settings (`None`: not enforced) and
/// what each caller spent since the settings were last set.
#[derive(Debug)]
pub struct Quotas {
    settings: Option<RequestQuota>,
    buckets: HashMap<(String, Group), Bucket>,
    usage: BTreeMap<Caller, Usage>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            settings: Some(RequestQuota::default()),
            buckets: HashMap::new(),
            usage: BTreeMap::new(),
        }
    }
}

impl Quotas {
    pub fn settings(&self) -> Option<RequestQuota> {
        self.settings
    }

    /// New settings; every bucket starts full again and the counts from zero.
    pub fn set(&mut self, settings: Option<RequestQuota>) {
        self.settings = settings;
        self.buckets.clear();
        self.usage.clear();
    }

    /// Admits `operation` by `caller` in `region` at `now`, judged on the
    /// caller's clock and charged to both views, or answers how long (on
    /// the caller's clock) until a token is back. Unmetered operations and
    /// a disabled quota admit everything and count nothing.
    pub fn admit(
        &mut self,
        region: &str,
        operation: &str,
        caller: &Caller,
        now: Now,
    ) -> Result<(), Duration> {
        let Some(q) = self.settings else {
            return Ok(());
        };
        let g = group(operation);
        let Some(rate) = q.rate(g) else {
            return Ok(());
        };
        let capacity = (rate * q.burst_seconds).max(1.0);
        let b = self
            .buckets
            .entry((region.to_string(), g))
            .or_insert_with(|| Bucket {
                real: Level::full(capacity, now.real),
                simulated: Level::full(capacity, now.simulated),
            });
        let simulated = caller.on_simulated_clock();
        let admitted = if simulated {
            b.simulated.take(rate, capacity, now.simulated)
        } else {
            b.real.take(rate, capacity, now.real)
        };
        let usage = self.usage.entry(caller.clone()).or_default();
        let op = usage.operations.entry(operation.to_string()).or_default();
        if admitted.is_err() {
            op.throttled += 1;
            usage.throttled += 1;
            return admitted;
        }
        op.calls += 1;
        usage.calls += 1;
        // What the call is worth on the other clock at this time scale.
        if simulated {
            let cost = if now.scale > 0.0 {
                1.0 / now.scale
            } else {
                0.0
            };
            usage.simulated_tokens += 1.0;
            usage.real_tokens += b.real.charge(rate, capacity, now.real, cost);
        } else {
            usage.real_tokens += 1.0;
            usage.simulated_tokens +=
                b.simulated
                    .charge(rate, capacity, now.simulated, now.scale.max(0.0));
        }
        Ok(())
    }

    /// What every caller spent and was refused, access keys first (by key),
    /// then the sim's services.
    pub fn report(&self) -> Vec<CallerUsage> {
        self.usage
            .iter()
            .map(|(c, u)| CallerUsage {
                caller: c.name().to_string(),
                clock: if c.on_simulated_clock() {
                    "simulated"
                } else {
                    "real"
                },
                usage: u.clone(),
            })
            .collect()
    }
}

/// The `Retry-After` value for a wait: whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Caller {
        Caller::AccessKey("AKIDEXAMPLE".into())
    }

    const CODEDEPLOY: Caller = Caller::Service("CodeDeploy");

    /// Both clocks at their origin (`t0`, `s0`), at `scale`.
    struct Clocks {
        t0: Instant,
        s0: SystemTime,
        scale: f64,
    }

    impl Clocks {
        fn new(scale: f64) -> Self {
            Clocks {
                t0: Instant::now(),
                s0: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
                scale,
            }
        }

        /// `real` real seconds and `sim` simulated seconds after the origin.
        fn at(&self, real: f64, sim: f64) -> Now {
            Now {
                real: self.t0 + Duration::from_secs_f64(real),
                simulated: self.s0 + Duration::from_secs_f64(sim),
                scale: self.scale,
            }
        }

        /// `real` seconds later on the real clock, simulated time following at scale.
        fn real(&self, real: f64) -> Now {
            self.at(real, real * self.scale)
        }
    }

    #[test]
    fn groups() {
        assert_eq!(group("GetFunction"), Group::GetFunction);
        assert_eq!(group("GetPolicy"), Group::GetPolicy);
        assert_eq!(group("Invoke"), Group::Unmetered);
        for op in [
            "GetAlias",
            "UpdateAlias",
            "GetProvisionedConcurrencyConfig",
            "UpdateFunctionCode",
            "PublishVersion",
            "GetFunctionConfiguration",
            "ListVersionsByFunction",
            "CreateFunction",
        ] {
            assert_eq!(group(op), Group::ControlPlane, "{op}");
        }
    }

    #[test]
    fn fifteen_a_second_across_the_control_plane() {
        let mut q = Quotas::default();
        let c = Clocks::new(1.0);
        let t0 = c.real(0.0);
        // A full bucket: 15 at once, whatever the API.
        for i in 0..15 {
            let op = if i % 2 == 0 {
                "GetAlias"
            } else {
                "PublishVersion"
            };
            assert_eq!(q.admit("eu-west-1", op, &key(), t0), Ok(()), "call {i}");
        }
        let wait = q
            .admit("eu-west-1", "UpdateFunctionCode", &key(), t0)
            .unwrap_err();
        assert!((wait.as_secs_f64() - 1.0 / 15.0).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // The throttled call took no token: one is back after 1/15 s.
        let t1 = c.real(0.067);
        assert_eq!(q.admit("eu-west-1", "GetAlias", &key(), t1), Ok(()));
        assert!(q.admit("eu-west-1", "GetAlias", &key(), t1).is_err());
        // GetFunction has its own 100/s; another region its own buckets;
        // Invoke is not metered.
        for _ in 0..100 {
            assert_eq!(q.admit("eu-west-1", "GetFunction", &key(), t1), Ok(()));
        }
        assert!(q.admit("eu-west-1", "GetFunction", &key(), t1).is_err());
        assert_eq!(q.admit("us-east-1", "GetAlias", &key(), t1), Ok(()));
        for _ in 0..1000 {
            assert_eq!(q.admit("eu-west-1", "Invoke", &key(), t1), Ok(()));
        }
        // A quiet second refills the bucket, no further than its capacity.
        let t2 = c.real(10.0);
        for _ in 0..15 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", &key(), t2), Ok(()));
        }
        assert!(q.admit("eu-west-1", "GetAlias", &key(), t2).is_err());
        let r = q.report();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].caller.as_str(), r[0].clock), ("AKIDEXAMPLE", "real"));
        assert_eq!(r[0].usage.calls, 15 + 1 + 100 + 1 + 15);
        assert_eq!(r[0].usage.throttled, 4);
        assert_eq!(r[0].usage.operations["GetFunction"].calls, 100);
        assert_eq!(r[0].usage.operations["GetAlias"].throttled, 2);
        assert!(!r[0].usage.operations.contains_key("Invoke"));
    }

    #[test]
    fn switched_off_or_changed() {
        let mut q = Quotas::default();
        let t0 = Clocks::new(1.0).real(0.0);
        q.set(None);
        for _ in 0..1000 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", &key(), t0), Ok(()));
            assert_eq!(q.admit("eu-west-1", "UpdateAlias", &CODEDEPLOY, t0), Ok(()));
        }
        assert_eq!(q.report(), vec![], "nothing is spent while it is off");
        q.set(Some(RequestQuota {
            control_plane: 2.0,
            burst_seconds: 2.0,
            ..Default::default()
        }));
        for _ in 0..4 {
            assert_eq!(q.admit("eu-west-1", "GetAlias", &key(), t0), Ok(()));
        }
        let wait = q.admit("eu-west-1", "GetAlias", &key(), t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(
            RequestQuota {
                get_function: 0.0,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .contains("getFunction")
        );
    }

    /// A simulated caller's calls, one every `every` simulated seconds for
    /// `n` calls at `scale`: which were admitted (the real clock runs at
    /// 1/scale of simulated time).
    fn simulated_schedule(scale: f64, burst: usize, every: f64, n: usize) -> Vec<bool> {
        let mut q = Quotas::default();
        let c = Clocks::new(scale);
        let mut out = Vec::new();
        for i in 0..n {
            // `burst` calls at once at each instant.
            let s = (i / burst) as f64 * every;
            out.push(
                q.admit("eu-west-1", "UpdateAlias", &CODEDEPLOY, c.at(s / scale, s))
                    .is_ok(),
            );
        }
        out
    }

    #[test]
    fn a_simulated_caller_is_throttled_alike_at_any_time_scale() {
        // 40 calls at once, then 40 more every simulated second.
        let at_1 = simulated_schedule(1.0, 40, 1.0, 200);
        assert_eq!(at_1.iter().filter(|a| **a).count(), 15 + 4 * 15);
        for scale in [60.0, 600.0, 0.5] {
            assert_eq!(simulated_schedule(scale, 40, 1.0, 200), at_1, "×{scale}");
        }
    }

    #[test]
    fn each_caller_is_charged_on_the_other_clock_at_the_time_scale() {
        // ×60: the worker's call is worth 60 simulated tokens (a simulated
        // minute of its real second), CodeDeploy's 1/60 of a real one.
        let mut q = Quotas::default();
        let c = Clocks::new(60.0);
        let t = c.real(0.0);
        assert_eq!(q.admit("r", "GetAlias", &CODEDEPLOY, t), Ok(()));
        assert_eq!(q.admit("r", "GetAlias", &key(), t), Ok(()));
        // The simulated view: 15 − 1 − 14 (the charge stops at zero).
        assert!(q.admit("r", "GetAlias", &CODEDEPLOY, t).is_err());
        // 70 simulated ms later (more than 1/15 s) a token is back.
        assert_eq!(
            q.admit("r", "GetAlias", &CODEDEPLOY, c.at(0.0, 0.07)),
            Ok(())
        );
        // The real view: 15 − 2/60 − 1: 13 more HTTP calls fit, not 14.
        for _ in 0..13 {
            assert_eq!(q.admit("r", "GetAlias", &key(), t), Ok(()));
        }
        assert!(q.admit("r", "GetAlias", &key(), t).is_err());
        let r = q.report();
        let by = |n: &str| r.iter().find(|u| u.caller == n).unwrap().usage.clone();
        let cd = by("CodeDeploy");
        assert_eq!((cd.calls, cd.throttled, cd.simulated_tokens), (2, 1, 2.0));
        assert!((cd.real_tokens - 2.0 / 60.0).abs() < 1e-9, "{cd:?}");
        let w = by("AKIDEXAMPLE");
        assert_eq!((w.calls, w.throttled, w.real_tokens), (14, 1, 14.0));
        // 14 at its first call, then the 0.05 left after CodeDeploy's.
        assert!((w.simulated_tokens - 14.05).abs() < 1e-6, "{w:?}");
        assert_eq!(r[0].caller, "AKIDEXAMPLE", "access keys first");
        assert_eq!(r[1].clock, "simulated");
    }

    #[test]
    fn at_scale_one_the_two_views_are_one_bucket() {
        let mut q = Quotas::default();
        let c = Clocks::new(1.0);
        let t = c.real(0.0);
        for i in 0..15 {
            let who = if i % 3 == 0 { CODEDEPLOY } else { key() };
            assert_eq!(q.admit("r", "UpdateAlias", &who, t), Ok(()));
        }
        assert!(q.admit("r", "UpdateAlias", &CODEDEPLOY, t).is_err());
        assert!(q.admit("r", "UpdateAlias", &key(), t).is_err());
        let t = c.real(0.2);
        for i in 0..3 {
            let who = if i == 0 { key() } else { CODEDEPLOY };
            assert_eq!(q.admit("r", "UpdateAlias", &who, t), Ok(()));
        }
        assert!(q.admit("r", "UpdateAlias", &CODEDEPLOY, t).is_err());
        assert!(q.admit("r", "UpdateAlias", &key(), t).is_err());
    }

    #[test]
    fn a_frozen_clock_keeps_the_clocks_apart() {
        let mut q = Quotas::default();
        let c = Clocks::new(0.0);
        let t = c.at(0.0, 0.0);
        for _ in 0..15 {
            assert_eq!(q.admit("r", "GetAlias", &key(), t), Ok(()));
        }
        // The worker's calls took no simulated time: CodeDeploy's view is full.
        for _ in 0..15 {
            assert_eq!(q.admit("r", "UpdateAlias", &CODEDEPLOY, t), Ok(()));
        }
        assert!(q.admit("r", "UpdateAlias", &CODEDEPLOY, t).is_err());
        assert!(q.admit("r", "GetAlias", &key(), t).is_err());
        // An advance refills the simulated view only.
        let later = c.at(0.0, 60.0);
        assert_eq!(q.admit("r", "UpdateAlias", &CODEDEPLOY, later), Ok(()));
        assert!(q.admit("r", "GetAlias", &key(), later).is_err());
    }
}
