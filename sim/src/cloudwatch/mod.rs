//! CloudWatch, served in Smithy RPC v2 CBOR (aws-sdk-cloudwatch: `POST
//! /service/GraniteServiceVersion20100801/operation/<Op>`, `smithy-protocol:
//! rpc-v2-cbor`; boto3 1.43 picks it too) and awsJson1_0 (the AWS CLI:
//! `X-Amz-Target: GraniteServiceVersion20100801.<Op>`), with query-compatible errors
//! (`x-amzn-query-error: Code;Sender`). gzip-compressed request bodies
//! (PutMetricData request compression) are accepted. The `pub` methods on
//! [`CloudWatch`] are the internal contract other sim modules (traffic,
//! Lambda's Invoke, CodeDeploy) rely on.
//!
//! | operation | simulated |
//! |---|---|
//! | PutMetricAlarm | metric alarms (MetricName/Namespace/Statistic or ExtendedStatistic `pNN`/Dimensions/Period 10, 20, 30 or a multiple of 60/Unit of `StandardUnit`) and metric-math alarms (`Metrics`: MetricStat queries plus one arithmetic expression with `ReturnData`, e.g. `m1/m2*100`); EvaluationPeriods, DatapointsToAlarm, Threshold, the 4 threshold ComparisonOperators, TreatMissingData. Anomaly-detection operators and `ThresholdMetricId` are refused. An update keeps the alarm's state. Actions are stored, **never executed**. |
//! | DescribeAlarms | AlarmNames, AlarmNamePrefix, StateValue, AlarmTypes (values of the model's enum), MaxRecords/NextToken. No composite alarms. |
//! | DeleteAlarms | deletes the named alarms that exist; unknown names are skipped and the call succeeds (the model: "the alarms you specify with correct names are still deleted"; see the README's decisions). |
//! | SetAlarmState | sets the state (history recorded) until the next evaluation, as in AWS; StateReasonData must be JSON (`InvalidFormat`). |
//! | PutMetricData | MetricData and EntityMetricData (its datapoints stored like MetricData's; the entity is not kept); Value, StatisticValues, Values/Counts, Unit of `StandardUnit` (else `InvalidParameterValue`), StorageResolution 1 or 60, timestamps ≤ 2 weeks past / 2 h future, `AWS/` namespaces refused. |
//! | GetMetricStatistics | Statistics and pNN ExtendedStatistics per period, ≤ 1440 datapoints. Percentiles are exact while a period holds ≤ 256 distinct values, else absent. |
//! | GetMetricData | MetricStat and arithmetic expressions; ScanBy; pages of `MaxDatapoints` datapoints (`PartialData` + `NextToken`); a token not issued for the same request → `InvalidNextToken`. CloudWatch's limits, each a `ValidationError` in its wording: ≤ 500 queries, Ids `^[a-z][a-zA-Z0-9_]*$` and unique (every offending Id and unknown statistic named, one a line), periods 1, 5, 10, 20, 30 or a multiple of 60, `StartTime` before `EndTime` in whole seconds; ≤ 100,800 datapoints (`InvalidParameterCombination`). A period without data has no datapoint. |
//! | DescribeAlarmHistory | ConfigurationUpdate and StateUpdate items (HistorySummary `Alarm updated from OK to ALARM`, HistoryData JSON), filters, ScanBy, paging. |
//!
//! Every request is first checked against its operation's model rules
//! (required members, enums; `crate::validate`): `MissingParameter` /
//! `InvalidParameterValue` where the operation's model lists them, else
//! `ValidationError`.
//!
//! Alarm evaluation runs every simulated minute (see `alarms.rs`; alarms
//! with 10 or 30 s periods are evaluated once a minute too). Metrics
//! are kept 2 simulated days (AWS: 15), to bound memory at high time
//! scales. Units are recorded per metric, not per datapoint; a query (or
//! alarm) naming another unit than the metric's gets no data, as CloudWatch
//! converts no units. The `AWS/Lambda` metrics come from
//! the sim's traffic generator and Lambda Invoke calls.

