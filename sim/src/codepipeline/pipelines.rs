//! Pipeline declarations: parsing and validating `PipelineDeclaration`
//! (structure, action types, configuration, artifact wiring, what a stage
//! does on failure) and the CRUD operations `CreatePipeline`, `GetPipeline`,
//! `UpdatePipeline`, `ListPipelines`, `DeletePipeline`. Running pipelines is
//! `executions.rs`; triggers are `triggers.rs`.
//!
//! A declaration field aws-sim does not simulate is refused with a
//! `ValidationException` naming the field, never stored and ignored: stage
//! conditions (`beforeEntry`, `onSuccess`, `onFailure.conditions`), the
//! Commands action's `commands`, `outputVariables`, `environmentVariables`
//! and output artifact `files`, `timeoutInMinutes` (manual approval only),
//! cross-region actions. What is accepted and ignored is listed in
//! `sim/README.md` with the reason.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::action_types::{self, ActionType, TypeId};
use super::triggers::{self, Trigger};
use super::{
    ACCOUNT_ID, Env, Region, check_enum, check_len, check_pattern, check_pipeline_name,
    is_name_char, missing, opt_int, opt_list, opt_obj, opt_str, opt_str_map, req_str, ts,
};
use crate::error::{AwsError, AwsResult};

/// Most pipelines per region (AWS quota: 1000).
const MAX_PIPELINES: usize = 1000;
/// What GetPipeline shows instead of a secret configuration value.
pub const SECRET_MASK: &str = "****";

/// The parsed declaration the engine runs.
#[derive(Debug, Clone)]
pub struct PipelineDecl {
    pub name: String,
    pub role_arn: String,
    pub bucket: String,
    pub kms_key: Option<String>,
    pub stages: Vec<StageDecl>,
    pub execution_mode: String,
    pub pipeline_type: String,
    /// Pipeline-level variables (V2) and their defaults.
    pub variables: BTreeMap<String, Option<String>>,
    /// Git triggers (V2) of CodeStarSourceConnection source actions.
    pub triggers: Vec<Trigger>,
}

impl PipelineDecl {
    /// The trigger declared for source action `action`, if any.
    pub fn trigger_for(&self, action: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| t.source_action == action)
    }
}

#[derive(Debug, Clone)]
pub struct StageDecl {
    pub name: String,
    pub actions: Vec<ActionDecl>,
    /// What happens when the stage fails (`onFailure.result`).
    pub on_failure: OnFailure,
}

/// What a stage does when an action in it fails (`StageDeclaration.onFailure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// The stage and its execution fail: no `onFailure`, or `result: FAIL`.
    Fail,
    /// The stage fails, then an `AutomatedRollback` execution re-runs it with
    /// the artifacts of the last execution that succeeded in it.
    Rollback,
    /// The stage is retried in the same execution (`retryMode`
    /// `FAILED_ACTIONS` or `ALL_ACTIONS`), a bounded number of times.
    Retry { mode: &'static str },
}

#[derive(Debug, Clone)]
pub struct ActionDecl {
    pub name: String,
    pub type_id: TypeId,
    /// The definition at declaration time (custom types may be deleted later).
    pub def: ActionType,
    pub run_order: i64,
    pub configuration: BTreeMap<String, String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub namespace: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
}

/// A stored pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub decl: Arc<PipelineDecl>,
    /// The declaration as returned by GetPipeline (defaults filled, secrets
    /// not yet masked).
    pub raw: Value,
    pub version: i64,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub arn: String,
    /// The execution that most recently entered each stage (by stage name):
    /// GetPipelineState's `latestExecution` and RetryStageExecution's "latest".
    pub stage_latest: HashMap<String, String>,
}

fn structure(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidStructureException", msg)
}
fn bad_action(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidActionDeclarationException", msg)
}
fn bad_stage(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidStageDeclarationException", msg)
}

