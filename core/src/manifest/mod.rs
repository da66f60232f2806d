//! The release manifest: what a pipeline artifact asks to release, read from
//! the native `pipeline-canary.json` or from the Serverless Framework's
//! `serverless package` output, validated completely (every problem found,
//! reported together, each naming its JSON path and the fix) and resolved
//! into one typed [`Release`] — the input of release planning.
//!
//! Precedence of settings: action configuration < manifest defaults <
//! function. Checks here need no AWS: JSON shape, names, `FunctionPrefix`,
//! duplicates, ≤ 10 alarms per function, bundle paths inside the artifact,
//! deployment configs. Whether functions, alarms and hooks exist is checked
//! later against AWS by the planner. This module knows nothing about AWS
//! clients, tokio or jobs; the runtime calls [`load`] via `spawn_blocking`.

mod config;
mod native;
mod problems;
mod serverless;

#[cfg(test)]
mod tests;

pub use config::{
    CUSTOM_PREFIX, DeploymentConfig, MAX_SCHEDULE_MINUTES, MAX_STEPS, PREDEFINED_PREFIX,
    StepSchedule, human_duration, parse_duration,
};
pub use problems::{MAX_MESSAGE_CHARS, ManifestErrors, Problem, ProblemKind};

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use problems::Collector;

/// Default manifest file name at the artifact root.
pub const NATIVE_MANIFEST: &str = "pipeline-canary.json";
/// Where `serverless package` leaves its state, relative to the service.
pub const SERVERLESS_STATE: &str = ".serverless/serverless-state.json";
/// The CloudFormation template `serverless package` writes, relative to
/// the service.
pub const SERVERLESS_TEMPLATE: &str = ".serverless/cloudformation-template-update-stack.json";
/// CodeDeploy's limit on alarms per deployment group, as we design for it.
pub const MAX_ALARMS_PER_FUNCTION: usize = 10;
/// The manifest version this worker reads.
pub const MANIFEST_VERSION: u64 = 1;

/// The action's `Alias` when it sets none (the action definition, the
/// README and `--help` document it).
pub const DEFAULT_ALIAS: &str = "live";
/// The action's `DeploymentConfig` when it sets none (documented likewise).
pub const DEFAULT_DEPLOYMENT_CONFIG: &str = "Linear10PercentEvery1Minute";

/// What the action configuration contributes (the lowest precedence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionDefaults {
    /// Every released function's name must start with this (`FunctionPrefix`).
    pub function_prefix: String,
    /// Alias to shift when neither manifest nor function names one.
    pub alias: Option<String>,
    /// Deployment config (any accepted spelling) when none is given.
    pub deployment_config: Option<String>,
    /// Alarms guarding every function when the manifest has no `defaults.alarms`.
    pub alarms: Vec<String>,
}

impl ActionDefaults {
    /// The action's properties as configured (empty = not set), with the
    /// documented defaults filled in: `Alias` [`DEFAULT_ALIAS`],
    /// `DeploymentConfig` [`DEFAULT_DEPLOYMENT_CONFIG`].
    pub fn of(
        function_prefix: &str,
        alias: Option<&str>,
        deployment_config: Option<&str>,
        alarms: Vec<String>,
    ) -> ActionDefaults {
        let set = |v: Option<&str>, default: &str| {
            v.map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        ActionDefaults {
            function_prefix: function_prefix.to_string(),
            alias: Some(set(alias, DEFAULT_ALIAS)),
            deployment_config: Some(set(deployment_config, DEFAULT_DEPLOYMENT_CONFIG)),
            alarms,
        }
    }
}

/// A release: every function to release, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub origin: Origin,
    /// In manifest order (native) or in `functions` key order (Serverless).
    pub functions: Vec<FunctionRelease>,
    pub break_glass: Option<BreakGlass>,
}

/// Where the release came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A native manifest, path relative to the artifact root.
    Native { manifest: String },
    /// `serverless package` output.
    Serverless {
        state_file: String,
        service: String,
        stage: String,
        region: Option<String>,
    },
}

