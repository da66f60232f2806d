//! Serverless Framework support: reads the output of `serverless package`
//! (`.serverless/serverless-state.json` plus the zips next to it) as is, and
//! maps it onto the same draft as the native manifest, so a user of
//! serverless-plugin-canary-deployments points the action at their existing
//! build output and nothing else changes.
//!
//! `serverless-state.json` is `{"service": <the service object without
//! `serverless` and `package`>, "package": {"individually", "artifactDirectoryName",
//! "artifact"}}`. Exactly these fields are read; everything else (events,
//! resources other than alarms, layers, IAM, `provider.compiledCloudFormationTemplate`
//! other than alarms, plugin settings other than
//! those below) is ignored:
//!
//! - `service.service` — the service name (a string; or `{ "name": … }` /
//!   `service.serviceObject.name` in old versions).
//! - the stage: the one `package.artifactDirectoryName`
//!   (`serverless/<service>/<stage>/<time>`) names, which is what
//!   `--stage` packaged for (`service.provider.stage` keeps serverless.yml's
//!   value, default `dev`, whatever `--stage` said); without it,
//!   `service.provider.stage` (default `dev`). And `service.provider.region`.
//! - `service.functions.<key>` for every function, in key order:
//!   - `name` — the deployed function name; when absent,
//!     `<service>-<stage>-<key>` as the framework names it.
//!   - `image` — container-image functions are refused (zip packages only).
//!   - `provisionedConcurrency` — refused: the framework serves it from its
//!     own `provisioned` alias, which CloudFormation moves to each new
//!     version at once (the plugin's alias carries no provisioned
//!     concurrency); pipeline-canary moves no such alias.
//!   - `package.artifact` — the function's own zip when individually packaged
//!     (an absolute path on the build machine, or a path relative to the
//!     service): found in the artifact by its longest existing path suffix,
//!     e.g. `/codebuild/…/src/.serverless/quotePrice.zip` →
//!     `.serverless/quotePrice.zip`. S3 URLs are refused.
//!   - without it: the service zip `.serverless/<package.artifact>` from the
//!     top-level `package.artifact`, else `.serverless/<service>.zip`; with
//!     `package.individually` (service or function) `.serverless/<key>.zip`.
//!   - `deploymentSettings` (serverless-plugin-canary-deployments 0.8.0),
//!     as the plugin reads it: a function shifts only when it has the key
//!     at all; its settings are `custom.deploymentSettings` with the
//!     function's keys laid over them, key by key, a function's key
//!     replacing the global one whole (an `alarms` list is not merged):
//!     - `type` → deployment config (any spelling the native manifest
//!       accepts; the plugin prefixes `CodeDeployDefault.Lambda`);
//!     - `alias` → the alias to shift, its case kept (none: the action's
//!       `Alias`, where the plugin's template would not deploy);
//!     - `alarms` → alarm names: a string is, for the plugin, a
//!       CloudFormation logical ID (`Ref`), resolved through
//!       `service.resources.Resources`, the compiled template in the state
//!       and the packaged `.serverless/cloudformation-template-update-stack.json`
//!       to its literal `AlarmName`; a string that is no resource's logical
//!       ID is taken as the alarm name (pre-flight checks it exists); an
//!       object's `name` is the alarm name; a CloudFormation reference
//!       (`Ref`, `Fn::GetAtt`, `Fn::Sub`…) cannot be resolved and is an
//!       error naming it;
//!     - `preTrafficHook` / `postTrafficHook` → a function key of this service,
//!       resolved to its deployed name (or a Lambda ARN, kept as is).
//!   - `service.custom.deploymentSettings.stages` — when non-empty and
//!     without the stage, the plugin adds nothing to the stack: every
//!     function is code only.
//!   - A function without `deploymentSettings` is code only
//!     ([`super::FunctionRelease::code_only`]): the plugin gives it no
//!     alias and no deployment group; CloudFormation updates its code.
//!
//! Knows nothing about AWS; reads only the files it is pointed at.

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

