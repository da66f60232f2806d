//! CodeDeploy deployment configurations for Lambda as the manifest writes
//! them: predefined short names (`Linear10PercentEvery1Minute`), full names
//! (`CodeDeployDefault.LambdaLinear10PercentEvery1Minute`), and custom ones
//! (`Canary<P>Percent<M>Minutes`, `Linear<P>PercentEvery<M>Minutes`,
//! `AllAtOnce`), parsed into a typed value with its CodeDeploy name and its
//! traffic schedule. Pure: no AWS calls, no clock.

use std::fmt;
use std::time::Duration;

/// Prefix of the predefined Lambda configs (a reserved CodeDeploy namespace).
pub const PREDEFINED_PREFIX: &str = "CodeDeployDefault.Lambda";
/// Prefix of the custom configs pipeline-canary creates.
pub const CUSTOM_PREFIX: &str = "PipelineCanary.";
/// Longest interval and longest whole schedule accepted, in minutes (48 h).
pub const MAX_SCHEDULE_MINUTES: u32 = 2880;

/// How CodeDeploy shifts an alias from the current to the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentConfig {
    /// `percent` % at once, the rest `minutes` later.
    Canary { percent: u32, minutes: u32 },
    /// +`percent` % every `every_minutes` until 100 %.
    Linear { percent: u32, every_minutes: u32 },
    /// Straight to 100 %.
    AllAtOnce,
}

/// The nine predefined Lambda configs.
const PREDEFINED: [DeploymentConfig; 9] = [
    DeploymentConfig::Canary {
        percent: 10,
        minutes: 5,
    },
    DeploymentConfig::Canary {
        percent: 10,
        minutes: 10,
    },
    DeploymentConfig::Canary {
        percent: 10,
        minutes: 15,
    },
    DeploymentConfig::Canary {
        percent: 10,
        minutes: 30,
    },
    DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 1,
    },
    DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 2,
    },
    DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 3,
    },
    DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 10,
    },
    DeploymentConfig::AllAtOnce,
];

const FORMS: &str = "write a predefined name (e.g. `Linear10PercentEvery1Minute`, `Canary10Percent5Minutes`, `AllAtOnce`), its full name (`CodeDeployDefault.LambdaLinear10PercentEvery1Minute`), or a custom `Canary<P>Percent<M>Minutes` / `Linear<P>PercentEvery<M>Minutes`";

impl DeploymentConfig {
    /// Parses any accepted spelling. Errors say what is wrong and the fix.
    pub fn parse(text: &str) -> Result<DeploymentConfig, String> {
        let shown = format!("`{}`", text.escape_debug());
        if let Some(short) = text.strip_prefix(PREDEFINED_PREFIX) {
            return match parse_short(short) {
                Ok(Some(c)) if c.is_predefined() => Ok(c),
                Ok(Some(c)) => Err(format!(
                    "{shown} is not a predefined CodeDeploy config (the `CodeDeployDefault.` names are reserved); for a custom config write `{}`",
                    c.short_name()
                )),
                Ok(None) => Err(format!("{shown} is not a known deployment config; {FORMS}")),
                Err(e) => Err(format!("{shown}: {e}")),
            };
        }
        let short = text.strip_prefix(CUSTOM_PREFIX).unwrap_or(text);
        match parse_short(short) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => {
                // A spelling that only differs in case gets a precise hint.
                let lowered = short.to_ascii_lowercase();
                let hint = PREDEFINED
                    .iter()
                    .map(|c| c.short_name())
                    .find(|n| n.to_ascii_lowercase() == lowered)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("; {FORMS}"));
                Err(format!("{shown} is not a known deployment config{hint}"))
            }
            Err(e) => Err(format!("{shown}: {e}")),
        }
    }

    /// True for the nine `CodeDeployDefault.Lambda…` configs.
    pub fn is_predefined(&self) -> bool {
        PREDEFINED.contains(self)
    }

    /// `Canary10Percent5Minutes`, `Linear10PercentEvery1Minute`, `AllAtOnce`
    /// (singular `Minute` for 1, as CodeDeploy spells it).
    pub fn short_name(&self) -> String {
        let unit = |m: u32| if m == 1 { "Minute" } else { "Minutes" };
        match *self {
            DeploymentConfig::Canary { percent, minutes } => {
                format!("Canary{percent}Percent{minutes}{}", unit(minutes))
            }
            DeploymentConfig::Linear {
                percent,
                every_minutes,
            } => format!(
                "Linear{percent}PercentEvery{every_minutes}{}",
                unit(every_minutes)
            ),
            DeploymentConfig::AllAtOnce => "AllAtOnce".to_string(),
        }
    }

    /// The name to pass to CodeDeploy: `CodeDeployDefault.Lambda<short>` for a
    /// predefined config, `PipelineCanary.<short>` for a custom one (which
    /// the orchestration creates with `CreateDeploymentConfig`).
    pub fn codedeploy_name(&self) -> String {
        if self.is_predefined() {
            format!("{PREDEFINED_PREFIX}{}", self.short_name())
        } else {
            format!("{CUSTOM_PREFIX}{}", self.short_name())
        }
    }

    /// The traffic shifts: `(offset after shifting began, weight of the new
    /// version)`, in order; the last weight is always 1.0. Same schedule as
    /// CodeDeploy: Linear 10 %/1 min is 0.1 at 0, 0.2 at 1 min, … 1.0 at 9 min.
    pub fn steps(&self) -> Vec<(Duration, f64)> {
        let at = |m: u32| Duration::from_secs(u64::from(m) * 60);
        match *self {
            DeploymentConfig::AllAtOnce => vec![(Duration::ZERO, 1.0)],
            DeploymentConfig::Canary { percent, minutes } => vec![
                (Duration::ZERO, f64::from(percent) / 100.0),
                (at(minutes), 1.0),
            ],
            DeploymentConfig::Linear {
                percent,
                every_minutes,
            } => {
                let p = percent.max(1);
                let mut steps = Vec::new();
                let mut k: u32 = 1;
                while k * p < 100 {
                    steps.push((at((k - 1) * every_minutes), f64::from(k * p) / 100.0));
                    k += 1;
                }
                steps.push((at((k - 1) * every_minutes), 1.0));
                steps
            }
        }
    }

    /// Time from the first shift to 100 %.
    pub fn total_duration(&self) -> Duration {
        self.steps().last().map(|s| s.0).unwrap_or(Duration::ZERO)
    }
}

