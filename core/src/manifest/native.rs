//! The native manifest, `pipeline-canary.json` (version 1):
//!
//! ```json
//! { "version": 1,
//!   "defaults": { "alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute",
//!                 "alarms": ["collect-5xx"] },
//!   "functions": [
//!     { "name": "collect-create-pickup", "package": "dist/create-pickup.zip" },
//!     { "name": "collect-quote-price", "source": "functions/quote-price",
//!       "alias": "live", "deploymentConfig": "Canary10Percent5Minutes",
//!       "alarms": ["collect-quote-price-errors"],
//!       "hooks": { "beforeAllowTraffic": "CodeDeployHook_smoke",
//!                  "afterAllowTraffic": "CodeDeployHook_verify" } } ],
//!   "breakGlass": { "reason": "hotfix for INC-1234" } }
//! ```
//!
//! JSON syntax is parsed by serde_json; the schema is checked by walking the
//! value so that *every* problem is collected in one pass (serde's derive,
//! even with `deny_unknown_fields`, stops at the first) and each one names
//! its path, e.g. `functions[2].deploymentConfg: unknown key; did you mean
//! `deploymentConfig`?`. Unknown keys are rejected everywhere except
//! `$schema` at the top. Knows nothing about AWS or files beyond the text.

use serde_json::{Map, Value};

use super::problems::{Collector, json_type, unknown_key};
use super::{
    At, BreakGlass, DeploymentConfig, Draft, DraftBundle, DraftFunction, Hooks, MANIFEST_VERSION,
    Origin, check_alarm, check_alias, check_function_name, check_hook, relative_path,
};

const TOP_KEYS: &[&str] = &["version", "defaults", "functions", "breakGlass", "$schema"];
const DEFAULT_KEYS: &[&str] = &["alias", "deploymentConfig", "alarms", "analysis"];
const FUNCTION_KEYS: &[&str] = &[
    "name",
    "package",
    "source",
    "alias",
    "deploymentConfig",
    "alarms",
    "hooks",
    "analysis",
];
const HOOK_KEYS: &[&str] = &["beforeAllowTraffic", "afterAllowTraffic"];
const BREAK_GLASS_KEYS: &[&str] = &["reason"];
/// Longest break-glass reason (it goes into every deployment description).
pub(crate) const MAX_REASON_CHARS: usize = 200;