use super::problems::{Collector, json_type};
use super::{
    At, DeploymentConfig, Draft, DraftBundle, DraftFunction, Hooks, Origin, SERVERLESS_TEMPLATE,
    check_alarm, check_alias, check_function_name, check_hook, relative_path,
};

/// Parses `serverless-state.json` of the service in `service_dir` (relative
/// to `root`, "" for the root itself).
pub(crate) fn parse(
    text: &str,
    root: &Path,
    service_dir: &str,
    state_file: &str,
    c: &mut Collector,
) -> Option<Draft> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            c.config(
                "(json)",
                format!(
                    "invalid JSON at line {}, column {}: re-run `serverless package`",
                    e.line(),
                    e.column()
                ),
            );
            return None;
        }
    };
    let Some(svc) = doc.get("service").and_then(Value::as_object) else {
        c.config(
            "service",
            "missing: this is not the output of `serverless package` (no `service` object)",
        );
        return None;
    };
    let service_name = match svc.get("service") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("name").and_then(Value::as_str).map(str::to_string),
        _ => svc
            .get("serviceObject")
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let Some(service_name) = service_name else {
        c.config("service.service", "missing: the service has no name");
        return None;
    };
    let provider = svc.get("provider").and_then(Value::as_object);
    // The stage packaged for: `--stage` is not written back into
    // `provider.stage` (that stays as serverless.yml says, default `dev`),
    // but it names the artifact directory, `serverless/<service>/<stage>/…`.
    let stage = doc
        .get("package")
        .and_then(|p| p.get("artifactDirectoryName"))
        .and_then(Value::as_str)
        .and_then(|d| packaged_stage(d, &service_name))
        .or_else(|| {
            provider
                .and_then(|p| p.get("stage"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "dev".to_string());
    let region = provider
        .and_then(|p| p.get("region"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let empty = Map::new();
    let global = match svc.get("custom").and_then(|c| c.get("deploymentSettings")) {
        None => &empty,
        Some(Value::Object(o)) => o,
        Some(other) => {
            c.config(
                "service.custom.deploymentSettings",
                format!("expected an object, found {}", json_type(other)),
            );
            &empty
        }
    };
    let stages_enabled = match global.get("stages") {
        Some(Value::Array(stages)) if !stages.is_empty() => {
            stages.iter().any(|s| s.as_str() == Some(stage.as_str()))
        }
        _ => true,
    };

    let mut resources: Vec<&Map<String, Value>> = Vec::new();
    if let Some(r) = svc
        .get("resources")
        .and_then(|r| r.get("Resources"))
        .and_then(Value::as_object)
    {
        resources.push(r);
    }
    if let Some(r) = provider
        .and_then(|p| p.get("compiledCloudFormationTemplate"))
        .and_then(|t| t.get("Resources"))
        .and_then(Value::as_object)
    {
        resources.push(r);
    }
    let packaged = packaged_template(root, service_dir, c);
    if let Some(r) = packaged
        .as_ref()
        .and_then(|t| t.get("Resources"))
        .and_then(Value::as_object)
    {
        resources.push(r);
    }

    let functions = match svc.get("functions") {
        Some(Value::Object(f)) if !f.is_empty() => f,
        Some(Value::Object(_)) | None | Some(Value::Null) => {
            c.config(
                "service.functions",
                "the service has no functions: nothing to release",
            );
            return None;
        }
        Some(other) => {
            c.config(
                "service.functions",
                format!("expected an object, found {}", json_type(other)),
            );
            return None;
        }
    };
    let deployed_name = |key: &str| -> String {
        functions
            .get(key)
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{service_name}-{stage}-{key}"))
    };

    let top_package = doc.get("package").and_then(Value::as_object);
    let individually = top_package
        .and_then(|p| p.get("individually"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let service_zip = top_package
        .and_then(|p| p.get("artifact"))
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{service_name}.zip"));

    let mut draft = Draft {
        origin: Some(Origin::Serverless {
            state_file: state_file.to_string(),
            service: service_name.clone(),
            stage: stage.clone(),
            region,
        }),
        ..Draft::default()
    };
    for (key, f) in functions {
        let path = format!("service.functions.{key}");
        let Some(fobj) = f.as_object() else {
            c.config(&path, format!("expected an object, found {}", json_type(f)));
            continue;
        };
        let mut df = DraftFunction {
            path: path.clone(),
            ..DraftFunction::default()
        };
        if fobj.contains_key("image") {
            c.config(
                format!("{path}.image"),
                "is a container-image function: pipeline-canary releases zip packages only",
            );
            continue;
        }
        if let Some(pc) = fobj
            .get("provisionedConcurrency")
            .filter(|v| !v.is_null() && v.as_u64() != Some(0))
        {
            c.config(
                format!("{path}.provisionedConcurrency"),
                format!(
                    "is {}: the Serverless Framework serves provisioned concurrency from its own `provisioned` alias, which CloudFormation moves to every new version at once (the canary plugin's alias carries none), and pipeline-canary moves no such alias: remove `provisionedConcurrency`, or configure provisioned concurrency on the canary alias in your stack",
                    compact(pc)
                ),
            );
            continue;
        }
        let name = deployed_name(key);
        match check_function_name(&name) {
            Ok(()) => {
                df.name = Some(At {
                    value: name,
                    path: format!("{path}.name"),
                })
            }
            Err(e) => c.config(format!("{path}.name"), e),
        }

        // The function's zip.
        let fn_package = fobj.get("package").and_then(Value::as_object);
        let own = fn_package
            .and_then(|p| p.get("artifact"))
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty());
        let fn_individually = fn_package
            .and_then(|p| p.get("individually"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (field, wanted) = match own {
            Some(a) => (format!("{path}.package.artifact"), a.to_string()),
            None if individually || fn_individually => {
                (format!("{path}.package"), format!(".serverless/{key}.zip"))
            }
            None => (
                "package.artifact".to_string(),
                format!(".serverless/{service_zip}"),
            ),
        };
        match find_artifact(root, service_dir, &wanted) {
            Ok(rel) => {
                df.bundle = Some(DraftBundle {
                    source: false,
                    rel,
                    path: field,
                })
            }
            Err(e) => c.config(field, e),
        }

        // deploymentSettings, merged over the global ones like the plugin:
        // the key's presence makes the function shift (`null`: the global
        // settings alone).
        let own_settings = match fobj.get("deploymentSettings") {
            None => None,
            Some(Value::Null) => Some(&empty),
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                c.config(
                    format!("{path}.deploymentSettings"),
                    format!("expected an object, found {}", json_type(other)),
                );
                df.config_invalid = true;
                None
            }
        };
        let Some(own_settings) = own_settings.filter(|_| stages_enabled) else {
            if !df.config_invalid {
                df.code_only = true;
            }
            draft.functions.push(df);
            continue;
        };
        let setting = |k: &str| -> Option<(&Value, String)> {
            own_settings
                .get(k)
                .map(|v| (v, format!("{path}.deploymentSettings.{k}")))
                .or_else(|| {
                    global
                        .get(k)
                        .map(|v| (v, format!("service.custom.deploymentSettings.{k}")))
                })
        };
        if let Some((v, p)) = setting("type") {
            match v {
                Value::String(s) => match DeploymentConfig::parse(s) {
                    Ok(cfg) => df.deployment_config = Some(cfg),
                    Err(e) => {
                        c.config(p, e);
                        df.config_invalid = true;
                    }
                },
                other => {
                    c.config(p, format!("expected a string, found {}", json_type(other)));
                    df.config_invalid = true;
                }
            }
        }
        if let Some((v, p)) = setting("alias") {
            df.alias = alias_value(v, &p, c);
            df.alias_invalid = df.alias.is_none();
        }
        if let Some((v, p)) = setting("alarms") {
            match v {
                Value::Array(items) => {
                    for (i, a) in items.iter().enumerate() {
                        if let Some(n) = alarm_name(a, &resources, &format!("{p}[{i}]"), c) {
                            df.alarms.push(n);
                        }
                    }
                }
                other => c.config(p, format!("expected an array, found {}", json_type(other))),
            }
        }
        let hook = |k: &str, c: &mut Collector| -> Option<String> {
            let (v, p) = setting(k)?;
            match v {
                Value::String(h) if functions.contains_key(h.as_str()) => Some(deployed_name(h)),
                Value::String(h) if h.starts_with("arn:") => match check_hook(h) {
                    Ok(()) => Some(h.clone()),
                    Err(e) => {
                        c.config(p, e);
                        None
                    }
                },
                Value::String(h) => {
                    c.config(
                        p,
                        format!(
                            "`{}` is not a function of service `{service_name}`: name a key under `functions`",
                            h.escape_debug()
                        ),
                    );
                    None
                }
                other => {
                    c.config(
                        p,
                        format!(
                            "`{}` is a CloudFormation reference pipeline-canary cannot resolve: name a function key of this service",
                            compact(other)
                        ),
                    );
                    None
                }
            }
        };
        df.hooks = Hooks {
            before_allow_traffic: hook("preTrafficHook", c),
            after_allow_traffic: hook("postTrafficHook", c),
        };
        draft.functions.push(df);
    }
    Some(draft)
}

/// The packaged CloudFormation template next to the state file, when the
/// artifact has it (alarm logical IDs resolve through it too).
fn packaged_template(root: &Path, service_dir: &str, c: &mut Collector) -> Option<Value> {
    let rel = if service_dir.is_empty() {
        SERVERLESS_TEMPLATE.to_string()
    } else {
        format!("{service_dir}/{SERVERLESS_TEMPLATE}")
    };
    let path = root.join(&rel);
    let meta = fs::symlink_metadata(&path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    if meta.len() > 64 * 1024 * 1024 {
        c.config(
            format!("({rel})"),
            "is larger than 64 MiB: this is not the template `serverless package` writes",
        );
        return None;
    }
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) => {
            c.config(format!("({rel})"), format!("cannot be read: {e}"));
            return None;
        }
    };
    match serde_json::from_slice(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            c.config(
                format!("({rel})"),
                format!(
                    "invalid JSON at line {}, column {}: re-run `serverless package`",
                    e.line(),
                    e.column()
                ),
            );
            None
        }
    }
}

fn alias_value(v: &Value, path: &str, c: &mut Collector) -> Option<At<String>> {
    match v {
        Value::String(a) => match check_alias(a) {
            Ok(()) => Some(At {
                value: a.clone(),
                path: path.to_string(),
            }),
            Err(e) => {
                c.config(path, e);
                None
            }
        },
        other => {
            c.config(
                path,
                format!("expected a string, found {}", json_type(other)),
            );
            None
        }
    }
}

/// An alarm entry of `deploymentSettings.alarms` → the alarm's name.
fn alarm_name(
    v: &Value,
    resources: &[&Map<String, Value>],
    path: &str,
    c: &mut Collector,
) -> Option<String> {
    let name = match v {
        Value::String(s) => {
            let resource = resources.iter().find_map(|r| r.get(s.as_str()));
            match resource {
                Some(r)
                    if r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm") =>
                {
                    match r.get("Properties").and_then(|p| p.get("AlarmName")) {
                        Some(Value::String(n)) => n.clone(),
                        _ => {
                            c.config(
                                path,
                                format!(
                                    "alarm `{}` is a CloudFormation logical ID whose AlarmName CloudFormation generates or computes: give the alarm a literal `AlarmName` in `resources`, or write `- name: <alarm name>`",
                                    s.escape_debug()
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(_) => {
                    c.config(
                        path,
                        format!(
                            "`{}` is a resource of this service but not an AWS::CloudWatch::Alarm: name an alarm",
                            s.escape_debug()
                        ),
                    );
                    return None;
                }
                None => s.clone(),
            }
        }
        Value::Object(o) => match o.get("name") {
            Some(Value::String(n)) => n.clone(),
            Some(other) => {
                c.config(
                    format!("{path}.name"),
                    format!(
                        "`{}` is a CloudFormation reference pipeline-canary cannot resolve: write the alarm's name",
                        compact(other)
                    ),
                );
                return None;
            }
            None => {
                c.config(
                    path,
                    format!(
                        "`{}` is a CloudFormation reference pipeline-canary cannot resolve: write the alarm's name (`- name: <alarm name>`)",
                        compact(v)
                    ),
                );
                return None;
            }
        },
        other => {
            c.config(
                path,
                format!("expected an alarm name, found {}", json_type(other)),
            );
            return None;
        }
    };
    match check_alarm(&name) {
        Ok(()) => Some(name),
        Err(e) => {
            c.config(path, e);
            None
        }
    }
}

/// Longest path of a file inside an artifact (a zip entry name's limit).
const MAX_ARTIFACT_PATH: usize = 4096;

/// Finds a zip named by the state file inside the artifact: a relative path
/// under the service directory, or the longest existing suffix of an
/// absolute build-machine path. Returns the path relative to the root.
fn find_artifact(root: &Path, service_dir: &str, wanted: &str) -> Result<String, String> {
    let shown = wanted.escape_debug().to_string();
    if wanted.starts_with("s3://")
        || wanted.starts_with("https://")
        || wanted.starts_with("http://")
    {
        return Err(format!(
            "`{shown}` is a remote artifact: pipeline-canary deploys zips inside the pipeline artifact; package the function locally"
        ));
    }
    let within = |rel: &str| -> String {
        if service_dir.is_empty() {
            rel.to_string()
        } else {
            format!("{service_dir}/{rel}")
        }
    };
    let is_file = |rel: &str| {
        fs::symlink_metadata(root.join(rel))
            .map(|m| m.file_type().is_file())
            .unwrap_or(false)
    };
    let unified = wanted.replace('\\', "/");
    let bytes = unified.as_bytes();
    let absolute = unified.starts_with('/')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
    if !absolute {
        let rel = relative_path(&unified).map_err(|why| {
            format!("`{shown}` {why}: the artifact path must stay inside the service directory")
        })?;
        let rel = within(&rel);
        return if is_file(&rel) {
            Ok(rel)
        } else {
            Err(format!(
                "`{shown}` is not in the artifact (looked for `{rel}`): include the `.serverless` directory of `serverless package` in the build output"
            ))
        };
    }
    let parts: Vec<&str> = unified
        .split('/')
        .filter(|p| !p.is_empty() && !p.ends_with(':'))
        .collect();
    // No path in an artifact is longer than a zip entry name may be (4096
    // bytes): start at the longest suffix that fits, so a path of thousands
    // of components costs linear time, not one join and stat per component.
    let mut first = 0;
    let mut len = parts.iter().map(|p| p.len() + 1).sum::<usize>() - 1; // joined
    while first < parts.len() && len > MAX_ARTIFACT_PATH {
        len = len.saturating_sub(parts[first].len() + 1);
        first += 1;
    }
    for i in first..parts.len() {
        let suffix = parts[i..].join("/");
        let Ok(rel) = relative_path(&suffix) else {
            continue;
        };
        let rel = within(&rel);
        if is_file(&rel) {
            return Ok(rel);
        }
    }
    Err(format!(
        "`{shown}` is not in the artifact (looked for `{}` and every shorter suffix): include the `.serverless` directory of `serverless package` in the build output",
        within(parts.last().copied().unwrap_or(""))
    ))
}

/// A JSON value on one line, cut at 120 characters.
fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        s.chars().take(119).collect::<String>() + "…"
    } else {
        s
    }
}

/// The stage in an artifact directory name `serverless/<service>/<stage>/<time>`.
fn packaged_stage(dir: &str, service: &str) -> Option<String> {
    let mut parts = dir.split('/');
    if parts.next()? != "serverless" || parts.next()? != service {
        return None;
    }
    let stage = parts.next()?;
    (!stage.is_empty() && parts.next().is_some()).then(|| stage.to_string())
}
