//! The CodeDeploy operations: JSON request in (already decoded), AWS
//! validation and errors, the shared [`State`] changed, JSON result out.
//! The deployment state machine lives in `engine`; the wire (awsJson1_1
//! framing, X-Amz-Target) in `mod.rs`. Error codes, messages and shapes
//! follow the botocore model `codedeploy/2014-10-06`.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::configs::{self, TrafficRouting};
use super::engine::{
    AlarmConfig, AutoRollback, Creator, DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM,
    DEPLOYMENT_STOP_ON_REQUEST, Deployment, Phase, Status,
};
use crate::clock::epoch_secs;
use crate::error::AwsError;

/// The account every ARN names.
pub const ACCOUNT_ID: &str = "123456789012";
/// Applications per region (AWS quota).
const MAX_APPLICATIONS: usize = 1000;
/// Deployment groups per application (AWS quota).
const MAX_GROUPS_PER_APPLICATION: usize = 1000;
/// Custom deployment configs per region (AWS quota).
const MAX_CUSTOM_CONFIGS: usize = 50;
/// Concurrent deployments per region (AWS quota).
const MAX_ACTIVE_DEPLOYMENTS: usize = 1300;
/// Ids per BatchGetDeployments / targets per BatchGetDeploymentTargets.
const BATCH_LIMIT: usize = 25;
/// Alarms per alarm configuration.
const MAX_ALARMS: usize = 10;
/// Page size of the List* operations.
const PAGE: usize = 100;

#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub create_time: SystemTime,
    pub compute_platform: String,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub application_name: String,
    pub name: String,
    pub config_name: String,
    pub service_role_arn: String,
    pub alarms: AlarmConfig,
    pub auto_rollback: AutoRollback,
    /// Whether `autoRollbackConfiguration` was ever set (it is echoed only then).
    pub auto_rollback_set: bool,
}

#[derive(Debug, Clone)]
pub struct CustomConfig {
    pub id: String,
    pub create_time: SystemTime,
    pub compute_platform: String,
    pub routing: Option<TrafficRouting>,
    pub minimum_healthy_hosts: Option<Value>,
}

/// Everything CodeDeploy remembers. Keys start with the region.
#[derive(Debug, Default)]
pub struct State {
    pub apps: BTreeMap<(String, String), Application>,
    pub groups: BTreeMap<(String, String, String), Group>,
    pub configs: BTreeMap<(String, String), CustomConfig>,
    pub deployments: HashMap<String, Deployment>,
    /// Deployment ids in creation order.
    pub order: Vec<String>,
    /// Ids of deployments not yet finished (what `tick` moves).
    pub active: Vec<String>,
}

fn err(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::bad_request(code, message)
}

fn opt_str<'a>(b: &'a Value, k: &str) -> Option<&'a str> {
    b.get(k).and_then(Value::as_str)
}

fn ts(t: SystemTime) -> Value {
    json!(epoch_secs(t))
}

/// A request timestamp (epoch seconds). Non-numbers and negative values are
/// ignored as before; a number too large for a time is a `SerializationException`.
fn from_ts(v: &Value) -> Result<Option<SystemTime>, AwsError> {
    let Some(secs) = v.as_f64().filter(|s| *s >= 0.0) else {
        return Ok(None);
    };
    crate::clock::from_epoch_secs(secs)
        .map(Some)
        .ok_or_else(|| {
            err(
                "SerializationException",
                format!("The timestamp {secs} is out of range"),
            )
        })
}

fn app_name(b: &Value) -> Result<String, AwsError> {
    let Some(n) = opt_str(b, "applicationName") else {
        return Err(err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    };
    check_name(n, "InvalidApplicationNameException", "application name")?;
    Ok(n.to_string())
}

fn check_name(n: &str, code: &str, what: &str) -> Result<(), AwsError> {
    let len = n.chars().count();
    if len == 0 || len > 100 {
        return Err(err(
            code,
            format!("The {what} must be 1 to 100 characters: {n:?}"),
        ));
    }
    Ok(())
}

fn group_name_in(b: &Value, key: &str) -> Result<String, AwsError> {
    let Some(n) = opt_str(b, key) else {
        return Err(err(
            "DeploymentGroupNameRequiredException",
            "The deployment group name was not specified.",
        ));
    };
    check_name(
        n,
        "InvalidDeploymentGroupNameException",
        "deployment group name",
    )?;
    Ok(n.to_string())
}

/// `d-` + 9 characters of `[A-Z0-9]`, as AWS deployment ids.
fn deployment_id_ok(id: &str) -> bool {
    id.len() == 11
        && id.starts_with("d-")
        && id[2..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

pub(super) fn deployment_id(b: &Value) -> Result<String, AwsError> {
    let Some(id) = opt_str(b, "deploymentId").filter(|s| !s.is_empty()) else {
        return Err(err(
            "DeploymentIdRequiredException",
            "At least one deployment ID must be specified.",
        ));
    };
    if !deployment_id_ok(id) {
        return Err(err(
            "InvalidDeploymentIdException",
            format!("Specified DeploymentId is not in the valid format: {id}"),
        ));
    }
    Ok(id.to_string())
}

fn new_deployment_id(st: &State) -> String {
    loop {
        let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let id = format!("d-{}", &hex[..9]);
        if !st.deployments.contains_key(&id) {
            return id;
        }
    }
}

/// Pagination over a sorted list with an opaque numeric token.
fn page<T: Clone>(items: &[T], b: &Value) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match opt_str(b, "nextToken") {
        None => 0,
        Some(t) => t
            .strip_prefix("sim-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                err(
                    "InvalidNextTokenException",
                    "The next token was specified in an invalid format.",
                )
            })?,
    };
    let end = (start + PAGE).min(items.len());
    let next = (end < items.len()).then(|| format!("sim-{end}"));
    Ok((items[start..end].to_vec(), next))
}

