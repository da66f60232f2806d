//! Lambda's HTTP face: maps `/2015-03-31/…` requests to operations, reads
//! their inputs, applies them to the [`Store`](super::store::Store) and
//! renders restJson1 results. Rules live in `store.rs`; this module only
//! decodes, validates shapes and encodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::code::{self, CodeInfo};
use super::names::{self, parse_function_ref};
use super::shapes::{self, opt_bool, opt_i64, opt_obj, opt_str};
use super::store::{self, Alias, FnConfig, Function, UpdateKind, invalid, new_revision};
use super::{Lambda, metrics, policy};
use crate::Sim;
use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{self, Body, Request};

/// A Lambda request's operation and path parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub op: &'static str,
    pub function: Option<String>,
    pub alias: Option<String>,
    /// RemovePermission's statement id.
    pub statement: Option<String>,
}

/// Maps method + path to an operation (`None` when Lambda has no such route).
pub fn route(method: &Method, path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/2015-03-31/functions")?;
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(crate::auth::pct_decode)
        .collect();
    let r = |op, function: Option<&String>, alias: Option<&String>| {
        Some(Route {
            op,
            function: function.cloned(),
            alias: alias.cloned(),
            statement: None,
        })
    };
    match (method, segs.as_slice()) {
        (&Method::POST, []) => r("CreateFunction", None, None),
        (&Method::GET, []) => r("ListFunctions", None, None),
        (&Method::GET, [f]) => r("GetFunction", Some(f), None),
        (&Method::DELETE, [f]) => r("DeleteFunction", Some(f), None),
        (&Method::GET, [f, c]) if c == "configuration" => {
            r("GetFunctionConfiguration", Some(f), None)
        }
        (&Method::PUT, [f, c]) if c == "configuration" => {
            r("UpdateFunctionConfiguration", Some(f), None)
        }
        (&Method::PUT, [f, c]) if c == "code" => r("UpdateFunctionCode", Some(f), None),
        (&Method::POST, [f, c]) if c == "versions" => r("PublishVersion", Some(f), None),
        (&Method::GET, [f, c]) if c == "versions" => r("ListVersionsByFunction", Some(f), None),
        (&Method::POST, [f, c]) if c == "aliases" => r("CreateAlias", Some(f), None),
        (&Method::GET, [f, c]) if c == "aliases" => r("ListAliases", Some(f), None),
        (&Method::GET, [f, c, a]) if c == "aliases" => r("GetAlias", Some(f), Some(a)),
        (&Method::PUT, [f, c, a]) if c == "aliases" => r("UpdateAlias", Some(f), Some(a)),
        (&Method::DELETE, [f, c, a]) if c == "aliases" => r("DeleteAlias", Some(f), Some(a)),
        (&Method::POST, [f, c]) if c == "invocations" => r("Invoke", Some(f), None),
        (&Method::POST, [f, c]) if c == "policy" => r("AddPermission", Some(f), None),
        (&Method::GET, [f, c]) if c == "policy" => r("GetPolicy", Some(f), None),
        (&Method::DELETE, [f, c, sid]) if c == "policy" => Some(Route {
            op: "RemovePermission",
            function: Some(f.clone()),
            alias: None,
            statement: Some(sid.clone()),
        }),
        _ => None,
    }
}

/// Everything a handler needs from the request.
struct Input {
    region: String,
    request_id: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: bytes::Bytes,
    /// The body as a JSON object, parsed once (request validation and the
    /// handler both read it; bodies carry zip files of up to 50 MB).
    parsed: Result<Map<String, Value>, AwsError>,
    function: Option<String>,
    alias: Option<String>,
    statement: Option<String>,
}

impl Input {
    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<&Map<String, Value>, AwsError> {
        self.parsed.as_ref().map_err(Clone::clone)
    }

    /// The function name from the path, refusing a qualifier in it.
    fn unqualified(&self) -> Result<String, AwsError> {
        let (name, q) = parse_function_ref(self.function.as_deref().unwrap_or(""))?;
        if let Some(q) = q {
            return Err(invalid(format!(
                "Unsupported qualifier '{q}' in the function name for this operation"
            )));
        }
        Ok(name)
    }

    /// Name and qualifier from the path and the `Qualifier` query parameter.
    fn qualified(&self) -> Result<(String, Option<String>), AwsError> {
        let (name, from_name) = parse_function_ref(self.function.as_deref().unwrap_or(""))?;
        let from_query = self.query("Qualifier").map(str::to_string);
        if let Some(q) = &from_query
            && !names::valid_qualifier(q)
        {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
                ),
            ));
        }
        match (from_name, from_query) {
            (Some(a), Some(b)) if a != b => Err(invalid(
                "The derived qualifier from the function name does not match the specified qualifier.",
            )),
            (a, b) => Ok((name, a.or(b))),
        }
    }
}

