//! Unit tests of the engine and the job protocol without S3: pipelines made
//! of custom actions only (a custom Source type and a custom Deploy type), so
//! no artifact is ever copied.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::AwsResult;
use crate::{Config, Sim};

fn sim() -> Arc<Sim> {
    Sim::new(Config {
        ack_timeout: Duration::from_secs(30),
        continuation_delay: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap()
}

fn call(sim: &Arc<Sim>, op: &str, input: Value) -> AwsResult<Value> {
    sim.codepipeline.call(sim, "us-east-1", op, &input)
}

fn code(r: AwsResult<Value>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.code,
    }
}

fn advance(sim: &Arc<Sim>, secs: u64) {
    sim.clock.advance(Duration::from_secs(secs));
    sim.codepipeline.tick(sim, sim.clock.now());
}

const SRC: &str = r#"{"category":"Source","owner":"Custom","provider":"GitSrc","version":"1"}"#;
const DEP: &str = r#"{"category":"Deploy","owner":"Custom","provider":"Canary","version":"1"}"#;

fn types(sim: &Arc<Sim>) {
    call(
        sim,
        "CreateCustomActionType",
        json!({
            "category": "Source", "provider": "GitSrc", "version": "1",
            "configurationProperties": [],
            "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 0},
            "outputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
        }),
    )
    .unwrap();
    call(sim, "CreateCustomActionType", json!({
        "category": "Deploy", "provider": "Canary", "version": "1",
        "settings": {"executionUrlTemplate": "https://console/{Config:Stage}/{ExternalExecutionId}",
                     "entityUrlTemplate": "https://console/{Config:Stage}"},
        "configurationProperties": [
            {"name": "Stage", "required": true, "key": true, "secret": false, "queryable": true},
            {"name": "Token", "required": false, "key": false, "secret": true},
            {"name": "Commit", "required": false, "key": false, "secret": false},
        ],
        "inputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
        "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0},
    })).unwrap();
}

fn pipeline(name: &str, stage_cfg: &[&str], mode: &str) -> Value {
    let deploy: Vec<Value> = stage_cfg
        .iter()
        .map(|s| json!({"name": format!("Deploy-{s}"), "actionTypeId": serde_json::from_str::<Value>(DEP).unwrap(),
                        "configuration": {"Stage": s, "Token": "hunter2", "Commit": "#{Src.CommitId}"},
                        "inputArtifacts": [{"name": "App"}]}))
        .collect();
    json!({"pipeline": {
    "name": name, "roleArn": "arn:aws:iam::123456789012:role/pipe",
    "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
    "pipelineType": if mode == "SUPERSEDED" { "V1" } else { "V2" }, "executionMode": mode,
    "stages": [
        {"name": "Source", "actions": [{"name": "Src", "namespace": "Src",
            "actionTypeId": serde_json::from_str::<Value>(SRC).unwrap(), "outputArtifacts": [{"name": "App"}]}]},
        {"name": "Deploy", "actions": deploy},
    ]}})
}

fn poll(sim: &Arc<Sim>, ty: &str, query: Option<&str>) -> Vec<Value> {
    let mut input =
        json!({"actionTypeId": serde_json::from_str::<Value>(ty).unwrap(), "maxBatchSize": 10});
    if let Some(q) = query {
        input["queryParam"] = json!({"Stage": q});
    }
    call(sim, "PollForJobs", input).unwrap()["jobs"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls one job and acknowledges it; returns its id.
fn take(sim: &Arc<Sim>, ty: &str, query: Option<&str>) -> (String, Value) {
    let jobs = poll(sim, ty, query);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let j = &jobs[0];
    let id = j["id"].as_str().unwrap().to_string();
    let st = call(
        sim,
        "AcknowledgeJob",
        json!({"jobId": id, "nonce": j["nonce"]}),
    )
    .unwrap();
    assert_eq!(st["status"], "InProgress");
    (id, j["data"].clone())
}

fn succeed_source(sim: &Arc<Sim>, commit: &str) {
    let (id, _) = take(sim, SRC, None);
    call(
        sim,
        "PutJobSuccessResult",
        json!({"jobId": id,
        "currentRevision": {"revision": commit, "changeIdentifier": commit},
        "outputVariables": {"CommitId": commit}}),
    )
    .unwrap();
}

fn exec_status(sim: &Arc<Sim>, pipe: &str, id: &str) -> String {
    call(
        sim,
        "GetPipelineExecution",
        json!({"pipelineName": pipe, "pipelineExecutionId": id}),
    )
    .unwrap()["pipelineExecution"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn action_type_rules() {
    let s = sim();
    types(&s);
    let base = json!({"category": "Deploy", "provider": "X", "version": "1",
        "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
        "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0}});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let p = |n: &str, req: bool, secret: bool, q: bool| json!({"name": n, "required": req, "key": false, "secret": secret, "queryable": q});
    // queryable must be required and not secret; at most one.
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["configurationProperties"] = json!([p("A", false, false, true)]))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["configurationProperties"] = json!([p("A", true, true, true)]))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["configurationProperties"] =
                json!([p("A", true, false, true), p("B", true, false, true)]))
        )),
        "ValidationException"
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| p(&format!("P{i}"), false, false, false))
        .collect();
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["configurationProperties"] = json!(eleven))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["provider"] = json!("bad provider"))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["version"] = json!("1234567890"))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["inputArtifactDetails"] = json!({"minimumCount": 2, "maximumCount": 1}))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["outputArtifactDetails"] = json!({"minimumCount": 0, "maximumCount": 6}))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["settings"] = json!({"entityUrlTemplate": "x".repeat(2049)}))
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(
                &|v| v["configurationProperties"] = json!([{"name": "x".repeat(51), "required": true, "key": false, "secret": false}])
            )
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(
                &|v| v["configurationProperties"] = json!([{"name": "A", "required": true, "key": false, "secret": false, "description": "d".repeat(161)}])
            )
        )),
        "ValidationException"
    );
    // identical → ok; different → ValidationException
    call(&s, "CreateCustomActionType", base.clone()).unwrap();
    call(&s, "CreateCustomActionType", base.clone()).unwrap();
    assert_eq!(
        code(call(
            &s,
            "CreateCustomActionType",
            with(&|v| v["inputArtifactDetails"]["maximumCount"] = json!(2))
        )),
        "ValidationException"
    );
    let custom = call(
        &s,
        "ListActionTypes",
        json!({"actionOwnerFilter": "Custom"}),
    )
    .unwrap();
    assert_eq!(custom["actionTypes"].as_array().unwrap().len(), 3);
    let all = call(&s, "ListActionTypes", json!({})).unwrap();
    let providers: Vec<&str> = all["actionTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"]["provider"].as_str().unwrap())
        .collect();
    for p in ["S3", "CodeStarSourceConnection", "CodeBuild", "X", "Canary"] {
        assert!(providers.contains(&p), "{providers:?}");
    }
    call(
        &s,
        "DeleteCustomActionType",
        json!({"category": "Deploy", "provider": "X", "version": "1"}),
    )
    .unwrap();
    assert_eq!(
        code(call(&s, "CreateCustomActionType", base.clone())),
        "ValidationException"
    );
    let custom = call(
        &s,
        "ListActionTypes",
        json!({"actionOwnerFilter": "Custom"}),
    )
    .unwrap();
    assert_eq!(custom["actionTypes"].as_array().unwrap().len(), 2);
}

