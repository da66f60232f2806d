//! The Lambda calls CodeDeploy makes while it moves an alias, and how it
//! retries one that Lambda throttles: which operations each moment of a
//! deployment makes (its start, each traffic step, its end), the backoff
//! between attempts and the bounded time a call is retried for, and their
//! settings (`Config::codedeploy_lambda_calls`, `POST /_sim/lambda/quota`
//! with `codeDeploy`). Pure values and arithmetic: it knows no clock, no
//! quota, no deployment and no wire.
//!
//! The operations are those the managed service-role policy
//! `AWSCodeDeployRoleForLambda` grants for Lambda besides hook invocations:
//! `GetAlias`, `GetProvisionedConcurrencyConfig` and `UpdateAlias`, all in
//! the control plane's shared 15/s (none is GetFunction or GetPolicy). How
//! many of them CodeDeploy makes per step, and how it retries, AWS does not
//! document; the defaults below are this module's choices.

use std::time::Duration;

use serde_json::{Value, json};

pub const GET_ALIAS: &str = "GetAlias";
pub const GET_PROVISIONED_CONCURRENCY_CONFIG: &str = "GetProvisionedConcurrencyConfig";
pub const UPDATE_ALIAS: &str = "UpdateAlias";

/// The most calls a step may be configured to make.
pub const MAX_CALLS_PER_STEP: u32 = 20;
/// The longest backoff or retry window the settings accept (simulated).
pub const MAX_RETRY_SECONDS: f64 = 86_400.0;

/// How CodeDeploy calls Lambda (all durations simulated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LambdaCalls {
    /// Calls of one traffic step: `calls_per_step − 1` reads (GetAlias,
    /// GetProvisionedConcurrencyConfig, alternating), then UpdateAlias.
    /// The start makes the reads of a step (validating the alias and the
    /// target version), the end one GetAlias.
    pub calls_per_step: u32,
    /// The first retry waits between half of this and this; each further
    /// retry doubles it ("equal jitter", as the AWS SDK for Java backs off
    /// from throttling), up to `retry_max_backoff`.
    pub retry_base: Duration,
    pub retry_max_backoff: Duration,
    /// How long a throttled call is retried, from its first attempt; its
    /// last attempt is at the end of the window. Then the deployment fails
    /// with `THROTTLED`.
    pub retry_window: Duration,
}

impl Default for LambdaCalls {
    /// Three calls a step (read the alias, read the target version's
    /// provisioned concurrency, update the alias); backoff from 0.5 s up to
    /// 20 s (the AWS SDK for Java's throttling backoff); retried for 30 s.
    fn default() -> Self {
        LambdaCalls {
            calls_per_step: 3,
            retry_base: Duration::from_millis(500),
            retry_max_backoff: Duration::from_secs(20),
            retry_window: Duration::from_secs(30),
        }
    }
}

impl LambdaCalls {
    /// The reads of a step, in order.
    pub fn reads(&self) -> Vec<&'static str> {
        (0..self.calls_per_step.saturating_sub(1))
            .map(|i| {
                if i % 2 == 0 {
                    GET_ALIAS
                } else {
                    GET_PROVISIONED_CONCURRENCY_CONFIG
                }
            })
            .collect()
    }

    /// The calls of the start (before the deployment is validated).
    pub fn at_start(&self) -> Vec<&'static str> {
        self.reads()
    }

    /// The calls of one traffic step (a rollback's too).
    pub fn step(&self) -> Vec<&'static str> {
        let mut ops = self.reads();
        ops.push(UPDATE_ALIAS);
        ops
    }

    /// The calls after the last step (AllowTraffic checked done).
    pub fn at_end(&self) -> Vec<&'static str> {
        vec![GET_ALIAS]
    }

    /// The wait before retry `retry` (0 = the first) for a uniform draw
    /// `u` in [0, 1): `cap/2 + u·cap/2`, `cap = min(max, base·2^retry)`.
    pub fn backoff(&self, retry: u32, u: f64) -> Duration {
        let max = self.retry_max_backoff;
        let doubled = self.retry_base.as_secs_f64() * 2f64.powi(retry.min(62) as i32);
        let cap = Duration::try_from_secs_f64(doubled).unwrap_or(max).min(max);
        cap / 2 + (cap / 2).mul_f64(u.clamp(0.0, 1.0))
    }

    /// An error naming the bad field, for the control API.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_CALLS_PER_STEP).contains(&self.calls_per_step) {
            return Err(format!(
                "callsPerStep must be an integer from 1 to {MAX_CALLS_PER_STEP}, got {}",
                self.calls_per_step
            ));
        }
        if self.retry_base.is_zero() {
            return Err("retryBaseSeconds must be > 0".into());
        }
        if self.retry_max_backoff < self.retry_base {
            return Err("retryMaxBackoffSeconds must be >= retryBaseSeconds".into());
        }
        Ok(())
    }

    /// The settings as the control API shows them.
    pub fn to_json(&self) -> Value {
        json!({
            "callsPerStep": self.calls_per_step,
            "retryBaseSeconds": self.retry_base.as_secs_f64(),
            "retryMaxBackoffSeconds": self.retry_max_backoff.as_secs_f64(),
            "retryWindowSeconds": self.retry_window.as_secs_f64(),
        })
    }

    /// These settings with the fields `v` (a JSON object of the control
    /// API's names) changes; an unknown field or a bad value is an error.
    pub fn patched(&self, v: &Value) -> Result<LambdaCalls, String> {
        let Some(obj) = v.as_object() else {
            return Err("codeDeploy must be a JSON object".into());
        };
        let mut out = *self;
        let secs = |name: &str, v: &Value| -> Result<Duration, String> {
            v.as_f64()
                .filter(|s| (0.0..=MAX_RETRY_SECONDS).contains(s))
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    format!(
                        "{name} must be a number of seconds from 0 to {MAX_RETRY_SECONDS}, got {v}"
                    )
                })
        };
        for (k, v) in obj {
            match k.as_str() {
                "callsPerStep" => {
                    out.calls_per_step = v
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("callsPerStep must be an integer, got {v}"))?;
                }
                "retryBaseSeconds" => out.retry_base = secs(k, v)?,
                "retryMaxBackoffSeconds" => out.retry_max_backoff = secs(k, v)?,
                "retryWindowSeconds" => out.retry_window = secs(k, v)?,
                other => {
                    return Err(format!(
                        "unknown codeDeploy field {other} (callsPerStep, retryBaseSeconds, retryMaxBackoffSeconds, retryWindowSeconds)"
                    ));
                }
            }
        }
        out.validate()?;
        Ok(out)
    }
}