fn ok(status: StatusCode, input: &Input, v: &Value) -> Response<Body> {
    wire::rest_json_ok(status, &input.request_id, v)
}

fn no_content(input: &Input) -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("x-amzn-requestid", input.request_id.as_str())
        .body(wire::empty())
        .expect("valid response")
}

pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let Some(route) = route(req.method(), req.uri().path()) else {
        return Err(AwsError::not_found(
            "UnknownOperationException",
            "Unknown operation",
        ));
    };
    let limit = match route.op {
        "CreateFunction" | "UpdateFunctionCode" => code::MAX_CODE_REQUEST,
        "Invoke" => 6 * 1024 * 1024,
        _ => 1024 * 1024,
    };
    let query = crate::auth::form_pairs(req.uri().query().unwrap_or(""));
    let headers = req.headers().clone();
    let body = wire::read_body(req.into_body(), limit).await.map_err(|e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            let (code, op) = match route.op {
                "Invoke" => ("RequestTooLargeException", "InvokeFunction"),
                op => ("RequestEntityTooLargeException", op),
            };
            AwsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code,
                format!("Request must be smaller than {limit} bytes for the {op} operation"),
            )
        } else {
            e
        }
    })?;
    let input = Input {
        region: ctx.region.clone(),
        request_id: ctx.request_id.clone(),
        query,
        headers,
        parsed: shapes::parse_body(&body),
        body,
        function: route.function,
        alias: route.alias,
        statement: route.statement,
    };
    check_request(route.op, &input)?;
    let lambda = &sim.lambda;
    match route.op {
        "CreateFunction" => create_function(sim, lambda, &input).await,
        "GetFunction" => get_function(lambda, &input, true),
        "GetFunctionConfiguration" => get_function(lambda, &input, false),
        "UpdateFunctionCode" => update_function_code(sim, lambda, &input).await,
        "UpdateFunctionConfiguration" => update_function_configuration(sim, lambda, &input),
        "DeleteFunction" => delete_function(lambda, &input),
        "ListFunctions" => list_functions(lambda, &input),
        "PublishVersion" => publish_version(sim, lambda, &input),
        "ListVersionsByFunction" => list_versions(lambda, &input),
        "CreateAlias" => create_alias(lambda, &input),
        "GetAlias" => get_alias(lambda, &input),
        "UpdateAlias" => update_alias(lambda, &input),
        "DeleteAlias" => delete_alias(lambda, &input),
        "ListAliases" => list_aliases(lambda, &input),
        "Invoke" => invoke(sim, lambda, &input),
        "AddPermission" => add_permission(lambda, &input),
        "GetPolicy" => get_policy(lambda, &input),
        "RemovePermission" => remove_permission(lambda, &input),
        _ => Err(AwsError::internal("unrouted Lambda operation")),
    }
}

// ---------------------------------------------------------------- validation

/// The model's required members and enums (body, headers, query), before
/// the operation looks anything up: `ValidationException` listing every
/// violation, as Lambda's request validation words it. A body that is not
/// JSON is left to the handler (`InvalidRequestContentException`).
fn check_request(operation: &str, input: &Input) -> Result<(), AwsError> {
    use crate::validate::{self, Check, Location, Rule, Step, Violation};
    let mut violations = match &input.parsed {
        Ok(body) => validate::check_object("lambda", operation, body),
        Err(_) => Vec::new(),
    };
    for p in validate::model::parameters("lambda", operation) {
        let value = match p.location {
            Location::Header => input.headers.get(p.name).and_then(|v| v.to_str().ok()),
            Location::Query => input.query(p.name),
        };
        if let Some(bad) = value.and_then(|v| validate::refused(p, v)) {
            violations.push(Violation {
                rule: Rule {
                    path: p.member,
                    check: Check::OneOf(p.values),
                },
                at: vec![Step::Member(p.member.to_string())],
                value: Some(bad.to_string()),
                map_key: false,
            });
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(AwsError::bad_request(
            "ValidationException",
            validate::message(&violations),
        ))
    }
}

fn required<'a>(m: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, AwsError> {
    opt_str(m, key)?.ok_or_else(|| {
        AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ),
        )
    })
}

const SUPPORTED_RUNTIMES: &[&str] = &[
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "java11",
    "java17",
    "java21",
    "java25",
    "java8.al2",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
    "provided.al2",
    "provided.al2023",
];
const DEPRECATED_RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
];

