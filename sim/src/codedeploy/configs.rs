//! Deployment configurations for computePlatform Lambda: the nine predefined
//! `CodeDeployDefault.Lambda*` configs, validation of custom ones
//! (`CreateDeploymentConfig`), and the traffic-shifting schedule each one
//! implies, as pure functions of the config (no clock, no state, no wire).

use std::time::Duration;

use serde_json::{Value, json};

/// How traffic moves from the alias's current version to the target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficRouting {
    /// `percentage` % at once, the rest `interval_minutes` later.
    TimeBasedCanary {
        percentage: u32,
        interval_minutes: u32,
    },
    /// +`percentage` % every `interval_minutes` until 100 %.
    TimeBasedLinear {
        percentage: u32,
        interval_minutes: u32,
    },
    /// Straight to 100 %.
    AllAtOnce,
}

/// One traffic shift: `offset` after shifting began, the target version gets
/// `weight` of the alias's traffic (1.0 = the alias points at the target
/// version with no routing configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub offset: Duration,
    pub weight: f64,
}

impl TrafficRouting {
    /// The shifts, in order; the last one is always weight 1.0.
    ///
    /// Canary 10 % / 5 min: 0.1 at 0, 1.0 at 5 min. Linear 10 % / 1 min: 0.1 at
    /// 0, 0.2 at 1 min, … 0.9 at 8 min, 1.0 at 9 min. Weights are computed
    /// as `k·percentage / 100` so 0.2 is exactly the `f64` nearest 0.2.
    pub fn schedule(self) -> Vec<Step> {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        match self {
            TrafficRouting::AllAtOnce => vec![Step {
                offset: Duration::ZERO,
                weight: 1.0,
            }],
            TrafficRouting::TimeBasedCanary {
                percentage,
                interval_minutes,
            } => vec![
                Step {
                    offset: Duration::ZERO,
                    weight: f64::from(percentage) / 100.0,
                },
                Step {
                    offset: minutes(u64::from(interval_minutes)),
                    weight: 1.0,
                },
            ],
            TrafficRouting::TimeBasedLinear {
                percentage,
                interval_minutes,
            } => {
                let p = percentage.max(1);
                let mut steps = Vec::new();
                let mut k: u32 = 1;
                while k * p < 100 {
                    steps.push(Step {
                        offset: minutes(u64::from(k - 1) * u64::from(interval_minutes)),
                        weight: f64::from(k * p) / 100.0,
                    });
                    k += 1;
                }
                steps.push(Step {
                    offset: minutes(u64::from(k - 1) * u64::from(interval_minutes)),
                    weight: 1.0,
                });
                steps
            }
        }
    }

    /// The `trafficRoutingConfig` JSON of `DeploymentConfigInfo`.
    pub fn to_json(self) -> Value {
        match self {
            TrafficRouting::AllAtOnce => json!({"type": "AllAtOnce"}),
            TrafficRouting::TimeBasedCanary {
                percentage,
                interval_minutes,
            } => json!({
                "type": "TimeBasedCanary",
                "timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": interval_minutes},
            }),
            TrafficRouting::TimeBasedLinear {
                percentage,
                interval_minutes,
            } => json!({
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": percentage, "linearInterval": interval_minutes},
            }),
        }
    }

    /// Parses and validates a `trafficRoutingConfig` (absent = AllAtOnce).
    /// Errors are the message of `InvalidTrafficRoutingConfigurationException`.
    pub fn from_json(v: Option<&Value>) -> Result<TrafficRouting, String> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(TrafficRouting::AllAtOnce);
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("AllAtOnce");
        let int = |o: Option<&Value>, field: &str| -> Result<u32, String> {
            let n = o.and_then(|o| o.get(field)).ok_or_else(|| {
                format!("{field} is required for a {kind} traffic routing config")
            })?;
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("{field} must be a non-negative integer"))
        };
        let check = |pct: u32, interval: u32| -> Result<(), String> {
            if !(1..=99).contains(&pct) {
                return Err(format!(
                    "The traffic percentage {pct} is invalid: it must be between 1 and 99"
                ));
            }
            if interval < 1 {
                return Err(format!(
                    "The interval {interval} is invalid: it must be at least 1 minute"
                ));
            }
            if interval > MAX_INTERVAL_MINUTES {
                return Err(format!(
                    "The interval {interval} is invalid: it must be at most {MAX_INTERVAL_MINUTES} minutes"
                ));
            }
            Ok(())
        };
        match kind {
            "AllAtOnce" => Ok(TrafficRouting::AllAtOnce),
            "TimeBasedCanary" => {
                let o = v.get("timeBasedCanary");
                let percentage = int(o, "canaryPercentage")?;
                let interval_minutes = int(o, "canaryInterval")?;
                check(percentage, interval_minutes)?;
                Ok(TrafficRouting::TimeBasedCanary {
                    percentage,
                    interval_minutes,
                })
            }
            "TimeBasedLinear" => {
                let o = v.get("timeBasedLinear");
                let percentage = int(o, "linearPercentage")?;
                let interval_minutes = int(o, "linearInterval")?;
                check(percentage, interval_minutes)?;
                Ok(TrafficRouting::TimeBasedLinear {
                    percentage,
                    interval_minutes,
                })
            }
            other => Err(format!("Unknown traffic routing type {other}")),
        }
    }
}

/// The predefined Lambda configs, in the order `ListDeploymentConfigs` lists them.
/// The longest canary/linear interval CodeDeploy accepts (two days).
pub const MAX_INTERVAL_MINUTES: u32 = 2880;