/// One function of a release.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRelease {
    /// Lambda function name as deployed.
    pub name: String,
    pub bundle: Bundle,
    /// The alias CodeDeploy shifts.
    pub alias: String,
    pub deployment_config: DeploymentConfig,
    /// Alarm names guarding the shift (defaults then the function's own,
    /// without duplicates; at most 10).
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    /// Code only: the function's code is updated and a version published,
    /// but no alias is created or moved and nothing shifts (Serverless
    /// functions without `deploymentSettings`, as the canary plugin leaves
    /// them: their event sources invoke the function unqualified). `alias`
    /// is empty, `deployment_config` AllAtOnce, no alarms, no hooks. The
    /// function is part of the release's all-or-nothing rule: a release
    /// that rolls back puts its previous version's code back.
    pub code_only: bool,
    /// Canary-versus-baseline analysis (`analysis`, the function's or
    /// `defaults`'), checked with `AnalysisSettings::validate`.
    pub analysis: Option<crate::canary::analysis::AnalysisSettings>,
}

/// The code of a function, inside the unpacked artifact (absolute paths).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bundle {
    /// A prebuilt zip, uploaded byte-for-byte.
    Package(PathBuf),
    /// A directory the worker packages deterministically.
    Source(PathBuf),
}

/// CodeDeploy lifecycle hook functions (names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    pub before_allow_traffic: Option<String>,
    pub after_allow_traffic: Option<String>,
}

/// `"breakGlass": {"reason": "…"}`: release with AllAtOnce and an alarm
/// override (applied by the orchestration); the reason goes into every
/// deployment description and the job summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub reason: String,
}

/// Reads, validates and resolves the release manifest of an unpacked
/// artifact.
///
/// `manifest_path` is the action's `Manifest` property (relative to the
/// artifact root). Without it: `pipeline-canary.json` at the root if present,
/// else `.serverless/serverless-state.json`. A path whose file name is
/// `serverless-state.json` is read as Serverless Framework output of the
/// service two directories up (e.g. `api/.serverless/serverless-state.json`).
pub fn load(
    artifact_root: &Path,
    manifest_path: Option<&str>,
    action: &ActionDefaults,
) -> Result<Release, ManifestErrors> {
    let (source, kind) = match locate(artifact_root, manifest_path) {
        Ok(found) => found,
        Err((source, message)) => {
            let mut c = Collector::default();
            c.config("(manifest)", message);
            return Err(ManifestErrors {
                source,
                problems: c.problems,
            });
        }
    };
    let mut c = Collector::default();
    let draft = match kind {
        Kind::Native => read_capped(&artifact_root.join(&source), 1024 * 1024, &mut c)
            .and_then(|text| native::parse(&text, &mut c))
            .map(|mut d| {
                d.origin = Some(native::origin(&source));
                d
            }),
        Kind::Serverless { service_dir } => {
            read_capped(&artifact_root.join(&source), 64 * 1024 * 1024, &mut c).and_then(|text| {
                serverless::parse(&text, artifact_root, &service_dir, &source, &mut c)
            })
        }
    };
    let release = draft.map(|d| resolve(artifact_root, d, action, &mut c));
    match release {
        Some(r) if c.is_empty() => Ok(r),
        _ => {
            let mut problems = c.problems;
            // Group by function, in document order; stable within a function.
            problems.sort_by_cached_key(|p| order_key(&p.path));
            Err(ManifestErrors { source, problems })
        }
    }
}

/// Sort key of a problem path: file-level and action problems first, then
/// top-level keys, then functions by index (native) or key (Serverless).
fn order_key(path: &str) -> (u8, u64, String) {
    if path.starts_with('(') {
        return (0, 0, String::new());
    }
    if let Some(rest) = path.strip_prefix("functions[")
        && let Some((n, _)) = rest.split_once(']')
        && let Ok(n) = n.parse::<u64>()
    {
        return (2, n, String::new());
    }
    if let Some(rest) = path.strip_prefix("service.functions.") {
        let key = rest.split('.').next().unwrap_or(rest);
        return (3, 0, key.to_string());
    }
    (1, 0, String::new())
}

