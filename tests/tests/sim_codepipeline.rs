//! aws-sim's CodePipeline through the official Rust SDK: action types,
//! pipelines, executions and the custom-action job protocol (poll → ack →
//! continuation → success), with artifacts read and written through
//! aws-sdk-s3 using the job's artifact credentials.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionConfigurationProperty, ActionDeclaration, ActionExecutionFilter,
    ActionExecutionStatus, ActionOwner, ActionTypeId, ActionTypeSettings, ArtifactDetails,
    ArtifactStore, ArtifactStoreType, CurrentRevision, EncryptionKey, EncryptionKeyType,
    ExecutionDetails, FailureDetails, FailureType, InputArtifact, Job, OutputArtifact,
    PipelineDeclaration, PipelineExecutionStatus, StageDeclaration, StageRetryMode,
};
use e2e::{SimConfig, SimHandle, codepipeline_client, s3_client, sdk_config, sdk_config_with};

const BUCKET: &str = "pipeline-artifacts";
const ROLE: &str = "arn:aws:iam::123456789012:role/pipeline";

/// The SDK's error code of a failed call.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
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

fn prop(name: &str, required: bool, secret: bool, queryable: bool) -> ActionConfigurationProperty {
    ActionConfigurationProperty::builder()
        .name(name)
        .required(required)
        .key(false)
        .secret(secret)
        .queryable(queryable)
        .build()
        .unwrap()
}

fn details(min: i32, max: i32) -> ArtifactDetails {
    ArtifactDetails::builder()
        .minimum_count(min)
        .maximum_count(max)
        .build()
}

