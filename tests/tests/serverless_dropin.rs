//! The Serverless drop-in, proven with the real tools: each app under
//! `tests/serverless-apps/` is packaged by the real `sls package --stage
//! prod` (serverless 3.40.0 + serverless-plugin-canary-deployments 0.8.0,
//! `e2e::serverless`, once per run), and its output goes through the real
//! worker and CodePipeline against aws-sim, as a user's build would hand
//! it over. Later releases change function code inside the packaged zips
//! (what the next commit's `sls package` would give; the state file does
//! not change with code).
//!
//! Functions start as the user's stack left them: created with old code and
//! version 1 published, no alias. No pipeline here sets the `Alias`
//! property, and no app names an alias: `live` is the documented default.

use std::path::Path;
use std::time::Duration;

use aws_sdk_cloudwatch as cw;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput as FunctionConfiguration;
use base64::Engine;
use e2e::canary::errors_alarm;
use e2e::release::*;
use e2e::serverless::{packaged, with_entries};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The app directory as a pipeline source artifact (deterministic zip).
fn source_of(dir: &Path) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("source.zip");
    pipeline_canary::artifact::package(dir, &dest, &Default::default()).unwrap();
    std::fs::read(dest).unwrap()
}

async fn config(r: &ReleaseEnv, f: &str, q: Option<&str>) -> FunctionConfiguration {
    r.lambda
        .get_function_configuration()
        .function_name(f)
        .set_qualifier(q.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetFunctionConfiguration {f}: {e:?}"))
}

async fn latest_sha(r: &ReleaseEnv, f: &str) -> String {
    config(r, f, None).await.code_sha256().unwrap().to_string()
}

async fn alias_names(r: &ReleaseEnv, f: &str) -> Vec<String> {
    r.lambda
        .list_aliases()
        .function_name(f)
        .send()
        .await
        .unwrap()
        .aliases()
        .iter()
        .filter_map(|a| a.name().map(str::to_string))
        .collect()
}

/// The deployment configs of the user deployments of `group`, oldest first.
async fn deployments(r: &ReleaseEnv, group: &str) -> Vec<(String, String)> {
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    let Ok(ids) = cd
        .list_deployments()
        .application_name("collect")
        .deployment_group_name(group)
        .send()
        .await
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in ids.deployments() {
        let d = cd.get_deployment().deployment_id(id).send().await.unwrap();
        let d = d.deployment_info().unwrap();
        if d.creator() == Some(&aws_sdk_codedeploy::types::DeploymentCreator::User) {
            out.push((
                d.deployment_config_name().unwrap_or_default().to_string(),
                d.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            ));
        }
    }
    out
}

const SHOP: [&str; 4] = [
    "shop-prod-checkout",
    "shop-prod-cart",
    "shop-prod-mailer",
    "shop-prod-report",
];

/// `package.individually`, a function-level `package.artifact`, code-only
/// functions, an alarm by logical id, one type per function: the first
/// release, a release changing three of four functions (only those shift,
/// each with its own type; the code-only one gets its code), then a faulty
/// release that rolls back whole, the code-only function's code included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_releases_then_shifts_only_changed_functions_then_rolls_back_whole() {
    let Some(p) =
        packaged("shop_releases_then_shifts_only_changed_functions_then_rolls_back_whole").await
    else {
        return;
    };
    let app = tempfile::tempdir().unwrap();
    e2e::serverless::copy_dir(&p.apps["shop"], app.path()).unwrap();
    let app = app.path();
    let zip = |f: &str| app.join(format!(".serverless/{f}.zip"));

    // Lambda updates settle at once: the faulty release's rollback runs
    // while `drive_shift` holds the clock, and the code it puts back must
    // not wait for simulated time that only moves between the worker's looks.
    let r = ReleaseEnv::new(e2e::SimConfig {
        lambda_update_delay: Duration::ZERO,
        ..driven_sim_config()
    })
    .await;
    let cw = cw::Client::new(&r.env.conf);
    for n in SHOP {
        r.create_function(n, function_zip(&format!("{n}-old")), None)
            .await;
    }
    // What the stack's CheckoutErrorsAlarm creates (its AlarmName), on the
    // version the faulty release will publish (4).
    errors_alarm(&cw, "shop-prod-checkout-errors", "shop-prod-checkout", "4").await;
    r.settle();
    r.pipeline(PIPELINE, false, None, &[("FunctionPrefix", "shop-prod-")])
        .await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));

    // 1. First release: new `live` aliases without a canary; the code-only
    // mailer gets its code and a version, and no alias.
    r.upload_source(source_of(app)).await;
    let (id, status) = r.run(PIPELINE, Duration::from_secs(60)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    eprintln!("first release: {}", out.summary);
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    for n in ["shop-prod-checkout", "shop-prod-cart", "shop-prod-report"] {
        assert_eq!(r.alias_version(n, "live").await, "2", "{n}");
    }
    assert!(alias_names(&r, "shop-prod-mailer").await.is_empty());
    let mailer_v2 = std::fs::read(zip("mailer")).unwrap();
    assert_eq!(latest_sha(&r, "shop-prod-mailer").await, sha(&mailer_v2));
    assert_eq!(
        config(&r, "shop-prod-mailer", Some("2"))
            .await
            .code_sha256(),
        Some(sha(&mailer_v2).as_str())
    );
    // The function-level artifact went out byte for byte.
    let report = std::fs::read(app.join("prebuilt/report.zip")).unwrap();
    assert_eq!(latest_sha(&r, "shop-prod-report").await, sha(&report));
    // The alarm given by logical id guards checkout's deployment group.
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    let g = cd
        .get_deployment_group()
        .application_name("collect")
        .deployment_group_name("shop-prod-checkout")
        .send()
        .await
        .expect("checkout's deployment group");
    let alarms: Vec<String> = g
        .deployment_group_info()
        .and_then(|i| i.alarm_configuration())
        .map(|a| {
            a.alarms()
                .iter()
                .filter_map(|x| x.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(alarms, vec!["shop-prod-checkout-errors".to_string()]);

    // 2. checkout, cart and mailer change; report does not.
    for f in ["checkout", "cart", "mailer"] {
        let z = with_entries(&std::fs::read(zip(f)).unwrap(), &[("rev.txt", b"3")]);
        std::fs::write(zip(f), z).unwrap();
    }
    let since = r.seq();
    r.upload_source(source_of(app)).await;
    let (id, status) = r.run(PIPELINE, Duration::from_secs(60)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    eprintln!("second release: {}", out.summary);
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 2);
    assert_eq!(
        deployments(&r, "shop-prod-checkout").await,
        vec![(
            "CodeDeployDefault.LambdaLinear10PercentEvery1Minute".into(),
            "Succeeded".into()
        )]
    );
    assert_eq!(
        deployments(&r, "shop-prod-cart").await,
        vec![(
            "CodeDeployDefault.LambdaCanary10Percent5Minutes".into(),
            "Succeeded".into()
        )]
    );
    assert!(deployments(&r, "shop-prod-report").await.is_empty());
    assert_eq!(r.alias_version("shop-prod-checkout", "live").await, "3");
    assert_eq!(r.alias_version("shop-prod-cart", "live").await, "3");
    assert_eq!(r.alias_version("shop-prod-report", "live").await, "2");
    let mailer_v3 = std::fs::read(zip("mailer")).unwrap();
    assert_eq!(latest_sha(&r, "shop-prod-mailer").await, sha(&mailer_v3));
    assert!(alias_names(&r, "shop-prod-mailer").await.is_empty());

    // 3. checkout fails every call on its new version; mailer changes too.
    let faulty = with_entries(
        &std::fs::read(zip("checkout")).unwrap(),
        &[(".sim/behavior.json", br#"{"errorRate":1.0}"#)],
    );
    std::fs::write(zip("checkout"), faulty).unwrap();
    let mailer_v4 = with_entries(&mailer_v3, &[("rev.txt", b"4")]);
    std::fs::write(zip("mailer"), &mailer_v4).unwrap();
    let since = r.seq();
    r.upload_source(source_of(app)).await;
    let id = r.env.start(PIPELINE).await;
    r.freeze_once_deployed(since, 1).await;
    let status = r
        .drive_shift(PIPELINE, &id, Duration::from_secs(60), || {})
        .await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.clone().expect("error details");
    eprintln!("rollback: {message}");
    assert_eq!(code, "JobFailed", "{message}");
    assert!(
        message.contains(
            "alarm shop-prod-checkout-errors (guarding shop-prod-checkout) went into ALARM"
        ),
        "{message}"
    );
    assert_eq!(r.alias_version("shop-prod-checkout", "live").await, "3");
    assert_eq!(
        r.alias_state("shop-prod-checkout").await,
        Some(("3".into(), None))
    );
    // The code-only mailer had its new code live (version 4), and is back
    // on version 3's bytes, downloaded from GetFunction's Code.Location.
    assert_eq!(
        config(&r, "shop-prod-mailer", Some("4"))
            .await
            .code_sha256(),
        Some(sha(&mailer_v4).as_str())
    );
    let v3 = config(&r, "shop-prod-mailer", Some("3")).await;
    assert_eq!(
        latest_sha(&r, "shop-prod-mailer").await,
        v3.code_sha256().unwrap()
    );
    assert_eq!(v3.code_sha256(), Some(sha(&mailer_v3).as_str()));
    let restored = config(&r, "shop-prod-mailer", Some("5")).await;
    assert_eq!(restored.code_sha256(), v3.code_sha256());
    assert!(
        restored
            .description()
            .unwrap_or_default()
            .contains("the code of version 3"),
        "{restored:?}"
    );
    assert!(
        message.contains("shop-prod-mailer: code only, back on the code of version 3"),
        "{message}"
    );
    assert!(alias_names(&r, "shop-prod-mailer").await.is_empty());
    assert!(r.workspace_entries().is_empty());
}

/// `package.individually: false`: one service zip for every function; the
/// global `deploymentSettings` with a function's own laid over them; a
/// function without any is code only. No alias is named anywhere and the
/// pipeline sets no `Alias`: the release shifts `live`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_zip_releases_code_only_and_the_default_alias() {
    let Some(p) = packaged("one_service_zip_releases_code_only_and_the_default_alias").await else {
        return;
    };
    let app = &p.apps["ledger"];
    let service = std::fs::read(app.join(".serverless/ledger.zip")).unwrap();
    let r = ReleaseEnv::new(canary_sim_config()).await;
    for n in ["ledger-prod-post", "ledger-prod-audit"] {
        r.create_function(n, function_zip(&format!("{n}-old")), None)
            .await;
    }
    r.settle();
    r.pipeline(PIPELINE, false, None, &[("FunctionPrefix", "ledger-prod-")])
        .await;
    let worker = r.worker(r.options());
    r.upload_source(source_of(app)).await;
    let (id, status) = r.run(PIPELINE, Duration::from_secs(60)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    eprintln!("ledger: {}", out.summary);
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    assert_eq!(r.alias_version("ledger-prod-post", "live").await, "2");
    assert_eq!(
        alias_names(&r, "ledger-prod-post").await,
        vec!["live".to_string()]
    );
    assert!(alias_names(&r, "ledger-prod-audit").await.is_empty());
    for n in ["ledger-prod-post", "ledger-prod-audit"] {
        assert_eq!(latest_sha(&r, n).await, sha(&service), "{n}");
        assert_eq!(
            config(&r, n, Some("2")).await.code_sha256(),
            Some(sha(&service).as_str()),
            "{n}"
        );
    }

    // A second release changes the service zip: both functions change.
    let dir = tempfile::tempdir().unwrap();
    e2e::serverless::copy_dir(app, dir.path()).unwrap();
    let v3 = with_entries(&service, &[("rev.txt", b"3")]);
    std::fs::write(dir.path().join(".serverless/ledger.zip"), &v3).unwrap();
    r.upload_source(source_of(dir.path())).await;
    let (id2, status) = r.run(PIPELINE, Duration::from_secs(60)).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded");
    assert_eq!(latest_sha(&r, "ledger-prod-audit").await, sha(&v3));

    // `pipeline-canary rollback` of that release: the alias back on 2, the
    // code-only function's code back on version 2's bytes.
    let ledger = pipeline_canary::ledger::Ledger::new(
        &r.env.conf,
        pipeline_canary::ledger::Location::parse(LEDGER).unwrap(),
        true,
    );
    let rid = pipeline_canary::canary::release_id(PIPELINE, "Deploy", "Canary", &id2);
    let done = pipeline_canary::history::rollback(
        &r.env.conf,
        &ledger,
        &rid,
        "conformance",
        std::time::SystemTime::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("rollback: {}", e.message));
    eprintln!("{}", done.text);
    assert!(
        done.text.contains(
            "ledger-prod-audit (code only): the code of version 3 → the code of version 2"
        ),
        "{}",
        done.text
    );
    assert_eq!(r.alias_version("ledger-prod-post", "live").await, "2");
    assert_eq!(latest_sha(&r, "ledger-prod-audit").await, sha(&service));
    assert_eq!(
        config(&r, "ledger-prod-audit", Some("4"))
            .await
            .code_sha256(),
        Some(sha(&service).as_str())
    );

    // Pruning to the last release keeps what a code-only function's
    // current code needs (version 4 holds it) and the release's versions.
    let pruned = pipeline_canary::history::prune(
        &r.env.conf,
        &ledger,
        "ledger-prod-",
        None,
        1,
        false,
        |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("prune: {}", e.message));
    assert_eq!(
        pruned.deleted,
        vec![
            "ledger-prod-audit:1".to_string(),
            "ledger-prod-post:1".to_string()
        ]
    );
    for v in ["2", "3", "4"] {
        config(&r, "ledger-prod-audit", Some(v)).await;
    }
}
