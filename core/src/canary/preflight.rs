//! Pre-flight of a release (pure): what must hold in CodeDeploy, Lambda and
//! CloudWatch before a single version is published, decided from what the
//! adapters observed. Ensures (creates or updates) the application, the
//! custom deployment configs and one deployment group per function; checks
//! aliases, active deployments, alarms and hook functions. All problems are
//! collected and reported together as one ConfigurationError naming each
//! fix. A create or update that was throttled or unavailable past its
//! retries is no such problem: pre-flight looks again, up to
//! [`PREFLIGHT_ROUNDS`] times, then fails as an outage (SystemUnavailable).
//! A foreign active deployment in a group is waited for (the job is
//! handed back with a continuation) up to `ReleaseSettings::foreign_wait`.
//!
//! Knows no SDK and no clock; see the module doc of `canary` for the flow.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{
    AlarmState, AlarmView, AliasView, CanaryAction, CanaryObservation, Decision, DeploymentView,
    GroupSpec, PreflightPlan, TrafficRouting, clip, distinct, human, is_ours, secs,
};
use crate::report::{FailureKind, Progress};

/// What pre-flight decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Preflight {
    /// Not done: perform / continue / fail as the engine does with any decision.
    Next(Decision<CanaryAction>),
    /// Everything holds; the engine may publish and then shift.
    Ready(PreflightReport),
}

/// What pre-flight found and did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreflightReport {
    /// Functions without the alias: released without canary (alias created).
    pub first_release: Vec<String>,
    /// Active deployments of this very release (a console retry): the shift
    /// attaches to them instead of creating new ones.
    pub attach: Vec<(String, String)>,
    /// What pre-flight created or updated (`application shop`, `deployment
    /// group orders (drift: alarmConfiguration)`, …).
    pub ensured: Vec<String>,
    /// The aliases as observed (function → alias), first releases absent.
    pub aliases: BTreeMap<String, AliasView>,
}

/// What survives between jobs: when a foreign deployment was first seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PreflightState {
    /// Seconds since the epoch when the current wait began.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub foreign_since: Option<u64>,
    #[serde(skip)]
    seen: Option<Seen>,
    /// Aliases the caller already read in this job (function → alias,
    /// `None` = no alias): not read again (see [`PreflightState::knowing_aliases`]).
    #[serde(skip)]
    known_aliases: HashMap<String, Option<AliasView>>,
    /// Ensure rounds of this job that ended in a transient failure (see
    /// [`PREFLIGHT_ROUNDS`]).
    #[serde(skip)]
    transient_rounds: u32,
}

impl PreflightState {
    /// Tells pre-flight the aliases the caller read in this job (function →
    /// alias as GetAlias answered, `None` when it does not exist), so that
    /// its observation reads only the others: one GetAlias per function and
    /// job, against Lambda's 15 requests/s control-plane quota.
    pub fn knowing_aliases(
        &mut self,
        aliases: impl IntoIterator<Item = (String, Option<AliasView>)>,
    ) {
        self.known_aliases = aliases.into_iter().collect();
    }
}

#[derive(Debug, Clone, Default)]
struct Seen {
    application: Option<Option<String>>,
    groups: HashMap<String, Option<GroupSpec>>,
    aliases: HashMap<String, Option<AliasView>>,
    configs: HashMap<String, Option<TrafficRouting>>,
    hooks: HashMap<String, bool>,
    alarms: Option<(Vec<String>, Vec<AlarmView>)>,
    active: Vec<DeploymentView>,
    failures: Vec<(String, String, String)>,
    ensured: Vec<String>,
    ensure_sent: bool,
}

/// The group `plan` wants for function `i`.
pub fn wanted_group(plan: &PreflightPlan, i: usize) -> GroupSpec {
    let f = &plan.functions[i];
    GroupSpec {
        application: plan.release.application.clone(),
        name: f.group(),
        service_role_arn: plan.release.service_role_arn.clone(),
        // A worker-driven schedule has no CodeDeploy config; its group
        // (used only by a break-glass release, AllAtOnce) says AllAtOnce.
        deployment_config_name: if f.config.is_worker_driven() {
            crate::canary::BREAK_GLASS_CONFIG.codedeploy_name()
        } else {
            f.config.codedeploy_name()
        },
        alarms: f.alarms.clone(),
        managed_rollback_and_style: true,
    }
}