/// Registers the `Deploy/Custom/Canary/1` type (queryable `Stage`).
async fn create_canary_type(cp: &Client) {
    cp.create_custom_action_type()
        .category(ActionCategory::Deploy)
        .provider("Canary")
        .version("1")
        .settings(
            ActionTypeSettings::builder()
                .execution_url_template(
                    "https://canary.example/{Config:Stage}/{ExternalExecutionId}",
                )
                .build(),
        )
        .configuration_properties(prop("Stage", true, false, true))
        .configuration_properties(prop("ApiKey", false, true, false))
        .configuration_properties(prop("Commit", false, false, false))
        .input_artifact_details(details(1, 1))
        .output_artifact_details(details(0, 1))
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

fn stage(name: &str, actions: Vec<ActionDeclaration>) -> StageDeclaration {
    StageDeclaration::builder()
        .name(name)
        .set_actions(Some(actions))
        .build()
        .unwrap()
}

fn github_source() -> ActionDeclaration {
    let mut a = action(
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
    a.namespace = Some("SourceVariables".into());
    a
}

/// Source (GitHub) → Build (CodeBuild pass-through) → Deploy (one Canary
/// action per stage value, each reading the build output).
fn pipeline(name: &str, deploy_stages: &[&str], kms: bool) -> PipelineDeclaration {
    let deploys = deploy_stages
        .iter()
        .map(|s| {
            action(
                &format!("Canary-{s}"),
                canary(),
                &[
                    ("Stage", s),
                    ("ApiKey", "s3cr3t"),
                    ("Commit", "#{SourceVariables.CommitId}"),
                ],
                &["BuildArtifact"],
                &[],
            )
        })
        .collect();
    let mut store = ArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location(BUCKET);
    if kms {
        store = store.encryption_key(
            EncryptionKey::builder()
                .id("arn:aws:kms:us-east-1:123456789012:key/artifact-key")
                .r#type(EncryptionKeyType::Kms)
                .build()
                .unwrap(),
        );
    }
    PipelineDeclaration::builder()
        .name(name)
        .role_arn(ROLE)
        .artifact_store(store.build().unwrap())
        .stages(stage("Source", vec![github_source()]))
        .stages(stage(
            "Build",
            vec![action(
                "Build",
                type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
                &[("ProjectName", "collect-build")],
                &["SourceArtifact"],
                &["BuildArtifact"],
            )],
        ))
        .stages(stage("Deploy", deploys))
        .build()
        .unwrap()
}

/// A tiny zip archive standing in for the repository snapshot.
fn repo_zip(marker: &str) -> Vec<u8> {
    // Not a real zip: the sim and the tests treat artifacts as opaque bytes.
    format!("PK\u{3}\u{4}repository snapshot {marker}").into_bytes()
}

async fn push(sim: &SimHandle, commit: &str, pipeline: Option<&str>) -> Vec<String> {
    use base64::Engine;
    let mut body = serde_json::json!({
        "repository": "acme/collect", "branch": "main", "commitId": commit,
        "message": format!("commit {commit}"),
        "zip": base64::engine::general_purpose::STANDARD.encode(repo_zip(commit)),
    });
    if let Some(p) = pipeline {
        body["pipeline"] = serde_json::json!(p);
    }
    let out = aws_sim::codepipeline::push(sim.sim(), &body).await.unwrap();
    out["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pipelineExecutionId"].as_str().unwrap().to_string())
        .collect()
}

async fn setup(config: SimConfig, deploy_stages: &[&str]) -> (SimHandle, Client) {
    let sim = e2e::start_sim(config).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    cp.create_pipeline()
        .pipeline(pipeline("collect", deploy_stages, true))
        .send()
        .await
        .unwrap();
    (sim, cp)
}

async fn poll(cp: &Client, stage: &str, max: i32) -> Vec<Job> {
    cp.poll_for_jobs()
        .action_type_id(canary())
        .max_batch_size(max)
        .query_param("Stage", stage)
        .send()
        .await
        .unwrap()
        .jobs
        .unwrap_or_default()
}

/// Polls until a job shows up (the pipeline reaches Deploy asynchronously
/// only when timers are involved; normally the first poll has it).
async fn poll_one(cp: &Client, stage: &str) -> Job {
    for _ in 0..200 {
        let mut jobs = poll(cp, stage, 1).await;
        if let Some(j) = jobs.pop() {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no job for stage {stage}");
}

async fn ack(cp: &Client, job: &Job) {
    let out = cp
        .acknowledge_job()
        .job_id(job.id().unwrap())
        .nonce(job.nonce().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().unwrap().as_str(), "InProgress");
}

async fn execution_status(cp: &Client, id: &str) -> PipelineExecutionStatus {
    cp.get_pipeline_execution()
        .pipeline_name("collect")
        .pipeline_execution_id(id)
        .send()
        .await
        .unwrap()
        .pipeline_execution
        .unwrap()
        .status
        .unwrap()
}

fn job_s3(sim: &SimHandle, job: &Job) -> aws_sdk_s3::Client {
    let c = job.data().unwrap().artifact_credentials().unwrap();
    creds_s3(sim, c)
}

fn creds_s3(
    sim: &SimHandle,
    c: &aws_sdk_codepipeline::types::AwsSessionCredentials,
) -> aws_sdk_s3::Client {
    s3_client(&sdk_config_with(
        &sim.endpoint(),
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "job",
        ),
        e2e::REGION,
    ))
}

async fn read_artifact(
    s3: &aws_sdk_s3::Client,
    a: &aws_sdk_codepipeline::types::Artifact,
) -> Result<Vec<u8>, String> {
    let loc = a.location().unwrap().s3_location().unwrap();
    match s3
        .get_object()
        .bucket(loc.bucket_name())
        .key(loc.object_key())
        .send()
        .await
    {
        Ok(o) => Ok(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) => Err(aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
            .unwrap_or("<none>")
            .to_string()),
    }
}

#[tokio::test]
async fn custom_action_types_enforce_the_rules() {
    let sim = e2e::sim_with_scale(1.0).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    // Identical again: no error.
    create_canary_type(&cp).await;
    let base = || {
        cp.create_custom_action_type()
            .category(ActionCategory::Deploy)
            .provider("Canary")
            .version("1")
            .input_artifact_details(details(1, 1))
            .output_artifact_details(details(0, 1))
    };
    // Same version, different definition.
    assert_eq!(
        code(
            base()
                .configuration_properties(prop("Stage", true, false, true))
                .send()
                .await
        ),
        "ValidationException"
    );
    let v2 = |p: Vec<ActionConfigurationProperty>| {
        cp.create_custom_action_type()
            .category(ActionCategory::Deploy)
            .provider("Canary")
            .version("2")
            .set_configuration_properties(Some(p))
            .input_artifact_details(details(0, 0))
            .output_artifact_details(details(0, 0))
    };
    // Queryable must be required and not secret; at most one; at most 10 properties.
    assert_eq!(
        code(v2(vec![prop("A", false, false, true)]).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(v2(vec![prop("A", true, true, true)]).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(
            v2(vec![
                prop("A", true, false, true),
                prop("B", true, false, true)
            ])
            .send()
            .await
        ),
        "ValidationException"
    );
    let eleven = (0..11)
        .map(|i| prop(&format!("P{i}"), false, false, false))
        .collect();
    assert_eq!(code(v2(eleven).send().await), "ValidationException");
    assert_eq!(
        code(
            v2(vec![prop(&"n".repeat(51), false, false, false)])
                .send()
                .await
        ),
        "ValidationException"
    );
    // Provider and version patterns, artifact counts.
    assert_eq!(
        code(
            cp.create_custom_action_type()
                .category(ActionCategory::Deploy)
                .provider("bad provider!")
                .version("1")
                .input_artifact_details(details(0, 0))
                .output_artifact_details(details(0, 0))
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.create_custom_action_type()
                .category(ActionCategory::Deploy)
                .provider("P")
                .version("1234567890")
                .input_artifact_details(details(0, 0))
                .output_artifact_details(details(0, 0))
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.create_custom_action_type()
                .category(ActionCategory::Deploy)
                .provider("P")
                .version("1")
                .input_artifact_details(details(2, 1))
                .output_artifact_details(details(0, 0))
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.create_custom_action_type()
                .category(ActionCategory::Deploy)
                .provider("P")
                .version("1")
                .input_artifact_details(details(0, 6))
                .output_artifact_details(details(0, 0))
                .send()
                .await
        ),
        "ValidationException"
    );
    v2(vec![prop("A", true, false, true)]).send().await.unwrap();

    let all = cp.list_action_types().send().await.unwrap();
    let providers: Vec<String> = all
        .action_types()
        .iter()
        .map(|t| t.id().unwrap().provider().to_string())
        .collect();
    for p in ["S3", "CodeStarSourceConnection", "CodeBuild", "Canary"] {
        assert!(providers.iter().any(|x| x == p), "{providers:?}");
    }
    let custom = cp
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(custom.action_types().len(), 2);
    let t = &custom.action_types()[0];
    assert_eq!(t.action_configuration_properties().len(), 3);
    assert!(t.action_configuration_properties()[0].queryable());

    cp.delete_custom_action_type()
        .category(ActionCategory::Deploy)
        .provider("Canary")
        .version("2")
        .send()
        .await
        .unwrap();
    let custom = cp
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(custom.action_types().len(), 1);
    // A deleted version cannot come back.
    assert_eq!(
        code(v2(vec![prop("A", true, false, true)]).send().await),
        "ValidationException"
    );
    // Polling an unknown type.
    assert_eq!(
        code(
            cp.poll_for_jobs()
                .action_type_id(type_id(ActionCategory::Deploy, ActionOwner::Custom, "Nope"))
                .send()
                .await
        ),
        "ActionTypeNotFoundException"
    );
}

#[tokio::test]
async fn pipelines_are_validated_and_versioned() {
    let sim = e2e::sim_with_scale(1.0).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    let good = pipeline("collect", &["prod"], false);

    let mut one_stage = good.clone();
    one_stage.stages.truncate(1);
    assert_eq!(
        code(cp.create_pipeline().pipeline(one_stage).send().await),
        "InvalidStructureException"
    );
    let mut deploy_first = good.clone();
    deploy_first.stages.swap(0, 2);
    assert_eq!(
        code(cp.create_pipeline().pipeline(deploy_first).send().await),
        "InvalidStructureException"
    );
    let mut unknown = good.clone();
    unknown.stages[1].actions[0].action_type_id = Some(type_id(
        ActionCategory::Build,
        ActionOwner::Aws,
        "Jenkins9000",
    ));
    assert_eq!(
        code(cp.create_pipeline().pipeline(unknown).send().await),
        "InvalidActionDeclarationException"
    );
    let mut no_stage_cfg = good.clone();
    no_stage_cfg.stages[2].actions[0]
        .configuration
        .as_mut()
        .unwrap()
        .remove("Stage");
    assert_eq!(
        code(cp.create_pipeline().pipeline(no_stage_cfg).send().await),
        "InvalidActionDeclarationException"
    );
    let mut dangling = good.clone();
    dangling.stages[2].actions[0].input_artifacts = Some(vec![
        InputArtifact::builder().name("Nowhere").build().unwrap(),
    ]);
    assert_eq!(
        code(cp.create_pipeline().pipeline(dangling).send().await),
        "InvalidStructureException"
    );
    let mut dup = good.clone();
    let extra = dup.stages[2].actions[0].clone();
    dup.stages[2].actions.push(extra);
    assert_eq!(
        code(cp.create_pipeline().pipeline(dup).send().await),
        "InvalidStructureException"
    );

    let created = cp
        .create_pipeline()
        .pipeline(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.pipeline().unwrap().version(), Some(1));
    assert_eq!(
        code(cp.create_pipeline().pipeline(good.clone()).send().await),
        "PipelineNameInUseException"
    );

    let got = cp.get_pipeline().name("collect").send().await.unwrap();
    let p = got.pipeline().unwrap();
    let cfg = p.stages()[2].actions()[0].configuration().unwrap();
    assert_eq!(cfg["ApiKey"], "****", "secret values are masked");
    assert_eq!(cfg["Stage"], "prod");
    assert_eq!(
        got.metadata().unwrap().pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:123456789012:collect")
    );
    let mut upd = p.clone();
    upd.stages[2].actions[0]
        .configuration
        .as_mut()
        .unwrap()
        .insert("Stage".into(), "live".into());
    let updated = cp.update_pipeline().pipeline(upd).send().await.unwrap();
    assert_eq!(updated.pipeline().unwrap().version(), Some(2));
    let listed = cp.list_pipelines().send().await.unwrap();
    assert_eq!(listed.pipelines().len(), 1);
    assert_eq!(listed.pipelines()[0].version(), Some(2));
    // The masked secret was kept: the job carries the real value.
    push(&sim, "c0ffee", None).await;
    let job = poll_one(&cp, "live").await;
    let cfg = job
        .data()
        .unwrap()
        .action_configuration()
        .unwrap()
        .configuration()
        .unwrap();
    assert_eq!(cfg["ApiKey"], "s3cr3t");
    assert_eq!(
        cfg["Commit"], "c0ffee",
        "variables are resolved in job configuration"
    );

    assert_eq!(
        code(cp.get_pipeline().name("nope").send().await),
        "PipelineNotFoundException"
    );
    assert_eq!(
        code(cp.get_pipeline_state().name("nope").send().await),
        "PipelineNotFoundException"
    );
    assert_eq!(
        code(cp.start_pipeline_execution().name("nope").send().await),
        "PipelineNotFoundException"
    );
    assert_eq!(
        code(
            cp.get_pipeline_execution()
                .pipeline_name("collect")
                .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "PipelineExecutionNotFoundException"
    );
    cp.delete_pipeline().name("collect").send().await.unwrap();
    assert_eq!(
        code(cp.get_pipeline().name("collect").send().await),
        "PipelineNotFoundException"
    );
    assert!(
        cp.list_pipelines()
            .send()
            .await
            .unwrap()
            .pipelines()
            .is_empty()
    );
}

/// A push runs Source → CodeBuild (pass-through) → a Canary job that goes
/// through poll → ack → success with a continuation token → a new job (new
/// id and nonce, token carried) → final success with output variables.
#[tokio::test]
async fn push_runs_the_pipeline_and_a_job_continues_to_success() {
    let (sim, cp) = setup(
        SimConfig {
            continuation_delay: Duration::from_secs(1),
            time_scale: 100.0,
            ..Default::default()
        },
        &["prod"],
    )
    .await;
    let ids = push(&sim, "1a2b3c4d", None).await;
    assert_eq!(ids.len(), 1);
    let exec = &ids[0];

    let job = poll_one(&cp, "prod").await;
    let data = job.data().unwrap();
    let ctx = data.pipeline_context().unwrap();
    assert_eq!(ctx.pipeline_name(), Some("collect"));
    assert_eq!(ctx.pipeline_execution_id(), Some(exec.as_str()));
    assert_eq!(ctx.stage().unwrap().name(), Some("Deploy"));
    assert_eq!(ctx.action().unwrap().name(), Some("Canary-prod"));
    assert_eq!(
        data.encryption_key().unwrap().id(),
        "arn:aws:kms:us-east-1:123456789012:key/artifact-key"
    );
    let input = &data.input_artifacts()[0];
    assert_eq!(input.name(), Some("BuildArtifact"));
    assert_eq!(input.revision(), Some("1a2b3c4d"));
    let loc = input.location().unwrap().s3_location().unwrap();
    assert_eq!(loc.bucket_name(), BUCKET);
    let parts: Vec<&str> = loc.object_key().split('/').collect();
    assert_eq!(
        &parts[..2],
        &["collect", "BuildArtif"],
        "key {}",
        loc.object_key()
    );
    assert_eq!(parts[2].len(), 7);
    // CodeBuild is a pass-through: the build output is the pushed zip.
    let s3 = job_s3(&sim, &job);
    assert_eq!(
        read_artifact(&s3, input).await.unwrap(),
        repo_zip("1a2b3c4d")
    );
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key(loc.object_key())
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.ssekms_key_id(),
        Some("arn:aws:kms:us-east-1:123456789012:key/artifact-key")
    );

    ack(&cp, &job).await;
    cp.put_job_success_result()
        .job_id(job.id().unwrap())
        .continuation_token("shift-10")
        .execution_details(
            ExecutionDetails::builder()
                .summary("10% of traffic on the new version")
                .external_execution_id("release-42")
                .percent_complete(10)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The state shows the progress while the next job waits.
    let state = cp
        .get_pipeline_state()
        .name("collect")
        .send()
        .await
        .unwrap();
    let deploy = &state.stage_states()[2];
    let latest = deploy.action_states()[0].latest_execution().unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::InProgress));
    assert_eq!(latest.summary(), Some("10% of traffic on the new version"));
    assert_eq!(latest.percent_complete(), Some(10));
    assert_eq!(latest.external_execution_id(), Some("release-42"));
    assert_eq!(
        latest.external_execution_url(),
        Some("https://canary.example/prod/release-42")
    );
    // The finished job is terminal.
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(job.id().unwrap())
                .send()
                .await
        ),
        "InvalidJobStateException"
    );

    let next = poll_one(&cp, "prod").await;
    assert_ne!(next.id(), job.id(), "a continuation is a new job");
    assert_ne!(next.nonce(), job.nonce());
    assert_eq!(next.data().unwrap().continuation_token(), Some("shift-10"));
    assert_eq!(
        next.data()
            .unwrap()
            .pipeline_context()
            .unwrap()
            .action()
            .unwrap()
            .action_execution_id(),
        ctx.action().unwrap().action_execution_id(),
        "same action execution"
    );
    ack(&cp, &next).await;
    // outputVariables are refused together with a continuation token.
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(next.id().unwrap())
                .continuation_token("t")
                .output_variables("a", "b")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(next.id().unwrap())
                .execution_details(ExecutionDetails::builder().percent_complete(101).build())
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(next.id().unwrap())
                .current_revision(
                    CurrentRevision::builder()
                        .revision("r".repeat(1501))
                        .change_identifier("c")
                        .build()
                        .unwrap()
                )
                .send()
                .await
        ),
        "ValidationException"
    );
    cp.put_job_success_result()
        .job_id(next.id().unwrap())
        .output_variables("ReleaseId", "release-42")
        .execution_details(
            ExecutionDetails::builder()
                .summary("released")
                .percent_complete(100)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, exec).await,
        PipelineExecutionStatus::Succeeded
    );

    let pe = cp
        .get_pipeline_execution()
        .pipeline_name("collect")
        .pipeline_execution_id(exec)
        .send()
        .await
        .unwrap();
    let revs = pe.pipeline_execution().unwrap().artifact_revisions();
    assert_eq!(revs[0].revision_id(), Some("1a2b3c4d"));
    assert_eq!(revs[0].revision_summary(), Some("commit 1a2b3c4d"));
    let list = cp
        .list_pipeline_executions()
        .pipeline_name("collect")
        .send()
        .await
        .unwrap();
    let summary = &list.pipeline_execution_summaries()[0];
    assert_eq!(summary.pipeline_execution_id(), Some(exec.as_str()));
    assert_eq!(
        summary.source_revisions()[0].revision_id(),
        Some("1a2b3c4d")
    );

    let actions = cp
        .list_action_executions()
        .pipeline_name("collect")
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(exec)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rows = actions.action_execution_details();
    assert_eq!(rows.len(), 3);
    let deploy = rows
        .iter()
        .find(|r| r.action_name() == Some("Canary-prod"))
        .unwrap();
    assert_eq!(deploy.status(), Some(&ActionExecutionStatus::Succeeded));
    let input = deploy.input().unwrap();
    assert_eq!(input.action_type_id().unwrap().provider(), "Canary");
    assert_eq!(input.configuration().unwrap()["ApiKey"], "****");
    assert_eq!(
        input.resolved_configuration().unwrap()["Commit"],
        "1a2b3c4d"
    );
    let output = deploy.output().unwrap();
    assert_eq!(
        output.output_variables().unwrap()["ReleaseId"],
        "release-42"
    );
    let result = output.execution_result().unwrap();
    assert_eq!(result.external_execution_id(), Some("release-42"));
    assert_eq!(result.external_execution_summary(), Some("released"));
    assert_eq!(
        result.external_execution_url(),
        Some("https://canary.example/prod/release-42")
    );
    let build = rows
        .iter()
        .find(|r| r.action_name() == Some("Build"))
        .unwrap();
    assert_eq!(build.status(), Some(&ActionExecutionStatus::Succeeded));
}

