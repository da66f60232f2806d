//! CodePipeline V2's stage rollback and automatic retry, end to end through
//! real jobs against aws-sim: the console's "Start rollback"
//! (RollbackStage), a stage's `onFailure` ROLLBACK and RETRY. A rollback
//! execution is an ordinary release of an older artifact: every function
//! that differs shifts through its canary, on the version that already
//! holds its code (no duplicate versions), and the record and the console
//! name the release it puts back.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch as cw;
use aws_sdk_codepipeline::types::{
    FailureConditions, PipelineExecutionStatus, Result as StageResult, RetryConfiguration,
    StageRetryMode, TriggerType,
};
use e2e::canary::{errors_alarm, function_zip};
use e2e::release::*;
use pipeline_canary::ledger::{Ledger, Location};

const LINEAR: &str = "Linear10PercentEvery1Minute";
const WAIT: Duration = Duration::from_secs(60);

/// `collect-fn1..n` on version 1 (`live` → 1).
async fn functions(r: &ReleaseEnv, n: usize) -> Vec<String> {
    let names: Vec<String> = (1..=n).map(|i| format!("collect-fn{i}")).collect();
    for name in &names {
        r.create_function(
            name,
            function_zip(None, &format!("{name}-v1")),
            Some("live"),
        )
        .await;
    }
    names
}

