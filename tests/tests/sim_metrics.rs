//! The per-version `AWS/Lambda` metrics a canary is judged by, read the way
//! the worker reads them: GetMetricData through the official SDK
//! (aws-sdk-cloudwatch), `Invocations` and `Errors`, Stat `Sum`, one period
//! over the whole window, dimensions `FunctionName` + `Resource`
//! (`function:alias`) + `ExecutedVersion`, for functions behind an alias
//! with weighted routing (aws-sdk-lambda's UpdateAlias) and the sim's
//! traffic generator driving them.
//!
//! What is checked: the split between the two versions follows the
//! alias's weights and each version's errors follow its `.sim/behavior.json`
//! error rate; the alias's and the function's aggregates are the sums of
//! what they contain; a window of N simulated minutes holds N minutes of
//! traffic at time scale 600, however the clock got there; a window
//! without data has no values; and GetMetricData's limits as CloudWatch
//! enforces them (500 queries, the query Id pattern, periods, statistics,
//! units, the time range).
//!
//! The routing is random: the traffic generator splits each minute's
//! invocations between the versions, and into errors, with binomial draws
//! from an RNG seeded by `--seed`. So the split is checked against the
//! binomial distribution: a count k of n trials of probability p must lie
//! within [`Z`] standard deviations, `|k − np| ≤ Z·√(np(1−p))`. The sums
//! (versions → alias → function) and the minutes' totals are exact.
//!
//! Every scenario freezes the clock and moves it explicitly (the one that
//! lets it run at ×600 freezes it again before reading, and computes its
//! window from where the clock stopped), so no minute boundary passes
//! unobserved mid-assertion.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch as cw;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, StandardUnit, StatusCode,
};
use aws_sdk_lambda as lambda;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FunctionCode, Runtime};
use e2e::{SimConfig, SimHandle, sdk_config, start_sim};

/// Time scale of every scenario (the demo's and the release tests' order).
const SCALE: f64 = 600.0;
/// Invocations per simulated second the traffic generator sends each alias.
const RATE: f64 = 10.0;
/// Invocations of one alias in one simulated minute.
const PER_MINUTE: f64 = RATE * 60.0;
/// How many standard deviations a binomial count may stray from its mean.
/// Two-sided, a normal deviate beyond 5 σ has probability 5.7·10⁻⁷: with
/// the few hundred such checks these scenarios make, a correct sim fails
/// about once in ten thousand runs, while a wrong weight or error rate
/// (0.25 read as 0.2, say: 11 σ at 6,000 invocations) fails every time.
const Z: f64 = 5.0;
const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";

struct Env {
    sim: SimHandle,
    lambda: lambda::Client,
    cw: cw::Client,
}