/// A uniform draw in [0, 1) from `(seed, deployment, attempt)` (SplitMix64):
/// a deployment's jitter depends on nothing but its own history, not on the
/// order the sim happens to process deployments in.
pub fn draw(seed: u64, deployment: u64, attempt: u64) -> f64 {
    let mut z = seed
        ^ deployment.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ attempt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calls_of_each_moment() {
        let c = LambdaCalls::default();
        assert_eq!(
            c.at_start(),
            [GET_ALIAS, GET_PROVISIONED_CONCURRENCY_CONFIG]
        );
        assert_eq!(
            c.step(),
            [GET_ALIAS, GET_PROVISIONED_CONCURRENCY_CONFIG, UPDATE_ALIAS]
        );
        assert_eq!(c.at_end(), [GET_ALIAS]);
        let one = LambdaCalls {
            calls_per_step: 1,
            ..c
        };
        assert!(one.at_start().is_empty());
        assert_eq!(one.step(), [UPDATE_ALIAS]);
        let four = LambdaCalls {
            calls_per_step: 4,
            ..c
        };
        assert_eq!(
            four.step(),
            [
                GET_ALIAS,
                GET_PROVISIONED_CONCURRENCY_CONFIG,
                GET_ALIAS,
                UPDATE_ALIAS
            ]
        );
    }

    #[test]
    fn equal_jitter_backoff_doubles_up_to_its_cap() {
        let c = LambdaCalls::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(c.backoff(0, 0.0)), 250);
        assert_eq!(ms(c.backoff(0, 0.999_999)), 499);
        assert_eq!(ms(c.backoff(1, 0.0)), 500);
        assert_eq!(ms(c.backoff(3, 0.5)), 3000);
        assert_eq!(ms(c.backoff(6, 0.0)), 10_000, "capped at 20 s");
        assert_eq!(ms(c.backoff(u32::MAX, 0.0)), 10_000);
    }

    #[test]
    fn settings_are_patched_and_checked() {
        let c = LambdaCalls::default();
        let p = c
            .patched(&json!({"callsPerStep": 5, "retryWindowSeconds": 2.5}))
            .unwrap();
        assert_eq!(p.calls_per_step, 5);
        assert_eq!(p.retry_window, Duration::from_millis(2500));
        assert_eq!(p.retry_base, c.retry_base);
        assert_eq!(p.to_json()["retryWindowSeconds"], 2.5);
        for (bad, names) in [
            (json!({"callsPerStep": 0}), "callsPerStep"),
            (json!({"callsPerStep": 1.5}), "callsPerStep"),
            (json!({"retryWindowSeconds": -1}), "retryWindowSeconds"),
            (json!({"retryBaseSeconds": 0}), "retryBaseSeconds"),
            (
                json!({"retryMaxBackoffSeconds": 0.1}),
                "retryMaxBackoffSeconds",
            ),
            (json!({"calls": 1}), "unknown"),
            (json!(3), "object"),
        ] {
            let e = c.patched(&bad).unwrap_err();
            assert!(e.contains(names), "{bad}: {e}");
        }
    }

    #[test]
    fn draws_are_uniform_and_reproducible() {
        let n = 10_000;
        let xs: Vec<f64> = (0..n).map(|i| draw(1, i / 7, i)).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(2, 2, 3));
    }
}
