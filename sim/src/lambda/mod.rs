//! Lambda (restJson1, `/2015-03-31/…`): functions, versions, aliases with
//! weighted routing, and simulated invocations. The `pub` methods on
//! [`Lambda`] are the internal contract other sim modules (CodeDeploy,
//! traffic) rely on.
//!
//! | operation | simulated |
//! |---|---|
//! | CreateFunction | ZipFile (≤ 50 MB, 413 `RequestEntityTooLargeException` beyond) or S3Bucket/S3Key from the sim's S3; `CodeSha256` = base64 SHA-256 of the zip; unzipped size (central directory only) ≤ 250 MB else `InvalidParameterValueException`; `Publish`; `State: Pending` + `LastUpdateStatus: InProgress` for `--lambda-update-delay`, then `Active`/`Successful` with a new RevisionId. Container images are refused. |
//! | GetFunction, GetFunctionConfiguration | `Qualifier` (query or `fn:qualifier`), version or alias. `Code.Location` is a presigned-style URL on the sim's own listener (the request's `Host`) serving the exact zip of what was read, 10 minutes of real time (`X-Amz-Expires=600`), then S3's 403 `AccessDenied` "Request has expired" ([`links`]). |
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
//! every other control-plane API 15/s together, per region, shared by every
//! caller: HTTP callers on the real clock (beyond them 429
//! `TooManyRequestsException`, `Reason: CallerRateLimitExceeded`,
//! `Retry-After`), and the sim's CodeDeploy, whose alias shifts make the
//! calls AWS's CodeDeploy makes ([`Lambda::admit_service_call`]), on the
//! simulated clock. On by default, as in AWS; [`Lambda::set_request_quota`]
//! / `POST /_sim/lambda/quota` change it; [`Lambda::quota_report`] /
//! `GET /_sim/lambda/quota` tell what each caller spent.
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
pub mod links;
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
    /// GetFunction's code locations.
    links: Mutex<links::Links>,
}

impl Lambda {
    pub fn new(config: &Config) -> Self {
        Lambda {
            store: Mutex::new(Store::default()),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            update_delay: config.lambda_update_delay,
            quotas: Mutex::new(quota::Quotas::default()),
            links: Mutex::new(links::Links::default()),
        }
    }

    /// The zip behind a GetFunction `Code.Location` (path and its
    /// `X-Amz-Signature`), if it is genuine and not expired.
    pub fn download_code(
        &self,
        path: &str,
        signature: Option<&str>,
    ) -> Result<Arc<[u8]>, links::Refused> {
        crate::lock(&self.links).get(path, signature, std::time::Instant::now())
    }

    /// Every `Code.Location` signature issued (a credential: the e2e log
    /// scan looks for each).
    pub fn code_location_signatures(&self) -> Vec<String> {
        crate::lock(&self.links).issued()
    }

    /// Expires every `Code.Location` issued so far (tests of the expiry path).
    pub fn expire_code_locations(&self) {
        crate::lock(&self.links).expire_all(std::time::Instant::now());
    }

    /// The request-rate quotas in force (`None`: not enforced).
    pub fn request_quota(&self) -> Option<quota::RequestQuota> {
        crate::lock(&self.quotas).settings()
    }

    /// Changes the request-rate quotas (`None` disables them, for every
    /// caller); every bucket starts full again and the report from zero.
    pub fn set_request_quota(&self, q: Option<quota::RequestQuota>) {
        crate::lock(&self.quotas).set(q);
    }

    /// What each caller spent from the quotas and how often it was
    /// throttled, since they were last set.
    pub fn quota_report(&self) -> Vec<quota::CallerUsage> {
        crate::lock(&self.quotas).report()
    }

