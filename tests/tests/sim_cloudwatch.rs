//! aws-sim's CloudWatch through the official Rust SDK (aws-sdk-cloudwatch,
//! which speaks Smithy RPC v2 CBOR): alarm evaluation for every comparison
//! operator and TreatMissingData mode, M-out-of-N, SetAlarmState holding until
//! the next evaluation, history, an `Errors` alarm and a metric-math ratio
//! alarm driven by the traffic generator, metric queries, validation errors,
//! injected throttling — and the awsJson1_0 protocol (what the AWS CLI
//! sends; boto3 1.43 itself picks CBOR), sent as raw HTTP, answering
//! identically.
//!
//! Scenarios run on a near-frozen clock (time scale 0.001) and move
//! simulated time explicitly, a minute at a time, so every evaluation is
//! deterministic: no minute boundary passes on its own mid-test.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch as cw;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, HistoryItemType, Metric, MetricDataQuery, MetricDatum,
    MetricStat, StandardUnit, StateValue, Statistic,
};
use aws_sdk_lambda as lambda;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FunctionCode, Runtime};
use e2e::{SimConfig, SimHandle, sdk_config, start_sim};
use serde_json::{Value, json};

const NS: &str = "Shop";
const FROZEN: f64 = 0.001;

async fn sim(traffic_rate: f64) -> (SimHandle, cw::Client) {
    let sim = start_sim(SimConfig {
        time_scale: FROZEN,
        seed: 3,
        traffic_rate,
        lambda_update_delay: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let client = cw::Client::new(&sdk_config(&sim.endpoint()));
    (sim, client)
}

/// Moves simulated time forward by whole minutes (each crosses one
/// evaluation boundary).
fn advance_minutes(sim: &SimHandle, n: u64) {
    for _ in 0..n {
        sim.sim().clock.advance(Duration::from_secs(60));
        sim.sim().tick();
    }
}

fn failure<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> (String, u16) {
    let e = r.expect_err("expected an AWS error");
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (
        e.code()
            .unwrap_or_else(|| panic!("no error code: {e:?}"))
            .to_string(),
        status,
    )
}

async fn put(c: &cw::Client, metric: &str, value: f64) {
    c.put_metric_data()
        .namespace(NS)
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .value(value)
                .unit(StandardUnit::Count)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData");
}

#[allow(clippy::too_many_arguments)]
async fn alarm(
    c: &cw::Client,
    name: &str,
    metric: &str,
    op: ComparisonOperator,
    threshold: f64,
    treat: Option<&str>,
    periods: i32,
    to_alarm: Option<i32>,
) {
    c.put_metric_alarm()
        .alarm_name(name)
        .namespace(NS)
        .metric_name(metric)
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(periods)
        .set_datapoints_to_alarm(to_alarm)
        .threshold(threshold)
        .comparison_operator(op)
        .set_treat_missing_data(treat.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutMetricAlarm {name}: {e:?}"));
}

async fn state(c: &cw::Client, name: &str) -> StateValue {
    let out = c.describe_alarms().alarm_names(name).send().await.unwrap();
    out.metric_alarms()[0].state_value().unwrap().clone()
}

#[tokio::test]
async fn every_comparison_operator() {
    let (sim, c) = sim(0.0).await;
    use ComparisonOperator as Op;
    let cases = [
        (
            "gte-4",
            Op::GreaterThanOrEqualToThreshold,
            4.0,
            StateValue::Alarm,
        ),
        (
            "gte-5",
            Op::GreaterThanOrEqualToThreshold,
            5.0,
            StateValue::Alarm,
        ),
        (
            "gte-6",
            Op::GreaterThanOrEqualToThreshold,
            6.0,
            StateValue::Ok,
        ),
        ("gt-4", Op::GreaterThanThreshold, 4.0, StateValue::Alarm),
        ("gt-5", Op::GreaterThanThreshold, 5.0, StateValue::Ok),
        ("lt-5", Op::LessThanThreshold, 5.0, StateValue::Ok),
        ("lt-6", Op::LessThanThreshold, 6.0, StateValue::Alarm),
        ("lte-4", Op::LessThanOrEqualToThreshold, 4.0, StateValue::Ok),
        (
            "lte-5",
            Op::LessThanOrEqualToThreshold,
            5.0,
            StateValue::Alarm,
        ),
    ];
    for (name, op, t, _) in &cases {
        alarm(&c, name, "Orders", op.clone(), *t, None, 1, None).await;
        assert_eq!(state(&c, name).await, StateValue::InsufficientData);
    }
    put(&c, "Orders", 2.0).await;
    put(&c, "Orders", 3.0).await;
    advance_minutes(&sim, 1);
    for (name, _, _, want) in &cases {
        assert_eq!(&state(&c, name).await, want, "{name}");
    }
    let a = c
        .describe_alarms()
        .alarm_names("gte-5")
        .send()
        .await
        .unwrap();
    let a = &a.metric_alarms()[0];
    assert!(
        a.state_reason()
            .unwrap()
            .starts_with("Threshold Crossed: 1 datapoint [5.0 ("),
        "{:?}",
        a.state_reason()
    );
    let data: Value = serde_json::from_str(a.state_reason_data().unwrap()).unwrap();
    assert_eq!(data["recentDatapoints"], json!([5.0]));
    assert_eq!(data["threshold"], json!(5.0));
    assert_eq!(
        a.alarm_arn(),
        Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:gte-5")
    );
    // The next minute has no data: default `missing` → INSUFFICIENT_DATA.
    advance_minutes(&sim, 1);
    assert_eq!(state(&c, "gte-5").await, StateValue::InsufficientData);

    // DescribeAlarms filters and paging.
    let by_state = c
        .describe_alarms()
        .state_value(StateValue::InsufficientData)
        .alarm_name_prefix("gt")
        .send()
        .await
        .unwrap();
    assert_eq!(by_state.metric_alarms().len(), 5);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .describe_alarms()
            .max_records(4)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.metric_alarms()
                .iter()
                .map(|a| a.alarm_name().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut want: Vec<_> = cases.iter().map(|c| c.0.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
    let (code, status) = failure(c.describe_alarms().next_token("bogus").send().await);
    assert_eq!((code.as_str(), status), ("InvalidNextToken", 400));

    // DeleteAlarms deletes the correctly named alarms even when another
    // name is unknown (the model's documentation), and answers a success.
    c.delete_alarms()
        .alarm_names("gt-4")
        .alarm_names("nope")
        .alarm_names("gt-5")
        .send()
        .await
        .unwrap();
    let left = c
        .describe_alarms()
        .alarm_name_prefix("gt-")
        .send()
        .await
        .unwrap();
    assert!(left.metric_alarms().is_empty());
}

#[tokio::test]
async fn treat_missing_data_modes_and_set_alarm_state() {
    let (sim, c) = sim(0.0).await;
    use ComparisonOperator as Op;
    for (name, treat) in [
        ("missing", Some("missing")),
        ("default", None),
        ("breaching", Some("breaching")),
        ("not-breaching", Some("notBreaching")),
        ("ignore", Some("ignore")),
    ] {
        alarm(
            &c,
            name,
            "Silent",
            Op::GreaterThanThreshold,
            0.0,
            treat,
            1,
            None,
        )
        .await;
    }
    advance_minutes(&sim, 1);
    assert_eq!(state(&c, "missing").await, StateValue::InsufficientData);
    assert_eq!(state(&c, "default").await, StateValue::InsufficientData);
    assert_eq!(state(&c, "breaching").await, StateValue::Alarm);
    assert_eq!(state(&c, "not-breaching").await, StateValue::Ok);
    assert_eq!(state(&c, "ignore").await, StateValue::InsufficientData);
    let reason = c
        .describe_alarms()
        .alarm_names("breaching")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reason.metric_alarms()[0].state_reason(),
        Some(
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching]."
        )
    );

    // SetAlarmState holds until the next evaluation, then the data decides.
    for name in ["missing", "ignore"] {
        c.set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Alarm)
            .state_reason("testing")
            .state_reason_data(r#"{"why":"test"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(state(&c, name).await, StateValue::Alarm);
    }
    assert_eq!(
        sim.sim()
            .cloudwatch
            .alarm_state("us-east-1", "missing")
            .as_deref(),
        Some("ALARM")
    );
    advance_minutes(&sim, 1);
    assert_eq!(state(&c, "missing").await, StateValue::InsufficientData);
    assert_eq!(
        state(&c, "ignore").await,
        StateValue::Alarm,
        "ignore keeps the state"
    );
    // With data, `ignore` evaluates like any alarm.
    put(&c, "Silent", 0.0).await;
    advance_minutes(&sim, 1);
    assert_eq!(state(&c, "ignore").await, StateValue::Ok);

    let (code, status) = failure(
        c.set_alarm_state()
            .alarm_name("nope")
            .state_value(StateValue::Ok)
            .state_reason("x")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceNotFound", 404));
    let (code, _) = failure(
        c.set_alarm_state()
            .alarm_name("ignore")
            .state_value(StateValue::Ok)
            .state_reason("x")
            .state_reason_data("{not json")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidFormat");

    // History: newest first, StateUpdate summaries like AWS.
    let h = c
        .describe_alarm_history()
        .alarm_name("missing")
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    let summaries: Vec<_> = h
        .alarm_history_items()
        .iter()
        .map(|i| i.history_summary().unwrap())
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from INSUFFICIENT_DATA to OK",
            "Alarm updated from ALARM to INSUFFICIENT_DATA",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
        ]
    );
    let data: Value =
        serde_json::from_str(h.alarm_history_items()[2].history_data().unwrap()).unwrap();
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    assert_eq!(data["newState"]["stateReason"], "testing");
    assert_eq!(data["oldState"]["stateValue"], "INSUFFICIENT_DATA");
    let all = c
        .describe_alarm_history()
        .alarm_name("missing")
        .scan_by(cw::types::ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let first = &all.alarm_history_items()[0];
    assert_eq!(
        first.history_item_type(),
        Some(&HistoryItemType::ConfigurationUpdate)
    );
    assert_eq!(first.history_summary(), Some("Alarm \"missing\" created"));
}

#[tokio::test]
async fn datapoints_to_alarm_m_out_of_n() {
    let (sim, c) = sim(0.0).await;
    use ComparisonOperator as Op;
    alarm(
        &c,
        "two-of-three",
        "Latency",
        Op::GreaterThanThreshold,
        100.0,
        None,
        3,
        Some(2),
    )
    .await;
    alarm(
        &c,
        "three-of-three",
        "Latency",
        Op::GreaterThanThreshold,
        100.0,
        None,
        3,
        None,
    )
    .await;
    alarm(
        &c,
        "three-breaching",
        "Latency",
        Op::GreaterThanThreshold,
        100.0,
        Some("breaching"),
        3,
        None,
    )
    .await;
    // Minutes: breaching, missing, breaching.
    put(&c, "Latency", 500.0).await;
    advance_minutes(&sim, 1);
    advance_minutes(&sim, 1);
    put(&c, "Latency", 700.0).await;
    advance_minutes(&sim, 1);
    assert_eq!(state(&c, "two-of-three").await, StateValue::Alarm);
    assert_eq!(state(&c, "three-of-three").await, StateValue::Ok);
    assert_eq!(state(&c, "three-breaching").await, StateValue::Alarm);
    let a = c
        .describe_alarms()
        .alarm_names("two-of-three")
        .send()
        .await
        .unwrap();
    let reason = a.metric_alarms()[0].state_reason().unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 2 out of the last 3 datapoints [700.0 ("),
        "{reason}"
    );
    assert!(
        reason.ends_with("(minimum 2 datapoints for OK -> ALARM transition)."),
        "{reason}"
    );
}

#[tokio::test]
async fn metric_queries_and_validation() {
    let (sim, c) = sim(0.0).await;
    let now = sim.sim().clock.now();
    let minute = |k: u64| {
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs() / 60 * 60;
        UNIX_EPOCH + Duration::from_secs(t - 60 * k)
    };
    let dim = Dimension::builder().name("Store").value("berlin").build();
    for (k, v) in [(3u64, 10.0), (2, 20.0), (2, 40.0), (1, 5.0)] {
        c.put_metric_data()
            .namespace(NS)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Sales")
                    .dimensions(dim.clone())
                    .timestamp(minute(k).into())
                    .value(v)
                    .unit(StandardUnit::Count)
                    .build(),
            )
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Visits")
                    .dimensions(dim.clone())
                    .timestamp(minute(k).into())
                    .values(100.0)
                    .counts(2.0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let stats = c
        .get_metric_statistics()
        .namespace(NS)
        .metric_name("Sales")
        .dimensions(dim.clone())
        .start_time(minute(3).into())
        .end_time(minute(0).into())
        .period(60)
        .statistics(Statistic::Sum)
        .statistics(Statistic::Average)
        .statistics(Statistic::SampleCount)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    let points: Vec<(i64, f64, f64, f64, f64)> = stats
        .datapoints()
        .iter()
        .map(|d| {
            (
                d.timestamp().unwrap().secs(),
                d.sum().unwrap(),
                d.average().unwrap(),
                d.sample_count().unwrap(),
                d.maximum().unwrap(),
            )
        })
        .collect();
    let t = |k| minute(k).duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert_eq!(
        points,
        [
            (t(3), 10.0, 10.0, 1.0, 10.0),
            (t(2), 60.0, 30.0, 2.0, 40.0),
            (t(1), 5.0, 5.0, 1.0, 5.0)
        ]
    );
    assert_eq!(stats.datapoints()[0].unit(), Some(&StandardUnit::Count));
    // Without the dimension it is another metric: no data.
    let none = c
        .get_metric_statistics()
        .namespace(NS)
        .metric_name("Sales")
        .start_time(minute(3).into())
        .end_time(minute(0).into())
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap();
    assert!(none.datapoints().is_empty());

    // GetMetricData: a MetricStat and a ratio expression.
    let stat = |id: &str, name: &str, ret: bool| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(NS)
                            .metric_name(name)
                            .dimensions(dim.clone())
                            .build(),
                    )
                    .period(60)
                    .stat("Sum")
                    .build(),
            )
            .return_data(ret)
            .build()
    };
    let out = c
        .get_metric_data()
        .metric_data_queries(stat("sales", "Sales", true))
        .metric_data_queries(stat("visits", "Visits", false))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("conversion")
                .expression("100 * sales / visits")
                .label("Conversion %")
                .build(),
        )
        .start_time(minute(3).into())
        .end_time(minute(0).into())
        .send()
        .await
        .unwrap();
    let results = out.metric_data_results();
    assert_eq!(results.len(), 2, "visits has ReturnData false");
    let conv = results
        .iter()
        .find(|r| r.id() == Some("conversion"))
        .unwrap();
    assert_eq!(conv.label(), Some("Conversion %"));
    assert_eq!(conv.values(), [2.5, 15.0, 5.0], "newest first");
    assert_eq!(conv.timestamps()[0].secs(), t(1));

    // A large PutMetricData (the SDK gzips bodies over 10 KB) lands whole.
    let mut big = c.put_metric_data().namespace(NS);
    for i in 0..400 {
        big = big.metric_data(
            MetricDatum::builder()
                .metric_name("PerShelf")
                .dimensions(
                    Dimension::builder()
                        .name("Shelf")
                        .value(format!("s{i}"))
                        .build(),
                )
                .value(f64::from(i))
                .build(),
        );
    }
    big.send().await.unwrap();
    let shelf = c
        .get_metric_statistics()
        .namespace(NS)
        .metric_name("PerShelf")
        .dimensions(Dimension::builder().name("Shelf").value("s123").build())
        .start_time(minute(1).into())
        .end_time((now + Duration::from_secs(120)).into())
        .period(300)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap();
    assert_eq!(shelf.datapoints().len(), 1);
    assert_eq!(shelf.datapoints()[0].sum(), Some(123.0));

    // Validation, with CloudWatch's query-compatible codes.
    let (code, _) = failure(
        c.put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(MetricDatum::builder().metric_name("x").value(1.0).build())
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValue");
    let (code, _) = failure(
        c.put_metric_data()
            .namespace(NS)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("x")
                    .value(1.0)
                    .values(2.0)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterCombination");
    let (code, _) = failure(
        c.put_metric_data()
            .namespace(NS)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("x")
                    .value(1.0)
                    .timestamp((now - Duration::from_secs(15 * 86400)).into())
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValue");
    let (code, _) = failure(
        c.get_metric_statistics()
            .namespace(NS)
            .metric_name("Sales")
            .start_time(minute(0).into())
            .end_time(minute(3).into())
            .period(60)
            .statistics(Statistic::Sum)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValue");
    let (code, _) = failure(
        c.get_metric_statistics()
            .namespace(NS)
            .metric_name("Sales")
            .start_time(minute(3).into())
            .end_time(minute(0).into())
            .period(60)
            .send()
            .await,
    );
    assert_eq!(code, "MissingParameter");
    let (code, _) = failure(
        c.get_metric_statistics()
            .namespace(NS)
            .metric_name("Sales")
            .start_time((now - Duration::from_secs(3 * 86400)).into())
            .end_time(now.into())
            .period(60)
            .statistics(Statistic::Sum)
            .send()
            .await,
    );
    assert_eq!(
        code, "InvalidParameterCombination",
        "more than 1440 datapoints"
    );
    let (code, status) = failure(
        c.put_metric_alarm()
            .alarm_name("bad")
            .namespace(NS)
            .metric_name("Sales")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(2)
            .datapoints_to_alarm(3)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ValidationError", 400));
    let (code, _) = failure(
        c.put_metric_alarm()
            .alarm_name("bad")
            .namespace(NS)
            .metric_name("Sales")
            .statistic(Statistic::Sum)
            .period(45)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationError");
    let (code, _) = failure(
        c.put_metric_alarm()
            .alarm_name("bad")
            .namespace(NS)
            .metric_name("Sales")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationError");
    let (code, _) = failure(
        c.put_metric_alarm()
            .alarm_name("bad")
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .metrics(stat("m1", "Sales", false))
            .metrics(
                MetricDataQuery::builder()
                    .id("e1")
                    .expression("m1 / m9")
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "ValidationError", "unknown id in expression");
}

/// A Lambda function whose version 2 fails half of its invocations, behind
/// an alias sending it 50 % of the traffic generator's invocations.
async fn faulty_canary(sim: &SimHandle) {
    let l = lambda::Client::new(&sdk_config(&sim.endpoint()));
    let zip = |marker: &str, behavior: &str| {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("index.js", o).unwrap();
        w.write_all(marker.as_bytes()).unwrap();
        w.start_file(".sim/behavior.json", o).unwrap();
        w.write_all(behavior.as_bytes()).unwrap();
        w.finish().unwrap().into_inner()
    };
    l.create_function()
        .function_name("pay")
        .runtime(Runtime::Nodejs20x)
        .role("arn:aws:iam::123456789012:role/exec")
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip("v1", "{}")))
                .build(),
        )
        .publish(true)
        .send()
        .await
        .unwrap();
    sim.sim().clock.advance(Duration::from_secs(2));
    sim.sim().tick();
    l.update_function_code()
        .function_name("pay")
        .zip_file(Blob::new(zip("v2", r#"{"errorRate":0.5}"#)))
        .publish(true)
        .send()
        .await
        .unwrap();
    l.create_alias()
        .function_name("pay")
        .name("live")
        .function_version("1")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights("2", 0.5)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn lambda_dims(version: &str) -> Vec<Dimension> {
    vec![
        Dimension::builder()
            .name("FunctionName")
            .value("pay")
            .build(),
        Dimension::builder()
            .name("Resource")
            .value("pay:live")
            .build(),
        Dimension::builder()
            .name("ExecutedVersion")
            .value(version)
            .build(),
    ]
}

#[tokio::test]
async fn errors_and_error_rate_alarms_fire_from_traffic() {
    let (sim, c) = sim(10.0).await;
    faulty_canary(&sim).await;
    for (name, version) in [("errors-v2", "2"), ("errors-v1", "1")] {
        c.put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .set_dimensions(Some(lambda_dims(version)))
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(5.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data("notBreaching")
            .send()
            .await
            .unwrap();
    }
    let ratio = |name: &str, expr: &str, threshold: f64| {
        let m = |id: &str, metric: &str| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/Lambda")
                                .metric_name(metric)
                                .set_dimensions(Some(lambda_dims("2")))
                                .build(),
                        )
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .return_data(false)
                .build()
        };
        c.put_metric_alarm()
            .alarm_name(name)
            .evaluation_periods(2)
            .datapoints_to_alarm(2)
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .metrics(m("m1", "Errors"))
            .metrics(m("m2", "Invocations"))
            .metrics(
                MetricDataQuery::builder()
                    .id("rate")
                    .expression(expr)
                    .return_data(true)
                    .build(),
            )
            .send()
    };
    ratio("rate-25", "m1/m2*100", 25.0).await.unwrap();
    ratio("rate-75", "100*m1/m2", 75.0).await.unwrap();
    ratio("rate-frac", "m1/m2", 0.4).await.unwrap();
    advance_minutes(&sim, 3);
    assert_eq!(state(&c, "errors-v2").await, StateValue::Alarm);
    assert_eq!(state(&c, "errors-v1").await, StateValue::Ok);
    assert_eq!(state(&c, "rate-25").await, StateValue::Alarm);
    assert_eq!(state(&c, "rate-75").await, StateValue::Ok);
    assert_eq!(state(&c, "rate-frac").await, StateValue::Alarm);
    let a = c
        .describe_alarms()
        .alarm_names("rate-25")
        .send()
        .await
        .unwrap();
    let a = &a.metric_alarms()[0];
    assert_eq!(a.metrics().len(), 3);
    assert_eq!(a.metrics()[2].expression(), Some("m1/m2*100"));
    let data: Value = serde_json::from_str(a.state_reason_data().unwrap()).unwrap();
    let rate = data["recentDatapoints"][0].as_f64().unwrap();
    assert!((40.0..60.0).contains(&rate), "error rate {rate} %");
    // Internal API other modules (CodeDeploy) use.
    assert_eq!(
        sim.sim()
            .cloudwatch
            .alarm_state("us-east-1", "errors-v2")
            .as_deref(),
        Some("ALARM")
    );
    assert_eq!(sim.sim().cloudwatch.alarm_state("us-east-1", "nope"), None);
}

#[tokio::test]
async fn injected_throttling_speaks_cbor() {
    let (sim, _) = sim(0.0).await;
    let conf = sdk_config(&sim.endpoint());
    let c = cw::Client::from_conf(
        cw::config::Builder::from(&conf)
            .retry_config(cw::config::retry::RetryConfig::disabled())
            .build(),
    );
    sim.sim()
        .faults
        .set(
            aws_sim::faults::FaultConfig {
                seed: None,
                rules: vec![aws_sim::faults::FaultRule {
                    service: Some("monitoring".into()),
                    operation: Some("DescribeAlarms".into()),
                    throttle: 1.0,
                    ..Default::default()
                }],
            },
            sim.sim().clock.now(),
        )
        .unwrap();
    let (code, status) = failure(c.describe_alarms().send().await);
    assert_eq!((code.as_str(), status), ("Throttling", 400));
    // The JSON protocol gets the same error in JSON.
    let (status, headers, body) = json_call(&sim, "DescribeAlarms", &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "Throttling");
    assert!(
        headers.contains("x-amzn-query-error: throttling;sender"),
        "{headers}"
    );
}

/// One awsJson1_0 call as the AWS CLI sends it (unsigned here):
/// `(status, raw headers, JSON body)`.
async fn json_call(sim: &SimHandle, op: &str, input: &Value) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_vec(input).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: GraniteServiceVersion20100801.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sim.addr(),
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap();
    let status = headers[9..12].parse().unwrap();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, headers.to_ascii_lowercase(), json)
}

fn epoch(t: &aws_smithy_types::DateTime) -> f64 {
    t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

#[tokio::test]
async fn cbor_and_json_answer_identically() {
    let (sim, c) = sim(0.0).await;
    // Written through JSON, read through CBOR (and the other way round).
    let (status, headers, body) = json_call(
        &sim,
        "PutMetricData",
        &json!({"Namespace": NS, "MetricData": [{"MetricName": "Carts", "Value": 7.0, "Unit": "Count"}]}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})), "{headers}");
    assert!(headers.contains("content-type: application/x-amz-json-1.0"));
    put(&c, "Carts", 3.0).await;
    alarm(
        &c,
        "carts",
        "Carts",
        ComparisonOperator::GreaterThanThreshold,
        9.0,
        None,
        1,
        None,
    )
    .await;
    let (status, _, _) = json_call(
        &sim,
        "PutMetricAlarm",
        &json!({"AlarmName": "carts-json", "Namespace": NS, "MetricName": "Carts", "Statistic": "Sum",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": 11.0,
                "ComparisonOperator": "GreaterThanThreshold", "AlarmDescription": "via JSON"}),
    )
    .await;
    assert_eq!(status, 200);
    advance_minutes(&sim, 1);

    let sdk = c
        .describe_alarms()
        .alarm_name_prefix("carts")
        .send()
        .await
        .unwrap();
    let (status, _, json) =
        json_call(&sim, "DescribeAlarms", &json!({"AlarmNamePrefix": "carts"})).await;
    assert_eq!(status, 200);
    let jalarms = json["MetricAlarms"].as_array().unwrap();
    assert_eq!(sdk.metric_alarms().len(), 2);
    assert_eq!(jalarms.len(), 2);
    for (a, j) in sdk.metric_alarms().iter().zip(jalarms) {
        assert_eq!(a.alarm_name(), j["AlarmName"].as_str());
        assert_eq!(a.alarm_arn(), j["AlarmArn"].as_str());
        assert_eq!(a.alarm_description(), j["AlarmDescription"].as_str());
        assert_eq!(
            a.state_value().unwrap().as_str(),
            j["StateValue"].as_str().unwrap()
        );
        assert_eq!(a.state_reason(), j["StateReason"].as_str());
        assert_eq!(a.state_reason_data(), j["StateReasonData"].as_str());
        assert_eq!(a.threshold(), j["Threshold"].as_f64());
        assert_eq!(a.period(), j["Period"].as_i64().map(|p| p as i32));
        assert_eq!(
            a.evaluation_periods(),
            j["EvaluationPeriods"].as_i64().map(|p| p as i32)
        );
        assert_eq!(
            a.comparison_operator().unwrap().as_str(),
            j["ComparisonOperator"].as_str().unwrap()
        );
        assert_eq!(
            a.statistic().unwrap().as_str(),
            j["Statistic"].as_str().unwrap()
        );
        assert_eq!(a.actions_enabled(), j["ActionsEnabled"].as_bool());
        let t = epoch(a.state_updated_timestamp().unwrap());
        assert!((t - j["StateUpdatedTimestamp"].as_f64().unwrap()).abs() < 0.001);
    }
    assert_eq!(jalarms[0]["StateValue"], "ALARM", "7 + 3 > 9");
    assert_eq!(jalarms[1]["StateValue"], "OK", "10 <= 11");

    // Same statistics both ways.
    let start = sim.sim().clock.now() - Duration::from_secs(600);
    let end = sim.sim().clock.now();
    let sdk = c
        .get_metric_statistics()
        .namespace(NS)
        .metric_name("Carts")
        .start_time(start.into())
        .end_time(end.into())
        .period(60)
        .statistics(Statistic::Sum)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .unwrap();
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let (_, _, json) = json_call(
        &sim,
        "GetMetricStatistics",
        &json!({"Namespace": NS, "MetricName": "Carts", "StartTime": secs(start), "EndTime": secs(end),
                "Period": 60, "Statistics": ["Sum", "SampleCount"]}),
    )
    .await;
    let jpoints = json["Datapoints"].as_array().unwrap();
    assert_eq!(sdk.datapoints().len(), 1);
    assert_eq!(jpoints.len(), 1);
    assert_eq!(sdk.datapoints()[0].sum(), jpoints[0]["Sum"].as_f64());
    assert_eq!(sdk.datapoints()[0].sum(), Some(10.0));
    assert_eq!(
        sdk.datapoints()[0].sample_count(),
        jpoints[0]["SampleCount"].as_f64()
    );
    assert_eq!(
        sdk.datapoints()[0].timestamp().unwrap().secs() as f64,
        jpoints[0]["Timestamp"].as_f64().unwrap()
    );
    assert_eq!(json["Label"], "Carts");

    // Same history both ways.
    let sdk = c
        .describe_alarm_history()
        .alarm_name("carts")
        .send()
        .await
        .unwrap();
    let (_, _, json) =
        json_call(&sim, "DescribeAlarmHistory", &json!({"AlarmName": "carts"})).await;
    let jitems = json["AlarmHistoryItems"].as_array().unwrap();
    assert_eq!(sdk.alarm_history_items().len(), jitems.len());
    for (a, j) in sdk.alarm_history_items().iter().zip(jitems) {
        assert_eq!(a.history_summary(), j["HistorySummary"].as_str());
        assert_eq!(a.history_data(), j["HistoryData"].as_str());
        assert_eq!(
            a.history_item_type().unwrap().as_str(),
            j["HistoryItemType"].as_str().unwrap()
        );
    }

    // Same errors both ways: code in the body and in x-amzn-query-error.
    let (code, status) = failure(
        c.set_alarm_state()
            .alarm_name("ghost")
            .state_value(StateValue::Ok)
            .state_reason("x")
            .send()
            .await,
    );
    let (jstatus, headers, json) = json_call(
        &sim,
        "SetAlarmState",
        &json!({"AlarmName": "ghost", "StateValue": "OK", "StateReason": "x"}),
    )
    .await;
    assert_eq!((code.as_str(), status), ("ResourceNotFound", 404));
    assert_eq!(jstatus, 404);
    assert_eq!(json["__type"], "ResourceNotFound");
    assert_eq!(json["message"], "Alarm ghost not found");
    assert!(
        headers.contains("x-amzn-query-error: resourcenotfound;sender"),
        "{headers}"
    );
    let (code, _) = failure(
        c.put_metric_data()
            .namespace("AWS/EC2")
            .metric_data(MetricDatum::builder().metric_name("x").value(1.0).build())
            .send()
            .await,
    );
    let (_, _, json) = json_call(
        &sim,
        "PutMetricData",
        &json!({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "x", "Value": 1.0}]}),
    )
    .await;
    assert_eq!(code, "InvalidParameterValue");
    assert_eq!(json["__type"], "InvalidParameterValue");
}

/// After a hostile request, CloudWatch and another service still answer
/// (review P1-0: a panic under the CloudWatch lock used to brick the sim).
async fn still_answers(sim: &SimHandle, c: &cw::Client) {
    c.describe_alarms().send().await.expect("DescribeAlarms");
    let cd = aws_sdk_codedeploy::Client::new(&sdk_config(&sim.endpoint()));
    cd.list_applications()
        .send()
        .await
        .expect("CodeDeploy ListApplications");
}

#[tokio::test]
async fn overflowing_alarm_period_is_a_validation_error() {
    // Review P1-1: Period × EvaluationPeriods overflowed i64.
    let (sim, c) = sim(0.0).await;
    let alarm = |period: i64, evaluation_periods: i64| {
        json!({"AlarmName": "a", "EvaluationPeriods": evaluation_periods,
               "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1, "Namespace": "N",
               "MetricName": "M", "Statistic": "Sum", "Period": period})
    };
    // The review's input: a Period beyond the model's 32-bit integer.
    let (status, _, body) =
        json_call(&sim, "PutMetricAlarm", &alarm(6_000_000_000_000_000_000, 2)).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError")),
        "{body}"
    );
    // A product that overflows i64 with a 32-bit Period.
    let (status, _, body) =
        json_call(&sim, "PutMetricAlarm", &alarm(2_147_483_640, 5_000_000_000)).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must not exceed 604800 seconds"),
        "{body}"
    );
    still_answers(&sim, &c).await;
}

#[tokio::test]
async fn extreme_statistics_time_range_is_an_invalid_parameter() {
    // Review P1-2: StartTime -1e15 / EndTime 1e19 overflowed i64.
    let (sim, c) = sim(0.0).await;
    let (status, _, body) = json_call(
        &sim,
        "GetMetricStatistics",
        &json!({"Namespace": "N", "MetricName": "M", "StartTime": -1e15, "EndTime": 1e19,
                "Period": 60, "Statistics": ["Sum"]}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidParameterValue")),
        "{body}"
    );
    // A period near i64::MAX (a multiple of 60) overflowed the period count.
    let (status, _, body) = json_call(
        &sim,
        "GetMetricStatistics",
        &json!({"Namespace": "N", "MetricName": "M", "StartTime": 1.7e9, "EndTime": 1.7e9 + 600.0,
                "Period": 9_223_372_036_854_775_800_i64, "Statistics": ["Sum"]}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError")),
        "{body}"
    );
    still_answers(&sim, &c).await;
}

fn m1_query() -> Value {
    json!({"Id": "m1", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "M"}, "Period": 60, "Stat": "Sum"},
           "ReturnData": false})
}

#[tokio::test]
async fn deeply_nested_expression_is_a_validation_error() {
    // Review P1-9: 1000 nested parentheses overflowed the stack (process abort).
    let (sim, c) = sim(0.0).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let e = format!("{}m1{}", "(".repeat(1000), ")".repeat(1000));
    let (status, _, body) = json_call(
        &sim,
        "GetMetricData",
        &json!({"MetricDataQueries": [m1_query(), {"Id": "e1", "Expression": e}],
                "StartTime": now - 600.0, "EndTime": now}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("nested too deeply"),
        "{body}"
    );
    still_answers(&sim, &c).await;
}

#[tokio::test]
async fn metric_data_over_too_many_periods_is_refused_at_once() {
    // Review P1-10: a 3-year range at 60 s iterated 1.6 M periods under the
    // CloudWatch lock (9.7 s); 1970..2033 ran for minutes.
    let (sim, c) = sim(0.0).await;
    for (start, end) in [(1.6e9, 1.7e9), (0.0, 2e9)] {
        // Refused by counting the periods, before iterating any: the error
        // names the limit (no time is measured; 1970..2033 would run for
        // minutes if the range were walked).
        let (status, _, body) = json_call(
            &sim,
            "GetMetricData",
            &json!({"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "M"},
                    "Period": 60, "Stat": "Sum"}}], "StartTime": start, "EndTime": end}),
        )
        .await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("InvalidParameterCombination")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("100,800"),
            "{body}"
        );
    }
    // Exactly at the limit is still answered (100,800 whole minutes = 70 days).
    let (status, _, body) = json_call(
        &sim,
        "GetMetricData",
        &json!({"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": NS, "MetricName": "M"},
                "Period": 60, "Stat": "Sum"}}], "StartTime": 1_599_999_960.0, "EndTime": 1_599_999_960.0 + 100_800.0 * 60.0}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    still_answers(&sim, &c).await;
}