#[tokio::test]
async fn exactly_one_of_two_racing_acknowledgements_wins() {
    let (sim, cp) = setup(SimConfig::default(), &["prod"]).await;
    push(&sim, "abc", None).await;
    let job = poll_one(&cp, "prod").await;
    assert!(
        poll(&cp, "prod", 10).await.is_empty(),
        "a dispatched job is not handed out twice"
    );
    let cp2 = codepipeline_client(&sdk_config(&sim.endpoint()));
    let (a, b) = tokio::join!(
        cp.acknowledge_job()
            .job_id(job.id().unwrap())
            .nonce(job.nonce().unwrap())
            .send(),
        cp2.acknowledge_job()
            .job_id(job.id().unwrap())
            .nonce(job.nonce().unwrap())
            .send(),
    );
    let oks = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(oks, 1, "exactly one worker proceeds");
    let loser = if a.is_ok() {
        b.map(|_| ())
    } else {
        a.map(|_| ())
    };
    assert_eq!(code(loser), "InvalidNonceException");
    // Wrong nonce, unknown job.
    assert_eq!(
        code(
            cp.acknowledge_job()
                .job_id(job.id().unwrap())
                .nonce("999")
                .send()
                .await
        ),
        "InvalidNonceException"
    );
    assert_eq!(
        code(
            cp.acknowledge_job()
                .job_id("00000000-0000-0000-0000-000000000000")
                .nonce("1")
                .send()
                .await
        ),
        "JobNotFoundException"
    );
    assert_eq!(
        code(
            cp.get_job_details()
                .job_id("00000000-0000-0000-0000-000000000000")
                .send()
                .await
        ),
        "JobNotFoundException"
    );
    assert_eq!(
        code(
            cp.put_job_failure_result()
                .job_id("00000000-0000-0000-0000-000000000000")
                .failure_details(
                    FailureDetails::builder()
                        .r#type(FailureType::JobFailed)
                        .message("x")
                        .build()
                        .unwrap()
                )
                .send()
                .await
        ),
        "JobNotFoundException"
    );
}

