//! The real-world delivery assets agree with each other and with the worker:
//! the custom action type in `pipeline.yaml` is the one in
//! `action-definition/custom-action.json`; the worker's task role is exactly
//! `iam/worker-policy.json` (and holds no S3/KMS permission); the example
//! app's manifest is valid for the worker and its alarms exist in the
//! template; `buildspec.yml` writes the release directory the demo deploys;
//! the ECS service's shutdown timing matches the worker's `--shutdown-grace`.
//!
//! Pure file checks: no aws-sim, no network. CloudFormation short-form tags
//! (`!Ref`, `!Sub`, `!GetAtt`, …) are read as `serde_yaml_ng` tagged values
//! and turned into their long JSON form, except a scalar `!Sub` which
//! becomes its template text (the form `iam/worker-policy.json` uses).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pipeline_canary::WorkerConfig;
use pipeline_canary::definition::ActionTypeDefinition;
use pipeline_canary::manifest::{self, ActionDefaults, Bundle, CUSTOM_PREFIX};
use serde_json::{Value as Json, json};
use serde_yaml_ng::Value as Yaml;

/// Where `buildspec.yml` leaves the release artifact and where the demo
/// takes it from (`pipeline-canary bundle examples/collect --out <this>`).
const RELEASE_DIR: &str = "build/release";
/// The example app and its function names.
const EXAMPLE_APP: &str = "examples/collect";
const EXAMPLE_FUNCTIONS: [&str; 6] = [
    "create-pickup",
    "quote-price",
    "assign-driver",
    "track-order",
    "notify-customer",
    "dispose-item",
];
/// Seconds ECS waits beyond the worker's grace before SIGKILL.
const STOP_MARGIN_SECS: u64 = 10;
/// Fargate's maximum StopTimeout.
const FARGATE_MAX_STOP_TIMEOUT: u64 = 120;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// YAML (with CloudFormation tags) → JSON.
fn to_json(v: &Yaml) -> Json {
    match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().expect("a YAML number is an f64"))
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = k
                        .as_str()
                        .unwrap_or_else(|| panic!("non-string YAML key {k:?}"));
                    (key.to_string(), to_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = to_json(&t.value);
            match (tag, value) {
                ("Sub", Json::String(s)) => Json::String(s),
                ("Ref", v) => json!({ "Ref": v }),
                (other, v) => json!({ format!("Fn::{other}"): v }),
            }
        }
    }
}

fn template() -> Json {
    let doc: Yaml = serde_yaml_ng::from_str(&read("pipeline.yaml")).expect("pipeline.yaml parses");
    to_json(&doc)
}

fn resource<'a>(t: &'a Json, name: &str) -> &'a Json {
    t.pointer(&format!("/Resources/{name}"))
        .unwrap_or_else(|| panic!("pipeline.yaml has no resource {name}"))
}

fn resources_of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// `ConfigurationProperties` → `configurationProperties`, recursively on keys.
fn camel_keys(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(first) => first.to_lowercase().chain(c).collect(),
                        None => String::new(),
                    };
                    (key, camel_keys(v))
                })
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// Every path where `a` and `b` differ.
fn differences(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => differences(p, q, &format!("{path}.{k}"), out),
                    (Some(_), None) => out.push(format!("{path}.{k}: only in pipeline.yaml")),
                    (None, Some(_)) => out.push(format!("{path}.{k}: only in the JSON")),
                    (None, None) => unreachable!(),
                }
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: pipeline.yaml {a} != JSON {b}")),
        _ => {}
    }
}

