//! Lambda (restJson1, `/2015-03-31/…`): functions, versions, aliases with
//! weighted routing, and simulated invocations. The `pub` methods on
//! [`Lambda`] are the internal contract other sim modules (CodeDeploy,
//! traffic) rely on.
//!
//! | operation | simulated |
//! |---|---|
//! | CreateFunction | ZipFile (≤ 50 MB, 413 `RequestEntityTooLargeException` beyond) or S3Bucket/S3Key from the sim's S3; `CodeSha256` = base64 SHA-256 of the zip; unzipped size (central directory only) ≤ 250 MB else `InvalidParameterValueException`; `Publish`; `State: Pending` + `LastUpdateStatus: InProgress` for `--lambda-update-delay`, then `Active`/`Successful` with a new RevisionId. Container images are refused. |
//! | GetFunction, GetFunctionConfiguration | `Qualifier` (query or `fn:qualifier`), version or alias. `Code.Location` is a dummy URL: the sim keeps no code bytes. |
//! | UpdateFunctionCode | ZipFile or S3; `RevisionId` precondition (412 `PreconditionFailedException`); `DryRun`; `Publish`; 409 `ResourceConflictException` while a create/update is in progress. |
//! | UpdateFunctionConfiguration | Role, Runtime, Handler, Description, Timeout (≤ 900), MemorySize (128–10240), Environment (≤ 4 KB); same RevisionId and in-progress rules. Other members (VPC, layers, …) are accepted and ignored. |
//! | DeleteFunction | whole function, or one version (`Qualifier`; refused while an alias references it). |
//! | ListFunctions | `Marker`/`MaxItems`, `FunctionVersion=ALL`. |
//! | PublishVersion | `CodeSha256` precondition (AWS answers a mismatch with 400 `InvalidParameterValueException`, not 412), `RevisionId` precondition (412), in-progress conflict (409); nothing changed since the last version → that version; `Description`. |
//! | ListVersionsByFunction | `$LATEST` first, then versions ascending; `Marker`/`MaxItems`. |
//! | CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases | `RoutingConfig.AdditionalVersionWeights`: at most one version, weight in [0, 1], must exist, not `$LATEST`, not the primary version, and the primary cannot be `$LATEST` when routing is set; UpdateAlias `RevisionId` precondition; UpdateAlias without `RoutingConfig` keeps the current routing. |
//! | AddPermission, GetPolicy, RemovePermission | resource-based policies of the function, of a version or of an alias (`Qualifier`, or `name:qualifier`; `$LATEST` cannot hold one: `InvalidParameterValueException`); statements built as Lambda writes them (an account id → its root ARN, `*`, an ARN → `AWS`, else `Service`; SourceArn/SourceAccount/PrincipalOrgID/EventSourceToken/FunctionUrlAuthType/InvokedViaFunctionUrl → `Condition`); statement ids unique per policy (409 `ResourceConflictException`); policy ≤ 20 KB (`PolicyLengthExceededException`); the policy's `RevisionId` is its owner's (function, version or alias) and is renewed by each change; `RevisionId` preconditions (412); unknown function, qualifier or statement → 404 `ResourceNotFoundException`; no policy → GetPolicy 404. Policies are stored and returned, **never evaluated**. |
//! | Invoke | **No code runs.** The outcome comes from the version's `.sim/behavior.json` (`{"errorRate":0.3,"latencyMs":40}`, absent = healthy): a failure is 200 with `X-Amz-Function-Error: Unhandled` and an error payload, a success returns `null`. Alias weights are drawn with an RNG seeded by `--seed`; `X-Amz-Executed-Version`; `InvocationType` RequestResponse/Event (202)/DryRun (204); `LogType: Tail` gives a synthetic log. Each invocation records `AWS/Lambda` metrics like the traffic generator does. |
//!
//! Request-rate quotas ([`quota`]): GetFunction 100/s, GetPolicy 15/s and
//! every other control-plane API 15/s together, per region, in real time;
//! beyond them 429 `TooManyRequestsException` (`Reason:
//! CallerRateLimitExceeded`, `Retry-After`). On by default, as in AWS;
//! [`Lambda::set_request_quota`] / `POST /_sim/lambda/quota` change it.
//!
//! Every request is first checked against its operation's model rules
//! (required body members, enums in the body, headers and query;
//! `crate::validate`): 400 `ValidationException`, before anything is
//! looked up.
//!
//! Not simulated: evaluating resource-based policies, layers, concurrency and invocation
//! throttling (`Throttles` is never emitted; use fault injection), function
//! URLs, tags, event source mappings. ARNs use account `123456789012`.