fn observe(plan: &PreflightPlan, known: &HashMap<String, Option<AliasView>>) -> CanaryAction {
    let mut configs = Vec::new();
    for f in &plan.functions {
        if !f.config.is_predefined() && !f.config.is_worker_driven() && !configs.contains(&f.config)
        {
            configs.push(f.config);
        }
    }
    let hooks = distinct(plan.functions.iter().flat_map(|f| {
        [&f.hooks.before_allow_traffic, &f.hooks.after_allow_traffic]
            .into_iter()
            .flatten()
    }));
    CanaryAction::ObservePreflight {
        application: plan.release.application.clone(),
        groups: plan.functions.iter().map(|f| f.group()).collect(),
        aliases: plan
            .functions
            .iter()
            .filter(|f| !known.contains_key(&f.function))
            .map(|f| (f.function.clone(), f.alias.clone()))
            .collect(),
        configs,
        alarms: distinct(plan.functions.iter().flat_map(|f| f.alarms.iter())),
        hooks,
    }
}

fn merge(seen: &mut Seen, observed: Vec<CanaryObservation>) {
    for o in observed {
        match o {
            CanaryObservation::Application(p) => seen.application = Some(p),
            CanaryObservation::Group { name, spec } => {
                seen.groups.insert(name, spec);
            }
            CanaryObservation::Alias {
                function, alias, ..
            } => {
                seen.aliases.insert(function, alias);
            }
            CanaryObservation::DeploymentConfig { name, routing } => {
                seen.configs.insert(name, routing);
            }
            CanaryObservation::HookFunction { name, exists } => {
                seen.hooks.insert(name, exists);
            }
            CanaryObservation::Alarms { asked, found } => seen.alarms = Some((asked, found)),
            CanaryObservation::Deployments(v) => seen.active.extend(v),
            CanaryObservation::Ensured { what } => seen.ensured.push(what),
            CanaryObservation::CallFailed {
                what,
                code,
                message,
                ..
            } => seen.failures.push((what, code, message)),
            _ => {}
        }
    }
}

/// Ensure rounds pre-flight runs in one job when a create/update call
/// failed for a transient reason (throttling, 5xx, a lost connection: the
/// adapters' retries ran out): after that many, the job fails as an
/// outage — nothing was published or shifted.
pub const PREFLIGHT_ROUNDS: u32 = 3;

/// The code of a [`CanaryObservation::CallFailed`] whose call was throttled
/// or unavailable until its retries ran out.
pub const TRANSIENT: &str = "Transient";

/// The fix for a failed create/update call.
fn fix_for(code: &str) -> &'static str {
    match code {
        "InvalidRoleException" => {
            "check the action's CodeDeployServiceRoleArn: it must be an IAM role CodeDeploy can assume (trust codedeploy.amazonaws.com, policy AWSCodeDeployRoleForLambda)"
        }
        "AlarmsLimitExceededException" => "guard each function with at most 10 alarms",
        "DeploymentConfigLimitExceededException" => {
            "the account has 50 custom deployment configs already: delete unused ones or use a predefined config"
        }
        "ApplicationLimitExceededException" | "DeploymentGroupLimitExceededException" => {
            "raise the CodeDeploy quota or remove unused applications/groups"
        }
        c if c.starts_with("AccessDenied") => {
            "grant the worker's role the CodeDeploy permission named in the message"
        }
        TRANSIENT => "AWS was throttling or unavailable; retry the stage",
        _ => "see the error; fix the action configuration or the manifest",
    }
}

