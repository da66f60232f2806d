//! The worker's IAM policy against aws-sim's identity-policy enforcement
//! (issue 9, security checks): the shipped `iam/worker-policy.json`, with
//! its CloudFormation placeholders filled in, is installed for the worker's
//! own access key. The worker registers its action type and runs whole
//! releases through CodePipeline with that key; the test's own setup uses
//! the unrestricted account key. From the sim's request log the tests prove
//! that every call the worker makes with its key is allowed, that the key
//! reaches S3 only for the release ledger's prefix (artifacts only with job
//! credentials), and that a policy missing a needed action fails the job
//! cleanly.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_cloudwatch as cw;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sim::iam::{Policy, Verdict};
use aws_sim::requests::RequestRecord;
use e2e::canary::{errors_alarm, function_zip};
use e2e::release::*;
use e2e::worker::{ARTIFACT_BUCKET, RunningWorker, SOURCE_BUCKET, config};
use e2e::{REGION, s3_client, sdk_config_with};
use pipeline_canary::register::Registration;
use pipeline_canary::release::LambdaReleaseEngine;
use serde_json::Value;

/// The worker role's access key (distinct from the account key of the setup).
const WORKER_KEY: &str = "AKIAWORKERROLE000001";
const WORKER_SECRET: &str = "worker/secret/key/for/the/iam/tests/0000";
const LINEAR: &str = "Linear10PercentEvery1Minute";

/// `iam/worker-policy.json` with pipeline.yaml's substitutions for the
/// pipelines these tests create (`FunctionPrefix collect-`, application
/// `collect`, the CodeDeploy role of [`ReleaseEnv::pipeline`]).
fn worker_policy() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../iam/worker-policy.json");
    let text = std::fs::read_to_string(path)
        .expect("read iam/worker-policy.json")
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${FunctionPrefix}", "collect-")
        .replace("${CodeDeployApplicationName}", "collect")
        .replace("${LedgerBucket}", LEDGER_BUCKET)
        .replace(
            "${CodeDeployServiceRole.Arn}",
            "arn:aws:iam::123456789012:role/codedeploy",
        );
    assert!(!text.contains("${"), "an unsubstituted placeholder: {text}");
    serde_json::from_str(&text).expect("worker-policy.json parses")
}

/// `policy` without `action` in any statement (statements left empty go).
fn without_action(mut policy: Value, action: &str) -> Value {
    let statements = policy["Statement"].as_array_mut().unwrap();
    let mut removed = 0;
    for s in statements.iter_mut() {
        if let Some(a) = s["Action"].as_array_mut() {
            let before = a.len();
            a.retain(|x| x.as_str() != Some(action));
            removed += before - a.len();
        }
    }
    statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
    assert!(removed > 0, "{action} is not in the policy");
    policy
}

/// A release env whose worker runs with [`WORKER_KEY`] under `policy`; the
/// action type is registered by the worker's own `register` with that key.
struct IamEnv {
    r: ReleaseEnv,
    worker_conf: aws_config::SdkConfig,
}

async fn iam_env(policy: &Value) -> IamEnv {
    let mut r = ReleaseEnv::new(driven_sim_config()).await;
    // The account registered the harness's version; the worker registers
    // (ListActionTypes + CreateCustomActionType, with its own key) a version
    // of its own, which the pipelines use and the worker polls for.
    r.def.version = "iam".into();
    let sim = r.env.sim.sim();
    sim.iam
        .put_policy(WORKER_KEY, policy)
        .expect("the worker policy is a valid IAM policy");
    let worker_conf = sdk_config_with(
        &r.env.sim.endpoint(),
        Credentials::new(WORKER_KEY, WORKER_SECRET, None, None, "worker-role"),
        REGION,
    );
    let registration = pipeline_canary::register::register(
        &aws_sdk_codepipeline::Client::new(&worker_conf),
        &r.def,
    )
    .await
    .expect("register with the worker's key");
    assert!(
        matches!(registration, Registration::Created),
        "{registration:?}"
    );
    IamEnv { r, worker_conf }
}