mod api;
pub mod code;
pub mod metrics;
pub mod names;
pub mod policy;
pub mod quota;
mod shapes;
pub mod store;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{Response, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};
use crate::{Config, Sim};
use store::{Store, new_revision};

/// Every operation this service serves, by its model name; any other is
/// answered as an unknown operation. `validate::model` holds their request
/// rules and the conformance test walks each of them.
pub const OPERATIONS: &[&str] = &[
    "CreateFunction",
    "GetFunction",
    "GetFunctionConfiguration",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "DeleteFunction",
    "ListFunctions",
    "PublishVersion",
    "ListVersionsByFunction",
    "CreateAlias",
    "GetAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "Invoke",
    "AddPermission",
    "GetPolicy",
    "RemovePermission",
];

/// What a version's code says about how it behaves (`.sim/behavior.json` in its zip).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behavior {
    /// Fraction of invocations that fail, 0..=1.
    pub error_rate: f64,
    /// Simulated duration of one invocation, milliseconds.
    pub latency_ms: f64,
    /// For hook functions: what the sim reports to CodeDeploy for them.
    pub hook: Option<HookBehavior>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookBehavior {
    Succeed,
    Fail,
    Timeout,
}

/// An alias as CodeDeploy and the traffic generator see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasInfo {
    pub function_version: String,
    /// The one additional version of `RoutingConfig` and its weight.
    pub additional_version: Option<(String, f64)>,
    pub revision_id: String,
}

/// One invocation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeOutcome {
    pub executed_version: String,
    pub error: bool,
    pub duration_ms: f64,
}

/// Where a qualified invocation goes: the primary version and, with
/// routing, the additional one and its weight (behaviours included).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub primary: (String, Behavior),
    pub additional: Option<((String, Behavior), f64)>,
}

impl Resolved {
    /// Picks the executed version for one uniform draw `u` in [0, 1).
    pub fn pick(&self, u: f64) -> &(String, Behavior) {
        match &self.additional {
            Some((v, w)) if u < *w => v,
            _ => &self.primary,
        }
    }
}

/// One alias the traffic generator drives.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficTarget {
    pub region: String,
    pub function: String,
    pub alias: String,
    pub resolved: Resolved,
}

#[derive(Debug)]
pub struct Lambda {
    store: Mutex<Store>,
    /// Routing draws for Invoke/invoke_internal, seeded from `--seed`.
    rng: Mutex<StdRng>,
    update_delay: Duration,
    /// The request-rate quotas and their buckets.
    quotas: Mutex<quota::Quotas>,
}

impl Lambda {
    pub fn new(config: &Config) -> Self {
        Lambda {
            store: Mutex::new(Store::default()),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            update_delay: config.lambda_update_delay,
            quotas: Mutex::new(quota::Quotas::default()),
        }
    }

    /// The request-rate quotas in force (`None`: not enforced).
    pub fn request_quota(&self) -> Option<quota::RequestQuota> {
        crate::lock(&self.quotas).settings()
    }

    /// Changes the request-rate quotas (`None` disables them); every bucket
    /// starts full again.
    pub fn set_request_quota(&self, q: Option<quota::RequestQuota>) {
        crate::lock(&self.quotas).set(q);
    }

    /// Moves `LastUpdateStatus` InProgress → Successful after `--lambda-update-delay`.
    pub fn tick(&self, _sim: &Arc<Sim>, now: SystemTime) {
        crate::lock(&self.store).settle(now);
    }

    pub fn function_exists(&self, region: &str, function: &str) -> bool {
        crate::lock(&self.store).function(region, function).is_ok()
    }

    pub fn version_exists(&self, region: &str, function: &str, version: &str) -> bool {
        crate::lock(&self.store)
            .function(region, function)
            .is_ok_and(|f| f.version_exists(version))
    }

    pub fn get_alias(&self, region: &str, function: &str, alias: &str) -> Option<AliasInfo> {
        let st = crate::lock(&self.store);
        let a = st.function(region, function).ok()?.aliases.get(alias)?;
        Some(AliasInfo {
            function_version: a.function_version.clone(),
            additional_version: a.routing.clone(),
            revision_id: a.revision_id.clone(),
        })
    }

