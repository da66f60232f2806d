//! Pure release planning: from the prepared artifact (every function's new
//! `CodeSha256`) and what Lambda said about each function and hook, decide
//! which functions are unchanged (the alias already serves this exact code:
//! not updated, not published, not deployed), which changed, and report
//! every validation problem together — before anything is mutated. Also the
//! texts a release produces: version descriptions, output variables, the
//! job summary, `release.json`, and the `plan` command's listing.
//!
//! No I/O, no clock, no SDK types: `lambda.rs` turns SDK answers into the
//! `Observed*` values here; `mod.rs` and `cli.rs` call these functions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::canary::pace::Pace;
use crate::engine::EngineError;
use crate::manifest::{BreakGlass, DeploymentConfig, Hooks, ManifestErrors, Problem, ProblemKind};
use crate::report::FailureKind;

/// Largest zip `UpdateFunctionCode` takes as a direct upload (`ZipFile`).
pub const DIRECT_UPLOAD_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// `Description` of a Lambda version.
pub const VERSION_DESCRIPTION_MAX: usize = 256;

/// One function of the release with its bundle ready to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedFunction {
    pub name: String,
    pub alias: String,
    pub deployment_config: DeploymentConfig,
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    /// The zip to upload (inside the job's workspace, or the artifact itself).
    pub bundle: PathBuf,
    /// Base64 SHA-256 of the zip, as Lambda's `CodeSha256`.
    pub code_sha256: String,
    pub zip_bytes: u64,
    /// See [`crate::manifest::FunctionRelease::code_only`].
    pub code_only: bool,
    /// See [`crate::manifest::FunctionRelease::analysis`].
    pub analysis: Option<crate::canary::analysis::AnalysisSettings>,
}

/// The release as read from the artifact, bundles packaged and hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRelease {
    /// The manifest file, relative to the artifact root (for messages).
    pub source: String,
    pub functions: Vec<PreparedFunction>,
    pub break_glass: Option<BreakGlass>,
}

/// Whether a Lambda resource could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    Exists,
    Missing,
    /// The worker may not read it: the AWS error code and message.
    Denied(String),
}

/// What Lambda says about one function of the release.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedFunction {
    pub name: String,
    pub exists: Existence,
    /// The alias, when it exists.
    pub alias: Option<ObservedAlias>,
}

/// The alias and the version it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAlias {
    /// `FunctionVersion` (a number, or `$LATEST`).
    pub version: String,
    /// `CodeSha256` of that version.
    pub code_sha256: String,
    /// Read only for changed functions (GetAlias): the orchestration needs them.
    pub revision_id: Option<String>,
    /// `RoutingConfig.AdditionalVersionWeights` (version, weight), if any.
    pub routing: Option<(String, f64)>,
    /// `Description` of the version served (names the release that
    /// published it, see [`version_description`]).
    pub description: String,
    /// `CodeSize` (zipped bytes) of the code served; 0 when not read.
    pub code_size: u64,
}

/// What Lambda says about one hook function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedHook {
    pub name: String,
    pub exists: Existence,
}

/// What happens to one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The alias already serves this code.
    Unchanged,
    /// New code for an existing alias.
    Changed,
    /// The function has no alias yet: publish; the orchestration creates it.
    NewAlias,
}

/// One function of a validated plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFunction {
    /// Position in the manifest.
    pub index: usize,
    pub function: PreparedFunction,
    /// What the alias serves now (`None`: no alias yet).
    pub current: Option<ObservedAlias>,
    pub change: Change,
}

impl PlannedFunction {
    pub fn is_changed(&self) -> bool {
        self.change != Change::Unchanged
    }
}

/// A validated release plan, in manifest order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub source: String,
    pub functions: Vec<PlannedFunction>,
    pub break_glass: Option<BreakGlass>,
}

impl Plan {
    pub fn changed(&self) -> impl Iterator<Item = &PlannedFunction> {
        self.functions.iter().filter(|f| f.is_changed())
    }

    pub fn unchanged_count(&self) -> usize {
        self.functions.iter().filter(|f| !f.is_changed()).count()
    }
}

/// The description of a version this release publishes: the release id
/// (how a retry recognises its own versions, the same marker the
/// orchestration puts in deployment descriptions), the version the alias
/// served before (`-`: none; how a stage retry rolls back a function an
/// earlier attempt shifted, see [`previous_of`]), the commit and the
/// pipeline execution.
pub fn version_description(
    release_id: &str,
    pipeline_execution_id: &str,
    commit: Option<&str>,
    previous: Option<&str>,
) -> String {
    let commit = commit.unwrap_or("unknown");
    let previous = previous.unwrap_or("-");
    let d = format!(
        "pipeline-canary release {release_id} previous {previous} commit {commit} execution {pipeline_execution_id}"
    );
    crate::report::truncate(&d, VERSION_DESCRIPTION_MAX)
}

/// The version the alias served before release `release_id` published the
/// version described by `description`: `None` when that version is not
/// this release's or does not say; `Some(None)` when there was no alias.
pub fn previous_of(description: &str, release_id: &str) -> Option<Option<u32>> {
    if !published_by(description, release_id) {
        return None;
    }
    let mut words = description.split_whitespace();
    words.find(|w| *w == "previous")?;
    match words.next()? {
        "-" => Some(None),
        v => v.parse().ok().map(Some),
    }
}

/// Whether `description` marks a version published by release `release_id`.
pub fn published_by(description: &str, release_id: &str) -> bool {
    !release_id.is_empty()
        && description.contains(&format!("pipeline-canary release {release_id} "))
}

