//! The control API under `/_sim/` (JSON), for what no AWS API expresses:
//! health, the request log, fault injection, the simulated clock, and
//! simulated GitHub pushes. Services add their own control routes here
//! (e.g. `/_sim/traffic`) by delegating to their module.
//!
//! | route | what |
//! |---|---|
//! | `GET /_sim/health` | `{"status":"ok","time":…,"timeScale":…}` |
//! | `GET /_sim/requests?since=N&service=S&operation=O` | the AWS call log |
//! | `GET/POST/DELETE /_sim/faults` | fault rules (`{"seed":1,"rules":[{…}]}`) |
//! | `POST /_sim/clock` | `{"advanceSeconds":60}` and/or `{"timeScale":600}` (0 freezes simulated time) |
//! | `POST /_sim/push` | a GitHub push into CodeStarSourceConnection pipelines |
//! | `POST /_sim/traffic` | simulated traffic rate, overall or per function, or off |
//! | `GET/POST /_sim/lambda/quota` | Lambda's request-rate quotas, CodeDeploy's Lambda calls, and what each caller spent |
//! | `PUT/GET/DELETE /_sim/iam/policies/{accessKeyId}` | an access key's identity policy (`iam`) |

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Response, StatusCode};
use serde_json::json;

use crate::Sim;
use crate::clock::{MAX_ADVANCE_SECS, MAX_SCALE};
use crate::faults::FaultConfig;
use crate::wire::{self, Body, Request};

pub async fn handle(sim: &Arc<Sim>, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let body = match wire::read_body(req.into_body(), 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({"error": e.message})),
    };
    let parse = || -> Result<serde_json::Value, Box<Response<Body>>> {
        if body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Box::new(reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("body is not JSON: {e}")}),
            ))
        })
    };
    match (method, path.as_str()) {
        (Method::GET, p) if p.starts_with(crate::lambda::links::PATH_PREFIX) => {
            code_download(sim, p, &query)
        }
        (Method::GET, "/_sim/health") => reply(
            StatusCode::OK,
            json!({
                "status": "ok",
                "time": sim.clock.now_epoch_secs(),
                "timeScale": sim.clock.scale(),
                "requests": sim.log.len(),
                "faultsInjected": sim.faults.injected(),
            }),
        ),
        (Method::GET, "/_sim/requests") => {
            let q = crate::auth::form_pairs(&query);
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let since = get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
            let service = get("service");
            let operation = get("operation");
            let recs = sim
                .log
                .query(since, service.as_deref(), operation.as_deref());
            reply(
                StatusCode::OK,
                json!({ "requests": recs, "next": sim.log.len() }),
            )
        }
        (Method::GET, "/_sim/faults") => {
            reply(StatusCode::OK, json!({ "rules": sim.faults.rules() }))
        }
        (Method::DELETE, "/_sim/faults") => {
            let _ = sim.faults.set(
                FaultConfig {
                    seed: None,
                    rules: vec![],
                },
                sim.clock.now(),
            );
            reply(StatusCode::OK, json!({ "rules": [] }))
        }
        (Method::POST, "/_sim/faults") => {
            let v = match parse() {
                Ok(v) => v,
                Err(r) => return *r,
            };
            let cfg: FaultConfig = match serde_json::from_value(v) {
                Ok(c) => c,
                Err(e) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("invalid fault config: {e}")}),
                    );
                }
            };
            match sim.faults.set(cfg, sim.clock.now()) {
                Ok(()) => reply(StatusCode::OK, json!({ "rules": sim.faults.rules() })),
                Err(e) => reply(StatusCode::BAD_REQUEST, json!({ "error": e })),
            }
        }
        (Method::POST, "/_sim/clock") => {
            let v = match parse() {
                Ok(v) => v,
                Err(r) => return *r,
            };
            if let Some(s) = v.get("timeScale") {
                match s.as_f64() {
                    Some(x) if (0.0..=MAX_SCALE).contains(&x) => sim.clock.set_scale(x),
                    _ => {
                        return reply(
                            StatusCode::BAD_REQUEST,
                            json!({"error": format!("timeScale must be a number >= 0 (0 freezes simulated time) and <= {MAX_SCALE}")}),
                        );
                    }
                }
            }
            if let Some(s) = v.get("advanceSeconds") {
                match s.as_f64() {
                    Some(x) if (0.0..=MAX_ADVANCE_SECS).contains(&x) => {
                        sim.clock.advance(Duration::from_secs_f64(x))
                    }
                    _ => {
                        return reply(
                            StatusCode::BAD_REQUEST,
                            json!({"error": format!("advanceSeconds must be a number >= 0 and <= {MAX_ADVANCE_SECS} (10 years)")}),
                        );
                    }
                }
            }
            sim.tick();
            reply(
                StatusCode::OK,
                json!({ "time": sim.clock.now_epoch_secs(), "timeScale": sim.clock.scale() }),
            )
        }
        (Method::POST, "/_sim/push") => {
            let v = match parse() {
                Ok(v) => v,
                Err(r) => return *r,
            };
            match crate::codepipeline::push(sim, &v).await {
                Ok(out) => reply(StatusCode::OK, out),
                Err(e) => reply(StatusCode::BAD_REQUEST, json!({ "error": e })),
            }
        }
        (Method::POST, "/_sim/traffic") => {
            let v = match parse() {
                Ok(v) => v,
                Err(r) => return *r,
            };
            match crate::traffic::control(sim, &v) {
                Ok(out) => reply(StatusCode::OK, out),
                Err(e) => reply(StatusCode::BAD_REQUEST, json!({ "error": e })),
            }
        }
        (method, "/_sim/lambda/quota") => {
            let (status, out) = lambda_quota(sim, &method, &body);
            reply(status, out)
        }
        (method, p) if p.starts_with("/_sim/iam/") => {
            let (status, out) = crate::iam::control(&sim.iam, &method, p, &body);
            reply(status, out)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no control route {path}") }),
        ),
    }
}

