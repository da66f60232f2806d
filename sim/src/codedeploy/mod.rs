//! CodeDeploy (awsJson1_1) for computePlatform Lambda. STUB — being implemented (issue 3).

use std::sync::Arc;
use std::time::SystemTime;

use http::Response;

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};
use crate::{Config, Sim};

#[derive(Debug)]
pub struct CodeDeploy {}

impl CodeDeploy {
    pub fn new(_config: &Config) -> Self {
        CodeDeploy {}
    }

    /// Runs deployments forward on the simulated clock.
    pub fn tick(&self, _sim: &Arc<Sim>, _now: SystemTime) {}
}

pub async fn handle(
    _sim: &Arc<Sim>,
    _ctx: &Ctx,
    _req: Request,
) -> Result<Response<Body>, AwsError> {
    Err(AwsError::bad_request(
        "NotImplemented",
        "CodeDeploy is not implemented yet",
    ))
}
