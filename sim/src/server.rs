//! The single HTTP listener: routes each request to its service by the SigV4
//! credential scope, applies injected faults, logs the call, and runs the
//! background ticker that moves simulated time forward for every service.
//! It knows how to reach services, not what they do.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use http::{Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::auth::{self, SigV4};
use crate::error::AwsError;
use crate::faults::Fault;
use crate::requests::RequestRecord;
use crate::wire::{self, Body, Request};
use crate::{Sim, cloudwatch, codedeploy, codepipeline, control, lambda, s3};

/// What every service handler is told about the call besides the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub service: String,
    pub operation: String,
    pub region: String,
    pub auth: Option<SigV4>,
    /// The request's path (for S3 path-style: `/bucket/key`), for the log.
    pub path: String,
}

/// An error that makes hyper drop the connection (an injected reset).
#[derive(Debug)]
pub struct ResetConnection;
impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}
impl std::error::Error for ResetConnection {}

pub(crate) async fn serve(
    sim: Arc<Sim>,
    listener: tokio::net::TcpListener,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let ticker = {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(5));
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                iv.tick().await;
                sim.tick();
            }
        })
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let sim = sim.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let sim = sim.clone();
                        async move {
                            // Last resort: a panic outside the service handler
                            // (routing, auth parsing, logging) still answers.
                            AssertUnwindSafe(dispatch(sim, req))
                                .catch_unwind()
                                .await
                                .unwrap_or_else(|panic| {
                                    tracing::error!(
                                        panic = %panic_message(&*panic),
                                        "request dispatch panicked"
                                    );
                                    Ok(plain_error(
                                        &uuid::Uuid::new_v4().to_string(),
                                        &AwsError::internal("aws-sim internal error"),
                                    ))
                                })
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
    ticker.abort();
}

/// Which service a request is for: the credential scope when signed, else
/// what the request shape says (control API, `X-Amz-Target`, paths).
fn route(req: &Request, auth: &Option<SigV4>) -> String {
    if req.uri().path().starts_with("/_sim/") || req.uri().path() == "/_sim" {
        return "_sim".into();
    }
    if let Some(a) = auth {
        return a.service.clone();
    }
    if let Some(t) = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        if t.starts_with("CodePipeline_") {
            return "codepipeline".into();
        }
        if t.starts_with("CodeDeploy_") {
            return "codedeploy".into();
        }
        if t.starts_with("GraniteServiceVersion") {
            return "monitoring".into();
        }
    }
    if req
        .uri()
        .path()
        .starts_with("/service/GraniteServiceVersion20100801/")
    {
        return "monitoring".into();
    }
    if req.uri().path().starts_with("/2015-03-31/") {
        return "lambda".into();
    }
    "s3".into()
}