#[tokio::test]
async fn metric_math_fan_out_is_linear_and_cycles_are_refused() {
    // Review P1-11: e_i = e_{i+1}+e_{i+1}+e_{i+1}+e_{i+1}, 11 levels, took 5.7 s
    // per datapoint without memoisation. 14 levels here: 4^14 ≈ 2.7·10^8
    // evaluations without it (64 times the 5.7 s: about six minutes), 15
    // with it (milliseconds), so the bound below is generous (a minute,
    // which no load reaches) and still fails whenever memoisation is lost.
    const LEVELS: i32 = 14;
    let (sim, c) = sim(0.0).await;
    put(&c, "M", 1.0).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let minute = (now / 60.0).floor() * 60.0;
    let mut queries = vec![m1_query()];
    for i in 0..LEVELS {
        let next = if i == LEVELS - 1 {
            "m1".to_string()
        } else {
            format!("e{}", i + 1)
        };
        let expr = [next.as_str(); 4].join("+");
        queries.push(json!({"Id": format!("e{i}"), "Expression": expr, "ReturnData": i == 0}));
    }
    let (status, _, body) = tokio::time::timeout(
        Duration::from_secs(60),
        json_call(
            &sim,
            "GetMetricData",
            &json!({"MetricDataQueries": queries, "StartTime": minute, "EndTime": minute + 60.0}),
        ),
    )
    .await
    .expect("the fan-out is evaluated once per expression");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["MetricDataResults"][0]["Values"],
        json!([4f64.powi(LEVELS)]),
        "{body}"
    );

    // A circle of references is refused, in GetMetricData and in alarms.
    let cyclic = json!([m1_query(),
        {"Id": "e1", "Expression": "e2+m1"},
        {"Id": "e2", "Expression": "e1*2", "ReturnData": false}]);
    let (status, _, body) = json_call(
        &sim,
        "GetMetricData",
        &json!({"MetricDataQueries": cyclic, "StartTime": minute, "EndTime": minute + 60.0}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("Circular"),
        "{body}"
    );
    let (status, _, body) = json_call(
        &sim,
        "PutMetricAlarm",
        &json!({"AlarmName": "cyclic", "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanThreshold", "Metrics": cyclic}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError"))
    );
    // Alarms take at most 10 metrics.
    let (status, _, body) = json_call(
        &sim,
        "PutMetricAlarm",
        &json!({"AlarmName": "fanout", "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanThreshold", "Metrics": queries}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ValidationError"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("less than or equal to 10"),
        "{body}"
    );
    still_answers(&sim, &c).await;
}

#[tokio::test]
async fn alarm_periods_and_units_as_the_model_documents() {
    let (_sim, c) = sim(0.0).await;
    let with_period = |period: i32| {
        c.put_metric_alarm()
            .alarm_name(format!("period-{period}"))
            .namespace(NS)
            .metric_name("Latency")
            .statistic(Statistic::Average)
            .period(period)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
    };
    // "Valid values are 10, 20, 30, and any multiple of 60."
    for ok in [10, 20, 30, 60, 120, 3600] {
        with_period(ok)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Period {ok}: {e:?}"));
    }
    for bad in [1, 5, 15, 40, 90] {
        let (code, status) = failure(with_period(bad).send().await);
        assert_eq!((code.as_str(), status), ("ValidationError", 400), "{bad}");
    }
    let out = c
        .describe_alarms()
        .alarm_names("period-20")
        .send()
        .await
        .unwrap();
    assert_eq!(out.metric_alarms()[0].period(), Some(20));

    // Units: only the StandardUnit enum. The SDK sends any string it is given.
    let (code, status) = failure(
        c.put_metric_data()
            .namespace(NS)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Distance")
                    .value(1.0)
                    .unit(StandardUnit::from("Furlongs"))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("InvalidParameterValue", 400));
    let (code, status) = failure(
        with_period(60)
            .alarm_name("bad-unit")
            .unit(StandardUnit::from("Furlongs"))
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ValidationError", 400));
    let now = SystemTime::now();
    let (code, status) = failure(
        c.get_metric_statistics()
            .namespace(NS)
            .metric_name("Distance")
            .start_time((now - Duration::from_secs(600)).into())
            .end_time(now.into())
            .period(60)
            .statistics(Statistic::Sum)
            .unit(StandardUnit::from("furlongs"))
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("InvalidParameterValue", 400));
    // Nothing of the refused calls was stored.
    let out = c
        .describe_alarms()
        .alarm_names("bad-unit")
        .send()
        .await
        .unwrap();
    assert!(out.metric_alarms().is_empty());
    for unit in [
        StandardUnit::CountSecond,
        StandardUnit::Percent,
        StandardUnit::None,
    ] {
        c.put_metric_data()
            .namespace(NS)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Distance")
                    .value(1.0)
                    .unit(unit.clone())
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{unit:?}: {e:?}"));
    }
}

#[tokio::test]
async fn get_metric_data_pages_and_refuses_foreign_tokens() {
    let (sim, c) = sim(0.0).await;
    // Ten minutes with one datapoint each.
    for i in 0..10 {
        put(&c, "Orders", f64::from(i)).await;
        advance_minutes(&sim, 1);
    }
    let end = sim.sim().clock.now();
    let start = end - Duration::from_secs(15 * 60);
    let query = MetricDataQuery::builder()
        .id("m1")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(NS)
                        .metric_name("Orders")
                        .build(),
                )
                .period(60)
                .stat("Sum")
                .build(),
        )
        .build();
    let request = || {
        c.get_metric_data()
            .metric_data_queries(query.clone())
            .start_time(start.into())
            .end_time(end.into())
    };
    let whole = request().send().await.unwrap();
    let all: Vec<f64> = whole.metric_data_results()[0].values().to_vec();
    assert_eq!(all.len(), 10);
    assert_eq!(whole.next_token(), None);

    // Pages of four: 4 + 4 + 2, joined they are the whole answer.
    let mut joined = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = request()
            .max_datapoints(4)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        let r = &page.metric_data_results()[0];
        joined.extend_from_slice(r.values());
        token = page.next_token().map(str::to_string);
        match &token {
            Some(_) => assert_eq!(r.status_code().map(|s| s.as_str()), Some("PartialData")),
            None => {
                assert_eq!(r.status_code().map(|s| s.as_str()), Some("Complete"));
                break;
            }
        }
    }
    assert_eq!((pages, joined), (3, all));

    // A garbage token, and a token of another request, are InvalidNextToken.
    let (code, status) = failure(request().next_token("garbage").send().await);
    assert_eq!((code.as_str(), status), ("InvalidNextToken", 400));
    let first = request().max_datapoints(4).send().await.unwrap();
    let other = c
        .get_metric_data()
        .metric_data_queries(query.clone())
        .start_time((start - Duration::from_secs(60)).into())
        .end_time(end.into())
        .next_token(first.next_token().unwrap())
        .send()
        .await;
    let (code, status) = failure(other);
    assert_eq!((code.as_str(), status), ("InvalidNextToken", 400));
}

