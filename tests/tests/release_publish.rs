//! The release engine (issue 5) end to end: aws-sim's CodePipeline, S3 and
//! Lambda through the official SDK, the worker in-process with the real
//! `LambdaReleaseEngine`. Artifacts are built in the test and uploaded as
//! the pipeline's S3 source object.

use std::time::Duration;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::release::*;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("collect-fn-{i:02}")).collect()
}

fn source_files(name: &str, marker: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "index.js".into(),
            format!("exports.handler = async () => '{name} {marker}';").into_bytes(),
        ),
        ("lib/util.js".into(), b"module.exports = 42;".to_vec()),
    ]
}

/// 60 functions (half prebuilt zips, half `source` directories packaged by
/// the worker), 3 changed: exactly 3 UpdateFunctionCode, 3 PublishVersion
/// and 3 deployments, unchanged ones untouched, the versions in the output
/// variables, every artifact S3 call made with job credentials (the
/// worker's own only for its ledger), the workspace removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_functions_three_changed_publish_exactly_three_versions() {
    let r = ReleaseEnv::new(sim_config()).await;
    let fns = names(60);
    let changed = ["collect-fn-07", "collect-fn-31", "collect-fn-58"];
    let mut bundles = Vec::new();
    for (i, name) in fns.iter().enumerate() {
        let is_changed = changed.contains(&name.as_str());
        if i % 2 == 0 {
            r.create_function(name, function_zip(&format!("{name} v1")), Some("live"))
                .await;
            let marker = if is_changed { "v2" } else { "v1" };
            bundles.push((
                name.clone(),
                TestBundle::Package(function_zip(&format!("{name} {marker}"))),
            ));
        } else {
            // The deployed zip is what the packager makes of the same tree.
            r.create_function(name, packaged(&source_files(name, "v1")), Some("live"))
                .await;
            let marker = if is_changed { "v2" } else { "v1" };
            bundles.push((name.clone(), TestBundle::Source(source_files(name, marker))));
        }
    }
    r.settle();
    r.upload_source(artifact_zip(&bundles)).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let since = r.seq();
    let w = r.worker(r.options());
    let (id, st) = r.run(PIPELINE, Duration::from_secs(20)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(r.ok_lambda_calls(since, "UpdateFunctionCode"), 3);
    assert_eq!(r.lambda_calls(since, "UpdateFunctionCode").len(), 3);
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 3);
    assert_eq!(r.lambda_calls(since, "PublishVersion").len(), 3);
    assert_eq!(
        r.env.ok_calls_of(since, "codedeploy", "CreateDeployment"),
        3,
        "one deployment per changed function"
    );
    let worker_calls = r.env.sim.sim().log.query(since, Some("lambda"), None).len();
    let gets = r.lambda_calls(since, "GetFunction").len();
    let aliases = r.lambda_calls(since, "GetAlias").len();
    eprintln!(
        "60 functions, 3 changed: {worker_calls} Lambda calls ({gets} GetFunction, {aliases} GetAlias)"
    );
    // Reads stay bounded: one GetFunction per unchanged function.
    assert!(gets <= 57 + 3 * 6, "{gets} GetFunction calls");
    assert_eq!(aliases, 3, "GetAlias only for changed functions");
    for name in &fns {
        let want = if changed.contains(&name.as_str()) {
            "2"
        } else {
            "1"
        };
        assert_eq!(
            out.variables.get(name).map(String::as_str),
            Some(want),
            "{name}"
        );
        assert_eq!(r.alias_version(name, "live").await, want);
    }
    assert!(
        out.variables["ReleaseId"].starts_with("r-"),
        "{:?}",
        out.variables
    );
    assert!(out.variables.contains_key("Commit"));
    assert!(
        out.summary.contains("3 function(s) — 3 done")
            && out.summary.contains("(57 unchanged, skipped)"),
        "{}",
        out.summary
    );
    // The published version's description names the release, the version
    // the alias served before and the commit.
    let v = r
        .lambda
        .get_function_configuration()
        .function_name("collect-fn-31")
        .qualifier("2")
        .send()
        .await
        .unwrap();
    let d = v.description().unwrap();
    assert!(
        d.contains(&format!(
            "pipeline-canary release {} previous 1 commit ",
            out.variables["ReleaseId"]
        )),
        "{d}"
    );
    assert!(d.contains(&id), "{d}");
    // Artifacts with job credentials only (issued by the sim: ASIASIM…);
    // the ledger and Lambda with the account's.
    let s3 = r.s3_calls_but_ledger(since);
    assert!(!s3.is_empty());
    assert!(
        r.ledger_calls(since)
            .iter()
            .all(|x| x.access_key_id.as_deref() == Some(e2e::ACCOUNT_KEY))
    );
    for rec in &s3 {
        let k = rec.access_key_id.as_deref().unwrap_or("");
        assert!(k.starts_with("ASIASIM"), "S3 {} with {k}", rec.operation);
    }
    // …and the worker's own (account) credentials would have been refused.
    let denied = r
        .env
        .s3
        .list_objects_v2()
        .bucket(e2e::worker::ARTIFACT_BUCKET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&denied),
        Some("AccessDenied")
    );
    let lambda = r.env.sim.sim().log.query(since, Some("lambda"), None);
    assert!(
        lambda
            .iter()
            .all(|x| x.access_key_id.as_deref() == Some(e2e::ACCOUNT_KEY))
    );
    assert!(
        r.workspace_entries().is_empty(),
        "{:?}",
        r.workspace_entries()
    );
}