fn check_runtime(r: &str) -> Result<(), AwsError> {
    if SUPPORTED_RUNTIMES.contains(&r) {
        Ok(())
    } else if DEPRECATED_RUNTIMES.contains(&r) {
        Err(invalid(format!(
            "The runtime parameter of {r} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        )))
    } else {
        Err(AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{r}' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                SUPPORTED_RUNTIMES.join(", ")
            ),
        ))
    }
}

fn check_role(role: &str) -> Result<(), AwsError> {
    let ok = role.starts_with("arn:aws")
        && role
            .split_once(":iam::")
            .and_then(|(_, rest)| rest.split_once(":role"))
            .is_some_and(|(acct, name)| {
                acct.len() == 12 && acct.chars().all(|c| c.is_ascii_digit()) && name.len() > 1
            });
    if ok {
        Ok(())
    } else {
        Err(AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
            ),
        ))
    }
}

/// Applies the configuration members present in `m` onto `c`.
fn apply_config(m: &Map<String, Value>, c: &mut FnConfig) -> Result<(), AwsError> {
    if let Some(r) = opt_str(m, "Runtime")? {
        check_runtime(r)?;
        c.runtime = Some(r.to_string());
    }
    if let Some(r) = opt_str(m, "Role")? {
        check_role(r)?;
        c.role = r.to_string();
    }
    if let Some(h) = opt_str(m, "Handler")? {
        if h.len() > 128 || h.chars().any(char::is_whitespace) {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{h}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+"
                ),
            ));
        }
        c.handler = Some(h.to_string());
    }
    if let Some(d) = opt_str(m, "Description")? {
        if d.chars().count() > 256 {
            return Err(AwsError::bad_request(
                "ValidationException",
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
            ));
        }
        c.description = d.to_string();
    }
    if let Some(t) = opt_i64(m, "Timeout")? {
        if t < 1 {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{t}' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"
                ),
            ));
        }
        if t > 900 {
            return Err(invalid(format!(
                "'Timeout' value {t} failed to satisfy constraint: Member must have value less than or equal to 900"
            )));
        }
        c.timeout = t;
    }
    if let Some(mem) = opt_i64(m, "MemorySize")? {
        if !(128..=32768).contains(&mem) {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{mem}' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 32768"
                ),
            ));
        }
        if mem > 10240 {
            return Err(invalid(
                "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240",
            ));
        }
        c.memory_size = mem;
    }
    if let Some(env) = opt_obj(m, "Environment")? {
        let mut vars = BTreeMap::new();
        if let Some(v) = opt_obj(env, "Variables")? {
            for (k, val) in v {
                let Some(s) = val.as_str() else {
                    return Err(AwsError::bad_request(
                        "InvalidRequestContentException",
                        "Could not parse request body into json: environment variable values must be strings",
                    ));
                };
                vars.insert(k.clone(), s.to_string());
            }
        }
        let size: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > 4096 {
            return Err(invalid(
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.",
            ));
        }
        c.environment = Some(vars);
    }
    Ok(())
}

/// Reads the code of CreateFunction (`Code`) or UpdateFunctionCode (top level).
async fn read_code(sim: &Arc<Sim>, m: &Map<String, Value>) -> Result<CodeInfo, AwsError> {
    if opt_str(m, "ImageUri")?.is_some() {
        return Err(invalid(
            "aws-sim does not simulate container image functions (ImageUri); use a .zip deployment package",
        ));
    }
    let zip_file = opt_str(m, "ZipFile")?;
    let bucket = opt_str(m, "S3Bucket")?;
    let key = opt_str(m, "S3Key")?;
    let bytes: Vec<u8> = match (zip_file, bucket, key) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(invalid(
                "Please do not provide other FunctionCode parameters when providing a ZipFile.",
            ));
        }
        (Some(z), None, None) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(z)
                .map_err(|_| {
                    AwsError::bad_request(
                        "InvalidRequestContentException",
                        "Could not parse request body into json: ZipFile is not valid base64",
                    )
                })?;
            if bytes.len() > code::MAX_DIRECT_ZIP {
                return Err(AwsError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLargeException",
                    format!(
                        "Zipped size must be smaller than {} bytes",
                        code::MAX_DIRECT_ZIP
                    ),
                ));
            }
            bytes
        }
        (None, Some(b), Some(k)) => match sim.s3.get_object_internal(b, k) {
            Ok((data, _)) => data,
            Err(e) => {
                return Err(invalid(format!(
                    "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
                    e.code, e.message
                )));
            }
        },
        _ => return Err(invalid("Please provide a source for function code.")),
    };
    tokio::task::spawn_blocking(move || code::inspect(bytes))
        .await
        .map_err(|e| AwsError::internal(format!("code inspection failed: {e}")))?
}

