//! Canary orchestration: every changed function of a release shifts its
//! alias with CodeDeploy together, is watched together (deployments *and*
//! the guarding CloudWatch alarms), and rolls back together. Two pure
//! sub-machines, shaped like the release engine's `decide` so they embed in
//! it, plus one thin adapter:
//!
//! - [`preflight::decide_preflight`] (run BEFORE publishing versions): ensures
//!   the CodeDeploy application, one deployment group per function (drift is
//!   updated), the custom deployment configs; checks aliases (leftover
//!   routing), active deployments in the groups (ours → attach later,
//!   foreign → bounded wait then fail), alarms (exist, not in ALARM) and hook
//!   functions. Every problem is reported at once as a ConfigurationError
//!   naming the fix.
//! - [`shift::decide_shift`] (after publishing): one deployment per changed
//!   function, started in plan order at the pace of [`pace`] (Lambda's
//!   request quota, which CodeDeploy's shifts spend) with at most
//!   `MaxParallel` (or the pace's cap) in flight (rolling waves), observed
//!   each tick with `BatchGetDeployments` (≤ 25
//!   ids a call) and one `DescribeAlarms` (≤ 100 names a call); the job is
//!   handed back with `Decision::Continue` in between. A failed or stopped
//!   deployment, or an alarm in ALARM, rolls the whole release back.
//! - the worker's `canary::adapters::CanaryAdapters` performs
//!   [`CanaryAction`]s with the official SDK clients (CodeDeploy,
//!   CloudWatch, Lambda) and reports [`CanaryObservation`]s.
//!
//! The pure parts know no SDK client, no tokio and no clock (`now` is
//! given); they know neither the job nor the artifact: the release engine
//! hands them a [`PreflightPlan`] / [`ShiftPlan`] built from the manifest and
//! the published versions.
//!
//! Embedding in the release engine (its `State` holds a [`PreflightState`]
//! and a [`ShiftState`]; its `Action`/`Observation` wrap [`CanaryAction`] /
//! [`CanaryObservation`]; its `perform` hands canary actions to
//! [`CanaryAdapters::perform`]):
//! 1. after validating and deciding which functions changed, before
//!    publishing: [`decide_preflight`] with a [`PreflightPlan`] until it
//!    returns [`Preflight::Ready`] (or a decision to pass through);
//! 2. publish the versions;
//! 3. [`decide_shift`] with a [`ShiftPlan`] (same functions, same order, on
//!    every job) until `Succeed` (merge its output variables) or `Fail`.
//!
//! Both call with no observations at the start of every job. A `Continue`
//! may be turned into a `Wait` by the engine (to watch more often than
//! CodePipeline requeues): the next call with no observations re-observes.
//!
//! Identity: a release is named by [`release_id`] (a hash of pipeline name,
//! stage, action and pipeline execution id). A console retry runs a NEW job
//! in the SAME pipeline execution, so it computes the same id and recognises
//! the deployments it started before by the marker
//! `pipeline-canary release <id>` in their description.
//!
//! First release of a function (its alias does not exist): no canary —
//! there is nothing to shift from. The alias is created on the new version
//! only after every deployment of the release succeeded, so a release that
//! rolls back never leaves a new alias behind; if the alias was already
//! created (only possible when the failure comes after that last step) it is
//! left on its only version and the failure message says so (deleting an
//! alias that callers may already use is not a rollback we dare).

pub mod analysis;
pub mod pace;
pub mod preflight;
pub mod shift;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub use crate::engine::Decision;
use crate::manifest::{DeploymentConfig, Hooks};

pub use preflight::{Preflight, PreflightReport, PreflightState, decide_preflight};
pub use shift::{ShiftState, decide_shift, progress_of};

/// Output variable naming the release (see [`ShiftPlan::output_variables`]).
pub const OUTPUT_RELEASE_ID: &str = "ReleaseId";
/// Output variable naming the commit released.
pub const OUTPUT_COMMIT: &str = "Commit";

/// Marker in every deployment description; followed by the release id.
pub const RELEASE_MARKER: &str = "pipeline-canary release ";
/// CodeDeploy: at most 25 ids per `BatchGetDeployments`.
pub const BATCH_GET_DEPLOYMENTS_MAX: usize = 25;
/// CloudWatch: at most 100 names per `DescribeAlarms`.
pub const DESCRIBE_ALARMS_MAX: usize = 100;
/// CodeDeploy: deployment group names are 1–100 characters.
pub const GROUP_NAME_MAX: usize = 100;
/// How long pre-flight waits by default for a foreign active deployment.
pub const DEFAULT_FOREIGN_WAIT: Duration = Duration::from_secs(10 * 60);
/// The config break-glass releases use.
pub const BREAK_GLASS_CONFIG: DeploymentConfig = DeploymentConfig::AllAtOnce;

