//! aws-sim's Lambda request quota as CodeDeploy meets it, through the
//! official Rust SDK clients: CodeDeploy's alias shifts make Lambda calls
//! (GetAlias, GetProvisionedConcurrencyConfig, UpdateAlias) that spend the
//! account's control-plane bucket like any caller's; a call throttled past
//! CodeDeploy's retry window fails the deployment with `THROTTLED` and its
//! rollback spends the bucket too; `GET /_sim/lambda/quota` reports each
//! caller; and many deployments stepping together throttle alike at any
//! time scale.
//!
//! Timing never races the wall clock: the clock is frozen while deployments
//! are created and advanced explicitly where *when* matters; the runs at
//! ×1 and ×60 let the clock go, and what they compare depends only on
//! simulated time (CodeDeploy's calls are judged on the simulated clock).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_codedeploy as cd;
use aws_sdk_codedeploy::types::{
    AppSpecContent, AutoRollbackConfiguration, AutoRollbackEvent, ComputePlatform, DeploymentInfo,
    DeploymentOption, DeploymentStatus, DeploymentStyle, DeploymentType, ErrorCode,
    RevisionLocation, RevisionLocationType, TimeBasedLinear, TrafficRoutingConfig,
    TrafficRoutingType,
};
use aws_sdk_lambda as lambda;
use e2e::{ACCOUNT_KEY, SimConfig, SimHandle, sdk_config, start_sim};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SERVICE_ROLE: &str = "arn:aws:iam::123456789012:role/CodeDeployServiceRole";
const LAMBDA_ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
const APP: &str = "quota-app";
const LINEAR_50: &str = "Linear50PercentEvery1Minute";
const ALL_AT_ONCE: &str = "CodeDeployDefault.LambdaAllAtOnce";

struct World {
    sim: SimHandle,
    lambda: lambda::Client,
    cd: cd::Client,
}

