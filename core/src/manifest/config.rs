//! CodeDeploy deployment configurations for Lambda as the manifest writes
//! them: predefined short names (`Linear10PercentEvery1Minute`), full names
//! (`CodeDeployDefault.LambdaLinear10PercentEvery1Minute`), and custom ones
//! (`Canary<P>Percent<M>Minutes`, `Linear<P>PercentEvery<M>Minutes`,
//! `AllAtOnce`), parsed into a typed value with its CodeDeploy name and its
//! traffic schedule; and the schedules CodeDeploy cannot run, which the
//! worker drives itself ([`StepSchedule`]: `Steps1-5-25-50Every2Minutes`,
//! optionally `…Bake5Minutes`, or the manifest's object form). Pure: no AWS
//! calls, no clock.

use std::fmt;
use std::time::Duration;

/// Prefix of the predefined Lambda configs (a reserved CodeDeploy namespace).
pub const PREDEFINED_PREFIX: &str = "CodeDeployDefault.Lambda";
/// Prefix of the custom configs pipeline-canary creates.
pub const CUSTOM_PREFIX: &str = "PipelineCanary.";
/// Longest interval and longest whole schedule accepted, in minutes (48 h).
pub const MAX_SCHEDULE_MINUTES: u32 = 2880;

/// Most steps (below 100 %) a worker-driven schedule may have.
pub const MAX_STEPS: usize = 10;

/// How an alias moves from the current to the new version: through
/// CodeDeploy (Canary, Linear, AllAtOnce), or in steps the worker drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentConfig {
    /// `percent` % at once, the rest `minutes` later.
    Canary { percent: u32, minutes: u32 },
    /// +`percent` % every `every_minutes` until 100 %.
    Linear { percent: u32, every_minutes: u32 },
    /// Straight to 100 %.
    AllAtOnce,
    /// Steps CodeDeploy has no config for; the worker moves the alias.
    Steps(StepSchedule),
}

/// A traffic schedule the worker drives itself: the new version's percent
/// at each step (ascending, each 1 … 99), `interval` apart, then 100 % one
/// interval after the last, then `bake` watching at 100 % before the
/// function counts as released (it can still roll back meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepSchedule {
    percents: [u8; MAX_STEPS],
    len: u8,
    interval_s: u32,
    bake_s: u32,
}

impl StepSchedule {
    /// A schedule, checked. Errors name the part (`steps`, `interval`,
    /// `bake`) and the fix.
    pub fn new(
        percents: &[u32],
        interval: Duration,
        bake: Duration,
    ) -> Result<StepSchedule, String> {
        if percents.is_empty() {
            return Err(
                "steps: empty; list at least one percentage below 100, e.g. [1, 5, 25, 50]".into(),
            );
        }
        if percents.len() > MAX_STEPS {
            return Err(format!(
                "steps: {} steps; at most {MAX_STEPS} are allowed (100 % follows the last by itself)",
                percents.len()
            ));
        }
        let mut out = [0u8; MAX_STEPS];
        for (i, p) in percents.iter().enumerate() {
            if *p == 0 || *p >= 100 {
                return Err(format!(
                    "steps[{i}]: {p} % is not a step; each step is 1 to 99 percent (100 % follows the last step by itself)"
                ));
            }
            if i > 0 && *p <= percents[i - 1] {
                return Err(format!(
                    "steps[{i}]: {p} % does not grow from {} %; list the steps in ascending order",
                    percents[i - 1]
                ));
            }
            out[i] = *p as u8;
        }
        let max = Duration::from_secs(u64::from(MAX_SCHEDULE_MINUTES) * 60);
        if interval < Duration::from_secs(1) || interval.subsec_nanos() != 0 {
            return Err(format!(
                "interval: {} is not a whole number of seconds of at least 1 s; write e.g. \"2m\" or \"30s\"",
                human_duration(interval)
            ));
        }
        if bake.subsec_nanos() != 0 {
            return Err("bake: use whole seconds, e.g. \"5m\"".into());
        }
        let total = interval * percents.len() as u32 + bake;
        if total > max {
            return Err(format!(
                "interval: {} steps of {} plus a bake of {} take {}; pipeline-canary allows schedules of at most {MAX_SCHEDULE_MINUTES} minutes (48 h): use fewer steps, a shorter interval or a shorter bake",
                percents.len(),
                human_duration(interval),
                human_duration(bake),
                human_duration(total)
            ));
        }
        Ok(StepSchedule {
            percents: out,
            len: percents.len() as u8,
            interval_s: interval.as_secs() as u32,
            bake_s: bake.as_secs() as u32,
        })
    }