/// Release-wide settings (from the action configuration and the job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSettings {
    /// [`release_id`] of this pipeline execution's action.
    pub release_id: String,
    /// The input artifact's revision (commit SHA), for descriptions/outputs.
    pub commit: Option<String>,
    /// `CodeDeployApplication`.
    pub application: String,
    /// `CodeDeployServiceRoleArn`.
    pub service_role_arn: String,
    /// `MaxParallel`: deployments in flight at once (≥ 1; `usize::MAX` = all).
    pub max_parallel: usize,
    /// `breakGlass.reason`: AllAtOnce, alarms overridden (not watched).
    pub break_glass: Option<String>,
    /// How long pre-flight waits for a foreign active deployment in a group.
    pub foreign_wait: Duration,
    /// How far apart deployments (and rollbacks) start, and how many may
    /// shift at once when `max_parallel` is unset, within Lambda's quota.
    pub pace: pace::Pace,
    /// How often (on the clock of `now`) the shift looks at its deployments
    /// and alarms; paced starts in between use the last look.
    pub observe_every: Duration,
}

/// What pre-flight needs of one changed function (no versions yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionTarget {
    pub function: String,
    pub alias: String,
    pub config: DeploymentConfig,
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    /// Canary-versus-baseline analysis (see [`analysis`]), if asked for.
    pub analysis: Option<analysis::AnalysisSettings>,
}

impl FunctionTarget {
    /// The deployment group of this function in the release's application.
    pub fn group(&self) -> String {
        deployment_group_name(&self.function)
    }
}

/// Pre-flight input: the changed functions (before publishing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightPlan {
    pub release: ReleaseSettings,
    pub functions: Vec<FunctionTarget>,
}

/// One changed function, once its new version is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionShift {
    pub target: FunctionTarget,
    /// The version the alias serves now; `None` = first release (no alias).
    /// Read only for functions whose deployment was not created yet: once it
    /// exists, its AppSpec is the record of the previous version.
    pub current_version: Option<String>,
    /// The published version to shift to.
    pub target_version: String,
    /// The alias already serves `target_version` although `current_version`
    /// differs: an earlier attempt of this release (before a stage retry)
    /// shifted it. Read once, when the shift starts: such a function gets
    /// no deployment but rolls back with the release.
    pub serving_target: bool,
    /// Code only: no alias, no deployment. Its code went live when it was
    /// published (before the shift); a rollback puts the code of
    /// `current_version` back (`RestoreCode`).
    pub code_only: bool,
}

/// Shift input. MUST list the same functions in the same order on every
/// call for one release (the state refers to them by position; a
/// fingerprint of the names guards this). The engine should record which
/// functions changed rather than re-derive it from aliases the shift moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftPlan {
    pub release: ReleaseSettings,
    pub functions: Vec<FunctionShift>,
}

impl ShiftPlan {
    /// Every distinct alarm name of the release, in plan order.
    pub fn alarm_names(&self) -> Vec<String> {
        distinct(self.functions.iter().flat_map(|f| f.target.alarms.iter()))
    }

    /// Output variables of a successful release: `ReleaseId`, `Commit` and
    /// one `<function>` = published version per function (the names the
    /// release engine's `release::plan::output_variables` uses too).
    pub fn output_variables(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert(
            OUTPUT_RELEASE_ID.to_string(),
            self.release.release_id.clone(),
        );
        if let Some(c) = &self.release.commit {
            out.insert(OUTPUT_COMMIT.to_string(), c.clone());
        }
        for f in &self.functions {
            let key: String = f
                .target
                .function
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "@-_".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            out.insert(key, f.target_version.clone());
        }
        out
    }
}

pub(crate) fn distinct<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// A release id: `r-` + 16 hex of SHA-256 over pipeline, stage, action and
/// pipeline execution id. Not the action execution id: a console retry gets
/// a new one, yet must recognise its deployments.
pub fn release_id(
    pipeline: &str,
    stage: &str,
    action: &str,
    pipeline_execution_id: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [pipeline, stage, action, pipeline_execution_id] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("r-{hex}")
}

