//! aws-sim's stage rollback and automatic stage retry through the official
//! Rust SDK, the test playing the custom-action worker: RollbackStage
//! (ManualRollback), `onFailure` ROLLBACK (AutomatedRollback) and RETRY,
//! the refusals, and what GetPipelineState, GetPipelineExecution,
//! ListPipelineExecutions and ListActionExecutions show. Every step is
//! synchronous in simulated time (a result moves the pipeline at once), so
//! nothing here waits on a clock.

use aws_credential_types::Credentials;
use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionConfigurationProperty, ActionDeclaration, ActionExecutionFilter,
    ActionOwner, ActionTypeId, Artifact, ArtifactDetails, ArtifactStore, ArtifactStoreType,
    Condition, ExecutionMode, ExecutionType, FailureConditions, FailureDetails, FailureType,
    InputArtifact, Job, OutputArtifact, PipelineDeclaration, PipelineExecutionStatus, PipelineType,
    Result as StageResult, RetryConfiguration, RetryTrigger, RuleDeclaration, RuleTypeId,
    StageDeclaration, StageExecutionStatus, StageRetryMode, TriggerType,
};
use e2e::{SimConfig, SimHandle, codepipeline_client, s3_client, sdk_config, sdk_config_with};

const BUCKET: &str = "pipeline-artifacts";
const PIPELINE: &str = "collect";

fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

/// The error code and message of a failed call.
fn error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, E>,
) -> (String, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (
            e.code().unwrap_or("<no code>").to_string(),
            e.message().unwrap_or("").to_string(),
        ),
    }
}

fn type_id(category: ActionCategory, owner: ActionOwner, provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(category)
        .owner(owner)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

fn canary() -> ActionTypeId {
    type_id(ActionCategory::Deploy, ActionOwner::Custom, "Canary")
}

async fn create_canary_type(cp: &Client) {
    let prop = |name: &str, required: bool, queryable: bool| {
        ActionConfigurationProperty::builder()
            .name(name)
            .required(required)
            .key(false)
            .secret(false)
            .queryable(queryable)
            .build()
            .unwrap()
    };
    let details = |min: i32, max: i32| {
        ArtifactDetails::builder()
            .minimum_count(min)
            .maximum_count(max)
            .build()
    };
    cp.create_custom_action_type()
        .category(ActionCategory::Deploy)
        .provider("Canary")
        .version("1")
        .configuration_properties(prop("Stage", true, true))
        .configuration_properties(prop("Commit", false, false))
        .input_artifact_details(details(1, 1))
        .output_artifact_details(details(0, 0))
        .send()
        .await
        .unwrap();
}

fn action(
    name: &str,
    id: ActionTypeId,
    config: &[(&str, &str)],
    inputs: &[&str],
    outputs: &[&str],
) -> ActionDeclaration {
    let mut b = ActionDeclaration::builder().name(name).action_type_id(id);
    for (k, v) in config {
        b = b.configuration(*k, *v);
    }
    for i in inputs {
        b = b.input_artifacts(InputArtifact::builder().name(*i).build().unwrap());
    }
    for o in outputs {
        b = b.output_artifacts(OutputArtifact::builder().name(*o).build().unwrap());
    }
    b.build().unwrap()
}

/// Source (GitHub) → Build (CodeBuild pass-through) → Deploy (a Canary
/// action per stage value), V2 and QUEUED as pipeline.yaml declares it;
/// `on_failure` on Deploy; `v1` declares a V1 pipeline instead.
fn pipeline(
    deploy_stages: &[&str],
    on_failure: Option<FailureConditions>,
    v1: bool,
) -> PipelineDeclaration {
    let mut source = action(
        "GitHub",
        type_id(
            ActionCategory::Source,
            ActionOwner::Aws,
            "CodeStarSourceConnection",
        ),
        &[
            (
                "ConnectionArn",
                "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc",
            ),
            ("FullRepositoryId", "acme/collect"),
            ("BranchName", "main"),
            ("OutputArtifactFormat", "CODE_ZIP"),
        ],
        &[],
        &["SourceArtifact"],
    );
    source.namespace = Some("SourceVariables".into());
    let deploys: Vec<ActionDeclaration> = deploy_stages
        .iter()
        .map(|s| {
            action(
                &format!("Canary-{s}"),
                canary(),
                &[("Stage", s), ("Commit", "#{SourceVariables.CommitId}")],
                &["BuildArtifact"],
                &[],
            )
        })
        .collect();
    let stage = |name: &str, actions: Vec<ActionDeclaration>| {
        StageDeclaration::builder()
            .name(name)
            .set_actions(Some(actions))
    };
    let b = PipelineDeclaration::builder()
        .name(PIPELINE)
        .role_arn("arn:aws:iam::123456789012:role/pipeline")
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location(BUCKET)
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![source]).build().unwrap())
        .stages(
            stage(
                "Build",
                vec![action(
                    "Build",
                    type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
                    &[("ProjectName", "collect-build")],
                    &["SourceArtifact"],
                    &["BuildArtifact"],
                )],
            )
            .build()
            .unwrap(),
        )
        .stages(
            stage("Deploy", deploys)
                .set_on_failure(on_failure)
                .build()
                .unwrap(),
        );
    let b = if v1 {
        b.pipeline_type(PipelineType::V1)
    } else {
        b.pipeline_type(PipelineType::V2)
            .execution_mode(ExecutionMode::Queued)
    };
    b.build().unwrap()
}

