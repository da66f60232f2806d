//! Lambda's restJson1 shapes: reading typed members out of request JSON
//! (with Lambda's `InvalidRequestContentException` for malformed bodies) and
//! rendering `FunctionConfiguration`, `AliasConfiguration` and friends with
//! the field names of the botocore model. It knows no rules.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::names::{function_arn, qualified_arn};
use super::store::{Alias, ConfigView};
use crate::error::AwsError;

/// Lambda's timestamp format: `2026-11-26T13:00:00.000+0000`.
pub fn timestamp(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn bad_content(msg: String) -> AwsError {
    AwsError::bad_request("InvalidRequestContentException", msg)
}

/// The request body as a JSON object (`{}` when empty).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, AwsError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_content(
            "Could not parse request body into json: Could not parse payload into json: body is not an object".into(),
        )),
        Err(e) => Err(bad_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        ))),
    }
}

fn type_error(key: &str, want: &str) -> AwsError {
    bad_content(format!(
        "Could not parse request body into json: Cannot deserialize value of type `{want}` for field '{key}'"
    ))
}

pub fn opt_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, AwsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(type_error(key, "java.lang.String")),
    }
}

pub fn opt_i64(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, AwsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| type_error(key, "java.lang.Integer")),
    }
}

pub fn opt_bool(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, AwsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(type_error(key, "java.lang.Boolean")),
    }
}

pub fn opt_obj<'a>(
    m: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, AwsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(type_error(key, "object")),
    }
}

pub fn function_configuration(region: &str, v: &ConfigView) -> Value {
    let arn = match (&v.via_alias, v.version.as_str()) {
        (Some(alias), _) => qualified_arn(region, &v.name, alias),
        (None, "$LATEST") => function_arn(region, &v.name),
        (None, version) => qualified_arn(region, &v.name, version),
    };
    let c = &v.config;
    let mut o = json!({
        "FunctionName": v.name,
        "FunctionArn": arn,
        "Role": c.role,
        "CodeSize": c.code.size,
        "Description": c.description,
        "Timeout": c.timeout,
        "MemorySize": c.memory_size,
        "LastModified": timestamp(v.last_modified),
        "CodeSha256": c.code.sha256,
        "Version": v.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": v.revision_id,
        "State": v.state,
        "LastUpdateStatus": v.last_update_status,
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", v.name)},
    });
    let m = o.as_object_mut().expect("object");
    if let Some(r) = &c.runtime {
        m.insert("Runtime".into(), r.clone().into());
    }
    if let Some(h) = &c.handler {
        m.insert("Handler".into(), h.clone().into());
    }
    if let Some(env) = &c.environment {
        m.insert("Environment".into(), json!({ "Variables": env }));
    }
    if v.creating {
        m.insert(
            "StateReason".into(),
            "The function is being created.".into(),
        );
        m.insert("StateReasonCode".into(), "Creating".into());
        m.insert(
            "LastUpdateStatusReason".into(),
            "The function is being created.".into(),
        );
        m.insert("LastUpdateStatusReasonCode".into(), "Creating".into());
    }
    o
}

pub fn alias_configuration(region: &str, function: &str, a: &Alias) -> Value {
    let mut o = json!({
        "AliasArn": qualified_arn(region, function, &a.name),
        "Name": a.name,
        "FunctionVersion": a.function_version,
        "Description": a.description,
        "RevisionId": a.revision_id,
    });
    if let Some((v, w)) = &a.routing {
        o.as_object_mut().expect("object").insert(
            "RoutingConfig".into(),
            json!({ "AdditionalVersionWeights": { v.clone(): w } }),
        );
    }
    o
}