/// Manifest problems and validation problems end the job before any
/// mutation, all in one failure message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_and_validation_errors_fail_the_job_before_any_change() {
    let r = ReleaseEnv::new(sim_config()).await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.settle();
    r.pipeline(PIPELINE, false, None, &[]).await;
    let since = r.seq();
    let w = r.worker(r.options());

    // 1. A typo'd key and a function outside FunctionPrefix: PermissionError
    //    (the security problem wins), both problems in the message.
    let bundles = vec![
        (
            "collect-a".to_string(),
            TestBundle::Package(function_zip("a2")),
        ),
        (
            "billing-x".to_string(),
            TestBundle::Package(function_zip("x")),
        ),
    ];
    let manifest = r#"{"version": 1, "defaults": {"alias": "live", "deploymentConfg": "AllAtOnce"},
        "functions": [{"name": "collect-a", "package": "dist/collect-a.zip"},
                      {"name": "billing-x", "package": "dist/billing-x.zip"}]}"#;
    r.upload_source(artifact_with_manifest(manifest, &bundles))
        .await;
    let (id, st) = r.run(PIPELINE, Duration::from_secs(10)).await;
    assert_eq!(st, PipelineExecutionStatus::Failed);
    let (kind, msg) = r
        .action_outcome(PIPELINE, &id)
        .await
        .error
        .expect("an error");
    assert_eq!(kind, "PermissionError", "{msg}");
    assert!(msg.starts_with("pipeline-canary.json: "), "{msg}");
    assert!(msg.contains("did you mean `deploymentConfig`?"), "{msg}");
    assert!(
        msg.contains("function `billing-x` is outside this action's FunctionPrefix `collect-`"),
        "{msg}"
    );

    // 2. A missing function and a missing hook: ConfigurationError naming both.
    let bundles = vec![
        (
            "collect-a".to_string(),
            TestBundle::Package(function_zip("a2")),
        ),
        (
            "collect-missing".to_string(),
            TestBundle::Package(function_zip("m")),
        ),
    ];
    let manifest = r#"{"version": 1, "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"},
        "functions": [{"name": "collect-a", "package": "dist/collect-a.zip",
                       "hooks": {"beforeAllowTraffic": "CodeDeployHook_smoke"}},
                      {"name": "collect-missing", "package": "dist/collect-missing.zip"}]}"#;
    r.upload_source(artifact_with_manifest(manifest, &bundles))
        .await;
    let (id, st) = r.run(PIPELINE, Duration::from_secs(10)).await;
    assert_eq!(st, PipelineExecutionStatus::Failed);
    let (kind, msg) = r
        .action_outcome(PIPELINE, &id)
        .await
        .error
        .expect("an error");
    assert_eq!(kind, "ConfigurationError", "{msg}");
    assert!(
        msg.contains("function `collect-missing` does not exist in Lambda"),
        "{msg}"
    );
    assert!(
        msg.contains("beforeAllowTraffic hook function `CodeDeployHook_smoke` does not exist"),
        "{msg}"
    );

    // 3. A corrupt input artifact: ConfigurationError.
    r.upload_source(b"PK\x03\x04 this is not really a zip".to_vec())
        .await;
    let (id, st) = r.run(PIPELINE, Duration::from_secs(10)).await;
    assert_eq!(st, PipelineExecutionStatus::Failed);
    let (kind, msg) = r
        .action_outcome(PIPELINE, &id)
        .await
        .error
        .expect("an error");
    assert_eq!(kind, "ConfigurationError", "{msg}");
    assert!(msg.starts_with("the input artifact: "), "{msg}");
    w.stop().await;

    for op in [
        "UpdateFunctionCode",
        "PublishVersion",
        "UpdateAlias",
        "CreateAlias",
    ] {
        assert!(r.lambda_calls(since, op).is_empty(), "{op} called");
    }
    assert_eq!(r.alias_version("collect-a", "live").await, "1");
    assert!(
        r.workspace_entries().is_empty(),
        "{:?}",
        r.workspace_entries()
    );
}