impl fmt::Display for DeploymentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short_name())
    }
}

/// `Ok(None)` when the text has none of the shapes; `Err` when it has one
/// but the numbers are wrong.
fn parse_short(s: &str) -> Result<Option<DeploymentConfig>, String> {
    if s == "AllAtOnce" {
        return Ok(Some(DeploymentConfig::AllAtOnce));
    }
    if let Some(rest) = s.strip_prefix("Canary") {
        let Some((p, rest)) = split_number(rest) else {
            return Ok(None);
        };
        let Some(rest) = rest.strip_prefix("Percent") else {
            return Ok(None);
        };
        let Some((m, rest)) = split_number(rest) else {
            return Ok(None);
        };
        if rest != "Minutes" && rest != "Minute" {
            return Ok(None);
        }
        let percent = check_percent(p)?;
        let minutes = check_minutes(m)?;
        return Ok(Some(DeploymentConfig::Canary { percent, minutes }));
    }
    if let Some(rest) = s.strip_prefix("Linear") {
        let Some((p, rest)) = split_number(rest) else {
            return Ok(None);
        };
        let Some(rest) = rest.strip_prefix("PercentEvery") else {
            return Ok(None);
        };
        let Some((m, rest)) = split_number(rest) else {
            return Ok(None);
        };
        if rest != "Minutes" && rest != "Minute" {
            return Ok(None);
        }
        let percent = check_percent(p)?;
        let every_minutes = check_minutes(m)?;
        let increments = 100u32.div_ceil(percent);
        let total = u64::from(increments - 1) * u64::from(every_minutes);
        if total > u64::from(MAX_SCHEDULE_MINUTES) {
            return Err(format!(
                "shifting {percent} % every {every_minutes} minutes takes {total} minutes; pipeline-canary allows schedules of at most {MAX_SCHEDULE_MINUTES} minutes (48 h): use a larger percentage or a shorter interval"
            ));
        }
        return Ok(Some(DeploymentConfig::Linear {
            percent,
            every_minutes,
        }));
    }
    Ok(None)
}

/// Leading ASCII digits and the rest.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    (end > 0).then(|| s.split_at(end))
}

fn number(digits: &str, what: &str) -> Result<u32, String> {
    if digits.len() > 1 && digits.starts_with('0') {
        let trimmed = digits.trim_start_matches('0');
        let fixed = if trimmed.is_empty() { "0" } else { trimmed };
        return Err(format!(
            "{what} `{digits}` has a leading zero: write `{fixed}`"
        ));
    }
    if digits.len() > 6 {
        return Err(format!("{what} `{digits}` is absurdly large"));
    }
    digits
        .parse::<u32>()
        .map_err(|_| format!("{what} `{digits}` is not a number"))
}

fn check_percent(digits: &str) -> Result<u32, String> {
    let p = number(digits, "the percentage")?;
    if p == 0 {
        return Err("0 % would never shift traffic: use 1 to 99 percent".to_string());
    }
    if p >= 100 {
        return Err(format!(
            "{p} % is not a gradual shift: use 1 to 99 percent, or `AllAtOnce`"
        ));
    }
    Ok(p)
}

