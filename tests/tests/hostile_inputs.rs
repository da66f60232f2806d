//! The hostile and broken input corpus (issue 9) through real CodePipeline
//! jobs: one in-process worker with the real `LambdaReleaseEngine` (publish
//! and canary orchestration) serves every case against aws-sim, one after
//! the other. Each case must fail its job with ConfigurationError or
//! PermissionError and a message naming the offending path or field; no
//! mutating Lambda/CodeDeploy call may reach the sim during the whole corpus;
//! no file may be left in the worker's dedicated `work_dir` or appear next to
//! it; and after the last case the same worker still releases a good
//! artifact. The corpus itself is generator code in `tests/corpus/hostile.rs`.
//!
//! Continuation-token cases: before the worker starts, the test polls the
//! first job of a pipeline itself and ends it with PutJobSuccessResult and a
//! crafted token (tampered, truncated, newer format, foreign, another
//! execution's), so CodePipeline hands the worker a continuation job
//! carrying it.

#[path = "../corpus/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use aws_sdk_codepipeline::types::{ActionTypeId, PipelineExecutionStatus};
use e2e::canary::errors_alarm;
use e2e::release::*;
use e2e::worker::type_id;
use hostile::{ALARM, FN_A, FN_B};
use pipeline_canary::token::{Envelope, encode};

/// Every call that changes Lambda or CodeDeploy.
const MUTATING: &[(&str, &str)] = &[
    ("lambda", "UpdateFunctionCode"),
    ("lambda", "PublishVersion"),
    ("lambda", "UpdateAlias"),
    ("lambda", "CreateAlias"),
    ("lambda", "UpdateFunctionConfiguration"),
    ("lambda", "DeleteAlias"),
    ("codedeploy", "CreateDeployment"),
    ("codedeploy", "StopDeployment"),
    ("codedeploy", "CreateDeploymentGroup"),
    ("codedeploy", "UpdateDeploymentGroup"),
    ("codedeploy", "CreateApplication"),
    ("codedeploy", "CreateDeploymentConfig"),
];

fn mutations(r: &ReleaseEnv, since: u64) -> Vec<String> {
    let mut out = Vec::new();
    for (svc, op) in MUTATING {
        for c in r.env.sim.sim().log.query(since, Some(svc), Some(op)) {
            out.push(format!("{svc}:{op} -> {}", c.status));
        }
    }
    out
}