async fn dispatch(sim: Arc<Sim>, req: Request) -> Result<Response<Body>, ResetConnection> {
    sim.tick();
    let request_id = uuid::Uuid::new_v4().to_string();
    let auth = match auth::parse(req.headers(), req.uri()) {
        Ok(a) => a,
        Err(e) => {
            return Ok(plain_error(&request_id, &e));
        }
    };
    let service = route(&req, &auth);
    if service == "_sim" {
        return Ok(AssertUnwindSafe(control::handle(&sim, req))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                tracing::error!(panic = %panic_message(&*panic), "control API panicked");
                control::internal_error()
            }));
    }
    let region = auth
        .as_ref()
        .map(|a| a.region.clone())
        .unwrap_or_else(|| "us-east-1".to_string());
    let operation = match service.as_str() {
        "s3" => s3::operation(&req),
        "codepipeline" => codepipeline::operation(&req),
        "lambda" => lambda::operation(&req),
        "monitoring" => cloudwatch::operation(&req),
        _ => wire::json_target_operation(req.headers()).unwrap_or_else(|| "Unknown".into()),
    };
    let ctx = Ctx {
        request_id,
        service: service.clone(),
        operation,
        region,
        auth,
        path: req.uri().path().to_string(),
    };
    let now = sim.clock.now();
    // Identity policies (`iam`): a refused call never reaches its service
    // and is logged like any other answer.
    if let Some(denied) = iam_denial(&sim, &ctx, &req) {
        let response = render_error(&ctx, &denied);
        log(
            &sim,
            &ctx,
            response.status().as_u16(),
            Some(denied.code),
            false,
            now,
        );
        // Read (and drop) a modest body, so the client sees the error
        // rather than a connection closed under its upload.
        let _ = wire::read_body(req.into_body(), 8 * 1024 * 1024).await;
        return Ok(response);
    }
    let decision = sim.faults.decide(&ctx.service, &ctx.operation, now);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let (response, injected) = match decision.fault {
        Some(Fault::Reset) => {
            log(&sim, &ctx, 0, Some("ConnectionReset".into()), true, now);
            return Err(ResetConnection);
        }
        Some(Fault::Throttle) => (render_error(&ctx, &throttling_error(&ctx.service)), true),
        Some(Fault::Unavailable) => (
            render_error(
                &ctx,
                &AwsError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    if ctx.service == "s3" {
                        "ServiceUnavailable"
                    } else {
                        "ServiceUnavailableException"
                    },
                    "Service is unavailable (injected by aws-sim)",
                ),
            ),
            true,
        ),
        None | Some(Fault::LostResponse) => {
            let result = catch_handler_panic(&ctx, async {
                match ctx.service.as_str() {
                    "s3" => s3::handle(&sim, &ctx, req).await,
                    "codepipeline" => codepipeline::handle(&sim, &ctx, req).await,
                    "lambda" => lambda::handle(&sim, &ctx, req).await,
                    "monitoring" => cloudwatch::handle(&sim, &ctx, req).await,
                    "codedeploy" => codedeploy::handle(&sim, &ctx, req).await,
                    other => Err(AwsError::bad_request(
                        "UnrecognizedClientException",
                        format!("aws-sim does not simulate the service '{other}'"),
                    )),
                }
            })
            .await;
            let response = match result {
                Ok(r) => r,
                Err(e) => render_error(&ctx, &e),
            };
            if decision.fault == Some(Fault::LostResponse) {
                // The call happened; its answer never leaves.
                log(
                    &sim,
                    &ctx,
                    response.status().as_u16(),
                    Some("LostResponse".into()),
                    true,
                    now,
                );
                return Err(ResetConnection);
            }
            (response, false)
        }
    };
    let error = if response.status().is_success() {
        None
    } else {
        response
            .headers()
            .get("x-amzn-errortype")
            .or_else(|| response.headers().get("x-sim-error-code"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    log(&sim, &ctx, response.status().as_u16(), error, injected, now);
    Ok(response)
}

/// The `AccessDenied` answer when the caller's access key has an identity
/// policy that does not allow the call (keys without one are unrestricted).
fn iam_denial(sim: &Sim, ctx: &Ctx, req: &Request) -> Option<AwsError> {
    let key = &ctx.auth.as_ref()?.access_key_id;
    let needed = crate::iam::needed(&ctx.service, &ctx.operation, &ctx.region, req);
    let denied = sim.iam.authorize(key, &needed).err()?;
    Some(crate::iam::access_denied(&ctx.service, key, &denied))
}

fn log(
    sim: &Sim,
    ctx: &Ctx,
    status: u16,
    error: Option<String>,
    injected: bool,
    now: std::time::SystemTime,
) {
    sim.log.push(RequestRecord {
        seq: 0,
        time: crate::clock::epoch_secs(now),
        real_ms: sim.started.elapsed().as_millis() as u64,
        service: ctx.service.clone(),
        operation: ctx.operation.clone(),
        region: ctx.region.clone(),
        status,
        error,
        access_key_id: ctx.auth.as_ref().map(|a| a.access_key_id.clone()),
        injected,
        path: ctx.path.clone(),
    });
}

/// Each service's throttling error, as the real service spells it.
fn throttling_error(service: &str) -> AwsError {
    match service {
        "s3" => AwsError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        "lambda" => AwsError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        "monitoring" => AwsError::bad_request("Throttling", "Rate exceeded"),
        _ => AwsError::bad_request("ThrottlingException", "Rate exceeded"),
    }
}

/// Runs one service handler; a panic in it is a sim bug, never the client's:
/// it is logged and answered as a 500 in the service's error shape, and the
/// connection (and every other request) carries on.
async fn catch_handler_panic(
    ctx: &Ctx,
    handler: impl std::future::Future<Output = Result<Response<Body>, AwsError>>,
) -> Result<Response<Body>, AwsError> {
    AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            tracing::error!(
                service = %ctx.service,
                operation = %ctx.operation,
                panic = %panic_message(&*panic),
                "service handler panicked"
            );
            Err(internal_failure(&ctx.service))
        })
}

/// The text of a caught panic's payload (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// The 500 each service answers for an internal error, as it spells it.
fn internal_failure(service: &str) -> AwsError {
    let (code, message) = match service {
        "s3" => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        "lambda" => (
            "ServiceException",
            "The AWS Lambda service encountered an internal error.",
        ),
        _ => (
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
    };
    AwsError::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
}

/// Renders an error in the protocol of the service the request was for.
fn render_error(ctx: &Ctx, err: &AwsError) -> Response<Body> {
    match ctx.service.as_str() {
        "s3" => s3::render_error(ctx, err),
        "lambda" => wire::rest_json_error(&ctx.request_id, err),
        "monitoring" => cloudwatch::render_error(ctx, err),
        _ => wire::json_error(wire::JsonVersion::V1_1, &ctx.request_id, err, false),
    }
}

/// An error for a request whose service is unknown (bad auth header).
fn plain_error(request_id: &str, err: &AwsError) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        wire::xml_escape(&err.code),
        wire::xml_escape(&err.message),
        request_id
    );
    Response::builder()
        .status(err.status)
        .header("content-type", "application/xml")
        .header("x-amzn-errortype", err.code.as_str())
        .body(wire::full(body))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(service: &str) -> Ctx {
        Ctx {
            request_id: "r".into(),
            service: service.into(),
            operation: "Op".into(),
            region: "us-east-1".into(),
            auth: None,
            path: "/".into(),
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_in_the_service_shape() {
        // Review P1-0: a handler panic dropped the connection (and, under a
        // std lock, bricked the sim).
        for (service, code) in [
            ("monitoring", "InternalFailure"),
            ("codepipeline", "InternalFailure"),
            ("codedeploy", "InternalFailure"),
            ("lambda", "ServiceException"),
            ("s3", "InternalError"),
        ] {
            let c = ctx(service);
            let err = catch_handler_panic(&c, async {
                let parts: Vec<&str> = "no-separator".split(':').collect();
                Err(AwsError::bad_request("X", parts[1]))
            })
            .await
            .unwrap_err();
            assert_eq!((err.status.as_u16(), err.code.as_str()), (500, code));
            let rendered = render_error(&c, &err);
            assert_eq!(rendered.status().as_u16(), 500);
        }
        // A handler that does not panic is passed through untouched.
        let c = ctx("codepipeline");
        let err = catch_handler_panic(&c, async {
            Err(AwsError::bad_request("ValidationException", "bad"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.code, "ValidationException");
    }
}