#[test]
fn pipeline_structure_rules() {
    let s = sim();
    types(&s);
    let ok = pipeline("p", &["prod"], "SUPERSEDED");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        f(&mut v);
        v
    };
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(&|v| {
                v["pipeline"]["stages"].as_array_mut().unwrap().pop();
            })
        )),
        "InvalidStructureException"
    );
    // non-source action in the first stage
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(&|v| {
                let d = v["pipeline"]["stages"][1]["actions"][0].clone();
                v["pipeline"]["stages"][0]["actions"]
                    .as_array_mut()
                    .unwrap()
                    .push(d);
            })
        )),
        "InvalidStructureException"
    );
    // unknown provider
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(
                &|v| v["pipeline"]["stages"][1]["actions"][0]["actionTypeId"]["provider"] =
                    json!("Nope")
            )
        )),
        "InvalidActionDeclarationException"
    );
    // missing required configuration
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(
                &|v| v["pipeline"]["stages"][1]["actions"][0]["configuration"] =
                    json!({"Token": "x"})
            )
        )),
        "InvalidActionDeclarationException"
    );
    // queryable value rules
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(
                &|v| v["pipeline"]["stages"][1]["actions"][0]["configuration"]["Stage"] =
                    json!("x".repeat(21))
            )
        )),
        "InvalidActionDeclarationException"
    );
    // input artifact nobody produces
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(
                &|v| v["pipeline"]["stages"][1]["actions"][0]["inputArtifacts"] =
                    json!([{"name": "Other"}])
            )
        )),
        "InvalidStructureException"
    );
    // artifact count outside the type's bounds
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(&|v| v["pipeline"]["stages"][1]["actions"][0]["inputArtifacts"] = json!([]))
        )),
        "InvalidActionDeclarationException"
    );
    // QUEUED needs V2
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(&|v| {
                v["pipeline"]["executionMode"] = json!("QUEUED");
                v["pipeline"]["pipelineType"] = json!("V1");
            })
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "CreatePipeline",
            with(&|v| v["pipeline"]["roleArn"] = json!("nope"))
        )),
        "ValidationException"
    );
    let created = call(&s, "CreatePipeline", ok.clone()).unwrap();
    assert_eq!(created["pipeline"]["version"], 1);
    assert_eq!(
        created["pipeline"]["stages"][1]["actions"][0]["configuration"]["Token"],
        "****"
    );
    assert_eq!(
        code(call(&s, "CreatePipeline", ok.clone())),
        "PipelineNameInUseException"
    );
    // UpdatePipeline keeps a secret sent back masked, version + 1.
    let mut upd = json!({"pipeline": created["pipeline"].clone()});
    upd["pipeline"]["stages"][1]["actions"][0]["configuration"]["Stage"] = json!("staging");
    let u = call(&s, "UpdatePipeline", upd).unwrap();
    assert_eq!(u["pipeline"]["version"], 2);
    let g = call(&s, "GetPipeline", json!({"name": "p"})).unwrap();
    assert_eq!(
        g["metadata"]["pipelineArn"],
        "arn:aws:codepipeline:us-east-1:123456789012:p"
    );
    let sp = s.codepipeline.lock();
    let token =
        &sp.regions["us-east-1"].pipelines["p"].decl.stages[1].actions[0].configuration["Token"];
    assert_eq!(token, "hunter2");
    drop(sp);
    assert_eq!(
        code(call(&s, "GetPipeline", json!({"name": "nope"}))),
        "PipelineNotFoundException"
    );
    assert_eq!(
        call(&s, "ListPipelines", json!({})).unwrap()["pipelines"][0]["version"],
        2
    );
    call(&s, "DeletePipeline", json!({"name": "p"})).unwrap();
    assert_eq!(
        code(call(&s, "GetPipeline", json!({"name": "p"}))),
        "PipelineNotFoundException"
    );
}

