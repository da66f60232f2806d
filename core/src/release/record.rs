//! The release record: one JSON document per release in the release
//! ledger, the spine of the release engine. It holds what a release is
//! (pipeline, stage, action, execution, commit, input artifact), what it
//! changed (per changed function: alias, previous and new version,
//! CodeSha256, deployment config, alarms, hooks, deployment ids, state) and
//! where it stands (phase, shift flags, outcome and reason, times, which
//! job holds it). Every job of a release reads it first and writes it
//! before each mutation it remembers (write-ahead), with S3 conditional
//! writes, so a continuation job resumes from it without the artifact and
//! a stale job finds out it was superseded.
//!
//! Pure: parsing (a newer schema is refused, never guessed), building a
//! record from a validated plan, and the mapping between a function's
//! recorded state and the shift's slots. No I/O, no clock (times are
//! given), no SDK.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::plan::{Plan, PlannedFunction};
use crate::canary::shift::Slot;
use crate::engine::EngineError;
use crate::manifest::{DeploymentConfig, Hooks};
use crate::report::FailureKind;

/// The schema this worker writes and the newest it reads.
pub const SCHEMA: u32 = 1;

/// How a release ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    InProgress,
    Succeeded,
    Failed,
    /// Put back as a whole after it succeeded (`pipeline-canary rollback`).
    RolledBack,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InProgress => "InProgress",
            Outcome::Succeeded => "Succeeded",
            Outcome::Failed => "Failed",
            Outcome::RolledBack => "RolledBack",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != Outcome::InProgress
    }
}

/// Where an in-progress release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Validated and recorded; pre-flight next. Nothing published yet.
    Planned,
    /// Versions are being published (a later attempt reuses them).
    Publishing,
    /// Every changed function has its new version; aliases shift.
    Shifting,
    /// The outcome is final.
    Done,
}

/// Where one changed function stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FunctionState {
    /// Not published yet.
    Planned,
    /// Its new version is published; its shift has not started.
    Published,
    /// CreateDeployment was sent; the deployment's id is not known yet
    /// (found again by listing the function's deployment group).
    Creating,
    /// Its deployment (the last of `deploymentIds`) shifts the alias.
    Deployed,
    /// First release: the alias was created on the new version.
    AliasCreated,
    /// The alias already served the new version when the shift began.
    Unchanged,
    /// An earlier attempt of this release shifted it (no deployment of
    /// this attempt; rolls back with the release).
    Shifted,
    /// The release succeeded: the alias serves the new version.
    Released,
    /// The alias is back on the previous version.
    RolledBack,
    /// The release ended before this function's shift began.
    NotStarted,
    /// A schedule the worker drives: at step `step` since `steppingSince`.
    Stepping,
}

/// The input artifact a release came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
    pub key: String,
    /// The S3 version or ETag the release read, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// Which job works on the release now (the last one to claim it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub job_id: String,
    /// A random name of the claiming job's run: two runs of one job (a
    /// job dispatched twice) tell each other apart by it.
    pub lease: String,
    pub since: String,
}

/// The release-wide settings (the action's properties as the release saw them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSettings {
    pub application: String,
    pub service_role_arn: String,
    /// `MaxParallel` (absent: all at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
    /// `breakGlass.reason` of the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
}

