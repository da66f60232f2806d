//! Fault injection (`POST /_sim/faults`): per service/operation probabilities
//! of a throttling error, a 503, a connection reset before the call reaches
//! its service, or a lost response (the service performs the call, then the
//! connection closes without an answer), plus added latency and outage
//! windows in simulated or real seconds, drawn from a seeded RNG so a
//! failing run can be replayed.
//!
//! The server consults this before a request reaches its service; this module
//! decides, it does not render (each service renders its own throttling error).

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// One fault rule. Empty `service`/`operation` match everything.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// SigV4 service name: `codepipeline`, `s3`, `lambda`, `codedeploy`, `monitoring`.
    #[serde(default)]
    pub service: Option<String>,
    /// Operation name, e.g. `PollForJobs`, `GetObject`.
    #[serde(default)]
    pub operation: Option<String>,
    /// Probability of the service's throttling error (`ThrottlingException`,
    /// S3 `SlowDown` 503, Lambda `TooManyRequestsException` 429, …).
    #[serde(default)]
    pub throttle: f64,
    /// Probability of a 503 `ServiceUnavailable`.
    #[serde(default)]
    pub unavailable: f64,
    /// Probability of closing the connection without an answer, before the
    /// call reaches its service (nothing happened).
    #[serde(default)]
    pub reset: f64,
    /// Probability that the service performs the call and the connection
    /// then closes without its answer: the caller cannot tell whether the
    /// call happened (an ambiguous outcome).
    #[serde(default)]
    pub lost_response: f64,
    /// Real milliseconds added before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// The rule applies only for this many simulated seconds after it was set
    /// (an outage window); forever when absent.
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    /// The rule applies only for this many real seconds after it was set
    /// (an outage window on the wall clock: retry budgets are real time,
    /// whatever the time scale); forever when absent.
    #[serde(default)]
    pub duration_real_seconds: Option<f64>,
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Unavailable,
    Reset,
    /// Perform the call, then close the connection without its answer.
    LostResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

#[derive(Debug)]
pub struct Faults {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Each rule with when it was set (simulated and real).
    rules: Vec<(FaultRule, SystemTime, std::time::Instant)>,
    rng: StdRng,
    injected: u64,
}