#[tokio::test]
async fn malformed_cbor_is_answered_with_a_sentence() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (sim, _) = sim(0.0).await;
    // A CBOR map announcing two entries that ends after one key.
    for body in [
        &b"\xa2\x69AlarmName"[..],
        &b"\x1c"[..],
        &b"\xa1\x01\x02"[..],
    ] {
        let head = format!(
            "POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms HTTP/1.1\r\nHost: {}\r\n\
             smithy-protocol: rpc-v2-cbor\r\nContent-Type: application/cbor\r\nAccept: application/cbor\r\n\
             authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host;smithy-protocol, Signature=00\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            sim.addr(),
            body.len()
        );
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = String::from_utf8_lossy(&raw[9..12]).to_string();
        // The answer is CBOR; the sim's decoder reads it back.
        use aws_sim::cloudwatch::value::{Protocol, decode};
        let answer = decode(Protocol::Cbor, &raw[split + 4..]).unwrap();
        let field = |name: &str| answer.str(name).unwrap().unwrap().to_string();
        assert_eq!(status, "400");
        assert_eq!(field("__type"), "SerializationException");
        let message = field("message");
        for internal in ["Io(", "Error {", "kind:", "UnexpectedEof", "Syntax("] {
            assert!(!message.contains(internal), "{message}");
        }
        assert!(message.starts_with("The request body"), "{message}");
        assert!(message.ends_with('.'), "{message}");
    }
}