/// What the version picker needs of one version of a function (or of
/// `$LATEST`): its number, code hash, description and a fingerprint of the
/// configuration a version snapshots (runtime, handler, memory,
/// environment, layers, …; the adapter builds it, equal strings mean equal
/// configurations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFacts {
    pub version: String,
    pub code_sha256: String,
    pub description: String,
    pub configuration: String,
}

/// The existing version a release can use for `code_sha256` instead of
/// publishing one: the version this release already published (a retry),
/// else the newest version with the same code **and** the configuration
/// `$LATEST` has now (a rollback or a revert to earlier code: publishing
/// would only duplicate it). A version with other settings is never
/// reused: the release would silently bring back old configuration.
pub fn reusable_version(
    latest: &VersionFacts,
    versions: &[VersionFacts],
    code_sha256: &str,
    release_id: &str,
) -> Option<String> {
    let number = |v: &VersionFacts| v.version.parse::<u64>().ok();
    let same_code = || {
        versions
            .iter()
            .filter(|v| number(v).is_some() && v.code_sha256 == code_sha256)
    };
    same_code()
        .filter(|v| published_by(&v.description, release_id))
        .max_by_key(|v| number(v))
        .or_else(|| {
            same_code()
                .filter(|v| v.configuration == latest.configuration)
                .max_by_key(|v| number(v))
        })
        .map(|v| v.version.clone())
}

/// Validates the release against Lambda and plans it. Every problem is
/// reported together (one message, ≤ 5000 characters, one line per
/// function): a missing function or hook is a ConfigurationError, an
/// unreadable one a PermissionError (which wins), an alias serving
/// `$LATEST` a ConfigurationError (updating the code would put it live at
/// once). Bundles over 50 MB need a staging bucket (`staging_bucket`).
pub fn validate(
    prepared: &PreparedRelease,
    functions: &[ObservedFunction],
    hooks: &[ObservedHook],
    staging_bucket: bool,
) -> Result<Plan, EngineError> {
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    let by_name: BTreeMap<&str, &ObservedFunction> =
        functions.iter().map(|f| (f.name.as_str(), f)).collect();
    for (index, f) in prepared.functions.iter().enumerate() {
        let Some(o) = by_name.get(f.name.as_str()) else {
            problems.push(problem(
                ProblemKind::Configuration,
                &f.name,
                "was not looked up in Lambda (internal error)".into(),
            ));
            continue;
        };
        match &o.exists {
            Existence::Missing => {
                problems.push(problem(
                    ProblemKind::Configuration,
                    &f.name,
                    format!(
                        "function `{}` does not exist in Lambda: create it with your infrastructure (CloudFormation, Terraform, Serverless) before releasing, or fix the name",
                        f.name
                    ),
                ));
                continue;
            }
            Existence::Denied(e) => {
                problems.push(problem(
                    ProblemKind::Permission,
                    &f.name,
                    format!(
                        "the worker may not read function `{}` ({e}): allow lambda:GetFunction and lambda:GetAlias on it",
                        f.name
                    ),
                ));
                continue;
            }
            Existence::Exists => {}
        }
        let change = match &o.alias {
            // Code only: `alias` is what `$LATEST` runs and the newest
            // version holding that code (empty: none does).
            Some(a) if f.code_only && a.code_sha256 == f.code_sha256 => Change::Unchanged,
            // A rollback uploads the code it runs now again: over 50 MB
            // only through the staging bucket, so refuse now rather than
            // leave a rollback that cannot finish.
            Some(a)
                if f.code_only
                    && !a.version.is_empty()
                    && a.code_size > DIRECT_UPLOAD_MAX_BYTES
                    && !staging_bucket =>
            {
                problems.push(problem(
                    ProblemKind::Configuration,
                    &f.name,
                    format!(
                        "`{}` is code only and the code it runs now is {} bytes zipped, more than the {DIRECT_UPLOAD_MAX_BYTES} bytes of a direct upload, so a rollback could put it back only through a staging bucket: configure the worker's staging bucket (--staging-bucket)",
                        f.name, a.code_size
                    ),
                ));
                continue;
            }
            Some(a) if f.code_only && !a.version.is_empty() => Change::Changed,
            _ if f.code_only => {
                problems.push(problem(
                    ProblemKind::Configuration,
                    &f.name,
                    format!(
                        "`{}` is code only (no `deploymentSettings`) and no published version holds the code it runs now, so a rollback could not put that code back: publish one (`aws lambda publish-version --function-name {}`), or deploy with `provider.versionFunctions` left on",
                        f.name, f.name
                    ),
                ));
                continue;
            }
            None => Change::NewAlias,
            Some(a) if a.version == "$LATEST" => {
                problems.push(problem(
                    ProblemKind::Configuration,
                    &f.name,
                    format!(
                        "alias `{}` of `{}` points to $LATEST, so updating the code would put it live at once: point the alias at a published version first",
                        f.alias, f.name
                    ),
                ));
                continue;
            }
            Some(a) if a.code_sha256 == f.code_sha256 => Change::Unchanged,
            Some(_) => Change::Changed,
        };
        if change != Change::Unchanged && f.zip_bytes > DIRECT_UPLOAD_MAX_BYTES && !staging_bucket {
            problems.push(problem(
                ProblemKind::Configuration,
                &f.name,
                format!(
                    "the bundle of `{}` is {} bytes zipped, more than the {DIRECT_UPLOAD_MAX_BYTES} bytes Lambda takes as a direct upload: configure the worker's staging bucket (--staging-bucket) or make the bundle smaller",
                    f.name, f.zip_bytes
                ),
            ));
            continue;
        }
        planned.push(PlannedFunction {
            index,
            function: f.clone(),
            current: o.alias.clone(),
            change,
        });
    }
    let hook_state: BTreeMap<&str, &Existence> =
        hooks.iter().map(|h| (h.name.as_str(), &h.exists)).collect();
    for f in &prepared.functions {
        for (point, hook) in [
            ("beforeAllowTraffic", &f.hooks.before_allow_traffic),
            ("afterAllowTraffic", &f.hooks.after_allow_traffic),
        ] {
            let Some(h) = hook else { continue };
            match hook_state.get(h.as_str()) {
                Some(Existence::Exists) => {}
                Some(Existence::Denied(e)) => problems.push(problem(
                    ProblemKind::Permission,
                    &f.name,
                    format!("the worker may not read {point} hook function `{h}` ({e})"),
                )),
                Some(Existence::Missing) | None => problems.push(problem(
                    ProblemKind::Configuration,
                    &f.name,
                    format!(
                        "{point} hook function `{h}` does not exist in Lambda: create it or fix the name"
                    ),
                )),
            }
        }
    }
    if !problems.is_empty() {
        let e = ManifestErrors {
            source: prepared.source.clone(),
            problems,
        };
        let kind = match e.kind() {
            ProblemKind::Permission => FailureKind::PermissionError,
            ProblemKind::Configuration => FailureKind::ConfigurationError,
        };
        return Err(EngineError::new(kind, e.message()));
    }
    Ok(Plan {
        source: prepared.source.clone(),
        functions: planned,
        break_glass: prepared.break_glass.clone(),
    })
}