enum Kind {
    Native,
    /// Service directory relative to the artifact root ("" for the root).
    Serverless {
        service_dir: String,
    },
}

fn locate(root: &Path, manifest_path: Option<&str>) -> Result<(String, Kind), (String, String)> {
    let Some(path) = manifest_path.filter(|p| !p.trim().is_empty()) else {
        if is_file(&root.join(NATIVE_MANIFEST)) {
            return Ok((NATIVE_MANIFEST.to_string(), Kind::Native));
        }
        if is_file(&root.join(SERVERLESS_STATE)) {
            return Ok((
                SERVERLESS_STATE.to_string(),
                Kind::Serverless {
                    service_dir: String::new(),
                },
            ));
        }
        return Err((
            NATIVE_MANIFEST.to_string(),
            format!(
                "the artifact has neither `{NATIVE_MANIFEST}` at its root nor `{SERVERLESS_STATE}` (the output of `serverless package`): add a manifest, or set the action's `Manifest` property to its path"
            ),
        ));
    };
    let rel = match relative_path(path) {
        Ok(rel) => rel,
        Err(why) => {
            return Err((
                path.to_string(),
                format!(
                    "the action's `Manifest` property `{path}` {why}: give a path relative to the artifact root"
                ),
            ));
        }
    };
    if !is_file(&root.join(&rel)) {
        return Err((
            rel.clone(),
            format!(
                "`{rel}` (the action's `Manifest` property) is not a file in the artifact: fix the property or add the file"
            ),
        ));
    }
    if rel == "serverless-state.json" || rel.ends_with("/serverless-state.json") {
        // <service>/.serverless/serverless-state.json → <service>
        let parts: Vec<&str> = rel.split('/').collect();
        let service_dir = if parts.len() >= 2 && parts[parts.len() - 2] == ".serverless" {
            parts[..parts.len() - 2].join("/")
        } else {
            parts[..parts.len() - 1].join("/")
        };
        return Ok((rel, Kind::Serverless { service_dir }));
    }
    Ok((rel, Kind::Native))
}

fn is_file(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.file_type().is_file())
        .unwrap_or(false)
}

fn read_capped(path: &Path, cap: u64, c: &mut Collector) -> Option<String> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            c.config("(manifest)", format!("cannot be read: {e}"));
            return None;
        }
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(cap + 1).read_to_end(&mut bytes) {
        c.config("(manifest)", format!("cannot be read: {e}"));
        return None;
    }
    if bytes.len() as u64 > cap {
        c.config(
            "(manifest)",
            format!("is larger than {cap} bytes: this is not a release manifest"),
        );
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(_) => {
            c.config("(manifest)", "is not UTF-8 text: save it as UTF-8 JSON");
            None
        }
    }
}

/// `path` as a safe `/`-separated relative path inside the artifact, or why not.
pub(crate) fn relative_path(path: &str) -> Result<String, &'static str> {
    crate::artifact::safe_relative_path(path)
}

// ---------------------------------------------------------------------------
// The format-independent draft both readers produce, and its resolution.

/// A setting and the JSON path it came from.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub value: T,
    pub path: String,
}

#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub alias: Option<At<String>>,
    pub deployment_config: Option<DeploymentConfig>,
    /// `Some` when the manifest has its own default alarm list.
    pub alarms: Option<Vec<String>>,
    pub functions: Vec<DraftFunction>,
    pub analysis: Option<crate::canary::analysis::AnalysisSettings>,
    pub break_glass: Option<BreakGlass>,
    pub origin: Option<Origin>,
    /// True when a default setting was present but invalid (already reported).
    pub defaults_invalid: bool,
}

