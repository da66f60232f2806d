//! Stage rollback (V2 pipelines): `RollbackStage` and the automatic rollback
//! of a stage declared with `onFailure.result: ROLLBACK`. A rollback is a new
//! pipeline execution (`executionType` ROLLBACK, trigger `ManualRollback` or
//! `AutomatedRollback`, `rollbackMetadata.rollbackTargetPipelineExecutionId`)
//! that runs only the rolled-back stage, with the artifacts, source
//! revisions and variables of the target execution; the engine
//! (`executions.rs`) runs it like any other execution. This module decides
//! whether a stage may be rolled back and to which execution; it knows
//! nothing of jobs, S3 or the wire.
//!
//! What AWS documents, and where each rule comes from:
//! - <https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html>:
//!   "You can roll back a stage to an execution that was successful in that
//!   stage"; "The rolled back operation will result in a new execution";
//!   "The target pipeline execution chosen for rollback is used to retrieve
//!   source revisions and variables"; "You cannot roll back a source stage";
//!   "The pipeline can only roll back to a previous execution if the previous
//!   execution was started in the current pipeline structure version"; "You
//!   cannot roll back to a target execution ID that is a rollback execution
//!   type"; "CodePipeline will use the variables and artifacts from the
//!   execution to which it is rolling back".
//! - <https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback-auto.html>:
//!   "When the stage fails, the stage is rolled back to the most recent
//!   successful execution"; "your pipeline stage will auto-rollback only
//!   after there is a successful pipeline execution in the pipeline stage".
//! - The model's errors for RollbackStage: `UnableToRollbackStageException`
//!   ("the pipeline version has changed since the target pipeline execution
//!   was deployed, the stage is currently running, or an incorrect target
//!   pipeline execution ID was provided"), `PipelineExecutionOutdatedException`
//!   ("The specified pipeline execution is outdated and cannot be used as a
//!   target pipeline execution for rollback"),
//!   `PipelineExecutionNotFoundException` ("cannot be found, or an execution
//!   ID does not belong to the specified pipeline"), `StageNotFoundException`,
//!   `PipelineNotFoundException`, `ValidationException`, `ConflictException`.
//!
//! Choices where AWS is silent (sim/README.md, "Decisions where AWS is
//! silent"): a target from an older pipeline version gets
//! `PipelineExecutionOutdatedException` (both it and
//! `UnableToRollbackStageException` describe that case); a V1 pipeline gets
//! `ValidationException`; `ConflictException` is never raised (every busy
//! case is "the stage is currently running"); a failing rollback execution
//! never starts another automatic rollback.

use serde_json::{Value, json};

use super::executions::{Execution, Trigger, caller_arn, pump};
use super::pipelines::not_found;
use super::{
    Env, NAME_PATTERN, Region, check_len, check_pattern, check_pipeline_name, check_uuid,
    is_name_char, req_str, uuid,
};
use crate::error::{AwsError, AwsResult};

fn unable(msg: String) -> AwsError {
    AwsError::bad_request("UnableToRollbackStageException", msg)
}

/// `RollbackStage`.
pub fn rollback_op(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    let stage = req_str(input, "stageName", "stageName")?;
    check_len("stageName", stage, 1, 100)?;
    check_pattern("stageName", stage, is_name_char, NAME_PATTERN)?;
    let target = req_str(
        input,
        "targetPipelineExecutionId",
        "targetPipelineExecutionId",
    )?;
    check_uuid("targetPipelineExecutionId", target)?;
    let p = region.pipelines.get(name).ok_or_else(|| not_found(name))?;
    if p.decl.pipeline_type != "V2" {
        return Err(AwsError::validation(format!(
            "Pipeline {name} is of type V1; stage rollback is available only for pipeline type V2. Update the pipeline to pipelineType V2 to roll back stages"
        )));
    }
    let si = p
        .decl
        .stages
        .iter()
        .position(|s| s.name == stage)
        .ok_or_else(|| {
            AwsError::bad_request(
                "StageNotFoundException",
                format!("Stage {stage} does not exist in pipeline {name}"),
            )
        })?;
    let t = region
        .executions
        .get(target)
        .filter(|e| e.pipeline == name)
        .ok_or_else(|| {
            AwsError::bad_request(
                "PipelineExecutionNotFoundException",
                format!("Pipeline execution {target} does not exist in pipeline {name}"),
            )
        })?;
    if si == 0 {
        return Err(unable(format!(
            "Stage {stage} is the source stage of pipeline {name}; a source stage cannot be rolled back"
        )));
    }
    if t.pipeline_version != p.version {
        return Err(AwsError::bad_request(
            "PipelineExecutionOutdatedException",
            format!(
                "Pipeline execution {target} ran with version {} of pipeline {name}, which is now at version {}; a stage can be rolled back only to an execution started with the current pipeline version",
                t.pipeline_version, p.version
            ),
        ));
    }
    if let Some(r) = &t.rollback {
        return Err(unable(format!(
            "Pipeline execution {target} is itself a rollback (to execution {}); choose a standard execution as the rollback target",
            r
        )));
    }
    if t.stage_status[si] != Some("Succeeded") {
        return Err(unable(format!(
            "Pipeline execution {target} did not succeed in stage {stage} (stage status: {}); choose an execution that succeeded in the stage",
            t.stage_status[si].unwrap_or("not run")
        )));
    }
    if let Some(busy) = region
        .executions
        .values()
        .find(|e| e.pipeline == name && e.active() && e.entered && e.stage == si)
    {
        return Err(unable(format!(
            "Stage {stage} of pipeline {name} is in progress (execution {}); wait for it to finish or stop it, then roll back",
            busy.id
        )));
    }
    let id = start(
        env,
        region,
        name,
        si,
        target,
        Trigger {
            kind: "ManualRollback",
            detail: caller_arn(),
        },
    );
    pump(env, region, name);
    Ok(json!({ "pipelineExecutionId": id }))
}