/// The deployment group of a function: its name (an ARN's last segment);
/// a name over 100 characters is cut and suffixed with a hash.
pub fn deployment_group_name(function: &str) -> String {
    let name = if function.starts_with("arn:") {
        function
            .split(":function:")
            .nth(1)
            .and_then(|s| s.split(':').next())
            .unwrap_or(function)
    } else {
        function
    };
    if !name.is_empty() && name.len() <= GROUP_NAME_MAX {
        return name.to_string();
    }
    let d = Sha256::digest(name.as_bytes());
    let hex: String = d[..6].iter().map(|b| format!("{b:02x}")).collect();
    let mut cut: String = name.chars().take(GROUP_NAME_MAX - 13).collect();
    cut.push('-');
    cut.push_str(&hex);
    cut
}

/// The description of every deployment of the release.
pub fn deployment_description(release: &ReleaseSettings) -> String {
    let mut s = format!("{RELEASE_MARKER}{}", release.release_id);
    if let Some(c) = &release.commit {
        s.push_str(&format!(" commit {c}"));
    }
    if let Some(r) = &release.break_glass {
        s.push_str(&format!(" BREAK-GLASS: {r}"));
    }
    s
}

/// Whether a deployment description names `release_id`.
pub fn is_ours(description: &str, release_id: &str) -> bool {
    description
        .split(RELEASE_MARKER)
        .skip(1)
        .any(|rest| rest.split_whitespace().next() == Some(release_id))
}

/// The AppSpec (JSON) of one function's deployment.
pub fn appspec(f: &FunctionTarget, current: &str, target: &str) -> String {
    let mut hooks = Vec::new();
    if let Some(h) = &f.hooks.before_allow_traffic {
        hooks.push(serde_json::json!({ "BeforeAllowTraffic": h }));
    }
    if let Some(h) = &f.hooks.after_allow_traffic {
        hooks.push(serde_json::json!({ "AfterAllowTraffic": h }));
    }
    let mut doc = serde_json::json!({
        "version": 0.0,
        "Resources": [{ f.function.clone(): {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Name": f.function,
                "Alias": f.alias,
                "CurrentVersion": current,
                "TargetVersion": target,
            }
        }}],
    });
    if !hooks.is_empty() {
        doc["Hooks"] = serde_json::Value::Array(hooks);
    }
    doc.to_string()
}

/// `(CurrentVersion, TargetVersion)` of an AppSpec (JSON or the simple YAML
/// CodeDeploy and this module write).
pub fn appspec_versions(content: &str) -> Option<(String, String)> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(content) {
        let props = v
            .get("Resources")?
            .as_array()?
            .first()?
            .as_object()?
            .values()
            .next()?
            .get("Properties")?;
        let s = |k: &str| {
            props.get(k).and_then(|x| match x {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        return Some((s("CurrentVersion")?, s("TargetVersion")?));
    }
    let field = |k: &str| {
        content.lines().find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(k)?.trim_start().strip_prefix(':')?;
            Some(
                rest.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string(),
            )
        })
    };
    Some((field("CurrentVersion")?, field("TargetVersion")?))
}

/// `trafficRoutingConfig` of a deployment config, as compared in pre-flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficRouting {
    AllAtOnce,
    Canary { percent: i32, minutes: i32 },
    Linear { percent: i32, minutes: i32 },
}

impl TrafficRouting {
    /// CodeDeploy's routing for `c`; `None` for a schedule the worker
    /// drives itself (CodeDeploy has no config for it).
    pub fn of(c: &DeploymentConfig) -> Option<TrafficRouting> {
        Some(match *c {
            DeploymentConfig::AllAtOnce => TrafficRouting::AllAtOnce,
            DeploymentConfig::Canary { percent, minutes } => TrafficRouting::Canary {
                percent: percent as i32,
                minutes: minutes as i32,
            },
            DeploymentConfig::Linear {
                percent,
                every_minutes,
            } => TrafficRouting::Linear {
                percent: percent as i32,
                minutes: every_minutes as i32,
            },
            DeploymentConfig::Steps(_) => return None,
        })
    }
}

/// CodeDeploy deployment statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    Created,
    Queued,
    InProgress,
    Baking,
    Ready,
    Succeeded,
    Failed,
    Stopped,
}

impl DeploymentStatus {
    pub fn parse(s: &str) -> Option<DeploymentStatus> {
        Some(match s {
            "Created" => DeploymentStatus::Created,
            "Queued" => DeploymentStatus::Queued,
            "InProgress" => DeploymentStatus::InProgress,
            "Baking" => DeploymentStatus::Baking,
            "Ready" => DeploymentStatus::Ready,
            "Succeeded" => DeploymentStatus::Succeeded,
            "Failed" => DeploymentStatus::Failed,
            "Stopped" => DeploymentStatus::Stopped,
            _ => return None,
        })
    }

