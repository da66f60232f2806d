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