mod alarms;
mod api;
mod expr;
mod metrics;
pub mod value;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http::{Response, StatusCode};

pub use metrics::Stat;

use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{self, Body, Request};
use crate::{Config, Sim};
use value::{Protocol, Val};

/// Every operation this service serves, by its model name; any other is
/// answered as an unknown operation. `validate::model` holds their request
/// rules and the conformance test walks each of them.
pub const OPERATIONS: &[&str] = &[
    "PutMetricAlarm",
    "DescribeAlarms",
    "DeleteAlarms",
    "SetAlarmState",
    "PutMetricData",
    "GetMetricData",
    "GetMetricStatistics",
    "DescribeAlarmHistory",
];

/// The account every simulated resource lives in.
const ACCOUNT: &str = "123456789012";
const CBOR_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";

/// Everything CloudWatch stores, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    metrics: metrics::MetricStore,
    alarms: HashMap<String, BTreeMap<String, alarms::Alarm>>,
    history: HashMap<String, Vec<alarms::HistoryItem>>,
    /// The last minute (epoch minutes) whose boundary was evaluated.
    last_eval_minute: Option<i64>,
    /// When data was last pruned (epoch seconds).
    last_prune: i64,
}

#[derive(Debug)]
pub struct CloudWatch {
    inner: Mutex<Inner>,
}

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

/// Most history items kept per region (oldest dropped first).
const MAX_HISTORY: usize = 100_000;