fn as_list(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// A policy statement in a comparable form (Action and Resource as lists).
fn statement(s: &Json) -> Json {
    let mut m = s.as_object().expect("a statement is a mapping").clone();
    for key in ["Action", "Resource"] {
        if let Some(v) = m.get(key) {
            let list = as_list(v);
            m.insert(key.to_string(), Json::Array(list));
        }
    }
    Json::Object(m)
}

#[test]
fn custom_action_type_in_pipeline_yaml_is_identical_to_action_definition() {
    let t = template();
    let types = resources_of_type(&t, "AWS::CodePipeline::CustomActionType");
    assert_eq!(types.len(), 1, "exactly one custom action type");
    let from_yaml = camel_keys(&types[0].1["Properties"]);
    let from_json: Json =
        serde_json::from_str(&read("action-definition/custom-action.json")).expect("JSON parses");
    // The API shape of CreateCustomActionType: category, provider, version,
    // settings, configurationProperties, input/outputArtifactDetails.
    for key in [
        "category",
        "provider",
        "version",
        "settings",
        "configurationProperties",
        "inputArtifactDetails",
        "outputArtifactDetails",
    ] {
        assert!(from_json.get(key).is_some(), "the JSON has {key}");
    }
    let mut diff = Vec::new();
    differences(&from_yaml, &from_json, "", &mut diff);
    assert!(
        diff.is_empty(),
        "pipeline.yaml's PipelineCanaryActionType differs from action-definition/custom-action.json:\n{}",
        diff.join("\n")
    );
    assert_eq!(from_yaml, from_json);

    // The definition the worker embeds (and polls for) is that same file.
    let embedded = ActionTypeDefinition::embedded();
    assert_eq!(embedded.category, from_json["category"]);
    assert_eq!(embedded.provider, from_json["provider"]);
    assert_eq!(embedded.version, from_json["version"]);
}

#[test]
fn the_deploy_stage_uses_the_custom_action_with_every_required_property() {
    let t = template();
    let def: Json =
        serde_json::from_str(&read("action-definition/custom-action.json")).expect("JSON parses");
    let props = def["configurationProperties"].as_array().expect("array");
    let names: BTreeSet<&str> = props.iter().filter_map(|p| p["name"].as_str()).collect();
    let required: BTreeSet<&str> = props
        .iter()
        .filter(|p| p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();

    let pipeline = &resource(&t, "Pipeline")["Properties"];
    assert_eq!(pipeline["PipelineType"], "V2");
    let custom: Vec<&Json> = pipeline["Stages"]
        .as_array()
        .expect("Stages")
        .iter()
        .flat_map(|s| s["Actions"].as_array().expect("Actions").iter())
        .filter(|a| a["ActionTypeId"]["Owner"] == "Custom")
        .collect();
    assert_eq!(custom.len(), 1, "one action of ours");
    let action = custom[0];
    let id = &action["ActionTypeId"];
    assert_eq!(id["Category"], def["category"]);
    assert_eq!(id["Provider"], def["provider"]);
    assert_eq!(id["Version"], def["version"]);
    let config = action["Configuration"].as_object().expect("Configuration");
    for key in config.keys() {
        assert!(
            names.contains(key.as_str()),
            "Configuration.{key} is not a property of the action"
        );
    }
    for key in &required {
        assert!(config.contains_key(*key), "required property {key} unset");
    }
    assert_eq!(config["Stage"], json!({ "Ref": "Stage" }));
    assert_eq!(config["FunctionPrefix"], json!({ "Ref": "FunctionPrefix" }));
    // Values of a pipeline's action configuration are strings.
    assert!(config.values().all(|v| !v.is_number()), "{config:?}");

    // The source is GitHub through CodeConnections, as a CODE_ZIP.
    let source = &pipeline["Stages"][0]["Actions"][0];
    assert_eq!(
        source["ActionTypeId"]["Provider"],
        "CodeStarSourceConnection"
    );
    assert_eq!(source["Configuration"]["OutputArtifactFormat"], "CODE_ZIP");
}

#[test]
fn worker_policy_json_is_the_task_role_policy_and_grants_s3_only_on_the_ledger_and_no_kms() {
    let t = template();
    let role = &resource(&t, "WorkerTaskRole")["Properties"];
    assert!(
        role.get("ManagedPolicyArns").is_none(),
        "the task role has only the inline policy"
    );
    let policies = role["Policies"].as_array().expect("Policies");
    assert_eq!(policies.len(), 1);
    let in_template: Vec<Json> = policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(statement)
        .collect();
    let file: Json =
        serde_json::from_str(&read("iam/worker-policy.json")).expect("worker-policy.json parses");
    assert_eq!(file["Version"], "2012-10-17");
    assert_eq!(policies[0]["PolicyDocument"]["Version"], "2012-10-17");
    let in_file: Vec<Json> = file["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(statement)
        .collect();
    assert_eq!(
        in_template.len(),
        in_file.len(),
        "same number of statements"
    );
    for (a, b) in in_template.iter().zip(&in_file) {
        assert_eq!(a, b, "statement {} differs", a["Sid"]);
    }

    // Exactly the calls the worker makes, nothing else.
    let actions: BTreeSet<String> = in_file
        .iter()
        .flat_map(|s| as_list(&s["Action"]))
        .map(|a| a.as_str().expect("action is a string").to_string())
        .collect();
    let expected: BTreeSet<String> = [
        "codepipeline:PollForJobs",
        "codepipeline:AcknowledgeJob",
        "codepipeline:GetJobDetails",
        "codepipeline:PutJobSuccessResult",
        "codepipeline:PutJobFailureResult",
        "codepipeline:GetPipelineExecution",
        "codepipeline:ListActionTypes",
        "codepipeline:CreateCustomActionType",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:UpdateFunctionCode",
        "lambda:PublishVersion",
        "lambda:ListVersionsByFunction",
        "lambda:GetAlias",
        "lambda:CreateAlias",
        "lambda:UpdateAlias",
        "codedeploy:CreateApplication",
        "codedeploy:GetApplication",
        "codedeploy:CreateDeploymentGroup",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:UpdateDeploymentGroup",
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeployment",
        "codedeploy:BatchGetDeployments",
        "codedeploy:StopDeployment",
        "codedeploy:ListDeployments",
        "codedeploy:GetDeploymentConfig",
        "codedeploy:CreateDeploymentConfig",
        "codedeploy:GetDeploymentTarget",
        "iam:PassRole",
        "cloudwatch:DescribeAlarms",
        "lambda:ListAliases",
        "lambda:DeleteFunction",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(actions, expected);
    let ledger_objects = "arn:${AWS::Partition}:s3:::${LedgerBucket}/releases/*";
    for s in &in_file {
        for a in as_list(&s["Action"]) {
            let a = a.as_str().unwrap_or_default();
            let service = a.split(':').next().unwrap_or_default().to_ascii_lowercase();
            assert!(service != "kms", "{a} must not be granted");
            assert!(!a.contains('*'), "no wildcard actions: {a}");
            // S3 only on the ledger's prefix: never the artifact bucket.
            match a {
                "s3:GetObject" | "s3:PutObject" => {
                    assert_eq!(as_list(&s["Resource"]), vec![json!(ledger_objects)], "{a}")
                }
                "s3:ListBucket" => {
                    assert_eq!(
                        as_list(&s["Resource"]),
                        vec![json!("arn:${AWS::Partition}:s3:::${LedgerBucket}")]
                    );
                    assert_eq!(
                        s["Condition"],
                        json!({ "StringLike": { "s3:prefix": "releases/*" } })
                    );
                }
                // Versions only (function:name:version), never a whole function.
                "lambda:DeleteFunction" => assert_eq!(
                    as_list(&s["Resource"]),
                    vec![json!(
                        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionPrefix}*:*"
                    )]
                ),
                _ => assert!(service != "s3", "{a} must not be granted"),
            }
        }
    }

    // "*" only where IAM has no resource-level permission for the action.
    let star_only: BTreeSet<&str> = [
        "codepipeline:AcknowledgeJob",
        "codepipeline:GetJobDetails",
        "codepipeline:PutJobSuccessResult",
        "codepipeline:PutJobFailureResult",
        "codepipeline:ListActionTypes",
        "codedeploy:StopDeployment",
        "codedeploy:GetDeploymentTarget",
    ]
    .into_iter()
    .collect();
    let prefix_functions =
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionPrefix}*";
    for s in &in_file {
        assert_eq!(s["Effect"], "Allow");
        let resources = as_list(&s["Resource"]);
        for a in as_list(&s["Action"]) {
            let a = a.as_str().unwrap_or_default();
            if resources.contains(&json!("*")) {
                assert!(star_only.contains(a), "{a} is granted on \"*\"");
            }
            if matches!(
                a,
                "lambda:UpdateFunctionCode"
                    | "lambda:PublishVersion"
                    | "lambda:CreateAlias"
                    | "lambda:UpdateAlias"
            ) {
                assert_eq!(resources, vec![json!(prefix_functions)], "{a}");
            }
            if a == "codedeploy:CreateDeploymentConfig" {
                let r = resources[0].as_str().unwrap_or_default();
                assert!(
                    r.ends_with(&format!(":deploymentconfig:{CUSTOM_PREFIX}*")),
                    "the worker creates only {CUSTOM_PREFIX}* configs: {r}"
                );
            }
            if a == "iam:PassRole" {
                assert_eq!(resources, vec![json!("${CodeDeployServiceRole.Arn}")]);
                assert_eq!(
                    s["Condition"],
                    json!({ "StringEquals": { "iam:PassedToService": "codedeploy.amazonaws.com" } })
                );
            }
        }
    }
}

#[test]
fn the_ledger_bucket_is_versioned_encrypted_private_and_tls_only_and_the_worker_uses_it() {
    let t = template();
    let bucket = &resource(&t, "LedgerBucket")["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    assert!(sse["SSEAlgorithm"].is_string(), "{sse}");
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(bucket["PublicAccessBlockConfiguration"][k], true, "{k}");
    }
    let policy = &resource(&t, "LedgerBucketPolicy")["Properties"]["PolicyDocument"];
    assert!(
        policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
        "the ledger denies non-TLS access"
    );
    let command =
        &resource(&t, "WorkerTaskDefinition")["Properties"]["ContainerDefinitions"][0]["Command"];
    let args = command.as_array().expect("Command");
    let at = args
        .iter()
        .position(|a| a == "--ledger")
        .expect("the worker runs with --ledger");
    assert_eq!(args[at + 1], json!("s3://${LedgerBucket}/releases"));
}

#[test]
fn codedeploy_service_role_is_least_privilege_for_lambda() {
    let t = template();
    let role = &resource(&t, "CodeDeployServiceRole")["Properties"];
    assert!(role.get("ManagedPolicyArns").is_none());
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "codedeploy.amazonaws.com"
    );
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    let mut actions = BTreeSet::new();
    for s in statements {
        let resources = as_list(&s["Resource"]);
        assert!(!resources.contains(&json!("*")), "{s}");
        for a in as_list(&s["Action"]) {
            actions.insert(a.as_str().unwrap_or_default().to_string());
        }
    }
    let expected: BTreeSet<String> = [
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:GetProvisionedConcurrencyConfig",
        "lambda:InvokeFunction",
        "cloudwatch:DescribeAlarms",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(actions, expected);
}

#[test]
fn artifact_store_is_encrypted_versioned_private_and_tls_only() {
    let t = template();
    let bucket = &resource(&t, "ArtifactBucket")["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    assert_eq!(sse["SSEAlgorithm"], "aws:kms");
    assert_eq!(
        sse["KMSMasterKeyID"],
        json!({ "Fn::GetAtt": "ArtifactKey.Arn" })
    );
    let block = &bucket["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k], true, "{k}");
    }
    let policy = &resource(&t, "ArtifactBucketPolicy")["Properties"]["PolicyDocument"];
    let deny_plain_http = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .any(|s| {
            s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                && as_list(&s["Action"]).contains(&json!("s3:*"))
        });
    assert!(deny_plain_http, "the bucket policy denies non-TLS access");
    assert_eq!(
        resource(&t, "ArtifactKey")["Properties"]["EnableKeyRotation"],
        true
    );
    assert_eq!(
        resource(&t, "Pipeline")["Properties"]["ArtifactStore"]["EncryptionKey"]["Type"],
        "KMS"
    );
}

#[test]
fn example_manifest_is_valid_for_the_worker_and_its_alarms_exist_in_the_template() {
    let app = repo().join(EXAMPLE_APP);
    let text = read(&format!("{EXAMPLE_APP}/{}", manifest::NATIVE_MANIFEST));
    let doc: Json = serde_json::from_str(&text).expect("the example manifest is JSON");
    assert_eq!(doc["version"], 1);
    let functions = doc["functions"].as_array().expect("functions");
    let names: Vec<&str> = functions
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    let expected: Vec<String> = EXAMPLE_FUNCTIONS
        .iter()
        .map(|f| format!("collect-{f}"))
        .collect();
    assert_eq!(names, expected);
    for f in functions {
        let source = f["source"].as_str().expect("every function has a source");
        let dir = app.join(source);
        assert!(dir.is_dir(), "{} does not exist", dir.display());
        assert!(dir.join("handler.py").is_file(), "{source}/handler.py");
        assert!(
            !dir.join(".sim/behavior.json").exists(),
            "{source} ships a fault (.sim/behavior.json): the repository's code must be healthy"
        );
    }

    // The worker's own validation accepts it, with the action's prefix.
    let action = ActionDefaults {
        function_prefix: "collect-".to_string(),
        ..ActionDefaults::default()
    };
    let release = manifest::load(&app, None, &action)
        .unwrap_or_else(|e| panic!("the worker rejects the example manifest: {e}"));
    assert_eq!(release.functions.len(), EXAMPLE_FUNCTIONS.len());
    for f in &release.functions {
        assert_eq!(f.alias, "live");
        assert_eq!(f.alarms, vec![format!("{}-errors", f.name)]);
        let want = if f.name == "collect-quote-price" {
            "Canary10Percent5Minutes"
        } else {
            "Linear10PercentEvery1Minute"
        };
        assert_eq!(f.deployment_config.short_name(), want, "{}", f.name);
        match &f.bundle {
            Bundle::Source(dir) => assert!(dir.is_dir(), "{}", dir.display()),
            Bundle::Package(p) => panic!("{} is a prebuilt package {}", f.name, p.display()),
        }
    }

    // Each alarm the manifest names is an Errors alarm of pipeline.yaml on the
    // function's live alias (FunctionPrefix at its default, collect-).
    let t = template();
    let prefix = t["Parameters"]["FunctionPrefix"]["Default"]
        .as_str()
        .expect("FunctionPrefix default");
    assert_eq!(prefix, "collect-");
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    for f in &release.functions {
        let alarm_name = &f.alarms[0];
        let alarm = alarms
            .iter()
            .map(|(_, r)| &r["Properties"])
            .find(|p| {
                p["AlarmName"]
                    .as_str()
                    .map(|n| n.replace("${FunctionPrefix}", prefix))
                    == Some(alarm_name.clone())
            })
            .unwrap_or_else(|| panic!("pipeline.yaml creates no alarm {alarm_name}"));
        assert_eq!(alarm["Namespace"], "AWS/Lambda");
        assert_eq!(alarm["MetricName"], "Errors");
        let dims: Vec<(String, String)> = alarm["Dimensions"]
            .as_array()
            .expect("Dimensions")
            .iter()
            .map(|d| {
                (
                    d["Name"].as_str().unwrap_or_default().to_string(),
                    d["Value"]
                        .as_str()
                        .unwrap_or_default()
                        .replace("${FunctionPrefix}", prefix),
                )
            })
            .collect();
        assert_eq!(
            dims,
            vec![
                ("FunctionName".to_string(), f.name.clone()),
                ("Resource".to_string(), format!("{}:{}", f.name, f.alias)),
            ]
        );
    }
    assert_eq!(
        alarms.len(),
        EXAMPLE_FUNCTIONS.len(),
        "one alarm per function"
    );
}

#[test]
fn buildspec_writes_the_release_dir_the_demo_deploys() {
    let doc: Yaml = serde_yaml_ng::from_str(&read("buildspec.yml")).expect("buildspec.yml parses");
    let spec = to_json(&doc);
    assert_eq!(spec["version"], json!(0.2));
    assert_eq!(spec["artifacts"]["base-directory"], RELEASE_DIR);
    assert_eq!(spec["artifacts"]["files"], json!(["**/*"]));
    let build: Vec<&str> = spec["phases"]["build"]["commands"]
        .as_array()
        .expect("build commands")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(
        build.contains(&"cargo build --release --locked -p pipeline-canary --bin pipeline-canary"),
        "{build:?}"
    );
    let bundle = format!("target/release/pipeline-canary bundle {EXAMPLE_APP} --out {RELEASE_DIR}");
    assert!(build.contains(&bundle.as_str()), "{build:?}");

    // The CodeBuild project of pipeline.yaml runs this file in a Rust image.
    let t = template();
    let project = &resource(&t, "ReleaseBuild")["Properties"];
    assert_eq!(project["Source"]["BuildSpec"], "buildspec.yml");
    let image = project["Environment"]["Image"].as_str().expect("image");
    assert!(image.contains("/rust:"), "{image}");
    // The Deploy action reads the manifest the bundle step writes at the root.
    let deploy = resource(&t, "Pipeline")["Properties"]["Stages"]
        .as_array()
        .expect("Stages")
        .iter()
        .find(|s| s["Name"] == "Deploy")
        .expect("a Deploy stage");
    assert_eq!(
        deploy["Actions"][0]["Configuration"]["Manifest"],
        manifest::NATIVE_MANIFEST
    );
}

#[test]
fn worker_fleet_stops_within_the_workers_shutdown_grace() {
    let t = template();
    let worker_default = WorkerConfig::new(ActionTypeDefinition::embedded())
        .shutdown_grace
        .as_secs();
    let grace = &t["Parameters"]["ShutdownGraceSeconds"];
    assert_eq!(grace["Default"], json!(worker_default));

    // StopTimeout = grace + margin for every allowed grace, within Fargate's cap.
    let table = t["Mappings"]["ShutdownGrace"].as_object().expect("mapping");
    let allowed: BTreeSet<String> = grace["AllowedValues"]
        .as_array()
        .expect("AllowedValues")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(allowed, table.keys().cloned().collect());
    assert!(allowed.contains(&worker_default.to_string()));
    for (g, row) in table {
        let g: u64 = g.parse().expect("grace in seconds");
        let stop = row["StopTimeout"].as_u64().expect("StopTimeout");
        assert_eq!(stop, g + STOP_MARGIN_SECS, "grace {g}");
        assert!(stop <= FARGATE_MAX_STOP_TIMEOUT, "grace {g}");
    }

    let task = &resource(&t, "WorkerTaskDefinition")["Properties"];
    let container = &task["ContainerDefinitions"][0];
    assert_eq!(
        container["StopTimeout"],
        json!({ "Fn::FindInMap": ["ShutdownGrace", { "Ref": "ShutdownGraceSeconds" }, "StopTimeout"] })
    );
    let command = container["Command"].as_array().expect("Command");
    assert_eq!(command[0], "run");
    let after = |flag: &str| {
        let i = command
            .iter()
            .position(|c| c == flag)
            .unwrap_or_else(|| panic!("the worker runs without {flag}"));
        command[i + 1].clone()
    };
    assert_eq!(after("--stage"), json!({ "Ref": "Stage" }));
    assert_eq!(after("--shutdown-grace"), "${ShutdownGraceSeconds}s");
    assert_eq!(after("--log-format"), "json");
    assert_eq!(after("--metrics-listen"), "0.0.0.0:9090");
    let health = container["HealthCheck"]["Command"].to_string();
    assert!(health.contains("127.0.0.1:9090/healthz"), "{health}");
    assert_eq!(container["PortMappings"][0]["ContainerPort"], 9090);

    let service = &resource(&t, "WorkerService")["Properties"];
    let desired = &t["Parameters"]["DesiredCount"];
    assert!(desired["MinValue"].as_u64() >= Some(2));
    assert!(desired["Default"].as_u64() >= Some(2));
    let deployment = &service["DeploymentConfiguration"];
    assert_eq!(deployment["DeploymentCircuitBreaker"]["Enable"], true);
    assert_eq!(deployment["MinimumHealthyPercent"], 100);

    // The image runs the same binary, non-root, with the same health probe.
    let dockerfile = read("Dockerfile");
    for needle in [
        "cargo build --profile dist --locked -p pipeline-canary",
        "USER nonroot",
        "ENTRYPOINT [\"/usr/local/bin/pipeline-canary\"]",
        "CMD [\"run\"]",
        "HEALTHCHECK",
        "http://127.0.0.1:9090/healthz",
    ] {
        assert!(dockerfile.contains(needle), "the Dockerfile lacks {needle}");
    }
}