/// One changed function of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionEntry {
    pub name: String,
    pub alias: String,
    /// The version the alias served before the release (`None`: the
    /// release created the alias).
    pub previous_version: Option<String>,
    /// The version the release published (once published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub code_sha256: String,
    /// The CodeDeploy config name (`CodeDeployDefault.Lambda…` or
    /// `PipelineCanary.…`).
    pub deployment_config: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_allow_traffic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_allow_traffic: Option<String>,
    /// Every deployment of this function in the release, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployment_ids: Vec<String>,
    pub state: FunctionState,
    /// Code only: no alias (`alias` empty), no deployment; its code goes
    /// live when it is published (once the record says `Shifting`), and a
    /// rollback puts `previous_version`'s code back on `$LATEST`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub code_only: bool,
    /// A worker-driven schedule: the step applied (or being applied; an
    /// index into the config's steps, the last being 100 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// When its first step was applied (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stepping_since: Option<String>,
    /// Canary analysis settings, when the manifest asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<crate::canary::analysis::AnalysisSettings>,
    /// The last analysis verdict (its sentence), for the record's reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl FunctionEntry {
    /// The parsed deployment config, or a message naming the record's field.
    pub fn config(&self) -> Result<DeploymentConfig, String> {
        DeploymentConfig::parse(&self.deployment_config)
    }

    pub fn hooks(&self) -> Hooks {
        Hooks {
            before_allow_traffic: self.before_allow_traffic.clone(),
            after_allow_traffic: self.after_allow_traffic.clone(),
        }
    }

    /// The shift's slot for this function's recorded state.
    pub fn slot(&self) -> Slot {
        if self.code_only {
            return Slot::CodeOnly;
        }
        match self.state {
            FunctionState::Creating => Slot::Creating,
            FunctionState::Deployed => match self.deployment_ids.last() {
                Some(id) => Slot::Deployment(id.clone()),
                None => Slot::Creating,
            },
            FunctionState::AliasCreated => Slot::AliasCreated,
            FunctionState::Stepping => match (self.step, self.stepping_since.as_deref()) {
                (Some(step), Some(since)) => Slot::Stepping {
                    step,
                    since: UNIX_EPOCH + std::time::Duration::from_millis(millis_of(since)),
                },
                // Unreadable: start its schedule again (the alias is read
                // before the first step).
                _ => Slot::Waiting,
            },
            FunctionState::Unchanged => Slot::Unchanged,
            FunctionState::Shifted | FunctionState::Released => Slot::Shifted,
            FunctionState::Planned
            | FunctionState::Published
            | FunctionState::RolledBack
            | FunctionState::NotStarted => Slot::Waiting,
        }
    }

    /// Records the shift's slot (a new deployment id is appended).
    pub fn set_slot(&mut self, slot: &Slot) {
        self.state = match slot {
            Slot::Waiting => FunctionState::Published,
            Slot::Creating => FunctionState::Creating,
            Slot::Deployment(id) => {
                if self.deployment_ids.last() != Some(id) {
                    self.deployment_ids.push(id.clone());
                }
                FunctionState::Deployed
            }
            Slot::AliasCreated => FunctionState::AliasCreated,
            Slot::Stepping { step, since } => {
                self.step = Some(*step);
                self.stepping_since = Some(timestamp(*since));
                FunctionState::Stepping
            }
            Slot::Unchanged => FunctionState::Unchanged,
            Slot::Shifted => FunctionState::Shifted,
            // Its state says whether its code was published yet.
            Slot::CodeOnly => self.state,
        };
    }
}

/// Whether `now` differs from `stored` only by deployment ids learned: a
/// function `stored` says is `creating` is `deployed` in `now` with one
/// deployment id more (and `updatedAt` may differ). Such a record need not
/// be written before the next action: a job resuming from `stored` looks
/// for those deployments and finds them.
pub fn only_deployment_ids_learned(stored: &ReleaseRecord, now: &ReleaseRecord) -> bool {
    if stored == now || stored.functions.len() != now.functions.len() {
        return stored == now;
    }
    let mut same = now.clone();
    same.updated_at = stored.updated_at.clone();
    for (f, s) in same.functions.iter_mut().zip(&stored.functions) {
        if s.state == FunctionState::Creating
            && f.state == FunctionState::Deployed
            && f.deployment_ids.len() == s.deployment_ids.len() + 1
            && f.deployment_ids.starts_with(&s.deployment_ids)
        {
            f.state = FunctionState::Creating;
            f.deployment_ids.pop();
        }
    }
    &same == stored
}

/// A function the release left alone: its alias already served the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnchangedEntry {
    pub name: String,
    pub alias: String,
    pub version: String,
}