#[test]
fn job_flow_with_continuation_and_output_variables() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "SUPERSEDED")).unwrap();
    let exec =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "abc123");
    // queryParam is required for a type with a queryable property, and must name it
    assert_eq!(
        code(call(
            &s,
            "PollForJobs",
            json!({"actionTypeId": serde_json::from_str::<Value>(DEP).unwrap()})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PollForJobs",
            json!({"actionTypeId": serde_json::from_str::<Value>(DEP).unwrap(), "queryParam": {"Other": "prod"}})
        )),
        "ValidationException"
    );
    assert!(poll(&s, DEP, Some("staging")).is_empty());
    let jobs = poll(&s, DEP, Some("prod"));
    assert_eq!(jobs.len(), 1);
    let j1 = jobs[0]["id"].as_str().unwrap().to_string();
    let n1 = jobs[0]["nonce"].as_str().unwrap().to_string();
    let data = &jobs[0]["data"];
    assert_eq!(
        data["actionConfiguration"]["configuration"]["Commit"],
        "abc123"
    );
    assert_eq!(
        data["actionConfiguration"]["configuration"]["Token"],
        "hunter2"
    );
    assert_eq!(
        data["pipelineContext"]["pipelineExecutionId"],
        exec.as_str()
    );
    assert_eq!(data["inputArtifacts"][0]["revision"], "abc123");
    assert_eq!(
        data["inputArtifacts"][0]["location"]["s3Location"]["bucketName"],
        "artifacts-bucket"
    );
    assert!(
        data["inputArtifacts"][0]["location"]["s3Location"]["objectKey"]
            .as_str()
            .unwrap()
            .starts_with("p/App/")
    );
    assert!(
        data["artifactCredentials"]["sessionToken"]
            .as_str()
            .unwrap()
            .len()
            > 10
    );
    // result before ack → InvalidJobStateException; wrong nonce → InvalidNonceException
    assert_eq!(
        code(call(&s, "PutJobSuccessResult", json!({"jobId": j1}))),
        "InvalidJobStateException"
    );
    assert_eq!(
        code(call(
            &s,
            "AcknowledgeJob",
            json!({"jobId": j1, "nonce": "wrong"})
        )),
        "InvalidNonceException"
    );
    assert_eq!(
        call(&s, "AcknowledgeJob", json!({"jobId": j1, "nonce": n1})).unwrap()["status"],
        "InProgress"
    );
    assert_eq!(
        code(call(
            &s,
            "AcknowledgeJob",
            json!({"jobId": j1, "nonce": n1})
        )),
        "InvalidNonceException"
    );
    // limits
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "executionDetails": {"percentComplete": 101}})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "executionDetails": {"summary": "x".repeat(2049)}})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "continuationToken": ""})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "continuationToken": "t", "outputVariables": {"a": "b"}})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "outputVariables": {"a b": "b"}})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": j1, "outputVariables": {"a": "b".repeat(122_880)}})
        )),
        "OutputVariablesSizeExceededException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobSuccessResult",
            json!({"jobId": "00000000-0000-0000-0000-000000000000"})
        )),
        "JobNotFoundException"
    );
    call(&s, "PutJobSuccessResult", json!({"jobId": j1, "continuationToken": "step-1",
        "executionDetails": {"summary": "shifting 10%", "percentComplete": 10, "externalExecutionId": "d-123"}})).unwrap();
    assert_eq!(
        code(call(&s, "PutJobSuccessResult", json!({"jobId": j1}))),
        "InvalidJobStateException"
    );
    // the continuation job appears after the continuation delay
    assert!(poll(&s, DEP, Some("prod")).is_empty());
    let state = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    let a = &state["stageStates"][1]["actionStates"][0]["latestExecution"];
    assert_eq!(a["status"], "InProgress");
    assert_eq!(a["summary"], "shifting 10%");
    assert_eq!(a["percentComplete"], 10);
    assert_eq!(a["externalExecutionId"], "d-123");
    assert_eq!(a["externalExecutionUrl"], "https://console/prod/d-123");
    assert_eq!(
        state["stageStates"][1]["actionStates"][0]["entityUrl"],
        "https://console/prod"
    );
    advance(&s, 6);
    let (j2, data2) = take(&s, DEP, Some("prod"));
    assert_ne!(j1, j2);
    assert_eq!(data2["continuationToken"], "step-1");
    assert_eq!(
        data2["pipelineContext"]["action"]["actionExecutionId"],
        data["pipelineContext"]["action"]["actionExecutionId"]
    );
    call(
        &s,
        "PutJobSuccessResult",
        json!({"jobId": j2, "outputVariables": {"ReleaseId": "r-1"},
        "executionDetails": {"summary": "done", "percentComplete": 100}}),
    )
    .unwrap();
    assert_eq!(exec_status(&s, "p", &exec), "Succeeded");
    let la = call(
        &s,
        "ListActionExecutions",
        json!({"pipelineName": "p", "filter": {"pipelineExecutionId": exec}}),
    )
    .unwrap();
    let rows = la["actionExecutionDetails"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["actionName"], "Deploy-prod");
    assert_eq!(rows[0]["output"]["outputVariables"]["ReleaseId"], "r-1");
    assert_eq!(rows[0]["input"]["configuration"]["Token"], "****");
    assert_eq!(
        rows[0]["input"]["resolvedConfiguration"]["Commit"],
        "abc123"
    );
    assert_eq!(
        rows[0]["output"]["executionResult"]["externalExecutionId"],
        "d-123"
    );
    let ge = call(
        &s,
        "GetPipelineExecution",
        json!({"pipelineName": "p", "pipelineExecutionId": exec}),
    )
    .unwrap();
    assert_eq!(
        ge["pipelineExecution"]["artifactRevisions"][0]["revisionId"],
        "abc123"
    );
    let le = call(&s, "ListPipelineExecutions", json!({"pipelineName": "p"})).unwrap();
    assert_eq!(
        le["pipelineExecutionSummaries"][0]["sourceRevisions"][0]["revisionId"],
        "abc123"
    );
}