#[tokio::test]
async fn unacknowledged_job_is_requeued_with_a_new_nonce() {
    let (sim, cp) = setup(
        SimConfig {
            ack_timeout: Duration::from_secs(30),
            ..Default::default()
        },
        &["prod"],
    )
    .await;
    push(&sim, "abc", None).await;
    let first = poll_one(&cp, "prod").await;
    // A result before the acknowledgement is refused.
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(first.id().unwrap())
                .send()
                .await
        ),
        "InvalidJobStateException"
    );
    sim.sim().clock.advance(Duration::from_secs(31));
    let again = poll_one(&cp, "prod").await;
    assert_eq!(again.id(), first.id(), "the same job comes back");
    assert_ne!(again.nonce(), first.nonce(), "with a new nonce");
    assert_eq!(
        code(
            cp.acknowledge_job()
                .job_id(first.id().unwrap())
                .nonce(first.nonce().unwrap())
                .send()
                .await
        ),
        "InvalidNonceException"
    );
    ack(&cp, &again).await;
}

#[tokio::test]
async fn queryable_property_routes_jobs_to_their_pollers() {
    let (sim, cp) = setup(SimConfig::default(), &["prod", "staging"]).await;
    push(&sim, "abc", None).await;
    let mut prod = Vec::new();
    let mut staging = Vec::new();
    for _ in 0..100 {
        prod.extend(poll(&cp, "prod", 10).await);
        staging.extend(poll(&cp, "staging", 10).await);
        if !prod.is_empty() && !staging.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(prod.len(), 1);
    assert_eq!(staging.len(), 1);
    let stage_of = |j: &Job| {
        j.data()
            .unwrap()
            .action_configuration()
            .unwrap()
            .configuration()
            .unwrap()["Stage"]
            .clone()
    };
    assert_eq!(stage_of(&prod[0]), "prod");
    assert_eq!(stage_of(&staging[0]), "staging");
    assert!(poll(&cp, "other", 10).await.is_empty());
    // The queryable property must be given, and by its name.
    assert_eq!(
        code(cp.poll_for_jobs().action_type_id(canary()).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.poll_for_jobs()
                .action_type_id(canary())
                .query_param("Commit", "prod")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            cp.poll_for_jobs()
                .action_type_id(canary())
                .max_batch_size(0)
                .query_param("Stage", "prod")
                .send()
                .await
        ),
        "ValidationException"
    );
}

#[tokio::test]
async fn retry_stage_reruns_failed_action_with_same_artifacts() {
    let (sim, cp) = setup(SimConfig::default(), &["prod"]).await;
    let exec = push(&sim, "abc", None).await.remove(0);
    let job = poll_one(&cp, "prod").await;
    ack(&cp, &job).await;
    assert_eq!(
        code(
            cp.put_job_failure_result()
                .job_id(job.id().unwrap())
                .failure_details(
                    FailureDetails::builder()
                        .r#type(FailureType::JobFailed)
                        .message("")
                        .build()
                        .unwrap()
                )
                .send()
                .await
        ),
        "ValidationException"
    );
    cp.put_job_failure_result()
        .job_id(job.id().unwrap())
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("alarm Errors fired; rolled back")
                .external_execution_id("release-1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, &exec).await,
        PipelineExecutionStatus::Failed
    );
    let state = cp
        .get_pipeline_state()
        .name("collect")
        .send()
        .await
        .unwrap();
    let latest = state.stage_states()[2].action_states()[0]
        .latest_execution()
        .unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Failed));
    let err = latest.error_details().unwrap();
    assert_eq!(err.code(), Some("JobFailed"));
    assert_eq!(err.message(), Some("alarm Errors fired; rolled back"));
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(job.id().unwrap())
                .send()
                .await
        ),
        "InvalidJobStateException"
    );
    // Build succeeded: not retryable.
    assert_eq!(
        code(
            cp.retry_stage_execution()
                .pipeline_name("collect")
                .stage_name("Build")
                .pipeline_execution_id(&exec)
                .retry_mode(StageRetryMode::FailedActions)
                .send()
                .await
        ),
        "StageNotRetryableException"
    );
    let out = cp
        .retry_stage_execution()
        .pipeline_name("collect")
        .stage_name("Deploy")
        .pipeline_execution_id(&exec)
        .retry_mode(StageRetryMode::FailedActions)
        .send()
        .await
        .unwrap();
    assert_eq!(out.pipeline_execution_id(), Some(exec.as_str()));
    let retry = poll_one(&cp, "prod").await;
    assert_ne!(retry.id(), job.id(), "a retry is a new job");
    let (d0, d1) = (job.data().unwrap(), retry.data().unwrap());
    assert_eq!(
        d1.pipeline_context().unwrap().pipeline_execution_id(),
        Some(exec.as_str())
    );
    assert_eq!(
        d1.input_artifacts(),
        d0.input_artifacts(),
        "same artifacts, same revision"
    );
    ack(&cp, &retry).await;
    cp.put_job_success_result()
        .job_id(retry.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, &exec).await,
        PipelineExecutionStatus::Succeeded
    );

    // ALL_ACTIONS on a later failure.
    let exec2 = push(&sim, "def", None).await.remove(0);
    let j = poll_one(&cp, "prod").await;
    ack(&cp, &j).await;
    cp.put_job_failure_result()
        .job_id(j.id().unwrap())
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::SystemUnavailable)
                .message("down")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The older execution is not the latest in Deploy any more.
    assert_eq!(
        code(
            cp.retry_stage_execution()
                .pipeline_name("collect")
                .stage_name("Deploy")
                .pipeline_execution_id(&exec)
                .retry_mode(StageRetryMode::AllActions)
                .send()
                .await
        ),
        "StageNotRetryableException"
    );
    cp.retry_stage_execution()
        .pipeline_name("collect")
        .stage_name("Deploy")
        .pipeline_execution_id(&exec2)
        .retry_mode(StageRetryMode::AllActions)
        .send()
        .await
        .unwrap();
    let j2 = poll_one(&cp, "prod").await;
    assert_eq!(
        j2.data().unwrap().input_artifacts()[0].revision(),
        Some("def")
    );
}