/// Parses the manifest text into a draft; `None` when nothing usable is left.
pub(crate) fn parse(text: &str, c: &mut Collector) -> Option<Draft> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            c.config(
                "(json)",
                format!(
                    "invalid JSON at line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    strip_position(&e.to_string())
                ),
            );
            return None;
        }
    };
    let Some(top) = doc.as_object() else {
        c.config(
            "(json)",
            format!(
                "the manifest must be a JSON object, found {}",
                json_type(&doc)
            ),
        );
        return None;
    };
    check_keys(top, TOP_KEYS, "", c);

    match top.get("version") {
        None => c.config(
            "version",
            format!("missing; add \"version\": {MANIFEST_VERSION}"),
        ),
        Some(v) if v.as_u64() == Some(MANIFEST_VERSION) => {}
        Some(v) if v.is_u64() => c.config(
            "version",
            format!(
                "this worker reads manifest version {MANIFEST_VERSION}; this manifest is version {v}: write version {MANIFEST_VERSION} or upgrade pipeline-canary"
            ),
        ),
        Some(v) => c.config(
            "version",
            format!(
                "expected the number {MANIFEST_VERSION}, found {}",
                json_type(v)
            ),
        ),
    }

    let mut draft = Draft {
        origin: None,
        ..Draft::default()
    };
    if let Some(d) = top.get("defaults") {
        match d.as_object() {
            Some(d) => {
                check_keys(d, DEFAULT_KEYS, "defaults", c);
                let before = c.problems.len();
                draft.alias = alias_at(d, "defaults", c);
                draft.deployment_config = config_at(d, "defaults", c);
                draft.analysis = analysis_at(d, "defaults", c);
                draft.alarms = alarms_at(d, "defaults", c);
                draft.defaults_invalid = c.problems.len() > before;
            }
            None => {
                c.config("defaults", expected("an object", d));
                draft.defaults_invalid = true;
            }
        }
    }

    match top.get("functions") {
        None => c.config(
            "functions",
            "missing; list the functions to release: \"functions\": [{\"name\": …, \"package\": …}]",
        ),
        Some(Value::Array(list)) if list.is_empty() => c.config(
            "functions",
            "is empty: list at least one function to release",
        ),
        Some(Value::Array(list)) => {
            for (i, f) in list.iter().enumerate() {
                let path = format!("functions[{i}]");
                match f.as_object() {
                    Some(obj) => draft.functions.push(function(obj, &path, c)),
                    None => c.config(&path, expected("an object", f)),
                }
            }
        }
        Some(other) => c.config("functions", expected("an array", other)),
    }

    if let Some(b) = top.get("breakGlass") {
        match b.as_object() {
            Some(obj) => {
                check_keys(obj, BREAK_GLASS_KEYS, "breakGlass", c);
                match obj.get("reason") {
                    None => c.config(
                        "breakGlass.reason",
                        "missing: break-glass releases need a reason (it goes into every deployment description)",
                    ),
                    Some(Value::String(r)) if r.trim().is_empty() => c.config(
                        "breakGlass.reason",
                        "is empty: say why this release skips the canary",
                    ),
                    Some(Value::String(r)) if r.chars().count() > MAX_REASON_CHARS => c.config(
                        "breakGlass.reason",
                        format!("is longer than {MAX_REASON_CHARS} characters: shorten it"),
                    ),
                    Some(Value::String(r)) if r.chars().any(char::is_control) => c.config(
                        "breakGlass.reason",
                        "contains control characters (newlines, tabs…): write one line",
                    ),
                    Some(Value::String(r)) => {
                        draft.break_glass = Some(BreakGlass {
                            reason: r.trim().to_string(),
                        })
                    }
                    Some(other) => c.config("breakGlass.reason", expected("a string", other)),
                }
            }
            None => c.config("breakGlass", expected("an object", b)),
        }
    }
    Some(draft)
}

fn function(obj: &Map<String, Value>, path: &str, c: &mut Collector) -> DraftFunction {
    check_keys(obj, FUNCTION_KEYS, path, c);
    let mut f = DraftFunction {
        path: path.to_string(),
        ..DraftFunction::default()
    };
    match obj.get("name") {
        None => c.config(
            format!("{path}.name"),
            "missing: every function needs the Lambda function `name`",
        ),
        Some(Value::String(n)) => match check_function_name(n) {
            Ok(()) => {
                f.name = Some(At {
                    value: n.clone(),
                    path: format!("{path}.name"),
                })
            }
            Err(e) => c.config(format!("{path}.name"), e),
        },
        Some(other) => c.config(format!("{path}.name"), expected("a string", other)),
    }

    let package = obj.get("package");
    let source = obj.get("source");
    match (package, source) {
        (Some(_), Some(_)) => c.config(
            path,
            "has both `package` and `source`: keep `package` for a prebuilt zip or `source` for a directory to package",
        ),
        (None, None) => c.config(
            path,
            "needs `package` (a prebuilt zip) or `source` (a directory the worker packages)",
        ),
        (Some(v), None) => f.bundle = bundle(v, false, &format!("{path}.package"), c),
        (None, Some(v)) => f.bundle = bundle(v, true, &format!("{path}.source"), c),
    }

    let before = c.problems.len();
    f.alias = alias_at(obj, path, c);
    f.alias_invalid = c.problems.len() > before;
    let before = c.problems.len();
    f.deployment_config = config_at(obj, path, c);
    f.analysis = analysis_at(obj, path, c);
    f.config_invalid = c.problems.len() > before;
    f.alarms = alarms_at(obj, path, c).unwrap_or_default();

    if let Some(h) = obj.get("hooks") {
        let hp = format!("{path}.hooks");
        match h.as_object() {
            Some(hooks) => {
                check_keys(hooks, HOOK_KEYS, &hp, c);
                f.hooks = Hooks {
                    before_allow_traffic: hook_at(hooks, "beforeAllowTraffic", &hp, c),
                    after_allow_traffic: hook_at(hooks, "afterAllowTraffic", &hp, c),
                };
            }
            None => c.config(hp, expected("an object", h)),
        }
    }
    f
}