#[test]
fn ack_timeout_requeues_with_new_nonce_and_job_times_out_after_a_day() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "SUPERSEDED")).unwrap();
    let exec =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    let jobs = poll(&s, SRC, None);
    let (id, n1) = (
        jobs[0]["id"].as_str().unwrap().to_string(),
        jobs[0]["nonce"].as_str().unwrap().to_string(),
    );
    assert!(
        poll(&s, SRC, None).is_empty(),
        "a dispatched job is not handed out again"
    );
    advance(&s, 31);
    assert_eq!(
        code(call(
            &s,
            "AcknowledgeJob",
            json!({"jobId": id, "nonce": n1})
        )),
        "InvalidNonceException"
    );
    let again = poll(&s, SRC, None);
    assert_eq!(again[0]["id"].as_str().unwrap(), id);
    let n2 = again[0]["nonce"].as_str().unwrap();
    assert_ne!(n1, n2);
    call(&s, "AcknowledgeJob", json!({"jobId": id, "nonce": n2})).unwrap();
    advance(&s, 24 * 3600);
    assert_eq!(
        code(call(&s, "PutJobSuccessResult", json!({"jobId": id}))),
        "InvalidJobStateException"
    );
    assert_eq!(exec_status(&s, "p", &exec), "Failed");
}

#[test]
fn retry_failed_actions_reuses_execution_and_artifacts() {
    let s = sim();
    types(&s);
    call(
        &s,
        "CreatePipeline",
        pipeline("p", &["prod", "staging"], "SUPERSEDED"),
    )
    .unwrap();
    let exec =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c1");
    let (jp, dp) = take(&s, DEP, Some("prod"));
    let (js, _) = take(&s, DEP, Some("staging"));
    assert_eq!(
        code(call(
            &s,
            "PutJobFailureResult",
            json!({"jobId": jp, "failureDetails": {"type": "Nope", "message": "x"}})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PutJobFailureResult",
            json!({"jobId": jp, "failureDetails": {"type": "JobFailed", "message": ""}})
        )),
        "ValidationException"
    );
    call(&s, "PutJobFailureResult", json!({"jobId": jp, "failureDetails": {"type": "JobFailed", "message": "alarm fired", "externalExecutionId": "d-9"}})).unwrap();
    // the stage waits for the in-flight staging action
    assert_eq!(exec_status(&s, "p", &exec), "InProgress");
    let retry = json!({"pipelineName": "p", "stageName": "Deploy", "pipelineExecutionId": exec, "retryMode": "FAILED_ACTIONS"});
    assert_eq!(
        code(call(&s, "RetryStageExecution", retry.clone())),
        "StageNotRetryableException"
    );
    call(&s, "PutJobSuccessResult", json!({"jobId": js})).unwrap();
    assert_eq!(exec_status(&s, "p", &exec), "Failed");
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(st["stageStates"][1]["latestExecution"]["status"], "Failed");
    assert_eq!(
        st["stageStates"][1]["actionStates"][0]["latestExecution"]["errorDetails"]["message"],
        "alarm fired"
    );
    assert_eq!(
        code(call(
            &s,
            "RetryStageExecution",
            json!({"pipelineName": "p", "stageName": "Nope", "pipelineExecutionId": exec, "retryMode": "FAILED_ACTIONS"})
        )),
        "StageNotFoundException"
    );
    call(&s, "RetryStageExecution", retry.clone()).unwrap();
    assert!(
        poll(&s, DEP, Some("staging")).is_empty(),
        "succeeded actions are not re-run"
    );
    let (jp2, dp2) = take(&s, DEP, Some("prod"));
    assert_ne!(jp, jp2);
    assert_eq!(dp2["pipelineContext"]["pipelineExecutionId"], exec.as_str());
    assert_eq!(dp2["inputArtifacts"], dp["inputArtifacts"]);
    assert_ne!(
        dp2["pipelineContext"]["action"]["actionExecutionId"],
        dp["pipelineContext"]["action"]["actionExecutionId"]
    );
    call(&s, "PutJobSuccessResult", json!({"jobId": jp2})).unwrap();
    assert_eq!(exec_status(&s, "p", &exec), "Succeeded");
    assert_eq!(
        code(call(&s, "RetryStageExecution", retry)),
        "StageNotRetryableException"
    );
}

#[test]
fn later_execution_makes_retry_not_latest_and_superseded_mode_locks_stages() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "SUPERSEDED")).unwrap();
    let e1 =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c1");
    let (j1, _) = take(&s, DEP, Some("prod"));
    // e2 and e3 pass the source stage and wait for Deploy; e3 supersedes e2.
    let e2 =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c2");
    let e3 =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c3");
    assert_eq!(exec_status(&s, "p", &e2), "Superseded");
    assert_eq!(exec_status(&s, "p", &e3), "InProgress");
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(
        st["stageStates"][1]["inboundExecution"]["pipelineExecutionId"],
        e3.as_str()
    );
    call(
        &s,
        "PutJobFailureResult",
        json!({"jobId": j1, "failureDetails": {"type": "JobFailed", "message": "x"}}),
    )
    .unwrap();
    assert_eq!(exec_status(&s, "p", &e1), "Failed");
    let (_, d3) = take(&s, DEP, Some("prod"));
    assert_eq!(d3["inputArtifacts"][0]["revision"], "c3");
    assert_eq!(
        code(call(
            &s,
            "RetryStageExecution",
            json!({"pipelineName": "p", "stageName": "Deploy", "pipelineExecutionId": e1, "retryMode": "ALL_ACTIONS"})
        )),
        "NotLatestPipelineExecutionException"
    );
}

#[test]
fn stop_abandon_and_stop_wait() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "PARALLEL")).unwrap();
    let e1 =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c1");
    let (j1, _) = take(&s, DEP, Some("prod"));
    let stop = |id: &str, abandon: bool| {
        call(
            &s,
            "StopPipelineExecution",
            json!({"pipelineName": "p", "pipelineExecutionId": id, "abandon": abandon, "reason": "test"}),
        )
    };
    stop(&e1, true).unwrap();
    assert_eq!(exec_status(&s, "p", &e1), "Stopped");
    assert_eq!(
        code(call(&s, "PutJobSuccessResult", json!({"jobId": j1}))),
        "InvalidJobStateException"
    );
    assert_eq!(
        code(stop(&e1, true)),
        "PipelineExecutionNotStoppableException"
    );
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(
        st["stageStates"][1]["actionStates"][0]["latestExecution"]["status"],
        "Abandoned"
    );

    let e2 =
        call(&s, "StartPipelineExecution", json!({"name": "p"})).unwrap()["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
    succeed_source(&s, "c2");
    let (j2, _) = take(&s, DEP, Some("prod"));
    stop(&e2, false).unwrap();
    assert_eq!(exec_status(&s, "p", &e2), "Stopping");
    assert_eq!(code(stop(&e2, false)), "DuplicatedStopRequestException");
    call(&s, "PutJobSuccessResult", json!({"jobId": j2})).unwrap();
    assert_eq!(exec_status(&s, "p", &e2), "Stopped");
    let le = call(&s, "ListPipelineExecutions", json!({"pipelineName": "p"})).unwrap();
    assert_eq!(
        le["pipelineExecutionSummaries"][0]["stopTrigger"]["reason"],
        "test"
    );
}