// ---------------------------------------------------------------- functions

async fn create_function(
    sim: &Arc<Sim>,
    lambda: &Lambda,
    input: &Input,
) -> Result<Response<Body>, AwsError> {
    let m = input.json()?;
    let raw = required(m, "FunctionName", "functionName")?;
    let (name, q) = parse_function_ref(raw)?;
    if q.is_some() {
        return Err(invalid(
            "Unqualified function name expected for CreateFunction",
        ));
    }
    let role = required(m, "Role", "role")?;
    check_role(role)?;
    if opt_str(m, "PackageType")? == Some("Image") {
        return Err(invalid(
            "aws-sim does not simulate container image functions (PackageType Image)",
        ));
    }
    let code_obj = opt_obj(m, "Code")?.ok_or_else(|| {
        AwsError::bad_request(
            "ValidationException",
            "1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null",
        )
    })?;
    if opt_str(m, "Runtime")?.is_none() || opt_str(m, "Handler")?.is_none() {
        return Err(invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    }
    // Shape validation before the (possibly slow) code read.
    let mut config = FnConfig {
        runtime: None,
        role: role.to_string(),
        handler: None,
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        environment: None,
        code: CodeInfo {
            sha256: String::new(),
            size: 0,
            behavior: Default::default(),
            bytes: Default::default(),
        },
    };
    apply_config(m, &mut config)?;
    if lambda.function_exists(&input.region, &name) {
        return Err(function_exists(&name));
    }
    config.code = read_code(sim, code_obj).await?;
    let publish = opt_bool(m, "Publish")?.unwrap_or(false);
    let now = sim.clock.now();
    let mut st = crate::lock(&lambda.store);
    let functions = st.regions.entry(input.region.clone()).or_default();
    if functions.contains_key(&name) {
        return Err(function_exists(&name));
    }
    let mut f = Function {
        name: name.clone(),
        config,
        revision_id: new_revision(),
        last_modified: now,
        update_until: None,
        versions: BTreeMap::new(),
        last_version: 0,
        aliases: BTreeMap::new(),
        code_location_id: new_revision(),
        policies: BTreeMap::new(),
    };
    let published = if publish {
        Some(f.publish(&input.region, now, None, None, None)?)
    } else {
        None
    };
    f.mutated(now, lambda.update_delay, UpdateKind::Create);
    let view = match published {
        Some(n) => {
            let mut v = f.version_view(&f.versions[&n]);
            v.state = "Pending";
            v
        }
        None => f.latest_view(),
    };
    functions.insert(name, f);
    st.schedule(now + lambda.update_delay);
    Ok(ok(
        StatusCode::CREATED,
        input,
        &shapes::function_configuration(&input.region, &view),
    ))
}

fn function_exists(name: &str) -> AwsError {
    AwsError::new(
        StatusCode::CONFLICT,
        "ResourceConflictException",
        format!("Function already exist: {name}"),
    )
}

fn get_function(
    lambda: &Lambda,
    input: &Input,
    with_code: bool,
) -> Result<Response<Body>, AwsError> {
    let (name, q) = input.qualified()?;
    let st = crate::lock(&lambda.store);
    let f = st.function(&input.region, &name)?;
    let view = f.view(&input.region, q.as_deref())?;
    let conf = shapes::function_configuration(&input.region, &view);
    let out = if with_code {
        let host = input
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let key = format!("{}-{}", view.name, view.code_location_id);
        let url = crate::lock(&lambda.links).issue(
            host,
            &key,
            view.config.code.bytes.0.clone(),
            std::time::Instant::now(),
        );
        json!({
            "Configuration": conf,
            "Code": { "RepositoryType": "S3", "Location": url },
        })
    } else {
        conf
    };
    Ok(ok(StatusCode::OK, input, &out))
}

async fn update_function_code(
    sim: &Arc<Sim>,
    lambda: &Lambda,
    input: &Input,
) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let m = input.json()?;
    let revision = opt_str(m, "RevisionId")?;
    let publish = opt_bool(m, "Publish")?.unwrap_or(false);
    let dry_run = opt_bool(m, "DryRun")?.unwrap_or(false);
    if dry_run && publish {
        return Err(invalid("DryRun and Publish cannot both be true."));
    }
    {
        let st = crate::lock(&lambda.store);
        let f = st.function(&input.region, &name)?;
        f.check_revision(revision)?;
        f.check_not_in_progress(&input.region)?;
    }
    let info = read_code(sim, m).await?;
    let now = sim.clock.now();
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    f.check_revision(revision)?;
    f.check_not_in_progress(&input.region)?;
    if dry_run {
        let mut view = f.latest_view();
        view.config.code = info;
        return Ok(ok(
            StatusCode::OK,
            input,
            &shapes::function_configuration(&input.region, &view),
        ));
    }
    f.config.code = info;
    let published = if publish {
        Some(f.publish(&input.region, now, None, None, None)?)
    } else {
        None
    };
    f.mutated(now, lambda.update_delay, UpdateKind::Update);
    let view = match published {
        Some(n) => f.version_view(&f.versions[&n]),
        None => f.latest_view(),
    };
    st.schedule(now + lambda.update_delay);
    Ok(ok(
        StatusCode::OK,
        input,
        &shapes::function_configuration(&input.region, &view),
    ))
}

