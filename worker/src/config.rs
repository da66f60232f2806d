//! The worker's settings ([`WorkerConfig`]), their defaults and checks, and the
//! pure timing policies of the poll loop: the idle interval with ±20 % jitter
//! and the exponential backoff after failed polls.
//!
//! The command line (`main.rs`) fills a `WorkerConfig`; tests build one
//! directly. This module knows no AWS client.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::definition::{ActionTypeDefinition, valid_queryable_value};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The action type served (category/provider/version polled, which
    /// property is queryable, which values are secret).
    pub definition: ActionTypeDefinition,
    /// Value of the queryable property this fleet serves (`--stage`).
    /// Required when the action type has a queryable property.
    pub stage: Option<String>,
    /// Pause after a poll that returned no job (±20 % jitter).
    pub poll_interval: Duration,
    /// Jobs worked on at the same time (the semaphore's size).
    pub max_jobs: usize,
    /// After a shutdown signal, how long in-flight jobs get to reach a safe
    /// point and be handed back.
    pub shutdown_grace: Duration,
    /// Cap of the exponential backoff after failed polls.
    pub max_backoff: Duration,
    /// How long a result call is retried on throttling/5xx before giving up.
    pub result_retry_timeout: Duration,
    /// Age at which a job's artifact credentials are fetched afresh with
    /// GetJobDetails (they last about 15 minutes).
    pub credentials_refresh_after: Duration,
}

impl WorkerConfig {
    /// Defaults for `definition`: poll every 1 s, 8 jobs, 20 s shutdown grace,
    /// backoff capped at 30 s, result calls retried for 60 s, artifact
    /// credentials refreshed at 14 minutes.
    pub fn new(definition: ActionTypeDefinition) -> Self {
        WorkerConfig {
            definition,
            stage: None,
            poll_interval: Duration::from_secs(1),
            max_jobs: 8,
            shutdown_grace: Duration::from_secs(20),
            max_backoff: Duration::from_secs(30),
            result_retry_timeout: Duration::from_secs(60),
            credentials_refresh_after: crate::codepipeline::CREDENTIALS_REFRESH_AFTER,
        }
    }

    /// Checks the settings against each other and the action type.
    pub fn check(&self) -> Result<(), String> {
        if self.max_jobs == 0 {
            return Err("--max-jobs must be at least 1".into());
        }
        if self.poll_interval.is_zero() {
            return Err("--poll-interval must be more than 0".into());
        }
        match (self.definition.queryable_property(), &self.stage) {
            (Some(p), None) => Err(format!(
                "the action type {}/{} routes jobs by its queryable property {p}: set --stage (PIPELINE_CANARY_STAGE)",
                self.definition.provider, self.definition.version
            )),
            (Some(_), Some(v)) if !valid_queryable_value(v) => Err(format!(
                "--stage '{v}' must be 1-20 characters of A-Z a-z 0-9 _ -"
            )),
            (None, Some(_)) => Err(format!(
                "--stage is set but the action type {}/{} has no queryable property",
                self.definition.provider, self.definition.version
            )),
            _ => Ok(()),
        }
    }

    /// The `queryParam` of PollForJobs.
    pub fn query_param(&self) -> Option<(String, String)> {
        Some((
            self.definition.queryable_property()?.to_string(),
            self.stage.clone()?,
        ))
    }
}

/// The pause after an empty poll: `interval` scaled by a factor drawn
/// uniformly from [0.8, 1.2) (`unit` in [0, 1) is the random draw), so a
/// fleet started at once does not poll in lockstep.
pub fn jittered(interval: Duration, unit: f64) -> Duration {
    interval.mul_f64(0.8 + 0.4 * unit.clamp(0.0, 1.0))
}

/// The delays between polls after failures (throttling, 5xx, transport
/// errors, `ActionTypeNotFoundException`): the first is the poll interval,
/// each next one doubles, each gets up to +100 % jitter (backon's), and none
/// exceeds `max`. A successful poll starts a fresh sequence.
pub fn poll_backoff(
    interval: Duration,
    max: Duration,
    seed: Option<u64>,
) -> impl Iterator<Item = Duration> {
    let mut b = ExponentialBuilder::default()
        .with_min_delay(interval)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    if let Some(s) = seed {
        b = b.with_jitter_seed(s);
    }
    b.build().map(move |d| d.min(max))
}

/// Parses a duration: `250ms`, `1s`, `1.5s`, `2m`, `1h`, or a bare number of seconds.
/// A request rate for `--codedeploy-lambda-rate`: a number > 0 and at most
/// Lambda's 15 per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let max = pipeline_canary_core::canary::pace::CONTROL_PLANE_RATE;
    match s.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r <= max => Ok(r),
        _ => Err(format!(
            "`{s}` is not a request rate: give requests per second, more than 0 and at most {max} (Lambda's control-plane quota)"
        )),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 500ms, 1s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is not a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn idle_jitter_stays_within_20_percent() {
        let i = Duration::from_secs(1);
        assert_eq!(jittered(i, 0.0), Duration::from_millis(800));
        assert_eq!(jittered(i, 0.5), Duration::from_millis(1000));
        assert!(jittered(i, 0.999_999) < Duration::from_millis(1200));
        assert_eq!(jittered(i, 7.0), Duration::from_millis(1200));
    }

    #[test]
    fn poll_backoff_grows_exponentially_and_is_capped() {
        let d: Vec<_> = poll_backoff(Duration::from_millis(100), Duration::from_secs(2), Some(7))
            .take(12)
            .collect();
        // Base delays 100, 200, 400, 800, 1600, 2000… ms, each with up to +100 % jitter.
        for (i, x) in d.iter().enumerate() {
            let base = (100u64 << i.min(5)).min(2000);
            assert!(
                *x >= Duration::from_millis(base)
                    && *x <= Duration::from_millis((2 * base).min(2000)),
                "delay {i} = {x:?}, base {base} ms"
            );
        }
        assert_eq!(*d.last().unwrap(), Duration::from_secs(2));
        // Deterministic with a seed.
        let again: Vec<_> =
            poll_backoff(Duration::from_millis(100), Duration::from_secs(2), Some(7))
                .take(12)
                .collect();
        assert_eq!(d, again);
    }

    #[test]
    fn stage_is_required_and_checked_when_the_type_is_queryable() {
        let mut c = WorkerConfig::new(ActionTypeDefinition::embedded());
        assert!(c.check().unwrap_err().contains("--stage"));
        c.stage = Some("prod".into());
        assert_eq!(c.check(), Ok(()));
        assert_eq!(c.query_param(), Some(("Stage".into(), "prod".into())));
        c.stage = Some("production-eu-west-1-blue".into());
        assert!(c.check().unwrap_err().contains("1-20 characters"));
        c.stage = Some("prod".into());
        c.max_jobs = 0;
        assert!(c.check().is_err());
    }
}