/// Names in `dir` (sorted).
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The crafted tokens: (case, token) given the job's and another execution id.
fn crafted_tokens(exec: &str, other: &str) -> Vec<(&'static str, String)> {
    let valid = |x: &str| {
        encode(&Envelope {
            pipeline_execution_id: x.to_string(),
            continuations: 1,
            started_ms: 1_700_000_000_000,
            state: serde_json::json!({}),
        })
        .unwrap()
    };
    let good = valid(exec);
    let mut tampered = good.clone().into_bytes();
    let i = 8;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    vec![
        ("token tampered", String::from_utf8(tampered).unwrap()),
        ("token truncated", good[..good.len() - 7].to_string()),
        (
            "token from a newer version",
            good.replacen("pc1.", "pc9.", 1),
        ),
        ("token not ours", "eyJoZWxsbyI6MX0".to_string()),
        ("token of another execution", valid(other)),
        // Correctly checksummed, of this execution, but pointing at another
        // release's record in the ledger.
        (
            "token re-signed to point at another release",
            encode(&Envelope {
                pipeline_execution_id: exec.to_string(),
                continuations: 1,
                started_ms: 1_700_000_000_000,
                state: serde_json::json!({"r": "r-0000000000000000", "k": "releases/r-0000000000000000.json"}),
            })
            .unwrap(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_corpus_fails_cleanly_mutates_nothing_and_the_worker_survives() {
    let started = Instant::now();
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let cw = aws_sdk_cloudwatch::Client::new(&r.env.conf);
    for f in [FN_A, FN_B] {
        r.create_function(f, hostile::bundle(&format!("{f}-v1")), Some("live"))
            .await;
    }
    errors_alarm(&cw, ALARM, FN_A, "2").await;
    r.settle();

    let parent = tempfile::tempdir().unwrap();
    let work = parent.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let mut options = r.canary_options(Duration::from_millis(40), Duration::from_millis(300));
    options.work_dir = work.clone();
    let abs = hostile::absolute_target();

    let cases = hostile::cases();
    // Pipelines: one for the artifact cases, one per configuration case,
    // one per token case.
    r.pipeline("hostile", false, None, &[]).await;
    for (i, c) in cases.iter().enumerate() {
        if !c.config.is_empty() {
            r.pipeline(&format!("hostile-cfg-{i}"), false, None, &c.config)
                .await;
        }
    }
    let token_cases = crafted_tokens("x", "y").len();
    for i in 0..token_cases {
        r.pipeline(&format!("hostile-token-{i}"), false, None, &[])
            .await;
    }
    let since = r.seq();

    // ---- continuation tokens: take each first job, end it with a crafted token ----
    r.upload_source(hostile::bundle("irrelevant")).await;
    let mut token_runs = Vec::new();
    for i in 0..token_cases {
        let p = format!("hostile-token-{i}");
        let id = r.env.start(&p).await;
        token_runs.push((p, id));
    }
    let def = &r.def;
    let tid: ActionTypeId = type_id(def);
    let mut taken = std::collections::BTreeMap::new();
    let until = Instant::now() + Duration::from_secs(10);
    while taken.len() < token_cases {
        assert!(Instant::now() < until, "token jobs never queued");
        let out = r
            .env
            .cp
            .poll_for_jobs()
            .action_type_id(tid.clone())
            .max_batch_size(10)
            .query_param("Stage", "prod")
            .send()
            .await
            .expect("PollForJobs");
        for j in out.jobs() {
            let d = j.data().unwrap();
            let ctx = d.pipeline_context().unwrap();
            let p = ctx.pipeline_name().unwrap().to_string();
            let exec = ctx.pipeline_execution_id().unwrap().to_string();
            r.env
                .cp
                .acknowledge_job()
                .job_id(j.id().unwrap())
                .nonce(j.nonce().unwrap())
                .send()
                .await
                .expect("AcknowledgeJob");
            taken.insert(p, (j.id().unwrap().to_string(), exec));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = taken.values().next().unwrap().1.clone();
    let mut token_expect = Vec::new();
    for (i, (p, _)) in token_runs.iter().enumerate() {
        let (job, exec) = &taken[p];
        let other = if *exec == other {
            taken.values().nth(1).unwrap().1.clone()
        } else {
            other.clone()
        };
        let (name, token) = crafted_tokens(exec, &other).remove(i);
        r.env
            .cp
            .put_job_success_result()
            .job_id(job)
            .continuation_token(token)
            .send()
            .await
            .expect("PutJobSuccessResult with a crafted token");
        token_expect.push(name);
    }

    // ---- one worker for the whole corpus ----
    let w = r.worker(options);
    let mut failures = Vec::new();
    let mut count = 0;
    let statuses = r.env.wait_done(&token_runs, Duration::from_secs(20)).await;
    for ((p, id), (st, name)) in token_runs
        .iter()
        .zip(statuses.into_iter().zip(token_expect))
    {
        count += 1;
        let out = r.action_outcome(p, id).await;
        let ok = st == PipelineExecutionStatus::Failed
            && out.error.as_ref().is_some_and(|(k, m)| {
                k == "ConfigurationError" && m.contains("continuation token")
            });
        if !ok {
            failures.push(format!("{name}: {st:?} {:?}", out.error));
        }
    }

    for (i, c) in cases.iter().enumerate() {
        count += 1;
        let t = Instant::now();
        let pipeline = if c.config.is_empty() {
            "hostile".to_string()
        } else {
            format!("hostile-cfg-{i}")
        };
        r.upload_source(c.artifact.clone()).await;
        let (id, st) = r.run(&pipeline, Duration::from_secs(20)).await;
        let out = r.action_outcome(&pipeline, &id).await;
        match (&st, &out.error) {
            (PipelineExecutionStatus::Failed, Some((kind, msg))) => {
                if kind != c.expect.code() {
                    failures.push(format!(
                        "{}: {kind} (want {}): {msg}",
                        c.name,
                        c.expect.code()
                    ));
                }
                let missing: Vec<_> = c
                    .names
                    .iter()
                    .filter(|n| !msg.contains(n.as_str()))
                    .collect();
                if !missing.is_empty() {
                    failures.push(format!(
                        "{}: message does not name {missing:?}: {msg}",
                        c.name
                    ));
                }
                eprintln!(
                    "{:>5} ms  {}: {kind}: {msg}",
                    t.elapsed().as_millis(),
                    c.name
                );
            }
            _ => failures.push(format!("{}: {st:?} {:?}", c.name, out.error)),
        }
        let m = mutations(&r, since);
        if !m.is_empty() {
            failures.push(format!("{}: mutated AWS: {m:?}", c.name));
        }
        // The job's workspace is gone; nothing appeared beside work_dir.
        let left = entries(&work);
        if !left.is_empty() {
            failures.push(format!("{}: left in work_dir: {left:?}", c.name));
        }
        let beside = entries(parent.path());
        if beside != ["work"] {
            failures.push(format!("{}: files beside work_dir: {beside:?}", c.name));
        }
        if std::path::Path::new(&abs).exists() {
            failures.push(format!("{}: wrote {abs}", c.name));
        }
    }
    let corpus_took = started.elapsed();

    // ---- the same worker still releases a good artifact ----
    let good = canary_artifact(
        "AllAtOnce",
        &[CanaryFunction {
            name: FN_A.into(),
            zip: hostile::bundle("collect-a-v2"),
            alarms: vec![ALARM.into()],
            config: None,
        }],
        None,
    );
    r.upload_source(good).await;
    let (id, st) = r.run("hostile", Duration::from_secs(30)).await;
    let out = r.action_outcome("hostile", &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(r.alias_version(FN_A, "live").await, "2");
    assert_eq!(r.alias_version(FN_B, "live").await, "1");
    w.stop().await;
    assert!(entries(&work).is_empty(), "{:?}", entries(&work));
    assert_eq!(entries(parent.path()), ["work"]);
    eprintln!(
        "hostile corpus: {count} cases, {} violations, {:.1} s (corpus), {:.1} s total",
        failures.len(),
        corpus_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(count >= 40, "{count} cases");
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Problems in the action's `Alias` / `DeploymentConfig` / `Alarms`
/// properties are reported as `(action) DefaultAlias`,
/// `(action) DefaultDeploymentConfig`, `(action) DefaultAlarms[i]` — names of
/// properties that do not exist in the action type (see
/// `ActionTypeDefinition::embedded`), so the user searches the pipeline for
/// a field they cannot find.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_property_problems_name_the_property_as_configured() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    r.create_function(FN_A, hostile::bundle("a1"), Some("live"))
        .await;
    r.settle();
    r.pipeline(PIPELINE, false, None, &[("DeploymentConfig", "Sometimes")])
        .await;
    let w = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let m = serde_json::json!({"version": 1, "defaults": {"alias": "live"},
        "functions": [{"name": FN_A, "package": "dist/a.zip"}]});
    r.upload_source(hostile::raw_zip(
        &[
            hostile::Raw::file("pipeline-canary.json", m.to_string().as_bytes()),
            hostile::Raw::file("dist/a.zip", &hostile::bundle("a2")),
        ],
        None,
        None,
    ))
    .await;
    let (id, st) = r.run(PIPELINE, Duration::from_secs(20)).await;
    w.stop().await;
    assert_eq!(st, PipelineExecutionStatus::Failed);
    let (_, msg) = r.action_outcome(PIPELINE, &id).await.error.unwrap();
    assert!(msg.contains("(action) DeploymentConfig:"), "{msg}");
    assert!(!msg.contains("DefaultDeploymentConfig"), "{msg}");
}