fn update_function_configuration(
    sim: &Arc<Sim>,
    lambda: &Lambda,
    input: &Input,
) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let m = input.json()?;
    let revision = opt_str(m, "RevisionId")?;
    let now = sim.clock.now();
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    let mut config = f.config.clone();
    apply_config(m, &mut config)?;
    f.check_revision(revision)?;
    f.check_not_in_progress(&input.region)?;
    f.config = config;
    f.mutated(now, lambda.update_delay, UpdateKind::Update);
    let view = f.latest_view();
    st.schedule(now + lambda.update_delay);
    Ok(ok(
        StatusCode::OK,
        input,
        &shapes::function_configuration(&input.region, &view),
    ))
}

fn delete_function(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let (name, q) = input.qualified()?;
    let mut st = crate::lock(&lambda.store);
    let region = input.region.clone();
    match q.as_deref() {
        None => {
            st.function(&region, &name)?;
            if let Some(m) = st.regions.get_mut(&region) {
                m.remove(&name);
            }
        }
        Some("$LATEST") => {
            return Err(invalid(
                "$LATEST version cannot be deleted without deleting the function.",
            ));
        }
        Some(q) => {
            let f = st.function_mut(&region, &name)?;
            let Some(n) = q.parse::<u64>().ok().filter(|n| f.versions.contains_key(n)) else {
                if f.aliases.contains_key(q) {
                    return Err(invalid(
                        "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.",
                    ));
                }
                return Err(store::not_found(&region, &name, Some(q)));
            };
            let users: Vec<String> = f
                .aliases
                .values()
                .filter(|a| {
                    a.function_version == q || a.routing.as_ref().is_some_and(|(v, _)| v == q)
                })
                .map(|a| a.name.clone())
                .collect();
            if !users.is_empty() {
                return Err(AwsError::new(
                    StatusCode::CONFLICT,
                    "ResourceConflictException",
                    format!(
                        "Unable to delete version because the following aliases reference it: [{}]",
                        users.join(", ")
                    ),
                ));
            }
            f.versions.remove(&n);
            f.policies.remove(q);
        }
    }
    Ok(no_content(input))
}

/// `Marker`/`MaxItems` paging over a list; markers are opaque offsets.
fn page<T: Clone>(items: &[T], input: &Input) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = match input.query("MaxItems") {
        None => 50,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=10000).contains(&n) => n,
            _ => {
                return Err(AwsError::bad_request(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{s}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                    ),
                ));
            }
        },
    };
    let start = match input.query("Marker") {
        None | Some("") => 0,
        Some(mk) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(mk)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("sim-offset:").and_then(|n| n.parse().ok()))
            .filter(|n: &usize| *n <= items.len())
            .ok_or_else(|| invalid(format!("Invalid marker: {mk}")))?,
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sim-offset:{end}"))
    });
    Ok((items[start..end].to_vec(), next))
}

fn with_marker(mut v: Value, next: Option<String>) -> Value {
    if let Some(n) = next {
        v.as_object_mut()
            .expect("object")
            .insert("NextMarker".into(), n.into());
    }
    v
}

fn list_functions(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let all_versions = match input.query("FunctionVersion") {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
                ),
            ));
        }
    };
    let st = crate::lock(&lambda.store);
    let mut items = Vec::new();
    if let Some(fs) = st.functions(&input.region) {
        for f in fs.values() {
            items.push(shapes::function_configuration(
                &input.region,
                &f.latest_view(),
            ));
            if all_versions {
                for v in f.versions.values() {
                    items.push(shapes::function_configuration(
                        &input.region,
                        &f.version_view(v),
                    ));
                }
            }
        }
    }
    drop(st);
    let (page, next) = page(&items, input)?;
    Ok(ok(
        StatusCode::OK,
        input,
        &with_marker(json!({ "Functions": page }), next),
    ))
}