fn bundle(v: &Value, source: bool, path: &str, c: &mut Collector) -> Option<DraftBundle> {
    let Value::String(p) = v else {
        c.config(path, expected("a string (a path in the artifact)", v));
        return None;
    };
    match relative_path(p) {
        Ok(rel) => Some(DraftBundle {
            source,
            rel,
            path: path.to_string(),
        }),
        Err(why) => {
            c.config(
                path,
                format!(
                    "`{}` {why}: give a path relative to the artifact root, inside it",
                    p.escape_debug()
                ),
            );
            None
        }
    }
}

fn alias_at(obj: &Map<String, Value>, path: &str, c: &mut Collector) -> Option<At<String>> {
    let p = join(path, "alias");
    match obj.get("alias")? {
        Value::String(a) => match check_alias(a) {
            Ok(()) => Some(At {
                value: a.clone(),
                path: p,
            }),
            Err(e) => {
                c.config(p, e);
                None
            }
        },
        other => {
            c.config(p, expected("a string", other));
            None
        }
    }
}

fn config_at(obj: &Map<String, Value>, path: &str, c: &mut Collector) -> Option<DeploymentConfig> {
    let p = join(path, "deploymentConfig");
    match obj.get("deploymentConfig")? {
        Value::String(s) => DeploymentConfig::parse(s).map_err(|e| c.config(p, e)).ok(),
        Value::Object(o) => steps_at(o, &p, c),
        other => {
            c.config(
                p,
                expected(
                    "a string such as \"Linear10PercentEvery1Minute\", or steps the worker drives: {\"steps\": [1, 5, 25, 50], \"interval\": \"2m\", \"bake\": \"5m\"}",
                    other,
                ),
            );
            None
        }
    }
}

const ANALYSIS_KEYS: &[&str] = &["maxErrorRateIncrease", "minInvocations", "confidence"];

/// `{"maxErrorRateIncrease": 1.0, "minInvocations": 200, "confidence": 0.99}`
/// (every key optional; the defaults are those of `AnalysisSettings`).
fn analysis_at(
    obj: &Map<String, Value>,
    path: &str,
    c: &mut Collector,
) -> Option<crate::canary::analysis::AnalysisSettings> {
    let p = join(path, "analysis");
    let o = match obj.get("analysis")? {
        Value::Object(o) => o,
        other => {
            c.config(
                p,
                expected(
                    "an object such as {\"maxErrorRateIncrease\": 1.0, \"minInvocations\": 200, \"confidence\": 0.99}",
                    other,
                ),
            );
            return None;
        }
    };
    let mut s = crate::canary::analysis::AnalysisSettings::default();
    let mut ok = true;
    for (k, v) in o {
        let kp = join(&p, k);
        match k.as_str() {
            "maxErrorRateIncrease" => match v.as_f64() {
                Some(x) => s.max_error_rate_increase_pp = x,
                None => {
                    ok = false;
                    c.config(kp, expected("a number of percentage points such as 1.0", v));
                }
            },
            "minInvocations" => match v.as_u64() {
                Some(x) => s.min_invocations = x,
                None => {
                    ok = false;
                    c.config(kp, expected("a whole number of calls such as 200", v));
                }
            },
            "confidence" => match v.as_f64() {
                Some(x) => s.confidence = x,
                None => {
                    ok = false;
                    c.config(kp, expected("a probability such as 0.99", v));
                }
            },
            _ => {
                ok = false;
                c.config(kp, unknown_key(k, ANALYSIS_KEYS));
            }
        }
    }
    if !ok {
        return None;
    }
    match s.validate() {
        Ok(()) => Some(s),
        Err(e) => {
            c.config(p, e);
            None
        }
    }
}

const STEPS_KEYS: &[&str] = &["steps", "interval", "bake"];