/// A KMS-encrypted artifact store: the input (SSE-KMS) is read, and the
/// output artifact `release.json` is written SSE-KMS with the job's
/// `encryptionKey`. Credentials that expire mid-job (300 ms TTL, a code
/// update that takes longer) are refreshed with GetJobDetails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_output_artifact_and_credentials_refreshed_mid_job() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let r = ReleaseEnv::new(e2e::SimConfig {
        credential_ttl: Duration::from_millis(300),
        lambda_update_delay: Duration::from_secs(40),
        ..sim_config()
    })
    .await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.create_function("collect-b", function_zip("b1"), Some("live"))
        .await;
    r.settle();
    let bundles = vec![
        (
            "collect-a".to_string(),
            TestBundle::Package(function_zip("a2")),
        ),
        (
            "collect-b".to_string(),
            TestBundle::Package(function_zip("b1")),
        ),
    ];
    r.upload_source(artifact_zip(&bundles)).await;
    r.pipeline(PIPELINE, true, Some(key), &[]).await;
    let since = r.seq();
    let w = r.worker(r.options());
    let (id, st) = r.run(PIPELINE, Duration::from_secs(15)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(out.variables["collect-a"], "2");
    assert_eq!(out.variables["collect-b"], "1");

    // Credentials: expired once, refreshed with GetJobDetails, all artifact
    // S3 calls with job keys, more than one key used.
    let s3 = r.s3_calls_but_ledger(since);
    assert!(
        s3.iter()
            .any(|x| x.error.as_deref() == Some("ExpiredToken")),
        "{:?}",
        s3.iter()
            .map(|x| (&x.operation, &x.error))
            .collect::<Vec<_>>()
    );
    let keys: std::collections::BTreeSet<&str> = s3
        .iter()
        .filter_map(|x| x.access_key_id.as_deref())
        .collect();
    assert!(keys.iter().all(|k| k.starts_with("ASIASIM")), "{keys:?}");
    assert!(keys.len() >= 2, "{keys:?}");
    assert!(r.env.ok_calls("GetJobDetails") >= 1);
    assert!(
        s3.iter()
            .any(|x| x.operation == "PutObject" && x.status == 200)
    );

    // The output artifact: SSE-KMS with the pipeline's key, release.json inside.
    let ex = r
        .env
        .cp
        .list_action_executions()
        .pipeline_name(PIPELINE)
        .send()
        .await
        .unwrap();
    let detail = ex
        .action_execution_details()
        .iter()
        .find(|d| d.action_name() == Some("Canary"))
        .unwrap();
    // The input artifact the worker read was SSE-KMS too.
    let input = detail.input().unwrap().input_artifacts()[0]
        .s3_location()
        .unwrap();
    let info = r
        .env
        .sim
        .sim()
        .s3
        .head_object_internal(input.bucket().unwrap(), input.key().unwrap())
        .unwrap();
    assert_eq!(info.sse_kms_key_id.as_deref(), Some(key));
    let loc = detail.output().unwrap().output_artifacts()[0]
        .s3_location()
        .unwrap();
    let (bucket, k) = (loc.bucket().unwrap(), loc.key().unwrap());
    let (data, info) = r.env.sim.sim().s3.get_object_internal(bucket, k).unwrap();
    assert_eq!(info.sse_kms_key_id.as_deref(), Some(key));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("release.json").unwrap(), &mut text).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["releaseId"], out.variables["ReleaseId"].as_str());
    assert_eq!(json["functions"][0]["name"], "collect-a");
    assert_eq!(json["functions"][0]["status"], "published");
    assert_eq!(json["functions"][0]["version"], "2");
    assert_eq!(json["functions"][1]["status"], "unchanged");
    assert_eq!(json["executionId"], id.as_str());
    assert!(r.workspace_entries().is_empty());
}