    /// The steps below 100 %, in percent.
    pub fn percents(&self) -> &[u8] {
        &self.percents[..usize::from(self.len)]
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.interval_s))
    }

    pub fn bake(&self) -> Duration {
        Duration::from_secs(u64::from(self.bake_s))
    }

    /// `Steps1-5-25-50Every2Minutes`, `…Bake5Minutes` when it bakes.
    pub fn short_name(&self) -> String {
        let steps: Vec<String> = self.percents().iter().map(u8::to_string).collect();
        let mut s = format!(
            "Steps{}Every{}",
            steps.join("-"),
            unit_name(self.interval())
        );
        if self.bake_s > 0 {
            s.push_str("Bake");
            s.push_str(&unit_name(self.bake()));
        }
        s
    }
}

/// `2Minutes`, `1Minute`, `90Seconds`, `1Second` (the string form's units).
fn unit_name(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(60) {
        (s / 60, "Minute")
    } else {
        (s, "Second")
    };
    format!("{n}{unit}{}", if n == 1 { "" } else { "s" })
}

/// `2m`, `90s`, `1h`, `1h30m`: how messages show a duration.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return if d.is_zero() {
            "0s".into()
        } else {
            format!("{} ms", d.as_millis())
        };
    }
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// Parses `2m`, `90s`, `1h`, `1h30m`, `5m30s` (whole units, largest first).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let shown = format!("`{}`", text.escape_debug());
    let fix = "write whole hours, minutes or seconds, e.g. \"2m\", \"90s\", \"1h30m\"";
    if text.is_empty() {
        return Err(format!("an empty duration; {fix}"));
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_rank = 0;
    while !rest.is_empty() {
        let Some((digits, after)) = split_number(rest) else {
            return Err(format!("{shown} is not a duration; {fix}"));
        };
        let n = number(digits, "the duration")?;
        let (rank, secs, after) = match after.chars().next() {
            Some('h') => (3, 3600, &after[1..]),
            Some('m') => (2, 60, &after[1..]),
            Some('s') => (1, 1, &after[1..]),
            _ => return Err(format!("{shown} lacks a unit after {n}; {fix}")),
        };
        if last_rank != 0 && rank >= last_rank {
            return Err(format!("{shown} repeats or misorders its units; {fix}"));
        }
        last_rank = rank;
        total += u64::from(n) * secs;
        rest = after;
    }
    Ok(Duration::from_secs(total))
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

const FORMS: &str = "write a predefined name (e.g. `Linear10PercentEvery1Minute`, `Canary10Percent5Minutes`, `AllAtOnce`), its full name (`CodeDeployDefault.LambdaLinear10PercentEvery1Minute`), a custom `Canary<P>Percent<M>Minutes` / `Linear<P>PercentEvery<M>Minutes`, or steps the worker drives, `Steps1-5-25-50Every2Minutes` (optionally `…Bake5Minutes`)";

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

    /// True for a schedule the worker drives itself (no CodeDeploy
    /// deployment, no deployment config).
    pub fn is_worker_driven(&self) -> bool {
        matches!(self, DeploymentConfig::Steps(_))
    }

    /// Watch time at 100 % before the function counts as released (only a
    /// worker-driven schedule has one).
    pub fn bake(&self) -> Duration {
        match self {
            DeploymentConfig::Steps(s) => s.bake(),
            _ => Duration::ZERO,
        }
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
            DeploymentConfig::Steps(s) => s.short_name(),
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
            DeploymentConfig::Steps(s) => {
                let mut steps: Vec<(Duration, f64)> = s
                    .percents()
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (s.interval() * i as u32, f64::from(*p) / 100.0))
                    .collect();
                steps.push((s.interval() * s.percents().len() as u32, 1.0));
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
    if let Some(rest) = s.strip_prefix("Steps") {
        return parse_steps(rest);
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

/// `1-5-25-50Every2Minutes[Bake5Minutes]` (after `Steps`).
fn parse_steps(s: &str) -> Result<Option<DeploymentConfig>, String> {
    let mut percents = Vec::new();
    let mut rest = s;
    loop {
        let Some((p, after)) = split_number(rest) else {
            return Ok(None);
        };
        percents.push(number(p, "the step")?);
        match after.strip_prefix('-') {
            Some(more) => rest = more,
            None => {
                rest = after;
                break;
            }
        }
    }
    let Some(rest) = rest.strip_prefix("Every") else {
        return Ok(None);
    };
    let Some((interval, rest)) = unit_prefix(rest)? else {
        return Ok(None);
    };
    let (bake, rest) = match rest.strip_prefix("Bake") {
        Some(b) => match unit_prefix(b)? {
            Some((d, r)) => (d, r),
            None => return Ok(None),
        },
        None => (Duration::ZERO, rest),
    };
    if !rest.is_empty() {
        return Ok(None);
    }
    StepSchedule::new(&percents, interval, bake).map(|s| Some(DeploymentConfig::Steps(s)))
}

/// `<n>Minutes`, `<n>Minute`, `<n>Seconds`, `<n>Second` at the start of `s`.
fn unit_prefix(s: &str) -> Result<Option<(Duration, &str)>, String> {
    let Some((n, rest)) = split_number(s) else {
        return Ok(None);
    };
    let n = u64::from(number(n, "the duration")?);
    for (unit, secs) in [
        ("Minutes", 60),
        ("Minute", 60),
        ("Seconds", 1),
        ("Second", 1),
    ] {
        if let Some(r) = rest.strip_prefix(unit) {
            return Ok(Some((Duration::from_secs(n * secs), r)));
        }
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

    #[test]
    fn worker_driven_steps_parse_from_their_string_form() {
        let c = DeploymentConfig::parse("Steps1-5-25-50Every2Minutes").unwrap();
        let DeploymentConfig::Steps(s) = c else {
            panic!("{c:?}")
        };
        assert_eq!(s.percents(), [1, 5, 25, 50]);
        assert_eq!(s.interval(), Duration::from_secs(120));
        assert_eq!(s.bake(), Duration::ZERO);
        assert!(c.is_worker_driven() && !c.is_predefined());
        assert_eq!(c.short_name(), "Steps1-5-25-50Every2Minutes");
        let m = |n: u64| Duration::from_secs(n * 60);
        assert_eq!(
            c.steps(),
            [
                (m(0), 0.01),
                (m(2), 0.05),
                (m(4), 0.25),
                (m(6), 0.5),
                (m(8), 1.0)
            ]
        );
        assert_eq!(c.total_duration(), m(8));
        let baked = DeploymentConfig::parse("Steps10-50Every30SecondsBake5Minutes").unwrap();
        assert_eq!(baked.bake(), m(5));
        assert_eq!(baked.short_name(), "Steps10-50Every30SecondsBake5Minutes");
        assert_eq!(DeploymentConfig::parse(&baked.short_name()).unwrap(), baked);
        assert_eq!(
            DeploymentConfig::parse("Steps20Every1Minute")
                .unwrap()
                .short_name(),
            "Steps20Every1Minute"
        );
    }

    #[test]
    fn bad_steps_say_what_is_wrong_and_the_fix() {
        let e = |t: &str| DeploymentConfig::parse(t).unwrap_err();
        assert!(
            e("Steps5-1Every2Minutes").contains("steps[1]: 1 % does not grow from 5 %"),
            "{}",
            e("Steps5-1Every2Minutes")
        );
        assert!(e("Steps0-5Every2Minutes").contains("steps[0]: 0 % is not a step"));
        assert!(e("Steps5-100Every2Minutes").contains("100 % follows the last step by itself"));
        assert!(e("Steps1-2-3-4-5-6-7-8-9-10-11Every1Minute").contains("at most 10"));
        assert!(e("Steps1-5Every0Minutes").contains("interval: 0s"));
        assert!(e("Steps1-5Every1500Minutes").contains("48 h"));
        assert!(e("Steps1-5Every2Hours").contains("is not a known deployment config"));
        assert!(
            e("Steps1-5").contains("Steps1-5-25-50Every2Minutes"),
            "the forms list it"
        );
    }

    #[test]
    fn durations_parse_in_whole_units() {
        let d = |t: &str| parse_duration(t);
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(d("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(d("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("5m30s"), Ok(Duration::from_secs(330)));
        assert!(d("2").unwrap_err().contains("lacks a unit"));
        assert!(d("2 m").unwrap_err().contains("lacks a unit"));
        assert!(d("30s2m").unwrap_err().contains("misorders"));
        assert!(d("").unwrap_err().contains("empty"));
        assert!(d("two minutes").unwrap_err().contains("is not a duration"));
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_secs(90)), "1m30s");
    }
}