/// The shift's release-wide flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftFlags {
    /// This attempt looked for running deployments of the release (to
    /// attach to them) before starting any.
    #[serde(default)]
    pub discovered: bool,
    #[serde(default)]
    pub rolling_back: bool,
    /// What made the release roll back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Since when (RFC 3339) the shift cannot observe or act (an AWS
    /// outage, a missing permission); the release is paused meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<String>,
    /// Why the shift is paused, or why its rollback cannot proceed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled: Option<String>,
}

/// A rollback of the whole release after it ended (`pipeline-canary rollback`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManualRollback {
    pub at: String,
    pub reason: String,
}

/// The release a stage rollback (CodePipeline V2 `RollbackStage`, or a
/// stage's `onFailure` ROLLBACK) puts back: the pipeline execution it
/// rolls back to, and that execution's release as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollsBackTo {
    /// `ManualRollback` (the console's "Start rollback") or
    /// `AutomatedRollback` (the stage's `onFailure`).
    pub trigger: String,
    /// `rollbackMetadata.rollbackTargetPipelineExecutionId`.
    pub execution_id: String,
    /// The target execution's release id.
    pub release_id: String,
    /// Its commit, when the ledger has its record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl RollsBackTo {
    /// "Rollback to release r-… (commit abc1234)".
    pub fn headline(&self) -> String {
        match &self.commit {
            Some(c) => format!(
                "Rollback to release {} (commit {})",
                self.release_id,
                c.get(..7).unwrap_or(c)
            ),
            None => format!("Rollback to release {}", self.release_id),
        }
    }
}

/// One release, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    pub schema: u32,
    pub release_id: String,
    pub pipeline: String,
    pub stage: String,
    pub action: String,
    pub execution_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub artifact: ArtifactRef,
    pub started_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub phase: Phase,
    /// Attempts of the release so far (a stage retry starts a new one).
    pub attempt: u32,
    pub holder: Holder,
    pub settings: RecordSettings,
    /// The changed functions, in manifest order.
    pub functions: Vec<FunctionEntry>,
    /// The functions whose alias already served their code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<UnchangedEntry>,
    #[serde(default)]
    pub shift: ShiftFlags,
    /// Pre-flight: when the wait for a foreign deployment began (seconds
    /// since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_wait_since: Option<u64>,
    /// The output artifact (`release.json`) was written.
    #[serde(default)]
    pub output_written: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<ManualRollback>,
    /// This release is a stage rollback to an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls_back_to: Option<RollsBackTo>,
}

/// RFC 3339 (UTC, milliseconds) of `t`.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let dt = chrono::DateTime::<chrono::Utc>::from(UNIX_EPOCH + d);
    dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Milliseconds since the epoch of an RFC 3339 time (0 when unreadable).
pub fn millis_of(ts: &str) -> u64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .map(|d| d.timestamp_millis().max(0) as u64)
        .unwrap_or(0)
}

impl ReleaseRecord {
    /// Parses a record read from `key`. A record that is not JSON, not a
    /// record, of a newer schema or inconsistent is a ConfigurationError
    /// naming the key; nothing is guessed.
    pub fn parse(body: &[u8], key: &str) -> Result<ReleaseRecord, EngineError> {
        let bad = |what: String| {
            EngineError::new(
                FailureKind::ConfigurationError,
                format!(
                    "the release record {key} in the ledger {what}; nothing was changed: restore it from the bucket's versions, or delete it to start the release afresh"
                ),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("is not valid JSON ({e})")))?;
        match value.get("schema").and_then(|s| s.as_u64()) {
            None => return Err(bad("has no numeric `schema` field".into())),
            Some(s) if s > u64::from(SCHEMA) => {
                return Err(EngineError::new(
                    FailureKind::ConfigurationError,
                    format!(
                        "the release record {key} has schema {s}, written by a newer pipeline-canary; this worker reads schema {SCHEMA} and older: upgrade the worker"
                    ),
                ));
            }
            Some(0) => return Err(bad("has schema 0, which no pipeline-canary writes".into())),
            Some(_) => {}
        }
        let r: ReleaseRecord = serde_json::from_value(value)
            .map_err(|e| bad(format!("is not a release record ({e})")))?;
        for (i, f) in r.functions.iter().enumerate() {
            if let Err(e) = f.config() {
                return Err(bad(format!(
                    "has an unreadable deploymentConfig at functions[{i}] ({e})"
                )));
            }
            if f.state == FunctionState::Deployed && f.deployment_ids.is_empty() {
                return Err(bad(format!(
                    "says functions[{i}] ({}) is deployed but names no deployment",
                    f.name
                )));
            }
        }
        Ok(r)
    }

