//! Tests of manifest loading: native manifests (each error message names
//! its path and the fix), the Serverless Framework fixture, and both giving
//! the same release.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

fn action() -> ActionDefaults {
    ActionDefaults {
        function_prefix: "collect-".into(),
        alias: None,
        deployment_config: None,
        alarms: vec![],
    }
}

/// An artifact directory with the bundles the examples reference.
fn artifact() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("dist")).unwrap();
    fs::write(root.join("dist/create-pickup.zip"), b"PK\x05\x06zip").unwrap();
    fs::write(root.join("dist/other.zip"), b"zip").unwrap();
    fs::create_dir_all(root.join("functions/quote-price")).unwrap();
    fs::write(root.join("functions/quote-price/index.js"), b"x").unwrap();
    dir
}

fn write_manifest(root: &Path, v: &serde_json::Value) {
    fs::write(
        root.join(NATIVE_MANIFEST),
        serde_json::to_vec_pretty(v).unwrap(),
    )
    .unwrap();
}

fn issue_example() -> serde_json::Value {
    json!({ "version": 1,
      "defaults": { "alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute", "alarms": ["collect-5xx"] },
      "functions": [
        { "name": "collect-create-pickup", "package": "dist/create-pickup.zip" },
        { "name": "collect-quote-price", "source": "functions/quote-price",
          "deploymentConfig": "Canary10Percent5Minutes", "alarms": ["collect-quote-price-errors"],
          "hooks": { "beforeAllowTraffic": "CodeDeployHook_smoke", "afterAllowTraffic": "CodeDeployHook_verify" } } ] })
}

fn load_err(root: &Path, v: &serde_json::Value) -> ManifestErrors {
    write_manifest(root, v);
    load(root, None, &action()).expect_err("must be refused")
}

/// The single problem at `path`; panics listing all problems otherwise.
fn problem<'a>(e: &'a ManifestErrors, path: &str) -> &'a Problem {
    e.problems
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no problem at {path}: {e}"))
}

#[test]
fn the_issue_example_resolves_to_a_release() {
    let dir = artifact();
    write_manifest(dir.path(), &issue_example());
    let r = load(dir.path(), None, &action()).unwrap();
    assert_eq!(
        r.origin,
        Origin::Native {
            manifest: "pipeline-canary.json".into()
        }
    );
    assert_eq!(r.break_glass, None);
    assert_eq!(r.functions.len(), 2);
    let a = &r.functions[0];
    assert_eq!(a.name, "collect-create-pickup");
    assert_eq!(
        a.bundle,
        Bundle::Package(dir.path().join("dist/create-pickup.zip"))
    );
    assert_eq!(a.alias, "live");
    assert_eq!(
        a.deployment_config.codedeploy_name(),
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    );
    assert_eq!(a.alarms, vec!["collect-5xx"]);
    assert_eq!(a.hooks, Hooks::default());
    let b = &r.functions[1];
    assert_eq!(
        b.bundle,
        Bundle::Source(dir.path().join("functions/quote-price"))
    );
    assert_eq!(
        b.deployment_config,
        DeploymentConfig::Canary {
            percent: 10,
            minutes: 5
        }
    );
    assert_eq!(b.alarms, vec!["collect-5xx", "collect-quote-price-errors"]);
    assert_eq!(
        b.hooks.before_allow_traffic.as_deref(),
        Some("CodeDeployHook_smoke")
    );
    assert_eq!(
        b.hooks.after_allow_traffic.as_deref(),
        Some("CodeDeployHook_verify")
    );
}

#[test]
fn precedence_is_action_then_defaults_then_function() {
    let dir = artifact();
    let act = ActionDefaults {
        function_prefix: "collect-".into(),
        alias: Some("prod".into()),
        deployment_config: Some("CodeDeployDefault.LambdaAllAtOnce".into()),
        alarms: vec!["action-alarm".into()],
    };
    write_manifest(
        dir.path(),
        &json!({"version": 1, "functions": [
            {"name": "collect-a", "package": "dist/other.zip"},
            {"name": "collect-b", "package": "dist/other.zip", "alias": "canary",
             "deploymentConfig": "Linear20PercentEvery2Minutes", "alarms": ["b-errors", "action-alarm"]}]}),
    );
    let r = load(dir.path(), None, &act).unwrap();
    assert_eq!(r.functions[0].alias, "prod");
    assert_eq!(
        r.functions[0].deployment_config,
        DeploymentConfig::AllAtOnce
    );
    assert_eq!(r.functions[0].alarms, vec!["action-alarm"]);
    assert_eq!(r.functions[1].alias, "canary");
    assert_eq!(
        r.functions[1].deployment_config.codedeploy_name(),
        "PipelineCanary.Linear20PercentEvery2Minutes"
    );
    assert_eq!(
        r.functions[1].alarms,
        vec!["action-alarm", "b-errors"],
        "deduplicated"
    );

    // Manifest defaults override the action's (alarms: the list replaces the action's).
    write_manifest(
        dir.path(),
        &json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "Canary10Percent15Minutes", "alarms": []},
                "functions": [{"name": "collect-a", "package": "dist/other.zip"}]}),
    );
    let r = load(dir.path(), None, &act).unwrap();
    assert_eq!(r.functions[0].alias, "live");
    assert_eq!(
        r.functions[0].deployment_config,
        DeploymentConfig::Canary {
            percent: 10,
            minutes: 15
        }
    );
    assert!(r.functions[0].alarms.is_empty());
}