#[tokio::test]
async fn artifact_credentials_expire_and_get_job_details_refreshes_them() {
    let (sim, cp) = setup(
        SimConfig {
            credential_ttl: Duration::from_millis(1500),
            ..Default::default()
        },
        &["prod"],
    )
    .await;
    push(&sim, "abc", None).await;
    let job = poll_one(&cp, "prod").await;
    ack(&cp, &job).await;
    let input = job.data().unwrap().input_artifacts()[0].clone();
    let s3 = job_s3(&sim, &job);
    assert!(read_artifact(&s3, &input).await.is_ok());
    // Account credentials are refused on the artifact bucket.
    let account = s3_client(&sdk_config(&sim.endpoint()));
    assert_eq!(
        read_artifact(&account, &input).await.unwrap_err(),
        "AccessDenied"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(
        read_artifact(&s3, &input).await.unwrap_err(),
        "ExpiredToken"
    );
    let fresh = cp
        .get_job_details()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
    let details = fresh.job_details().unwrap();
    assert_eq!(details.id(), job.id());
    let creds = details.data().unwrap().artifact_credentials().unwrap();
    assert_ne!(
        creds.access_key_id(),
        job.data()
            .unwrap()
            .artifact_credentials()
            .unwrap()
            .access_key_id()
    );
    assert_eq!(
        read_artifact(&creds_s3(&sim, creds), &input).await.unwrap(),
        repo_zip("abc")
    );
}

#[tokio::test]
async fn stop_pipeline_execution_abandon_and_wait() {
    let (sim, cp) = setup(SimConfig::default(), &["prod"]).await;
    let exec = push(&sim, "abc", None).await.remove(0);
    let job = poll_one(&cp, "prod").await;
    ack(&cp, &job).await;
    cp.stop_pipeline_execution()
        .pipeline_name("collect")
        .pipeline_execution_id(&exec)
        .abandon(true)
        .reason("bad release")
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, &exec).await,
        PipelineExecutionStatus::Stopped
    );
    assert_eq!(
        code(
            cp.put_job_success_result()
                .job_id(job.id().unwrap())
                .send()
                .await
        ),
        "InvalidJobStateException"
    );
    assert_eq!(
        code(
            cp.stop_pipeline_execution()
                .pipeline_name("collect")
                .pipeline_execution_id(&exec)
                .send()
                .await
        ),
        "PipelineExecutionNotStoppableException"
    );
    let state = cp
        .get_pipeline_state()
        .name("collect")
        .send()
        .await
        .unwrap();
    let latest = state.stage_states()[2].action_states()[0]
        .latest_execution()
        .unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Abandoned));

    // Stop and wait: the in-flight job finishes, nothing after it starts.
    let exec2 = push(&sim, "def", None).await.remove(0);
    let job2 = poll_one(&cp, "prod").await;
    ack(&cp, &job2).await;
    cp.stop_pipeline_execution()
        .pipeline_name("collect")
        .pipeline_execution_id(&exec2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, &exec2).await,
        PipelineExecutionStatus::Stopping
    );
    assert_eq!(
        code(
            cp.stop_pipeline_execution()
                .pipeline_name("collect")
                .pipeline_execution_id(&exec2)
                .send()
                .await
        ),
        "DuplicatedStopRequestException"
    );
    cp.put_job_success_result()
        .job_id(job2.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution_status(&cp, &exec2).await,
        PipelineExecutionStatus::Stopped
    );
    let list = cp
        .list_pipeline_executions()
        .pipeline_name("collect")
        .send()
        .await
        .unwrap();
    assert_eq!(
        list.pipeline_execution_summaries()[1]
            .stop_trigger()
            .unwrap()
            .reason(),
        Some("bad release")
    );
}