    /// The record as stored (pretty JSON: people read it).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// When the release started, in milliseconds since the epoch.
    pub fn started_ms(&self) -> u64 {
        millis_of(&self.started_at)
    }

    /// The function entry named `name`.
    pub fn function(&self, name: &str) -> Option<&FunctionEntry> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Ends the release with `outcome` and `reason` at `now`: phase Done,
    /// every function in its final state.
    pub fn finish(&mut self, outcome: Outcome, reason: Option<String>, now: SystemTime) {
        let ts = timestamp(now);
        self.outcome = outcome;
        self.reason = reason;
        self.phase = Phase::Done;
        self.ended_at = Some(ts.clone());
        self.updated_at = ts;
        for f in &mut self.functions {
            f.state = match (outcome, f.state) {
                (_, FunctionState::AliasCreated) => FunctionState::AliasCreated,
                (Outcome::Succeeded, _) => FunctionState::Released,
                // A code-only function's code went live when published.
                (_, FunctionState::Published) if f.code_only => FunctionState::RolledBack,
                (
                    _,
                    FunctionState::Deployed
                    | FunctionState::Shifted
                    | FunctionState::Released
                    | FunctionState::Stepping,
                ) => FunctionState::RolledBack,
                (_, FunctionState::RolledBack) => FunctionState::RolledBack,
                _ => FunctionState::NotStarted,
            };
        }
    }
}

/// What a new record needs beyond the plan.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub release_id: &'a str,
    pub job: &'a crate::job::JobInput,
    pub settings: RecordSettings,
    pub holder: Holder,
    pub now: SystemTime,
}

/// Entries for the changed functions of `plan` (manifest order), and the
/// unchanged ones; `shifted` names functions an earlier attempt of this
/// release shifted (with the version their alias serves and the one it
/// served before).
pub fn entries(
    plan: &Plan,
    shifted: &[(String, String, Option<u32>)],
) -> (Vec<FunctionEntry>, Vec<UnchangedEntry>) {
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for f in &plan.functions {
        if let Some((_, version, previous)) = shifted.iter().find(|(n, ..)| *n == f.function.name) {
            let mut e = entry(f);
            e.previous_version = previous.map(|p| p.to_string());
            e.version = Some(version.clone());
            e.state = FunctionState::Shifted;
            changed.push(e);
        } else if f.is_changed() {
            changed.push(entry(f));
        } else if let Some(c) = &f.current {
            unchanged.push(UnchangedEntry {
                name: f.function.name.clone(),
                alias: f.function.alias.clone(),
                version: c.version.clone(),
            });
        }
    }
    (changed, unchanged)
}

fn entry(f: &PlannedFunction) -> FunctionEntry {
    let p = &f.function;
    FunctionEntry {
        name: p.name.clone(),
        alias: p.alias.clone(),
        previous_version: f.current.as_ref().map(|c| c.version.clone()),
        version: None,
        code_sha256: p.code_sha256.clone(),
        deployment_config: if p.deployment_config.is_worker_driven() {
            p.deployment_config.short_name()
        } else {
            p.deployment_config.codedeploy_name()
        },
        alarms: p.alarms.clone(),
        before_allow_traffic: p.hooks.before_allow_traffic.clone(),
        after_allow_traffic: p.hooks.after_allow_traffic.clone(),
        deployment_ids: Vec::new(),
        state: FunctionState::Planned,
        code_only: p.code_only,
        step: None,
        stepping_since: None,
        analysis: p.analysis,
        verdict: None,
    }
}