#[test]
fn regions_are_separate_and_lists_paginate() {
    let s = sim();
    types(&s);
    for i in 0..3 {
        call(
            &s,
            "CreatePipeline",
            pipeline(&format!("p{i}"), &["prod"], "SUPERSEDED"),
        )
        .unwrap();
    }
    let other = s
        .codepipeline
        .call(&s, "eu-west-1", "ListPipelines", &json!({}))
        .unwrap();
    assert!(other["pipelines"].as_array().unwrap().is_empty());
    assert_eq!(
        s.codepipeline
            .call(
                &s,
                "eu-west-1",
                "CreatePipeline",
                &pipeline("p0", &["prod"], "SUPERSEDED")
            )
            .unwrap_err()
            .code,
        "InvalidActionDeclarationException",
        "custom action types are per region too"
    );
    let page1 = call(&s, "ListPipelines", json!({"maxResults": 2})).unwrap();
    assert_eq!(page1["pipelines"].as_array().unwrap().len(), 2);
    let token = page1["nextToken"].as_str().unwrap().to_string();
    let page2 = call(
        &s,
        "ListPipelines",
        json!({"maxResults": 2, "nextToken": token}),
    )
    .unwrap();
    assert_eq!(page2["pipelines"].as_array().unwrap().len(), 1);
    assert!(page2.get("nextToken").is_none());
    assert_eq!(
        code(call(&s, "ListPipelines", json!({"nextToken": "garbage"}))),
        "InvalidNextTokenException"
    );
    assert_eq!(
        code(call(
            &s,
            "ListActionExecutions",
            json!({"pipelineName": "p0",
            "filter": {"pipelineExecutionId": "00000000-0000-0000-0000-000000000000"}})
        )),
        "PipelineExecutionNotFoundException"
    );
    assert_eq!(
        code(call(
            &s,
            "ListPipelineExecutions",
            json!({"pipelineName": "nope"})
        )),
        "PipelineNotFoundException"
    );
    assert_eq!(
        code(call(&s, "GetPipeline", json!({"name": "p0", "version": 2}))),
        "PipelineVersionNotFoundException"
    );
    assert_eq!(
        code(call(&s, "GetPipeline", json!({"name": "bad name!"}))),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "AcknowledgeJob",
            json!({"jobId": "not-a-uuid", "nonce": "1"})
        )),
        "ValidationException"
    );
    assert_eq!(
        code(call(
            &s,
            "PollForJobs",
            json!({"actionTypeId": serde_json::from_str::<Value>(
        r#"{"category":"Source","owner":"AWS","provider":"S3","version":"1"}"#).unwrap()})
        )),
        "ValidationException"
    );
}

fn start(sim: &Arc<Sim>, pipe: &str) -> String {
    call(sim, "StartPipelineExecution", json!({"name": pipe})).unwrap()["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn execution(sim: &Arc<Sim>, pipe: &str, id: &str) -> Value {
    call(
        sim,
        "GetPipelineExecution",
        json!({"pipelineName": pipe, "pipelineExecutionId": id}),
    )
    .unwrap()["pipelineExecution"]
        .clone()
}

fn fail_job(sim: &Arc<Sim>, job: &str) {
    call(
        sim,
        "PutJobFailureResult",
        json!({"jobId": job, "failureDetails": {"type": "JobFailed", "message": "alarm fired"}}),
    )
    .unwrap();
}

/// `pipeline()` (V2, QUEUED) with `onFailure` on the Deploy stage.
fn pipeline_on_failure(name: &str, stage_cfg: &[&str], on_failure: Value) -> Value {
    let mut p = pipeline(name, stage_cfg, "QUEUED");
    p["pipeline"]["stages"][1]["onFailure"] = on_failure;
    p
}

/// One execution through Source (commit `commit`) and Deploy (`prod`),
/// succeeding; returns its id and the Deploy job's data.
fn run_ok(sim: &Arc<Sim>, pipe: &str, commit: &str) -> (String, Value) {
    let id = start(sim, pipe);
    succeed_source(sim, commit);
    let (j, d) = take(sim, DEP, Some("prod"));
    call(sim, "PutJobSuccessResult", json!({"jobId": j})).unwrap();
    assert_eq!(exec_status(sim, pipe, &id), "Succeeded");
    (id, d)
}

#[test]
fn rollback_stage_reruns_only_the_stage_with_the_targets_artifacts_and_variables() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "QUEUED")).unwrap();
    let (a, da) = run_ok(&s, "p", "c1");
    let (b, db) = run_ok(&s, "p", "c2");
    assert_ne!(da["inputArtifacts"], db["inputArtifacts"]);
    let out = call(
        &s,
        "RollbackStage",
        json!({"pipelineName": "p", "stageName": "Deploy", "targetPipelineExecutionId": a}),
    )
    .unwrap();
    let r = out["pipelineExecutionId"].as_str().unwrap().to_string();
    assert!(
        poll(&s, SRC, None).is_empty(),
        "the source stage does not run"
    );
    let (jr, dr) = take(&s, DEP, Some("prod"));
    assert_eq!(dr["pipelineContext"]["pipelineExecutionId"], r.as_str());
    assert_eq!(
        dr["inputArtifacts"], da["inputArtifacts"],
        "A's artifact, same location"
    );
    assert_eq!(dr["inputArtifacts"][0]["revision"], "c1");
    assert_eq!(
        dr["actionConfiguration"]["configuration"]["Commit"], "c1",
        "A's variables"
    );
    let e = execution(&s, "p", &r);
    assert_eq!(e["status"], "InProgress");
    assert_eq!(e["executionType"], "ROLLBACK");
    assert_eq!(e["trigger"]["triggerType"], "ManualRollback");
    assert_eq!(
        e["rollbackMetadata"]["rollbackTargetPipelineExecutionId"],
        a.as_str()
    );
    assert_eq!(e["artifactRevisions"][0]["revisionId"], "c1");
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(
        st["stageStates"][0]["latestExecution"],
        json!({"pipelineExecutionId": b, "status": "Succeeded", "type": "STANDARD"})
    );
    assert_eq!(
        st["stageStates"][1]["latestExecution"],
        json!({"pipelineExecutionId": r, "status": "InProgress", "type": "ROLLBACK"})
    );
    // The stage is running: no second rollback.
    assert_eq!(
        code(call(
            &s,
            "RollbackStage",
            json!({"pipelineName": "p", "stageName": "Deploy", "targetPipelineExecutionId": b})
        )),
        "UnableToRollbackStageException"
    );
    call(&s, "PutJobSuccessResult", json!({"jobId": jr})).unwrap();
    assert_eq!(exec_status(&s, "p", &r), "Succeeded");
    let e = execution(&s, "p", &r);
    assert_eq!(e["status"], "Succeeded");
    let list = call(&s, "ListPipelineExecutions", json!({"pipelineName": "p"})).unwrap();
    let first = &list["pipelineExecutionSummaries"][0];
    assert_eq!(first["pipelineExecutionId"], r.as_str());
    assert_eq!(first["executionType"], "ROLLBACK");
    assert_eq!(first["trigger"]["triggerType"], "ManualRollback");
    assert_eq!(
        first["rollbackMetadata"]["rollbackTargetPipelineExecutionId"],
        a.as_str()
    );
    assert_eq!(first["sourceRevisions"][0]["revisionId"], "c1");
    assert_eq!(
        list["pipelineExecutionSummaries"][1]["executionType"],
        "STANDARD"
    );
    assert!(
        list["pipelineExecutionSummaries"][1]
            .get("rollbackMetadata")
            .is_none()
    );
    // A rollback execution is no rollback target.
    assert_eq!(
        code(call(
            &s,
            "RollbackStage",
            json!({"pipelineName": "p", "stageName": "Deploy", "targetPipelineExecutionId": r})
        )),
        "UnableToRollbackStageException"
    );
    // Rolling forward again to B works.
    call(
        &s,
        "RollbackStage",
        json!({"pipelineName": "p", "stageName": "Deploy", "targetPipelineExecutionId": b}),
    )
    .unwrap();
    let (_, d) = take(&s, DEP, Some("prod"));
    assert_eq!(d["inputArtifacts"], db["inputArtifacts"]);
}

