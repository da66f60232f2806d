//! Lambda (restJson1, `/2015-03-31/…`). STUB — being implemented (issue 3).
//! The `pub` methods on [`Lambda`] below are the internal contract other sim
//! modules (CodeDeploy, traffic) rely on; keep their signatures.

use std::sync::Arc;
use std::time::SystemTime;

use http::Response;

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};
use crate::{Config, Sim};

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

#[derive(Debug)]
pub struct Lambda {}

impl Lambda {
    pub fn new(_config: &Config) -> Self {
        Lambda {}
    }

    /// Moves `LastUpdateStatus` InProgress → Successful after `--lambda-update-delay`.
    pub fn tick(&self, _sim: &Arc<Sim>, _now: SystemTime) {}

    pub fn function_exists(&self, _region: &str, _function: &str) -> bool {
        false
    }

    pub fn version_exists(&self, _region: &str, _function: &str, _version: &str) -> bool {
        false
    }

    pub fn get_alias(&self, _region: &str, _function: &str, _alias: &str) -> Option<AliasInfo> {
        None
    }

    /// Sets an alias's routing as CodeDeploy does (a new RevisionId each time).
    pub fn set_alias_routing(
        &self,
        _region: &str,
        _function: &str,
        _alias: &str,
        _version: &str,
        _additional: Option<(String, f64)>,
    ) -> Result<AliasInfo, AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    /// The behaviour of a function version (qualifier = version number or `$LATEST`).
    pub fn behavior(&self, _region: &str, _function: &str, _version: &str) -> Option<Behavior> {
        None
    }

    /// Invokes `function:qualifier` without HTTP (traffic generator, hooks):
    /// resolves alias weights with the sim's seeded RNG.
    pub fn invoke_internal(
        &self,
        _region: &str,
        _function: &str,
        _qualifier: Option<&str>,
    ) -> Result<InvokeOutcome, AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    /// Every `(region, function, alias)`, for the traffic generator.
    pub fn all_aliases(&self) -> Vec<(String, String, String)> {
        Vec::new()
    }
}

pub async fn handle(
    _sim: &Arc<Sim>,
    _ctx: &Ctx,
    _req: Request,
) -> Result<Response<Body>, AwsError> {
    Err(AwsError::bad_request(
        "NotImplemented",
        "Lambda is not implemented yet",
    ))
}

/// The operation name of a restJson1 Lambda request (from method + path).
pub fn operation(_req: &Request) -> String {
    "Unknown".into()
}