#[tokio::test]
async fn s3_source_takes_the_current_object_and_start_reuses_the_last_push() {
    let sim = e2e::sim_with_scale(1.0).await;
    let conf = sdk_config(&sim.endpoint());
    let cp = codepipeline_client(&conf);
    let s3 = s3_client(&conf);
    create_canary_type(&cp).await;
    s3.create_bucket().bucket("sources").send().await.unwrap();
    s3.put_object()
        .bucket("sources")
        .key("app.zip")
        .body(b"v1".to_vec().into())
        .send()
        .await
        .unwrap();
    let mut decl = pipeline("collect", &["prod"], false);
    decl.stages[0].actions = vec![action(
        "S3Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[("S3Bucket", "sources"), ("S3ObjectKey", "app.zip")],
        &[],
        &["SourceArtifact"],
    )];
    decl.stages[2].actions[0]
        .configuration
        .as_mut()
        .unwrap()
        .remove("Commit");
    cp.create_pipeline().pipeline(decl).send().await.unwrap();
    let put = s3
        .put_object()
        .bucket("sources")
        .key("app.zip")
        .body(b"v2".to_vec().into())
        .send()
        .await
        .unwrap();
    let exec = cp
        .start_pipeline_execution()
        .name("collect")
        .send()
        .await
        .unwrap();
    let exec = exec.pipeline_execution_id().unwrap();
    let job = poll_one(&cp, "prod").await;
    let input = &job.data().unwrap().input_artifacts()[0];
    let etag = put.e_tag().unwrap().trim_matches('"').to_string();
    assert_eq!(input.revision(), Some(etag.as_str()));
    assert_eq!(
        read_artifact(&job_s3(&sim, &job), input).await.unwrap(),
        b"v2"
    );
    let pe = cp
        .get_pipeline_execution()
        .pipeline_name("collect")
        .pipeline_execution_id(exec)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pe.pipeline_execution().unwrap().artifact_revisions()[0].revision_id(),
        Some(etag.as_str())
    );

    // A GitHub pipeline started by hand: fails without a push, re-uses the last one after.
    cp.create_pipeline()
        .pipeline(pipeline("gh", &["gh"], false))
        .send()
        .await
        .unwrap();
    let e1 = cp
        .start_pipeline_execution()
        .name("gh")
        .send()
        .await
        .unwrap();
    let status = cp
        .get_pipeline_execution()
        .pipeline_name("gh")
        .pipeline_execution_id(e1.pipeline_execution_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.pipeline_execution().unwrap().status(),
        Some(&PipelineExecutionStatus::Failed)
    );
    let started = push(&sim, "feedbeef", Some("gh")).await;
    assert_eq!(started.len(), 1, "a named push starts only that pipeline");
    let j = poll_one(&cp, "gh").await;
    assert_eq!(
        j.data().unwrap().input_artifacts()[0].revision(),
        Some("feedbeef")
    );
    let e3 = cp
        .start_pipeline_execution()
        .name("gh")
        .send()
        .await
        .unwrap();
    let actions = cp
        .list_action_executions()
        .pipeline_name("gh")
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(e3.pipeline_execution_id().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let src = actions
        .action_execution_details()
        .iter()
        .find(|r| r.action_name() == Some("GitHub"))
        .unwrap();
    assert_eq!(src.status(), Some(&ActionExecutionStatus::Succeeded));
    assert_eq!(
        src.output()
            .unwrap()
            .execution_result()
            .unwrap()
            .external_execution_id(),
        Some("feedbeef")
    );
}

