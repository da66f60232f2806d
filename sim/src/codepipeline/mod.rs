//! CodePipeline (awsJson1_1). STUB — being implemented.

use std::sync::Arc;
use std::time::SystemTime;

use http::Response;

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};
use crate::{Config, Sim};

#[derive(Debug)]
pub struct CodePipeline {}

impl CodePipeline {
    pub fn new(_config: &Config) -> Self {
        CodePipeline {}
    }

    pub fn tick(&self, _sim: &Arc<Sim>, _now: SystemTime) {}
}

pub fn operation(req: &Request) -> String {
    crate::wire::json_target_operation(req.headers()).unwrap_or_else(|| "Unknown".into())
}

pub async fn handle(
    _sim: &Arc<Sim>,
    _ctx: &Ctx,
    _req: Request,
) -> Result<Response<Body>, AwsError> {
    Err(AwsError::bad_request(
        "NotImplemented",
        "CodePipeline is not implemented yet",
    ))
}

/// `POST /_sim/push`.
pub async fn push(_sim: &Arc<Sim>, _body: &serde_json::Value) -> Result<serde_json::Value, String> {
    Err("not implemented".into())
}