/// `{"steps": [1, 5, 25, 50], "interval": "2m", "bake": "5m"}`: a schedule
/// the worker drives (`bake` optional, default none).
fn steps_at(o: &Map<String, Value>, p: &str, c: &mut Collector) -> Option<DeploymentConfig> {
    for k in o.keys() {
        if !STEPS_KEYS.contains(&k.as_str()) {
            c.config(join(p, k), unknown_key(k, STEPS_KEYS));
        }
    }
    let steps_path = join(p, "steps");
    let steps = match o.get("steps") {
        None => {
            c.config(
                steps_path,
                "missing: list the percentages of traffic on the new version at each step, e.g. [1, 5, 25, 50]",
            );
            None
        }
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (i, v) in items.iter().enumerate() {
                match v.as_u64().filter(|n| *n <= u64::from(u32::MAX)) {
                    Some(n) => out.push(n as u32),
                    None => {
                        ok = false;
                        c.config(
                            format!("{steps_path}[{i}]"),
                            expected("a whole percentage from 1 to 99", v),
                        );
                    }
                }
            }
            ok.then_some(out)
        }
        Some(other) => {
            c.config(
                steps_path,
                expected("an array of percentages such as [1, 5, 25, 50]", other),
            );
            None
        }
    };
    let duration = |key: &str, c: &mut Collector| -> Option<Option<std::time::Duration>> {
        let kp = join(p, key);
        match o.get(key) {
            None => Some(None),
            Some(Value::String(s)) => match super::config::parse_duration(s) {
                Ok(d) => Some(Some(d)),
                Err(e) => {
                    c.config(kp, e);
                    None
                }
            },
            Some(other) => {
                c.config(kp, expected("a duration such as \"2m\" or \"90s\"", other));
                None
            }
        }
    };
    let interval = match duration("interval", c)? {
        Some(d) => Some(d),
        None => {
            c.config(
                join(p, "interval"),
                "missing: the time between steps, e.g. \"2m\"",
            );
            None
        }
    };
    let bake = duration("bake", c)?.unwrap_or_default();
    let (steps, interval) = (steps?, interval?);
    match crate::manifest::config::StepSchedule::new(&steps, interval, bake) {
        Ok(s) => Some(DeploymentConfig::Steps(s)),
        Err(e) => {
            // The schedule's messages start with the part they are about.
            let (part, message) = e.split_once(": ").unwrap_or(("", e.as_str()));
            let at = if part.is_empty() {
                p.to_string()
            } else {
                join(p, part)
            };
            c.config(at, message.to_string());
            None
        }
    }
}

fn alarms_at(obj: &Map<String, Value>, path: &str, c: &mut Collector) -> Option<Vec<String>> {
    let p = join(path, "alarms");
    match obj.get("alarms")? {
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, a) in items.iter().enumerate() {
                let ip = format!("{p}[{i}]");
                match a {
                    Value::String(s) => match check_alarm(s) {
                        Ok(()) => out.push(s.clone()),
                        Err(e) => c.config(ip, e),
                    },
                    other => c.config(ip, expected("a string (an alarm name)", other)),
                }
            }
            Some(out)
        }
        other => {
            c.config(p, expected("an array of alarm names", other));
            None
        }
    }
}

fn hook_at(obj: &Map<String, Value>, key: &str, path: &str, c: &mut Collector) -> Option<String> {
    let p = join(path, key);
    match obj.get(key)? {
        Value::String(h) => match check_hook(h) {
            Ok(()) => Some(h.clone()),
            Err(e) => {
                c.config(p, e);
                None
            }
        },
        other => {
            c.config(p, expected("a string (a hook function name)", other));
            None
        }
    }
}

fn check_keys(obj: &Map<String, Value>, known: &[&str], path: &str, c: &mut Collector) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            let shown_known: Vec<&str> =
                known.iter().copied().filter(|k| *k != "$schema").collect();
            // An empty key still gets a visible path (`""`, `defaults.""`).
            let shown = if key.is_empty() { "\"\"" } else { key.as_str() };
            c.config(join(path, shown), unknown_key(key, &shown_known));
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn expected(what: &str, found: &Value) -> String {
    format!("expected {what}, found {}", json_type(found))
}

/// serde_json appends " at line L column C"; we print the position first.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// The origin of a native manifest.
pub(crate) fn origin(manifest: &str) -> Origin {
    Origin::Native {
        manifest: manifest.to_string(),
    }
}