fn publish_version(
    sim: &Arc<Sim>,
    lambda: &Lambda,
    input: &Input,
) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let m = input.json()?;
    let sha = opt_str(m, "CodeSha256")?;
    let revision = opt_str(m, "RevisionId")?;
    let description = opt_str(m, "Description")?;
    if description.is_some_and(|d| d.chars().count() > 256) {
        return Err(AwsError::bad_request(
            "ValidationException",
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
        ));
    }
    let now = sim.clock.now();
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    let n = f.publish(&input.region, now, sha, revision, description)?;
    let view = f.version_view(&f.versions[&n]);
    Ok(ok(
        StatusCode::CREATED,
        input,
        &shapes::function_configuration(&input.region, &view),
    ))
}

fn list_versions(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let st = crate::lock(&lambda.store);
    let f = st.function(&input.region, &name)?;
    let mut items = vec![shapes::function_configuration(
        &input.region,
        &f.latest_view(),
    )];
    for v in f.versions.values() {
        items.push(shapes::function_configuration(
            &input.region,
            &f.version_view(v),
        ));
    }
    drop(st);
    let (page, next) = page(&items, input)?;
    Ok(ok(
        StatusCode::OK,
        input,
        &with_marker(json!({ "Versions": page }), next),
    ))
}

// ---------------------------------------------------------------- aliases

/// `RoutingConfig.AdditionalVersionWeights` as given (`None` when absent).
fn read_routing(m: &Map<String, Value>) -> Result<Option<BTreeMap<String, f64>>, AwsError> {
    let Some(rc) = opt_obj(m, "RoutingConfig")? else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    if let Some(w) = opt_obj(rc, "AdditionalVersionWeights")? {
        for (k, v) in w {
            let Some(x) = v.as_f64() else {
                return Err(AwsError::bad_request(
                    "InvalidRequestContentException",
                    "Could not parse request body into json: weights must be numbers",
                ));
            };
            out.insert(k.clone(), x);
        }
    }
    Ok(Some(out))
}

fn check_description(d: Option<&str>) -> Result<(), AwsError> {
    if d.is_some_and(|d| d.chars().count() > 256) {
        return Err(AwsError::bad_request(
            "ValidationException",
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
        ));
    }
    Ok(())
}

fn create_alias(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let m = input.json()?;
    let alias = required(m, "Name", "name")?;
    names::validate_alias(alias, "name")?;
    let version = required(m, "FunctionVersion", "functionVersion")?;
    names::validate_version(version, "functionVersion")?;
    let description = opt_str(m, "Description")?;
    check_description(description)?;
    let routing = read_routing(m)?;
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    if f.aliases.contains_key(alias) {
        return Err(AwsError::new(
            StatusCode::CONFLICT,
            "ResourceConflictException",
            format!(
                "Alias already exists: {}",
                names::qualified_arn(&input.region, &name, alias)
            ),
        ));
    }
    let routing = f.check_alias_target(&input.region, version, routing.as_ref())?;
    let a = Alias {
        name: alias.to_string(),
        function_version: version.to_string(),
        description: description.unwrap_or("").to_string(),
        routing,
        revision_id: new_revision(),
    };
    let out = shapes::alias_configuration(&input.region, &name, &a);
    f.aliases.insert(a.name.clone(), a);
    Ok(ok(StatusCode::CREATED, input, &out))
}

fn path_alias(input: &Input) -> Result<String, AwsError> {
    let a = input.alias.clone().unwrap_or_default();
    names::validate_alias(&a, "name")?;
    Ok(a)
}

fn get_alias(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let alias = path_alias(input)?;
    let st = crate::lock(&lambda.store);
    let f = st.function(&input.region, &name)?;
    let a = f
        .aliases
        .get(&alias)
        .ok_or_else(|| store::alias_not_found(&input.region, &name, &alias))?;
    Ok(ok(
        StatusCode::OK,
        input,
        &shapes::alias_configuration(&input.region, &name, a),
    ))
}