#[test]
fn unknown_keys_name_their_path_and_suggest_the_key() {
    let dir = artifact();
    let mut m = issue_example();
    m["functions"][1]["deploymentConfg"] = m["functions"][1]["deploymentConfig"].take();
    m["functions"][1]
        .as_object_mut()
        .unwrap()
        .remove("deploymentConfig");
    m["defaults"]["alais"] = json!("live");
    m["functions"][1]["hooks"]["beforeTraffic"] = json!("x");
    m["fuctions"] = json!([]);
    m["timeout"] = json!(5);
    let e = load_err(dir.path(), &m);
    assert_eq!(
        problem(&e, "functions[1].deploymentConfg").message,
        "unknown key; did you mean `deploymentConfig`?"
    );
    assert!(
        problem(&e, "defaults.alais")
            .message
            .contains("did you mean `alias`?")
    );
    assert!(
        problem(&e, "functions[1].hooks.beforeTraffic")
            .message
            .contains("did you mean `beforeAllowTraffic`?")
    );
    assert!(
        problem(&e, "fuctions")
            .message
            .contains("did you mean `functions`?")
    );
    let t = &problem(&e, "timeout").message;
    assert!(
        t.contains("the keys here are `version`, `defaults`, `functions`, `breakGlass`"),
        "{t}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with("pipeline-canary.json: 5 problems\n"),
        "{text}"
    );
    assert!(text.contains(
        "\n- functions[1].deploymentConfg: unknown key; did you mean `deploymentConfig`?"
    ));
    assert_eq!(e.kind(), ProblemKind::Configuration);
}

#[test]
fn wrong_types_name_expected_and_found() {
    let dir = artifact();
    let e = load_err(
        dir.path(),
        &json!({"version": "1", "defaults": [], "functions": [
            {"name": 7, "package": ["dist/other.zip"], "alarms": "collect-5xx",
             "hooks": {"beforeAllowTraffic": 1}, "deploymentConfig": 10},
            "collect-b"],
          "breakGlass": "because"}),
    );
    assert_eq!(
        problem(&e, "version").message,
        "expected the number 1, found a string"
    );
    assert_eq!(
        problem(&e, "defaults").message,
        "expected an object, found an array"
    );
    assert_eq!(
        problem(&e, "functions[0].name").message,
        "expected a string, found a number"
    );
    assert!(
        problem(&e, "functions[0].package")
            .message
            .contains("found an array")
    );
    assert_eq!(
        problem(&e, "functions[0].alarms").message,
        "expected an array of alarm names, found a string"
    );
    assert!(
        problem(&e, "functions[0].hooks.beforeAllowTraffic")
            .message
            .contains("found a number")
    );
    assert!(
        problem(&e, "functions[0].deploymentConfig")
            .message
            .contains("expected a string such as \"Linear10PercentEvery1Minute\"")
    );
    assert_eq!(
        problem(&e, "functions[1]").message,
        "expected an object, found a string"
    );
    assert_eq!(
        problem(&e, "breakGlass").message,
        "expected an object, found a string"
    );
    let e = load_err(dir.path(), &json!(["not", "an", "object"]));
    assert!(
        problem(&e, "(json)")
            .message
            .contains("must be a JSON object, found an array")
    );
}

#[test]
fn missing_fields_say_what_to_add() {
    let dir = artifact();
    let e = load_err(dir.path(), &json!({"defaults": {"alias": "live"}}));
    assert_eq!(
        problem(&e, "version").message,
        "missing; add \"version\": 1"
    );
    assert!(
        problem(&e, "functions")
            .message
            .starts_with("missing; list the functions")
    );
    let e = load_err(
        dir.path(),
        &json!({"version": 1, "functions": [{"package": "dist/other.zip", "deploymentConfig": "AllAtOnce"}, {"name": "collect-x"}]}),
    );
    assert!(
        problem(&e, "functions[0].name")
            .message
            .contains("needs the Lambda function `name`")
    );
    assert!(
        problem(&e, "functions[1]")
            .message
            .contains("needs `package` (a prebuilt zip) or `source`")
    );
    // Nothing anywhere gives an alias or a deployment config.
    assert!(
        problem(&e, "functions[0].alias")
            .message
            .contains("set `defaults.alias`")
    );
    assert!(
        problem(&e, "functions[1].deploymentConfig")
            .message
            .contains("the action's DeploymentConfig property")
    );
}