/// `UpdateFunctionCode` while the function's previous update is still in
/// progress: 409 ResourceConflictException, backed off and retried until
/// it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_conflict_while_an_update_is_in_progress_is_retried() {
    let r = ReleaseEnv::new(e2e::SimConfig {
        lambda_update_delay: Duration::from_secs(30),
        ..sim_config()
    })
    .await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.settle();
    r.upload_source(artifact_zip(&[(
        "collect-a".to_string(),
        TestBundle::Package(function_zip("a2")),
    )]))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    // Someone else's configuration update is still running (30 s simulated = 600 ms).
    r.lambda
        .update_function_configuration()
        .function_name("collect-a")
        .description("changed by someone else")
        .send()
        .await
        .unwrap();
    let since = r.seq();
    let w = r.worker(r.options());
    let (id, st) = r.run(PIPELINE, Duration::from_secs(15)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    let updates = r.lambda_calls(since, "UpdateFunctionCode");
    assert!(
        updates
            .iter()
            .any(|(s, e)| *s == 409 && e.as_deref() == Some("ResourceConflictException")),
        "{updates:?}"
    );
    assert_eq!(
        updates.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{updates:?}"
    );
    assert_eq!(out.variables["collect-a"], "2");
}

/// A retry of the same release (same pipeline execution) finds the version
/// a previous attempt published — same CodeSha256, description naming the
/// release — and reuses it: no UpdateFunctionCode, no PublishVersion, even
/// though publishing now would create a new version (the configuration
/// changed since).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_reuses_the_version_a_previous_attempt_published() {
    let r = ReleaseEnv::new(sim_config()).await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.create_function("collect-b", function_zip("b1"), Some("live"))
        .await;
    r.settle();
    let a2 = function_zip("a2");
    r.upload_source(artifact_zip(&[
        ("collect-a".to_string(), TestBundle::Package(a2.clone())),
        (
            "collect-b".to_string(),
            TestBundle::Package(function_zip("b2")),
        ),
    ]))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let id = r.env.start(PIPELINE).await;
    // What a first attempt that died after publishing collect-a left behind.
    let rid = pipeline_canary::canary::release_id(PIPELINE, "Deploy", "Canary", &id);
    r.lambda
        .update_function_code()
        .function_name("collect-a")
        .zip_file(aws_sdk_lambda::primitives::Blob::new(a2.clone()))
        .send()
        .await
        .unwrap();
    r.settle();
    let v = r
        .lambda
        .publish_version()
        .function_name("collect-a")
        .description(pipeline_canary::release::plan::version_description(
            &rid,
            &id,
            Some("x"),
            Some("1"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(v.version(), Some("2"));
    r.lambda
        .update_function_configuration()
        .function_name("collect-a")
        .description("changed since")
        .send()
        .await
        .unwrap();
    r.settle();
    let since = r.seq();
    let w = r.worker(r.options());
    let st = r.wait(PIPELINE, &id, Duration::from_secs(15)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(out.variables["collect-a"], "2", "reused");
    assert_eq!(out.variables["collect-b"], "2");
    assert_eq!(
        r.ok_lambda_calls(since, "UpdateFunctionCode"),
        1,
        "only collect-b"
    );
    assert_eq!(
        r.ok_lambda_calls(since, "PublishVersion"),
        1,
        "only collect-b"
    );
    assert_eq!(r.lambda_calls(since, "ListVersionsByFunction").len(), 1);
}

/// A console retry after a Lambda outage during publishing: the first job
/// fails with SystemUnavailable after bounded retries; the retried action
/// (new job, same pipeline execution) does not upload the code again and
/// publishes once per function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_retry_after_an_outage_does_not_redo_finished_work() {
    use aws_sim::faults::{FaultConfig, FaultRule};
    let r = ReleaseEnv::new(sim_config()).await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.create_function("collect-b", function_zip("b1"), Some("live"))
        .await;
    r.settle();
    r.upload_source(artifact_zip(&[
        (
            "collect-a".to_string(),
            TestBundle::Package(function_zip("a2")),
        ),
        (
            "collect-b".to_string(),
            TestBundle::Package(function_zip("b2")),
        ),
    ]))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let sim = r.env.sim.sim();
    sim.faults
        .set(
            FaultConfig {
                seed: Some(1),
                rules: vec![FaultRule {
                    service: Some("lambda".into()),
                    operation: Some("PublishVersion".into()),
                    unavailable: 1.0,
                    ..Default::default()
                }],
            },
            sim.clock.now(),
        )
        .unwrap();
    let since = r.seq();
    let w = r.worker(r.options());
    let (id, st) = r.run(PIPELINE, Duration::from_secs(15)).await;
    assert_eq!(st, PipelineExecutionStatus::Failed);
    let (kind, msg) = r.action_outcome(PIPELINE, &id).await.error.unwrap();
    assert_eq!(kind, "SystemUnavailable", "{msg}");
    assert!(
        msg.contains("publishing failed for 2 of 2 changed functions"),
        "{msg}"
    );
    assert_eq!(r.ok_lambda_calls(since, "UpdateFunctionCode"), 2);
    sim.faults
        .set(
            FaultConfig {
                seed: None,
                rules: vec![],
            },
            sim.clock.now(),
        )
        .unwrap();
    r.env
        .cp
        .retry_stage_execution()
        .pipeline_name(PIPELINE)
        .stage_name("Deploy")
        .pipeline_execution_id(&id)
        .retry_mode(aws_sdk_codepipeline::types::StageRetryMode::FailedActions)
        .send()
        .await
        .expect("RetryStageExecution");
    let st = r.wait(PIPELINE, &id, Duration::from_secs(15)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(
        r.ok_lambda_calls(since, "UpdateFunctionCode"),
        2,
        "no second upload"
    );
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 2);
    assert_eq!(out.variables["collect-a"], "2");
    assert_eq!(out.variables["collect-b"], "2");
    assert!(r.workspace_entries().is_empty());
}

/// `pipeline-canary plan`: read-only, per function unchanged / changed
/// (old → new CodeSha256) with the config and its duration, the expected
/// total time; the same validation messages as the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_prints_changes_and_makes_only_read_calls() {
    use pipeline_canary::release::cli::{PlanOptions, plan};
    let r = ReleaseEnv::new(sim_config()).await;
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.create_function("collect-b", function_zip("b1"), Some("live"))
        .await;
    r.create_function("collect-new", function_zip("n1"), None)
        .await;
    r.settle();
    let manifest = r#"{"version": 1, "defaults": {"alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute"},
        "functions": [{"name": "collect-a", "package": "dist/collect-a.zip", "deploymentConfig": "Canary10Percent30Minutes"},
                      {"name": "collect-b", "package": "dist/collect-b.zip"},
                      {"name": "collect-new", "package": "dist/collect-new.zip"}]}"#;
    let zip = artifact_with_manifest(
        manifest,
        &[
            (
                "collect-a".to_string(),
                TestBundle::Package(function_zip("a2")),
            ),
            (
                "collect-b".to_string(),
                TestBundle::Package(function_zip("b1")),
            ),
            (
                "collect-new".to_string(),
                TestBundle::Package(function_zip("n2")),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("release.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let opts = PlanOptions {
        function_prefix: "collect-".into(),
        ..Default::default()
    };
    let since = r.seq();
    let text = plan(&r.env.conf, &zip_path, &opts).await.expect("plan");
    eprintln!("{text}");
    let sha = |b: &[u8]| pipeline_canary::artifact::code_sha256_bytes(b);
    assert!(
        text.starts_with(
            "Release plan (pipeline-canary.json): 3 functions, 2 changed, 1 unchanged\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "changed    collect-a:live version 1: {} → {}, Canary10Percent30Minutes (30 min)",
            sha(&function_zip("a1")),
            sha(&function_zip("a2"))
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "unchanged  collect-b:live (version 1, CodeSha256 {})",
            sha(&function_zip("b1"))
        )),
        "{text}"
    );
    assert!(text.contains("new alias  collect-new:live"), "{text}");
    assert!(
        text.contains("Schedule: 1 deployment, all shifting together, 1 wave")
            && text.contains("Expected total time: 30 min (the last shift ends at +30 min 0.0 s)"),
        "{text}"
    );
    // The same on the unpacked directory.
    let unpacked = dir.path().join("unpacked");
    write_artifact_dir(&zip, &unpacked);
    assert_eq!(plan(&r.env.conf, &unpacked, &opts).await.unwrap(), text);
    // Read-only.
    let ops: std::collections::BTreeSet<String> = r
        .env
        .sim
        .sim()
        .log
        .query(since, None, None)
        .into_iter()
        .map(|x| x.operation)
        .collect();
    assert!(
        ops.iter().all(|o| o == "GetFunction" || o == "GetAlias"),
        "{ops:?}"
    );
    // Same validation as the worker.
    let bad = artifact_with_manifest(
        r#"{"version": 1, "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"},
            "functions": [{"name": "collect-gone", "package": "dist/collect-gone.zip"}]}"#,
        &[(
            "collect-gone".to_string(),
            TestBundle::Package(function_zip("g")),
        )],
    );
    std::fs::write(&zip_path, &bad).unwrap();
    let e = plan(&r.env.conf, &zip_path, &opts).await.unwrap_err();
    assert_eq!(
        e.kind,
        pipeline_canary::report::FailureKind::ConfigurationError
    );
    assert!(
        e.message
            .contains("function `collect-gone` does not exist in Lambda"),
        "{}",
        e.message
    );
}

/// The adapters' S3 download/upload and Lambda observe/update/publish flow
/// against aws-sim and, where installed, moto: only what both implement is
/// asserted (moto enforces no preconditions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_flow_against_the_sim_and_moto() {
    use std::sync::Arc;

    use pipeline_canary::codepipeline::JobContext;
    use pipeline_canary::job::{ActionConfiguration, Artifact, ArtifactCredentials, JobInput};
    use pipeline_canary::release::fetch::ArtifactStore;
    use pipeline_canary::release::lambda::{LambdaApi, PublishRequest, UpdateWait};
    use pipeline_canary::release::limiter::{Limiter, LimiterConfig};

    let sim = e2e::start_sim(sim_config()).await;
    let mut endpoints = vec![("aws-sim", sim.endpoint(), None)];
    if let Some(moto) = e2e::moto::moto("adapters_flow_against_the_sim_and_moto").await {
        moto_create_role(&moto.endpoint).await;
        endpoints.push(("moto", moto.endpoint.clone(), Some(moto)));
    }
    for (who, endpoint, _guard) in &endpoints {
        let conf = e2e::sdk_config(endpoint);
        // S3: the artifact streamed down and an output uploaded.
        let s3 = e2e::s3_client(&conf);
        s3.create_bucket()
            .bucket("flow-artifacts")
            .send()
            .await
            .unwrap();
        let artifact = artifact_zip(&[(
            "collect-flow".to_string(),
            TestBundle::Package(function_zip("f2")),
        )]);
        s3.put_object()
            .bucket("flow-artifacts")
            .key("in/App.zip")
            .body(artifact.clone().into())
            .send()
            .await
            .unwrap();
        let input = Artifact {
            name: "App".into(),
            revision: Some("abc".into()),
            bucket: "flow-artifacts".into(),
            key: "in/App.zip".into(),
        };
        let job = JobInput {
            job_id: "00000000-0000-4000-8000-000000000001".into(),
            pipeline_name: "p".into(),
            stage_name: "Deploy".into(),
            action_name: "Canary".into(),
            pipeline_execution_id: "e".into(),
            action_execution_id: "a".into(),
            configuration: ActionConfiguration::default(),
            input_artifacts: vec![input.clone()],
            output_artifacts: vec![],
            artifact_credentials: Some(ArtifactCredentials {
                access_key_id: e2e::ACCOUNT_KEY.into(),
                secret_access_key: e2e::ACCOUNT_SECRET.into(),
                session_token: "token".into(),
            }),
            continuation_token: None,
            encryption_key_id: None,
        };
        let ctx = JobContext::new(job, None, Duration::from_secs(600));
        let store = ArtifactStore {
            sdk: &conf,
            ctx: &ctx,
            path_style: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("in.zip");
        let n = store
            .download(&input, &dest)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(n, artifact.len() as u64, "{who}");
        assert_eq!(std::fs::read(&dest).unwrap(), artifact, "{who}");
        let out = Artifact {
            key: "out/Released.zip".into(),
            ..input.clone()
        };
        store
            .upload(&out, b"zip".to_vec(), None)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        let got = s3
            .get_object()
            .bucket("flow-artifacts")
            .key("out/Released.zip")
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            b"zip",
            "{who}"
        );

        // Lambda: observe, update + wait + publish, and the retry's reuse.
        let l = aws_sdk_lambda::Client::new(&conf);
        l.create_function()
            .function_name("collect-flow")
            .runtime(aws_sdk_lambda::types::Runtime::Nodejs20x)
            .role(ROLE)
            .handler("index.handler")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(function_zip("f1")))
                    .build(),
            )
            .publish(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: CreateFunction {e:?}"));
        l.create_alias()
            .function_name("collect-flow")
            .name("live")
            .function_version("1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: CreateAlias {e:?}"));
        let limiter = || {
            Arc::new(Limiter::new(LimiterConfig {
                rate_per_second: 100.0,
                ..LimiterConfig::control_plane()
            }))
        };
        let api = LambdaApi::new(
            &conf,
            limiter(),
            limiter(),
            None,
            UpdateWait {
                poll_interval: Duration::from_millis(50),
                timeout: Duration::from_secs(10),
            },
        );
        let sha = |b: &[u8]| pipeline_canary::artifact::code_sha256_bytes(b);
        let new = function_zip("f2");
        let seen = api
            .observe_function("collect-flow", "live", &sha(&new))
            .await
            .unwrap();
        let alias = seen.alias.expect("alias");
        assert_eq!(alias.version, "1", "{who}");
        assert_eq!(alias.code_sha256, sha(&function_zip("f1")), "{who}");
        let missing = api
            .observe_function("collect-nope", "live", "x")
            .await
            .unwrap();
        assert_eq!(
            missing.exists,
            pipeline_canary::release::plan::Existence::Missing,
            "{who}"
        );
        let bundle = dir.path().join("f2.zip");
        std::fs::write(&bundle, &new).unwrap();
        let req = PublishRequest {
            function: "collect-flow".into(),
            code_sha256: sha(&new),
            bundle,
            zip_bytes: new.len() as u64,
            description: pipeline_canary::release::plan::version_description(
                "r-flow",
                "e",
                Some("abc"),
                Some("1"),
            ),
            release_id: "r-flow".into(),
            reuse_earlier: false,
        };
        let p = api
            .publish(&req)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(
            (p.version.as_str(), p.updated, p.reused),
            ("2", true, false),
            "{who}"
        );
        let again = api
            .publish(&req)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(
            (again.version.as_str(), again.updated, again.reused),
            ("2", false, true),
            "{who}"
        );
    }
}