    pub fn is_active(self) -> bool {
        !matches!(
            self,
            DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
        )
    }

    /// The `includeOnlyStatuses` of "active" deployments.
    pub const ACTIVE: [&'static str; 5] = ["Created", "Queued", "InProgress", "Baking", "Ready"];
}

/// A deployment as the pure parts see it (from `BatchGetDeployments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentView {
    pub id: String,
    pub application: String,
    pub group: String,
    pub status: DeploymentStatus,
    /// `errorInformation` as `CODE: message`.
    pub error: Option<String>,
    pub description: String,
    /// Created by CodeDeploy as the rollback of another deployment.
    pub is_rollback: bool,
    pub create_time: Option<SystemTime>,
    pub start_time: Option<SystemTime>,
    /// From the AppSpec.
    pub current_version: Option<String>,
    pub target_version: Option<String>,
    /// `rollbackInfo.rollbackDeploymentId`.
    pub rollback_deployment_id: Option<String>,
}

/// CloudWatch alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// An alarm as observed by `DescribeAlarms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmView {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
}

/// An alias as observed by `GetAlias`.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasView {
    pub version: String,
    /// `routingConfig.additionalVersionWeights` (at most one entry).
    pub routing: Option<(String, f64)>,
    pub revision_id: Option<String>,
}

/// A deployment group's settings that pre-flight manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub application: String,
    pub name: String,
    pub service_role_arn: String,
    pub deployment_config_name: String,
    /// Alarm names (empty = alarm configuration disabled).
    pub alarms: Vec<String>,
    /// autoRollback on DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM and
    /// DEPLOYMENT_STOP_ON_REQUEST, and BLUE_GREEN with traffic control.
    pub managed_rollback_and_style: bool,
}

impl GroupSpec {
    /// Settings that differ from `want`, by name (empty = no drift).
    pub fn drift(&self, want: &GroupSpec) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.service_role_arn != want.service_role_arn {
            d.push("serviceRoleArn");
        }
        if self.deployment_config_name != want.deployment_config_name {
            d.push("deploymentConfigName");
        }
        let mut a = self.alarms.clone();
        let mut b = want.alarms.clone();
        a.sort();
        b.sort();
        if a != b {
            d.push("alarmConfiguration");
        }
        if self.managed_rollback_and_style != want.managed_rollback_and_style {
            d.push("autoRollbackConfiguration/deploymentStyle");
        }
        d
    }
}

/// What the pure parts ask the adapters to do.
#[derive(Debug, Clone, PartialEq)]
pub enum CanaryAction {
    /// Pre-flight reads: application, groups, aliases, custom configs,
    /// active deployments (one account-wide `ListDeployments`), alarms,
    /// hook functions.
    ObservePreflight {
        application: String,
        groups: Vec<String>,
        aliases: Vec<(String, String)>,
        configs: Vec<DeploymentConfig>,
        alarms: Vec<String>,
        hooks: Vec<String>,
    },
    CreateApplication {
        application: String,
    },
    CreateDeploymentConfig {
        config: DeploymentConfig,
    },
    /// CreateDeploymentGroup (`exists` false) or UpdateDeploymentGroup.
    PutDeploymentGroup {
        spec: GroupSpec,
        exists: bool,
    },
    /// One tick's reads: `BatchGetDeployments` over `deployments` (25 a
    /// call, plus the rollback deployments they name), `DescribeAlarms`
    /// over `alarms` (100 a call); with `discover`, first every active
    /// deployment of the account (`ListDeployments`), and for each
    /// `(function index, group)` of `find_in_groups` that group's newest
    /// deployments.
    /// With `read_aliases`, GetAlias of each `(function index, function,
    /// alias)` (the revisions a worker-driven step needs); with `metrics`,
    /// one GetMetricData per 125 windows (Errors and Invocations of both
    /// versions, Sum from `since` to `until`).
    Observe {
        application: String,
        deployments: Vec<String>,
        alarms: Vec<String>,
        discover: bool,
        find_in_groups: Vec<(usize, String)>,
        read_aliases: Vec<(usize, String, String)>,
        metrics: Vec<MetricWindow>,
        until: SystemTime,
    },
    CreateDeployment {
        index: usize,
        application: String,
        group: String,
        config_name: String,
        appspec: String,
        description: String,
        /// Break-glass: `overrideAlarmConfiguration{enabled:false}`.
        override_alarms: bool,
    },
    StopDeployment {
        deployment_id: String,
        rollback: bool,
    },
    ReadAliases {
        aliases: Vec<(usize, String, String)>,
    },
    /// A worker-driven step: UpdateAlias with the RevisionId precondition,
    /// `weight` of the traffic on `target` (AdditionalVersionWeights, the
    /// alias staying on `previous`), or, at 1.0, the alias moved to
    /// `target` with no routing.
    StepAlias {
        index: usize,
        function: String,
        alias: String,
        previous: String,
        target: String,
        weight: f64,
        revision_id: Option<String>,
    },
    /// Puts the alias back on `version` with no routing (RevisionId precondition).
    UpdateAlias {
        index: usize,
        function: String,
        alias: String,
        version: String,
        revision_id: Option<String>,
    },
    /// Creates a first release's alias on `version`.
    CreateAlias {
        index: usize,
        function: String,
        alias: String,
        version: String,
    },
    /// Puts the code of `version` back on a code-only function's `$LATEST`
    /// (nothing when `$LATEST` already has `version`'s code): its code from
    /// GetFunction's `Code.Location`, UpdateFunctionCode with `$LATEST`'s
    /// RevisionId, then PublishVersion with `description`
    /// ([`restore_description`]) so a version holds the restored code.
    RestoreCode {
        index: usize,
        function: String,
        version: String,
        description: String,
    },
}