    /// Sets an alias's routing as CodeDeploy does (a new RevisionId each
    /// time), with UpdateAlias's validation.
    pub fn set_alias_routing(
        &self,
        region: &str,
        function: &str,
        alias: &str,
        version: &str,
        additional: Option<(String, f64)>,
    ) -> Result<AliasInfo, AwsError> {
        let mut st = crate::lock(&self.store);
        let f = st.function_mut(region, function)?;
        if !f.aliases.contains_key(alias) {
            return Err(store::alias_not_found(region, function, alias));
        }
        let weights = additional.map(|(v, w)| std::collections::BTreeMap::from([(v, w)]));
        let routing = f.check_alias_target(region, version, weights.as_ref())?;
        let a = f.aliases.get_mut(alias).expect("checked above");
        a.function_version = version.to_string();
        a.routing = routing;
        a.revision_id = new_revision();
        Ok(AliasInfo {
            function_version: a.function_version.clone(),
            additional_version: a.routing.clone(),
            revision_id: a.revision_id.clone(),
        })
    }

    /// The behaviour of a function version (qualifier = version number or `$LATEST`).
    pub fn behavior(&self, region: &str, function: &str, version: &str) -> Option<Behavior> {
        let st = crate::lock(&self.store);
        let f = st.function(region, function).ok()?;
        f.config_of(version).map(|c| c.code.behavior.clone())
    }

    /// Where `function[:qualifier]` routes (404 / 409 as Invoke answers).
    pub fn resolve(
        &self,
        region: &str,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<Resolved, AwsError> {
        let st = crate::lock(&self.store);
        let f = st.function(region, function)?;
        let (primary, additional) = match qualifier {
            None | Some("$LATEST") => ("$LATEST".to_string(), None),
            Some(q) if q.chars().all(|c| c.is_ascii_digit()) => (q.to_string(), None),
            Some(q) => match f.aliases.get(q) {
                Some(a) => (a.function_version.clone(), a.routing.clone()),
                None => return Err(store::not_found(region, function, Some(q))),
            },
        };
        if primary == "$LATEST" && matches!(f.update_until, Some((_, store::UpdateKind::Create))) {
            return Err(AwsError::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                "The operation cannot be performed at this time. The function is currently in the following state: Pending",
            ));
        }
        let behavior = |v: &str| {
            f.config_of(v)
                .map(|c| c.code.behavior.clone())
                .ok_or_else(|| store::not_found(region, function, Some(qualifier.unwrap_or(v))))
        };
        Ok(Resolved {
            primary: (primary.clone(), behavior(&primary)?),
            additional: match additional {
                Some((v, w)) => Some(((v.clone(), behavior(&v)?), w)),
                None => None,
            },
        })
    }

    /// Invokes `function:qualifier` without HTTP (hooks, Invoke): resolves
    /// alias weights with the sim's seeded RNG. Records no metrics (the
    /// caller does, see [`metrics::record`]).
    pub fn invoke_internal(
        &self,
        region: &str,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<InvokeOutcome, AwsError> {
        let r = self.resolve(region, function, qualifier)?;
        let mut rng = crate::lock(&self.rng);
        let u: f64 = if r.additional.is_some() {
            rng.random()
        } else {
            1.0
        };
        let (version, behavior) = r.pick(u);
        let error = behavior.error_rate > 0.0 && rng.random::<f64>() < behavior.error_rate;
        Ok(InvokeOutcome {
            executed_version: version.clone(),
            error,
            duration_ms: behavior.latency_ms,
        })
    }

    /// Every `(region, function, alias)`, for the traffic generator.
    pub fn all_aliases(&self) -> Vec<(String, String, String)> {
        let st = crate::lock(&self.store);
        let mut out = Vec::new();
        for (region, fs) in &st.regions {
            for f in fs.values() {
                for a in f.aliases.keys() {
                    out.push((region.clone(), f.name.clone(), a.clone()));
                }
            }
        }
        out
    }

    /// Every alias with its routing and behaviours, in one lock.
    pub fn traffic_targets(&self) -> Vec<TrafficTarget> {
        let st = crate::lock(&self.store);
        let mut out = Vec::new();
        for (region, fs) in &st.regions {
            for f in fs.values() {
                for a in f.aliases.values() {
                    let b = |v: &str| f.config_of(v).map(|c| c.code.behavior.clone());
                    let Some(pb) = b(&a.function_version) else {
                        continue;
                    };
                    let additional = a
                        .routing
                        .as_ref()
                        .and_then(|(v, w)| b(v).map(|bb| ((v.clone(), bb), *w)));
                    out.push(TrafficTarget {
                        region: region.clone(),
                        function: f.name.clone(),
                        alias: a.name.clone(),
                        resolved: Resolved {
                            primary: (a.function_version.clone(), pb),
                            additional,
                        },
                    });
                }
            }
        }
        out
    }
}

pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let admitted = crate::lock(&sim.lambda.quotas).admit(
        &ctx.region,
        &ctx.operation,
        std::time::Instant::now(),
    );
    if let Err(wait) = admitted {
        return Ok(throttled(ctx, wait));
    }
    api::handle(sim, ctx, req).await
}