/// The worker shuts down while publishing: the job reaches its next safe
/// point, is handed back with a token recording the published versions,
/// and a second worker finishes the release without uploading or
/// publishing anything again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_publishing_hands_back_and_the_next_worker_finishes() {
    let r = ReleaseEnv::new(e2e::SimConfig {
        lambda_update_delay: Duration::from_secs(30),
        ..sim_config()
    })
    .await;
    for n in ["collect-a", "collect-b", "collect-c"] {
        r.create_function(n, function_zip(&format!("{n} 1")), Some("live"))
            .await;
    }
    r.settle();
    r.upload_source(artifact_zip(&[
        (
            "collect-a".to_string(),
            TestBundle::Package(function_zip("collect-a 2")),
        ),
        (
            "collect-b".to_string(),
            TestBundle::Package(function_zip("collect-b 1")),
        ),
        (
            "collect-c".to_string(),
            TestBundle::Package(function_zip("collect-c 2")),
        ),
    ]))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let since = r.seq();
    let first = r.worker(r.options());
    let id = r.env.start(PIPELINE).await;
    e2e::worker::eventually("a code update", Duration::from_secs(5), || {
        !r.lambda_calls(since, "UpdateFunctionCode").is_empty()
    })
    .await;
    first.stop().await;
    assert_eq!(
        r.ok_lambda_calls(since, "PublishVersion"),
        2,
        "published before the hand-back"
    );
    let handed_back = r.seq();
    let second = r.worker(r.options());
    let st = r.wait(PIPELINE, &id, Duration::from_secs(10)).await;
    second.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    assert_eq!(r.lambda_calls(handed_back, "UpdateFunctionCode").len(), 0);
    assert_eq!(r.lambda_calls(handed_back, "PublishVersion").len(), 0);
    assert_eq!(
        r.lambda_calls(handed_back, "ListVersionsByFunction").len(),
        0
    );
    assert_eq!(out.variables["collect-a"], "2");
    assert_eq!(out.variables["collect-b"], "1");
    assert_eq!(out.variables["collect-c"], "2");
    assert_eq!(
        r.env.ok_calls("AcknowledgeJob"),
        2,
        "two jobs: the first handed back"
    );
    assert!(
        r.workspace_entries().is_empty(),
        "{:?}",
        r.workspace_entries()
    );
}