fn update_alias(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let alias = path_alias(input)?;
    let m = input.json()?;
    let version = opt_str(m, "FunctionVersion")?;
    if let Some(v) = version {
        names::validate_version(v, "functionVersion")?;
    }
    let description = opt_str(m, "Description")?;
    check_description(description)?;
    let routing = read_routing(m)?;
    let revision = opt_str(m, "RevisionId")?;
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    let current = f
        .aliases
        .get(&alias)
        .ok_or_else(|| store::alias_not_found(&input.region, &name, &alias))?
        .clone();
    Function::check_alias_revision(&current, revision)?;
    let version = version.unwrap_or(&current.function_version).to_string();
    let routing = match routing {
        Some(r) => f.check_alias_target(&input.region, &version, Some(&r))?,
        None => {
            let kept: Option<BTreeMap<String, f64>> = current
                .routing
                .clone()
                .map(|(v, w)| BTreeMap::from([(v, w)]));
            f.check_alias_target(&input.region, &version, kept.as_ref())?
        }
    };
    let a = Alias {
        name: alias.clone(),
        function_version: version,
        description: description
            .map(str::to_string)
            .unwrap_or(current.description),
        routing,
        revision_id: new_revision(),
    };
    let out = shapes::alias_configuration(&input.region, &name, &a);
    f.aliases.insert(alias, a);
    Ok(ok(StatusCode::OK, input, &out))
}

fn delete_alias(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let alias = path_alias(input)?;
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    f.aliases.remove(&alias);
    f.policies.remove(&alias);
    Ok(no_content(input))
}

fn list_aliases(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let name = input.unqualified()?;
    let filter = input.query("FunctionVersion");
    if let Some(v) = filter {
        names::validate_version(v, "functionVersion")?;
    }
    let st = crate::lock(&lambda.store);
    let f = st.function(&input.region, &name)?;
    let items: Vec<Value> = f
        .aliases
        .values()
        .filter(|a| {
            filter.is_none_or(|v| {
                a.function_version == v || a.routing.as_ref().is_some_and(|(x, _)| x == v)
            })
        })
        .map(|a| shapes::alias_configuration(&input.region, &name, a))
        .collect();
    drop(st);
    let (page, next) = page(&items, input)?;
    Ok(ok(
        StatusCode::OK,
        input,
        &with_marker(json!({ "Aliases": page }), next),
    ))
}

// ---------------------------------------------------------------- policies

/// AddPermission: a statement on the function's policy, or (Qualifier) a
/// version's or an alias's; 201 with the statement as a JSON string.
fn add_permission(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let (name, qualifier) = input.qualified()?;
    let permission = policy::Permission::from_json(input.json()?)?;
    if qualifier.as_deref() == Some("$LATEST") {
        return Err(policy::latest_not_supported());
    }
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    let key = f.policy_key(&input.region, qualifier.as_deref())?;
    check_policy_revision(f, &key, permission.revision_id.as_deref())?;
    let resource = match &qualifier {
        Some(q) => names::qualified_arn(&input.region, &name, q),
        None => names::function_arn(&input.region, &name),
    };
    let statement = permission.statement(&resource);
    let text = statement.document.to_string();
    f.policies.entry(key.clone()).or_default().add(statement)?;
    f.renew_policy_revision(&key);
    Ok(ok(
        StatusCode::CREATED,
        input,
        &json!({ "Statement": text }),
    ))
}

/// GetPolicy: the policy document (a JSON string) and its RevisionId.
fn get_policy(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let (name, qualifier) = input.qualified()?;
    let st = crate::lock(&lambda.store);
    let f = st.function(&input.region, &name)?;
    let key = f.policy_key(&input.region, qualifier.as_deref())?;
    let policy = f.policies.get(&key).ok_or_else(policy::no_policy)?;
    Ok(ok(
        StatusCode::OK,
        input,
        &json!({ "Policy": policy.document(), "RevisionId": f.policy_revision(&key) }),
    ))
}

/// RemovePermission: removes one statement (the policy goes with its last).
fn remove_permission(lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let (name, qualifier) = input.qualified()?;
    let sid = input.statement.clone().unwrap_or_default();
    policy::check_sid(&sid, "statementId", true)?;
    let mut st = crate::lock(&lambda.store);
    let f = st.function_mut(&input.region, &name)?;
    let key = f.policy_key(&input.region, qualifier.as_deref())?;
    check_policy_revision(f, &key, input.query("RevisionId"))?;
    let policy = f
        .policies
        .get_mut(&key)
        .ok_or_else(|| policy::statement_not_found(&sid))?;
    policy.remove(&sid)?;
    if policy.statements.is_empty() {
        f.policies.remove(&key);
    }
    f.renew_policy_revision(&key);
    Ok(no_content(input))
}