fn problem(kind: ProblemKind, path: &str, message: String) -> Problem {
    Problem {
        kind,
        path: path.to_string(),
        message,
    }
}

/// The distinct hook functions of a release, sorted.
pub fn hook_names(prepared: &PreparedRelease) -> Vec<String> {
    let mut set = BTreeSet::new();
    for f in &prepared.functions {
        set.extend(f.hooks.before_allow_traffic.iter().cloned());
        set.extend(f.hooks.after_allow_traffic.iter().cloned());
    }
    set.into_iter().collect()
}

/// When each changed function of a release starts shifting and when the
/// shift ends, as the shift engine schedules it: in manifest order, each
/// start at least the pace's gap after the one before (CodeDeploy's calls
/// of a start fit Lambda's quota), at most `cap` shifting at once (a
/// function starts as soon as a slot frees). New aliases and break-glass
/// releases take no time.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// `(function, offset of its start from the first start)`, in order.
    pub starts: Vec<(String, Duration)>,
    /// Deployments in flight at most (`usize::MAX`: no cap).
    pub cap: usize,
    /// Groups of starts, each waiting for the previous one's slots.
    pub waves: usize,
    /// When the last shift ends, from the first start.
    pub end: Duration,
    /// CodeDeploy's peak demand on Lambda (requests per second;
    /// infinite: unpaced).
    pub peak_rate: f64,
    pub pace: Pace,
}

/// The pace of `plan`'s changed functions at `rate` requests per second
/// for CodeDeploy.
pub fn pace_of(plan: &Plan, rate: f64) -> Pace {
    match plan.break_glass {
        Some(_) => Pace::new([crate::canary::BREAK_GLASS_CONFIG], rate),
        None => Pace::new(
            plan.changed()
                .filter(|f| !f.function.code_only)
                .map(|f| f.function.deployment_config),
            rate,
        ),
    }
}

/// The schedule of `plan` (see [`Schedule`]).
pub fn schedule(plan: &Plan, max_parallel: Option<usize>, rate: f64) -> Schedule {
    let pace = pace_of(plan, rate);
    let shifting: Vec<(&str, Duration)> = plan
        .functions
        .iter()
        .filter(|f| f.change == Change::Changed && !f.function.code_only)
        .map(|f| {
            let c = f.function.deployment_config;
            let d = match plan.break_glass {
                Some(_) => Duration::ZERO,
                None => c.total_duration() + c.bake(),
            };
            (f.function.name.as_str(), d)
        })
        .collect();
    let peak_rate = pace_rate(plan, &pace);
    paced_schedule(shifting, pace, max_parallel, peak_rate)
}

/// The schedule of shifts of `configs` (name, config) at `rate` requests
/// per second for CodeDeploy: what [`schedule`] computes for a plan whose
/// changed functions these are.
pub fn schedule_of(
    configs: &[(String, DeploymentConfig)],
    max_parallel: Option<usize>,
    rate: f64,
) -> Schedule {
    let pace = Pace::new(configs.iter().map(|(_, c)| *c), rate);
    let peak_rate = pace.peak_rate(configs.iter().map(|(_, c)| *c));
    let shifting = configs
        .iter()
        .map(|(n, c)| (n.as_str(), c.total_duration() + c.bake()))
        .collect();
    paced_schedule(shifting, pace, max_parallel, peak_rate)
}