#[test]
fn wrong_version_says_which_version_this_worker_reads() {
    let dir = artifact();
    let mut m = issue_example();
    m["version"] = json!(2);
    let e = load_err(dir.path(), &m);
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(
        problem(&e, "version").message,
        "this worker reads manifest version 1; this manifest is version 2: write version 1 or upgrade pipeline-canary"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    let dir = artifact();
    fs::write(
        dir.path().join(NATIVE_MANIFEST),
        "{ \"version\": 1,\n  \"functions\": [ }\n",
    )
    .unwrap();
    let e = load(dir.path(), None, &action()).unwrap_err();
    let m = &problem(&e, "(json)").message;
    assert!(
        m.starts_with("invalid JSON at line 2, column 18: expected value"),
        "{m}"
    );
    fs::write(dir.path().join(NATIVE_MANIFEST), [0xff, 0xfe, b'{']).unwrap();
    let e = load(dir.path(), None, &action()).unwrap_err();
    assert!(problem(&e, "(manifest)").message.contains("not UTF-8"));
}

#[test]
fn empty_function_list_is_refused() {
    let dir = artifact();
    let e = load_err(dir.path(), &json!({"version": 1, "functions": []}));
    assert_eq!(
        problem(&e, "functions").message,
        "is empty: list at least one function to release"
    );
}

#[test]
fn duplicate_functions_are_refused() {
    let dir = artifact();
    let mut m = issue_example();
    m["functions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "collect-create-pickup", "package": "dist/other.zip"}));
    let e = load_err(dir.path(), &m);
    assert_eq!(
        problem(&e, "functions[2].name").message,
        "function `collect-create-pickup` is already released by functions[0]: list each function once"
    );
}

#[test]
fn functions_outside_the_prefix_are_a_permission_error() {
    let dir = artifact();
    let mut m = issue_example();
    m["functions"][0]["name"] = json!("billing-charge-card");
    let e = load_err(dir.path(), &m);
    let p = problem(&e, "functions[0].name");
    assert_eq!(p.kind, ProblemKind::Permission);
    assert!(
        p.message
            .contains("`billing-charge-card` is outside this action's FunctionPrefix `collect-`")
    );
    assert_eq!(e.kind(), ProblemKind::Permission);
    // Invalid names are configuration errors.
    m["functions"][0]["name"] = json!("collect bad name");
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "functions[0].name")
            .message
            .contains("is not a Lambda function name")
    );
    assert_eq!(e.kind(), ProblemKind::Configuration);
}

#[test]
fn more_than_ten_alarms_counting_defaults_and_duplicates_once() {
    let dir = artifact();
    let defaults: Vec<String> = (0..6).map(|i| format!("shared-{i}")).collect();
    let mut own: Vec<String> = (0..5).map(|i| format!("own-{i}")).collect();
    own.push("shared-0".into()); // duplicate: counted once
    let m = json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce", "alarms": defaults},
        "functions": [{"name": "collect-a", "package": "dist/other.zip", "alarms": own}]});
    let e = load_err(dir.path(), &m);
    let p = problem(&e, "functions[0].alarms");
    assert!(
        p.message
            .contains("`collect-a` would be guarded by 11 alarms"),
        "{}",
        p.message
    );
    assert!(p.message.contains("at most 10"));
    // Exactly 10 after deduplication is fine.
    let mut m = m;
    m["functions"][0]["alarms"].as_array_mut().unwrap().pop();
    m["functions"][0]["alarms"].as_array_mut().unwrap().pop();
    m["functions"][0]["alarms"]
        .as_array_mut()
        .unwrap()
        .push(json!("shared-1"));
    write_manifest(dir.path(), &m);
    let r = load(dir.path(), None, &action()).unwrap();
    assert_eq!(r.functions[0].alarms.len(), 10);
}

#[test]
fn bundle_paths_must_be_inside_the_artifact_and_of_the_right_kind() {
    let dir = artifact();
    let m = json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"}, "functions": [
        {"name": "collect-a", "package": "../outside.zip"},
        {"name": "collect-b", "package": "/etc/passwd"},
        {"name": "collect-c", "source": "dist/other.zip"},
        {"name": "collect-d", "package": "functions/quote-price"},
        {"name": "collect-e", "package": "dist/missing.zip"},
        {"name": "collect-f", "package": "dist/other.zip", "source": "functions/quote-price"},
        {"name": "collect-g", "source": "functions\\quote-price"}]});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "functions[0].package")
            .message
            .contains("`../outside.zip` contains a `..` component")
    );
    assert!(
        problem(&e, "functions[1].package")
            .message
            .contains("`/etc/passwd` is an absolute path")
    );
    assert!(
        problem(&e, "functions[2].source")
            .message
            .contains("`dist/other.zip` is not a directory")
    );
    assert!(
        problem(&e, "functions[3].package")
            .message
            .contains("is not a file: `package` must name a zip")
    );
    assert!(problem(&e, "functions[4].package").message.contains(
        "`dist/missing.zip` is not in the artifact: build it before this stage or fix the path"
    ));
    assert!(
        problem(&e, "functions[5]")
            .message
            .contains("has both `package` and `source`")
    );
    assert!(
        problem(&e, "functions[6].source")
            .message
            .contains("backslash")
    );
    assert_eq!(e.problems.len(), 7, "{e}");
}