#[derive(Debug, Default)]
pub(crate) struct DraftFunction {
    /// JSON path of the function object, e.g. `functions[2]`.
    pub path: String,
    pub name: Option<At<String>>,
    pub bundle: Option<DraftBundle>,
    pub alias: Option<At<String>>,
    pub deployment_config: Option<DeploymentConfig>,
    pub alarms: Vec<String>,
    pub hooks: Hooks,
    pub analysis: Option<crate::canary::analysis::AnalysisSettings>,
    /// Settings that were present but invalid (already reported): no
    /// second "missing" problem for them.
    pub config_invalid: bool,
    pub alias_invalid: bool,
    /// See [`FunctionRelease::code_only`].
    pub code_only: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct DraftBundle {
    pub source: bool,
    /// Relative to the artifact root, already checked by `relative_path`.
    pub rel: String,
    pub path: String,
}

fn resolve(root: &Path, draft: Draft, action: &ActionDefaults, c: &mut Collector) -> Release {
    let action_config = action.deployment_config.as_deref().and_then(|text| {
        DeploymentConfig::parse(text)
            .map_err(|e| c.config("(action) DeploymentConfig", e))
            .ok()
    });
    let action_alias = action.alias.as_ref().and_then(|a| {
        check_alias(a)
            .map_err(|e| c.config("(action) Alias", e))
            .ok()
            .map(|()| a.clone())
    });
    for (i, a) in action.alarms.iter().enumerate() {
        if let Err(e) = check_alarm(a) {
            c.config(format!("(action) Alarms[{i}]"), e);
        }
    }
    let default_alarms = draft
        .alarms
        .clone()
        .unwrap_or_else(|| action.alarms.clone());

    let mut seen: HashMap<String, String> = HashMap::new();
    let mut functions = Vec::with_capacity(draft.functions.len());
    for f in draft.functions {
        let name = f.name.as_ref().map(|n| n.value.clone());
        if let Some(n) = &f.name {
            if let Some(first) = seen.get(&n.value) {
                c.config(
                    &n.path,
                    format!(
                        "function `{}` is already released by {first}: list each function once",
                        n.value
                    ),
                );
            } else {
                seen.insert(n.value.clone(), f.path.clone());
            }
            if !n.value.starts_with(&action.function_prefix) {
                c.permission(
                    &n.path,
                    format!(
                        "function `{}` is outside this action's FunctionPrefix `{}`: rename it, or release it from a pipeline whose action covers it",
                        n.value, action.function_prefix
                    ),
                );
            }
        }
        let bundle = f.bundle.as_ref().and_then(|b| check_bundle(root, b, c));
        if f.code_only {
            if let (Some(name), Some(bundle)) = (name, bundle) {
                functions.push(FunctionRelease {
                    name,
                    bundle,
                    alias: String::new(),
                    deployment_config: DeploymentConfig::AllAtOnce,
                    alarms: Vec::new(),
                    hooks: Hooks::default(),
                    code_only: true,
                    analysis: None,
                });
            }
            continue;
        }
        let alias = f
            .alias
            .map(|a| a.value)
            .or_else(|| draft.alias.as_ref().map(|a| a.value.clone()))
            .or_else(|| action_alias.clone());
        if alias.is_none() && !f.alias_invalid && !draft.defaults_invalid {
            c.config(
                format!("{}.alias", f.path),
                "no alias to shift: set `defaults.alias` in the manifest (Serverless: `custom.deploymentSettings.alias`) or the action's Alias property",
            );
        }
        let deployment_config = f
            .deployment_config
            .or(draft.deployment_config)
            .or(action_config);
        if deployment_config.is_none()
            && !f.config_invalid
            && !draft.defaults_invalid
            && action.deployment_config.is_none()
        {
            c.config(
                format!("{}.deploymentConfig", f.path),
                "no deployment config: set `deploymentConfig` here, `defaults.deploymentConfig`, or the action's DeploymentConfig property",
            );
        }
        let mut alarms: Vec<String> = Vec::new();
        let mut unique = BTreeSet::new();
        for a in default_alarms.iter().chain(&f.alarms) {
            if unique.insert(a.clone()) {
                alarms.push(a.clone());
            }
        }
        if alarms.len() > MAX_ALARMS_PER_FUNCTION {
            c.config(
                format!("{}.alarms", f.path),
                format!(
                    "function `{}` would be guarded by {} alarms (defaults and its own, without duplicates); CodeDeploy allows at most {MAX_ALARMS_PER_FUNCTION} per deployment group: remove some or combine them into a composite alarm",
                    name.as_deref().unwrap_or("?"),
                    alarms.len()
                ),
            );
        }
        if deployment_config.is_some_and(|c| c.is_worker_driven())
            && (f.hooks.before_allow_traffic.is_some() || f.hooks.after_allow_traffic.is_some())
        {
            c.config(
                format!("{}.hooks", f.path),
                "lifecycle hooks run only in CodeDeploy's shifts (CodeDeploy invokes them with a deployment id to answer through PutLifecycleEventHookExecutionStatus); a schedule the worker drives (`steps`) has none: remove `hooks`, or use a CodeDeploy config such as `Canary10Percent5Minutes`",
            );
        }
        let analysis = f.analysis.or(draft.analysis);
        if let (Some(name), Some(bundle), Some(alias), Some(deployment_config)) =
            (name, bundle, alias, deployment_config)
        {
            functions.push(FunctionRelease {
                name,
                bundle,
                alias,
                deployment_config,
                alarms,
                hooks: f.hooks,
                code_only: false,
                analysis,
            });
        }
    }
    Release {
        origin: draft.origin.unwrap_or(Origin::Native {
            manifest: NATIVE_MANIFEST.to_string(),
        }),
        functions,
        break_glass: draft.break_glass,
    }
}

fn check_bundle(root: &Path, b: &DraftBundle, c: &mut Collector) -> Option<Bundle> {
    let abs = root.join(&b.rel);
    let meta = fs::symlink_metadata(&abs).ok();
    match (b.source, meta) {
        (false, Some(m)) if m.file_type().is_file() => Some(Bundle::Package(abs)),
        (true, Some(m)) if m.file_type().is_dir() => Some(Bundle::Source(abs)),
        (false, Some(_)) => {
            c.config(
                &b.path,
                format!("`{}` is not a file: `package` must name a zip", b.rel),
            );
            None
        }
        (true, Some(_)) => {
            c.config(
                &b.path,
                format!(
                    "`{}` is not a directory: `source` must name a directory (use `package` for a zip)",
                    b.rel
                ),
            );
            None
        }
        (_, None) => {
            c.config(
                &b.path,
                format!(
                    "`{}` is not in the artifact: build it before this stage or fix the path",
                    b.rel
                ),
            );
            None
        }
    }
}

/// Lambda function names: 1–64 of `[A-Za-z0-9_-]`.
pub(crate) fn check_function_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "`{}` is not a Lambda function name: use 1–64 letters, digits, `-` or `_`",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Hook functions: a name, or a Lambda function ARN.
pub(crate) fn check_hook(name: &str) -> Result<(), String> {
    if let Some(rest) = name.strip_prefix("arn:") {
        if rest.contains(":lambda:") && rest.contains(":function:") && name.len() <= 170 {
            return Ok(());
        }
        return Err(format!(
            "`{}` is not a Lambda function ARN: use the hook function's name",
            name.escape_debug()
        ));
    }
    check_function_name(name)
}

/// Lambda alias names: 1–128 of `[A-Za-z0-9_-]`, not only digits.
pub(crate) fn check_alias(alias: &str) -> Result<(), String> {
    let ok = !alias.is_empty()
        && alias.len() <= 128
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !alias.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a Lambda alias name: use 1–128 letters, digits, `-` or `_`, not only digits",
            alias.escape_debug()
        ))
    }
}

/// CloudWatch alarm names: 1–255 characters, no control characters.
pub(crate) fn check_alarm(alarm: &str) -> Result<(), String> {
    if alarm.trim().is_empty() || alarm.chars().count() > 255 || alarm.chars().any(char::is_control)
    {
        return Err(format!(
            "`{}` is not a CloudWatch alarm name: use 1–255 printable characters",
            alarm.escape_debug()
        ));
    }
    Ok(())
}