/// Validates an `alarmConfiguration` (group's or a deployment's override).
pub fn parse_alarm_config(v: &Value) -> Result<AlarmConfig, AwsError> {
    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let ignore = v
        .get("ignorePollAlarmFailure")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut alarms: Vec<String> = Vec::new();
    if let Some(list) = v.get("alarms").filter(|a| !a.is_null()) {
        let Some(list) = list.as_array() else {
            return Err(err(
                "InvalidAlarmConfigException",
                "The alarm list is not a list.",
            ));
        };
        if list.len() > MAX_ALARMS {
            return Err(err(
                "AlarmsLimitExceededException",
                format!(
                    "The maximum number of alarms for a deployment group ({MAX_ALARMS}) was exceeded: {}",
                    list.len()
                ),
            ));
        }
        for a in list {
            let name = a.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() || name.chars().count() > 255 {
                return Err(err(
                    "InvalidAlarmConfigException",
                    "The alarm name is empty or null or exceeds the limit of 255 characters.",
                ));
            }
            if alarms.iter().any(|x| x == name) {
                return Err(err(
                    "InvalidAlarmConfigException",
                    format!("Two alarms with the same name have been specified: {name}"),
                ));
            }
            alarms.push(name.to_string());
        }
    }
    if enabled && alarms.is_empty() {
        return Err(err(
            "InvalidAlarmConfigException",
            "The alarm configuration is enabled, but the alarm list is empty.",
        ));
    }
    Ok(AlarmConfig {
        enabled,
        ignore_poll_alarm_failure: ignore,
        alarms,
    })
}

fn alarm_json(a: &AlarmConfig) -> Value {
    json!({
        "enabled": a.enabled,
        "ignorePollAlarmFailure": a.ignore_poll_alarm_failure,
        "alarms": a.alarms.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
    })
}

/// Validates an `autoRollbackConfiguration`.
pub fn parse_auto_rollback(v: &Value) -> Result<AutoRollback, AwsError> {
    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    let mut events = Vec::new();
    if let Some(list) = v.get("events").and_then(Value::as_array) {
        for e in list {
            let e = e.as_str().unwrap_or("");
            if ![
                DEPLOYMENT_FAILURE,
                DEPLOYMENT_STOP_ON_ALARM,
                DEPLOYMENT_STOP_ON_REQUEST,
            ]
            .contains(&e)
            {
                return Err(err(
                    "InvalidAutoRollbackConfigException",
                    format!("Invalid automatic rollback event type: {e:?}"),
                ));
            }
            if !events.iter().any(|x| x == e) {
                events.push(e.to_string());
            }
        }
    }
    if enabled && events.is_empty() {
        return Err(err(
            "InvalidAutoRollbackConfigException",
            "Automatic rollback is enabled but no event types were listed.",
        ));
    }
    Ok(AutoRollback { enabled, events })
}

fn auto_rollback_json(a: &AutoRollback) -> Value {
    json!({"enabled": a.enabled, "events": a.events})
}