fn check_role_arn(field: &str, s: &str) -> AwsResult<()> {
    check_len(field, s, 0, 1024)?;
    let ok = (|| {
        let rest = s.strip_prefix("arn:aws")?;
        let (_, rest) = rest.split_once(":iam::")?;
        let (acct, role) = rest.split_once(":role/")?;
        let _ = role;
        (acct.len() == 12 && acct.chars().all(|c| c.is_ascii_digit())).then_some(())
    })()
    .is_some();
    if ok {
        Ok(())
    } else {
        Err(super::invalid(
            field,
            s,
            "Member must satisfy regular expression pattern: arn:aws(-[\\w]+)*:iam::[0-9]{12}:role/.*",
        ))
    }
}

fn is_artifact_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_namespace_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_')
}

/// Parses and validates a declaration. `previous` supplies the values of
/// secret properties sent back as `****`. Returns the parsed declaration and
/// the normalised JSON to store.
pub fn parse(
    region: &Region,
    input: &Value,
    previous: Option<&Pipeline>,
) -> AwsResult<(PipelineDecl, Value)> {
    let p = opt_obj(input, "pipeline", "pipeline")?.ok_or_else(|| missing("pipeline"))?;
    let mut raw = p.clone();
    let name = req_str(p, "name", "pipeline.name")?;
    check_pipeline_name("pipeline.name", name)?;
    let role_arn = req_str(p, "roleArn", "pipeline.roleArn")?;
    check_role_arn("pipeline.roleArn", role_arn)?;

    let store = match (
        opt_obj(p, "artifactStore", "pipeline.artifactStore")?,
        opt_obj(p, "artifactStores", "pipeline.artifactStores")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(structure(
                "Pipeline cannot have both artifactStore and artifactStores",
            ));
        }
        (None, None) => {
            return Err(structure(
                "Pipeline must have either artifactStore or artifactStores",
            ));
        }
        (Some(s), None) => s,
        (None, Some(m)) => m.get(&region.name).ok_or_else(|| {
            structure(format!(
                "artifactStores has no artifact store for the pipeline's region {}",
                region.name
            ))
        })?,
    };
    let st_type = req_str(store, "type", "pipeline.artifactStore.type")?;
    check_enum("pipeline.artifactStore.type", st_type, &["S3"])?;
    let bucket = req_str(store, "location", "pipeline.artifactStore.location")?;
    check_len("pipeline.artifactStore.location", bucket, 3, 63)?;
    check_pattern(
        "pipeline.artifactStore.location",
        bucket,
        |c| c.is_ascii_alphanumeric() || c == '-' || c == '.',
        "[a-zA-Z0-9\\-\\.]+",
    )?;
    let kms_key = match opt_obj(
        store,
        "encryptionKey",
        "pipeline.artifactStore.encryptionKey",
    )? {
        None => None,
        Some(k) => {
            let id = req_str(k, "id", "pipeline.artifactStore.encryptionKey.id")?;
            check_len("pipeline.artifactStore.encryptionKey.id", id, 1, 400)?;
            let t = req_str(k, "type", "pipeline.artifactStore.encryptionKey.type")?;
            check_enum("pipeline.artifactStore.encryptionKey.type", t, &["KMS"])?;
            Some(id.to_string())
        }
    };

    let pipeline_type = opt_str(p, "pipelineType", "pipeline.pipelineType")?.unwrap_or("V1");
    check_enum("pipeline.pipelineType", pipeline_type, &["V1", "V2"])?;
    let execution_mode =
        opt_str(p, "executionMode", "pipeline.executionMode")?.unwrap_or("SUPERSEDED");
    check_enum(
        "pipeline.executionMode",
        execution_mode,
        &["QUEUED", "SUPERSEDED", "PARALLEL"],
    )?;
    if pipeline_type == "V1" && execution_mode != "SUPERSEDED" {
        return Err(AwsError::validation(format!(
            "Execution mode {execution_mode} is only supported for pipeline type V2"
        )));
    }
    if let Some(v) = opt_int(p, "version", "pipeline.version")?
        && v < 1
    {
        return Err(super::invalid(
            "pipeline.version",
            &v.to_string(),
            "Member must have value greater than or equal to 1",
        ));
    }
    let vars_in = opt_list(p, "variables", "pipeline.variables")?;
    if vars_in.len() > 50 {
        return Err(structure("A pipeline can declare at most 50 variables"));
    }
    if !vars_in.is_empty() && pipeline_type != "V2" {
        return Err(structure(
            "Pipeline variables are only supported for pipeline type V2",
        ));
    }
    let mut variables = BTreeMap::new();
    for (i, v) in vars_in.iter().enumerate() {
        let f = format!("pipeline.variables.{}.member", i + 1);
        let n = req_str(v, "name", &format!("{f}.name"))?;
        check_len(&format!("{f}.name"), n, 1, 128)?;
        check_pattern(
            &format!("{f}.name"),
            n,
            is_namespace_char,
            "[A-Za-z0-9@\\-_]+",
        )?;
        let d = opt_str(v, "defaultValue", &format!("{f}.defaultValue"))?;
        if let Some(d) = d {
            check_len(&format!("{f}.defaultValue"), d, 1, 1000)?;
        }
        // Stored and echoed only: the model says a description "is not being
        // used at time when pipeline executes".
        if let Some(d) = opt_str(v, "description", &format!("{f}.description"))? {
            check_len(&format!("{f}.description"), d, 0, 200)?;
        }
        if variables
            .insert(n.to_string(), d.map(str::to_string))
            .is_some()
        {
            return Err(structure(format!(
                "Pipeline variable {n} is declared twice"
            )));
        }
    }

    let stages_in = opt_list(p, "stages", "pipeline.stages")?;
    if p.get("stages").is_none() {
        return Err(missing("pipeline.stages"));
    }
    if stages_in.len() < 2 {
        return Err(structure(format!(
            "Pipeline has only {} stage(s). There should be a minimum of 2 stages in a pipeline",
            stages_in.len()
        )));
    }
    if stages_in.len() > 50 {
        return Err(structure("A pipeline can have at most 50 stages"));
    }
    let mut stages = Vec::new();
    let mut stage_names = HashSet::new();
    let mut produced: HashSet<String> = HashSet::new();
    let mut namespaces: HashSet<String> = HashSet::new();
    for (si, s) in stages_in.iter().enumerate() {
        let sf = format!("pipeline.stages.{}.member", si + 1);
        let sname = req_str(s, "name", &format!("{sf}.name"))?;
        check_len(&format!("{sf}.name"), sname, 1, 100)?;
        check_pattern(
            &format!("{sf}.name"),
            sname,
            is_name_char,
            super::NAME_PATTERN,
        )?;
        if !stage_names.insert(sname.to_string()) {
            return Err(structure(format!(
                "Stage names must be unique within a pipeline: {sname}"
            )));
        }
        let actions_in = opt_list(s, "actions", &format!("{sf}.actions"))?;
        if s.get("actions").is_none() {
            return Err(missing(&format!("{sf}.actions")));
        }
        if actions_in.is_empty() {
            return Err(bad_stage(format!(
                "Stage {sname} has no actions; a stage needs at least one action"
            )));
        }
        if actions_in.len() > 50 {
            return Err(bad_stage(format!("Stage {sname} has more than 50 actions")));
        }
        let mut actions: Vec<ActionDecl> = Vec::new();
        for (ai, a) in actions_in.iter().enumerate() {
            let af = format!("{sf}.actions.{}.member", ai + 1);
            let mut decl = parse_action(region, a, &af, sname, previous)?;
            if actions.iter().any(|b| b.name == decl.name) {
                return Err(structure(format!(
                    "Action names must be unique within a stage: {} in stage {sname}",
                    decl.name
                )));
            }
            let is_source = decl.type_id.category == "Source";
            if si == 0 && !is_source {
                return Err(structure(format!(
                    "Action {} in stage {sname}: the first stage of a pipeline can contain only source actions",
                    decl.name
                )));
            }
            if si > 0 && is_source {
                return Err(structure(format!(
                    "Source action {} must be in the first stage of the pipeline, not in stage {sname}",
                    decl.name
                )));
            }
            if let Some(ns) = &decl.namespace
                && !namespaces.insert(ns.clone())
            {
                return Err(bad_action(format!(
                    "Namespace {ns} of action {} is already used by another action",
                    decl.name
                )));
            }
            // Secret values come back masked; restore them for storage.
            raw["stages"][si]["actions"][ai]["runOrder"] = json!(decl.run_order);
            let cfg = decl.configuration.clone();
            if !cfg.is_empty() {
                raw["stages"][si]["actions"][ai]["configuration"] = json!(cfg);
            }
            decl.configuration = cfg;
            actions.push(decl);
        }
        // Artifact wiring: inputs produced by earlier stages or by actions
        // with a lower runOrder in this stage; output names unique.
        let mut this_stage: Vec<(i64, String)> = Vec::new();
        for a in &actions {
            for o in &a.outputs {
                if produced.contains(o) || this_stage.iter().any(|(_, n)| n == o) {
                    return Err(structure(format!(
                        "Output artifact name {o} of action {} is not unique within the pipeline",
                        a.name
                    )));
                }
                this_stage.push((a.run_order, o.clone()));
            }
        }
        for a in &actions {
            for i in &a.inputs {
                let ok = produced.contains(i)
                    || this_stage.iter().any(|(ro, n)| n == i && *ro < a.run_order);
                if !ok {
                    return Err(structure(format!(
                        "Input artifact {i} of action {} in stage {sname} is not the output of an action that runs before it",
                        a.name
                    )));
                }
            }
        }
        produced.extend(this_stage.into_iter().map(|(_, n)| n));
        let on_failure = parse_on_failure(s, &sf, sname, si, pipeline_type)?;
        refuse_conditions(s, &sf, sname)?;
        parse_blockers(s, &sf)?;
        stages.push(StageDecl {
            name: sname.to_string(),
            actions,
            on_failure,
        });
    }
    let triggers = triggers::parse(p, pipeline_type, &stages)?;
    super::action_types::parse_tags(input, "tags")?;
    raw["pipelineType"] = json!(pipeline_type);
    raw["executionMode"] = json!(execution_mode);
    if let Some(o) = raw.as_object_mut() {
        o.remove("version");
    }
    Ok((
        PipelineDecl {
            name: name.into(),
            role_arn: role_arn.into(),
            bucket: bucket.into(),
            kms_key,
            stages,
            execution_mode: execution_mode.into(),
            pipeline_type: pipeline_type.into(),
            variables,
            triggers,
        },
        raw,
    ))
}