fn repo_zip(commit: &str) -> Vec<u8> {
    format!("PK\u{3}\u{4}repository snapshot {commit}").into_bytes()
}

/// A GitHub push of `commit` (`POST /_sim/push`); the started execution ids.
async fn push(sim: &SimHandle, commit: &str) -> String {
    use base64::Engine;
    let body = serde_json::json!({
        "repository": "acme/collect", "branch": "main", "commitId": commit,
        "message": format!("commit {commit}"),
        "zip": base64::engine::general_purpose::STANDARD.encode(repo_zip(commit)),
    });
    let out = aws_sim::codepipeline::push(sim.sim(), &body).await.unwrap();
    let ids = out["executions"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{out}");
    ids[0]["pipelineExecutionId"].as_str().unwrap().to_string()
}

async fn setup(
    deploy_stages: &[&str],
    on_failure: Option<FailureConditions>,
) -> (SimHandle, Client) {
    let sim = e2e::start_sim(SimConfig::default()).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    cp.create_pipeline()
        .pipeline(pipeline(deploy_stages, on_failure, false))
        .send()
        .await
        .unwrap();
    (sim, cp)
}

/// The queued jobs for Canary stage `stage` (every step is synchronous, so
/// a job the pipeline queued is there on the first poll).
async fn poll(cp: &Client, stage: &str) -> Vec<Job> {
    cp.poll_for_jobs()
        .action_type_id(canary())
        .max_batch_size(10)
        .query_param("Stage", stage)
        .send()
        .await
        .unwrap()
        .jobs
        .unwrap_or_default()
}

/// Polls the one queued job of `stage` and acknowledges it.
async fn take(cp: &Client, stage: &str) -> Job {
    let mut jobs = poll(cp, stage).await;
    assert_eq!(jobs.len(), 1, "one job for stage {stage}: {jobs:?}");
    let job = jobs.pop().unwrap();
    cp.acknowledge_job()
        .job_id(job.id().unwrap())
        .nonce(job.nonce().unwrap())
        .send()
        .await
        .unwrap();
    job
}

async fn succeed(cp: &Client, job: &Job) {
    cp.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
}

async fn fail(cp: &Client, job: &Job) {
    cp.put_job_failure_result()
        .job_id(job.id().unwrap())
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("alarm Errors fired; the release was rolled back")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn execution_id(job: &Job) -> String {
    job.data()
        .unwrap()
        .pipeline_context()
        .unwrap()
        .pipeline_execution_id()
        .unwrap()
        .to_string()
}

fn inputs(job: &Job) -> &[Artifact] {
    job.data().unwrap().input_artifacts()
}

async fn execution(cp: &Client, id: &str) -> aws_sdk_codepipeline::types::PipelineExecution {
    cp.get_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_id(id)
        .send()
        .await
        .unwrap()
        .pipeline_execution
        .unwrap()
}

async fn status(cp: &Client, id: &str) -> PipelineExecutionStatus {
    execution(cp, id).await.status.unwrap()
}

/// A push of `commit` whose Deploy (`prod`) job succeeds; its execution id
/// and job.
async fn release(sim: &SimHandle, cp: &Client, commit: &str) -> (String, Job) {
    let id = push(sim, commit).await;
    let job = take(cp, "prod").await;
    assert_eq!(execution_id(&job), id);
    succeed(cp, &job).await;
    assert_eq!(status(cp, &id).await, PipelineExecutionStatus::Succeeded);
    (id, job)
}

async fn rollback(cp: &Client, stage: &str, target: &str) -> Result<String, (String, String)> {
    cp.rollback_stage()
        .pipeline_name(PIPELINE)
        .stage_name(stage)
        .target_pipeline_execution_id(target)
        .send()
        .await
        .map(|o| o.pipeline_execution_id().to_string())
        .map_err(|e| {
            (
                e.code().unwrap_or("<no code>").to_string(),
                e.message().unwrap_or("").to_string(),
            )
        })
}

#[tokio::test]
async fn rollback_stage_reruns_deploy_with_the_earlier_executions_artifact() {
    let (sim, cp) = setup(&["prod"], None).await;
    let (a, job_a) = release(&sim, &cp, "aaaa111").await;
    let (b, job_b) = release(&sim, &cp, "bbbb222").await;
    assert_ne!(inputs(&job_a), inputs(&job_b));

    let r = rollback(&cp, "Deploy", &a).await.unwrap();
    assert!(r != a && r != b, "a rollback is a new execution");

    // Only Deploy runs: its job carries A's artifact (same S3 location, A's
    // revision) and A's variables.
    let job_r = take(&cp, "prod").await;
    assert_eq!(execution_id(&job_r), r);
    assert_eq!(inputs(&job_r), inputs(&job_a));
    let input = &inputs(&job_r)[0];
    assert_eq!(input.revision(), Some("aaaa111"));
    let config = job_r
        .data()
        .unwrap()
        .action_configuration()
        .unwrap()
        .configuration()
        .unwrap();
    assert_eq!(config["Commit"], "aaaa111");
    // The artifact is A's bytes, readable with the rollback job's credentials.
    let c = job_r.data().unwrap().artifact_credentials().unwrap();
    let s3 = s3_client(&sdk_config_with(
        &sim.endpoint(),
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "job",
        ),
        e2e::REGION,
    ));
    let loc = input.location().unwrap().s3_location().unwrap();
    let body = s3
        .get_object()
        .bucket(loc.bucket_name())
        .key(loc.object_key())
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(body.as_ref(), repo_zip("aaaa111").as_slice());

    // GetPipelineExecution: ManualRollback to A, A's source revision.
    let e = execution(&cp, &r).await;
    assert_eq!(e.status(), Some(&PipelineExecutionStatus::InProgress));
    assert_eq!(e.execution_type(), Some(&ExecutionType::Rollback));
    assert_eq!(
        e.trigger().unwrap().trigger_type(),
        Some(&TriggerType::ManualRollback)
    );
    assert_eq!(
        e.rollback_metadata()
            .unwrap()
            .rollback_target_pipeline_execution_id(),
        Some(a.as_str())
    );
    assert_eq!(e.artifact_revisions()[0].revision_id(), Some("aaaa111"));
    assert_eq!(
        execution(&cp, &b).await.execution_type(),
        Some(&ExecutionType::Standard)
    );

    // GetPipelineState: Deploy runs the rollback; Source and Build still show B.
    let state = cp.get_pipeline_state().name(PIPELINE).send().await.unwrap();
    let stages = state.stage_states();
    for s in &stages[..2] {
        let latest = s.latest_execution().unwrap();
        assert_eq!(latest.pipeline_execution_id(), b);
        assert_eq!(latest.r#type(), Some(&ExecutionType::Standard));
    }
    let deploy = stages[2].latest_execution().unwrap();
    assert_eq!(deploy.pipeline_execution_id(), r);
    assert_eq!(deploy.status(), &StageExecutionStatus::InProgress);
    assert_eq!(deploy.r#type(), Some(&ExecutionType::Rollback));

    succeed(&cp, &job_r).await;
    assert_eq!(status(&cp, &r).await, PipelineExecutionStatus::Succeeded);

    // ListPipelineExecutions: newest first, the rollback with its metadata.
    let list = cp
        .list_pipeline_executions()
        .pipeline_name(PIPELINE)
        .send()
        .await
        .unwrap();
    let summaries = list.pipeline_execution_summaries();
    assert_eq!(summaries.len(), 3);
    let s = &summaries[0];
    assert_eq!(s.pipeline_execution_id(), Some(r.as_str()));
    assert_eq!(s.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_eq!(s.execution_type(), Some(&ExecutionType::Rollback));
    assert_eq!(
        s.trigger().unwrap().trigger_type(),
        Some(&TriggerType::ManualRollback)
    );
    assert_eq!(
        s.rollback_metadata()
            .unwrap()
            .rollback_target_pipeline_execution_id(),
        Some(a.as_str())
    );
    assert_eq!(s.source_revisions()[0].revision_id(), Some("aaaa111"));
    assert!(summaries[1].rollback_metadata().is_none());

    // ListActionExecutions of the rollback: one Deploy action on A's artifact.
    let rows = cp
        .list_action_executions()
        .pipeline_name(PIPELINE)
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(&r)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rows = rows.action_execution_details();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].stage_name(), Some("Deploy"));
    let art = &rows[0].input().unwrap().input_artifacts()[0];
    assert_eq!(
        art.s3_location().unwrap().key(),
        Some(loc.object_key()),
        "A's artifact"
    );
}

#[tokio::test]
async fn rollback_stage_refusals() {
    let (sim, cp) = setup(&["prod"], None).await;
    let (a, _) = release(&sim, &cp, "aaaa111").await;

    // C's Deploy is in progress: the stage cannot be rolled back now.
    let c = push(&sim, "cccc333").await;
    let job_c = take(&cp, "prod").await;
    let (code_, msg) = rollback(&cp, "Deploy", &a).await.unwrap_err();
    assert_eq!(code_, "UnableToRollbackStageException");
    assert!(msg.contains("in progress"), "{msg}");
    fail(&cp, &job_c).await;
    assert_eq!(status(&cp, &c).await, PipelineExecutionStatus::Failed);

    // C never succeeded in Deploy: no rollback target.
    let (code_, msg) = rollback(&cp, "Deploy", &c).await.unwrap_err();
    assert_eq!(code_, "UnableToRollbackStageException");
    assert!(msg.contains("did not succeed"), "{msg}");
    // The source stage.
    assert_eq!(
        rollback(&cp, "Source", &a).await.unwrap_err().0,
        "UnableToRollbackStageException"
    );
    // Unknown execution, stage, pipeline.
    assert_eq!(
        rollback(&cp, "Deploy", "00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err()
            .0,
        "PipelineExecutionNotFoundException"
    );
    assert_eq!(
        rollback(&cp, "Nope", &a).await.unwrap_err().0,
        "StageNotFoundException"
    );
    assert_eq!(
        code(
            cp.rollback_stage()
                .pipeline_name("nope")
                .stage_name("Deploy")
                .target_pipeline_execution_id(&a)
                .send()
                .await
        ),
        "PipelineNotFoundException"
    );
    // Nothing was started by the refusals.
    assert!(poll(&cp, "prod").await.is_empty());

    // V1 pipelines have no stage rollback.
    cp.delete_pipeline().name(PIPELINE).send().await.unwrap();
    cp.create_pipeline()
        .pipeline(pipeline(&["prod"], None, true))
        .send()
        .await
        .unwrap();
    let (a1, _) = release(&sim, &cp, "dddd444").await;
    let (code_, msg) = rollback(&cp, "Deploy", &a1).await.unwrap_err();
    assert_eq!(code_, "ValidationException");
    assert!(msg.contains("V2"), "{msg}");
}

#[tokio::test]
async fn on_failure_rollback_rolls_the_stage_back_to_the_last_success() {
    let rollback_on_failure = FailureConditions::builder()
        .result(StageResult::Rollback)
        .build();
    let (sim, cp) = setup(&["prod"], Some(rollback_on_failure)).await;
    let (a, job_a) = release(&sim, &cp, "aaaa111").await;

    let c = push(&sim, "cccc333").await;
    let job_c = take(&cp, "prod").await;
    fail(&cp, &job_c).await;
    assert_eq!(status(&cp, &c).await, PipelineExecutionStatus::Failed);

    // An AutomatedRollback execution to A started by itself.
    let list = cp
        .list_pipeline_executions()
        .pipeline_name(PIPELINE)
        .send()
        .await
        .unwrap();
    let r = &list.pipeline_execution_summaries()[0];
    let rid = r.pipeline_execution_id().unwrap().to_string();
    assert_eq!(r.status(), Some(&PipelineExecutionStatus::InProgress));
    assert_eq!(r.execution_type(), Some(&ExecutionType::Rollback));
    assert_eq!(
        r.trigger().unwrap().trigger_type(),
        Some(&TriggerType::AutomatedRollback)
    );
    assert_eq!(
        r.rollback_metadata()
            .unwrap()
            .rollback_target_pipeline_execution_id(),
        Some(a.as_str())
    );
    let job_r = take(&cp, "prod").await;
    assert_ne!(job_r.id(), job_c.id());
    assert_eq!(execution_id(&job_r), rid);
    assert_eq!(inputs(&job_r), inputs(&job_a), "A's artifact and revision");
    let state = cp.get_pipeline_state().name(PIPELINE).send().await.unwrap();
    let deploy = state.stage_states()[2].latest_execution().unwrap();
    assert_eq!(deploy.pipeline_execution_id(), rid);
    assert_eq!(deploy.r#type(), Some(&ExecutionType::Rollback));
    succeed(&cp, &job_r).await;
    assert_eq!(status(&cp, &rid).await, PipelineExecutionStatus::Succeeded);
    // The failed execution says where its stage went.
    let summary = execution(&cp, &c).await.status_summary.unwrap();
    assert!(summary.contains(&rid) && summary.contains(&a), "{summary}");
}

#[tokio::test]
async fn on_failure_rollback_without_an_earlier_success_just_fails() {
    let rollback_on_failure = FailureConditions::builder()
        .result(StageResult::Rollback)
        .build();
    let (sim, cp) = setup(&["prod"], Some(rollback_on_failure)).await;
    let c = push(&sim, "cccc333").await;
    let job = take(&cp, "prod").await;
    fail(&cp, &job).await;
    assert_eq!(status(&cp, &c).await, PipelineExecutionStatus::Failed);
    assert!(poll(&cp, "prod").await.is_empty());
    let list = cp
        .list_pipeline_executions()
        .pipeline_name(PIPELINE)
        .send()
        .await
        .unwrap();
    assert_eq!(list.pipeline_execution_summaries().len(), 1);
}

#[tokio::test]
async fn on_failure_retry_reruns_the_failed_action_once_with_a_new_job_then_fails() {
    let retry = FailureConditions::builder()
        .result(StageResult::Retry)
        .retry_configuration(
            RetryConfiguration::builder()
                .retry_mode(StageRetryMode::FailedActions)
                .build(),
        )
        .build();
    let (sim, cp) = setup(&["prod", "staging"], Some(retry)).await;
    let e = push(&sim, "aaaa111").await;
    let prod = take(&cp, "prod").await;
    let staging = take(&cp, "staging").await;
    succeed(&cp, &staging).await;
    fail(&cp, &prod).await;

    // Retried automatically in the same execution: a new job for the failed
    // action only, with the same artifacts.
    assert_eq!(status(&cp, &e).await, PipelineExecutionStatus::InProgress);
    assert!(poll(&cp, "staging").await.is_empty(), "staging succeeded");
    let prod2 = take(&cp, "prod").await;
    assert_ne!(prod2.id(), prod.id(), "a new job id");
    assert_eq!(execution_id(&prod2), e);
    assert_eq!(inputs(&prod2), inputs(&prod));
    let ctx = |j: &Job| {
        j.data()
            .unwrap()
            .pipeline_context()
            .unwrap()
            .action()
            .unwrap()
            .action_execution_id()
            .unwrap()
            .to_string()
    };
    assert_ne!(ctx(&prod2), ctx(&prod), "a new action execution");
    let state = cp.get_pipeline_state().name(PIPELINE).send().await.unwrap();
    let deploy = &state.stage_states()[2];
    assert_eq!(
        deploy.latest_execution().unwrap().status(),
        &StageExecutionStatus::InProgress
    );
    let meta = deploy.retry_stage_metadata().unwrap();
    assert_eq!(meta.auto_stage_retry_attempt(), Some(1));
    assert_eq!(
        meta.latest_retry_trigger(),
        Some(&RetryTrigger::AutomatedStageRetry)
    );

    // The one automatic attempt fails too: the stage and execution fail.
    fail(&cp, &prod2).await;
    assert_eq!(status(&cp, &e).await, PipelineExecutionStatus::Failed);
    assert!(
        poll(&cp, "prod").await.is_empty(),
        "no second automatic retry"
    );
    let rows = cp
        .list_action_executions()
        .pipeline_name(PIPELINE)
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(&e)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let prod_runs = rows
        .action_execution_details()
        .iter()
        .filter(|d| d.action_name() == Some("Canary-prod"))
        .count();
    assert_eq!(prod_runs, 2);
}

#[tokio::test]
async fn on_failure_retry_all_actions_reruns_the_whole_stage() {
    let retry = FailureConditions::builder()
        .result(StageResult::Retry)
        .retry_configuration(
            RetryConfiguration::builder()
                .retry_mode(StageRetryMode::AllActions)
                .build(),
        )
        .build();
    let (sim, cp) = setup(&["prod", "staging"], Some(retry)).await;
    let e = push(&sim, "aaaa111").await;
    let prod = take(&cp, "prod").await;
    let staging = take(&cp, "staging").await;
    succeed(&cp, &staging).await;
    fail(&cp, &prod).await;
    let prod2 = take(&cp, "prod").await;
    let staging2 = take(&cp, "staging").await;
    assert_ne!(staging2.id(), staging.id());
    succeed(&cp, &prod2).await;
    succeed(&cp, &staging2).await;
    assert_eq!(status(&cp, &e).await, PipelineExecutionStatus::Succeeded);
}

#[tokio::test]
async fn unsupported_stage_settings_are_refused_naming_the_field() {
    let sim = e2e::start_sim(SimConfig::default()).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    let refused = |decl: PipelineDeclaration, field: &'static str| {
        let cp = cp.clone();
        async move {
            let (code_, msg) = error(cp.create_pipeline().pipeline(decl).send().await);
            assert_eq!(code_, "ValidationException", "{field}: {msg}");
            assert!(msg.contains(field), "{field} not named in: {msg}");
        }
    };
    let skip = FailureConditions::builder()
        .result(StageResult::Skip)
        .build();
    refused(
        pipeline(&["prod"], Some(skip), false),
        "pipeline.stages.3.member.onFailure.result",
    )
    .await;
    let alarm_rule = RuleDeclaration::builder()
        .name("Errors")
        .rule_type_id(
            RuleTypeId::builder()
                .category(aws_sdk_codepipeline::types::RuleCategory::Rule)
                .provider("CloudWatchAlarm")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let conditions = FailureConditions::builder()
        .result(StageResult::Rollback)
        .conditions(
            Condition::builder()
                .result(StageResult::Rollback)
                .rules(alarm_rule)
                .build(),
        )
        .build();
    refused(
        pipeline(&["prod"], Some(conditions), false),
        "pipeline.stages.3.member.onFailure.conditions",
    )
    .await;
    let mut rollback_on_v1 = pipeline(
        &["prod"],
        Some(
            FailureConditions::builder()
                .result(StageResult::Rollback)
                .build(),
        ),
        true,
    );
    refused(rollback_on_v1.clone(), "pipeline.stages.3.member.onFailure").await;
    rollback_on_v1.stages[2].on_failure = None;
    rollback_on_v1.stages[2].actions[0].timeout_in_minutes = Some(60);
    refused(
        rollback_on_v1,
        "pipeline.stages.3.member.actions.1.member.timeoutInMinutes",
    )
    .await;
    // Nothing was created.
    assert!(
        cp.list_pipelines()
            .send()
            .await
            .unwrap()
            .pipelines()
            .is_empty()
    );
}