#[test]
fn rollback_stage_refusals() {
    let s = sim();
    types(&s);
    call(&s, "CreatePipeline", pipeline("p", &["prod"], "QUEUED")).unwrap();
    call(
        &s,
        "CreatePipeline",
        pipeline("v1", &["prod"], "SUPERSEDED"),
    )
    .unwrap();
    let (a, _) = run_ok(&s, "p", "c1");
    let rb = |pipe: &str, stage: &str, target: &str| {
        call(
            &s,
            "RollbackStage",
            json!({"pipelineName": pipe, "stageName": stage, "targetPipelineExecutionId": target}),
        )
    };
    assert_eq!(code(rb("nope", "Deploy", &a)), "PipelineNotFoundException");
    assert_eq!(code(rb("p", "Nope", &a)), "StageNotFoundException");
    assert_eq!(code(rb("p", "Deploy", "not-a-uuid")), "ValidationException");
    assert_eq!(
        code(rb("p", "Deploy", "00000000-0000-0000-0000-000000000000")),
        "PipelineExecutionNotFoundException"
    );
    assert_eq!(
        code(rb("p", "Source", &a)),
        "UnableToRollbackStageException"
    );
    // C fails in Deploy: no target.
    let c = start(&s, "p");
    succeed_source(&s, "c3");
    let (jc, _) = take(&s, DEP, Some("prod"));
    // Deploy is in progress.
    assert_eq!(
        code(rb("p", "Deploy", &a)),
        "UnableToRollbackStageException"
    );
    fail_job(&s, &jc);
    assert_eq!(exec_status(&s, "p", &c), "Failed");
    assert_eq!(
        code(rb("p", "Deploy", &c)),
        "UnableToRollbackStageException"
    );
    // Updating the pipeline outdates every earlier execution.
    let got = call(&s, "GetPipeline", json!({"name": "p"})).unwrap();
    call(&s, "UpdatePipeline", json!({"pipeline": got["pipeline"]})).unwrap();
    assert_eq!(
        code(rb("p", "Deploy", &a)),
        "PipelineExecutionOutdatedException"
    );
    // V1: no stage rollback.
    let v1 = start(&s, "v1");
    succeed_source(&s, "c4");
    assert_eq!(code(rb("v1", "Deploy", &v1)), "ValidationException");
    // An execution of another pipeline is not found in this one.
    assert_eq!(
        code(rb("p", "Deploy", &v1)),
        "PipelineExecutionNotFoundException"
    );
}