    /// One Lambda call that a service of the sim makes as AWS's own service
    /// would (CodeDeploy's GetAlias, UpdateAlias, …) at simulated instant
    /// `at`, against the same quotas as HTTP callers, judged on the
    /// simulated clock (`scale`: the clock's time scale). False when it is
    /// throttled. The call's effect is the caller's business (e.g.
    /// [`Lambda::set_alias_routing`]); this only spends the quota.
    pub fn admit_service_call(
        &self,
        region: &str,
        operation: &str,
        service: &'static str,
        at: SystemTime,
        scale: f64,
    ) -> bool {
        let now = quota::Now {
            real: std::time::Instant::now(),
            simulated: at,
            scale,
        };
        crate::lock(&self.quotas)
            .admit(region, operation, &quota::Caller::Service(service), now)
            .is_ok()
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

    /// Every alias with its routing and behaviours, in one lock, ordered by
    /// region, function and alias (so the traffic generator's seeded draws
    /// go to the same aliases in every run).
    pub fn traffic_targets(&self) -> Vec<TrafficTarget> {
        let st = crate::lock(&self.store);
        let mut out = Vec::new();
        let mut regions: Vec<_> = st.regions.iter().collect();
        regions.sort_by(|a, b| a.0.cmp(b.0));
        for (region, fs) in regions {
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
    let caller = quota::Caller::AccessKey(
        ctx.auth
            .as_ref()
            .map_or_else(|| "anonymous".to_string(), |a| a.access_key_id.clone()),
    );
    let now = quota::Now {
        real: std::time::Instant::now(),
        simulated: sim.clock.now(),
        scale: sim.clock.scale(),
    };
    let admitted = crate::lock(&sim.lambda.quotas).admit(&ctx.region, &ctx.operation, &caller, now);
    if let Err(wait) = admitted {
        return Ok(throttled(ctx, wait));
    }
    if ROUTING_OPERATIONS.contains(&ctx.operation.as_str()) {
        // The traffic owed up to this instant goes by the routing before
        // the change (the generator runs at most every 50 ms of real time,
        // so it may be behind: see `traffic.rs`).
        sim.traffic.catch_up(sim, sim.clock.now());
    }
    api::handle(sim, ctx, req).await
}

/// The operations that can change where an alias's traffic goes or how the
/// code it runs behaves (an alias may point at `$LATEST`).
const ROUTING_OPERATIONS: &[&str] = &[
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "DeleteFunction",
    "UpdateFunctionCode",
];

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

/// The quota settings a `POST /_sim/lambda/quota` body asks for: `{"enabled":
/// false}` → none; `{"enabled": true}` or `{}` → AWS's figures; any of
/// `controlPlane`, `getFunction`, `getPolicy`, `burstSeconds` → those, the
/// rest AWS's. An error names the bad field.
pub fn quota_settings(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<quota::RequestQuota>, String> {
    let enabled = match body.get("enabled") {
        None => true,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(other) => return Err(format!("enabled must be true or false, got {other}")),
    };
    if !enabled {
        return Ok(None);
    }
    let mut rates = body.clone();
    rates.remove("enabled");
    let q: quota::RequestQuota = serde_json::from_value(serde_json::Value::Object(rates))
        .map_err(|e| format!("invalid quota: {e}"))?;
    q.validate()?;
    Ok(Some(q))
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
    fn the_quota_is_on_by_default_and_settings_come_from_the_control_body() {
        let sim = Sim::new(Config::default()).unwrap();
        assert_eq!(
            sim.lambda.request_quota(),
            Some(quota::RequestQuota::default())
        );
        let parse = |b: &str| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            quota_settings(v.as_object().unwrap())
        };
        assert_eq!(parse(r#"{"enabled": false}"#), Ok(None));
        assert_eq!(parse("{}"), Ok(Some(quota::RequestQuota::default())));
        assert_eq!(
            parse(r#"{"enabled": true}"#),
            Ok(Some(quota::RequestQuota::default()))
        );
        let q = parse(r#"{"controlPlane": 5}"#).unwrap().unwrap();
        assert_eq!((q.control_plane, q.get_function), (5.0, 100.0));
        assert!(
            parse(r#"{"controlPlane": -1}"#)
                .unwrap_err()
                .contains("controlPlane")
        );
        assert!(
            parse(r#"{"enabled": "no"}"#)
                .unwrap_err()
                .contains("enabled")
        );
        assert!(parse(r#"{"rate": 1}"#).unwrap_err().contains("rate"));
    }
}