fn check_role(arn: &str) -> Result<(), AwsError> {
    let bad = || {
        err(
            "InvalidRoleException",
            format!("The service role ARN was specified in an invalid format: {arn}"),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || !parts[1].starts_with("aws")
        || parts[2] != "iam"
        || !parts[3].is_empty()
        || parts[4].len() != 12
        || !parts[4].chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let Some(path) = parts[5].strip_prefix("role/") else {
        return Err(bad());
    };
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
    {
        return Err(bad());
    }
    Ok(())
}

fn check_deployment_style(v: &Value) -> Result<(), AwsError> {
    let t = opt_str(v, "deploymentType").unwrap_or("BLUE_GREEN");
    let o = opt_str(v, "deploymentOption").unwrap_or("WITH_TRAFFIC_CONTROL");
    if t != "BLUE_GREEN" || o != "WITH_TRAFFIC_CONTROL" {
        return Err(err(
            "InvalidDeploymentStyleException",
            format!(
                "Deployment style {t}/{o} is not valid for the Lambda compute platform: use BLUE_GREEN with WITH_TRAFFIC_CONTROL"
            ),
        ));
    }
    Ok(())
}

/// Server-platform features a Lambda deployment group cannot have.
fn check_no_server_features(b: &Value) -> Result<(), AwsError> {
    let non_empty = |k: &str| match b.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    };
    for (k, code) in [
        ("ec2TagFilters", "InvalidEC2TagException"),
        ("ec2TagSet", "InvalidEC2TagException"),
        ("onPremisesInstanceTagFilters", "InvalidTagException"),
        ("onPremisesTagSet", "InvalidTagException"),
        ("autoScalingGroups", "InvalidAutoScalingGroupException"),
        ("loadBalancerInfo", "InvalidLoadBalancerInfoException"),
        ("ecsServices", "InvalidECSServiceException"),
        (
            "blueGreenDeploymentConfiguration",
            "InvalidBlueGreenDeploymentConfigurationException",
        ),
    ] {
        if non_empty(k) {
            return Err(err(
                code,
                format!("{k} is not supported for the Lambda compute platform"),
            ));
        }
    }
    Ok(())
}

impl State {
    fn app(&self, region: &str, name: &str) -> Result<&Application, AwsError> {
        self.apps
            .get(&(region.to_string(), name.to_string()))
            .ok_or_else(|| {
                err(
                    "ApplicationDoesNotExistException",
                    format!("No application found for name: {name}"),
                )
            })
    }

    fn group(&self, region: &str, app: &str, name: &str) -> Result<&Group, AwsError> {
        self.groups
            .get(&(region.to_string(), app.to_string(), name.to_string()))
            .ok_or_else(|| {
                err(
                    "DeploymentGroupDoesNotExistException",
                    format!("No Deployment Group found for name: {name}"),
                )
            })
    }

    /// A Lambda deployment config by name: its routing.
    fn lambda_config(&self, region: &str, name: &str) -> Result<TrafficRouting, AwsError> {
        check_name(
            name,
            "InvalidDeploymentConfigNameException",
            "deployment config name",
        )?;
        if let Some(r) = configs::predefined(name) {
            return Ok(r);
        }
        match self.configs.get(&(region.to_string(), name.to_string())) {
            Some(c) if c.compute_platform == "Lambda" => {
                Ok(c.routing.unwrap_or(TrafficRouting::AllAtOnce))
            }
            Some(c) => Err(err(
                "InvalidDeploymentConfigNameException",
                format!(
                    "Deployment config {name} is for the {} compute platform, not Lambda",
                    c.compute_platform
                ),
            )),
            None if name.starts_with("CodeDeployDefault.")
                && !name.starts_with("CodeDeployDefault.Lambda") =>
            {
                Err(err(
                    "InvalidDeploymentConfigNameException",
                    format!(
                        "Deployment config {name} is not valid for the Lambda compute platform"
                    ),
                ))
            }
            None => Err(err(
                "DeploymentConfigDoesNotExistException",
                format!("No deployment configuration found for name: {name}"),
            )),
        }
    }

    /// A deployment of this region (deployment ids are regional).
    fn deployment(&self, region: &str, id: &str) -> Result<&Deployment, AwsError> {
        self.deployments
            .get(id)
            .filter(|d| d.region == region)
            .ok_or_else(|| {
                err(
                    "DeploymentDoesNotExistException",
                    format!("The deployment {id} could not be found."),
                )
            })
    }

    fn deployments_of(
        &self,
        region: &str,
        app: &str,
        group: &str,
    ) -> impl Iterator<Item = &Deployment> {
        self.order.iter().filter_map(move |id| {
            self.deployments.get(id).filter(|d| {
                d.region == region && d.application_name == app && d.group_name == group
            })
        })
    }
}

// ---------------------------------------------------------------- applications

pub fn create_application(
    st: &mut State,
    region: &str,
    now: SystemTime,
    b: &Value,
) -> Result<Value, AwsError> {
    let name = app_name(b)?;
    let platform = opt_str(b, "computePlatform").unwrap_or("Server");
    if !["Server", "Lambda", "ECS"].contains(&platform) {
        return Err(err(
            "InvalidComputePlatformException",
            format!(
                "The computePlatform {platform} is invalid. The computePlatform should be Lambda, Server, or ECS."
            ),
        ));
    }
    let key = (region.to_string(), name.clone());
    if st.apps.contains_key(&key) {
        return Err(err(
            "ApplicationAlreadyExistsException",
            format!(
                "The application {name} already exists with the given IAM user or AWS account."
            ),
        ));
    }
    if st.apps.keys().filter(|(r, _)| r == region).count() >= MAX_APPLICATIONS {
        return Err(err(
            "ApplicationLimitExceededException",
            format!(
                "More applications were attempted to be created than are allowed ({MAX_APPLICATIONS})."
            ),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    st.apps.insert(
        key,
        Application {
            id: id.clone(),
            name,
            create_time: now,
            compute_platform: platform.to_string(),
        },
    );
    Ok(json!({"applicationId": id}))
}

fn app_json(a: &Application) -> Value {
    json!({
        "applicationId": a.id,
        "applicationName": a.name,
        "createTime": ts(a.create_time),
        "linkedToGitHub": false,
        "computePlatform": a.compute_platform,
    })
}

pub fn get_application(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let name = app_name(b)?;
    Ok(json!({"application": app_json(st.app(region, &name)?)}))
}

pub fn batch_get_applications(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let names: Vec<&str> = b
        .get("applicationNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.is_empty() {
        return Err(err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    }
    if names.len() > 100 {
        return Err(err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        ));
    }
    let mut out = Vec::new();
    for n in names {
        check_name(n, "InvalidApplicationNameException", "application name")?;
        out.push(app_json(st.app(region, n)?));
    }
    Ok(json!({"applicationsInfo": out}))
}

pub fn list_applications(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let names: Vec<String> = st
        .apps
        .keys()
        .filter(|(r, _)| r == region)
        .map(|(_, n)| n.clone())
        .collect();
    let (items, next) = page(&names, b)?;
    let mut out = json!({"applications": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

pub fn delete_application(st: &mut State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let name = app_name(b)?;
    st.apps.remove(&(region.to_string(), name.clone()));
    st.groups
        .retain(|(r, a, _), _| !(r == region && *a == name));
    Ok(json!({}))
}

// ------------------------------------------------------------ deployment groups

pub fn create_deployment_group(st: &mut State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    let group = group_name_in(b, "deploymentGroupName")?;
    let platform = st.app(region, &app)?.compute_platform.clone();
    if platform != "Lambda" {
        return Err(err(
            "InvalidInputException",
            format!(
                "aws-sim simulates deployment groups of the Lambda compute platform only; application {app} is {platform}"
            ),
        ));
    }
    let key = (region.to_string(), app.clone(), group.clone());
    if st.groups.contains_key(&key) {
        return Err(err(
            "DeploymentGroupAlreadyExistsException",
            format!("A deployment group named {group} already exists for application {app}."),
        ));
    }
    let config_name = opt_str(b, "deploymentConfigName")
        .unwrap_or("CodeDeployDefault.LambdaAllAtOnce")
        .to_string();
    st.lambda_config(region, &config_name)?;
    let Some(role) = opt_str(b, "serviceRoleArn").filter(|s| !s.is_empty()) else {
        return Err(err(
            "RoleRequiredException",
            "The role ID was not specified.",
        ));
    };
    check_role(role)?;
    check_no_server_features(b)?;
    if let Some(s) = b.get("deploymentStyle").filter(|v| !v.is_null()) {
        check_deployment_style(s)?;
    }
    let alarms = match b.get("alarmConfiguration").filter(|v| !v.is_null()) {
        Some(v) => parse_alarm_config(v)?,
        None => AlarmConfig::default(),
    };
    let rb = b.get("autoRollbackConfiguration").filter(|v| !v.is_null());
    let auto_rollback = match rb {
        Some(v) => parse_auto_rollback(v)?,
        None => AutoRollback::default(),
    };
    if st
        .groups
        .keys()
        .filter(|(r, a, _)| r == region && *a == app)
        .count()
        >= MAX_GROUPS_PER_APPLICATION
    {
        return Err(err(
            "DeploymentGroupLimitExceededException",
            format!("The deployment groups limit ({MAX_GROUPS_PER_APPLICATION}) was exceeded."),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    st.groups.insert(
        key,
        Group {
            id: id.clone(),
            application_name: app,
            name: group,
            config_name,
            service_role_arn: role.to_string(),
            alarms,
            auto_rollback,
            auto_rollback_set: rb.is_some(),
        },
    );
    Ok(json!({"deploymentGroupId": id}))
}

fn last_deployment_json(d: &Deployment) -> Value {
    let mut v = json!({
        "deploymentId": d.id,
        "status": d.status.as_str(),
        "createTime": ts(d.create_time),
    });
    if let Some(t) = d.complete_time {
        v["endTime"] = ts(t);
    }
    v
}

fn group_json(st: &State, region: &str, g: &Group) -> Value {
    let mut v = json!({
        "applicationName": g.application_name,
        "deploymentGroupId": g.id,
        "deploymentGroupName": g.name,
        "deploymentConfigName": g.config_name,
        "ec2TagFilters": [],
        "onPremisesInstanceTagFilters": [],
        "autoScalingGroups": [],
        "serviceRoleArn": g.service_role_arn,
        "triggerConfigurations": [],
        "alarmConfiguration": alarm_json(&g.alarms),
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "outdatedInstancesStrategy": "UPDATE",
        "computePlatform": "Lambda",
        "terminationHookEnabled": false,
    });
    if g.auto_rollback_set {
        v["autoRollbackConfiguration"] = auto_rollback_json(&g.auto_rollback);
    }
    let mut last_attempted = None;
    let mut last_succeeded = None;
    for d in st.deployments_of(region, &g.application_name, &g.name) {
        last_attempted = Some(d);
        if d.status == Status::Succeeded {
            last_succeeded = Some(d);
        }
    }
    if let Some(d) = last_attempted {
        v["lastAttemptedDeployment"] = last_deployment_json(d);
        v["targetRevision"] = d.revision.clone();
    }
    if let Some(d) = last_succeeded {
        v["lastSuccessfulDeployment"] = last_deployment_json(d);
    }
    v
}

pub fn get_deployment_group(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    let group = group_name_in(b, "deploymentGroupName")?;
    st.app(region, &app)?;
    let g = st.group(region, &app, &group)?;
    Ok(json!({"deploymentGroupInfo": group_json(st, region, g)}))
}

pub fn update_deployment_group(st: &mut State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    let current = group_name_in(b, "currentDeploymentGroupName")?;
    st.app(region, &app)?;
    let mut g = st.group(region, &app, &current)?.clone();
    if let Some(n) = opt_str(b, "newDeploymentGroupName") {
        check_name(
            n,
            "InvalidDeploymentGroupNameException",
            "deployment group name",
        )?;
        if n != current
            && st
                .groups
                .contains_key(&(region.to_string(), app.clone(), n.to_string()))
        {
            return Err(err(
                "DeploymentGroupAlreadyExistsException",
                format!("A deployment group named {n} already exists for application {app}."),
            ));
        }
        g.name = n.to_string();
    }
    if let Some(c) = opt_str(b, "deploymentConfigName") {
        st.lambda_config(region, c)?;
        g.config_name = c.to_string();
    }
    if let Some(r) = opt_str(b, "serviceRoleArn") {
        check_role(r)?;
        g.service_role_arn = r.to_string();
    }
    check_no_server_features(b)?;
    if let Some(s) = b.get("deploymentStyle").filter(|v| !v.is_null()) {
        check_deployment_style(s)?;
    }
    if let Some(v) = b.get("alarmConfiguration").filter(|v| !v.is_null()) {
        g.alarms = parse_alarm_config(v)?;
    }
    if let Some(v) = b.get("autoRollbackConfiguration").filter(|v| !v.is_null()) {
        g.auto_rollback = parse_auto_rollback(v)?;
        g.auto_rollback_set = true;
    }
    st.groups
        .remove(&(region.to_string(), app.clone(), current.clone()));
    if g.name != current {
        for d in st.deployments.values_mut() {
            if d.region == region && d.application_name == app && d.group_name == current {
                d.group_name = g.name.clone();
            }
        }
    }
    st.groups
        .insert((region.to_string(), app, g.name.clone()), g);
    Ok(json!({"hooksNotCleanedUp": []}))
}

pub fn list_deployment_groups(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    st.app(region, &app)?;
    let names: Vec<String> = st
        .groups
        .keys()
        .filter(|(r, a, _)| r == region && *a == app)
        .map(|(_, _, g)| g.clone())
        .collect();
    let (items, next) = page(&names, b)?;
    let mut out = json!({"applicationName": app, "deploymentGroups": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

pub fn delete_deployment_group(st: &mut State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    let group = group_name_in(b, "deploymentGroupName")?;
    st.groups.remove(&(region.to_string(), app, group));
    Ok(json!({"hooksNotCleanedUp": []}))
}

// ----------------------------------------------------------- deployment configs

fn config_name(b: &Value) -> Result<String, AwsError> {
    let Some(n) = opt_str(b, "deploymentConfigName") else {
        return Err(err(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        ));
    };
    check_name(
        n,
        "InvalidDeploymentConfigNameException",
        "deployment config name",
    )?;
    Ok(n.to_string())
}

pub fn get_deployment_config(
    st: &State,
    region: &str,
    predefined_time: SystemTime,
    b: &Value,
) -> Result<Value, AwsError> {
    let name = config_name(b)?;
    let info = if let Some(r) = configs::predefined(&name) {
        json!({
            "deploymentConfigId": configs::predefined_id(&name),
            "deploymentConfigName": name,
            "createTime": ts(predefined_time),
            "computePlatform": "Lambda",
            "trafficRoutingConfig": r.to_json(),
        })
    } else if let Some(c) = st.configs.get(&(region.to_string(), name.clone())) {
        let mut v = json!({
            "deploymentConfigId": c.id,
            "deploymentConfigName": name,
            "createTime": ts(c.create_time),
            "computePlatform": c.compute_platform,
        });
        if let Some(r) = c.routing {
            v["trafficRoutingConfig"] = r.to_json();
        }
        if let Some(m) = &c.minimum_healthy_hosts {
            v["minimumHealthyHosts"] = m.clone();
        }
        v
    } else {
        return Err(err(
            "DeploymentConfigDoesNotExistException",
            format!("No deployment configuration found for name: {name}"),
        ));
    };
    Ok(json!({"deploymentConfigInfo": info}))
}

pub fn create_deployment_config(
    st: &mut State,
    region: &str,
    now: SystemTime,
    b: &Value,
) -> Result<Value, AwsError> {
    let name = config_name(b)?;
    if configs::predefined(&name).is_some()
        || st.configs.contains_key(&(region.to_string(), name.clone()))
    {
        return Err(err(
            "DeploymentConfigAlreadyExistsException",
            format!("A deployment configuration with the name {name} already exists."),
        ));
    }
    configs::validate_custom_name(&name)
        .map_err(|m| err("InvalidDeploymentConfigNameException", m))?;
    let platform = opt_str(b, "computePlatform").unwrap_or("Server");
    let trc = b.get("trafficRoutingConfig").filter(|v| !v.is_null());
    let mhh = b.get("minimumHealthyHosts").filter(|v| !v.is_null());
    let (routing, minimum_healthy_hosts) = match platform {
        "Lambda" | "ECS" => {
            if mhh.is_some() {
                return Err(err(
                    "InvalidMinimumHealthyHostValueException",
                    format!("minimumHealthyHosts is not valid for the {platform} compute platform"),
                ));
            }
            let r = TrafficRouting::from_json(trc)
                .map_err(|m| err("InvalidTrafficRoutingConfigurationException", m))?;
            (Some(r), None)
        }
        "Server" => {
            let Some(m) = mhh else {
                return Err(err(
                    "InvalidMinimumHealthyHostValueException",
                    "The minimum healthy instance value was specified in an invalid format.",
                ));
            };
            let ty_ok = matches!(opt_str(m, "type"), Some("HOST_COUNT" | "FLEET_PERCENT"));
            let val_ok = m
                .get("value")
                .and_then(Value::as_i64)
                .is_some_and(|v| v >= 0);
            if !ty_ok || !val_ok {
                return Err(err(
                    "InvalidMinimumHealthyHostValueException",
                    "The minimum healthy instance value was specified in an invalid format.",
                ));
            }
            if trc.is_some() {
                return Err(err(
                    "InvalidTrafficRoutingConfigurationException",
                    "trafficRoutingConfig is not valid for the Server compute platform",
                ));
            }
            (None, Some(m.clone()))
        }
        other => {
            return Err(err(
                "InvalidComputePlatformException",
                format!(
                    "The computePlatform {other} is invalid. The computePlatform should be Lambda, Server, or ECS."
                ),
            ));
        }
    };
    if st.configs.keys().filter(|(r, _)| r == region).count() >= MAX_CUSTOM_CONFIGS {
        return Err(err(
            "DeploymentConfigLimitExceededException",
            format!("The deployment configurations limit ({MAX_CUSTOM_CONFIGS}) was exceeded."),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    st.configs.insert(
        (region.to_string(), name),
        CustomConfig {
            id: id.clone(),
            create_time: now,
            compute_platform: platform.to_string(),
            routing,
            minimum_healthy_hosts,
        },
    );
    Ok(json!({"deploymentConfigId": id}))
}

pub fn delete_deployment_config(
    st: &mut State,
    region: &str,
    b: &Value,
) -> Result<Value, AwsError> {
    let name = config_name(b)?;
    if configs::predefined(&name).is_some() || name.starts_with("CodeDeployDefault.") {
        return Err(err(
            "InvalidOperationException",
            format!("The predefined deployment configuration {name} cannot be deleted."),
        ));
    }
    if st
        .groups
        .iter()
        .any(|((r, _, _), g)| r == region && g.config_name == name)
    {
        return Err(err(
            "DeploymentConfigInUseException",
            format!("The deployment configuration {name} is still in use."),
        ));
    }
    st.configs.remove(&(region.to_string(), name));
    Ok(json!({}))
}

pub fn list_deployment_configs(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let mut names: Vec<String> = configs::PREDEFINED
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.extend(
        st.configs
            .keys()
            .filter(|(r, _)| r == region)
            .map(|(_, n)| n.clone()),
    );
    let (items, next) = page(&names, b)?;
    let mut out = json!({"deploymentConfigsList": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

// ------------------------------------------------------------------ deployments

/// The AppSpec text of a `revision` (AppSpecContent or String).
fn revision_content(rev: &Value) -> Result<String, AwsError> {
    let ty = opt_str(rev, "revisionType").unwrap_or("");
    let body = match ty {
        "AppSpecContent" => rev.get("appSpecContent"),
        "String" => rev.get("string"),
        "S3" | "GitHub" => {
            return Err(err(
                "InvalidRevisionException",
                format!("aws-sim takes Lambda revisions as AppSpecContent or String, not {ty}"),
            ));
        }
        _ => {
            return Err(err(
                "InvalidRevisionException",
                format!("The revision type {ty:?} is not valid: use AppSpecContent"),
            ));
        }
    };
    let Some(content) = body
        .and_then(|b| opt_str(b, "content"))
        .filter(|c| !c.trim().is_empty())
    else {
        return Err(err(
            "InvalidRevisionException",
            "The revision content was not specified.",
        ));
    };
    if let Some(sha) = body
        .and_then(|b| opt_str(b, "sha256"))
        .filter(|s| !s.is_empty())
    {
        let actual = hex::encode(Sha256::digest(content.as_bytes()));
        if !sha.eq_ignore_ascii_case(&actual) {
            return Err(err(
                "InvalidRevisionException",
                format!(
                    "The sha256 {sha} does not match the SHA-256 of the revision content ({actual})."
                ),
            ));
        }
    }
    Ok(content.to_string())
}

/// `CreateDeployment`: the deployment is `Created`; `tick` starts it.
pub fn create_deployment(
    st: &mut State,
    region: &str,
    now: SystemTime,
    b: &Value,
) -> Result<Value, AwsError> {
    let app = app_name(b)?;
    let group_name = group_name_in(b, "deploymentGroupName")?;
    st.app(region, &app)?;
    let g = st.group(region, &app, &group_name)?.clone();
    let Some(rev) = b.get("revision").filter(|v| !v.is_null()) else {
        return Err(err(
            "RevisionRequiredException",
            "The revision ID was not specified.",
        ));
    };
    let content = revision_content(rev)?;
    let config_name = opt_str(b, "deploymentConfigName")
        .unwrap_or(&g.config_name)
        .to_string();
    let routing = st.lambda_config(region, &config_name)?;
    let override_alarm = b.get("overrideAlarmConfiguration").filter(|v| !v.is_null());
    let alarms = match override_alarm {
        Some(v) => parse_alarm_config(v)?,
        None => g.alarms.clone(),
    };
    let rb_override = b.get("autoRollbackConfiguration").filter(|v| !v.is_null());
    let (auto_rollback, auto_rollback_json) = match rb_override {
        Some(v) => {
            let a = parse_auto_rollback(v)?;
            let j = auto_rollback_json(&a);
            (a, Some(j))
        }
        None => (
            g.auto_rollback.clone(),
            g.auto_rollback_set
                .then(|| auto_rollback_json(&g.auto_rollback)),
        ),
    };
    if let Some(active) = st
        .deployments_of(region, &app, &group_name)
        .find(|d| d.status.is_active())
    {
        return Err(err(
            "DeploymentLimitExceededException",
            format!(
                "The Deployment Group '{group_name}' already has an active Deployment '{}'",
                active.id
            ),
        ));
    }
    if st.active.len() >= MAX_ACTIVE_DEPLOYMENTS {
        return Err(err(
            "DeploymentLimitExceededException",
            format!("The account already has {MAX_ACTIVE_DEPLOYMENTS} active deployments"),
        ));
    }
    let id = new_deployment_id(st);
    let d = Deployment {
        id: id.clone(),
        seq: st.order.len() as u64,
        service_role_arn: g.service_role_arn.clone(),
        region: region.to_string(),
        application_name: app,
        group_name,
        config_name,
        routing,
        revision: rev.clone(),
        appspec_content: content,
        description: opt_str(b, "description").map(str::to_string),
        creator: Creator::User,
        status: Status::Created,
        error: None,
        create_time: now,
        start_time: None,
        complete_time: None,
        auto_rollback,
        auto_rollback_json,
        alarms: alarms.clone(),
        override_alarm_json: override_alarm.map(|_| alarm_json(&alarms)),
        rollback_info: None,
        status_messages: Vec::new(),
        target: None,
        phase: Phase::Created,
        next_alarm_check: now,
        hooks: Vec::new(),
        traffic_history: Vec::new(),
        validated: false,
        lambda_attempts: 0,
    };
    st.deployments.insert(id.clone(), d);
    st.order.push(id.clone());
    st.active.push(id.clone());
    Ok(json!({"deploymentId": id}))
}

pub fn deployment_json(d: &Deployment) -> Value {
    let mut v = json!({
        "applicationName": d.application_name,
        "deploymentGroupName": d.group_name,
        "deploymentConfigName": d.config_name,
        "deploymentId": d.id,
        "revision": d.revision,
        "status": d.status.as_str(),
        "createTime": ts(d.create_time),
        "deploymentOverview": d.overview().iter().map(|(k, n)| ((*k).to_string(), json!(n))).collect::<Map<_, _>>(),
        "creator": d.creator.as_str(),
        "ignoreApplicationStopFailures": false,
        "updateOutdatedInstancesOnly": false,
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "instanceTerminationWaitTimeStarted": false,
        "deploymentStatusMessages": d.status_messages,
        "computePlatform": "Lambda",
    });
    if let Some(t) = d.start_time {
        v["startTime"] = ts(t);
    }
    if let Some(t) = d.complete_time {
        v["completeTime"] = ts(t);
    }
    if let Some((code, message)) = &d.error {
        v["errorInformation"] = json!({"code": code, "message": message});
    }
    if let Some(desc) = &d.description {
        v["description"] = json!(desc);
    }
    if let Some(a) = &d.auto_rollback_json {
        v["autoRollbackConfiguration"] = a.clone();
    }
    if let Some(a) = &d.override_alarm_json {
        v["overrideAlarmConfiguration"] = a.clone();
    }
    if let Some(r) = &d.rollback_info {
        let mut o = Map::new();
        if let Some(x) = &r.rollback_deployment_id {
            o.insert("rollbackDeploymentId".into(), json!(x));
        }
        if let Some(x) = &r.rollback_triggering_deployment_id {
            o.insert("rollbackTriggeringDeploymentId".into(), json!(x));
        }
        if let Some(x) = &r.rollback_message {
            o.insert("rollbackMessage".into(), json!(x));
        }
        v["rollbackInfo"] = Value::Object(o);
    }
    v
}

pub fn get_deployment(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let id = deployment_id(b)?;
    Ok(json!({"deploymentInfo": deployment_json(st.deployment(region, &id)?)}))
}

pub fn batch_get_deployments(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let ids: Vec<&str> = match b.get("deploymentIds").and_then(Value::as_array) {
        Some(a) => a.iter().filter_map(Value::as_str).collect(),
        None => {
            return Err(err(
                "DeploymentIdRequiredException",
                "At least one deployment ID must be specified.",
            ));
        }
    };
    if ids.len() > BATCH_LIMIT {
        return Err(err(
            "BatchLimitExceededException",
            format!(
                "The maximum number of names or IDs allowed for this request ({BATCH_LIMIT}) was exceeded."
            ),
        ));
    }
    let mut out = Vec::new();
    for id in ids {
        if !deployment_id_ok(id) {
            return Err(err(
                "InvalidDeploymentIdException",
                format!("Specified DeploymentId is not in the valid format: {id}"),
            ));
        }
        if let Some(d) = st.deployments.get(id).filter(|d| d.region == region) {
            out.push(deployment_json(d));
        }
    }
    Ok(json!({"deploymentsInfo": out}))
}

pub fn list_deployments(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let app = opt_str(b, "applicationName");
    let group = opt_str(b, "deploymentGroupName");
    match (app, group) {
        (Some(a), Some(g)) => {
            check_name(a, "InvalidApplicationNameException", "application name")?;
            check_name(
                g,
                "InvalidDeploymentGroupNameException",
                "deployment group name",
            )?;
            st.app(region, a)?;
            st.group(region, a, g)?;
        }
        (Some(_), None) => {
            return Err(err(
                "DeploymentGroupNameRequiredException",
                "If applicationName is specified, then deploymentGroupName must be specified.",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "ApplicationNameRequiredException",
                "If deploymentGroupName is specified, then applicationName must be specified.",
            ));
        }
        (None, None) => {}
    }
    let mut statuses = Vec::new();
    if let Some(list) = b.get("includeOnlyStatuses").and_then(Value::as_array) {
        for s in list {
            let s = s.as_str().unwrap_or("");
            if ![
                "Created",
                "Queued",
                "InProgress",
                "Baking",
                "Succeeded",
                "Failed",
                "Stopped",
                "Ready",
            ]
            .contains(&s)
            {
                return Err(err(
                    "InvalidDeploymentStatusException",
                    format!("The specified deployment status is invalid: {s:?}"),
                ));
            }
            statuses.push(s.to_string());
        }
    }
    let range = b.get("createTimeRange").filter(|v| !v.is_null());
    let stamp = |k: &str| match range.and_then(|r| r.get(k)) {
        Some(v) => from_ts(v),
        None => Ok(None),
    };
    let (start, end) = (stamp("start")?, stamp("end")?);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(err(
            "InvalidTimeRangeException",
            "The specified time range was specified in an invalid format.",
        ));
    }
    let ids: Vec<String> = st
        .order
        .iter()
        .rev()
        .filter_map(|id| st.deployments.get(id))
        .filter(|d| d.region == region)
        .filter(|d| app.is_none_or(|a| d.application_name == a))
        .filter(|d| group.is_none_or(|g| d.group_name == g))
        .filter(|d| statuses.is_empty() || statuses.iter().any(|s| s == d.status.as_str()))
        .filter(|d| start.is_none_or(|s| d.create_time >= s))
        .filter(|d| end.is_none_or(|e| d.create_time <= e))
        .map(|d| d.id.clone())
        .collect();
    let (items, next) = page(&ids, b)?;
    let mut out = json!({"deployments": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

// ---------------------------------------------------------------------- targets

fn target_id(d: &Deployment) -> Option<String> {
    d.target
        .as_ref()
        .map(|t| format!("{}:{}", t.function, t.alias))
}

fn started(d: &Deployment) -> Result<(), AwsError> {
    if d.status == Status::Created {
        return Err(err(
            "DeploymentNotStartedException",
            format!("The deployment {} has not started.", d.id),
        ));
    }
    Ok(())
}

/// The deployment's target when `id` names it (`fn:alias`, or just `fn`).
fn find_target(d: &Deployment, id: &str) -> Result<Value, AwsError> {
    match &d.target {
        Some(t) if id == format!("{}:{}", t.function, t.alias) || id == t.function => {
            Ok(target_json(d))
        }
        _ => Err(err(
            "DeploymentTargetDoesNotExistException",
            format!(
                "The deployment target {id} of deployment {} does not exist.",
                d.id
            ),
        )),
    }
}

pub fn target_json(d: &Deployment) -> Value {
    let Some(t) = &d.target else {
        return Value::Null;
    };
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|e| {
            let mut v = json!({"lifecycleEventName": e.name, "status": e.status});
            if let Some(s) = e.start {
                v["startTime"] = ts(s);
            }
            if let Some(s) = e.end {
                v["endTime"] = ts(s);
            }
            if let Some(m) = &e.message {
                let code = if m.contains("did not report") {
                    "ScriptTimedOut"
                } else {
                    "ScriptFailed"
                };
                v["diagnostics"] = json!({"errorCode": code, "message": m, "scriptName": e.name, "logTail": ""});
            } else if e.status == "Succeeded" {
                v["diagnostics"] = json!({"errorCode": "Success", "message": "Succeeded", "scriptName": e.name, "logTail": ""});
            }
            v
        })
        .collect();
    json!({
        "deploymentTargetType": "LambdaTarget",
        "lambdaTarget": {
            "deploymentId": d.id,
            "targetId": format!("{}:{}", t.function, t.alias),
            "targetArn": format!("arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}:{}", d.region, t.function, t.alias),
            "status": t.status,
            "lastUpdatedAt": ts(t.last_updated),
            "lifecycleEvents": events,
            "lambdaFunctionInfo": {
                "functionName": t.function,
                "functionAlias": t.alias,
                "currentVersion": t.current_version,
                "targetVersion": t.target_version,
                "targetVersionWeight": t.weight,
            },
        },
    })
}

pub fn get_deployment_target(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let id = deployment_id(b)?;
    let Some(target) = opt_str(b, "targetId").filter(|s| !s.is_empty()) else {
        return Err(err(
            "DeploymentTargetIdRequiredException",
            "A deployment target ID was not provided.",
        ));
    };
    let d = st.deployment(region, &id)?;
    started(d)?;
    Ok(json!({"deploymentTarget": find_target(d, target)?}))
}

pub fn list_deployment_targets(st: &State, region: &str, b: &Value) -> Result<Value, AwsError> {
    let id = deployment_id(b)?;
    let d = st.deployment(region, &id)?;
    started(d)?;
    let mut wanted: Option<Vec<String>> = None;
    if let Some(filters) = b.get("targetFilters").and_then(Value::as_object) {
        for (k, vals) in filters {
            let vals: Vec<String> = vals
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            match k.as_str() {
                "TargetStatus" => wanted = Some(vals),
                "ServerInstanceLabel" => {}
                other => {
                    return Err(err(
                        "InvalidTargetFilterNameException",
                        format!("The target filter name {other} is invalid."),
                    ));
                }
            }
        }
    }
    let ids: Vec<String> = target_id(d)
        .into_iter()
        .filter(|_| {
            let status = d.target.as_ref().map(|t| t.status).unwrap_or("");
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|s| s == status))
        })
        .collect();
    let (items, next) = page(&ids, b)?;
    let mut out = json!({"targetIds": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

pub fn batch_get_deployment_targets(
    st: &State,
    region: &str,
    b: &Value,
) -> Result<Value, AwsError> {
    let id = deployment_id(b)?;
    let ids: Vec<&str> = b
        .get("targetIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(err(
            "DeploymentTargetIdRequiredException",
            "A deployment target ID was not provided.",
        ));
    }
    if ids.len() > BATCH_LIMIT {
        return Err(err(
            "DeploymentTargetListSizeExceededException",
            format!(
                "The maximum number of targets that can be associated with an Amazon ECS or AWS Lambda deployment was exceeded. The target list of both types of deployments must have exactly one item. This exception does not apply to EC2/On-premises deployments. At most {BATCH_LIMIT} ids per call."
            ),
        ));
    }
    let d = st.deployment(region, &id)?;
    started(d)?;
    let mut out = Vec::new();
    for t in ids {
        out.push(find_target(d, t)?);
    }
    Ok(json!({"deploymentTargets": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(check_role("arn:aws:iam::123456789012:role/CodeDeployRole").is_ok());
        assert!(check_role("arn:aws:iam::123456789012:role/service-role/cd-role_1").is_ok());
        for bad in [
            "CodeDeployRole",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert_eq!(
                check_role(bad).unwrap_err().code,
                "InvalidRoleException",
                "{bad}"
            );
        }
    }

    #[test]
    fn alarm_and_rollback_configs() {
        let eleven: Vec<Value> = (0..11).map(|i| json!({"name": format!("a{i}")})).collect();
        let e = parse_alarm_config(&json!({"enabled": true, "alarms": eleven})).unwrap_err();
        assert_eq!(e.code, "AlarmsLimitExceededException");
        let e = parse_alarm_config(&json!({"enabled": true, "alarms": []})).unwrap_err();
        assert_eq!(e.code, "InvalidAlarmConfigException");
        let e =
            parse_alarm_config(&json!({"enabled": true, "alarms": [{"name": "a"}, {"name": "a"}]}))
                .unwrap_err();
        assert_eq!(e.code, "InvalidAlarmConfigException");
        let ok = parse_alarm_config(&json!({"enabled": true, "alarms": [{"name": "a"}]})).unwrap();
        assert_eq!(ok.alarms, vec!["a".to_string()]);
        let e = parse_auto_rollback(&json!({"enabled": true, "events": []})).unwrap_err();
        assert_eq!(e.code, "InvalidAutoRollbackConfigException");
        let e =
            parse_auto_rollback(&json!({"enabled": true, "events": ["SOMETIMES"]})).unwrap_err();
        assert_eq!(e.code, "InvalidAutoRollbackConfigException");
    }

    #[test]
    fn revisions_check_sha256() {
        let content = "version: 0.0";
        let sha = hex::encode(Sha256::digest(content.as_bytes()));
        let ok = json!({"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha}});
        assert_eq!(revision_content(&ok).unwrap(), content);
        let bad = json!({"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": "00"}});
        assert_eq!(
            revision_content(&bad).unwrap_err().code,
            "InvalidRevisionException"
        );
        let s3 = json!({"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k"}});
        assert_eq!(
            revision_content(&s3).unwrap_err().code,
            "InvalidRevisionException"
        );
    }

    #[test]
    fn ids_and_pages() {
        assert!(deployment_id_ok("d-ABCDE1234"));
        assert!(!deployment_id_ok("d-abc"));
        assert!(!deployment_id_ok("x-ABCDE1234"));
        let items: Vec<u32> = (0..250).collect();
        let (p1, n1) = page(&items, &json!({})).unwrap();
        assert_eq!((p1.len(), n1.as_deref()), (100, Some("sim-100")));
        let (p3, n3) = page(&items, &json!({"nextToken": "sim-200"})).unwrap();
        assert_eq!((p3.len(), n3), (50, None));
        assert_eq!(
            page(&items, &json!({"nextToken": "zzz"})).unwrap_err().code,
            "InvalidNextTokenException"
        );
    }
}