/// A new record of the release `n` describes, with `plan`'s functions.
pub fn new_record(
    n: NewRecord<'_>,
    plan: &Plan,
    shifted: &[(String, String, Option<u32>)],
) -> ReleaseRecord {
    let ts = timestamp(n.now);
    let (functions, unchanged) = entries(plan, shifted);
    let input = n.job.input_artifacts.first();
    ReleaseRecord {
        schema: SCHEMA,
        release_id: n.release_id.to_string(),
        pipeline: n.job.pipeline_name.clone(),
        stage: n.job.stage_name.clone(),
        action: n.job.action_name.clone(),
        execution_id: n.job.pipeline_execution_id.clone(),
        commit: n.job.revision().map(str::to_string),
        artifact: ArtifactRef {
            name: input.map(|a| a.name.clone()).unwrap_or_default(),
            bucket: input.map(|a| a.bucket.clone()).unwrap_or_default(),
            key: input.map(|a| a.key.clone()).unwrap_or_default(),
            etag: None,
        },
        started_at: ts.clone(),
        updated_at: ts,
        ended_at: None,
        outcome: Outcome::InProgress,
        reason: None,
        phase: Phase::Planned,
        attempt: 1,
        holder: n.holder,
        settings: n.settings,
        functions,
        unchanged,
        shift: ShiftFlags::default(),
        foreign_wait_since: None,
        output_written: false,
        rollback: None,
        rolls_back_to: None,
    }
}