fn paced_schedule(
    shifting: Vec<(&str, Duration)>,
    pace: Pace,
    max_parallel: Option<usize>,
    peak_rate: f64,
) -> Schedule {
    let cap = pace.in_flight_cap(max_parallel.filter(|n| *n > 0).unwrap_or(usize::MAX));
    // When each slot frees; the next function takes the slot that frees first.
    let mut slots: Vec<Duration> = Vec::new();
    let mut starts = Vec::with_capacity(shifting.len());
    let mut waves = usize::from(!shifting.is_empty());
    let mut previous: Option<Duration> = None;
    let mut end = Duration::ZERO;
    for (i, (name, d)) in shifting.into_iter().enumerate() {
        let paced = previous.map_or(Duration::ZERO, |p| p + pace.start_gap);
        let at = if slots.len() < cap {
            slots.push(Duration::ZERO);
            paced
        } else {
            if i % cap == 0 {
                waves += 1;
            }
            let (k, free) = slots
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|(_, t)| *t)
                .unwrap_or((0, Duration::ZERO));
            slots.remove(k);
            slots.push(Duration::ZERO);
            free.max(paced)
        };
        // At the quota's cap every phase slot (see `Pace::phase_slot`) is
        // full: a slot's next deployment starts in the same phase, a whole
        // step interval after the last step of the one before. Under a
        // smaller MaxParallel, slots have room: it starts when one ends.
        let reusable = if pace.interval.is_zero() || cap < pace.cap {
            d
        } else {
            let whole = d.as_nanos() / pace.interval.as_nanos() + 1;
            pace.interval
                .saturating_mul(whole.min(u128::from(u32::MAX)) as u32)
        };
        let last = slots.len() - 1;
        slots[last] = at + reusable;
        end = end.max(at + d);
        previous = Some(at);
        starts.push((name.to_string(), at));
    }
    Schedule {
        starts,
        cap,
        waves,
        end,
        peak_rate,
        pace,
    }
}

fn pace_rate(plan: &Plan, pace: &Pace) -> f64 {
    match plan.break_glass {
        Some(_) => pace.peak_rate([crate::canary::BREAK_GLASS_CONFIG]),
        None => pace.peak_rate(
            plan.changed()
                .filter(|f| !f.function.code_only)
                .map(|f| f.function.deployment_config),
        ),
    }
}

/// Expected time to shift every changed function ([`Schedule::end`]).
pub fn expected_duration(plan: &Plan, max_parallel: Option<usize>, rate: f64) -> Duration {
    schedule(plan, max_parallel, rate).end
}

