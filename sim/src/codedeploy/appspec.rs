//! The AppSpec of a Lambda deployment (revision type `AppSpecContent`), YAML
//! or JSON: `version: 0.0`, exactly one `AWS::Lambda::Function` resource with
//! `Name`, `Alias`, `CurrentVersion`, `TargetVersion`, and optional
//! `BeforeAllowTraffic` / `AfterAllowTraffic` hooks. Pure parsing and
//! structural validation; whether the function, alias and versions exist is
//! the engine's business, not this module's.

use serde_json::Value;

/// A parsed, structurally valid Lambda AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// The resource's logical name (the key above `Type`).
    pub resource: String,
    pub function: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub before_allow_traffic: Option<String>,
    pub after_allow_traffic: Option<String>,
}

/// Parses `content` as JSON when it looks like JSON, else as YAML (a superset).
/// The error is a human-readable reason, used in `INVALID_REVISION`.
pub fn parse(content: &str) -> Result<AppSpec, String> {
    let trimmed = content.trim_start();
    let doc: Value = if trimmed.starts_with('{') {
        serde_json::from_str(content).map_err(|e| format!("The AppSpec is not valid JSON: {e}"))?
    } else {
        serde_yaml_ng::from_str(content)
            .map_err(|e| format!("The AppSpec is not valid YAML: {e}"))?
    };
    from_value(&doc)
}

/// A string property: strings as is, numbers (YAML `CurrentVersion: 3`) as text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A top-level key, matched case-insensitively (`Resources` / `resources`).
fn key<'a>(doc: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    doc.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn from_value(doc: &Value) -> Result<AppSpec, String> {
    let Some(doc) = doc.as_object() else {
        return Err("The AppSpec must be a mapping with version, Resources and Hooks".into());
    };
    let version_ok = match key(doc, "version") {
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => s == "0.0",
        _ => false,
    };
    if !version_ok {
        return Err("The AppSpec version is missing or invalid: it must be 0.0".into());
    }
    let resources = match key(doc, "Resources") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                let mut m = serde_json::Map::new();
                m.insert(k.clone(), v.clone());
                Value::Object(m)
            })
            .collect(),
        _ => return Err("The AppSpec has no Resources section".into()),
    };
    if resources.len() != 1 {
        return Err(format!(
            "The AppSpec of a Lambda deployment must contain exactly one resource, found {}",
            resources.len()
        ));
    }
    let Some((resource, body)) = resources[0]
        .as_object()
        .and_then(|o| if o.len() == 1 { o.iter().next() } else { None })
    else {
        return Err("Each AppSpec resource must be a single named mapping".into());
    };
    let ty = body.get("Type").and_then(Value::as_str).unwrap_or("");
    if ty != "AWS::Lambda::Function" {
        return Err(format!(
            "The AppSpec resource {resource} has Type {ty:?}; a Lambda deployment needs AWS::Lambda::Function"
        ));
    }
    let props = body
        .get("Properties")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("The AppSpec resource {resource} has no Properties"))?;
    let prop = |name: &str| -> Result<String, String> {
        props.get(name).and_then(text).ok_or_else(|| {
            format!("The AppSpec resource {resource} is missing the property {name}")
        })
    };
    let function = prop("Name")?;
    let alias = prop("Alias")?;
    let current_version = prop("CurrentVersion")?;
    let target_version = prop("TargetVersion")?;

    let mut before = None;
    let mut after = None;
    let hook_entries: Vec<(String, Value)> = match key(doc, "Hooks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for item in a {
                let Some(o) = item.as_object() else {
                    return Err("Each AppSpec hook must be a mapping of event to function".into());
                };
                out.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            out
        }
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => return Err("The AppSpec Hooks section must be a list".into()),
    };
    for (event, f) in hook_entries {
        let Some(f) = text(&f) else {
            return Err(format!(
                "The AppSpec hook {event} must name a Lambda function"
            ));
        };
        let slot = match event.as_str() {
            "BeforeAllowTraffic" => &mut before,
            "AfterAllowTraffic" => &mut after,
            other => {
                return Err(format!(
                    "The AppSpec hook {other} is not a Lambda lifecycle event (BeforeAllowTraffic, AfterAllowTraffic)"
                ));
            }
        };
        if slot.is_some() {
            return Err(format!(
                "The AppSpec hook {event} is specified more than once"
            ));
        }
        *slot = Some(f);
    }
    Ok(AppSpec {
        resource: resource.clone(),
        function,
        alias,
        current_version,
        target_version,
        before_allow_traffic: before,
        after_allow_traffic: after,
    })
}