/// `StageDeclaration.onFailure` of stage `sname` (the `si`-th, field prefix
/// `sf`). V2 only; `result` ROLLBACK, RETRY or FAIL; SKIP is refused because
/// AWS offers it only for conditions evaluated before a stage is entered
/// (<https://aws.amazon.com/about-aws/whats-new/2024/10/aws-codepipeline-introduces-skipping-stage/>:
/// "Skip can only be used with conditions evaluated before a pipeline
/// execution enters a stage"); the source stage cannot roll back
/// (<https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html>:
/// "You cannot roll back a source stage").
fn parse_on_failure(
    s: &Value,
    sf: &str,
    sname: &str,
    si: usize,
    pipeline_type: &str,
) -> AwsResult<OnFailure> {
    let f = format!("{sf}.onFailure");
    let Some(of) = opt_obj(s, "onFailure", &f)? else {
        return Ok(OnFailure::Fail);
    };
    if pipeline_type != "V2" {
        return Err(AwsError::validation(format!(
            "Stage {sname} declares onFailure ({f}), which pipeline type V1 does not support; declare pipelineType V2 to use automatic rollback or retry"
        )));
    }
    if of.get("conditions").is_some_and(|c| !c.is_null()) {
        return Err(conditions_refused(sname, &format!("{f}.conditions")));
    }
    let result = opt_str(of, "result", &format!("{f}.result"))?;
    if let Some(r) = result {
        check_enum(
            &format!("{f}.result"),
            r,
            &["ROLLBACK", "FAIL", "RETRY", "SKIP"],
        )?;
    }
    let retry_cfg = opt_obj(of, "retryConfiguration", &format!("{f}.retryConfiguration"))?;
    if retry_cfg.is_some() && result != Some("RETRY") {
        return Err(AwsError::validation(format!(
            "Stage {sname}: {f}.retryConfiguration applies only when {f}.result is RETRY (it is {}); remove retryConfiguration or set result RETRY",
            result.unwrap_or("not set")
        )));
    }
    match result {
        None | Some("FAIL") => Ok(OnFailure::Fail),
        Some("SKIP") => Err(AwsError::validation(format!(
            "Stage {sname}: {f}.result SKIP is not valid when a stage fails; SKIP is a result of beforeEntry conditions only. Use ROLLBACK, RETRY or FAIL"
        ))),
        Some("ROLLBACK") if si == 0 => Err(bad_stage(format!(
            "Stage {sname} is the source stage, and a source stage cannot be rolled back ({f}.result ROLLBACK); use RETRY or FAIL"
        ))),
        Some("ROLLBACK") => Ok(OnFailure::Rollback),
        _ => {
            let mode = match retry_cfg {
                Some(c) => opt_str(c, "retryMode", &format!("{f}.retryConfiguration.retryMode"))?,
                None => None,
            };
            let mode = match mode {
                None => "FAILED_ACTIONS",
                Some(m) => {
                    check_enum(
                        &format!("{f}.retryConfiguration.retryMode"),
                        m,
                        &["FAILED_ACTIONS", "ALL_ACTIONS"],
                    )?;
                    if m == "ALL_ACTIONS" {
                        "ALL_ACTIONS"
                    } else {
                        "FAILED_ACTIONS"
                    }
                }
            };
            Ok(OnFailure::Retry { mode })
        }
    }
}