fn check_minutes(digits: &str) -> Result<u32, String> {
    let m = number(digits, "the interval")?;
    if m == 0 {
        return Err(
            "an interval of 0 minutes is not a canary: use at least 1 minute, or `AllAtOnce`"
                .to_string(),
        );
    }
    if m > MAX_SCHEDULE_MINUTES {
        return Err(format!(
            "an interval of {m} minutes is too long: pipeline-canary allows at most {MAX_SCHEDULE_MINUTES} minutes (48 h)"
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_short_and_full_names_parse_to_the_same_config() {
        for (short, config) in [
            (
                "Linear10PercentEvery1Minute",
                DeploymentConfig::Linear {
                    percent: 10,
                    every_minutes: 1,
                },
            ),
            (
                "Canary10Percent5Minutes",
                DeploymentConfig::Canary {
                    percent: 10,
                    minutes: 5,
                },
            ),
            ("AllAtOnce", DeploymentConfig::AllAtOnce),
        ] {
            assert_eq!(DeploymentConfig::parse(short).unwrap(), config);
            let full = format!("CodeDeployDefault.Lambda{short}");
            assert_eq!(DeploymentConfig::parse(&full).unwrap(), config);
            assert_eq!(config.codedeploy_name(), full);
            assert_eq!(config.short_name(), short);
            assert!(config.is_predefined());
        }
        // All nine round-trip through their full names.
        for c in PREDEFINED {
            assert_eq!(DeploymentConfig::parse(&c.codedeploy_name()).unwrap(), c);
        }
    }

    #[test]
    fn custom_configs_get_a_deterministic_name() {
        let c = DeploymentConfig::parse("Linear20PercentEvery2Minutes").unwrap();
        assert_eq!(
            c,
            DeploymentConfig::Linear {
                percent: 20,
                every_minutes: 2
            }
        );
        assert!(!c.is_predefined());
        assert_eq!(
            c.codedeploy_name(),
            "PipelineCanary.Linear20PercentEvery2Minutes"
        );
        assert_eq!(
            DeploymentConfig::parse("PipelineCanary.Linear20PercentEvery2Minutes").unwrap(),
            c
        );
        let c = DeploymentConfig::parse("Canary25Percent1Minutes").unwrap();
        assert_eq!(c.codedeploy_name(), "PipelineCanary.Canary25Percent1Minute");
        // A custom spelling of a predefined config is the predefined one.
        assert_eq!(
            DeploymentConfig::parse("Linear10PercentEvery1Minutes")
                .unwrap()
                .codedeploy_name(),
            "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
        );
    }

    #[test]
    fn schedules() {
        let lin = DeploymentConfig::parse("Linear10PercentEvery1Minute").unwrap();
        let steps = lin.steps();
        assert_eq!(steps.len(), 10);
        assert_eq!(steps[0], (Duration::ZERO, 0.1));
        assert_eq!(steps[1], (Duration::from_secs(60), 0.2));
        assert_eq!(steps[9], (Duration::from_secs(540), 1.0));
        assert_eq!(lin.total_duration(), Duration::from_secs(540));
        let lin = DeploymentConfig::parse("Linear30PercentEvery2Minutes").unwrap();
        let weights: Vec<f64> = lin.steps().iter().map(|s| s.1).collect();
        assert_eq!(weights, vec![0.3, 0.6, 0.9, 1.0]);
        assert_eq!(lin.total_duration(), Duration::from_secs(6 * 60));
        let can = DeploymentConfig::parse("Canary10Percent5Minutes").unwrap();
        assert_eq!(
            can.steps(),
            vec![(Duration::ZERO, 0.1), (Duration::from_secs(300), 1.0)]
        );
        assert_eq!(
            DeploymentConfig::AllAtOnce.steps(),
            vec![(Duration::ZERO, 1.0)]
        );
        assert_eq!(DeploymentConfig::AllAtOnce.total_duration(), Duration::ZERO);
    }

    #[test]
    fn malformed_configs_are_rejected_with_the_fix() {
        let cases = [
            ("Canary0Percent5Minutes", "0 % would never shift traffic"),
            ("Canary101Percent5Minutes", "101 % is not a gradual shift"),
            ("Linear100PercentEvery1Minute", "`AllAtOnce`"),
            ("Canary10Percent0Minutes", "0 minutes is not a canary"),
            ("Linear10PercentEvery0Minutes", "at least 1 minute"),
            ("Canary10Percent99999Minutes", "at most 2880 minutes"),
            ("Canary10Percent99999999999Minutes", "absurdly large"),
            ("Linear1PercentEvery60Minutes", "takes 5940 minutes"),
            ("Canary010Percent5Minutes", "leading zero: write `10`"),
            (
                "linear10percentevery1minute",
                "did you mean `Linear10PercentEvery1Minute`?",
            ),
            ("Blue", "is not a known deployment config"),
            ("Canary10Percent", "Canary<P>Percent<M>Minutes"),
            (
                "CodeDeployDefault.LambdaCanary20Percent5Minutes",
                "for a custom config write `Canary20Percent5Minutes`",
            ),
            (
                "CodeDeployDefault.AllAtOnce",
                "is not a known deployment config",
            ),
        ];
        for (text, needle) in cases {
            let err = DeploymentConfig::parse(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.contains(&format!("`{text}`")), "names the value: {err}");
        }
    }
}