/// A release artifact: each function with the code tagged `tags[i]`
/// (`v1` is its version 1 code), `faulty` erring half the time, guarded by
/// `alarms` (function → alarm).
fn artifact(
    names: &[String],
    tags: &[&str],
    faulty: Option<&str>,
    alarms: &BTreeMap<&str, &str>,
) -> Vec<u8> {
    let fns: Vec<CanaryFunction> = names
        .iter()
        .zip(tags)
        .map(|(n, tag)| CanaryFunction {
            name: n.clone(),
            zip: function_zip(
                (faulty == Some(n.as_str())).then_some(r#"{"errorRate":0.5}"#),
                &format!("{n}-{tag}"),
            ),
            alarms: alarms
                .get(n.as_str())
                .map(|a| vec![a.to_string()])
                .unwrap_or_default(),
            config: None,
        })
        .collect();
    canary_artifact(LINEAR, &fns, None)
}

/// Every function's `live` alias: (version, routing).
async fn aliases(r: &ReleaseEnv, names: &[String]) -> Vec<Option<(String, Option<f64>)>> {
    let mut out = Vec::new();
    for n in names {
        out.push(r.alias_state(n).await);
    }
    out
}

fn on(version: &str) -> Option<(String, Option<f64>)> {
    Some((version.to_string(), None))
}

/// CodeDeploy deployments created since `since`.
fn deployments_since(r: &ReleaseEnv, since: u64) -> usize {
    r.env
        .sim
        .sim()
        .log
        .query(since, Some("codedeploy"), Some("CreateDeployment"))
        .iter()
        .filter(|c| c.status == 200)
        .count()
}

/// Versions of `f` (not `$LATEST`): (number, CodeSha256).
async fn versions(r: &ReleaseEnv, f: &str) -> Vec<(String, String)> {
    r.lambda
        .list_versions_by_function()
        .function_name(f)
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .filter(|v| v.version() != Some("$LATEST"))
        .map(|v| {
            (
                v.version().unwrap_or_default().to_string(),
                v.code_sha256().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The release id of execution `id` (its action's external execution id).
async fn release_of(r: &ReleaseEnv, id: &str) -> String {
    r.action_outcome(PIPELINE, id).await.external_id.unwrap()
}

/// No two versions of any function hold the same code.
async fn no_duplicate_versions(r: &ReleaseEnv, names: &[String]) {
    for n in names {
        let vs = versions(r, n).await;
        let mut shas: Vec<&String> = vs.iter().map(|(_, s)| s).collect();
        shas.sort();
        shas.dedup();
        assert_eq!(shas.len(), vs.len(), "{n}: versions share code: {vs:?}");
    }
}

fn ledger(r: &ReleaseEnv) -> Ledger {
    Ledger::new(&r.env.conf, Location::parse(LEDGER).unwrap(), true)
}

/// The executions of `pipeline` started by `trigger`, newest first.
async fn executions_by(r: &ReleaseEnv, pipeline: &str, trigger: TriggerType) -> Vec<String> {
    r.env
        .cp
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .iter()
        .filter(|s| s.trigger().and_then(|t| t.trigger_type()) == Some(&trigger))
        .filter_map(|s| s.pipeline_execution_id().map(str::to_string))
        .collect()
}

/// A, then B, then the console's "Start rollback" to A: every alias is back
/// on A's versions (no version published, no code uploaded), exactly the
/// functions B changed shift back, the execution shows its trigger and
/// target as AWS does, and the record and the summary name release A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_rollback_puts_an_earlier_release_back_on_its_own_versions() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let none = BTreeMap::new();
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    // A: fn1 and fn2 get new code; fn3 keeps version 1.
    r.upload_source(artifact(&names, &["a", "a", "v1"], None, &none))
        .await;
    let (a, st) = r.run(PIPELINE, WAIT).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded);
    let release_a = r.action_outcome(PIPELINE, &a).await.external_id.unwrap();
    assert_eq!(aliases(&r, &names).await, [on("2"), on("2"), on("1")]);
    // B: fn1 and fn3 change; fn2 keeps A's code.
    r.upload_source(artifact(&names, &["b", "a", "b"], None, &none))
        .await;
    let (b, st) = r.run(PIPELINE, WAIT).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded);
    assert_eq!(aliases(&r, &names).await, [on("3"), on("2"), on("2")]);

    let since = r.seq();
    let rollback = r
        .env
        .cp
        .rollback_stage()
        .pipeline_name(PIPELINE)
        .stage_name("Deploy")
        .target_pipeline_execution_id(&a)
        .send()
        .await
        .expect("RollbackStage")
        .pipeline_execution_id()
        .to_string();
    let st = r.wait(PIPELINE, &rollback, WAIT).await;
    let out = r.action_outcome(PIPELINE, &rollback).await;
    w.stop().await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");

    // A's code, on A's own versions: nothing published or uploaded.
    assert_eq!(aliases(&r, &names).await, [on("2"), on("2"), on("1")]);
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 0);
    assert_eq!(r.ok_lambda_calls(since, "UpdateFunctionCode"), 0);
    no_duplicate_versions(&r, &names).await;
    // Exactly the functions that differ (fn1, fn3) shifted.
    assert_eq!(deployments_since(&r, since), 2);

    // The execution as AWS shows it.
    let e = r
        .env
        .cp
        .get_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_id(&rollback)
        .send()
        .await
        .unwrap();
    let e = e.pipeline_execution().unwrap();
    assert_eq!(
        e.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::ManualRollback)
    );
    assert_eq!(
        e.rollback_metadata()
            .and_then(|m| m.rollback_target_pipeline_execution_id()),
        Some(a.as_str())
    );

    // The record and the console name release A (and its commit).
    let rid = out.external_id.clone().unwrap();
    let (record, _) = ledger(&r).record(&rid).await.unwrap().unwrap();
    let (record_a, _) = ledger(&r).record(&release_a).await.unwrap().unwrap();
    let to = record.rolls_back_to.clone().expect("rollsBackTo");
    assert_eq!(to.trigger, "ManualRollback");
    assert_eq!(to.execution_id, a);
    assert_eq!(to.release_id, release_a);
    assert_eq!(to.commit, record_a.commit);
    let commit = record_a.commit.clone().unwrap();
    let expected = format!(
        "Rollback to release {release_a} (commit {}): ",
        commit.get(..7).unwrap_or(&commit)
    );
    assert!(out.summary.starts_with(&expected), "{out:?}");
    // `releases` and `releases show` say so.
    let table = pipeline_canary::history::table(std::slice::from_ref(&record));
    assert!(
        table.contains(&format!("stage rollback to {release_a}")),
        "{table}"
    );
    let shown = pipeline_canary::history::describe(&record);
    assert!(
        shown.contains(&format!(
            "a stage rollback (ManualRollback) to release {release_a} (execution {a}"
        )),
        "{shown}"
    );
    // B's record is untouched by the rollback: it still says Succeeded.
    let release_b = release_of(&r, &b).await;
    let (record_b, _) = ledger(&r).record(&release_b).await.unwrap().unwrap();
    assert_eq!(record_b.outcome.as_str(), "Succeeded");
}

/// `onFailure` ROLLBACK: a faulty release C trips its alarm and rolls back
/// as a whole; CodePipeline then starts an automated rollback to the last
/// execution that succeeded in the stage, which the worker completes with
/// nothing to shift (every function already serves that code).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_rollback_ends_on_the_last_good_release_with_nothing_shifted() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    let cw = cw::Client::new(&r.env.conf);
    // C will publish version 3 of fn1; its alarm watches that version.
    errors_alarm(&cw, "collect-fn1-errors", "collect-fn1", "3").await;
    let alarms = BTreeMap::from([("collect-fn1", "collect-fn1-errors")]);
    r.pipeline_on_failure(
        PIPELINE,
        false,
        None,
        &[],
        Some(
            FailureConditions::builder()
                .result(StageResult::Rollback)
                .build(),
        ),
    )
    .await;
    let w = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    r.upload_source(artifact(&names, &["a", "a"], None, &alarms))
        .await;
    let (a, st) = r.run(PIPELINE, WAIT).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded);
    assert_eq!(aliases(&r, &names).await, [on("2"), on("2")]);

    r.upload_source(artifact(&names, &["c", "c"], Some("collect-fn1"), &alarms))
        .await;
    let (c, st) = r.run(PIPELINE, WAIT).await;
    let out = r.action_outcome(PIPELINE, &c).await;
    assert_eq!(st, PipelineExecutionStatus::Failed, "{out:?}");
    let (_, message) = out.error.clone().unwrap();
    assert!(message.contains("collect-fn1-errors"), "{message}");
    // The automated rollback to A.
    let start = std::time::Instant::now();
    let rollback = loop {
        if let Some(id) = executions_by(&r, PIPELINE, TriggerType::AutomatedRollback)
            .await
            .first()
        {
            break id.clone();
        }
        assert!(start.elapsed() < WAIT, "no automated rollback started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let since = r.seq();
    let st = r.wait(PIPELINE, &rollback, WAIT).await;
    let rolled = r.action_outcome(PIPELINE, &rollback).await;
    w.stop().await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{rolled:?}");
    assert_eq!(aliases(&r, &names).await, [on("2"), on("2")]);
    assert_eq!(deployments_since(&r, since), 0);
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 0);
    let (record, _) = ledger(&r)
        .record(&rolled.external_id.clone().unwrap())
        .await
        .unwrap()
        .unwrap();
    let to = record.rolls_back_to.expect("rollsBackTo");
    assert_eq!(to.trigger, "AutomatedRollback");
    assert_eq!(to.execution_id, a);
    assert!(
        rolled.summary.starts_with("Rollback to release r-")
            && rolled.summary.contains("unchanged"),
        "{rolled:?}"
    );
    no_duplicate_versions(&r, &names).await;
}