/// The automatic rollback of stage `si` after `failed` failed in it: a new
/// `AutomatedRollback` execution to the execution that succeeded in the stage
/// most recently (standard, current pipeline version). Without one, the stage
/// just fails. Runs inside the engine's pump (`failed` is out of
/// `region.executions`): the new execution starts on the pump's next round.
pub fn automated(env: &Env<'_>, region: &mut Region, failed: &mut Execution, si: usize) {
    let stage = failed.decl.stages[si].name.clone();
    if failed.rollback.is_some() {
        append(
            failed,
            format!(
                "; a rollback execution that fails is not rolled back again automatically (stage {stage})"
            ),
        );
        return;
    }
    let Some(p) = region.pipelines.get(&failed.pipeline) else {
        return;
    };
    let version = p.version;
    let target = region
        .executions
        .values()
        .filter(|e| {
            e.pipeline == failed.pipeline
                && e.rollback.is_none()
                && e.pipeline_version == version
                && e.id != failed.id
        })
        .filter_map(|e| {
            let i = e.decl.stages.iter().position(|s| s.name == stage)?;
            e.stage_succeeded[i].map(|order| (order, e.id.clone(), i))
        })
        .max();
    let Some((_, target, ti)) = target else {
        append(
            failed,
            format!(
                "; no execution of pipeline version {version} has succeeded in stage {stage} yet, so there is nothing to roll back to"
            ),
        );
        return;
    };
    let id = start(
        env,
        region,
        &failed.pipeline.clone(),
        ti,
        &target,
        Trigger {
            kind: "AutomatedRollback",
            detail: failed.id.clone(),
        },
    );
    append(
        failed,
        format!("; stage {stage} is being rolled back to execution {target} by execution {id}"),
    );
}

fn append(e: &mut Execution, more: String) {
    let s = e.status_summary.get_or_insert_with(String::new);
    s.push_str(&more);
}

/// Creates (does not pump) a rollback execution of stage `si` of `pipeline`
/// to `target`, which the caller checked: it exists, ran with the current
/// pipeline version and succeeded in the stage. Returns its id.
fn start(
    env: &Env<'_>,
    region: &mut Region,
    pipeline: &str,
    si: usize,
    target: &str,
    trigger: Trigger,
) -> String {
    let (Some(p), Some(t)) = (
        region.pipelines.get(pipeline),
        region.executions.get(target),
    ) else {
        return String::new();
    };
    region.exec_seq += 1;
    let id = uuid();
    // The target's declaration: the same pipeline version as the current one.
    let mut exec = Execution::new(
        id.clone(),
        region.exec_seq,
        p,
        t.decl.clone(),
        trigger,
        env.now,
    );
    exec.pipeline_version = t.pipeline_version;
    exec.artifacts = t.artifacts.clone();
    exec.revisions = t.revisions.clone();
    exec.variables = t.variables.clone();
    exec.variables.insert(
        "codepipeline".to_string(),
        [("PipelineExecutionId".to_string(), id.clone())].into(),
    );
    exec.push = t.push.clone();
    exec.stage = si;
    exec.rollback = Some(target.to_string());
    region.executions.insert(id.clone(), exec);
    id
}