/// Starts a new attempt of `record` (a stage retry) from a fresh `plan`:
/// the outcome is open again, the functions are planned anew (keeping the
/// versions and deployment ids earlier attempts recorded for them), and
/// the shift will look for this release's running deployments first.
pub fn new_attempt(
    record: &mut ReleaseRecord,
    plan: &Plan,
    shifted: &[(String, String, Option<u32>)],
    now: SystemTime,
) {
    let (mut functions, unchanged) = entries(plan, shifted);
    for f in &mut functions {
        if let Some(old) = record.function(&f.name) {
            let mut ids = old.deployment_ids.clone();
            ids.append(&mut f.deployment_ids);
            f.deployment_ids = ids;
        }
    }
    record.functions = functions;
    record.unchanged = unchanged;
    record.attempt += 1;
    record.outcome = Outcome::InProgress;
    record.reason = None;
    record.ended_at = None;
    record.phase = Phase::Planned;
    record.shift = ShiftFlags::default();
    record.foreign_wait_since = None;
    record.output_written = false;
    record.updated_at = timestamp(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReleaseRecord {
        ReleaseRecord {
            schema: SCHEMA,
            release_id: "r-0123456789abcdef".into(),
            pipeline: "collect".into(),
            stage: "Deploy".into(),
            action: "Canary".into(),
            execution_id: "e-1".into(),
            commit: Some("abc".into()),
            artifact: ArtifactRef {
                name: "Build".into(),
                bucket: "b".into(),
                key: "k".into(),
                etag: None,
            },
            started_at: timestamp(UNIX_EPOCH + std::time::Duration::from_millis(1_790_000_000_123)),
            updated_at: "2026-09-21T10:00:00.000Z".into(),
            ended_at: None,
            outcome: Outcome::InProgress,
            reason: None,
            phase: Phase::Shifting,
            attempt: 1,
            holder: Holder::default(),
            settings: RecordSettings {
                application: "collect".into(),
                service_role_arn: "arn:aws:iam::1:role/cd".into(),
                max_parallel: None,
                break_glass: None,
            },
            functions: vec![FunctionEntry {
                name: "collect-a".into(),
                alias: "live".into(),
                previous_version: Some("4".into()),
                version: Some("5".into()),
                code_sha256: "S".into(),
                deployment_config: "CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into(),
                alarms: vec!["a".into()],
                before_allow_traffic: None,
                after_allow_traffic: None,
                deployment_ids: vec!["d-ABCDEFGHI".into()],
                state: FunctionState::Deployed,
                code_only: false,
                step: None,
                stepping_since: None,
                analysis: None,
                verdict: None,
            }],
            unchanged: vec![],
            shift: ShiftFlags::default(),
            foreign_wait_since: None,
            output_written: false,
            rollback: None,
            rolls_back_to: None,
        }
    }

    #[test]
    fn round_trips_and_names_its_fields_in_camel_case() {
        let r = sample();
        let json = r.to_json();
        for field in [
            "\"releaseId\"",
            "\"executionId\"",
            "\"startedAt\"",
            "\"previousVersion\"",
            "\"deploymentIds\"",
            "\"outcome\": \"InProgress\"",
            "\"state\": \"deployed\"",
        ] {
            assert!(json.contains(field), "{field} in {json}");
        }
        assert_eq!(ReleaseRecord::parse(json.as_bytes(), "k").unwrap(), r);
        assert_eq!(r.started_ms(), 1_790_000_000_123);
        assert_eq!(r.started_at, "2026-09-21T14:13:20.123Z");
    }

    #[test]
    fn corrupt_newer_and_inconsistent_records_are_refused_naming_the_key() {
        let key = "ledger/releases/r-1.json";
        let e = ReleaseRecord::parse(b"{not json", key).unwrap_err();
        assert_eq!(e.kind, FailureKind::ConfigurationError);
        assert!(
            e.message.contains(key) && e.message.contains("not valid JSON"),
            "{}",
            e.message
        );
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        v["schema"] = 2.into();
        let e = ReleaseRecord::parse(v.to_string().as_bytes(), key).unwrap_err();
        assert!(
            e.message.contains("schema 2") && e.message.contains("upgrade the worker"),
            "{}",
            e.message
        );
        v["schema"] = 1.into();
        v["functions"][0]["deploymentIds"] = serde_json::json!([]);
        let e = ReleaseRecord::parse(v.to_string().as_bytes(), key).unwrap_err();
        assert!(e.message.contains("names no deployment"), "{}", e.message);
        v["functions"][0]["deploymentConfig"] = "Sideways".into();
        let e = ReleaseRecord::parse(v.to_string().as_bytes(), key).unwrap_err();
        assert!(e.message.contains("functions[0]"), "{}", e.message);
        let e = ReleaseRecord::parse(br#"{"schema":1}"#, key).unwrap_err();
        assert!(
            e.message.contains("is not a release record"),
            "{}",
            e.message
        );
    }

    #[test]
    fn learned_deployment_ids_alone_need_no_write() {
        let mut stored = sample();
        stored.functions[0].set_slot(&Slot::Creating);
        let mut now = stored.clone();
        now.updated_at = "2026-12-06T00:00:01.000Z".into();
        now.functions[0].set_slot(&Slot::Deployment("d-NEW".into()));
        assert!(only_deployment_ids_learned(&stored, &now));
        // Anything else is a change to write.
        let mut rolling = now.clone();
        rolling.shift.rolling_back = true;
        assert!(!only_deployment_ids_learned(&stored, &rolling));
        let mut moved = stored.clone();
        moved.functions[0].set_slot(&Slot::Waiting);
        assert!(!only_deployment_ids_learned(&stored, &moved));
        // A deployment id of a function not announced as `creating`.
        let mut other = stored.clone();
        other.functions[0].set_slot(&Slot::Shifted);
        let mut learned = other.clone();
        learned.functions[0].set_slot(&Slot::Deployment("d-NEW".into()));
        assert!(!only_deployment_ids_learned(&other, &learned));
    }

    #[test]
    fn slots_map_to_states_and_back() {
        let mut f = sample().functions.remove(0);
        for slot in [
            Slot::Waiting,
            Slot::Creating,
            Slot::Deployment("d-X".into()),
            Slot::AliasCreated,
            Slot::Unchanged,
            Slot::Shifted,
        ] {
            f.set_slot(&slot);
            assert_eq!(f.slot(), slot);
        }
        assert_eq!(f.deployment_ids, ["d-ABCDEFGHI", "d-X"]);
        let mut r = sample();
        r.finish(Outcome::Failed, Some("alarm".into()), UNIX_EPOCH);
        assert_eq!(r.functions[0].state, FunctionState::RolledBack);
        assert_eq!(r.phase, Phase::Done);
        assert!(r.ended_at.is_some());
    }
}