/// The decision for one request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Decision {
    pub latency: Duration,
    pub fault: Option<Fault>,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            inner: Mutex::new(State {
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
                injected: 0,
            }),
        }
    }

    /// Replaces all rules; reseeds when a seed is given.
    pub fn set(&self, cfg: FaultConfig, now: SystemTime) -> Result<(), String> {
        for (i, r) in cfg.rules.iter().enumerate() {
            for (name, p) in [
                ("throttle", r.throttle),
                ("unavailable", r.unavailable),
                ("reset", r.reset),
                ("lostResponse", r.lost_response),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!(
                        "rules[{i}].{name} must be a probability in [0, 1], got {p}"
                    ));
                }
            }
            if r.throttle + r.unavailable + r.reset + r.lost_response > 1.0 {
                return Err(format!(
                    "rules[{i}]: throttle + unavailable + reset + lostResponse must not exceed 1"
                ));
            }
            for (name, d) in [
                ("durationSeconds", r.duration_seconds),
                ("durationRealSeconds", r.duration_real_seconds),
            ] {
                if d.is_some_and(|d| !(d.is_finite() && d >= 0.0)) {
                    return Err(format!("rules[{i}].{name} must be a number of seconds ≥ 0"));
                }
            }
        }
        let mut s = crate::lock(&self.inner);
        if let Some(seed) = cfg.seed {
            s.rng = StdRng::seed_from_u64(seed);
        }
        let real = std::time::Instant::now();
        s.rules = cfg.rules.into_iter().map(|r| (r, now, real)).collect();
        Ok(())
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        crate::lock(&self.inner)
            .rules
            .iter()
            .map(|(r, ..)| r.clone())
            .collect()
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        crate::lock(&self.inner).injected
    }

    /// Decides the fate of one request. The first matching rule with a
    /// non-zero effect wins; latency from all matching rules adds up.
    pub fn decide(&self, service: &str, operation: &str, now: SystemTime) -> Decision {
        let mut s = crate::lock(&self.inner);
        let mut d = Decision::default();
        let State {
            rules,
            rng,
            injected,
        } = &mut *s;
        for (r, set_at, set_real) in rules.iter() {
            if r.service.as_deref().is_some_and(|x| x != service) {
                continue;
            }
            if r.operation.as_deref().is_some_and(|x| x != operation) {
                continue;
            }
            if let Some(secs) = r.duration_seconds {
                let elapsed = now.duration_since(*set_at).unwrap_or_default();
                if elapsed.as_secs_f64() > secs {
                    continue;
                }
            }
            if let Some(secs) = r.duration_real_seconds
                && set_real.elapsed().as_secs_f64() > secs
            {
                continue;
            }
            d.latency += Duration::from_millis(r.latency_ms);
            if d.fault.is_none() {
                let x: f64 = rng.random();
                d.fault = if x < r.throttle {
                    Some(Fault::Throttle)
                } else if x < r.throttle + r.unavailable {
                    Some(Fault::Unavailable)
                } else if x < r.throttle + r.unavailable + r.reset {
                    Some(Fault::Reset)
                } else if x < r.throttle + r.unavailable + r.reset + r.lost_response {
                    Some(Fault::LostResponse)
                } else {
                    None
                };
            }
        }
        if d.fault.is_some() {
            *injected += 1;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_windows_end_on_the_wall_clock_whatever_the_simulated_time() {
        let f = Faults::new(1);
        let now = SystemTime::now();
        f.set(
            FaultConfig {
                seed: None,
                rules: vec![FaultRule {
                    unavailable: 1.0,
                    duration_real_seconds: Some(0.2),
                    ..Default::default()
                }],
            },
            now,
        )
        .unwrap();
        // Simulated time far ahead: still in the (real-time) window.
        let later = now + Duration::from_secs(86_400);
        assert_eq!(
            f.decide("codedeploy", "X", later).fault,
            Some(Fault::Unavailable)
        );
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(f.decide("codedeploy", "X", now).fault, None);
        let e = f
            .set(
                FaultConfig {
                    seed: None,
                    rules: vec![FaultRule {
                        lost_response: 0.7,
                        reset: 0.4,
                        ..Default::default()
                    }],
                },
                now,
            )
            .unwrap_err();
        assert!(e.contains("lostResponse"), "{e}");
    }

    #[test]
    fn seeded_faults_are_reproducible_and_scoped() {
        let now = SystemTime::now();
        let cfg = FaultConfig {
            seed: Some(7),
            rules: vec![FaultRule {
                service: Some("codepipeline".into()),
                operation: Some("PollForJobs".into()),
                throttle: 0.5,
                ..Default::default()
            }],
        };
        let run = || {
            let f = Faults::new(1);
            f.set(cfg.clone(), now).unwrap();
            (0..100)
                .map(|_| f.decide("codepipeline", "PollForJobs", now).fault.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let n = a.iter().filter(|x| **x).count();
        assert!((30..70).contains(&n), "{n}");
        let f = Faults::new(1);
        f.set(cfg, now).unwrap();
        assert!(f.decide("s3", "GetObject", now).fault.is_none());
        assert!(
            f.decide("codepipeline", "AcknowledgeJob", now)
                .fault
                .is_none()
        );
    }

    #[test]
    fn outage_window_ends() {
        let now = SystemTime::now();
        let f = Faults::new(1);
        f.set(
            FaultConfig {
                seed: None,
                rules: vec![FaultRule {
                    unavailable: 1.0,
                    duration_seconds: Some(60.0),
                    ..Default::default()
                }],
            },
            now,
        )
        .unwrap();
        assert_eq!(
            f.decide("s3", "GetObject", now + Duration::from_secs(59))
                .fault,
            Some(Fault::Unavailable)
        );
        assert_eq!(
            f.decide("s3", "GetObject", now + Duration::from_secs(61))
                .fault,
            None
        );
    }

    #[test]
    fn rejects_bad_probabilities() {
        let f = Faults::new(1);
        let e = f
            .set(
                FaultConfig {
                    seed: None,
                    rules: vec![FaultRule {
                        throttle: 1.5,
                        ..Default::default()
                    }],
                },
                SystemTime::now(),
            )
            .unwrap_err();
        assert!(e.contains("rules[0].throttle"), "{e}");
    }
}