#[test]
fn deployment_config_errors_name_the_field() {
    let dir = artifact();
    let m = json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute"}, "functions": [
        {"name": "collect-a", "package": "dist/other.zip", "deploymentConfig": "Canary0Percent5Minutes"},
        {"name": "collect-b", "package": "dist/other.zip", "deploymentConfig": "Linear101PercentEvery1Minute"},
        {"name": "collect-c", "package": "dist/other.zip", "deploymentConfig": "Canary10Percent0Minutes"},
        {"name": "collect-d", "package": "dist/other.zip", "deploymentConfig": "BlueGreen"}]});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "functions[0].deploymentConfig")
            .message
            .contains("0 % would never shift traffic")
    );
    assert!(
        problem(&e, "functions[1].deploymentConfig")
            .message
            .contains("101 % is not a gradual shift")
    );
    assert!(
        problem(&e, "functions[2].deploymentConfig")
            .message
            .contains("0 minutes")
    );
    assert!(
        problem(&e, "functions[3].deploymentConfig")
            .message
            .contains("`BlueGreen` is not a known deployment config")
    );
    assert_eq!(
        e.problems.len(),
        4,
        "no extra 'missing config' problems: {e}"
    );
    // A broken action default is reported against the action configuration.
    let dir = artifact();
    write_manifest(
        dir.path(),
        &json!({"version": 1, "defaults": {"alias": "live"}, "functions": [{"name": "collect-a", "package": "dist/other.zip"}]}),
    );
    let mut act = action();
    act.deployment_config = Some("Linear10PercentEvery0Minutes".into());
    act.alias = Some("123".into());
    let e = load(dir.path(), None, &act).unwrap_err();
    assert!(
        problem(&e, "(action) DeploymentConfig")
            .message
            .contains("0 minutes")
    );
    assert!(
        problem(&e, "(action) Alias")
            .message
            .contains("not only digits")
    );
}

#[test]
fn break_glass_needs_a_reason() {
    let dir = artifact();
    let mut m = issue_example();
    m["breakGlass"] = json!({"reason": "  hotfix INC-1234: payments down  "});
    write_manifest(dir.path(), &m);
    let r = load(dir.path(), None, &action()).unwrap();
    assert_eq!(
        r.break_glass,
        Some(BreakGlass {
            reason: "hotfix INC-1234: payments down".into()
        })
    );
    m["breakGlass"] = json!({"reason": " "});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "breakGlass.reason")
            .message
            .starts_with("is empty")
    );
    m["breakGlass"] = json!({});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "breakGlass.reason")
            .message
            .contains("need a reason")
    );
    m["breakGlass"] = json!({"reason": "x", "skipAlarms": true});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "breakGlass.skipAlarms")
            .message
            .contains("`reason`")
    );
}

#[test]
fn all_problems_come_in_one_message_within_5000_chars() {
    let dir = artifact();
    let functions: Vec<serde_json::Value> = (0..300)
        .map(|i| json!({"name": format!("other-{i}"), "package": format!("dist/missing-{i}.zip"), "deploymentConfg": "x"}))
        .collect();
    let e = load_err(
        dir.path(),
        &json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"}, "functions": functions}),
    );
    assert_eq!(e.problems.len(), 900);
    let m = e.message();
    assert!(m.chars().count() <= MAX_MESSAGE_CHARS);
    assert!(m.starts_with("pipeline-canary.json: 900 problems\n"));
    assert!(
        m.contains("- functions[0].deploymentConfg: unknown key; did you mean `deploymentConfig`?")
    );
    assert!(m.contains(
        "- functions[0].name: function `other-0` is outside this action's FunctionPrefix `collect-`"
    ));
    assert!(m.contains("- functions[0].package: `dist/missing-0.zip` is not in the artifact"));
    assert!(regex_like_more(&m), "{m}");
    assert_eq!(e.kind(), ProblemKind::Permission);
}

fn regex_like_more(m: &str) -> bool {
    let last = m.lines().last().unwrap_or("");
    last.starts_with("… and ") && last.ends_with(" more")
}

#[test]
fn a_missing_manifest_says_what_the_artifact_needs() {
    let dir = artifact();
    let e = load(dir.path(), None, &action()).unwrap_err();
    let m = &problem(&e, "(manifest)").message;
    assert!(
        m.contains(
            "neither `pipeline-canary.json` at its root nor `.serverless/serverless-state.json`"
        ),
        "{m}"
    );
    let e = load(dir.path(), Some("deploy/release.json"), &action()).unwrap_err();
    assert_eq!(e.source, "deploy/release.json");
    assert!(
        problem(&e, "(manifest)")
            .message
            .contains("the action's `Manifest` property")
    );
    let e = load(dir.path(), Some("../../etc/passwd"), &action()).unwrap_err();
    assert!(problem(&e, "(manifest)").message.contains("`..`"));
    // An overridden path is used.
    fs::create_dir_all(dir.path().join("deploy")).unwrap();
    let mut m = issue_example();
    m["functions"][0]["package"] = json!("dist/other.zip");
    fs::write(dir.path().join("deploy/release.json"), m.to_string()).unwrap();
    let r = load(dir.path(), Some("deploy/release.json"), &action()).unwrap();
    assert_eq!(
        r.origin,
        Origin::Native {
            manifest: "deploy/release.json".into()
        }
    );
}

// ---------------------------------------------------------------------------
// Serverless Framework

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/serverless/collect")
}

/// A writable copy of the fixture.
fn fixture_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(), dir.path());
    dir
}