/// Stage conditions and their rules (CloudWatch alarms, deployment windows,
/// Lambda checks, variable checks, commands) are not simulated.
fn conditions_refused(sname: &str, field: &str) -> AwsError {
    AwsError::validation(format!(
        "Stage {sname} declares {field}: aws-sim does not simulate stage conditions or their rules, and refuses them rather than ignore them; remove them from the declaration"
    ))
}

/// `beforeEntry` and `onSuccess` consist of conditions only.
fn refuse_conditions(s: &Value, sf: &str, sname: &str) -> AwsResult<()> {
    for key in ["beforeEntry", "onSuccess"] {
        if s.get(key).is_some_and(|v| !v.is_null()) {
            return Err(conditions_refused(sname, &format!("{sf}.{key}")));
        }
    }
    Ok(())
}

/// `StageDeclaration.blockers`: validated against the model and accepted;
/// the model documents them as "Reserved for future use", so AWS runs
/// nothing for them either.
fn parse_blockers(s: &Value, sf: &str) -> AwsResult<()> {
    for (i, b) in opt_list(s, "blockers", &format!("{sf}.blockers"))?
        .iter()
        .enumerate()
    {
        let f = format!("{sf}.blockers.{}.member", i + 1);
        let n = req_str(b, "name", &format!("{f}.name"))?;
        check_len(&format!("{f}.name"), n, 1, 100)?;
        let t = req_str(b, "type", &format!("{f}.type"))?;
        check_enum(&format!("{f}.type"), t, &["Schedule"])?;
    }
    Ok(())
}