/// The window of one function's canary analysis: CloudWatch's
/// `AWS/Lambda` `Errors` and `Invocations` by `ExecutedVersion` (with
/// `FunctionName` and `Resource` = `function:alias`) for the new and the
/// previous version, summed from `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricWindow {
    pub index: usize,
    pub function: String,
    pub alias: String,
    pub canary_version: String,
    pub baseline_version: String,
    pub since: SystemTime,
}

/// What a [`MetricWindow`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricCounts {
    pub index: usize,
    pub canary: analysis::Counts,
    pub baseline: analysis::Counts,
}

/// What the adapters report back.
#[derive(Debug, Clone, PartialEq)]
pub enum CanaryObservation {
    /// `Some(computePlatform)` or `None` when it does not exist.
    Application(Option<String>),
    Group {
        name: String,
        spec: Option<GroupSpec>,
    },
    Alias {
        index: Option<usize>,
        function: String,
        alias: Option<AliasView>,
    },
    DeploymentConfig {
        name: String,
        routing: Option<TrafficRouting>,
    },
    HookFunction {
        name: String,
        exists: bool,
    },
    /// Alarms asked for; a name absent from `found` does not exist.
    Alarms {
        asked: Vec<String>,
        found: Vec<AlarmView>,
    },
    /// Deployments read (tick reads, discovery, rollback deployments).
    Deployments(Vec<DeploymentView>),
    /// Discovery ran (the views came in `Deployments`).
    Discovered,
    /// A mutation (create/update of app, config, group) succeeded.
    Ensured {
        what: String,
    },
    /// A call failed with an AWS error code (or `Transient` after retries).
    CallFailed {
        what: String,
        index: Option<usize>,
        code: String,
        message: String,
    },
    DeploymentCreated {
        index: usize,
        deployment_id: String,
    },
    /// The metrics of each window asked for (a window with no data has
    /// zero counts).
    Metrics(Vec<MetricCounts>),
    DeploymentStopped {
        deployment_id: String,
        /// `Pending`/`Succeeded`, or `AlreadyCompleted`.
        status: String,
    },
    AliasUpdated {
        index: usize,
        alias: AliasView,
    },
    AliasCreated {
        index: usize,
        alias: AliasView,
    },
    /// A code-only function's `$LATEST` has its previous version's code
    /// again; `version` holds that code (the one published for the restore,
    /// or the previous version itself when nothing had to change).
    CodeRestored {
        index: usize,
        version: String,
    },
    /// A code-only function's previous version no longer exists: its code
    /// cannot be put back (`why`, for the operator). Nothing was changed;
    /// the rollback ends with this said, as for an alias that is gone.
    CodeNotRestorable {
        index: usize,
        why: String,
    },
}

/// The description of the version a rollback publishes when it puts a
/// code-only function's previous code back. It does not read as a version
/// the release published (`pipeline-canary release <id> …`), so a retry
/// never takes it for its own.
pub fn restore_description(release_id: &str, version: &str) -> String {
    format!("pipeline-canary rollback of release {release_id}: the code of version {version}")
}

/// Seconds since the epoch (0 before it).
pub(crate) fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `s` cut to at most `max` bytes on a char boundary, with `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `1 h 5 min`, `3 min`, `40 s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{s} s")
    }
}