impl IamEnv {
    fn worker(&self) -> RunningWorker {
        let options = self
            .r
            .canary_options(Duration::from_millis(40), Duration::from_millis(300));
        let engine = LambdaReleaseEngine::new(&self.worker_conf, options);
        let mut config = config(&self.r.def, "prod", 4);
        // Refresh the artifact credentials (GetJobDetails) at every use, so
        // the refresh call is exercised too.
        config.credentials_refresh_after = Duration::ZERO;
        RunningWorker::start_with(&self.worker_conf, config, engine)
    }

    fn log(&self) -> Vec<RequestRecord> {
        self.r.env.sim.sim().log.query(0, None, None)
    }

    fn worker_calls(&self) -> Vec<RequestRecord> {
        self.log()
            .into_iter()
            .filter(|r| r.access_key_id.as_deref() == Some(WORKER_KEY))
            .collect()
    }
}

fn denied(r: &RequestRecord) -> bool {
    r.error
        .as_deref()
        .is_some_and(|e| e.starts_with("AccessDenied"))
}

/// One function of a test release.
#[derive(Clone, Copy, Default)]
struct Spec {
    /// No `live` alias yet: the release is its first (CreateAlias at the end).
    first: bool,
    /// A deployment config other than Linear10PercentEvery1Minute.
    config: Option<&'static str>,
    /// The new version's simulated behaviour (e.g. an error rate).
    behavior: Option<&'static str>,
    /// A `beforeAllowTraffic` hook function (created, reporting success).
    hook: Option<&'static str>,
}