fn parse_action(
    region: &Region,
    a: &Value,
    af: &str,
    stage: &str,
    previous: Option<&Pipeline>,
) -> AwsResult<ActionDecl> {
    let name = req_str(a, "name", &format!("{af}.name"))?;
    check_len(&format!("{af}.name"), name, 1, 100)?;
    check_pattern(
        &format!("{af}.name"),
        name,
        is_name_char,
        super::NAME_PATTERN,
    )?;
    let tv = opt_obj(a, "actionTypeId", &format!("{af}.actionTypeId"))?
        .ok_or_else(|| missing(&format!("{af}.actionTypeId")))?;
    let type_id = TypeId::parse(tv, &format!("{af}.actionTypeId"))?;
    let def = action_types::find(region, &type_id).ok_or_else(|| {
        bad_action(format!(
            "ActionType {type_id} in action '{name}' is not available"
        ))
    })?;
    let run_order = opt_int(a, "runOrder", &format!("{af}.runOrder"))?.unwrap_or(1);
    if !(1..=999).contains(&run_order) {
        return Err(super::invalid(
            &format!("{af}.runOrder"),
            &run_order.to_string(),
            "Member must have value between 1 and 999",
        ));
    }
    let mut configuration = opt_str_map(a, "configuration", &format!("{af}.configuration"))?;
    for (k, v) in &configuration {
        check_len(&format!("{af}.configuration.{k}"), k, 1, 50)?;
        check_len(&format!("{af}.configuration.{k}"), v, 1, 1000)?;
    }
    // `****` for a secret property keeps the previous value.
    for prop in def.properties.iter().filter(|p| p.secret) {
        if configuration.get(&prop.name).map(String::as_str) == Some(SECRET_MASK) {
            let old = previous
                .and_then(|p| p.decl.stages.iter().find(|s| s.name == stage))
                .and_then(|s| s.actions.iter().find(|x| x.name == name))
                .and_then(|x| x.configuration.get(&prop.name));
            match old {
                Some(v) => {
                    configuration.insert(prop.name.clone(), v.clone());
                }
                None => {
                    return Err(bad_action(format!(
                        "Action {name}: secret configuration property {} has no previous value to keep",
                        prop.name
                    )));
                }
            }
        }
    }
    for k in configuration.keys() {
        if !def.properties.iter().any(|p| &p.name == k) {
            return Err(bad_action(format!(
                "Action configuration for action '{name}' contains unknown configuration '{k}'"
            )));
        }
    }
    for p in &def.properties {
        match configuration.get(&p.name) {
            None if p.required => {
                return Err(bad_action(format!(
                    "Action configuration for action '{name}' is missing required configuration '{}'",
                    p.name
                )));
            }
            Some(v)
                if p.queryable
                    && (v.chars().count() > 20
                        || !v
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')) =>
            {
                return Err(bad_action(format!(
                    "Action '{name}': the value of queryable configuration property '{}' must be at most 20 characters of [A-Za-z0-9_-]",
                    p.name
                )));
            }
            _ => {}
        }
    }
    if type_id.provider == "CodeStarSourceConnection"
        && type_id.owner == "AWS"
        && let Some(f) = configuration.get("OutputArtifactFormat")
        && f != "CODE_ZIP"
        && f != "CODEBUILD_CLONE_REF"
    {
        return Err(bad_action(format!(
            "Action '{name}': OutputArtifactFormat must be CODE_ZIP or CODEBUILD_CLONE_REF"
        )));
    }
    let names = |key: &str| -> AwsResult<Vec<String>> {
        let list = opt_list(a, key, &format!("{af}.{key}"))?;
        let mut out = Vec::new();
        for (i, x) in list.iter().enumerate() {
            let f = format!("{af}.{key}.{}.member.name", i + 1);
            let n = req_str(x, "name", &f)?;
            check_len(&f, n, 1, 100)?;
            check_pattern(&f, n, is_artifact_char, "[a-zA-Z0-9_\\-]+")?;
            if out.iter().any(|o| o == n) {
                return Err(structure(format!("Action {name} lists artifact {n} twice")));
            }
            out.push(n.to_string());
        }
        Ok(out)
    };
    let inputs = names("inputArtifacts")?;
    let outputs = names("outputArtifacts")?;
    let count = |what: &str, n: usize, (min, max): (i64, i64)| -> AwsResult<()> {
        let n = n as i64;
        if n < min || n > max {
            return Err(bad_action(format!(
                "Action '{name}' has {n} {what} artifacts; action type {type_id} requires between {min} and {max}"
            )));
        }
        Ok(())
    };
    count("input", inputs.len(), def.inputs)?;
    count("output", outputs.len(), def.outputs)?;
    let namespace = opt_str(a, "namespace", &format!("{af}.namespace"))?;
    if let Some(ns) = namespace {
        check_len(&format!("{af}.namespace"), ns, 1, 100)?;
        check_pattern(
            &format!("{af}.namespace"),
            ns,
            is_namespace_char,
            "[A-Za-z0-9@\\-_]+",
        )?;
    }
    let act_region = opt_str(a, "region", &format!("{af}.region"))?;
    if let Some(r) = act_region {
        check_len(&format!("{af}.region"), r, 4, 30)?;
        if r != region.name {
            return Err(AwsError::validation(format!(
                "Action {name} declares region {r} ({af}.region), but aws-sim does not simulate cross-region actions: every action runs in the pipeline's region {}. Remove region or set it to {}",
                region.name, region.name
            )));
        }
    }
    let role = opt_str(a, "roleArn", &format!("{af}.roleArn"))?;
    if let Some(r) = role {
        check_role_arn(&format!("{af}.roleArn"), r)?;
    }
    if let Some(t) = opt_int(a, "timeoutInMinutes", &format!("{af}.timeoutInMinutes"))? {
        if !(5..=86400).contains(&t) {
            return Err(super::invalid(
                &format!("{af}.timeoutInMinutes"),
                &t.to_string(),
                "Member must have value between 5 and 86400",
            ));
        }
        // The model: "This attribute is available only to the manual
        // approval ActionType", and aws-sim runs no manual approval.
        return Err(AwsError::validation(format!(
            "Action {name} declares {af}.timeoutInMinutes, which only manual approval actions take; aws-sim runs no manual approval action. Remove timeoutInMinutes"
        )));
    }
    // The Commands compute action's fields: aws-sim does not run it.
    for key in ["commands", "outputVariables", "environmentVariables"] {
        if a.get(key).is_some_and(|v| !v.is_null()) {
            return Err(AwsError::validation(format!(
                "Action {name} declares {af}.{key}, a field of the Commands compute action, which aws-sim does not run; remove {key}"
            )));
        }
    }
    for (i, o) in opt_list(a, "outputArtifacts", &format!("{af}.outputArtifacts"))?
        .iter()
        .enumerate()
    {
        if o.get("files").is_some_and(|v| !v.is_null()) {
            return Err(AwsError::validation(format!(
                "Action {name} declares {af}.outputArtifacts.{}.member.files, a field of the Commands compute action, which aws-sim does not run; remove files",
                i + 1
            )));
        }
    }
    Ok(ActionDecl {
        name: name.into(),
        type_id,
        def,
        run_order,
        configuration,
        inputs,
        outputs,
        namespace: namespace.map(str::to_string),
        region: act_region.map(str::to_string),
        role_arn: role.map(str::to_string),
    })
}

/// The stored declaration as GetPipeline shows it: version set, secrets masked.
pub fn shown(p: &Pipeline) -> Value {
    let mut raw = p.raw.clone();
    raw["version"] = json!(p.version);
    for (si, s) in p.decl.stages.iter().enumerate() {
        for (ai, a) in s.actions.iter().enumerate() {
            for prop in a.def.properties.iter().filter(|x| x.secret) {
                if a.configuration.contains_key(&prop.name) {
                    raw["stages"][si]["actions"][ai]["configuration"][&prop.name] =
                        json!(SECRET_MASK);
                }
            }
        }
    }
    raw
}

/// Marks the artifact store as job-credentials-only and creates it if missing.
fn prepare_store(env: &Env<'_>, decl: &PipelineDecl) {
    env.sim.credentials.protect_bucket(&decl.bucket);
    if !env.sim.s3.bucket_exists(&decl.bucket)
        && let Err(e) = env.sim.s3.ensure_bucket(&decl.bucket)
    {
        tracing::warn!(bucket = %decl.bucket, error = %e, "cannot create the artifact store bucket");
    }
}

/// `CreatePipeline`.
pub fn create(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let (decl, raw) = parse(region, input, None)?;
    if region.pipelines.contains_key(&decl.name) {
        return Err(AwsError::bad_request(
            "PipelineNameInUseException",
            format!("A pipeline with the name '{}' already exists", decl.name),
        ));
    }
    if region.pipelines.len() >= MAX_PIPELINES {
        return Err(AwsError::bad_request(
            "LimitExceededException",
            format!("The maximum number of pipelines ({MAX_PIPELINES}) was reached"),
        ));
    }
    prepare_store(env, &decl);
    let tags = action_types::parse_tags(input, "tags")?;
    let p = Pipeline {
        arn: format!(
            "arn:aws:codepipeline:{}:{ACCOUNT_ID}:{}",
            region.name, decl.name
        ),
        decl: Arc::new(decl),
        raw,
        version: 1,
        created: env.now,
        updated: env.now,
        stage_latest: HashMap::new(),
    };
    let mut out = json!({"pipeline": shown(&p)});
    if !tags.is_empty() {
        out["tags"] = json!(tags);
    }
    region.pipelines.insert(p.decl.name.clone(), p);
    Ok(out)
}

pub(crate) fn not_found(name: &str) -> AwsError {
    AwsError::bad_request(
        "PipelineNotFoundException",
        format!("Account '{ACCOUNT_ID}' does not have a pipeline with name '{name}'"),
    )
}

/// `GetPipeline`.
pub fn get(region: &Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "name", "name")?;
    check_pipeline_name("name", name)?;
    let p = region.pipelines.get(name).ok_or_else(|| not_found(name))?;
    if let Some(v) = opt_int(input, "version", "version")?
        && v != p.version
    {
        return Err(AwsError::bad_request(
            "PipelineVersionNotFoundException",
            format!(
                "Pipeline '{name}' has no version {v} (aws-sim keeps only the current version)"
            ),
        ));
    }
    Ok(json!({
        "pipeline": shown(p),
        "metadata": {"pipelineArn": p.arn, "created": ts(p.created), "updated": ts(p.updated)},
    }))
}