/// A GetFunction `Code.Location`: the zip, or S3's 403 XML.
fn code_download(sim: &Sim, path: &str, query: &str) -> Response<Body> {
    let q = crate::auth::form_pairs(query);
    let signature = q
        .iter()
        .find(|(k, _)| k == "X-Amz-Signature")
        .map(|(_, v)| v.as_str());
    match sim.lambda.download_code(path, signature) {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/zip")
            .header("content-length", bytes.len())
            .body(wire::full(bytes::Bytes::copy_from_slice(&bytes)))
            .expect("valid response"),
        Err(why) => {
            let message = match why {
                crate::lambda::links::Refused::Expired => "Request has expired",
                crate::lambda::links::Refused::Denied => {
                    "The request signature we calculated does not match the signature you provided."
                }
            };
            Response::builder()
                .status(StatusCode::FORBIDDEN)
                .header("content-type", "application/xml")
                .body(wire::full(format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
                )))
                .expect("valid response")
        }
    }
}

/// `GET /_sim/lambda/quota`: the quota settings (`null` when off),
/// CodeDeploy's Lambda calls, the time scale, and what each caller spent
/// and was throttled since the quota was last set. `POST` with quota fields
/// (`enabled`, `controlPlane`, `getFunction`, `getPolicy`, `burstSeconds`;
/// `{}` = AWS's figures) sets the quota (buckets full, counts from zero);
/// with `codeDeploy` (`callsPerStep`, `retryBaseSeconds`,
/// `retryMaxBackoffSeconds`, `retryWindowSeconds`) changes CodeDeploy's
/// calls, leaving the quota as it is unless quota fields come too. Both
/// are checked before either is applied. Answers as GET.
pub fn lambda_quota(sim: &Sim, method: &Method, body: &[u8]) -> (StatusCode, serde_json::Value) {
    let bad = |e: String| (StatusCode::BAD_REQUEST, json!({ "error": e }));
    match *method {
        Method::GET => {}
        Method::POST => {
            let v: serde_json::Value = if body.is_empty() {
                json!({})
            } else {
                match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return bad(format!("body is not JSON: {e}")),
                }
            };
            let Some(mut obj) = v.as_object().cloned() else {
                return bad("body must be a JSON object".into());
            };
            let calls = match obj.remove("codeDeploy") {
                Some(c) => match sim.codedeploy.lambda_calls().patched(&c) {
                    Ok(c) => Some(c),
                    Err(e) => return bad(e),
                },
                None => None,
            };
            let quota = if calls.is_none() || !obj.is_empty() {
                match crate::lambda::quota_settings(&obj) {
                    Ok(q) => Some(q),
                    Err(e) => return bad(e),
                }
            } else {
                None
            };
            if let Some(c) = calls {
                sim.codedeploy.set_lambda_calls(c);
            }
            if let Some(q) = quota {
                sim.lambda.set_request_quota(q);
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
        json!({
            "quota": sim.lambda.request_quota(),
            "codeDeploy": sim.codedeploy.lambda_calls().to_json(),
            "timeScale": sim.clock.scale(),
            "callers": sim.lambda.quota_report(),
        }),
    )
}

fn reply(status: StatusCode, v: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(wire::full(serde_json::to_vec(&v).unwrap()))
        .expect("valid response")
}

/// The answer when a control route panicked (a sim bug): 500, JSON.
pub(crate) fn internal_error() -> Response<Body> {
    reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"error": "internal error in the control API (see the sim log)"}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn the_lambda_quota_route_sets_the_quota_and_codedeploys_calls() {
        let sim = Sim::new(Config::default()).unwrap();
        let post = |b: &str| lambda_quota(&sim, &Method::POST, b.as_bytes());
        let (s, v) = post(r#"{"enabled": false}"#);
        assert_eq!((s, &v["quota"]), (StatusCode::OK, &serde_json::Value::Null));
        assert_eq!(sim.lambda.request_quota(), None);
        let (s, v) = post(r#"{"controlPlane": 5}"#);
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["quota"]["controlPlane"], 5.0);
        assert_eq!(v["quota"]["getFunction"], 100.0);
        assert_eq!(v["codeDeploy"]["callsPerStep"], 3);
        assert_eq!(v["callers"], json!([]));
        // CodeDeploy's calls alone leave the quota as it is.
        let (s, v) = post(r#"{"codeDeploy": {"callsPerStep": 2, "retryWindowSeconds": 5}}"#);
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["quota"]["controlPlane"], 5.0);
        assert_eq!(v["codeDeploy"]["callsPerStep"], 2);
        assert_eq!(v["codeDeploy"]["retryWindowSeconds"], 5.0);
        assert_eq!(sim.codedeploy.lambda_calls().calls_per_step, 2);
        // Nothing is applied when one part is bad.
        let (s, v) = post(r#"{"controlPlane": 7, "codeDeploy": {"callsPerStep": 0}}"#);
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("callsPerStep"), "{v}");
        let (s, v) = post(r#"{"controlPlane": -1, "codeDeploy": {"callsPerStep": 4}}"#);
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains("controlPlane"), "{v}");
        assert_eq!(sim.codedeploy.lambda_calls().calls_per_step, 2);
        assert_eq!(sim.lambda.request_quota().unwrap().control_plane, 5.0);
        let (s, _) = post(r#"{"enabled": "no"}"#);
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post("[1]");
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, v) = lambda_quota(&sim, &Method::GET, b"");
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["quota"]["controlPlane"], 5.0);
        assert_eq!(v["timeScale"], 1.0);
        let (s, _) = post(r#"{"enabled": true}"#);
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            sim.lambda.request_quota(),
            Some(crate::lambda::quota::RequestQuota::default())
        );
        let (s, _) = lambda_quota(&sim, &Method::DELETE, b"");
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    }
}