/// How long CodePipeline lets a custom action run, all its continuation
/// jobs together, unless the worker is told otherwise: 24 hours. BRIEF §3
/// ("custom-action jobs time out after 24 h"); the CodePipeline quotas page
/// gives the same 24 hours for an invoke action that keeps answering
/// "in progress" with continuation tokens
/// (https://docs.aws.amazon.com/codepipeline/latest/userguide/limits.html,
/// "Length of time before an action times out"), and
/// `ActionTypeExecutor.jobTimeout` caps a single job at 12 hours
/// (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ActionTypeExecutor.html).
pub const DEFAULT_MAX_RELEASE_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Refuses a release whose shift cannot end within `max` (the action's
/// time limit), before anything is published: a release CodePipeline times
/// out mid-shift would be left to CodeDeploy, unwatched and not all or
/// nothing. Headroom: a tenth of `max`, at most an hour, for publishing,
/// hand-backs and a rollback.
pub fn check_duration(
    plan: &Plan,
    max_parallel: Option<usize>,
    rate: f64,
    max: Duration,
) -> Result<(), EngineError> {
    let schedule = schedule(plan, max_parallel, rate);
    let expected = schedule.end;
    let headroom = (max / 10).min(Duration::from_secs(3600));
    let budget = max.saturating_sub(headroom);
    if expected <= budget {
        return Ok(());
    }
    let changed = plan.changed().count();
    let waves = if changed > schedule.cap {
        format!(
            " ({changed} changed functions, at most {} shifting at a time)",
            schedule.cap
        )
    } else {
        format!(" ({changed} changed functions shifting together)")
    };
    Err(EngineError::new(
        FailureKind::ConfigurationError,
        format!(
            "{}: the release would shift for {}{waves}, and CodePipeline ends a custom action after {} (the worker keeps {} of it for publishing, hand-backs and a rollback); nothing was published: raise MaxParallel, choose shorter deployment configs, or split the release",
            plan.source,
            minutes(expected),
            minutes(max),
            minutes(headroom)
        ),
    ))
}

/// Refuses a release CodeDeploy's quotas cannot hold, before anything is
/// published: more functions than deployment groups an application may
/// have (one group per function), or more custom deployment configs than
/// an account may have.
pub fn check_limits(plan: &Plan, application: &str) -> Result<(), EngineError> {
    use crate::canary::pace::{
        CUSTOM_DEPLOYMENT_CONFIGS_MAX, DEPLOYMENT_GROUPS_PER_APPLICATION_MAX,
    };
    let n = plan.functions.len();
    if n > DEPLOYMENT_GROUPS_PER_APPLICATION_MAX {
        return Err(EngineError::new(
            FailureKind::ConfigurationError,
            format!(
                "{}: the release has {n} functions, and CodeDeploy allows {DEPLOYMENT_GROUPS_PER_APPLICATION_MAX} deployment groups per application (one per function, in application {application}); nothing was published: split the functions over two pipeline actions with different CodeDeployApplication properties",
                plan.source
            ),
        ));
    }
    let custom: BTreeSet<String> = plan
        .changed()
        .map(|f| f.function.deployment_config)
        .filter(|c| !c.is_predefined())
        .map(|c| c.short_name())
        .collect();
    if custom.len() > CUSTOM_DEPLOYMENT_CONFIGS_MAX {
        return Err(EngineError::new(
            FailureKind::ConfigurationError,
            format!(
                "{}: the release uses {} custom deployment configs, and CodeDeploy allows {CUSTOM_DEPLOYMENT_CONFIGS_MAX} per account; nothing was published: use fewer distinct deploymentConfig values (the predefined ones cost none)",
                plan.source,
                custom.len()
            ),
        ));
    }
    Ok(())
}

/// `9 min`, `1 h 30 min`, `0 min`.
pub fn minutes(d: Duration) -> String {
    let m = d.as_secs().div_ceil(60);
    if m >= 60 {
        format!("{} h {} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// `0.5 s`, `1 min 14.5 s`.
fn offset(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {:.1} s", (s / 60.0).floor(), s % 60.0)
    }
}

/// The `plan` command's listing: every function, then the schedule
/// (`rate`: Lambda requests per second planned for CodeDeploy).
pub fn render(plan: &Plan, max_parallel: Option<usize>, rate: f64) -> String {
    let changed = plan.changed().count();
    let mut out = format!(
        "Release plan ({}): {} function{}, {} changed, {} unchanged\n",
        plan.source,
        plan.functions.len(),
        if plan.functions.len() == 1 { "" } else { "s" },
        changed,
        plan.unchanged_count()
    );
    for f in &plan.functions {
        let p = &f.function;
        let config = format!(
            "{} ({})",
            p.deployment_config.short_name(),
            minutes(p.deployment_config.total_duration())
        );
        match (f.change, &f.current) {
            (Change::Unchanged, _) if p.code_only => out.push_str(&format!(
                "  unchanged  {} code only (CodeSha256 {})\n",
                p.name, p.code_sha256
            )),
            (_, Some(c)) if p.code_only => out.push_str(&format!(
                "  code only  {} (no alias, no canary; its code goes live when the others have their versions, and goes back to version {}'s if the release rolls back): {} → {}\n",
                p.name, c.version, c.code_sha256, p.code_sha256
            )),
            (Change::Unchanged, Some(c)) => out.push_str(&format!(
                "  unchanged  {}:{} (version {}, CodeSha256 {})\n",
                p.name, p.alias, c.version, p.code_sha256
            )),
            (Change::Changed, Some(c)) => out.push_str(&format!(
                "  changed    {}:{} version {}: {} → {}, {config}\n",
                p.name, p.alias, c.version, c.code_sha256, p.code_sha256
            )),
            _ => out.push_str(&format!(
                "  new alias  {}:{} (no alias yet; created on the new version without a canary): → {}\n",
                p.name, p.alias, p.code_sha256
            )),
        }
    }
    if let Some(b) = &plan.break_glass {
        out.push_str(&format!(
            "Break-glass release (AllAtOnce, alarms overridden): {}\n",
            b.reason
        ));
    }
    let s = schedule(plan, max_parallel, rate);
    if s.starts.is_empty() {
        out.push_str("Expected total time: 0 min (nothing to shift)\n");
        return out;
    }
    let last_start = s.starts.last().map(|x| x.1).unwrap_or_default();
    let cap = if s.cap == usize::MAX || s.cap >= s.starts.len() {
        "all shifting together".to_string()
    } else if max_parallel.is_some() {
        format!("at most {} shifting at once (MaxParallel)", s.cap)
    } else {
        format!(
            "at most {} shifting at once (so their traffic steps never meet)",
            s.cap
        )
    };
    out.push_str(&format!(
        "Schedule: {} deployment{}, {cap}, {} wave{}; starts {} apart, the last at +{}\n",
        s.starts.len(),
        if s.starts.len() == 1 { "" } else { "s" },
        s.waves,
        if s.waves == 1 { "" } else { "s" },
        offset(s.pace.start_gap),
        offset(last_start)
    ));
    if s.peak_rate.is_finite() {
        out.push_str(&format!(
            "Lambda quota at peak: {:.1} requests/s by CodeDeploy's traffic shifts, of the account's {:.0}/s\n",
            s.peak_rate,
            crate::canary::pace::CONTROL_PLANE_RATE
        ));
    }
    out.push_str(&format!(
        "Expected total time: {} (the last shift ends at +{})\n",
        minutes(s.end),
        offset(s.end)
    ));
    out
}

/// Output variables of a finished release: `<function>` → version (the
/// published one, or what the alias serves for unchanged functions),
/// `ReleaseId`, `Commit`.
pub fn output_variables(
    plan: &Plan,
    published: &[(String, String)],
    release_id: &str,
    commit: Option<&str>,
) -> BTreeMap<String, String> {
    let published: BTreeMap<&str, &str> = published
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut vars = BTreeMap::new();
    for f in &plan.functions {
        let version = published
            .get(f.function.name.as_str())
            .map(|v| v.to_string())
            .or_else(|| f.current.as_ref().map(|c| c.version.clone()));
        if let Some(v) = version {
            vars.insert(f.function.name.clone(), v);
        }
    }
    vars.insert(
        crate::canary::OUTPUT_RELEASE_ID.into(),
        release_id.to_string(),
    );
    if let Some(c) = commit {
        vars.insert(crate::canary::OUTPUT_COMMIT.into(), c.to_string());
    }
    vars
}

/// The summary of a release that published its versions (and, until the
/// orchestration exists, moved no alias).
pub fn published_summary(plan: &Plan, published: &[(String, String)]) -> String {
    let changed = plan.changed().count();
    if changed == 0 {
        return format!(
            "Nothing to release: all {} functions unchanged (their aliases already serve this code).",
            plan.functions.len()
        );
    }
    let list: Vec<String> = published.iter().map(|(n, v)| format!("{n} v{v}")).collect();
    format!(
        "Published {changed} changed function{} ({} unchanged, skipped); no alias moved: {}",
        if changed == 1 { "" } else { "s" },
        plan.unchanged_count(),
        list.join(", ")
    )
}

/// `release.json`: what the release did, for the output artifact.
pub fn release_json(
    plan: &Plan,
    published: &[(String, String)],
    release_id: &str,
    commit: Option<&str>,
) -> String {
    let published: BTreeMap<&str, &str> = published
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let functions: Vec<serde_json::Value> = plan
        .functions
        .iter()
        .map(|f| {
            let p = &f.function;
            json!({
                "name": p.name,
                "alias": p.alias,
                "status": match f.change {
                    Change::Unchanged => "unchanged",
                    Change::Changed => "published",
                    Change::NewAlias => "published-new-alias",
                },
                "previousVersion": f.current.as_ref().map(|c| c.version.clone()),
                "version": published.get(p.name.as_str()).map(|v| v.to_string())
                    .or_else(|| f.current.as_ref().map(|c| c.version.clone())),
                "codeSha256": p.code_sha256,
                "deploymentConfig": p.deployment_config.codedeploy_name(),
            })
        })
        .collect();
    let doc = json!({
        "releaseId": release_id,
        "commit": commit,
        "aliasesMoved": false,
        "functions": functions,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(version: &str, sha: &str, description: &str, config: &str) -> VersionFacts {
        VersionFacts {
            version: version.into(),
            code_sha256: sha.into(),
            description: description.into(),
            configuration: config.into(),
        }
    }

    #[test]
    fn an_earlier_version_with_the_same_code_and_settings_is_reused_never_one_with_other_settings()
    {
        let latest = facts("$LATEST", "B", "", "mem=128");
        let versions = [
            facts("$LATEST", "B", "", "mem=128"),
            facts(
                "1",
                "A",
                "pipeline-canary release r-a previous 0 commit x",
                "mem=128",
            ),
            facts(
                "2",
                "B",
                "pipeline-canary release r-b previous 1 commit y",
                "mem=128",
            ),
            facts("3", "A", "by hand", "mem=256"),
        ];
        // A rollback to A's code: version 1 (3 has other settings).
        assert_eq!(
            reusable_version(&latest, &versions, "A", "r-c").as_deref(),
            Some("1")
        );
        // This release's own version wins, whatever its settings.
        let mut mine = versions.to_vec();
        mine.push(facts(
            "4",
            "A",
            "pipeline-canary release r-c previous 2 commit z",
            "mem=512",
        ));
        assert_eq!(
            reusable_version(&latest, &mine, "A", "r-c").as_deref(),
            Some("4")
        );
        // New code, or only versions with other settings: publish.
        assert_eq!(reusable_version(&latest, &versions, "C", "r-c"), None);
        let changed = facts("$LATEST", "B", "", "mem=1024");
        assert_eq!(reusable_version(&changed, &versions, "A", "r-c"), None);
        // Never $LATEST itself.
        assert_eq!(reusable_version(&latest, &versions[..1], "B", "r-c"), None);
    }

    fn func(name: &str, sha: &str) -> PreparedFunction {
        PreparedFunction {
            name: name.into(),
            alias: "live".into(),
            deployment_config: DeploymentConfig::Linear {
                percent: 10,
                every_minutes: 1,
            },
            alarms: vec![],
            hooks: Hooks::default(),
            bundle: PathBuf::from(format!("/w/{name}.zip")),
            code_sha256: sha.into(),
            zip_bytes: 1000,
            code_only: false,
            analysis: None,
        }
    }

    fn seen(name: &str, version: &str, sha: &str) -> ObservedFunction {
        ObservedFunction {
            name: name.into(),
            exists: Existence::Exists,
            alias: Some(ObservedAlias {
                version: version.into(),
                code_sha256: sha.into(),
                revision_id: None,
                routing: None,
                description: String::new(),
                code_size: 0,
            }),
        }
    }

    fn release(fs: Vec<PreparedFunction>) -> PreparedRelease {
        PreparedRelease {
            source: "pipeline-canary.json".into(),
            functions: fs,
            break_glass: None,
        }
    }

    /// A stage retry after an earlier attempt published a code-only
    /// function: `$LATEST` runs this release's version, which plans as
    /// unchanged, but its description names the version it replaced, so
    /// the new attempt keeps it in the release (and in its rollback).
    #[test]
    fn a_code_only_function_an_earlier_attempt_published_stays_in_the_release() {
        let mut f = func("c-m", "M2");
        f.code_only = true;
        f.alias = String::new();
        let mut o = seen("c-m", "8", "M2");
        o.alias.as_mut().unwrap().description =
            version_description("r-1", "exec", Some("abc"), Some("7"));
        let plan = validate(&release(vec![f]), &[o], &[], false).unwrap();
        assert_eq!(plan.functions[0].change, Change::Unchanged);
        assert_eq!(
            super::super::prepare::shifted_earlier(&plan, "r-1"),
            vec![("c-m".to_string(), "8".to_string(), Some(7))]
        );
        let (changed, unchanged) = super::super::record::entries(
            &plan,
            &super::super::prepare::shifted_earlier(&plan, "r-1"),
        );
        assert!(unchanged.is_empty());
        assert_eq!(changed[0].previous_version.as_deref(), Some("7"));
        assert!(changed[0].code_only);
        assert_eq!(changed[0].slot(), crate::canary::shift::Slot::CodeOnly);
        // Another release finds it simply unchanged.
        assert!(super::super::prepare::shifted_earlier(&plan, "r-2").is_empty());
    }

    #[test]
    fn a_code_only_function_running_code_over_50_mb_needs_a_staging_bucket() {
        let mut f = func("c-m", "M2");
        f.code_only = true;
        f.alias = String::new();
        let mut o = seen("c-m", "8", "M1");
        o.alias.as_mut().unwrap().code_size = DIRECT_UPLOAD_MAX_BYTES + 1;
        let e = validate(
            &release(vec![f.clone()]),
            std::slice::from_ref(&o),
            &[],
            false,
        )
        .unwrap_err();
        assert!(
            e.message.contains("configure the worker's staging bucket"),
            "{}",
            e.message
        );
        assert!(validate(&release(vec![f]), &[o], &[], true).is_ok());
    }

    #[test]
    fn a_large_release_is_paced_capped_and_bounded_by_codedeploy_quotas() {
        // 150 functions, Linear 10 %/1 min, no MaxParallel: 120 shift at
        // once (steps 60 s apart, starts 0.5 s apart), the rest follow as
        // slots free.
        let fs: Vec<_> = (0..150)
            .map(|i| func(&format!("c-{i:03}"), "new"))
            .collect();
        let obs: Vec<_> = fs.iter().map(|f| seen(&f.name, "1", "old")).collect();
        let plan = validate(&release(fs), &obs, &[], false).unwrap();
        let s = schedule(&plan, None, 10.0);
        assert_eq!(s.cap, 120);
        assert_eq!(s.waves, 2);
        assert_eq!(s.starts[1].1, Duration::from_millis(500));
        assert_eq!(s.starts[119].1, Duration::from_millis(59_500));
        // The 121st takes the first phase slot again a step interval after
        // the last step of the first shift (9 min + 1 min).
        assert_eq!(s.starts[120].1, Duration::from_secs(10 * 60));
        assert!((s.peak_rate - 10.0).abs() < 1e-9);
        assert!(check_limits(&plan, "collect").is_ok());
        let text = render(&plan, None, 10.0);
        assert!(
            text.contains("Schedule: 150 deployments, at most 120 shifting at once (so their traffic steps never meet), 2 waves; starts 0.5 s apart"),
            "{text}"
        );
        // More functions than deployment groups an application may hold.
        let fs: Vec<_> = (0..1001)
            .map(|i| func(&format!("c-{i:04}"), "new"))
            .collect();
        let obs: Vec<_> = fs.iter().map(|f| seen(&f.name, "1", "old")).collect();
        let plan = validate(&release(fs), &obs, &[], false).unwrap();
        let e = check_limits(&plan, "collect").unwrap_err();
        assert_eq!(e.kind, FailureKind::ConfigurationError);
        assert!(
            e.message.contains(
                "1001 functions, and CodeDeploy allows 1000 deployment groups per application"
            ),
            "{}",
            e.message
        );
        assert!(e.message.contains("nothing was published"), "{}", e.message);
    }

    #[test]
    fn unchanged_changed_and_new_alias() {
        let r = release(vec![
            func("c-a", "A2"),
            func("c-b", "B1"),
            func("c-n", "N1"),
        ]);
        let obs = vec![
            seen("c-a", "41", "A1"),
            seen("c-b", "7", "B1"),
            ObservedFunction {
                name: "c-n".into(),
                exists: Existence::Exists,
                alias: None,
            },
        ];
        let plan = validate(&r, &obs, &[], false).unwrap();
        let changes: Vec<Change> = plan.functions.iter().map(|f| f.change).collect();
        assert_eq!(
            changes,
            [Change::Changed, Change::Unchanged, Change::NewAlias]
        );
        assert_eq!(plan.changed().count(), 2);
        assert_eq!(plan.unchanged_count(), 1);
        let text = render(&plan, None, 10.0);
        assert!(
            text.contains(
                "changed    c-a:live version 41: A1 → A2, Linear10PercentEvery1Minute (9 min)"
            ),
            "{text}"
        );
        assert!(
            text.contains("unchanged  c-b:live (version 7, CodeSha256 B1)"),
            "{text}"
        );
        assert!(text.contains("new alias  c-n:live"), "{text}");
        assert!(text.contains("Expected total time: 9 min"), "{text}");
        // Versions are never assumed to increase: an older version is "changed" too.
        let vars = output_variables(
            &plan,
            &[("c-a".into(), "3".into()), ("c-n".into(), "1".into())],
            "exec-1",
            Some("abc"),
        );
        assert_eq!(vars["c-a"], "3");
        assert_eq!(vars["c-b"], "7");
        assert_eq!(vars["c-n"], "1");
        assert_eq!(vars["ReleaseId"], "exec-1");
        assert_eq!(vars["Commit"], "abc");
    }

    #[test]
    fn every_problem_is_reported_together_and_permission_wins() {
        let mut hooked = func("c-h", "H");
        hooked.hooks.before_allow_traffic = Some("CodeDeployHook_smoke".into());
        let r = release(vec![
            func("c-missing", "X"),
            func("c-denied", "Y"),
            hooked,
            func("c-latest", "L"),
        ]);
        let mut latest = seen("c-latest", "$LATEST", "L0");
        latest.alias.as_mut().unwrap().version = "$LATEST".into();
        let obs = vec![
            ObservedFunction {
                name: "c-missing".into(),
                exists: Existence::Missing,
                alias: None,
            },
            ObservedFunction {
                name: "c-denied".into(),
                exists: Existence::Denied("AccessDeniedException: no".into()),
                alias: None,
            },
            seen("c-h", "1", "H"),
            latest,
        ];
        let hooks = vec![ObservedHook {
            name: "CodeDeployHook_smoke".into(),
            exists: Existence::Missing,
        }];
        let e = validate(&r, &obs, &hooks, false).unwrap_err();
        assert_eq!(e.kind, FailureKind::PermissionError);
        assert!(
            e.message.starts_with("pipeline-canary.json: 4 problems"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("function `c-missing` does not exist in Lambda")
        );
        assert!(e.message.contains("may not read function `c-denied`"));
        assert!(
            e.message
                .contains("beforeAllowTraffic hook function `CodeDeployHook_smoke` does not exist")
        );
        assert!(
            e.message
                .contains("alias `live` of `c-latest` points to $LATEST")
        );
        // Without the permission problem it is a configuration error.
        let e = validate(
            &release(vec![func("c-missing", "X")]),
            &obs[..1],
            &[],
            false,
        )
        .unwrap_err();
        assert_eq!(e.kind, FailureKind::ConfigurationError);
    }

    #[test]
    fn bundles_over_50_mb_need_a_staging_bucket_when_changed() {
        let mut big = func("c-big", "new");
        big.zip_bytes = DIRECT_UPLOAD_MAX_BYTES + 1;
        let mut same = func("c-same", "S");
        same.zip_bytes = DIRECT_UPLOAD_MAX_BYTES + 1;
        let r = release(vec![big, same]);
        let obs = vec![seen("c-big", "1", "old"), seen("c-same", "1", "S")];
        let e = validate(&r, &obs, &[], false).unwrap_err();
        assert_eq!(e.kind, FailureKind::ConfigurationError);
        assert!(
            e.message
                .contains("the bundle of `c-big` is 52428801 bytes zipped"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("c-same"), "unchanged: never uploaded");
        assert!(validate(&r, &obs, &[], true).is_ok());
    }

    #[test]
    fn many_missing_functions_fit_in_one_message() {
        let fs: Vec<_> = (0..200)
            .map(|i| func(&format!("collect-fn-{i:03}"), "S"))
            .collect();
        let obs: Vec<_> = fs
            .iter()
            .map(|f| ObservedFunction {
                name: f.name.clone(),
                exists: Existence::Missing,
                alias: None,
            })
            .collect();
        let e = validate(&release(fs), &obs, &[], false).unwrap_err();
        assert!(e.message.chars().count() <= 5000);
        assert!(e.message.contains("collect-fn-000"));
        assert!(e.message.contains("more"), "{}", e.message);
    }

    #[test]
    fn durations_waves_and_descriptions() {
        let mut fs: Vec<_> = (0..5).map(|i| func(&format!("c-{i}"), "new")).collect();
        fs[0].deployment_config = DeploymentConfig::Canary {
            percent: 10,
            minutes: 30,
        };
        let obs: Vec<_> = fs.iter().map(|f| seen(&f.name, "1", "old")).collect();
        let plan = validate(&release(fs), &obs, &[], false).unwrap();
        let unpaced = f64::INFINITY;
        assert_eq!(
            expected_duration(&plan, None, unpaced),
            Duration::from_secs(30 * 60)
        );
        // Rolling waves of 2: the 30-minute canary holds one slot while the
        // other runs the four 9-minute shifts one after another (36 min).
        assert_eq!(
            expected_duration(&plan, Some(2), unpaced),
            Duration::from_secs(36 * 60)
        );
        // At the pace, the second start comes half a second after the first.
        assert_eq!(
            expected_duration(&plan, Some(2), 10.0),
            Duration::from_secs(36 * 60) + Duration::from_millis(500)
        );
        let text = render(&plan, Some(2), 10.0);
        assert!(
            text.contains(
                "Schedule: 5 deployments, at most 2 shifting at once (MaxParallel), 3 waves; starts 0.5 s apart"
            ),
            "{text}"
        );
        assert!(
            text.contains("Lambda quota at peak: 10.0 requests/s by CodeDeploy's traffic shifts, of the account's 15/s"),
            "{text}"
        );
        assert!(
            text.contains("Expected total time: 36 min (the last shift ends at +36 min 0.5 s)"),
            "{text}"
        );
        // Within CodePipeline's limit, or refused naming the fix.
        assert!(check_duration(&plan, Some(2), unpaced, DEFAULT_MAX_RELEASE_DURATION).is_ok());
        let e = check_duration(&plan, Some(1), unpaced, Duration::from_secs(3600)).unwrap_err();
        assert_eq!(e.kind, FailureKind::ConfigurationError);
        assert!(
            e.message.contains(
                "shift for 1 h 6 min (5 changed functions, at most 1 shifting at a time)"
            ),
            "{}",
            e.message
        );
        assert!(e.message.contains("raise MaxParallel"), "{}", e.message);
        assert_eq!(minutes(Duration::from_secs(5400)), "1 h 30 min");
        let d = version_description("r-1", "e-1", Some("abc123"), Some("41"));
        assert_eq!(
            d,
            "pipeline-canary release r-1 previous 41 commit abc123 execution e-1"
        );
        assert!(published_by(&d, "r-1"));
        assert_eq!(previous_of(&d, "r-1"), Some(Some(41)));
        assert_eq!(previous_of(&d, "r-2"), None);
        let first = version_description("r-1", "e-1", None, None);
        assert_eq!(previous_of(&first, "r-1"), Some(None));
        // Versions of releases before the marker carried it: no record.
        assert_eq!(
            previous_of("pipeline-canary release r-1 commit c execution e", "r-1"),
            None
        );
        assert_eq!(
            previous_of("pipeline-canary release r-1 previous x commit c", "r-1"),
            None
        );
        assert!(!published_by(&d, "r-"));
        assert!(!published_by(&d, ""));
        assert!(
            version_description("r", "e", Some(&"x".repeat(400)), Some("1"))
                .chars()
                .count()
                <= 256
        );
        let json: serde_json::Value = serde_json::from_str(&release_json(
            &plan,
            &[("c-0".into(), "2".into())],
            "e-1",
            Some("abc"),
        ))
        .unwrap();
        assert_eq!(json["functions"][0]["version"], "2");
        assert_eq!(json["functions"][0]["previousVersion"], "1");
        assert_eq!(json["functions"][0]["status"], "published");
    }
}