impl CloudWatch {
    pub fn new(_config: &Config) -> Self {
        CloudWatch {
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Evaluates alarms at every simulated minute boundary passed since the
    /// last tick (at most the last 1440 after a big clock jump).
    pub fn tick(&self, _sim: &Arc<Sim>, now: SystemTime) {
        let t = crate::clock::epoch_secs(now).floor() as i64;
        let minute = t.div_euclid(60);
        let mut guard = crate::lock(&self.inner);
        let inner = &mut *guard;
        let Some(last) = inner.last_eval_minute else {
            inner.last_eval_minute = Some(minute);
            inner.last_prune = t;
            return;
        };
        if minute <= last {
            return;
        }
        for m in (last + 1).max(minute - 1439)..=minute {
            alarms::evaluate_all(
                &mut inner.alarms,
                &mut inner.history,
                &inner.metrics,
                m * 60,
            );
        }
        inner.last_eval_minute = Some(minute);
        for h in inner.history.values_mut() {
            if h.len() > MAX_HISTORY {
                let excess = h.len() - MAX_HISTORY;
                h.drain(..excess);
            }
        }
        if t - inner.last_prune >= 3600 {
            inner.metrics.prune(t);
            inner.last_prune = t;
        }
    }

    /// Records one datapoint (as PutMetricData would), e.g. from the traffic generator.
    pub fn put_metric_internal(&self, region: &str, datum: Datum<'_>) {
        self.put_stat_internal(
            region,
            datum.namespace,
            datum.metric_name,
            datum.dimensions,
            datum.unit,
            datum.time,
            Stat::single(datum.value),
        );
    }

    /// Records aggregated statistics (many datapoints at once) at 1-minute resolution.
    #[allow(clippy::too_many_arguments)]
    pub fn put_stat_internal(
        &self,
        region: &str,
        namespace: &str,
        metric_name: &str,
        dimensions: &[(String, String)],
        unit: &str,
        time: SystemTime,
        stat: Stat,
    ) {
        let key = metrics::MetricKey::new(namespace, metric_name, dimensions);
        crate::lock(&self.inner).metrics.put(
            region,
            key,
            Some(unit),
            crate::clock::epoch_secs(time),
            &stat,
            false,
        );
    }

    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`; `None` when no such alarm.
    pub fn alarm_state(&self, region: &str, name: &str) -> Option<String> {
        crate::lock(&self.inner)
            .alarms
            .get(region)?
            .get(name)
            .map(|a| a.state.clone())
    }

    /// A statistic of one metric over `[start, start + period)` (for tests
    /// and other modules); `None` when there is no data.
    #[allow(clippy::too_many_arguments)]
    pub fn statistic_internal(
        &self,
        region: &str,
        namespace: &str,
        metric_name: &str,
        dimensions: &[(String, String)],
        start: SystemTime,
        period_secs: i64,
        statistic: &str,
    ) -> Option<f64> {
        let key = metrics::MetricKey::new(namespace, metric_name, dimensions);
        let start = crate::clock::epoch_secs(start).floor() as i64;
        crate::lock(&self.inner)
            .metrics
            .window(region, &key, start, period_secs)
            .statistic(statistic)
    }
}

fn protocol_of(req: &Request) -> Protocol {
    let cbor_header = req
        .headers()
        .get("smithy-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("rpc-v2-cbor"));
    if cbor_header || req.uri().path().starts_with(CBOR_PATH) {
        Protocol::Cbor
    } else {
        Protocol::Json
    }
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, AwsError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(16 * 1024 * 1024)
        .read_to_end(&mut out)
        .map_err(|e| {
            AwsError::bad_request(
                "SerializationException",
                format!(
                    "The request body is marked Content-Encoding: gzip but is not valid gzip ({e})."
                ),
            )
        })?;
    Ok(out)
}

/// Handles one request; errors are rendered here, in the request's protocol.
pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let protocol = protocol_of(&req);
    Ok(match serve(sim, ctx, req, protocol).await {
        Ok(r) => r,
        Err(e) => error_response(protocol, &ctx.request_id, &e),
    })
}

async fn serve(
    sim: &Arc<Sim>,
    ctx: &Ctx,
    req: Request,
    protocol: Protocol,
) -> Result<Response<Body>, AwsError> {
    let gzipped = req
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let body = wire::read_body(req.into_body(), 4 * 1024 * 1024).await?;
    let body = if gzipped {
        gunzip(&body)?
    } else {
        body.to_vec()
    };
    let input = value::decode(protocol, &body)?;
    check_request(&ctx.operation, &input)?;
    let now = sim.clock.now_epoch_secs();
    let region = ctx.region.as_str();
    let cw = &sim.cloudwatch;
    let output = {
        let mut inner = crate::lock(&cw.inner);
        match ctx.operation.as_str() {
            "PutMetricAlarm" => api::put_metric_alarm(&mut inner, region, &input, now),
            "DescribeAlarms" => api::describe_alarms(&inner, region, &input),
            "DeleteAlarms" => api::delete_alarms(&mut inner, region, &input),
            "SetAlarmState" => api::set_alarm_state(&mut inner, region, &input, now),
            "PutMetricData" => api::put_metric_data(&mut inner, region, &input, now),
            "GetMetricStatistics" => api::get_metric_statistics(&inner, region, &input),
            "GetMetricData" => api::get_metric_data(&inner, region, &input, now),
            "DescribeAlarmHistory" => api::describe_alarm_history(&inner, region, &input),
            op => Err(AwsError::bad_request(
                "InvalidAction",
                format!(
                    "The action {op} is not valid for this web service (not simulated by aws-sim)."
                ),
            )),
        }
    }?;
    Ok(ok(protocol, &ctx.request_id, &output))
}

/// The model's required members and enums, before the operation runs.
/// Operations whose model lists `MissingParameter` / `InvalidParameterValue`
/// answer with those (query-protocol paths, e.g. `MetricData.member.1.Unit`);
/// the others with the `ValidationError` CloudWatch's request validation
/// sends (see the README's decisions).
fn check_request(operation: &str, input: &Val) -> Result<(), AwsError> {
    let violations = crate::validate::check("monitoring", operation, &value::to_json(input));
    let Some(first) = violations.first() else {
        return Ok(());
    };
    if matches!(operation, "PutMetricData" | "GetMetricStatistics") {
        let at = first.query_path();
        return Err(match &first.value {
            None => AwsError::bad_request(
                "MissingParameter",
                format!("The parameter {at} is required."),
            ),
            Some(v) => AwsError::bad_request(
                "InvalidParameterValue",
                format!(
                    "The value {v} for parameter {at} is not valid. Valid values: {}.",
                    first.allowed().join(", ")
                ),
            ),
        });
    }
    Err(AwsError::bad_request(
        "ValidationError",
        crate::validate::message(&violations),
    ))
}

fn ok(protocol: Protocol, request_id: &str, v: &Val) -> Response<Body> {
    let b = Response::builder()
        .status(StatusCode::OK)
        .header("x-amzn-requestid", request_id);
    let b = match protocol {
        Protocol::Cbor => b
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor"),
        Protocol::Json => b.header("content-type", "application/x-amz-json-1.0"),
    };
    b.body(wire::full(value::encode(protocol, v)))
        .expect("valid response")
}

pub fn operation(req: &Request) -> String {
    let p = req.uri().path();
    if let Some(op) = p.strip_prefix(CBOR_PATH) {
        return op.to_string();
    }
    crate::wire::json_target_operation(req.headers()).unwrap_or_else(|| "Unknown".into())
}

/// Renders an error outside the handler (injected faults) in the protocol
/// the request used. The Ctx carries no headers, so CBOR is recognised by
/// the `smithy-protocol` header among the SigV4 signed headers (the Rust SDK
/// signs it; boto3's JSON requests have no such header); an unsigned CBOR
/// request gets a JSON error.
pub fn render_error(ctx: &Ctx, err: &AwsError) -> Response<Body> {
    let cbor = ctx
        .auth
        .as_ref()
        .is_some_and(|a| a.signed_headers.iter().any(|h| h == "smithy-protocol"));
    let protocol = if cbor { Protocol::Cbor } else { Protocol::Json };
    error_response(protocol, &ctx.request_id, err)
}

/// A query-compatible error: the code travels in `x-amzn-query-error` as
/// well as in the body's `__type`.
fn error_response(protocol: Protocol, request_id: &str, err: &AwsError) -> Response<Body> {
    if protocol == Protocol::Json {
        return wire::json_error(wire::JsonVersion::V1_0, request_id, err, true);
    }
    let mut body = Val::map()
        .with("__type", err.code.as_str())
        .with("message", err.message.as_str());
    for (k, v) in &err.extra {
        body = body.with(k, v.as_str());
    }
    let fault = if err.is_sender_fault() {
        "Sender"
    } else {
        "Receiver"
    };
    Response::builder()
        .status(err.status)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("x-amzn-requestid", request_id)
        .header("x-amzn-errortype", err.code.as_str())
        .header("x-amzn-query-error", format!("{};{fault}", err.code))
        .body(wire::full(value::encode(Protocol::Cbor, &body)))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_under_the_cloudwatch_lock_does_not_brick_the_sim() {
        // Review P1-0: after a panic under this lock, every `sim.tick()` (every
        // request of every service, and the ticker) panicked.
        let sim = Sim::new(Config::default()).unwrap();
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = sim.cloudwatch.inner.lock().unwrap();
                panic!("handler bug under the CloudWatch lock");
            })
            .join()
        });
        assert!(sim.cloudwatch.inner.is_poisoned());
        sim.tick();
        let now = sim.clock.now();
        sim.cloudwatch.put_metric_internal(
            "us-east-1",
            Datum {
                namespace: "N",
                metric_name: "M",
                dimensions: &[],
                value: 2.5,
                unit: "Count",
                time: now,
            },
        );
        let minute = (crate::clock::epoch_secs(now) / 60.0).floor() * 60.0;
        let start = crate::clock::from_epoch_secs(minute).unwrap();
        assert_eq!(
            sim.cloudwatch
                .statistic_internal("us-east-1", "N", "M", &[], start, 60, "Sum"),
            Some(2.5)
        );
        sim.tick();
    }
}