/// One unsigned raw POST to the sim (`target` = an `X-Amz-Target` header or
/// `None` for the control API): `(status, JSON body)`.
async fn raw_post(
    sim: &SimHandle,
    path: &str,
    target: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_vec(body).unwrap();
    let target = target
        .map(|t| format!("X-Amz-Target: {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{target}Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sim.addr(),
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response (connection dropped?): {text:?}"));
    (
        headers[9..12].parse().unwrap(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn hostile_timestamps_and_clock_inputs_get_errors_and_the_sim_keeps_answering() {
    let sim = e2e::start_sim(SimConfig::default()).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));

    // Review P1-5: currentRevision.created = 1e30 panicked in
    // Duration::from_secs_f64 (validation runs before the job lookup).
    let (status, body) = raw_post(
        &sim,
        "/",
        Some("CodePipeline_20150709.PutJobSuccessResult"),
        &serde_json::json!({"jobId": "11111111-1111-1111-1111-111111111111",
            "currentRevision": {"revision": "r", "changeIdentifier": "c", "created": 1e30}}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException")),
        "{body}"
    );

    // Review P1-7: timeScale 1e300 made every clock read panic; advanceSeconds
    // 1e20 panicked and 1e19 overflowed SystemTime under the clock lock.
    let before = sim.sim().clock.now();
    for bad in [
        serde_json::json!({"timeScale": 1e300}),
        serde_json::json!({"timeScale": 1_000_001.0}),
        serde_json::json!({"timeScale": -1}),
        serde_json::json!({"advanceSeconds": 1e20}),
        serde_json::json!({"advanceSeconds": 1e19}),
        serde_json::json!({"advanceSeconds": 316_000_000.0}),
        serde_json::json!({"advanceSeconds": -1}),
    ] {
        let (status, body) = raw_post(&sim, "/_sim/clock", None, &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
    assert_eq!(sim.sim().clock.scale(), 1.0);
    let jumped = sim.sim().clock.now().duration_since(before).unwrap();
    assert!(jumped < Duration::from_secs(60), "{jumped:?}");
    // Scale 0 freezes simulated time; an advance still moves it.
    let (status, _) = raw_post(
        &sim,
        "/_sim/clock",
        None,
        &serde_json::json!({"timeScale": 0}),
    )
    .await;
    assert_eq!(status, 200);
    let frozen = sim.sim().clock.now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(sim.sim().clock.now(), frozen);
    let (status, _) = raw_post(
        &sim,
        "/_sim/clock",
        None,
        &serde_json::json!({"advanceSeconds": 30}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sim.sim().clock.now(), frozen + Duration::from_secs(30));
    let (status, _) = raw_post(
        &sim,
        "/_sim/clock",
        None,
        &serde_json::json!({"timeScale": 1}),
    )
    .await;
    assert_eq!(status, 200);
    // The bounds themselves are accepted.
    let (status, body) = raw_post(
        &sim,
        "/_sim/clock",
        None,
        &serde_json::json!({"timeScale": 1e6, "advanceSeconds": 315_360_000.0}),
    )
    .await;
    assert_eq!(
        (status, body["timeScale"].as_f64()),
        (200, Some(1e6)),
        "{body}"
    );
    let jumped = sim.sim().clock.now().duration_since(before).unwrap();
    assert!(jumped >= Duration::from_secs(315_360_000), "{jumped:?}");
    let (status, _) = raw_post(
        &sim,
        "/_sim/clock",
        None,
        &serde_json::json!({"timeScale": 1}),
    )
    .await;
    assert_eq!(status, 200);

    cp.list_pipelines().send().await.expect("ListPipelines");
}

/// A push of `commit` to `branch` of acme/collect; the started executions.
async fn push_branch(sim: &SimHandle, branch: &str, commit: &str) -> Vec<String> {
    use base64::Engine;
    let body = serde_json::json!({
        "repository": "acme/collect", "branch": branch, "commitId": commit,
        "message": format!("commit {commit}"),
        "zip": base64::engine::general_purpose::STANDARD.encode(repo_zip(commit)),
    });
    let out = aws_sim::codepipeline::push(sim.sim(), &body).await.unwrap();
    out["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pipelineExecutionId"].as_str().unwrap().to_string())
        .collect()
}

/// pipeline.yaml's trigger shape: push filters on branches decide which
/// pushes start the pipeline (not the action's BranchName), and the
/// execution builds the pushed commit; what aws-sim does not simulate
/// (tags, file paths, pull requests) is refused naming the field.
#[tokio::test]
async fn trigger_branch_filters_decide_which_pushes_start_the_pipeline() {
    use aws_sdk_codepipeline::types::{
        ExecutionMode, GitBranchFilterCriteria, GitConfiguration, GitPushFilter,
        GitTagFilterCriteria, PipelineTriggerDeclaration, PipelineTriggerProviderType,
        PipelineType,
    };
    let sim = e2e::sim_with_scale(1.0).await;
    let cp = codepipeline_client(&sdk_config(&sim.endpoint()));
    create_canary_type(&cp).await;
    let trigger = |filter: GitPushFilter| {
        PipelineTriggerDeclaration::builder()
            .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
            .git_configuration(
                GitConfiguration::builder()
                    .source_action_name("GitHub")
                    .push(filter)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let branches = GitPushFilter::builder()
        .branches(
            GitBranchFilterCriteria::builder()
                .includes("release/**")
                .excludes("release/old/**")
                .build(),
        )
        .build();
    let mut decl = pipeline("collect", &["prod"], false);
    decl.pipeline_type = Some(PipelineType::V2);
    decl.execution_mode = Some(ExecutionMode::Parallel);

    let mut tags = decl.clone();
    tags.triggers = Some(vec![trigger(
        GitPushFilter::builder()
            .tags(GitTagFilterCriteria::builder().includes("v*").build())
            .build(),
    )]);
    let err = cp
        .create_pipeline()
        .pipeline(tags)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message()
            .unwrap()
            .contains("pipeline.triggers.1.member.gitConfiguration.push.1.member.tags"),
        "{err:?}"
    );
    let mut v1 = decl.clone();
    v1.pipeline_type = Some(PipelineType::V1);
    v1.execution_mode = None;
    v1.triggers = Some(vec![trigger(branches.clone())]);
    assert_eq!(
        code(cp.create_pipeline().pipeline(v1).send().await),
        "ValidationException"
    );

    decl.triggers = Some(vec![trigger(branches)]);
    cp.create_pipeline().pipeline(decl).send().await.unwrap();
    assert!(
        push_branch(&sim, "main", "m1").await.is_empty(),
        "BranchName main no longer starts the pipeline"
    );
    assert!(push_branch(&sim, "release/old/1", "o1").await.is_empty());
    let started = push_branch(&sim, "release/2.0", "r2").await;
    assert_eq!(started.len(), 1);
    let job = poll_one(&cp, "prod").await;
    let data = job.data().unwrap();
    assert_eq!(
        data.pipeline_context().unwrap().pipeline_execution_id(),
        Some(started[0].as_str())
    );
    assert_eq!(data.input_artifacts()[0].revision(), Some("r2"));
    let s3 = job_s3(&sim, &job);
    assert_eq!(
        read_artifact(&s3, &data.input_artifacts()[0])
            .await
            .unwrap(),
        repo_zip("r2")
    );
}