/// A sim at `time_scale` (no traffic, updates settle at once), an
/// application and the custom config Linear50PercentEvery1Minute. The quota
/// is off while the world is built ([`start_sim`]).
async fn world(time_scale: f64) -> World {
    let sim = start_sim(SimConfig {
        time_scale,
        traffic_rate: 0.0,
        lambda_update_delay: Duration::ZERO,
        alarm_poll: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let conf = sdk_config(&sim.endpoint());
    let w = World {
        lambda: lambda::Client::new(&conf),
        cd: cd::Client::new(&conf),
        sim,
    };
    w.cd.create_application()
        .application_name(APP)
        .compute_platform(ComputePlatform::Lambda)
        .send()
        .await
        .expect("CreateApplication");
    w.cd.create_deployment_config()
        .deployment_config_name(LINEAR_50)
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedLinear)
                .time_based_linear(
                    TimeBasedLinear::builder()
                        .linear_percentage(50)
                        .linear_interval(1)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentConfig");
    w
}

fn zip(tag: &str) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("index.js", zip::write::SimpleFileOptions::default())
        .unwrap();
    write!(w, "exports.handler = async () => '{tag}';").unwrap();
    w.finish().unwrap().into_inner()
}

async fn wait_settled(l: &lambda::Client, name: &str) {
    loop {
        let c = l
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .expect("GetFunctionConfiguration");
        if c.last_update_status() != Some(&lambda::types::LastUpdateStatus::InProgress)
            && c.state() != Some(&lambda::types::State::Pending)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Function `name` with versions 1 and 2, alias `live` → 1, and its
/// deployment group (one per function, as the worker has them) with
/// `config` and automatic rollback on failure.
async fn function_and_group(l: lambda::Client, c: cd::Client, name: String, config: &'static str) {
    l.create_function()
        .function_name(&name)
        .runtime(lambda::types::Runtime::Nodejs20x)
        .role(LAMBDA_ROLE)
        .handler("index.handler")
        .code(
            lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(zip(&format!("{name}-1"))))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction");
    wait_settled(&l, &name).await;
    l.publish_version()
        .function_name(&name)
        .send()
        .await
        .expect("PublishVersion 1");
    l.update_function_code()
        .function_name(&name)
        .zip_file(aws_smithy_types::Blob::new(zip(&format!("{name}-2"))))
        .send()
        .await
        .expect("UpdateFunctionCode");
    wait_settled(&l, &name).await;
    l.publish_version()
        .function_name(&name)
        .send()
        .await
        .expect("PublishVersion 2");
    l.create_alias()
        .function_name(&name)
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("CreateAlias");
    c.create_deployment_group()
        .application_name(APP)
        .deployment_group_name(&name)
        .service_role_arn(SERVICE_ROLE)
        .deployment_config_name(config)
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder()
                .enabled(true)
                .events(AutoRollbackEvent::DeploymentFailure)
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentGroup");
}

/// `n` functions `fn-000`… with their groups, built 10 at a time.
async fn functions(w: &World, n: usize, config: &'static str) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("fn-{i:03}")).collect();
    for chunk in names.chunks(10) {
        let mut set = tokio::task::JoinSet::new();
        for name in chunk {
            set.spawn(function_and_group(
                w.lambda.clone(),
                w.cd.clone(),
                name.clone(),
                config,
            ));
        }
        while let Some(r) = set.join_next().await {
            r.expect("set-up task");
        }
    }
    names
}

fn appspec(function: &str) -> String {
    format!(
        "version: 0.0\nResources:\n  - {function}:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: {function}\n        Alias: live\n        CurrentVersion: \"1\"\n        TargetVersion: \"2\"\n"
    )
}

async fn deploy(c: &cd::Client, function: &str) -> String {
    let content = appspec(function);
    c.create_deployment()
        .application_name(APP)
        .deployment_group_name(function)
        .revision(
            RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(
                    AppSpecContent::builder()
                        .sha256(hex::encode(Sha256::digest(content.as_bytes())))
                        .content(content)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateDeployment")
        .deployment_id()
        .expect("deploymentId")
        .to_string()
}

/// Every deployment of `ids`, by id (BatchGetDeployments, 25 at a time).
async fn deployments(c: &cd::Client, ids: &[String]) -> BTreeMap<String, DeploymentInfo> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(25) {
        let r = c
            .batch_get_deployments()
            .set_deployment_ids(Some(chunk.to_vec()))
            .send()
            .await
            .expect("BatchGetDeployments");
        for d in r.deployments_info() {
            out.insert(d.deployment_id().unwrap().to_string(), d.clone());
        }
    }
    out
}

fn terminal(d: &DeploymentInfo) -> bool {
    matches!(
        d.status(),
        Some(DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped)
    )
}

/// The rollback deployment `d` started, if any.
fn rollback_of(d: &DeploymentInfo) -> Option<String> {
    d.rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .map(str::to_string)
}

/// Whether `ids` and the rollbacks they started have all ended.
async fn all_ended(c: &cd::Client, ids: &[String]) -> bool {
    let ds = deployments(c, ids).await;
    if !ds.values().all(terminal) {
        return false;
    }
    let rollbacks: Vec<String> = ds.values().filter_map(rollback_of).collect();
    deployments(c, &rollbacks).await.values().all(terminal)
}

/// `GET` or `POST` on the control API; the JSON answer.
async fn control(sim: &SimHandle, method: &str, path: &str, body: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sim.addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "{method} {path} {body}: {out}"
    );
    let json = out.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The report's line for `caller` (`Null` when it spent nothing).
fn caller(report: &Value, name: &str) -> Value {
    report["callers"]
        .as_array()
        .expect("callers")
        .iter()
        .find(|c| c["caller"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Moves the frozen clock `secs` simulated seconds on and runs what fell due.
fn advance(w: &World, secs: f64) {
    w.sim.sim().clock.advance(Duration::from_secs_f64(secs));
    w.sim.sim().tick();
}

fn code(d: &DeploymentInfo) -> Option<ErrorCode> {
    d.error_information().and_then(|e| e.code()).cloned()
}

/// Each step of Linear50PercentEvery1Minute makes three Lambda calls
/// (GetAlias, GetProvisionedConcurrencyConfig, UpdateAlias), the start
/// two reads, the end one GetAlias: the quota report shows CodeDeploy as a
/// caller on the simulated clock with exactly those, beside the access key
/// of the test's own calls.
#[tokio::test]
async fn codedeploy_steps_spend_the_account_quota_and_the_report_shows_each_caller() {
    let w = world(1.0).await;
    functions(&w, 1, LINEAR_50).await;
    w.sim.sim().clock.freeze();
    let r = control(&w.sim, "POST", "/_sim/lambda/quota", "{}").await;
    assert_eq!(r["quota"]["controlPlane"], 15.0);
    assert_eq!(
        r["codeDeploy"],
        json!({"callsPerStep": 3, "retryBaseSeconds": 0.5, "retryMaxBackoffSeconds": 20.0, "retryWindowSeconds": 30.0})
    );
    assert_eq!(r["timeScale"], 0.0);
    assert_eq!(r["callers"], json!([]), "the counts start again");

    let id = deploy(&w.cd, "fn-000").await;
    advance(&w, 0.0);
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    let cd = caller(&r, "CodeDeploy");
    assert_eq!(cd["clock"], "simulated");
    // The start's two reads, then step 1: 2 + 3.
    assert_eq!(
        (cd["calls"].as_u64(), cd["throttled"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(cd["simulatedTokens"], 5.0);
    assert_eq!(
        cd["operations"],
        json!({
            "GetAlias": {"calls": 2, "throttled": 0},
            "GetProvisionedConcurrencyConfig": {"calls": 2, "throttled": 0},
            "UpdateAlias": {"calls": 1, "throttled": 0},
        })
    );
    advance(&w, 60.0);
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    let cd = caller(&r, "CodeDeploy");
    // Step 2 (3 calls) and the end's GetAlias: 9 for the deployment.
    assert_eq!(cd["calls"], 9);
    assert_eq!(cd["operations"]["UpdateAlias"]["calls"], 2);
    assert_eq!(cd["operations"]["GetAlias"]["calls"], 4);
    let d = deployments(&w.cd, std::slice::from_ref(&id)).await[&id].clone();
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));

    // The test's own Lambda calls are its access key's, on the real clock.
    w.lambda
        .get_alias()
        .function_name("fn-000")
        .name("live")
        .send()
        .await
        .unwrap();
    w.lambda
        .get_function()
        .function_name("fn-000")
        .send()
        .await
        .unwrap();
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    let me = caller(&r, ACCOUNT_KEY);
    assert_eq!(me["clock"], "real");
    assert_eq!(
        (me["calls"].as_u64(), me["throttled"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(me["realTokens"], 2.0);
    assert_eq!(
        me["simulatedTokens"], 0.0,
        "frozen: no simulated time passes"
    );
    assert_eq!(me["operations"]["GetFunction"]["calls"], 1);
    assert_eq!(caller(&r, "CodeDeploy")["calls"], 9);
    assert_eq!(r["callers"][0]["caller"], ACCOUNT_KEY, "access keys first");

    // Fewer calls per step: one deployment of the same schedule spends
    // 1 + 2×2 + 1.
    let r = control(
        &w.sim,
        "POST",
        "/_sim/lambda/quota",
        r#"{"enabled": true, "codeDeploy": {"callsPerStep": 2}}"#,
    )
    .await;
    assert_eq!(r["codeDeploy"]["callsPerStep"], 2);
    w.lambda
        .update_alias()
        .function_name("fn-000")
        .function_version("1")
        .name("live")
        .send()
        .await
        .unwrap();
    deploy(&w.cd, "fn-000").await;
    advance(&w, 0.0);
    advance(&w, 60.0);
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    assert_eq!(caller(&r, "CodeDeploy")["calls"], 6);
    assert_eq!(
        caller(&r, "CodeDeploy")["operations"]["GetProvisionedConcurrencyConfig"],
        Value::Null
    );
}

/// A step whose UpdateAlias stays throttled for CodeDeploy's whole retry
/// window fails the deployment with `THROTTLED` and Lambda's words for a
/// role over its request limit; the automatic rollback runs and spends the
/// bucket too, and is itself throttled while the bucket stays empty.
/// Switching the quota off switches CodeDeploy's spending off.
#[tokio::test]
async fn a_step_throttled_past_the_retry_window_fails_throttled_and_its_rollback_spends_quota() {
    let w = world(1.0).await;
    functions(&w, 1, LINEAR_50).await;
    w.sim.sim().clock.freeze();
    // Five tokens, one more every 100 simulated seconds: the first step's
    // five calls empty the bucket; the second step finds 0.6 token at 60 s
    // and 0.9 at the end of its 30 s window.
    control(
        &w.sim,
        "POST",
        "/_sim/lambda/quota",
        r#"{"controlPlane": 0.01, "burstSeconds": 500}"#,
    )
    .await;
    let id = deploy(&w.cd, "fn-000").await;
    advance(&w, 0.0);
    advance(&w, 60.0);
    let d = deployments(&w.cd, std::slice::from_ref(&id)).await[&id].clone();
    assert_eq!(d.status(), Some(&DeploymentStatus::InProgress), "retrying");
    advance(&w, 30.0);
    let d = deployments(&w.cd, std::slice::from_ref(&id)).await[&id].clone();
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed));
    assert_eq!(code(&d), Some(ErrorCode::Throttled));
    let msg = d.error_information().unwrap().message().unwrap();
    assert!(
        msg.starts_with(&format!(
            "The number of requests by the IAM role {SERVICE_ROLE} exceeded the request limit for AWSLambda"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("GetAlias on the alias live of fn-000"),
        "{msg}"
    );
    let started = d.create_time().unwrap().as_secs_f64();
    let ended = d.complete_time().unwrap().as_secs_f64();
    assert!((ended - started - 90.0).abs() < 1e-3, "failed at 60 + 30 s");
    // The alias keeps the first step's 50 %.
    let a = w
        .lambda
        .get_alias()
        .function_name("fn-000")
        .name("live")
        .send()
        .await
        .unwrap();
    let weight = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|m| m.get("2").copied());
    assert_eq!((a.function_version(), weight), (Some("1"), Some(0.5)));
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    let cd = caller(&r, "CodeDeploy");
    assert_eq!(cd["calls"], 5);
    assert!(cd["throttled"].as_u64().unwrap() >= 5, "{cd}");
    assert_eq!(cd["operations"]["UpdateAlias"]["calls"], 1);

    // The rollback started at once and is throttled in turn: its first
    // read got the one token back (at 100 s) and its second read is
    // refused for its whole window.
    let rb = rollback_of(&d).expect("a rollback");
    advance(&w, 100.0);
    let rbd = deployments(&w.cd, std::slice::from_ref(&rb)).await[&rb].clone();
    assert_eq!(rbd.status(), Some(&DeploymentStatus::Failed));
    assert_eq!(code(&rbd), Some(ErrorCode::Throttled));
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    assert_eq!(
        caller(&r, "CodeDeploy")["calls"],
        6,
        "the rollback's GetAlias"
    );

    // With the quota off, CodeDeploy spends nothing and nothing throttles:
    // a new deployment of the function goes through and nobody is counted.
    control(
        &w.sim,
        "POST",
        "/_sim/lambda/quota",
        r#"{"enabled": false}"#,
    )
    .await;
    w.lambda
        .update_alias()
        .function_name("fn-000")
        .function_version("1")
        .routing_config(lambda::types::AliasRoutingConfiguration::builder().build())
        .name("live")
        .send()
        .await
        .unwrap();
    let again = deploy(&w.cd, "fn-000").await;
    advance(&w, 0.0);
    advance(&w, 60.0);
    let d = deployments(&w.cd, std::slice::from_ref(&again)).await[&again].clone();
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    assert_eq!(r["quota"], Value::Null);
    assert_eq!(r["callers"], json!([]));
}

/// What a run of many deployments came to, per function: the
/// deployment's status and error code, every weight it gave the alias and
/// when (exactly, after the start), when it ended (milliseconds after the
/// start, as GetDeployment tells it), and its rollback's status, error code
/// and weights; and CodeDeploy's calls and refusals.
#[derive(Debug)]
struct Outcome {
    functions: Vec<Function>,
    calls: u64,
    throttled: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Function {
    name: String,
    status: String,
    code: Option<String>,
    weights: Vec<(Duration, f64)>,
    end_ms: f64,
    rollback: Option<Rollback>,
}

/// A rollback's status, error code and weights.
#[derive(Debug, Clone, PartialEq)]
struct Rollback {
    status: String,
    code: Option<String>,
    weights: Vec<(Duration, f64)>,
}

impl Outcome {
    fn failed(&self) -> usize {
        self.functions
            .iter()
            .filter(|f| f.status == "Failed")
            .count()
    }

    /// The same outcome: everything equal, the ends (which GetDeployment
    /// gives as floating-point epoch seconds) within a millisecond.
    fn assert_same(&self, other: &Outcome, what: &str) {
        assert_eq!(
            (self.calls, self.throttled),
            (other.calls, other.throttled),
            "{what}: CodeDeploy's calls and refusals"
        );
        assert_eq!(self.functions.len(), other.functions.len());
        for (a, b) in self.functions.iter().zip(&other.functions) {
            assert!((a.end_ms - b.end_ms).abs() < 1.0, "{what}: {a:?} vs {b:?}");
            let b = Function {
                end_ms: a.end_ms,
                ..b.clone()
            };
            assert_eq!(*a, b, "{what}");
        }
    }
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// How the clock runs once the deployments are created.
#[derive(Debug, Clone, Copy)]
enum Run {
    /// Let it go at this scale.
    Scale(f64),
    /// Keep it frozen and advance it this many simulated seconds at a time.
    Advance(f64),
}

/// `n` AllAtOnce deployments created at one frozen instant with AWS's
/// quota in force (buckets full; CodeDeploy retries for `window` s), then
/// the clock run as `run` until every deployment and rollback has ended.
async fn many_together(n: usize, run: Run, window: f64) -> Outcome {
    let w = world(1.0).await;
    let names = functions(&w, n, ALL_AT_ONCE).await;
    w.sim.sim().clock.freeze();
    let t0 = w.sim.sim().clock.now();
    control(
        &w.sim,
        "POST",
        "/_sim/lambda/quota",
        &format!(r#"{{"enabled": true, "codeDeploy": {{"retryWindowSeconds": {window}}}}}"#),
    )
    .await;
    let mut ids = Vec::new();
    for name in &names {
        ids.push(deploy(&w.cd, name).await);
    }
    // A hang guard, not a timing assertion: how long the run takes in real
    // time is the scale's business.
    let guard = Instant::now();
    match run {
        Run::Scale(s) => w.sim.sim().clock.set_scale(s),
        Run::Advance(_) => {}
    }
    loop {
        if let Run::Advance(secs) = run {
            advance(&w, secs);
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if all_ended(&w.cd, &ids).await {
            break;
        }
        assert!(
            guard.elapsed() < Duration::from_secs(900),
            "the deployments never ended"
        );
    }
    w.sim.sim().clock.freeze();
    let ds = deployments(&w.cd, &ids).await;
    let rollbacks: Vec<String> = ds.values().filter_map(rollback_of).collect();
    let rbs = deployments(&w.cd, &rollbacks).await;
    let weights = |id: &str| -> Vec<(Duration, f64)> {
        w.sim
            .sim()
            .codedeploy
            .traffic_history(id)
            .into_iter()
            .map(|(t, x)| (t.duration_since(t0).unwrap(), x))
            .collect()
    };
    let functions = names
        .iter()
        .zip(&ids)
        .map(|(name, id)| {
            let d = &ds[id];
            let end = SystemTime::try_from(*d.complete_time().unwrap()).unwrap();
            Function {
                name: name.clone(),
                status: d.status().unwrap().as_str().to_string(),
                code: code(d).map(|c| c.as_str().to_string()),
                weights: weights(id),
                end_ms: (epoch(end) - epoch(t0)) * 1000.0,
                rollback: rollback_of(d).map(|rb| Rollback {
                    status: rbs[&rb].status().unwrap().as_str().to_string(),
                    code: code(&rbs[&rb]).map(|c| c.as_str().to_string()),
                    weights: weights(&rb),
                }),
            }
        })
        .collect();
    let r = control(&w.sim, "GET", "/_sim/lambda/quota", "").await;
    let cd = caller(&r, "CodeDeploy");
    Outcome {
        functions,
        calls: cd["calls"].as_u64().unwrap(),
        throttled: cd["throttled"].as_u64().unwrap(),
    }
}

/// 120 functions released together (one AllAtOnce deployment each, all
/// created at one instant) make 720 Lambda calls at once against 15 a
/// second: CodeDeploy's calls are throttled, some stay throttled for their
/// whole retry window and fail their deployments with THROTTLED, and the
/// rollbacks compete for the same bucket. At ×1 and at ×60 the same
/// deployments fail at the same simulated instants, with the same calls and
/// refusals, and so when the clock is frozen and advanced a second at a
/// time: CodeDeploy's calls are judged on simulated time only, and the sim
/// runs all deployments' events in time order however it is ticked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_deployments_started_together_throttle_alike_at_any_time_scale() {
    const N: usize = 120;
    // A 5 s retry window (the default is 30 s) keeps the run at ×1 short:
    // everything has ended about 15 simulated seconds after the start.
    const WINDOW: f64 = 5.0;
    let stepped = many_together(N, Run::Advance(1.0), WINDOW).await;
    let failed = stepped.failed();
    let rolled_back = stepped
        .functions
        .iter()
        .filter(|f| f.rollback.is_some())
        .count();
    let last_end = stepped
        .functions
        .iter()
        .map(|f| f.end_ms)
        .fold(0.0, f64::max);
    eprintln!(
        "{N} deployments: {failed} failed THROTTLED ({rolled_back} rolled back), the last ended {:.1} s after the start; CodeDeploy made {} calls, {} throttled",
        last_end / 1000.0,
        stepped.calls,
        stepped.throttled
    );
    assert!(failed > 0 && failed < N, "{failed} of {N} failed");
    assert!(
        stepped
            .functions
            .iter()
            .filter(|f| f.status == "Failed")
            .all(|f| f.code.as_deref() == Some("THROTTLED")),
        "{stepped:?}"
    );
    assert!(stepped.throttled > 0);
    for scale in [60.0, 1.0] {
        let run = many_together(N, Run::Scale(scale), WINDOW).await;
        run.assert_same(
            &stepped,
            &format!("×{scale} against advanced a second at a time"),
        );
    }
}