fn edit_state(root: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = root.join(SERVERLESS_STATE);
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn serverless_fixture_resolves_to_the_release_it_describes() {
    let root = fixture();
    let r = load(&root, None, &action()).unwrap();
    assert_eq!(
        r.origin,
        Origin::Serverless {
            state_file: ".serverless/serverless-state.json".into(),
            service: "collect".into(),
            stage: "prod".into(),
            region: Some("eu-west-1".into()),
        }
    );
    let names: Vec<&str> = r.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "collect-create-pickup",
            "collect-prod-listSlots",
            "collect-quote-price",
            "collect-prod-smokeHook",
            "collect-prod-verifyHook"
        ]
    );
    let by = |n: &str| r.functions.iter().find(|f| f.name == n).unwrap();
    // Individually packaged: its own zip, found from the build machine's absolute path.
    assert_eq!(
        by("collect-quote-price").bundle,
        Bundle::Package(root.join(".serverless/quotePrice.zip"))
    );
    assert_eq!(
        by("collect-create-pickup").bundle,
        Bundle::Package(root.join(".serverless/collect.zip"))
    );
    // Alarm logical ID resolved through resources; `name:` objects taken as is.
    assert_eq!(
        by("collect-create-pickup").alarms,
        vec!["collect-create-pickup-errors", "collect-5xx"]
    );
    assert_eq!(
        by("collect-create-pickup").alias,
        "live",
        "from custom.deploymentSettings"
    );
    // Hooks: function keys resolved to deployed names.
    assert_eq!(
        by("collect-quote-price").hooks,
        Hooks {
            before_allow_traffic: Some("collect-prod-smokeHook".into()),
            after_allow_traffic: Some("collect-prod-verifyHook".into()),
        }
    );
    assert_eq!(
        by("collect-quote-price").deployment_config,
        DeploymentConfig::Canary {
            percent: 10,
            minutes: 5
        }
    );
    // No deploymentSettings: the plugin gives it no alias → code only.
    let hook = by("collect-prod-smokeHook");
    assert!(hook.code_only);
    assert_eq!(hook.alias, "", "a code-only function has no alias");
    assert!(hook.alarms.is_empty() && hook.hooks == Hooks::default());
    assert!(!by("collect-quote-price").code_only);
}

#[test]
fn serverless_code_only_needs_no_alias_anywhere() {
    // The issue's reproduction: no `custom.deploymentSettings.alias`, no
    // action Alias, one function without deploymentSettings.
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        v["service"]["custom"]["deploymentSettings"]
            .as_object_mut()
            .unwrap()
            .remove("alias");
        v["service"]["functions"]["listSlots"]
            .as_object_mut()
            .unwrap()
            .remove("deploymentSettings");
    });
    let act = ActionDefaults::of("collect-", None, None, vec![]);
    let r = load(dir.path(), None, &act).unwrap();
    let by = |n: &str| r.functions.iter().find(|f| f.name == n).unwrap();
    assert!(by("collect-prod-listSlots").code_only);
    assert_eq!(by("collect-prod-listSlots").alias, "");
    // A shifted function without an alias anywhere gets the action's
    // documented default, `live`.
    assert_eq!(by("collect-create-pickup").alias, "live");
    assert!(!by("collect-create-pickup").code_only);
}

#[test]
fn serverless_mirrors_the_plugin_merge_null_settings_alias_case_and_provisioned_concurrency() {
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        // The key alone makes the plugin shift it, with the global settings.
        v["service"]["functions"]["smokeHook"]["deploymentSettings"] = json!(null);
        // A function's key replaces the global one whole (no list merge);
        // the alias keeps its case.
        v["service"]["custom"]["deploymentSettings"]["alarms"] = json!([{"name": "global-a"}]);
        v["service"]["custom"]["deploymentSettings"]["type"] = json!("Canary10Percent10Minutes");
        v["service"]["functions"]["listSlots"]["deploymentSettings"] =
            json!({"alias": "Live", "alarms": [{"name": "own-b"}]});
    });
    let r = load(dir.path(), None, &action()).unwrap();
    let by = |n: &str| r.functions.iter().find(|f| f.name == n).unwrap();
    let hook = by("collect-prod-smokeHook");
    assert!(!hook.code_only);
    assert_eq!(hook.alarms, vec!["global-a"]);
    assert_eq!(
        hook.deployment_config,
        DeploymentConfig::Canary {
            percent: 10,
            minutes: 10
        }
    );
    let list = by("collect-prod-listSlots");
    assert_eq!(list.alias, "Live");
    assert_eq!(
        list.alarms,
        vec!["own-b"],
        "the function's alarms replace the global ones"
    );
    edit_state(dir.path(), |v| {
        v["service"]["functions"]["listSlots"]["provisionedConcurrency"] = json!(2);
    });
    let e = load(dir.path(), None, &action()).unwrap_err();
    let p = problem(&e, "service.functions.listSlots.provisionedConcurrency");
    assert!(p.message.contains("`provisioned` alias"), "{}", p.message);
    assert!(p.message.contains("remove `provisionedConcurrency`"));
}