/// `onFailure` RETRY (FAILED_ACTIONS): the faulty release fails, the stage
/// is retried automatically once (AWS's bound), the retry attaches to the
/// release's versions instead of publishing again, deploys each function at
/// most once more and fails the same way; every function ends on version 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_retry_retries_once_without_duplicate_versions() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    let cw = cw::Client::new(&r.env.conf);
    errors_alarm(&cw, "collect-fn1-errors", "collect-fn1", "2").await;
    let alarms = BTreeMap::from([("collect-fn1", "collect-fn1-errors")]);
    r.pipeline_on_failure(
        PIPELINE,
        false,
        None,
        &[],
        Some(
            FailureConditions::builder()
                .result(StageResult::Retry)
                .retry_configuration(
                    RetryConfiguration::builder()
                        .retry_mode(StageRetryMode::FailedActions)
                        .build(),
                )
                .build(),
        ),
    )
    .await;
    let w = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    r.upload_source(artifact(&names, &["c", "c"], Some("collect-fn1"), &alarms))
        .await;
    let since = r.seq();
    let (c, st) = r.run(PIPELINE, WAIT).await;
    let out = r.action_outcome(PIPELINE, &c).await;
    w.stop().await;
    assert_eq!(st, PipelineExecutionStatus::Failed, "{out:?}");
    // Two attempts: the first and the automatic retry.
    let state = r
        .env
        .cp
        .get_pipeline_state()
        .name(PIPELINE)
        .send()
        .await
        .unwrap();
    let deploy = state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some("Deploy"))
        .unwrap();
    let retries = deploy
        .retry_stage_metadata()
        .and_then(|m| m.auto_stage_retry_attempt());
    assert_eq!(retries, Some(1), "{deploy:?}");
    // Versions published once; each attempt deployed each function once.
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 2);
    no_duplicate_versions(&r, &names).await;
    let deployed = deployments_since(&r, since);
    assert!(
        (2..=4).contains(&deployed),
        "deployments in two attempts of two functions: {deployed}"
    );
    assert_eq!(aliases(&r, &names).await, [on("1"), on("1")]);
}