/// Functions `collect-fn1…` on version 1 (`live` → 1 unless `first`), each
/// with an `Errors` alarm on version 2; a release artifact giving each new
/// code; the pipeline.
async fn release_of(r: &ReleaseEnv, specs: &[Spec]) -> Vec<String> {
    let cw = cw::Client::new(&r.env.conf);
    let mut names = Vec::new();
    let mut entries = Vec::new();
    let mut bundles = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("collect-fn{}", i + 1);
        let alias = (!spec.first).then_some("live");
        r.create_function(&name, function_zip(None, &format!("{name}-v1")), alias)
            .await;
        errors_alarm(&cw, &format!("{name}-errors"), &name, "2").await;
        let mut entry = serde_json::json!({
            "name": name,
            "package": format!("dist/{name}.zip"),
            "alarms": [format!("{name}-errors")],
        });
        if let Some(c) = spec.config {
            entry["deploymentConfig"] = c.into();
        }
        if let Some(h) = spec.hook {
            r.create_function(h, function_zip(Some(r#"{"hook":"succeed"}"#), h), None)
                .await;
            entry["hooks"] = serde_json::json!({ "beforeAllowTraffic": h });
        }
        entries.push(entry);
        bundles.push((
            name.clone(),
            TestBundle::Package(function_zip(spec.behavior, &format!("{name}-v2"))),
        ));
        names.push(name);
    }
    let manifest = serde_json::json!({
        "version": 1,
        "defaults": {"alias": "live", "deploymentConfig": LINEAR},
        "functions": entries,
    });
    r.upload_source(artifact_with_manifest(&manifest.to_string(), &bundles))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    names
}

const PLAIN: Spec = Spec {
    first: false,
    config: None,
    behavior: None,
    hook: None,
};

/// The shipped policy grants S3 only on the ledger's `releases/` prefix:
/// nothing on the artifact bucket (nor any wildcard reaching it), no KMS.
#[test]
fn the_shipped_worker_policy_grants_s3_only_on_the_ledger() {
    let policy = Policy::parse(&worker_policy()).expect("valid policy");
    for action in [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    ] {
        for bucket in [ARTIFACT_BUCKET, SOURCE_BUCKET] {
            let object = format!("arn:aws:s3:::{bucket}/collect-release/App/x.zip");
            assert_eq!(
                policy.evaluate_on(action, Some(&object)),
                Verdict::ImplicitDeny,
                "{action} on {object}"
            );
        }
    }
    let record = format!("arn:aws:s3:::{LEDGER_BUCKET}/releases/releases/r-1.json");
    for action in ["s3:GetObject", "s3:PutObject"] {
        assert_eq!(
            policy.evaluate_on(action, Some(&record)),
            Verdict::Allowed,
            "{action}"
        );
    }
    let elsewhere = format!("arn:aws:s3:::{LEDGER_BUCKET}/other/r-1.json");
    assert_eq!(
        policy.evaluate_on("s3:PutObject", Some(&elsewhere)),
        Verdict::ImplicitDeny
    );
    for action in [
        "s3:DeleteObject",
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "kms:Decrypt",
    ] {
        assert_eq!(policy.evaluate(action), Verdict::ImplicitDeny, "{action}");
    }
    // …while it does grant the job protocol (the policy is not just empty).
    assert_eq!(
        policy.evaluate("codepipeline:PollForJobs"),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn worker_policy_allows_every_call_of_a_full_release() {
    let e = iam_env(&worker_policy()).await;
    // A linear shift with a hook, an all-at-once one, a custom config
    // (created by the worker) and a first release (the alias is created at
    // the end).
    let names = release_of(
        &e.r,
        &[
            Spec {
                hook: Some("CodeDeployHook_smoke"),
                ..PLAIN
            },
            Spec {
                config: Some("AllAtOnce"),
                ..PLAIN
            },
            Spec {
                config: Some("Linear50PercentEvery1Minute"),
                ..PLAIN
            },
            Spec {
                first: true,
                ..PLAIN
            },
        ],
    )
    .await;
    let worker = e.worker();
    let (id, status) = e.r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = e.r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    for n in &names {
        assert_eq!(e.r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }

    let calls = e.worker_calls();
    let refused: Vec<String> = calls
        .iter()
        .filter(|r| denied(r))
        .map(|r| format!("{}:{}", r.service, r.operation))
        .collect();
    assert!(
        refused.is_empty(),
        "refused calls of the worker: {refused:?}"
    );
    let ops: BTreeSet<(String, String)> = calls
        .iter()
        .map(|r| (r.service.clone(), r.operation.clone()))
        .collect();
    eprintln!("the worker's own calls: {ops:?}");
    for (service, op) in [
        ("codepipeline", "ListActionTypes"),
        ("codepipeline", "CreateCustomActionType"),
        ("codepipeline", "PollForJobs"),
        ("codepipeline", "AcknowledgeJob"),
        ("codepipeline", "GetJobDetails"),
        ("codepipeline", "PutJobSuccessResult"),
        ("lambda", "GetFunction"),
        ("lambda", "GetFunctionConfiguration"),
        ("lambda", "GetAlias"),
        ("lambda", "UpdateFunctionCode"),
        ("lambda", "PublishVersion"),
        ("lambda", "CreateAlias"),
        ("codedeploy", "CreateApplication"),
        ("codedeploy", "CreateDeploymentGroup"),
        ("codedeploy", "GetDeploymentConfig"),
        ("codedeploy", "CreateDeploymentConfig"),
        ("codedeploy", "CreateDeployment"),
        ("codedeploy", "BatchGetDeployments"),
        ("monitoring", "DescribeAlarms"),
    ] {
        assert!(
            ops.contains(&(service.to_string(), op.to_string())),
            "the worker never called {service}:{op} with its key: {ops:?}"
        );
    }
    // The worker's key touched S3 only for the ledger; the artifact was
    // read with the job's credentials (which the sim issued: `ASIASIM…`).
    let own_s3: Vec<&RequestRecord> = calls.iter().filter(|r| r.service == "s3").collect();
    assert!(
        own_s3.iter().any(|r| r.operation == "PutObject"),
        "the release was recorded with the worker's key: {own_s3:?}"
    );
    // The policy allows the ledger's prefix only and the artifact bucket
    // accepts only job credentials: any other S3 call would be refused
    // (none was, above).
    let own_ops: BTreeSet<&str> = own_s3.iter().map(|r| r.operation.as_str()).collect();
    assert!(
        own_ops.is_subset(&BTreeSet::from(["GetObject", "PutObject", "ListObjectsV2"])),
        "{own_ops:?}"
    );
    let job_s3: Vec<RequestRecord> = e
        .log()
        .into_iter()
        .filter(|r| r.service == "s3")
        .filter(|r| {
            r.access_key_id
                .as_deref()
                .is_some_and(|k| k.starts_with("ASIASIM"))
        })
        .collect();
    assert!(
        job_s3
            .iter()
            .any(|r| r.operation == "GetObject" && (r.status == 200 || r.status == 206)),
        "the artifact was downloaded with job credentials: {job_s3:?}"
    );
    assert!(e.r.workspace_entries().is_empty());
}

#[tokio::test]
async fn worker_policy_allows_every_call_of_a_rollback() {
    let e = iam_env(&worker_policy()).await;
    // fn1 reaches 100 % at once (put back with UpdateAlias); fn2's new
    // version errors half the time and trips its alarm mid-shift.
    let names = release_of(
        &e.r,
        &[
            Spec {
                config: Some("AllAtOnce"),
                ..PLAIN
            },
            Spec {
                behavior: Some(r#"{"errorRate":0.5}"#),
                ..PLAIN
            },
            PLAIN,
        ],
    )
    .await;
    let worker = e.worker();
    let since = e.r.seq();
    let id = e.r.env.start(PIPELINE).await;
    // fn2 and fn3 shift for nine simulated minutes, moved a minute at a
    // time by the test: the worker sees the alarm while they still shift,
    // so the rollback stops deployments (StopDeployment) as well as
    // resetting fn1's alias (UpdateAlias), whatever the machine's load.
    e.r.freeze_once_deployed(since, 3).await;
    let status =
        e.r.drive_shift(PIPELINE, &id, Duration::from_secs(60), || {})
            .await;
    let out = e.r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.clone().expect("error details");
    assert_eq!(code, "JobFailed", "{message}");
    assert!(
        message.contains("alarm collect-fn2-errors"),
        "rolled back for the alarm, not for a permission: {message}"
    );
    for n in &names {
        assert_eq!(e.r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    let calls = e.worker_calls();
    let refused: Vec<String> = calls
        .iter()
        .filter(|r| denied(r))
        .map(|r| format!("{}:{}", r.service, r.operation))
        .collect();
    assert!(
        refused.is_empty(),
        "refused calls of the worker: {refused:?}"
    );
    let ops: BTreeSet<(String, String)> = calls
        .iter()
        .map(|r| (r.service.clone(), r.operation.clone()))
        .collect();
    eprintln!("the worker's own calls in a rollback: {ops:?}");
    for (service, op) in [
        ("codedeploy", "StopDeployment"),
        ("lambda", "UpdateAlias"),
        ("codepipeline", "PutJobFailureResult"),
    ] {
        assert!(
            ops.contains(&(service.to_string(), op.to_string())),
            "the worker never called {service}:{op} with its key: {ops:?}"
        );
    }
    // S3 with the worker's key: the ledger only (nothing refused, above).
    assert!(
        calls
            .iter()
            .filter(|r| r.service == "s3")
            .all(|r| matches!(r.operation.as_str(), "GetObject" | "PutObject")),
        "S3 with the worker's key beyond the ledger's records"
    );
}

#[tokio::test]
async fn worker_key_is_refused_on_the_artifact_bucket() {
    let e = iam_env(&worker_policy()).await;
    release_of(&e.r, &[PLAIN]).await;
    let sim = e.r.env.sim.sim();
    let key = "collect-release/App/artifact.zip";
    sim.s3
        .put_object_internal(ARTIFACT_BUCKET, key, b"artifact", None)
        .expect("an artifact in the artifact store");
    let s3 = s3_client(&e.worker_conf);
    let since = sim.log.len();
    let err = s3
        .get_object()
        .bucket(ARTIFACT_BUCKET)
        .key(key)
        .send()
        .await
        .expect_err("the worker's own key reads the artifact store");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!((err.code(), status), (Some("AccessDenied"), Some(403)));
    let message = err.message().unwrap_or_default().to_string();
    assert_eq!(
        message,
        format!(
            "User: arn:aws:iam::123456789012:user/{WORKER_KEY} is not authorized to perform: \
             s3:GetObject on resource: arn:aws:s3:::{ARTIFACT_BUCKET}/{key} because no \
             identity-based policy allows the s3:GetObject action"
        )
    );
    // Writing and listing are refused as well, and so is any other bucket:
    // the role has no S3 permission at all.
    let put = s3
        .put_object()
        .bucket(ARTIFACT_BUCKET)
        .key("collect-release/Released/x.zip")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect_err("PutObject with the worker's key");
    assert_eq!(put.code(), Some("AccessDenied"));
    let list = s3
        .list_objects_v2()
        .bucket(ARTIFACT_BUCKET)
        .send()
        .await
        .expect_err("ListObjectsV2 with the worker's key");
    assert_eq!(list.code(), Some("AccessDenied"));
    assert!(list.message().unwrap_or_default().contains("s3:ListBucket"));
    let other = s3
        .get_object()
        .bucket(SOURCE_BUCKET)
        .key(e2e::worker::SOURCE_KEY)
        .send()
        .await
        .expect_err("GetObject on a bucket that is no artifact store");
    assert_eq!(other.code(), Some("AccessDenied"));
    // The account key (no policy) still reads that bucket.
    e.r.env
        .s3
        .get_object()
        .bucket(SOURCE_BUCKET)
        .key(e2e::worker::SOURCE_KEY)
        .send()
        .await
        .expect("the account key is unrestricted");
    // Every refusal is in the request log, under the worker's key, and the
    // object is untouched.
    let refused: Vec<(String, u16, Option<String>)> = sim
        .log
        .query(since, Some("s3"), None)
        .into_iter()
        .filter(|r| r.access_key_id.as_deref() == Some(WORKER_KEY))
        .map(|r| (r.operation, r.status, r.error))
        .collect();
    assert_eq!(
        refused,
        ["GetObject", "PutObject", "ListObjectsV2", "GetObject"]
            .map(|op| (op.to_string(), 403, Some("AccessDenied".to_string())))
            .to_vec()
    );
    assert!(
        sim.s3
            .head_object_internal(ARTIFACT_BUCKET, "collect-release/Released/x.zip")
            .is_err()
    );
}

#[tokio::test]
async fn policy_without_a_needed_action_fails_the_job_with_a_permission_error() {
    let policy = without_action(worker_policy(), "lambda:PublishVersion");
    let e = iam_env(&policy).await;
    let names = release_of(&e.r, &[PLAIN; 3]).await;
    let worker = e.worker();
    let (id, status) = e.r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = e.r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.clone().expect("error details");
    eprintln!("failure: {code}: {message}");
    assert_eq!(code, "PermissionError", "{message}");
    assert!(message.contains("lambda:PublishVersion"), "{message}");
    // The only refusals were PublishVersion (not retried into a storm), and
    // nothing was half-deployed: no deployment, every alias where it was.
    let calls = e.worker_calls();
    let refused: BTreeSet<String> = calls
        .iter()
        .filter(|r| denied(r))
        .map(|r| format!("{}:{}", r.service, r.operation))
        .collect();
    assert_eq!(
        refused,
        BTreeSet::from(["lambda:PublishVersion".to_string()])
    );
    let publish_attempts = calls
        .iter()
        .filter(|r| r.operation == "PublishVersion")
        .count();
    assert!(
        (1..=names.len()).contains(&publish_attempts),
        "{publish_attempts} PublishVersion attempts"
    );
    assert!(
        calls.iter().all(|r| !matches!(
            r.operation.as_str(),
            "CreateDeployment" | "UpdateAlias" | "CreateAlias"
        )),
        "an alias or deployment was touched"
    );
    for n in &names {
        assert_eq!(e.r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    assert!(e.r.workspace_entries().is_empty());
}

/// One HTTP/1.0 request to the sim's control API; (status, JSON body).
async fn control(sim: &e2e::SimHandle, method: &str, path: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_policy_installed_over_the_control_api_refuses_in_each_services_shape() {
    let sim = e2e::start_sim(Default::default()).await;
    let key = "AKIAREADONLYLAMBDA01";
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:List*", "Resource": "*"}]
    });
    let path = format!("/_sim/iam/policies/{key}");
    let (status, out) = control(&sim, "PUT", &path, &policy.to_string()).await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = control(&sim, "PUT", &path, r#"{"Statement": []}"#).await;
    assert_eq!(status, 400, "{out}");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .starts_with("MalformedPolicyDocument")
    );
    let (status, out) = control(&sim, "GET", &path, "").await;
    assert_eq!(
        (status, &out["policy"]),
        (200, &policy),
        "the refused PUT kept it"
    );

    let conf = sdk_config_with(
        &sim.endpoint(),
        Credentials::new(key, "secret", None, None, "readonly"),
        REGION,
    );
    let lambda = aws_sdk_lambda::Client::new(&conf);
    lambda
        .list_functions()
        .send()
        .await
        .expect("lambda:List* allows ListFunctions");
    let refused = |e: &dyn ProvideErrorMetadata, status: Option<u16>| {
        (
            e.code().map(str::to_string),
            status,
            e.message().unwrap_or_default().to_string(),
        )
    };
    let e = lambda
        .get_function()
        .function_name("collect-fn1")
        .send()
        .await
        .unwrap_err();
    let (code, status, message) = refused(&e, e.raw_response().map(|r| r.status().as_u16()));
    assert_eq!(
        (code.as_deref(), status),
        (Some("AccessDeniedException"), Some(403))
    );
    assert!(
        message.ends_with(
            "lambda:GetFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:collect-fn1 because no identity-based policy allows the lambda:GetFunction action"
        ),
        "{message}"
    );
    let e = aws_sdk_codepipeline::Client::new(&conf)
        .poll_for_jobs()
        .action_type_id(
            aws_sdk_codepipeline::types::ActionTypeId::builder()
                .category("Deploy".into())
                .owner("Custom".into())
                .provider("PipelineCanary")
                .version("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    let (code, status, _) = refused(&e, e.raw_response().map(|r| r.status().as_u16()));
    assert_eq!(
        (code.as_deref(), status),
        (Some("AccessDeniedException"), Some(400))
    );
    let e = aws_sdk_codedeploy::Client::new(&conf)
        .list_applications()
        .send()
        .await
        .unwrap_err();
    let (code, status, message) = refused(&e, e.raw_response().map(|r| r.status().as_u16()));
    assert_eq!(
        (code.as_deref(), status),
        (Some("AccessDeniedException"), Some(400))
    );
    assert!(message.contains("codedeploy:ListApplications"), "{message}");
    let e = cw::Client::new(&conf)
        .describe_alarms()
        .send()
        .await
        .unwrap_err();
    let (code, status, message) = refused(&e, e.raw_response().map(|r| r.status().as_u16()));
    assert_eq!((code.as_deref(), status), (Some("AccessDenied"), Some(403)));
    assert!(message.contains("cloudwatch:DescribeAlarms"), "{message}");
    let e = s3_client(&conf).list_buckets().send().await.unwrap_err();
    let (code, status, message) = refused(&e, e.raw_response().map(|r| r.status().as_u16()));
    assert_eq!((code.as_deref(), status), (Some("AccessDenied"), Some(403)));
    assert!(message.contains("s3:ListAllMyBuckets"), "{message}");

    // Refusals are logged under the key; deleting the policy lifts them.
    let log = sim.sim().log.query(0, None, None);
    let refused: Vec<(&str, u16)> = log
        .iter()
        .filter(|r| r.access_key_id.as_deref() == Some(key) && r.error.is_some())
        .map(|r| (r.operation.as_str(), r.status))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("GetFunction", 403),
            ("PollForJobs", 400),
            ("ListApplications", 400),
            ("DescribeAlarms", 403),
            ("ListBuckets", 403)
        ]
    );
    let (status, out) = control(&sim, "DELETE", &path, "").await;
    assert_eq!((status, &out["deleted"]), (200, &Value::Bool(true)));
    let e = lambda
        .get_function()
        .function_name("collect-fn1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("ResourceNotFoundException"),
        "unrestricted again"
    );
}