pub const PREDEFINED: [(&str, TrafficRouting); 9] = [
    (
        "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        canary(10, 5),
    ),
    (
        "CodeDeployDefault.LambdaCanary10Percent10Minutes",
        canary(10, 10),
    ),
    (
        "CodeDeployDefault.LambdaCanary10Percent15Minutes",
        canary(10, 15),
    ),
    (
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        canary(10, 30),
    ),
    (
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
        linear(10, 1),
    ),
    (
        "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
        linear(10, 2),
    ),
    (
        "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
        linear(10, 3),
    ),
    (
        "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
        linear(10, 10),
    ),
    (
        "CodeDeployDefault.LambdaAllAtOnce",
        TrafficRouting::AllAtOnce,
    ),
];

const fn canary(percentage: u32, interval_minutes: u32) -> TrafficRouting {
    TrafficRouting::TimeBasedCanary {
        percentage,
        interval_minutes,
    }
}

const fn linear(percentage: u32, interval_minutes: u32) -> TrafficRouting {
    TrafficRouting::TimeBasedLinear {
        percentage,
        interval_minutes,
    }
}

/// The predefined config of that name.
pub fn predefined(name: &str) -> Option<TrafficRouting> {
    PREDEFINED.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// A stable id for a predefined config (AWS gives them fixed ids too).
pub fn predefined_id(name: &str) -> String {
    let i = PREDEFINED.iter().position(|(n, _)| *n == name).unwrap_or(0);
    format!("00000000-0000-4000-8000-{:012x}", i + 1)
}

/// Name rule of custom configs: 1–100 characters, not in the reserved
/// `CodeDeployDefault.` namespace. Errors are `InvalidDeploymentConfigNameException` messages.
pub fn validate_custom_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err("Deployment config name must be 1 to 100 characters".into());
    }
    if name.starts_with("CodeDeployDefault.") {
        return Err(format!(
            "Deployment config name {name} is reserved: names starting with CodeDeployDefault. belong to predefined configs"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(r: TrafficRouting) -> Vec<(u64, f64)> {
        r.schedule()
            .into_iter()
            .map(|s| (s.offset.as_secs(), s.weight))
            .collect()
    }

    #[test]
    fn linear_10_every_minute_is_ten_steps_a_minute_apart() {
        let w = weights(predefined("CodeDeployDefault.LambdaLinear10PercentEvery1Minute").unwrap());
        assert_eq!(
            w,
            vec![
                (0, 0.1),
                (60, 0.2),
                (120, 0.3),
                (180, 0.4),
                (240, 0.5),
                (300, 0.6),
                (360, 0.7),
                (420, 0.8),
                (480, 0.9),
                (540, 1.0)
            ]
        );
    }

    #[test]
    fn canary_and_all_at_once() {
        assert_eq!(
            weights(predefined("CodeDeployDefault.LambdaCanary10Percent5Minutes").unwrap()),
            vec![(0, 0.1), (300, 1.0)]
        );
        assert_eq!(
            weights(predefined("CodeDeployDefault.LambdaCanary10Percent30Minutes").unwrap()),
            vec![(0, 0.1), (1800, 1.0)]
        );
        assert_eq!(
            weights(predefined("CodeDeployDefault.LambdaAllAtOnce").unwrap()),
            vec![(0, 1.0)]
        );
        assert_eq!(predefined("CodeDeployDefault.OneAtATime"), None);
    }

    #[test]
    fn linear_with_uneven_percentage_ends_at_full() {
        assert_eq!(
            weights(linear(30, 2)),
            vec![(0, 0.3), (120, 0.6), (240, 0.9), (360, 1.0)]
        );
        assert_eq!(weights(linear(50, 1)), vec![(0, 0.5), (60, 1.0)]);
        assert_eq!(weights(linear(99, 1)), vec![(0, 0.99), (60, 1.0)]);
    }

    #[test]
    fn huge_intervals_are_refused_and_schedules_never_overflow() {
        // Review P1-3: linearInterval 2^31 overflowed u32 in schedule() on every tick.
        for interval in [2881u64, 2_147_483_648, u64::from(u32::MAX)] {
            let bad = json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 1, "linearInterval": interval}});
            let err = TrafficRouting::from_json(Some(&bad)).unwrap_err();
            assert!(err.contains("at most 2880 minutes"), "{err}");
            let bad = json!({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 1, "canaryInterval": interval}});
            assert!(TrafficRouting::from_json(Some(&bad)).is_err());
        }
        let max = TrafficRouting::from_json(Some(&json!({"type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 1, "linearInterval": 2880}})))
        .unwrap();
        assert_eq!(weights(max).last(), Some(&(99 * 2880 * 60, 1.0)));
        // Even a routing built directly (not via from_json) computes in u64.
        let huge = linear(1, u32::MAX);
        assert_eq!(
            weights(huge).last(),
            Some(&(99 * u64::from(u32::MAX) * 60, 1.0))
        );
    }

    #[test]
    fn custom_config_validation() {
        let ok = TrafficRouting::from_json(Some(&json!({
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 3}
        })));
        assert_eq!(ok, Ok(canary(25, 3)));
        assert_eq!(
            TrafficRouting::from_json(None),
            Ok(TrafficRouting::AllAtOnce)
        );
        for bad in [
            json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 0, "linearInterval": 1}}),
            json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 100, "linearInterval": 1}}),
            json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 0}}),
            json!({"type": "TimeBasedCanary"}),
            json!({"type": "Sideways"}),
        ] {
            assert!(TrafficRouting::from_json(Some(&bad)).is_err(), "{bad}");
        }
        let round = linear(20, 4);
        assert_eq!(TrafficRouting::from_json(Some(&round.to_json())), Ok(round));
        assert!(validate_custom_name("CodeDeployDefault.Mine").is_err());
        assert!(validate_custom_name("").is_err());
        assert!(validate_custom_name("mine").is_ok());
    }
}