#[test]
fn serverless_alarm_logical_ids_resolve_through_the_packaged_template() {
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        v["service"]["functions"]["listSlots"]["deploymentSettings"]["alarms"] =
            json!(["ListSlotsThrottles"]);
    });
    fs::write(
        dir.path().join(SERVERLESS_TEMPLATE),
        serde_json::to_vec(&json!({"Resources": {"ListSlotsThrottles": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": "collect-prod-listSlots-throttles"}}}}))
        .unwrap(),
    )
    .unwrap();
    let r = load(dir.path(), None, &action()).unwrap();
    let list = r
        .functions
        .iter()
        .find(|f| f.name == "collect-prod-listSlots")
        .unwrap();
    assert_eq!(list.alarms, vec!["collect-prod-listSlots-throttles"]);
}

#[test]
fn serverless_fixture_and_equivalent_native_manifest_give_the_same_release() {
    let root = fixture();
    let sls = load(&root, None, &action()).unwrap();
    let native = load(&root, Some("native-equivalent.json"), &action()).unwrap();
    assert!(matches!(native.origin, Origin::Native { .. }));
    // The native manifest has no code-only functions (the hooks).
    let shifted: Vec<_> = sls
        .functions
        .iter()
        .filter(|f| !f.code_only)
        .cloned()
        .collect();
    let native_shifted: Vec<_> = native
        .functions
        .iter()
        .filter(|f| shifted.iter().any(|s| s.name == f.name))
        .cloned()
        .collect();
    assert_eq!(shifted, native_shifted);
    assert_eq!(sls.break_glass, native.break_glass);
    // And the zips they point to are sound function bundles.
    for f in &sls.functions {
        let Bundle::Package(p) = &f.bundle else {
            panic!("serverless bundles are packages")
        };
        crate::artifact::verify(p, &crate::artifact::UnpackLimits::function_bundle()).unwrap();
    }
}

#[test]
fn serverless_state_with_a_missing_zip_names_the_function() {
    let dir = fixture_copy();
    fs::remove_file(dir.path().join(".serverless/quotePrice.zip")).unwrap();
    let e = load(dir.path(), None, &action()).unwrap_err();
    assert_eq!(e.source, ".serverless/serverless-state.json");
    let p = problem(&e, "service.functions.quotePrice.package.artifact");
    assert!(
        p.message
            .contains("/.serverless/quotePrice.zip` is not in the artifact"),
        "{}",
        p.message
    );
    assert!(p.message.contains("include the `.serverless` directory"));
    fs::remove_file(dir.path().join(".serverless/collect.zip")).unwrap();
    let e = load(dir.path(), None, &action()).unwrap_err();
    assert!(
        problem(&e, "package.artifact")
            .message
            .contains("`.serverless/collect.zip` is not in the artifact")
    );
}

#[test]
fn serverless_unresolvable_references_are_named() {
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        let f = &mut v["service"]["functions"];
        f["listSlots"]["deploymentSettings"]["alarms"] =
            json!([{"name": {"Ref": "SlotsAlarm"}}, {"Fn::GetAtt": ["SlotsAlarm", "Arn"]}]);
        f["createPickup"]["deploymentSettings"]["preTrafficHook"] = json!("smokeHookk");
        f["quotePrice"]["deploymentSettings"]["postTrafficHook"] =
            json!({"Ref": "VerifyHookLambdaFunction"});
        v["service"]["resources"]["Resources"]["CreatePickupErrorsAlarm"]["Properties"]["AlarmName"] =
            json!({"Fn::Sub": "${AWS::StackName}-errors"});
    });
    let e = load(dir.path(), None, &action()).unwrap_err();
    let base = "service.functions";
    assert!(problem(&e, &format!("{base}.listSlots.deploymentSettings.alarms[0].name"))
        .message
        .contains("`{\"Ref\":\"SlotsAlarm\"}` is a CloudFormation reference pipeline-canary cannot resolve"));
    assert!(
        problem(
            &e,
            &format!("{base}.listSlots.deploymentSettings.alarms[1]")
        )
        .message
        .contains("Fn::GetAtt")
    );
    assert!(
        problem(
            &e,
            &format!("{base}.createPickup.deploymentSettings.preTrafficHook")
        )
        .message
        .contains("`smokeHookk` is not a function of service `collect`")
    );
    assert!(
        problem(
            &e,
            &format!("{base}.quotePrice.deploymentSettings.postTrafficHook")
        )
        .message
        .contains("cannot resolve")
    );
    assert!(
        problem(
            &e,
            &format!("{base}.createPickup.deploymentSettings.alarms[0]")
        )
        .message
        .contains("give the alarm a literal `AlarmName`")
    );
}

#[test]
fn serverless_default_names_stages_images_and_prefix() {
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        v["service"]["functions"]["listSlots"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        v["service"]["custom"]["deploymentSettings"]["stages"] = json!(["staging"]);
    });
    let r = load(dir.path(), None, &action()).unwrap();
    assert!(
        r.functions
            .iter()
            .any(|f| f.name == "collect-prod-listSlots")
    );
    assert!(
        r.functions.iter().all(|f| f.code_only),
        "stage prod is not in custom.deploymentSettings.stages: the plugin adds no alias"
    );
    edit_state(dir.path(), |v| {
        v["service"]["functions"]["worker"] =
            json!({"name": "other-worker", "image": "123.dkr.ecr/x:1"});
        v["service"]["functions"]["cron"] =
            json!({"name": "billing-cron", "handler": "src/cron.handler"});
    });
    let e = load(dir.path(), None, &action()).unwrap_err();
    assert!(
        problem(&e, "service.functions.worker.image")
            .message
            .contains("zip packages only")
    );
    let p = problem(&e, "service.functions.cron.name");
    assert_eq!(p.kind, ProblemKind::Permission);
    assert!(
        p.message
            .contains("`billing-cron` is outside this action's FunctionPrefix")
    );
}