/// The Serverless Framework fixture (`serverless package` output) and its
/// equivalent native manifest produce the same plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverless_output_and_native_manifest_plan_the_same() {
    use pipeline_canary::release::cli::{PlanOptions, plan};
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/fixtures/serverless/collect");
    let collect = std::fs::read(fixture.join(".serverless/collect.zip")).unwrap();
    let r = ReleaseEnv::new(sim_config()).await;
    for n in [
        "collect-create-pickup",
        "collect-prod-smokeHook",
        "collect-prod-verifyHook",
    ] {
        r.create_function(n, collect.clone(), Some("live")).await;
    }
    r.create_function("collect-prod-listSlots", function_zip("old"), Some("live"))
        .await;
    r.create_function("collect-quote-price", function_zip("old"), None)
        .await;
    r.settle();
    let opts = PlanOptions {
        function_prefix: "collect-".into(),
        ..Default::default()
    };
    let sls = plan(&r.env.conf, &fixture, &opts)
        .await
        .expect("serverless plan");
    let native = plan(
        &r.env.conf,
        &fixture,
        &PlanOptions {
            manifest: Some("native-equivalent.json".into()),
            ..opts.clone()
        },
    )
    .await
    .expect("native plan");
    eprintln!("{sls}");
    assert!(
        sls.starts_with(
            "Release plan (.serverless/serverless-state.json): 5 functions, 2 changed, 3 unchanged"
        ),
        "{sls}"
    );
    // The hook functions have no deploymentSettings: code only in the
    // Serverless output (the plugin gives them no alias), aliased in the
    // native manifest; every other line is the same.
    let body = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .filter(|l| !l.contains("Hook"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(body(&sls), body(&native));
    assert!(
        sls.contains("unchanged  collect-prod-smokeHook code only"),
        "{sls}"
    );
    assert!(
        sls.contains("unchanged  collect-create-pickup:live"),
        "{sls}"
    );
    assert!(
        sls.contains("changed    collect-prod-listSlots:live version 1"),
        "{sls}"
    );
    assert!(sls.contains("new alias  collect-quote-price:live"), "{sls}");
}

/// Bundles above the direct-upload threshold go through the worker's
/// staging bucket (the worker's own credentials, not the job's):
/// PutObject there, then UpdateFunctionCode from S3. The threshold is
/// lowered here so a small bundle takes the path a > 50 MB one takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bundles_go_through_the_staging_bucket() {
    let r = ReleaseEnv::new(sim_config()).await;
    r.env
        .s3
        .create_bucket()
        .bucket("collect-staging")
        .send()
        .await
        .unwrap();
    r.create_function("collect-a", function_zip("a1"), Some("live"))
        .await;
    r.create_function("collect-b", function_zip("b1"), Some("live"))
        .await;
    r.settle();
    let big = zip_of(&[
        (
            "index.js",
            b"exports.handler = async () => 'a2';".as_slice(),
        ),
        ("data.bin", &[7u8; 4096]),
    ]);
    let small = function_zip("b2");
    r.upload_source(artifact_zip(&[
        ("collect-a".to_string(), TestBundle::Package(big.clone())),
        ("collect-b".to_string(), TestBundle::Package(small.clone())),
    ]))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let since = r.seq();
    let mut options = r.options();
    options.staging_bucket = Some("collect-staging".into());
    options.staging_above_bytes = small.len() as u64;
    assert!(big.len() > small.len());
    let w = r.worker(options);
    let (id, st) = r.run(PIPELINE, Duration::from_secs(15)).await;
    w.stop().await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    let sha = |b: &[u8]| pipeline_canary::artifact::code_sha256_bytes(b);
    let staged = r
        .env
        .s3
        .list_objects_v2()
        .bucket("collect-staging")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = staged.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("pipeline-canary/collect-a/"),
        "{keys:?}"
    );
    let puts: Vec<_> = r
        .s3_calls_but_ledger(since)
        .into_iter()
        .filter(|x| x.operation == "PutObject")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].access_key_id.as_deref(), Some(e2e::ACCOUNT_KEY));
    for (f, zip) in [("collect-a", &big), ("collect-b", &small)] {
        let v = r
            .lambda
            .get_function_configuration()
            .function_name(f)
            .qualifier("2")
            .send()
            .await
            .unwrap();
        assert_eq!(v.code_sha256(), Some(sha(zip).as_str()), "{f}");
    }
}