/// The `RevisionId` precondition of AddPermission/RemovePermission.
fn check_policy_revision(f: &Function, key: &str, revision: Option<&str>) -> Result<(), AwsError> {
    match revision {
        Some(r) if r != f.policy_revision(key) => Err(AwsError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id",
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- invoke

fn invoke(sim: &Arc<Sim>, lambda: &Lambda, input: &Input) -> Result<Response<Body>, AwsError> {
    let (name, qualifier) = input.qualified()?;
    let header = |k: &str| input.headers.get(k).and_then(|v| v.to_str().ok());
    let invocation_type = header("x-amz-invocation-type").unwrap_or("RequestResponse");
    if !matches!(invocation_type, "RequestResponse" | "Event" | "DryRun") {
        return Err(AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ),
        ));
    }
    let log_type = header("x-amz-log-type").unwrap_or("None");
    if !matches!(log_type, "None" | "Tail") {
        return Err(AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{log_type}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
            ),
        ));
    }
    if invocation_type == "Event" && input.body.len() > 1024 * 1024 {
        return Err(AwsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            "Request must be smaller than 1048576 bytes for the InvokeAsync operation",
        ));
    }
    if !input.body.is_empty() && serde_json::from_slice::<Value>(&input.body).is_err() {
        return Err(AwsError::bad_request(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json: Unexpected character",
        ));
    }
    if invocation_type == "DryRun" {
        lambda.resolve(&input.region, &name, qualifier.as_deref())?;
        return Ok(no_content(input));
    }
    let outcome = lambda.invoke_internal(&input.region, &name, qualifier.as_deref())?;
    metrics::record(
        sim,
        &input.region,
        &name,
        qualifier.as_deref(),
        &[metrics::VersionCount {
            version: outcome.executed_version.clone(),
            invocations: 1,
            errors: u64::from(outcome.error),
            duration_ms: outcome.duration_ms,
        }],
        sim.clock.now(),
    );
    let mut b = Response::builder().header("x-amzn-requestid", input.request_id.as_str());
    if invocation_type == "Event" {
        return Ok(b
            .status(StatusCode::ACCEPTED)
            .body(wire::empty())
            .expect("valid response"));
    }
    b = b
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("x-amz-executed-version", outcome.executed_version.as_str());
    if log_type == "Tail" {
        let id = &input.request_id;
        let d = outcome.duration_ms;
        let log = format!(
            "START RequestId: {id} Version: {v}\n{err}END RequestId: {id}\nREPORT RequestId: {id}\tDuration: {d:.2} ms\tBilled Duration: {billed} ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\t\n",
            v = outcome.executed_version,
            err = if outcome.error {
                "ERROR\tUnhandled\tSimulated failure (aws-sim .sim/behavior.json errorRate)\n"
            } else {
                ""
            },
            billed = d.ceil().max(1.0) as u64,
        );
        b = b.header(
            "x-amz-log-result",
            base64::engine::general_purpose::STANDARD.encode(log),
        );
    }
    let payload = if outcome.error {
        b = b.header("x-amz-function-error", "Unhandled");
        json!({
            "errorType": "Error",
            "errorMessage": "Simulated failure (aws-sim: errorRate in .sim/behavior.json)",
            "trace": [],
        })
    } else {
        Value::Null
    };
    Ok(
        b.body(wire::full(serde_json::to_vec(&payload).expect("json")))
            .expect("valid response"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = route(&Method::GET, "/2015-03-31/functions/").unwrap();
        assert_eq!(r.op, "ListFunctions");
        let r = route(
            &Method::GET,
            "/2015-03-31/functions/fn%3Alive/configuration",
        )
        .unwrap();
        assert_eq!(r.op, "GetFunctionConfiguration");
        assert_eq!(r.function.as_deref(), Some("fn:live"));
        let r = route(&Method::PUT, "/2015-03-31/functions/fn/aliases/live").unwrap();
        assert_eq!((r.op, r.alias.as_deref()), ("UpdateAlias", Some("live")));
        let r = route(&Method::DELETE, "/2015-03-31/functions/fn/policy/sid-1").unwrap();
        assert_eq!(
            (r.op, r.statement.as_deref()),
            ("RemovePermission", Some("sid-1"))
        );
        assert_eq!(
            route(&Method::GET, "/2015-03-31/functions/fn/policy")
                .unwrap()
                .op,
            "GetPolicy"
        );
        assert_eq!(
            route(&Method::POST, "/2015-03-31/functions/fn/policy")
                .unwrap()
                .op,
            "AddPermission"
        );
        assert!(route(&Method::PATCH, "/2015-03-31/functions/fn").is_none());
        assert!(route(&Method::GET, "/2015-03-31/layers").is_none());
    }
}