/// `sls package --stage prod` leaves `provider.stage` as serverless.yml
/// has it (here the default, `dev`); the stage packaged for is the one the
/// artifact directory names, and `stages` is checked against that.
#[test]
fn serverless_stage_is_the_one_packaged_for_not_provider_stage() {
    let dir = fixture_copy();
    edit_state(dir.path(), |v| {
        v["service"]["provider"]["stage"] = json!("dev");
        v["package"]["artifactDirectoryName"] =
            json!("serverless/collect/prod/1796521876355-2026-12-06T01:51:16.355Z");
        v["service"]["functions"]["listSlots"]
            .as_object_mut()
            .unwrap()
            .remove("name");
        v["service"]["custom"]["deploymentSettings"]["stages"] = json!(["prod"]);
    });
    let r = load(dir.path(), None, &action()).unwrap();
    assert!(
        r.functions
            .iter()
            .any(|f| f.name == "collect-prod-listSlots")
    );
    assert!(
        r.functions.iter().any(|f| !f.code_only),
        "prod is in stages: the functions with deploymentSettings shift"
    );
    edit_state(dir.path(), |v| {
        v["service"]["custom"]["deploymentSettings"]["stages"] = json!(["dev"]);
    });
    let r = load(dir.path(), None, &action()).unwrap();
    assert!(r.functions.iter().all(|f| f.code_only));
}

#[test]
fn serverless_service_in_a_subdirectory_via_the_manifest_property() {
    let dir = tempfile::tempdir().unwrap();
    let copy = fixture_copy();
    fs::rename(copy.path(), dir.path().join("api")).unwrap();
    let r = load(
        dir.path(),
        Some("api/.serverless/serverless-state.json"),
        &action(),
    )
    .unwrap();
    let quote = r
        .functions
        .iter()
        .find(|f| f.name == "collect-quote-price")
        .unwrap();
    assert_eq!(
        quote.bundle,
        Bundle::Package(dir.path().join("api/.serverless/quotePrice.zip"))
    );
    // Not the output of `serverless package`.
    fs::write(
        dir.path().join("api/.serverless/serverless-state.json"),
        "{\"functions\": {}}",
    )
    .unwrap();
    let e = load(
        dir.path(),
        Some("api/.serverless/serverless-state.json"),
        &action(),
    )
    .unwrap_err();
    assert!(
        problem(&e, "service")
            .message
            .contains("not the output of `serverless package`")
    );
}

/// Found by the `manifest_native` fuzz target: an empty key was reported
/// at the empty path, so the message did not say where it was.
#[test]
fn an_empty_key_is_reported_at_a_visible_path() {
    let dir = artifact();
    let mut m = issue_example();
    m[""] = json!({"alias": "live"});
    m["defaults"][""] = json!(1);
    m["functions"][0][""] = json!(true);
    let e = load_err(dir.path(), &m);
    for path in [r#""""#, r#"defaults."""#, r#"functions[0]."""#] {
        assert!(
            problem(&e, path).message.starts_with("unknown key"),
            "{path}: {e}"
        );
    }
    assert!(e.problems.iter().all(|p| !p.path.is_empty()), "{e}");
    assert!(e.message().contains("\n- \"\": unknown key"), "{e}");
}

/// A Serverless artifact path of thousands of components (found by fuzzing
/// the state file: a 40 KB path blocked a job ~40 s, the 64 MiB cap made it
/// endless) costs linear time and still resolves by its last components.
#[test]
fn a_huge_build_machine_path_resolves_in_linear_time() {
    let dir = fixture_copy();
    let deep = format!("/{}.serverless/quotePrice.zip", "build/".repeat(200_000));
    edit_state(dir.path(), |v| {
        v["service"]["functions"]["quotePrice"]["package"]["artifact"] = json!(deep);
    });
    // The behaviour under test is a bound (linear, not quadratic, time), so
    // the test keeps one, generous: 30 s. The linear resolution takes well
    // under a second in a debug build; the quadratic one fuzzing found took
    // ~40 s for a 40 KB path, and this path is 1.2 MB (30 times longer, so
    // about 900 times slower): no load makes the one fail, no regression
    // to the other passes.
    let started = std::time::Instant::now();
    let r = load(dir.path(), None, &action()).unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let f = r
        .functions
        .iter()
        .find(|f| f.name == "collect-quote-price")
        .unwrap();
    assert_eq!(
        f.bundle,
        Bundle::Package(dir.path().join(".serverless/quotePrice.zip"))
    );
}

#[test]
fn the_documented_action_defaults_fill_what_the_action_leaves_empty() {
    let d = ActionDefaults::of("c-", None, Some("  "), vec![]);
    assert_eq!(d.alias.as_deref(), Some(DEFAULT_ALIAS));
    assert_eq!(d.alias.as_deref(), Some("live"));
    assert_eq!(
        d.deployment_config.as_deref(),
        Some("Linear10PercentEvery1Minute")
    );
    let d = ActionDefaults::of("c-", Some("prod"), Some("AllAtOnce"), vec!["a".into()]);
    assert_eq!(d.alias.as_deref(), Some("prod"));
    assert_eq!(d.deployment_config.as_deref(), Some("AllAtOnce"));
    assert!(DeploymentConfig::parse(DEFAULT_DEPLOYMENT_CONFIG).is_ok());
}