/// Pre-flight's next step. Call with no observations to start (and after a
/// hand-back); then with what the adapters observed for its actions.
pub fn decide_preflight(
    plan: &PreflightPlan,
    state: &mut PreflightState,
    observed: Vec<CanaryObservation>,
    now: SystemTime,
) -> Preflight {
    if observed.is_empty() {
        state.seen = Some(Seen {
            aliases: plan
                .functions
                .iter()
                .filter_map(|f| {
                    let a = state.known_aliases.get(&f.function)?;
                    Some((f.function.clone(), a.clone()))
                })
                .collect(),
            ..Seen::default()
        });
        return Preflight::Next(Decision::Perform(vec![observe(plan, &state.known_aliases)]));
    }
    let mut seen_owned = state.seen.take().unwrap_or_default();
    let seen = &mut seen_owned;
    merge(seen, observed);
    let rel = &plan.release;

    // Results of the ensure round.
    if seen.ensure_sent {
        let failures = std::mem::take(&mut seen.failures);
        let transient = |code: &str| code == TRANSIENT;
        if failures.iter().any(|(_, code, _)| !transient(code)) {
            let lines: Vec<String> = failures
                .iter()
                .map(|(what, code, msg)| format!("{what}: {code}: {msg} — {}", fix_for(code)))
                .collect();
            return fail(rel.release_id.as_str(), lines);
        }
        if let Some((what, _, msg)) = failures.first() {
            // Throttled or unavailable after the adapters' retries: not a
            // configuration problem. Look again and ensure what is still
            // missing, a few rounds; then it is an outage.
            state.transient_rounds += 1;
            if state.transient_rounds < PREFLIGHT_ROUNDS {
                return decide_preflight(plan, state, Vec::new(), now);
            }
            return Preflight::Next(Decision::Fail {
                kind: FailureKind::SystemUnavailable,
                message: clip(
                    &format!(
                        "pre-flight of release {} could not complete: {what} failed {PREFLIGHT_ROUNDS} times, each after its retries ({msg}); AWS is throttling or unavailable, nothing was published or shifted: retry the stage once it answers",
                        rel.release_id
                    ),
                    crate::report::MESSAGE_MAX,
                ),
                external_execution_id: None,
            });
        }
        let report = report(plan, seen);
        state.foreign_since = None;
        return Preflight::Ready(report);
    }

    let mut problems: Vec<String> = Vec::new();
    if rel
        .break_glass
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        problems.push(
            "breakGlass needs a reason (`\"breakGlass\": {\"reason\": \"INC-123: checkout down\"}`): it skips the canary and the alarms, so say why".to_string(),
        );
    }
    let mut ensure: Vec<CanaryAction> = Vec::new();

    // Application.
    match seen.application.clone() {
        Some(None) => {
            ensure.push(CanaryAction::CreateApplication {
                application: rel.application.clone(),
            });
        }
        Some(Some(p)) if p != "Lambda" => problems.push(format!(
            "CodeDeploy application `{}` has compute platform {p}; pipeline-canary needs a Lambda application: set CodeDeployApplication to another (new) name",
            rel.application
        )),
        _ => {}
    }
    // Custom deployment configs.
    let mut configs_done: Vec<String> = Vec::new();
    for f in &plan.functions {
        if f.config.is_predefined() || f.config.is_worker_driven() {
            continue;
        }
        let name = f.config.codedeploy_name();
        if configs_done.contains(&name) {
            continue;
        }
        configs_done.push(name.clone());
        match seen.configs.get(&name) {
            Some(None) | None => ensure.push(CanaryAction::CreateDeploymentConfig { config: f.config }),
            Some(Some(r)) if Some(*r) != TrafficRouting::of(&f.config) => problems.push(format!(
                "deployment config `{name}` exists with different traffic routing ({r:?}, wanted {:?}): delete it (aws deploy delete-deployment-config --deployment-config-name {name}) so pipeline-canary can recreate it",
                TrafficRouting::of(&f.config)
            )),
            Some(Some(_)) => {}
        }
    }
    // Groups (after app and configs: the adapter performs in order).
    for (i, f) in plan.functions.iter().enumerate() {
        if f.alarms.len() > crate::manifest::MAX_ALARMS_PER_FUNCTION {
            problems.push(format!(
                "function {} has {} alarms; CodeDeploy accepts at most 10 per deployment group",
                f.function,
                f.alarms.len()
            ));
            continue;
        }
        let want = wanted_group(plan, i);
        match seen.groups.get(&want.name) {
            Some(Some(have)) => {
                let drift = have.drift(&want);
                if !drift.is_empty() {
                    ensure.push(CanaryAction::PutDeploymentGroup {
                        spec: want,
                        exists: true,
                    });
                }
            }
            _ => {
                ensure.push(CanaryAction::PutDeploymentGroup {
                    spec: want,
                    exists: false,
                });
            }
        }
    }
    // Active deployments, ours or foreign, per group.
    let mut foreign: Vec<(String, &DeploymentView)> = Vec::new();
    for f in &plan.functions {
        let group = f.group();
        for d in seen.active.iter().filter(|d| {
            d.status.is_active() && d.application == rel.application && d.group == group
        }) {
            if !is_ours(&d.description, &rel.release_id) {
                foreign.push((f.function.clone(), d));
            }
        }
    }
    // Aliases.
    for f in &plan.functions {
        let group = f.group();
        let busy = seen
            .active
            .iter()
            .any(|d| d.status.is_active() && d.application == rel.application && d.group == group);
        if let Some(Some(a)) = seen.aliases.get(&f.function)
            && let Some((v, w)) = &a.routing
            && !busy
        {
            problems.push(format!(
                "alias {} of {} serves version {} with {:.0} % routed to version {v} and no deployment is shifting it (an interrupted shift?): finish or undo it, e.g. `aws lambda update-alias --function-name {} --name {} --function-version <version> --routing-config '{{}}'`",
                f.alias,
                f.function,
                a.version,
                w * 100.0,
                f.function,
                f.alias
            ));
        }
    }
    // Alarms.
    if let Some((asked, found)) = &seen.alarms {
        for name in asked {
            let guarded: Vec<&str> = plan
                .functions
                .iter()
                .filter(|f| f.alarms.contains(name))
                .map(|f| f.function.as_str())
                .collect();
            match found.iter().find(|a| &a.name == name) {
                None => problems.push(format!(
                    "alarm `{name}` (guarding {}) does not exist in CloudWatch: create it or remove it from the manifest/Alarms property",
                    guarded.join(", ")
                )),
                Some(a) if a.state == AlarmState::Alarm && rel.break_glass.is_none() => {
                    problems.push(format!(
                        "alarm `{name}` (guarding {}) is in ALARM ({}): nothing was published; release once it is OK again, or use `breakGlass` with a reason for a hotfix",
                        guarded.join(", "),
                        clip(&a.reason, 200)
                    ))
                }
                Some(_) => {}
            }
        }
    }
    // Hook functions.
    let mut hooks: Vec<(&String, bool)> = seen.hooks.iter().map(|(k, v)| (k, *v)).collect();
    hooks.sort();
    for (h, exists) in hooks {
        if !exists {
            problems.push(format!(
                "hook function `{h}` does not exist: deploy it first or remove it from the manifest"
            ));
        }
    }
    if !problems.is_empty() {
        return fail(&rel.release_id, problems);
    }
    if !foreign.is_empty() {
        let since = *state.foreign_since.get_or_insert(secs(now));
        let waited = Duration::from_secs(secs(now).saturating_sub(since));
        let list: Vec<String> = foreign
            .iter()
            .map(|(f, d)| {
                format!(
                    "{} (group {} of {f}, {:?}{})",
                    d.id,
                    d.group,
                    d.status,
                    if d.is_rollback {
                        ", a CodeDeploy rollback"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        if waited >= rel.foreign_wait {
            return fail(
                &rel.release_id,
                vec![format!(
                    "deployment group(s) still busy after waiting {}: active deployment {} was not started by this release; wait for it to finish or stop it (aws deploy stop-deployment --deployment-id {}), then retry",
                    human(waited),
                    list.join(", "),
                    foreign[0].1.id
                )],
            );
        }
        return Preflight::Next(Decision::Continue(Progress {
            summary: clip(
                &format!(
                    "Release {}: waiting for {} foreign deployment(s) to finish before starting ({} of at most {}): {}",
                    rel.release_id,
                    foreign.len(),
                    human(waited),
                    human(rel.foreign_wait),
                    list.join(", ")
                ),
                crate::report::SUMMARY_MAX,
            ),
            percent_complete: Some(0),
            external_execution_id: Some(foreign[0].1.id.clone()),
        }));
    }
    state.foreign_since = None;
    if ensure.is_empty() {
        let r = report(plan, seen);
        return Preflight::Ready(r);
    }
    seen.ensure_sent = true;
    state.seen = Some(seen_owned);
    Preflight::Next(Decision::Perform(ensure))
}

fn report(plan: &PreflightPlan, seen: &Seen) -> PreflightReport {
    let mut r = PreflightReport {
        ensured: seen.ensured.clone(),
        ..Default::default()
    };
    for f in &plan.functions {
        match seen.aliases.get(&f.function) {
            Some(Some(a)) => {
                r.aliases.insert(f.function.clone(), a.clone());
            }
            _ => r.first_release.push(f.function.clone()),
        }
        let group = f.group();
        for d in &seen.active {
            if d.status.is_active()
                && d.application == plan.release.application
                && d.group == group
                && is_ours(&d.description, &plan.release.release_id)
            {
                r.attach.push((f.function.clone(), d.id.clone()));
            }
        }
    }
    r
}

fn fail(release_id: &str, problems: Vec<String>) -> Preflight {
    let mut msg = format!(
        "pre-flight of release {release_id} found {} problem(s); nothing was published or shifted:",
        problems.len()
    );
    for p in &problems {
        msg.push_str("\n- ");
        msg.push_str(p);
    }
    Preflight::Next(Decision::Fail {
        kind: FailureKind::ConfigurationError,
        message: clip(&msg, crate::report::MESSAGE_MAX),
        external_execution_id: None,
    })
}
