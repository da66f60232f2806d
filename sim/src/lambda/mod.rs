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
//! | Invoke | **No code runs.** The outcome comes from the version's `.sim/behavior.json` (`{"errorRate":0.3,"latencyMs":40}`, absent = healthy): a failure is 200 with `X-Amz-Function-Error: Unhandled` and an error payload, a success returns `null`. Alias weights are drawn with an RNG seeded by `--seed`; `X-Amz-Executed-Version`; `InvocationType` RequestResponse/Event (202)/DryRun (204); `LogType: Tail` gives a synthetic log. Each invocation records `AWS/Lambda` metrics like the traffic generator does. |
//!
//! Not simulated: permissions/policies, layers, concurrency and throttling
//! (`Throttles` is never emitted; use fault injection), function URLs, tags,
//! event source mappings. ARNs use account `123456789012`.

mod api;
pub mod code;
pub mod metrics;
pub mod names;
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
}

impl Lambda {
    pub fn new(config: &Config) -> Self {
        Lambda {
            store: Mutex::new(Store::default()),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            update_delay: config.lambda_update_delay,
        }
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
    api::handle(sim, ctx, req).await
}

/// The operation name of a restJson1 Lambda request (from method + path).
pub fn operation(req: &Request) -> String {
    api::route(req.method(), req.uri().path())
        .map(|r| r.op.to_string())
        .unwrap_or_else(|| "Unknown".into())
}