/// A sim at time scale 600, frozen at once, its traffic generator at
/// [`RATE`] per alias.
async fn frozen(seed: u64) -> Env {
    let sim = start_sim(SimConfig {
        time_scale: SCALE,
        seed,
        traffic_rate: RATE,
        lambda_update_delay: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    sim.sim().clock.freeze();
    let conf = sdk_config(&sim.endpoint());
    Env {
        lambda: lambda::Client::new(&conf),
        cw: cw::Client::new(&conf),
        sim,
    }
}

/// A deployment package whose `.sim/behavior.json` is `behavior`.
fn package(marker: &str, behavior: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("index.js", o).unwrap();
    write!(w, "exports.handler = async () => '{marker}';").unwrap();
    w.start_file(".sim/behavior.json", o).unwrap();
    w.write_all(behavior.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// Moves simulated time past Lambda's update delay.
fn settle(sim: &SimHandle) {
    sim.sim().clock.advance(Duration::from_secs(2));
    sim.sim().tick();
}

/// Functions with version 1 (`v1` behaviour) and version 2 (`v2`), and an
/// alias `live` on version 1 that UpdateAlias then gives
/// `AdditionalVersionWeights {"2": weight}`.
async fn canaries(env: &Env, names: &[String], v1: &str, v2: &str, weight: f64) {
    for name in names {
        env.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Nodejs20x)
            .role(ROLE)
            .handler("index.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(package("v1", v1)))
                    .build(),
            )
            .publish(true)
            .send()
            .await
            .expect("CreateFunction");
    }
    settle(&env.sim);
    for name in names {
        env.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(package("v2", v2)))
            .publish(true)
            .send()
            .await
            .expect("UpdateFunctionCode");
    }
    settle(&env.sim);
    for name in names {
        env.lambda
            .create_alias()
            .function_name(name)
            .name("live")
            .function_version("1")
            .send()
            .await
            .expect("CreateAlias");
        let out = env
            .lambda
            .update_alias()
            .function_name(name)
            .name("live")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("2", weight)
                    .build(),
            )
            .send()
            .await
            .expect("UpdateAlias");
        assert_eq!(out.function_version(), Some("1"));
        assert_eq!(
            out.routing_config()
                .and_then(|r| r.additional_version_weights())
                .and_then(|w| w.get("2")),
            Some(&weight)
        );
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Moves the frozen clock forward to `t` (exactly) and ticks, so every
/// minute before `t`'s minute is written to CloudWatch.
fn advance_to(sim: &SimHandle, t: SystemTime) {
    let now = sim.sim().clock.now();
    let d = t.duration_since(now).expect("advance_to goes forward");
    sim.sim().clock.advance(d);
    sim.sim().tick();
}

/// The start of the next simulated minute.
fn next_minute(sim: &SimHandle) -> u64 {
    secs(sim.sim().clock.now()) / 60 * 60 + 60
}

fn dimensions(function: &str, alias: Option<&str>, version: Option<&str>) -> Vec<Dimension> {
    let d = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
    let mut out = vec![d("FunctionName", function)];
    if let Some(a) = alias {
        out.push(d("Resource", &format!("{function}:{a}")));
    }
    if let Some(v) = version {
        out.push(d("ExecutedVersion", v));
    }
    out
}

/// One MetricStat query on `AWS/Lambda`.
fn query(id: &str, metric: &str, dims: Vec<Dimension>, period: i32, stat: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/Lambda")
                        .metric_name(metric)
                        .set_dimensions(Some(dims))
                        .build(),
                )
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

/// The queries the worker sends per function and watch tick: Errors and
/// Invocations of the new and of the previous version, Sum over the window.
fn worker_queries(function: &str, tag: &str, window: i32) -> Vec<MetricDataQuery> {
    let mut out = Vec::new();
    for (role, version) in [("new", "2"), ("old", "1")] {
        for (short, metric) in [("err", "Errors"), ("inv", "Invocations")] {
            out.push(query(
                &format!("{short}_{role}_{tag}"),
                metric,
                dimensions(function, Some("live"), Some(version)),
                window,
                "Sum",
            ));
        }
    }
    out
}

/// GetMetricData over `[start, end)`; the results by query id, in the
/// order they came.
async fn get(
    c: &cw::Client,
    queries: Vec<MetricDataQuery>,
    start: u64,
    end: u64,
) -> (Vec<String>, HashMap<String, MetricDataResult>) {
    let out = c
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(at(start).into())
        .end_time(at(end).into())
        .send()
        .await
        .expect("GetMetricData");
    assert!(out.next_token().is_none());
    let mut order = Vec::new();
    let mut by_id = HashMap::new();
    for r in out.metric_data_results() {
        assert_eq!(r.status_code(), Some(&StatusCode::Complete), "{r:?}");
        assert_eq!(r.values().len(), r.timestamps().len(), "{r:?}");
        let id = r.id().unwrap().to_string();
        order.push(id.clone());
        by_id.insert(id, r.clone());
    }
    (order, by_id)
}

/// The one value of a whole-window query.
fn single(results: &HashMap<String, MetricDataResult>, id: &str) -> f64 {
    let r = &results[id];
    assert_eq!(r.values().len(), 1, "{id}: one period, one value: {r:?}");
    r.values()[0]
}

/// `k` successes of `n` trials of probability `p`, within [`Z`] σ.
fn binomial(k: f64, n: f64, p: f64, what: &str) {
    assert!(k >= 0.0 && k <= n, "{what}: {k} of {n}");
    let mean = n * p;
    let sd = (n * p * (1.0 - p)).sqrt();
    assert!(
        (k - mean).abs() <= Z * sd,
        "{what}: {k} of {n} at p = {p} is {:.1} σ from the mean {mean}",
        (k - mean) / sd
    );
}

/// (code, HTTP status, message) of a refused call.
fn refused<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> (String, u16, String) {
    let e = r.expect_err("expected an AWS error");
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (
        e.code().unwrap_or_default().to_string(),
        status,
        e.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn versions_split_by_weight_and_error_rate_and_add_up() {
    const MINUTES: u64 = 10;
    let env = frozen(17).await;
    let c = &env.cw;
    let pay = "pay".to_string();
    canaries(
        &env,
        std::slice::from_ref(&pay),
        r#"{"errorRate":0.05}"#,
        r#"{"errorRate":0.3}"#,
        0.25,
    )
    .await;
    // A second alias of the same function, all on version 1.
    env.lambda
        .create_alias()
        .function_name("pay")
        .name("stable")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let alias_created = secs(env.sim.sim().clock.now());

    // The window starts at the next whole minute; invocations through the
    // SDK land in its first minute: 5 through `live` (by ARN, weighted
    // like the traffic) and 7 unqualified ($LATEST: version 2's code).
    let start = next_minute(&env.sim);
    advance_to(&env.sim, at(start));
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:pay";
    let mut invoked_errors = 0.0;
    for target in [format!("{arn}:live"), "pay".to_string()] {
        let n = if target == "pay" { 7 } else { 5 };
        for _ in 0..n {
            let out = env
                .lambda
                .invoke()
                .function_name(&target)
                .send()
                .await
                .unwrap();
            if target == "pay" && out.function_error().is_some() {
                invoked_errors += 1.0;
            }
        }
    }
    let end = start + MINUTES * 60;
    advance_to(&env.sim, at(end + 1));

    let window = (MINUTES * 60) as i32;
    let live = |v: Option<&str>| dimensions("pay", Some("live"), v);
    let mut qs = worker_queries("pay", "pay", window);
    qs.extend([
        query("inv_live", "Invocations", live(None), window, "Sum"),
        query("err_live", "Errors", live(None), window, "Sum"),
        query("rate_new", "Errors", live(Some("2")), window, "Average"),
        query(
            "inv_stable",
            "Invocations",
            dimensions("pay", Some("stable"), None),
            window,
            "Sum",
        ),
        query(
            "err_stable",
            "Errors",
            dimensions("pay", Some("stable"), None),
            window,
            "Sum",
        ),
        query(
            "inv_stable_1",
            "Invocations",
            dimensions("pay", Some("stable"), Some("1")),
            window,
            "Sum",
        ),
        query(
            "inv_stable_2",
            "Invocations",
            dimensions("pay", Some("stable"), Some("2")),
            window,
            "Sum",
        ),
        query(
            "inv_all",
            "Invocations",
            dimensions("pay", None, None),
            window,
            "Sum",
        ),
        query(
            "err_all",
            "Errors",
            dimensions("pay", None, None),
            window,
            "Sum",
        ),
        query("inv_live_minutes", "Invocations", live(None), 60, "Sum"),
    ]);
    let (order, r) = get(c, qs, start, end).await;
    assert_eq!(
        order[..4],
        ["err_new_pay", "inv_new_pay", "err_old_pay", "inv_old_pay"]
    );
    assert_eq!(r["inv_new_pay"].label(), Some("Invocations"));

    // 1. The split between the versions follows the weight, and each
    // version's errors its own error rate.
    let (inv_new, inv_old) = (single(&r, "inv_new_pay"), single(&r, "inv_old_pay"));
    let (err_new, err_old) = (single(&r, "err_new_pay"), single(&r, "err_old_pay"));
    let inv_live = single(&r, "inv_live");
    assert_eq!(inv_live, PER_MINUTE * MINUTES as f64 + 5.0);
    binomial(inv_new, inv_live, 0.25, "version 2's share of the alias");
    binomial(err_new, inv_new, 0.3, "version 2's errors");
    binomial(err_old, inv_old, 0.05, "version 1's errors");
    assert_eq!(
        single(&r, "rate_new"),
        err_new / inv_new,
        "Errors' Average is the rate"
    );

    // 2. The alias (FunctionName + Resource) is the sum of its versions;
    // the function (FunctionName) the sum of everything it ran.
    assert_eq!(inv_new + inv_old, inv_live);
    assert_eq!(err_new + err_old, single(&r, "err_live"));
    let inv_stable = single(&r, "inv_stable");
    assert_eq!(inv_stable, PER_MINUTE * MINUTES as f64);
    assert_eq!(single(&r, "inv_stable_1"), inv_stable);
    assert!(r["inv_stable_2"].values().is_empty(), "stable never ran 2");
    let err_stable = single(&r, "err_stable");
    binomial(err_stable, inv_stable, 0.05, "stable's errors");
    assert_eq!(single(&r, "inv_all"), inv_live + inv_stable + 7.0);
    assert_eq!(
        single(&r, "err_all"),
        single(&r, "err_live") + err_stable + invoked_errors
    );

    // Per minute: one datapoint each, newest first, each minute's whole
    // traffic (the SDK's invocations in the first).
    let minutes = &r["inv_live_minutes"];
    let stamps: Vec<u64> = minutes
        .timestamps()
        .iter()
        .map(|t| t.secs() as u64)
        .collect();
    let expected: Vec<u64> = (0..MINUTES).rev().map(|k| start + 60 * k).collect();
    assert_eq!(stamps, expected);
    let mut want = vec![PER_MINUTE; MINUTES as usize];
    want[MINUTES as usize - 1] += 5.0;
    assert_eq!(minutes.values(), want);

    // A start time inside a minute is rounded down to the minute, as
    // CloudWatch does for start times less than 15 days old.
    let (_, shifted) = get(c, worker_queries("pay", "pay", window), start + 17, end).await;
    assert_eq!(single(&shifted, "inv_new_pay"), inv_new);

    // 5. A window without data has no values (not a zero): before the
    // alias existed, and for a version the alias never ran. A version
    // that ran without failing has Errors 0 (a value).
    let before = alias_created / 60 * 60 - 3600;
    let (_, empty) = get(c, worker_queries("pay", "pay", 600), before, before + 600).await;
    for id in ["err_new_pay", "inv_new_pay", "err_old_pay", "inv_old_pay"] {
        let res = &empty[id];
        assert!(
            res.values().is_empty() && res.timestamps().is_empty(),
            "{id}: {res:?}"
        );
        assert_eq!(res.status_code(), Some(&StatusCode::Complete));
    }
    let (_, none) = get(
        c,
        vec![query(
            "inv_v3",
            "Invocations",
            live(Some("3")),
            window,
            "Sum",
        )],
        start,
        end,
    )
    .await;
    assert!(none["inv_v3"].values().is_empty());
}

#[tokio::test]
async fn a_window_of_simulated_minutes_holds_that_many_minutes_of_traffic() {
    let env = frozen(23).await;
    let sim = env.sim.sim();
    let names = ["tick".to_string()];
    canaries(&env, &names, "{}", r#"{"errorRate":0.5}"#, 0.25).await;
    let total = |tag: &str, window: i32| {
        let mut qs = worker_queries("tick", tag, window);
        qs.push(query(
            &format!("inv_{tag}"),
            "Invocations",
            dimensions("tick", Some("live"), None),
            window,
            "Sum",
        ));
        qs
    };

    // Five minutes in one jump of the frozen clock, then five more a
    // minute at a time: the same counts either way.
    let a = next_minute(&env.sim);
    advance_to(&env.sim, at(a));
    advance_to(&env.sim, at(a + 300));
    for k in 1..=5 {
        advance_to(&env.sim, at(a + 300 + 60 * k));
    }
    sim.clock.advance(Duration::from_secs(1));
    sim.tick();
    for (from, label) in [(a, "jump"), (a + 300, "steps")] {
        let (_, r) = get(&env.cw, total("w", 300), from, from + 300).await;
        assert_eq!(single(&r, "inv_w"), 5.0 * PER_MINUTE, "{label}");
        assert_eq!(
            single(&r, "inv_new_w") + single(&r, "inv_old_w"),
            5.0 * PER_MINUTE
        );
        binomial(single(&r, "inv_new_w"), 5.0 * PER_MINUTE, 0.25, label);
        binomial(single(&r, "err_new_w"), single(&r, "inv_new_w"), 0.5, label);
        assert_eq!(
            single(&r, "err_old_w"),
            0.0,
            "{label}: version 1 never fails"
        );
    }

    // The clock running at ×600 for a real second: about ten simulated
    // minutes. Frozen again, every whole minute it ran holds a minute of
    // traffic, and a window of N of them N minutes'. (A minute's count
    // can differ by one from RATE × 60 only through the fraction of an
    // invocation carried across its boundary, and the window's sum
    // likewise.)
    let resumed = sim.clock.now();
    sim.clock.set_scale(SCALE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clock.freeze();
    let stopped = sim.clock.now();
    let first = secs(resumed) / 60 * 60 + 60;
    let last = secs(stopped) / 60 * 60;
    let n = (last - first) / 60;
    assert!(
        n >= 5,
        "a real second at ×600 is ten simulated minutes, saw {n}"
    );
    advance_to(&env.sim, at(next_minute(&env.sim) + 1));
    let (_, minutes) = get(
        &env.cw,
        vec![query(
            "per_minute",
            "Invocations",
            dimensions("tick", Some("live"), None),
            60,
            "Sum",
        )],
        first,
        last,
    )
    .await;
    let values = minutes["per_minute"].values();
    assert_eq!(values.len() as u64, n, "{values:?}");
    for v in values {
        assert!((v - PER_MINUTE).abs() <= 1.0, "{values:?}");
    }
    let window = (last - first) as i32;
    let (_, r) = get(&env.cw, total("run", window), first, last).await;
    let all = single(&r, "inv_run");
    assert!(
        (all - PER_MINUTE * n as f64).abs() <= 1.0,
        "{all} in {n} minutes"
    );
    assert_eq!(single(&r, "inv_new_run") + single(&r, "inv_old_run"), all);
    binomial(single(&r, "inv_new_run"), all, 0.25, "running clock");
    binomial(
        single(&r, "err_new_run"),
        single(&r, "inv_new_run"),
        0.5,
        "running clock",
    );
}

#[tokio::test]
async fn one_call_reads_125_functions_and_limits_are_cloudwatchs() {
    const FUNCTIONS: usize = 125;
    const MINUTES: u64 = 5;
    let env = frozen(29).await;
    let c = &env.cw;
    let names: Vec<String> = (0..FUNCTIONS).map(|i| format!("svc-{i:03}")).collect();
    canaries(&env, &names, "{}", r#"{"errorRate":0.5}"#, 0.25).await;
    let start = next_minute(&env.sim);
    advance_to(&env.sim, at(start));
    let end = start + MINUTES * 60;
    advance_to(&env.sim, at(end + 1));
    let window = (MINUTES * 60) as i32;
    let all: Vec<MetricDataQuery> = names
        .iter()
        .enumerate()
        .flat_map(|(i, f)| worker_queries(f, &format!("f{i:03}"), window))
        .collect();
    assert_eq!(all.len(), 500);

    // 4 queries × 125 functions = 500: one call, every result in query
    // order, each one value.
    let (order, r) = get(c, all.clone(), start, end).await;
    let ids: Vec<String> = all.iter().map(|q| q.id().unwrap().to_string()).collect();
    assert_eq!(order, ids);
    for (i, name) in names.iter().enumerate() {
        let id = |s: &str| format!("{s}_f{i:03}");
        let (new, old) = (single(&r, &id("inv_new")), single(&r, &id("inv_old")));
        assert_eq!(new + old, PER_MINUTE * MINUTES as f64, "{name}");
        binomial(new, new + old, 0.25, name);
        binomial(single(&r, &id("err_new")), new, 0.5, name);
        assert_eq!(single(&r, &id("err_old")), 0.0, "{name}");
    }

    // 501: refused as CloudWatch refuses it.
    let mut over = all.clone();
    over.push(query(
        "one_more",
        "Invocations",
        dimensions("svc-000", Some("live"), None),
        window,
        "Sum",
    ));
    let send = |qs: Vec<MetricDataQuery>| {
        c.get_metric_data()
            .set_metric_data_queries(Some(qs))
            .start_time(at(start).into())
            .end_time(at(end).into())
            .send()
    };
    assert_eq!(
        refused(send(over).await),
        (
            "ValidationError".to_string(),
            400,
            "The collection MetricDataQueries must not have a size greater than 500.".to_string()
        )
    );

    // Query ids: `^[a-z][a-zA-Z0-9_]*$`; every offending one is named.
    let with_id = |id: &str| {
        query(
            id,
            "Invocations",
            dimensions("svc-000", None, None),
            60,
            "Sum",
        )
    };
    for bad in [
        "Inv", "1inv", "_inv", "inv-new", "inv new", "inv.new", "ïnv",
    ] {
        let (code, status, message) = refused(send(vec![with_id(bad)]).await);
        assert_eq!((code.as_str(), status), ("ValidationError", 400), "{bad}");
        assert_eq!(
            message,
            format!(
                "The value {bad} for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."
            )
        );
    }
    let (_, _, message) = refused(
        send(vec![
            with_id("ok"),
            with_id("Bad1"),
            with_id("fine_2"),
            with_id("bad-2"),
        ])
        .await,
    );
    assert_eq!(
        message,
        "The value Bad1 for parameter MetricDataQueries.member.2.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.\n\
         The value bad-2 for parameter MetricDataQueries.member.4.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."
    );
    let (code, _, _) = refused(send(vec![with_id("dup"), with_id("dup")]).await);
    assert_eq!(code, "ValidationError");
    for ok in ["m", "inv_New_2", "aZ9_"] {
        send(vec![with_id(ok)])
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }

    // Periods: 1, 5, 10, 20, 30 or a multiple of 60.
    let with_period = |p: i32| {
        query(
            "m",
            "Invocations",
            dimensions("svc-000", None, None),
            p,
            "Sum",
        )
    };
    for bad in [0, 45, 90, 61] {
        let (code, status, _) = refused(send(vec![with_period(bad)]).await);
        assert_eq!((code.as_str(), status), ("ValidationError", 400), "{bad}");
    }
    for ok in [60, 120, 300, 3600] {
        send(vec![with_period(ok)]).await.unwrap();
    }

    // Statistics: an unknown one is named.
    let (code, status, message) = refused(
        send(vec![query(
            "m",
            "Invocations",
            dimensions("svc-000", None, None),
            60,
            "Total",
        )])
        .await,
    );
    assert_eq!((code.as_str(), status), ("ValidationError", 400));
    assert_eq!(
        message,
        "The value Total for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic."
    );

    // The time range: StartTime before EndTime.
    let range = |s: u64, e: u64| {
        c.get_metric_data()
            .metric_data_queries(with_id("m"))
            .start_time(at(s).into())
            .end_time(at(e).into())
            .send()
    };
    assert_eq!(
        refused(range(start, start).await),
        (
            "ValidationError".to_string(),
            400,
            "The parameter StartTime must not equal parameter EndTime.".to_string()
        )
    );
    let (code, status, _) = refused(range(end, start).await);
    assert_eq!((code.as_str(), status), ("ValidationError", 400));

    // Units filter: Invocations and Errors are Count; another unit
    // matches no data (CloudWatch converts no units).
    let unit = |u: StandardUnit| {
        MetricDataQuery::builder()
            .id("u")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/Lambda")
                            .metric_name("Invocations")
                            .set_dimensions(Some(dimensions("svc-000", Some("live"), None)))
                            .build(),
                    )
                    .period(window)
                    .stat("Sum")
                    .unit(u)
                    .build(),
            )
            .build()
    };
    // A period under a minute reads only start times within 3 hours
    // ("data points with a period of less than 60 seconds are available
    // for 3 hours"); whole minutes read the same window.
    let long_ago = start - 4 * 3600;
    for (period, has_data) in [(30, false), (60, true)] {
        let (_, r) = get(
            c,
            vec![query(
                "m",
                "Invocations",
                dimensions("svc-000", Some("live"), None),
                period,
                "Sum",
            )],
            long_ago,
            end,
        )
        .await;
        assert_eq!(!r["m"].values().is_empty(), has_data, "period {period}");
    }

    let (_, counted) = get(c, vec![unit(StandardUnit::Count)], start, end).await;
    assert_eq!(single(&counted, "u"), PER_MINUTE * MINUTES as f64);
    for other in [StandardUnit::Seconds, StandardUnit::None] {
        let (_, r) = get(c, vec![unit(other.clone())], start, end).await;
        assert!(r["u"].values().is_empty(), "{other:?}: {:?}", r["u"]);
    }
}

#[tokio::test]
async fn a_routing_change_applies_from_its_instant() {
    let env = frozen(31).await;
    let names = ["step".to_string()];
    // Version 2 takes no traffic until the worker's step.
    canaries(&env, &names, "{}", "{}", 0.0).await;
    let m = next_minute(&env.sim);
    advance_to(&env.sim, at(m));
    // Half a minute on version 1 alone, then (at once, before anything
    // else ticks the sim) the step to 50 %: the minute holds 300
    // invocations routed before it and 300 after.
    env.sim.sim().clock.advance(Duration::from_secs(30));
    env.lambda
        .update_alias()
        .function_name("step")
        .name("live")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights("2", 0.5)
                .build(),
        )
        .send()
        .await
        .unwrap();
    advance_to(&env.sim, at(m + 61));
    let (_, r) = get(&env.cw, worker_queries("step", "s", 60), m, m + 60).await;
    let (new, old) = (single(&r, "inv_new_s"), single(&r, "inv_old_s"));
    assert_eq!(new + old, PER_MINUTE);
    binomial(new, PER_MINUTE / 2.0, 0.5, "version 2 after the step");
}