#[test]
fn on_failure_rollback_starts_an_automated_rollback_to_the_last_success() {
    let s = sim();
    types(&s);
    call(
        &s,
        "CreatePipeline",
        pipeline_on_failure("p", &["prod"], json!({"result": "ROLLBACK"})),
    )
    .unwrap();
    // No success in the stage yet: the stage just fails.
    let first = start(&s, "p");
    succeed_source(&s, "c0");
    let (j0, _) = take(&s, DEP, Some("prod"));
    fail_job(&s, &j0);
    assert_eq!(exec_status(&s, "p", &first), "Failed");
    let summary = execution(&s, "p", &first)["statusSummary"].clone();
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("nothing to roll back to"),
        "{summary}"
    );
    assert!(poll(&s, DEP, Some("prod")).is_empty());

    let (a, da) = run_ok(&s, "p", "c1");
    let c = start(&s, "p");
    succeed_source(&s, "c2");
    let (jc, dc) = take(&s, DEP, Some("prod"));
    assert_ne!(dc["inputArtifacts"], da["inputArtifacts"]);
    fail_job(&s, &jc);
    assert_eq!(exec_status(&s, "p", &c), "Failed");
    let list = call(&s, "ListPipelineExecutions", json!({"pipelineName": "p"})).unwrap();
    let r = &list["pipelineExecutionSummaries"][0];
    assert_eq!(r["trigger"]["triggerType"], "AutomatedRollback");
    assert_eq!(r["trigger"]["triggerDetail"], c.as_str());
    assert_eq!(r["executionType"], "ROLLBACK");
    assert_eq!(
        r["rollbackMetadata"]["rollbackTargetPipelineExecutionId"],
        a.as_str()
    );
    let rid = r["pipelineExecutionId"].as_str().unwrap().to_string();
    assert!(
        execution(&s, "p", &c)["statusSummary"]
            .as_str()
            .unwrap()
            .contains(&rid)
    );
    let (jr, dr) = take(&s, DEP, Some("prod"));
    assert_eq!(dr["pipelineContext"]["pipelineExecutionId"], rid.as_str());
    assert_eq!(dr["inputArtifacts"], da["inputArtifacts"]);
    // A failing rollback is not rolled back again.
    fail_job(&s, &jr);
    assert_eq!(exec_status(&s, "p", &rid), "Failed");
    assert!(poll(&s, DEP, Some("prod")).is_empty());
    let list = call(&s, "ListPipelineExecutions", json!({"pipelineName": "p"})).unwrap();
    assert_eq!(
        list["pipelineExecutionSummaries"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn on_failure_retry_retries_once_per_retry_mode_then_fails() {
    let s = sim();
    types(&s);
    call(
        &s,
        "CreatePipeline",
        pipeline_on_failure(
            "p",
            &["prod", "staging"],
            json!({"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}}),
        ),
    )
    .unwrap();
    let e = start(&s, "p");
    succeed_source(&s, "c1");
    let (jp, dp) = take(&s, DEP, Some("prod"));
    let (js, _) = take(&s, DEP, Some("staging"));
    call(&s, "PutJobSuccessResult", json!({"jobId": js})).unwrap();
    fail_job(&s, &jp);
    assert_eq!(
        exec_status(&s, "p", &e),
        "InProgress",
        "retried, not failed"
    );
    assert!(
        poll(&s, DEP, Some("staging")).is_empty(),
        "only failed actions"
    );
    let (jp2, dp2) = take(&s, DEP, Some("prod"));
    assert_ne!(jp, jp2, "a new job");
    assert_eq!(dp2["pipelineContext"]["pipelineExecutionId"], e.as_str());
    assert_eq!(dp2["inputArtifacts"], dp["inputArtifacts"]);
    assert_ne!(
        dp2["pipelineContext"]["action"]["actionExecutionId"],
        dp["pipelineContext"]["action"]["actionExecutionId"]
    );
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(
        st["stageStates"][1]["retryStageMetadata"],
        json!({"autoStageRetryAttempt": 1, "latestRetryTrigger": "AutomatedStageRetry"})
    );
    fail_job(&s, &jp2);
    assert_eq!(exec_status(&s, "p", &e), "Failed", "one automatic retry");
    assert!(poll(&s, DEP, Some("prod")).is_empty());
    // A manual retry still works and is counted apart.
    call(
        &s,
        "RetryStageExecution",
        json!({"pipelineName": "p", "stageName": "Deploy", "pipelineExecutionId": e, "retryMode": "FAILED_ACTIONS"}),
    )
    .unwrap();
    let st = call(&s, "GetPipelineState", json!({"name": "p"})).unwrap();
    assert_eq!(
        st["stageStates"][1]["retryStageMetadata"],
        json!({"autoStageRetryAttempt": 1, "manualStageRetryAttempt": 1,
               "latestRetryTrigger": "ManualStageRetry"})
    );
    let (jp3, _) = take(&s, DEP, Some("prod"));
    fail_job(&s, &jp3);
    assert_eq!(
        exec_status(&s, "p", &e),
        "Failed",
        "no second automatic retry"
    );

    // ALL_ACTIONS re-runs every action of the stage.
    call(
        &s,
        "CreatePipeline",
        pipeline_on_failure(
            "q",
            &["prod", "staging"],
            json!({"result": "RETRY", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}),
        ),
    )
    .unwrap();
    let e = start(&s, "q");
    succeed_source(&s, "c1");
    let (jp, _) = take(&s, DEP, Some("prod"));
    let (js, _) = take(&s, DEP, Some("staging"));
    call(&s, "PutJobSuccessResult", json!({"jobId": js})).unwrap();
    fail_job(&s, &jp);
    let (jp2, _) = take(&s, DEP, Some("prod"));
    let (js2, _) = take(&s, DEP, Some("staging"));
    assert_ne!(js, js2);
    call(&s, "PutJobSuccessResult", json!({"jobId": jp2})).unwrap();
    call(&s, "PutJobSuccessResult", json!({"jobId": js2})).unwrap();
    assert_eq!(exec_status(&s, "q", &e), "Succeeded");
}

#[test]
fn stage_declarations_refuse_what_is_not_simulated() {
    let s = sim();
    types(&s);
    let ok = pipeline("p", &["prod"], "QUEUED");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        f(&mut v);
        v
    };
    let refused = |v: Value, field: &str| {
        let e = call(&s, "CreatePipeline", v).unwrap_err();
        assert_eq!(e.code, "ValidationException", "{field}: {}", e.message);
        assert!(
            e.message.contains(field),
            "{field} not named: {}",
            e.message
        );
    };
    let stage = "pipeline.stages.2.member";
    let action = "pipeline.stages.2.member.actions.1.member";
    refused(
        with(&|v| v["pipeline"]["stages"][1]["onFailure"] = json!({"result": "SKIP"})),
        &format!("{stage}.onFailure.result"),
    );
    refused(
        with(&|v| v["pipeline"]["stages"][1]["onFailure"] = json!({"result": "NOPE"})),
        &format!("{stage}.onFailure.result"),
    );
    refused(
        with(&|v| {
            v["pipeline"]["stages"][1]["onFailure"] = json!({"result": "ROLLBACK",
                "conditions": [{"result": "ROLLBACK", "rules": [{"name": "Alarm",
                "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"}}]}]})
        }),
        &format!("{stage}.onFailure.conditions"),
    );
    refused(
        with(&|v| {
            v["pipeline"]["stages"][1]["onFailure"] =
                json!({"result": "ROLLBACK", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}})
        }),
        &format!("{stage}.onFailure.retryConfiguration"),
    );
    refused(
        with(&|v| {
            v["pipeline"]["stages"][1]["onFailure"] =
                json!({"result": "RETRY", "retryConfiguration": {"retryMode": "SOME"}})
        }),
        &format!("{stage}.onFailure.retryConfiguration.retryMode"),
    );
    for key in ["beforeEntry", "onSuccess"] {
        refused(
            with(&|v| {
                v["pipeline"]["stages"][1][key] = json!({"conditions": [{"result": "FAIL",
                    "rules": [{"name": "Window", "ruleTypeId": {"category": "Rule", "owner": "AWS",
                    "provider": "DeploymentWindow", "version": "1"}}]}]})
            }),
            &format!("{stage}.{key}"),
        );
    }
    refused(
        with(&|v| {
            v["pipeline"]["pipelineType"] = json!("V1");
            v["pipeline"]["executionMode"] = json!("SUPERSEDED");
            v["pipeline"]["stages"][1]["onFailure"] = json!({"result": "ROLLBACK"});
        }),
        &format!("{stage}.onFailure"),
    );
    for (key, value) in [
        ("timeoutInMinutes", json!(60)),
        ("commands", json!(["make"])),
        ("outputVariables", json!(["X"])),
        ("environmentVariables", json!([{"name": "A", "value": "b"}])),
        ("region", json!("eu-west-1")),
    ] {
        refused(
            with(&|v| v["pipeline"]["stages"][1]["actions"][0][key] = value.clone()),
            &format!("{action}.{key}"),
        );
    }
    refused(
        with(&|v| {
            v["pipeline"]["stages"][0]["actions"][0]["outputArtifacts"] =
                json!([{"name": "App", "files": ["a.zip"]}])
        }),
        "pipeline.stages.1.member.actions.1.member.outputArtifacts.1.member.files",
    );
    // The source stage cannot roll back.
    let e = call(
        &s,
        "CreatePipeline",
        with(&|v| v["pipeline"]["stages"][0]["onFailure"] = json!({"result": "ROLLBACK"})),
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidStageDeclarationException", "{}", e.message);
    // Accepted: FAIL, RETRY without configuration (FAILED_ACTIONS), the
    // pipeline's own region, blockers, variable descriptions; all echoed.
    let accepted = with(&|v| {
        v["pipeline"]["stages"][1]["onFailure"] = json!({"result": "RETRY"});
        v["pipeline"]["stages"][0]["onFailure"] = json!({"result": "FAIL"});
        v["pipeline"]["stages"][1]["actions"][0]["region"] = json!("us-east-1");
        v["pipeline"]["stages"][1]["blockers"] = json!([{"name": "b", "type": "Schedule"}]);
        v["pipeline"]["variables"] =
            json!([{"name": "x", "defaultValue": "1", "description": "why"}]);
    });
    let created = call(&s, "CreatePipeline", accepted).unwrap();
    assert_eq!(
        created["pipeline"]["stages"][1]["onFailure"],
        json!({"result": "RETRY"})
    );
}

#[test]
fn a_rollback_enters_the_stage_before_waiting_executions_and_supersedes_none() {
    for mode in ["QUEUED", "SUPERSEDED"] {
        let s = sim();
        types(&s);
        let mut decl = pipeline_on_failure("p", &["prod"], json!({"result": "ROLLBACK"}));
        decl["pipeline"]["executionMode"] = json!(mode);
        decl["pipeline"]["pipelineType"] = json!("V2");
        call(&s, "CreatePipeline", decl).unwrap();
        let (a, da) = run_ok(&s, "p", "c1");
        let c = start(&s, "p");
        succeed_source(&s, "c2");
        let (jc, _) = take(&s, DEP, Some("prod"));
        // D passes Source and waits for Deploy.
        let d = start(&s, "p");
        succeed_source(&s, "c3");
        fail_job(&s, &jc);
        assert_eq!(exec_status(&s, "p", &c), "Failed");
        let (jr, dr) = take(&s, DEP, Some("prod"));
        assert_eq!(dr["inputArtifacts"], da["inputArtifacts"], "{mode}");
        let r = dr["pipelineContext"]["pipelineExecutionId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            execution(&s, "p", &r)["rollbackMetadata"]["rollbackTargetPipelineExecutionId"],
            a.as_str()
        );
        assert_eq!(exec_status(&s, "p", &d), "InProgress", "{mode}: D waits");
        call(&s, "PutJobSuccessResult", json!({"jobId": jr})).unwrap();
        assert_eq!(exec_status(&s, "p", &r), "Succeeded");
        let (jd, dd) = take(&s, DEP, Some("prod"));
        assert_eq!(dd["inputArtifacts"][0]["revision"], "c3", "{mode}");
        call(&s, "PutJobSuccessResult", json!({"jobId": jd})).unwrap();
        assert_eq!(exec_status(&s, "p", &d), "Succeeded", "{mode}");
    }
}