/// Lambda's answer to a request over its rate quota (botocore's
/// `TooManyRequestsException`: 429, `Retry-After` header, `Type`, `Reason`).
fn throttled(ctx: &Ctx, wait: Duration) -> Response<Body> {
    let err = AwsError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
        "Rate exceeded",
    )
    .with_extra("Reason", "CallerRateLimitExceeded");
    let mut r = crate::wire::rest_json_error(&ctx.request_id, &err);
    r.headers_mut().insert(
        "retry-after",
        http::HeaderValue::from(quota::retry_after_secs(wait)),
    );
    r
}

/// `GET /_sim/lambda/quota` (the settings; `null` when off) and `POST` with
/// `{"enabled": false}`, `{"enabled": true}` (AWS's figures) or any of
/// `controlPlane`, `getFunction`, `getPolicy`, `burstSeconds`.
pub fn quota_control(
    sim: &Sim,
    method: &http::Method,
    body: &[u8],
) -> (StatusCode, serde_json::Value) {
    use serde_json::json;
    let bad = |e: String| (StatusCode::BAD_REQUEST, json!({ "error": e }));
    match *method {
        http::Method::GET => {}
        http::Method::POST => {
            let v: serde_json::Value = if body.is_empty() {
                json!({})
            } else {
                match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return bad(format!("body is not JSON: {e}")),
                }
            };
            let Some(obj) = v.as_object() else {
                return bad("body must be a JSON object".into());
            };
            let enabled = match obj.get("enabled") {
                None => true,
                Some(serde_json::Value::Bool(b)) => *b,
                Some(other) => return bad(format!("enabled must be true or false, got {other}")),
            };
            if !enabled {
                sim.lambda.set_request_quota(None);
            } else {
                let mut rates = obj.clone();
                rates.remove("enabled");
                let q: quota::RequestQuota =
                    match serde_json::from_value(serde_json::Value::Object(rates)) {
                        Ok(q) => q,
                        Err(e) => return bad(format!("invalid quota: {e}")),
                    };
                if let Err(e) = q.validate() {
                    return bad(e);
                }
                sim.lambda.set_request_quota(Some(q));
            }
        }
        _ => {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "error": "use GET or POST" }),
            );
        }
    }
    (
        StatusCode::OK,
        json!({ "quota": sim.lambda.request_quota() }),
    )
}

/// The operation name of a restJson1 Lambda request (from method + path).
pub fn operation(req: &Request) -> String {
    api::route(req.method(), req.uri().path())
        .map(|r| r.op.to_string())
        .unwrap_or_else(|| "Unknown".into())
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn ctx(operation: &str) -> Ctx {
        Ctx {
            request_id: "req-1".into(),
            service: "lambda".into(),
            operation: operation.into(),
            region: "eu-west-1".into(),
            auth: None,
            path: "/".into(),
        }
    }

    #[tokio::test]
    async fn a_throttle_is_answered_as_botocore_models_it() {
        let r = throttled(&ctx("GetAlias"), Duration::from_millis(70));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let h = r.headers();
        assert_eq!(h["x-amzn-errortype"], "TooManyRequestsException");
        assert_eq!(h["retry-after"], "1");
        assert_eq!(h["x-amzn-requestid"], "req-1");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "Type": "User",
                "Reason": "CallerRateLimitExceeded",
                "message": "Rate exceeded",
            })
        );
    }

    #[test]
    fn the_quota_is_on_by_default_and_switched_through_the_control_api() {
        let sim = Sim::new(Config::default()).unwrap();
        assert_eq!(
            sim.lambda.request_quota(),
            Some(quota::RequestQuota::default())
        );
        let post = |b: &str| quota_control(&sim, &http::Method::POST, b.as_bytes());
        let (s, v) = post(r#"{"enabled": false}"#);
        assert_eq!((s, &v["quota"]), (StatusCode::OK, &serde_json::Value::Null));
        assert_eq!(sim.lambda.request_quota(), None);
        let (s, v) = post(r#"{"controlPlane": 5}"#);
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["quota"]["controlPlane"], 5.0);
        assert_eq!(v["quota"]["getFunction"], 100.0);
        let (s, v) = post(r#"{"controlPlane": -1}"#);
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("controlPlane"), "{v}");
        let (s, _) = post(r#"{"enabled": "no"}"#);
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, v) = quota_control(&sim, &http::Method::GET, b"");
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["quota"]["controlPlane"], 5.0);
        let (s, _) = post(r#"{"enabled": true}"#);
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            sim.lambda.request_quota(),
            Some(quota::RequestQuota::default())
        );
    }
}