/// `UpdatePipeline`: version + 1; running executions keep their snapshot.
pub fn update(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = input
        .get("pipeline")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let previous = region.pipelines.get(&name).cloned();
    let (decl, raw) = parse(region, input, previous.as_ref())?;
    let Some(old) = previous else {
        return Err(not_found(&decl.name));
    };
    prepare_store(env, &decl);
    let p = Pipeline {
        decl: Arc::new(decl),
        raw,
        version: old.version + 1,
        updated: env.now,
        ..old
    };
    let out = json!({"pipeline": shown(&p)});
    region.pipelines.insert(name, p);
    Ok(out)
}

/// `ListPipelines`.
pub fn list(region: &Region, input: &Value) -> AwsResult<Value> {
    let all: Vec<Value> = region
        .pipelines
        .values()
        .map(|p| {
            json!({"name": p.decl.name, "version": p.version, "pipelineType": p.decl.pipeline_type,
                   "executionMode": p.decl.execution_mode, "created": ts(p.created), "updated": ts(p.updated)})
        })
        .collect();
    let (items, next) = super::page(all, input, Some(("maxResults", 1, 1000, 1000)))?;
    let mut out = json!({"pipelines": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

/// `DeletePipeline`: idempotent; its executions and jobs disappear with it
/// (results on its jobs then get `JobNotFoundException`).
pub fn delete(region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "name", "name")?;
    check_pipeline_name("name", name)?;
    if region.pipelines.remove(name).is_some() {
        region.executions.retain(|_, e| e.pipeline != name);
        region.jobs.retain(|_, j| j.pipeline != name);
    }
    Ok(json!({}))
}