#[test]
fn steps_the_worker_drives_are_an_object_or_a_string() {
    let dir = artifact();
    write_manifest(
        dir.path(),
        &json!({"version": 1,
          "defaults": {"alias": "live", "deploymentConfig": {"steps": [1, 5, 25, 50], "interval": "2m", "bake": "5m"}},
          "functions": [
            {"name": "collect-a", "package": "dist/other.zip"},
            {"name": "collect-b", "package": "dist/other.zip", "deploymentConfig": "Steps10-50Every30Seconds"},
            {"name": "collect-c", "package": "dist/other.zip", "deploymentConfig": "Canary10Percent5Minutes"}]}),
    );
    let r = load(dir.path(), None, &action()).unwrap();
    let a = r.functions[0].deployment_config;
    assert_eq!(a.short_name(), "Steps1-5-25-50Every2MinutesBake5Minutes");
    assert_eq!(a.bake(), std::time::Duration::from_secs(300));
    assert!(r.functions[1].deployment_config.is_worker_driven());
    assert!(!r.functions[2].deployment_config.is_worker_driven());
}

#[test]
fn bad_step_objects_name_the_field_and_the_fix() {
    let dir = artifact();
    let m = json!({"version": 1, "defaults": {"alias": "live"}, "functions": [
        {"name": "collect-a", "package": "dist/other.zip", "deploymentConfig": {"steps": [5, 1], "interval": "2m"}},
        {"name": "collect-b", "package": "dist/other.zip", "deploymentConfig": {"steps": [5], "interval": "2 minutes"}},
        {"name": "collect-c", "package": "dist/other.zip", "deploymentConfig": {"steps": [5, "ten"], "interval": "2m", "bak": "1m"}},
        {"name": "collect-d", "package": "dist/other.zip", "deploymentConfig": {"interval": "2m"}},
        {"name": "collect-e", "package": "dist/other.zip", "deploymentConfig": {"steps": [5, 100], "interval": "1m"}},
        {"name": "collect-f", "package": "dist/other.zip", "deploymentConfig": {"steps": [5]}},
        {"name": "collect-g", "package": "dist/other.zip", "deploymentConfig": 5}]});
    let e = load_err(dir.path(), &m);
    let at = |p: &str| problem(&e, p).message.clone();
    assert!(
        at("functions[0].deploymentConfig.steps[1]").contains("does not grow from 5 %"),
        "{e}"
    );
    assert!(
        at("functions[1].deploymentConfig.interval").contains("lacks a unit"),
        "{e}"
    );
    assert!(
        at("functions[2].deploymentConfig.steps[1]").contains("a whole percentage"),
        "{e}"
    );
    assert!(
        at("functions[2].deploymentConfig.bak").contains("did you mean `bake`"),
        "{e}"
    );
    assert!(
        at("functions[3].deploymentConfig.steps").contains("missing"),
        "{e}"
    );
    assert!(
        at("functions[4].deploymentConfig.steps[1]").contains("100 % follows"),
        "{e}"
    );
    assert!(
        at("functions[5].deploymentConfig.interval").contains("missing"),
        "{e}"
    );
    assert!(
        at("functions[6].deploymentConfig").contains("\"steps\""),
        "{e}"
    );
}

#[test]
fn hooks_are_refused_with_a_schedule_the_worker_drives() {
    let dir = artifact();
    let m = json!({"version": 1, "defaults": {"alias": "live"}, "functions": [
        {"name": "collect-a", "package": "dist/other.zip", "deploymentConfig": "Steps10-50Every1Minute",
         "hooks": {"beforeAllowTraffic": "CodeDeployHook_smoke"}}]});
    let e = load_err(dir.path(), &m);
    let msg = &problem(&e, "functions[0].hooks").message;
    assert!(
        msg.contains("lifecycle hooks run only in CodeDeploy's shifts"),
        "{msg}"
    );
    assert!(msg.contains("remove `hooks`"), "{msg}");
}

#[test]
fn analysis_settings_are_checked_naming_the_field() {
    let dir = artifact();
    let m = json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "Steps10-50Every1Minute",
            "analysis": {"minInvocations": 50}},
        "functions": [
        {"name": "collect-a", "package": "dist/other.zip"},
        {"name": "collect-b", "package": "dist/other.zip", "analysis": {"confidence": 1.5}},
        {"name": "collect-c", "package": "dist/other.zip", "analysis": {"minInvocation": 5}},
        {"name": "collect-d", "package": "dist/other.zip", "analysis": "yes"}]});
    let e = load_err(dir.path(), &m);
    assert!(
        problem(&e, "functions[1].analysis")
            .message
            .contains("confidence"),
        "{e}"
    );
    assert!(
        problem(&e, "functions[2].analysis.minInvocation")
            .message
            .contains("did you mean `minInvocations`"),
        "{e}"
    );
    assert!(
        problem(&e, "functions[3].analysis")
            .message
            .contains("expected an object"),
        "{e}"
    );
    // Valid defaults apply where a function has none.
    let dir = artifact();
    write_manifest(
        dir.path(),
        &json!({"version": 1, "defaults": {"alias": "live", "deploymentConfig": "Steps10-50Every1Minute",
            "analysis": {"minInvocations": 50}},
            "functions": [{"name": "collect-a", "package": "dist/other.zip"}]}),
    );
    let r = load(dir.path(), None, &action()).unwrap();
    let a = r.functions[0].analysis.expect("analysis from defaults");
    assert_eq!(a.min_invocations, 50);
    assert_eq!(a.confidence, 0.99);
}