/// Splits a hook's function reference (`name`, `name:qualifier` or a function
/// ARN with optional qualifier) into name and qualifier.
pub fn function_ref(r: &str) -> (String, Option<String>) {
    if let Some(rest) = r.strip_prefix("arn:") {
        // arn:aws:lambda:region:account:function:name[:qualifier]
        let parts: Vec<&str> = rest.splitn(7, ':').collect();
        if parts.len() >= 6 && parts[4] == "function" {
            let name = parts[5].to_string();
            return (name, parts.get(6).map(|q| q.to_string()));
        }
        return (r.to_string(), None);
    }
    match r.split_once(':') {
        Some((n, q)) => (n.to_string(), Some(q.to_string())),
        None => (r.to_string(), None),
    }
}

/// The JSON AppSpec of a rollback: the alias back from `from` to `to`, no hooks.
pub fn rollback_content(function: &str, alias: &str, from: &str, to: &str) -> String {
    serde_json::json!({
        "version": 0.0,
        "Resources": [{function: {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Name": function, "Alias": alias, "CurrentVersion": from, "TargetVersion": to}
        }}]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
version: 0.0
Resources:
  - fn:
      Type: AWS::Lambda::Function
      Properties: {Name: fn, Alias: live, CurrentVersion: "41", TargetVersion: 42}
Hooks:
  - BeforeAllowTraffic: CodeDeployHook_pre
  - AfterAllowTraffic: CodeDeployHook_post
"#;

    #[test]
    fn yaml_and_json_parse_alike() {
        let a = parse(YAML).unwrap();
        assert_eq!(a.function, "fn");
        assert_eq!(a.alias, "live");
        assert_eq!(a.current_version, "41");
        assert_eq!(a.target_version, "42");
        assert_eq!(
            a.before_allow_traffic.as_deref(),
            Some("CodeDeployHook_pre")
        );
        assert_eq!(
            a.after_allow_traffic.as_deref(),
            Some("CodeDeployHook_post")
        );
        let json = r#"{"version": 0.0, "Resources": [{"fn": {"Type": "AWS::Lambda::Function",
            "Properties": {"Name": "fn", "Alias": "live", "CurrentVersion": "41", "TargetVersion": "42"}}}],
            "Hooks": [{"BeforeAllowTraffic": "CodeDeployHook_pre"}, {"AfterAllowTraffic": "CodeDeployHook_post"}]}"#;
        assert_eq!(parse(json).unwrap(), a);
        let rb = parse(&rollback_content("fn", "live", "42", "41")).unwrap();
        assert_eq!(
            (rb.current_version.as_str(), rb.target_version.as_str()),
            ("42", "41")
        );
        assert_eq!(rb.before_allow_traffic, None);
    }

    #[test]
    fn structural_errors() {
        let cases = [
            ("version: 1.0\nResources: []", "version"),
            ("version: 0.0\nResources: []", "exactly one"),
            ("{not json", "JSON"),
            (
                "version: 0.0\nResources:\n  - a:\n      Type: AWS::ECS::Service\n      Properties: {}",
                "AWS::Lambda::Function",
            ),
            (
                "version: 0.0\nResources:\n  - a:\n      Type: AWS::Lambda::Function\n      Properties: {Name: f, Alias: a, CurrentVersion: '1'}",
                "TargetVersion",
            ),
            (
                "version: 0.0\nResources:\n  - a:\n      Type: AWS::Lambda::Function\n      Properties: {Name: f, Alias: a, CurrentVersion: '1', TargetVersion: '2'}\nHooks:\n  - BeforeInstall: h",
                "BeforeInstall",
            ),
            (
                "version: 0.0\nResources:\n  - a: {Type: AWS::Lambda::Function, Properties: {Name: f, Alias: a, CurrentVersion: '1', TargetVersion: '2'}}\n  - b: {Type: AWS::Lambda::Function, Properties: {Name: f, Alias: a, CurrentVersion: '1', TargetVersion: '2'}}",
                "exactly one",
            ),
        ];
        for (doc, want) in cases {
            let e = parse(doc).unwrap_err();
            assert!(e.contains(want), "{doc:?} → {e}");
        }
    }

    #[test]
    fn hook_function_references() {
        assert_eq!(function_ref("h"), ("h".into(), None));
        assert_eq!(function_ref("h:live"), ("h".into(), Some("live".into())));
        assert_eq!(
            function_ref("arn:aws:lambda:us-east-1:123456789012:function:h:3"),
            ("h".into(), Some("3".into()))
        );
        assert_eq!(
            function_ref("arn:aws:lambda:us-east-1:123456789012:function:h"),
            ("h".into(), None)
        );
    }
}
