//! CloudWatch (Smithy RPC v2 CBOR and awsJson1_0). STUB — being implemented (issue 3).
//! The `pub` methods on [`CloudWatch`] are the internal contract other sim
//! modules (traffic, CodeDeploy) rely on; keep their signatures.

use std::sync::Arc;
use std::time::SystemTime;

use http::Response;

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};
use crate::{Config, Sim};

#[derive(Debug)]
pub struct CloudWatch {}

/// One metric datapoint, as `PutMetricData` carries it.
#[derive(Debug, Clone)]
pub struct Datum<'a> {
    pub namespace: &'a str,
    pub metric_name: &'a str,
    pub dimensions: &'a [(String, String)],
    pub value: f64,
    pub unit: &'a str,
    pub time: SystemTime,
}

impl CloudWatch {
    pub fn new(_config: &Config) -> Self {
        CloudWatch {}
    }

    /// Evaluates alarms every simulated minute.
    pub fn tick(&self, _sim: &Arc<Sim>, _now: SystemTime) {}

    /// Records one datapoint (as PutMetricData would), e.g. from the traffic generator.
    pub fn put_metric_internal(&self, _region: &str, _datum: Datum<'_>) {}

    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`; `None` when no such alarm.
    pub fn alarm_state(&self, _region: &str, _name: &str) -> Option<String> {
        None
    }
}

pub async fn handle(
    _sim: &Arc<Sim>,
    _ctx: &Ctx,
    _req: Request,
) -> Result<Response<Body>, AwsError> {
    Err(AwsError::bad_request(
        "NotImplemented",
        "CloudWatch is not implemented yet",
    ))
}

pub fn operation(req: &Request) -> String {
    let p = req.uri().path();
    if let Some(op) = p.strip_prefix("/service/GraniteServiceVersion20100801/operation/") {
        return op.to_string();
    }
    crate::wire::json_target_operation(req.headers()).unwrap_or_else(|| "Unknown".into())
}

/// Renders an error in the protocol the request used (CBOR or JSON 1.0).
pub fn render_error(ctx: &Ctx, err: &AwsError) -> Response<Body> {
    crate::wire::json_error(crate::wire::JsonVersion::V1_0, &ctx.request_id, err, true)
}
