//! CloudWatch operations on decoded inputs: validation with CloudWatch's
//! query-compatible error codes (`ValidationError`, `InvalidParameterValue`,
//! `MissingParameter`, `InvalidParameterCombination`, `ResourceNotFound`,
//! `InvalidNextToken`, `InvalidFormat`), the operation itself on shared
//! state, and the output structure as a protocol-neutral [`Val`]. It knows
//! neither CBOR nor JSON.

use std::collections::BTreeMap;

use base64::Engine;
use http::StatusCode;
use serde_json::json;

use super::alarms::{
    self, Alarm, AlarmMetric, COMPARISONS, HistoryItem, MetricStat, Query, TREAT_MISSING,
};
use super::expr::Expr;
use super::metrics::{MetricKey, STATISTICS, Stat, parse_percentile};
use super::value::Val;
use super::{ACCOUNT, Inner};
use crate::error::AwsError;

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationError", msg)
}
fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterValue", msg)
}
fn missing(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("MissingParameter", msg)
}
fn combination(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterCombination", msg)
}
fn not_found(msg: impl Into<String>) -> AwsError {
    AwsError::new(StatusCode::NOT_FOUND, "ResourceNotFound", msg)
}

fn required_str<'a>(v: &'a Val, key: &str, field: &str) -> Result<&'a str, AwsError> {
    v.str(key)?.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn check_len(s: &str, field: &str, min: usize, max: usize) -> Result<(), AwsError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{s}' at '{field}' failed to satisfy constraint: Member must have length between {min} and {max}"
        )));
    }
    Ok(())
}

fn check_namespace(ns: &str, field: &str) -> Result<(), AwsError> {
    check_len(ns, field, 1, 255)?;
    if ns.starts_with(':') {
        return Err(validation(format!(
            "1 validation error detected: Value '{ns}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:].*"
        )));
    }
    Ok(())
}

fn dimensions(v: Option<&[Val]>, field: &str) -> Result<Vec<(String, String)>, AwsError> {
    let Some(list) = v else {
        return Ok(Vec::new());
    };
    if list.len() > 30 {
        return Err(validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to 30"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, d) in list.iter().enumerate() {
        let name = required_str(d, "Name", &format!("{field}.{}.member.name", i + 1))?;
        let value = required_str(d, "Value", &format!("{field}.{}.member.value", i + 1))?;
        check_len(name, &format!("{field}.{}.member.name", i + 1), 1, 255)?;
        check_len(value, &format!("{field}.{}.member.value", i + 1), 1, 1024)?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(invalid(format!(
                "No metric may have duplicate dimension names: {name}"
            )));
        }
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

fn dims_val(d: &[(String, String)]) -> Val {
    Val::List(
        d.iter()
            .map(|(n, v)| Val::map().with("Name", n).with("Value", v))
            .collect(),
    )
}

fn check_stat(s: &str, field: &str) -> Result<(), AwsError> {
    if STATISTICS.contains(&s) || parse_percentile(s).is_some() {
        Ok(())
    } else {
        Err(invalid(format!(
            "The value {s} for parameter {field} is not supported by aws-sim (supported: SampleCount, Average, Sum, Minimum, Maximum and pNN percentiles)."
        )))
    }
}

/// The statistics CloudWatch knows besides the five and `pNN`: trimmed
/// mean, winsorized mean, trimmed count and sum, percentile rank, IQM.
fn aws_statistic_not_simulated(s: &str) -> bool {
    s == "IQM"
        || ["tm", "wm", "tc", "ts", "TM(", "WM(", "TC(", "TS(", "PR("]
            .iter()
            .any(|prefix| s.starts_with(prefix))
}

/// A query's `MetricStat.Stat` (GetMetricData, alarm `Metrics`): `None`
/// when aws-sim computes it, else the sentence refusing it. A statistic
/// CloudWatch does not know gets CloudWatch's own sentence; one it knows
/// but aws-sim does not compute is named as such.
fn query_stat_problem(s: &str, field: &str) -> Option<String> {
    if STATISTICS.contains(&s) || parse_percentile(s).is_some() {
        None
    } else if aws_statistic_not_simulated(s) {
        Some(format!(
            "The value {s} for parameter {field} is a statistic aws-sim does not compute (it computes SampleCount, Average, Sum, Minimum, Maximum and pNN percentiles)."
        ))
    } else {
        Some(format!(
            "The value {s} for parameter {field} is not a valid statistic."
        ))
    }
}

fn check_period(p: i64, field: &str) -> Result<(), AwsError> {
    if p < 1 {
        return Err(validation(format!(
            "1 validation error detected: Value '{p}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    check_i32(p, field)?;
    if !matches!(p, 1 | 5 | 10 | 20 | 30) && p % 60 != 0 {
        return Err(invalid(format!(
            "The parameter {field} must be 1, 5, 10, 20, 30, or a multiple of 60."
        )));
    }
    Ok(())
}

/// A query's period (`MetricStat.Period`, an expression's `Period`) in
/// GetMetricData and alarm `Metrics`: 1, 5, 10, 20, 30 or a multiple of 60
/// (the model's documentation), refused with `ValidationError` — these
/// operations' models list neither `InvalidParameterValue` nor
/// `MissingParameter`.
fn check_query_period(p: i64, field: &str) -> Result<(), AwsError> {
    if p < 1 {
        return Err(validation(format!(
            "1 validation error detected: Value '{p}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    check_i32(p, field)?;
    if p < 60 && !matches!(p, 1 | 5 | 10 | 20 | 30) {
        return Err(validation(format!(
            "The parameter {field} must be a value in the set [ 1, 5, 10, 20, 30 ]."
        )));
    }
    if p > 60 && p % 60 != 0 {
        return Err(validation(format!(
            "The parameter {field} must be a multiple of 60."
        )));
    }
    Ok(())
}

/// `StandardUnit`, the units CloudWatch knows (botocore's model).
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// An optional `Unit` member, which must be a `StandardUnit`. Operations
/// whose model lists `InvalidParameterValue` answer with it; the others with
/// the `ValidationError` CloudWatch's request validation sends.
fn unit(v: &Val, key: &str, field: &str, modeled: bool) -> Result<Option<String>, AwsError> {
    let Some(u) = v.str(key)? else {
        return Ok(None);
    };
    if UNITS.contains(&u) {
        return Ok(Some(u.to_string()));
    }
    let units = UNITS.join(", ");
    Err(if modeled {
        invalid(format!(
            "The value {u} for parameter {field} is not a valid unit. Valid units are: {units}."
        ))
    } else {
        validation(format!(
            "1 validation error detected: Value '{u}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{units}]"
        ))
    })
}

/// `Period` and the other counts are 32-bit integers in the model; bounding
/// them keeps every `i64` period computation free of overflow.
fn check_i32(n: i64, field: &str) -> Result<(), AwsError> {
    if i32::try_from(n).is_err() {
        return Err(validation(format!(
            "1 validation error detected: Value '{n}' at '{field}' failed to satisfy constraint: Member must be a 32-bit integer"
        )));
    }
    Ok(())
}

fn metric_stat(v: &Val, field: &str) -> Result<MetricStat, AwsError> {
    let metric = v.obj("Metric")?.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{field}.metric' failed to satisfy constraint: Member must not be null"
        ))
    })?;
    let ns = required_str(metric, "Namespace", &format!("{field}.metric.namespace"))?;
    check_namespace(ns, &format!("{field}.metric.namespace"))?;
    let name = required_str(metric, "MetricName", &format!("{field}.metric.metricName"))?;
    check_len(name, &format!("{field}.metric.metricName"), 1, 255)?;
    let dims = dimensions(
        metric.list("Dimensions")?,
        &format!("{field}.metric.dimensions"),
    )?;
    let period = v.int("Period")?.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{field}.period' failed to satisfy constraint: Member must not be null"
        ))
    })?;
    check_query_period(period, &format!("{field}.Period"))?;
    let stat = required_str(v, "Stat", &format!("{field}.stat"))?;
    if let Some(problem) = query_stat_problem(stat, &format!("{field}.Stat")) {
        return Err(validation(problem));
    }
    Ok(MetricStat {
        key: MetricKey::new(ns, name, &dims),
        period,
        stat: stat.to_string(),
        unit: unit(v, "Unit", &format!("{field}.unit"), false)?,
    })
}

fn metric_stat_val(ms: &MetricStat) -> Val {
    Val::map()
        .with(
            "Metric",
            Val::map()
                .with("Namespace", &ms.key.namespace)
                .with("MetricName", &ms.key.name)
                .with("Dimensions", dims_val(&ms.key.dimensions)),
        )
        .with("Period", ms.period)
        .with("Stat", &ms.stat)
        .with_opt("Unit", ms.unit.as_deref())
}

/// The most queries one GetMetricData call may carry (the model's
/// documentation: "as many as 500 `MetricDataQuery` structures").
pub const MAX_QUERIES: usize = 500;

/// What a query Id must match (the model's documentation: letters, numbers
/// and underscore, the first a lowercase letter; CloudWatch's answer names
/// the pattern).
const QUERY_ID_PATTERN: &str = "^[a-z][a-zA-Z0-9_]*$";

fn is_query_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `MetricDataQueries` / alarm `Metrics`.
fn queries(list: &[Val], field: &str) -> Result<Vec<Query>, AwsError> {
    if list.is_empty() {
        return Err(validation(format!("The list {field} must not be empty.")));
    }
    if list.len() > MAX_QUERIES {
        return Err(validation(format!(
            "The collection {field} must not have a size greater than {MAX_QUERIES}."
        )));
    }
    // CloudWatch names every query whose Id or statistic it refuses, one
    // sentence a line, before it looks at anything else.
    let mut problems = Vec::new();
    for (i, q) in list.iter().enumerate() {
        let f = format!("{field}.member.{}", i + 1);
        if let Some(id) = q.str("Id")?
            && !is_query_id(id)
        {
            problems.push(format!(
                "The value {id} for parameter {f}.Id is not matching the expected pattern {QUERY_ID_PATTERN}."
            ));
        }
        if let Some(ms) = q.obj("MetricStat")?
            && let Some(stat) = ms.str("Stat")?
            && let Some(problem) = query_stat_problem(stat, &format!("{f}.MetricStat.Stat"))
        {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(validation(problems.join("\n")));
    }
    let mut ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out: Vec<Query> = Vec::with_capacity(list.len());
    for (i, q) in list.iter().enumerate() {
        let f = format!("{field}.member.{}", i + 1);
        let id = required_str(q, "Id", &format!("{f}.Id"))?;
        check_len(id, &format!("{f}.Id"), 1, 255)?;
        if !ids.insert(id) {
            return Err(validation(format!(
                "The value {id} for parameter {f}.Id is not unique."
            )));
        }
        let ms = q.obj("MetricStat")?;
        let ex = q.str("Expression")?;
        let (metric_stat, expression) = match (ms, ex) {
            (Some(m), None) => (Some(metric_stat(m, &format!("{f}.MetricStat"))?), None),
            (None, Some(e)) => {
                check_len(e, &format!("{f}.Expression"), 1, 2048)?;
                let parsed = Expr::parse(e).map_err(|why| {
                    validation(format!("Error in expression '{e}' of {f}: {why}"))
                })?;
                (None, Some((e.to_string(), parsed)))
            }
            _ => {
                return Err(validation(format!(
                    "Exactly one of MetricStat and Expression must be specified for {f}."
                )));
            }
        };
        let period = q.int("Period")?;
        if let Some(p) = period {
            check_query_period(p, &format!("{f}.Period"))?;
        }
        out.push(Query {
            id: id.to_string(),
            metric_stat,
            expression,
            label: q.str("Label")?.map(str::to_string),
            return_data: q.bool("ReturnData")?.unwrap_or(true),
            period,
        });
    }
    for q in &out {
        if let Some((text, e)) = &q.expression {
            for id in e.ids() {
                if id == q.id || !out.iter().any(|o| o.id == id) {
                    return Err(validation(format!(
                        "Error in expression '{text}' of {}: Unrecognized metric id or function '{id}'",
                        q.id
                    )));
                }
            }
        }
    }
    reject_cycles(&out)?;
    Ok(out)
}

/// Refuses expressions that reference each other in a circle (`e1 = e2`,
/// `e2 = e1`), as CloudWatch does. Iterative depth-first search.
fn reject_cycles(queries: &[Query]) -> Result<(), AwsError> {
    let index = |id: &str| queries.iter().position(|q| q.id == id);
    let refs: Vec<Vec<usize>> = queries
        .iter()
        .map(|q| match &q.expression {
            Some((_, e)) => e.ids().iter().filter_map(|id| index(id)).collect(),
            None => Vec::new(),
        })
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; queries.len()];
    for root in 0..queries.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&child) = refs[node].get(*next) {
                *next += 1;
                match state[child] {
                    0 => {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        return Err(validation(format!(
                            "Circular dependency detected between metric data queries: {} references {}",
                            queries[node].id, queries[child].id
                        )));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    Ok(())
}

fn query_val(q: &Query) -> Val {
    let mut v = Val::map().with("Id", &q.id);
    if let Some(ms) = &q.metric_stat {
        v = v.with("MetricStat", metric_stat_val(ms));
    }
    if let Some((text, _)) = &q.expression {
        v = v.with("Expression", text);
    }
    v.with_opt("Label", q.label.as_deref())
        .with("ReturnData", q.return_data)
        .with_opt("Period", q.period)
}

fn actions(v: &Val, key: &str) -> Result<Vec<String>, AwsError> {
    let Some(list) = v.list(key)? else {
        return Ok(Vec::new());
    };
    if list.len() > 5 {
        return Err(validation(format!(
            "1 validation error detected: Value at '{key}' failed to satisfy constraint: Member must have length less than or equal to 5"
        )));
    }
    list.iter()
        .map(|a| match a {
            Val::Str(s) if s.starts_with("arn:") => Ok(s.clone()),
            Val::Str(s) => Err(validation(format!("Invalid arn syntax: {s}"))),
            _ => Err(validation(format!("{key} must be a list of strings"))),
        })
        .collect()
}

fn alarm_arn(region: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}")
}

fn alarm_val(region: &str, a: &Alarm) -> Val {
    let strs = |l: &[String]| Val::List(l.iter().map(Val::from).collect());
    let mut v = Val::map()
        .with("AlarmName", &a.name)
        .with("AlarmArn", alarm_arn(region, &a.name))
        .with_opt("AlarmDescription", a.description.as_deref())
        .with(
            "AlarmConfigurationUpdatedTimestamp",
            Val::Time(a.config_updated),
        )
        .with("ActionsEnabled", a.actions_enabled)
        .with("OKActions", strs(&a.ok_actions))
        .with("AlarmActions", strs(&a.alarm_actions))
        .with(
            "InsufficientDataActions",
            strs(&a.insufficient_data_actions),
        )
        .with("StateValue", &a.state)
        .with("StateReason", &a.state_reason)
        .with_opt("StateReasonData", a.state_reason_data.as_deref())
        .with("StateUpdatedTimestamp", Val::Time(a.state_updated));
    match &a.metric {
        AlarmMetric::Single(ms) => {
            v = v
                .with("MetricName", &ms.key.name)
                .with("Namespace", &ms.key.namespace);
            v = if STATISTICS.contains(&ms.stat.as_str()) {
                v.with("Statistic", &ms.stat)
            } else {
                v.with("ExtendedStatistic", &ms.stat)
            };
            v = v
                .with("Dimensions", dims_val(&ms.key.dimensions))
                .with("Period", ms.period)
                .with_opt("Unit", ms.unit.as_deref());
        }
        AlarmMetric::Math(qs) => {
            v = v.with("Dimensions", Val::List(vec![]));
            v = v.with("Metrics", Val::List(qs.iter().map(query_val).collect()));
        }
    }
    v.with("EvaluationPeriods", a.evaluation_periods)
        .with_opt("DatapointsToAlarm", a.datapoints_to_alarm)
        .with("Threshold", a.threshold)
        .with("ComparisonOperator", &a.comparison)
        .with_opt("TreatMissingData", a.treat_missing_data.as_deref())
        .with(
            "StateTransitionedTimestamp",
            Val::Time(a.state_transitioned),
        )
}

fn token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("aws-sim:{offset}"))
}

fn read_token(v: &Val, len: usize) -> Result<usize, AwsError> {
    let Some(t) = v.str("NextToken")? else {
        return Ok(0);
    };
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("aws-sim:").and_then(|n| n.parse().ok()))
        .filter(|n: &usize| *n <= len)
        .ok_or_else(|| {
            AwsError::bad_request(
                "InvalidNextToken",
                "The service couldn't process the NextToken.",
            )
        })
}

fn max_records(v: &Val) -> Result<usize, AwsError> {
    match v.int("MaxRecords")? {
        None => Ok(50),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"
        ))),
    }
}

// ------------------------------------------------------------------ alarms

pub fn put_metric_alarm(
    inner: &mut Inner,
    region: &str,
    v: &Val,
    now: f64,
) -> Result<Val, AwsError> {
    let name = required_str(v, "AlarmName", "alarmName")?;
    check_len(name, "alarmName", 1, 255)?;
    let description = v.str("AlarmDescription")?;
    if let Some(d) = description {
        check_len(d, "alarmDescription", 0, 1024)?;
    }
    let evaluation_periods = v.int("EvaluationPeriods")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'evaluationPeriods' failed to satisfy constraint: Member must not be null")
    })?;
    if evaluation_periods < 1 {
        return Err(validation(format!(
            "1 validation error detected: Value '{evaluation_periods}' at 'evaluationPeriods' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    let datapoints_to_alarm = v.int("DatapointsToAlarm")?;
    if let Some(m) = datapoints_to_alarm {
        if m < 1 {
            return Err(validation(format!(
                "1 validation error detected: Value '{m}' at 'datapointsToAlarm' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
        if m > evaluation_periods {
            return Err(validation(
                "DatapointsToAlarm must be less than or equal to EvaluationPeriods",
            ));
        }
    }
    let comparison = required_str(v, "ComparisonOperator", "comparisonOperator")?;
    if !COMPARISONS.contains(&comparison) {
        if comparison.contains("Upper") || comparison.contains("Lower") {
            return Err(validation(format!(
                "aws-sim does not simulate anomaly detection: ComparisonOperator {comparison} is not supported"
            )));
        }
        return Err(validation(format!(
            "1 validation error detected: Value '{comparison}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            COMPARISONS.join(", ")
        )));
    }
    if v.str("ThresholdMetricId")?.is_some() {
        return Err(validation(
            "aws-sim does not simulate anomaly detection: ThresholdMetricId is not supported",
        ));
    }
    let threshold = v.float("Threshold")?.ok_or_else(|| {
        validation("Threshold must be specified for alarms that do not use anomaly detection")
    })?;
    let treat = v.str("TreatMissingData")?;
    if let Some(t) = treat
        && !TREAT_MISSING.contains(&t)
    {
        return Err(validation(format!(
            "The value {t} is not supported for TreatMissingData. Valid values are: breaching, notBreaching, ignore, missing"
        )));
    }
    let single = [
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Period",
        "Dimensions",
        "Unit",
    ]
    .iter()
    .any(|k| v.get(k).is_some());
    let (metric, period) = match v.list("Metrics")? {
        Some(list) => {
            if single {
                return Err(validation(
                    "Metrics list cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions, Period or Unit",
                ));
            }
            if list.len() > 10 {
                return Err(validation(
                    "1 validation error detected: Value at 'metrics' failed to satisfy constraint: Member must have length less than or equal to 10",
                ));
            }
            let qs = queries(list, "Metrics")?;
            let returning: Vec<&Query> = qs.iter().filter(|q| q.return_data).collect();
            if returning.len() != 1 {
                return Err(validation(
                    "Exactly one element of the metrics list should return data.",
                ));
            }
            let period = qs
                .iter()
                .filter_map(|q| q.metric_stat.as_ref().map(|m| m.period))
                .chain(returning[0].period)
                .next()
                .ok_or_else(|| validation("Metrics list must contain at least one MetricStat"))?;
            if qs
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .any(|m| m.period != period)
            {
                return Err(validation(
                    "All metrics in the Metrics list of an alarm must have the same period",
                ));
            }
            (AlarmMetric::Math(qs), period)
        }
        None => {
            let ns = required_str(v, "Namespace", "namespace")?;
            check_namespace(ns, "namespace")?;
            let metric_name = required_str(v, "MetricName", "metricName")?;
            check_len(metric_name, "metricName", 1, 255)?;
            let stat = match (v.str("Statistic")?, v.str("ExtendedStatistic")?) {
                (Some(_), Some(_)) => {
                    return Err(combination(
                        "Statistic and ExtendedStatistic must not both be specified.",
                    ));
                }
                (Some(s), None) => {
                    if !STATISTICS.contains(&s) {
                        return Err(validation(format!(
                            "1 validation error detected: Value '{s}' at 'statistic' failed to satisfy constraint: Member must satisfy enum value set: [SampleCount, Average, Sum, Minimum, Maximum]"
                        )));
                    }
                    s
                }
                (None, Some(e)) => {
                    check_stat(e, "ExtendedStatistic")?;
                    e
                }
                (None, None) => {
                    return Err(validation(
                        "Either Statistic or ExtendedStatistic must be specified.",
                    ));
                }
            };
            let period = v
                .int("Period")?
                .ok_or_else(|| validation("Period must not be null"))?;
            if !matches!(period, 10 | 20 | 30) && (period < 60 || period % 60 != 0) {
                return Err(validation(format!(
                    "The value {period} for Period is not valid: an alarm's period must be 10, 20, 30 or a multiple of 60 seconds."
                )));
            }
            check_i32(period, "period")?;
            let dims = dimensions(v.list("Dimensions")?, "dimensions")?;
            (
                AlarmMetric::Single(MetricStat {
                    key: MetricKey::new(ns, metric_name, &dims),
                    period,
                    stat: stat.to_string(),
                    unit: unit(v, "Unit", "unit", false)?,
                }),
                period,
            )
        }
    };
    let limit = if period >= 3600 { 7 * 86400 } else { 86400 };
    if period
        .checked_mul(evaluation_periods)
        .is_none_or(|total| total > limit)
    {
        return Err(validation(format!(
            "The evaluation period multiplied by the number of periods must not exceed {} seconds.",
            limit
        )));
    }
    let ok_actions = actions(v, "OKActions")?;
    let alarm_actions = actions(v, "AlarmActions")?;
    let insufficient = actions(v, "InsufficientDataActions")?;
    let list = inner.alarms.entry(region.to_string()).or_default();
    let history = inner.history.entry(region.to_string()).or_default();
    let existing = list.get(name).cloned();
    let mut a = Alarm {
        name: name.to_string(),
        description: description.map(str::to_string),
        actions_enabled: v.bool("ActionsEnabled")?.unwrap_or(true),
        ok_actions,
        alarm_actions,
        insufficient_data_actions: insufficient,
        metric,
        period,
        evaluation_periods,
        datapoints_to_alarm,
        threshold,
        comparison: comparison.to_string(),
        treat_missing_data: treat.map(str::to_string),
        config_updated: now,
        state: "INSUFFICIENT_DATA".into(),
        state_reason: "Unchecked: Initial alarm creation".into(),
        state_reason_data: None,
        state_updated: now,
        state_transitioned: now,
    };
    let summary = if let Some(old) = &existing {
        // An update keeps the alarm's state (PutMetricAlarm docs).
        a.state = old.state.clone();
        a.state_reason = old.state_reason.clone();
        a.state_reason_data = old.state_reason_data.clone();
        a.state_updated = old.state_updated;
        a.state_transitioned = old.state_transitioned;
        format!("Alarm \"{name}\" updated")
    } else {
        format!("Alarm \"{name}\" created")
    };
    history.push(HistoryItem {
        alarm_name: name.to_string(),
        timestamp: now,
        item_type: "ConfigurationUpdate",
        summary,
        data:
            json!({"version": "1.0", "type": if existing.is_some() { "Update" } else { "Create" }})
                .to_string(),
    });
    list.insert(name.to_string(), a);
    Ok(Val::map())
}

pub fn describe_alarms(inner: &Inner, region: &str, v: &Val) -> Result<Val, AwsError> {
    let names: Option<Vec<String>> = match v.list("AlarmNames")? {
        Some(l) => {
            if l.len() > 100 {
                return Err(validation(
                    "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
                ));
            }
            Some(
                l.iter()
                    .filter_map(|x| match x {
                        Val::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            )
        }
        None => None,
    };
    let prefix = v.str("AlarmNamePrefix")?;
    if names.is_some() && prefix.is_some() {
        return Err(combination(
            "AlarmNames and AlarmNamePrefix cannot be specified together.",
        ));
    }
    let state = v.str("StateValue")?;
    if let Some(s) = state
        && !["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&s)
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{s}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]"
        )));
    }
    let wants_metric = match v.list("AlarmTypes")? {
        None => true,
        Some(l) => l
            .iter()
            .any(|x| matches!(x, Val::Str(s) if s == "MetricAlarm")),
    };
    let max = max_records(v)?;
    let empty = BTreeMap::new();
    let all = inner.alarms.get(region).unwrap_or(&empty);
    let matched: Vec<&Alarm> = all
        .values()
        .filter(|_| wants_metric)
        .filter(|a| names.as_ref().is_none_or(|n| n.contains(&a.name)))
        .filter(|a| prefix.is_none_or(|p| a.name.starts_with(p)))
        .filter(|a| state.is_none_or(|s| a.state == s))
        .collect();
    let start = read_token(v, matched.len())?;
    let end = (start + max).min(matched.len());
    let out = Val::map()
        .with(
            "MetricAlarms",
            Val::List(
                matched[start..end]
                    .iter()
                    .map(|a| alarm_val(region, a))
                    .collect(),
            ),
        )
        .with("CompositeAlarms", Val::List(vec![]));
    Ok(out.with_opt("NextToken", (end < matched.len()).then(|| token(end))))
}

pub fn delete_alarms(inner: &mut Inner, region: &str, v: &Val) -> Result<Val, AwsError> {
    let names = v.list("AlarmNames")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'alarmNames' failed to satisfy constraint: Member must not be null")
    })?;
    if names.len() > 100 {
        return Err(validation(
            "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let names: Vec<&str> = names
        .iter()
        .filter_map(|x| match x {
            Val::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    // The model: "If you specify any incorrect alarm names, the alarms you
    // specify with correct names are still deleted." Unknown names are
    // skipped and the answer is a success (README, decisions).
    if let Some(list) = inner.alarms.get_mut(region) {
        for n in names {
            list.remove(n);
        }
    }
    Ok(Val::map())
}

pub fn set_alarm_state(
    inner: &mut Inner,
    region: &str,
    v: &Val,
    now: f64,
) -> Result<Val, AwsError> {
    let name = required_str(v, "AlarmName", "alarmName")?;
    let state = required_str(v, "StateValue", "stateValue")?;
    if !["OK", "ALARM", "INSUFFICIENT_DATA"].contains(&state) {
        return Err(validation(format!(
            "1 validation error detected: Value '{state}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]"
        )));
    }
    let reason = required_str(v, "StateReason", "stateReason")?;
    check_len(reason, "stateReason", 0, 1023)?;
    let data = v.str("StateReasonData")?;
    if let Some(d) = data {
        check_len(d, "stateReasonData", 0, 4000)?;
        if serde_json::from_str::<serde_json::Value>(d).is_err() {
            return Err(AwsError::bad_request(
                "InvalidFormat",
                "Invalid JSON in StateReasonData",
            ));
        }
    }
    let alarm = inner
        .alarms
        .get_mut(region)
        .and_then(|l| l.get_mut(name))
        .ok_or_else(|| not_found(format!("Alarm {name} not found")))?;
    let history = inner.history.entry(region.to_string()).or_default();
    if alarm.state == state {
        alarm.state_reason = reason.to_string();
        alarm.state_reason_data = data.map(str::to_string);
        alarm.state_updated = now;
    } else {
        alarm.transition(
            state,
            reason.to_string(),
            data.map(str::to_string),
            now,
            history,
        );
    }
    Ok(Val::map())
}

pub fn describe_alarm_history(inner: &Inner, region: &str, v: &Val) -> Result<Val, AwsError> {
    let name = v.str("AlarmName")?;
    let item_type = v.str("HistoryItemType")?;
    if let Some(t) = item_type
        && ![
            "ConfigurationUpdate",
            "StateUpdate",
            "Action",
            "AlarmContributorStateUpdate",
            "AlarmContributorAction",
        ]
        .contains(&t)
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{t}' at 'historyItemType' failed to satisfy constraint: Member must satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action, AlarmContributorStateUpdate, AlarmContributorAction]"
        )));
    }
    let start = v.time("StartDate")?;
    let end = v.time("EndDate")?;
    let ascending = match v.str("ScanBy")? {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(s) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{s}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
            )));
        }
    };
    let max = match v.int("MaxRecords")? {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"
            )));
        }
    };
    let empty = Vec::new();
    let mut items: Vec<&HistoryItem> = inner
        .history
        .get(region)
        .unwrap_or(&empty)
        .iter()
        .filter(|h| name.is_none_or(|n| h.alarm_name == n))
        .filter(|h| item_type.is_none_or(|t| h.item_type == t))
        .filter(|h| start.is_none_or(|s| h.timestamp >= s))
        .filter(|h| end.is_none_or(|e| h.timestamp <= e))
        .collect();
    if !ascending {
        items.reverse();
    }
    let from = read_token(v, items.len())?;
    let to = (from + max).min(items.len());
    let out = Val::map().with(
        "AlarmHistoryItems",
        Val::List(
            items[from..to]
                .iter()
                .map(|h| {
                    Val::map()
                        .with("AlarmName", &h.alarm_name)
                        .with("AlarmType", "MetricAlarm")
                        .with("Timestamp", Val::Time(h.timestamp))
                        .with("HistoryItemType", h.item_type)
                        .with("HistorySummary", &h.summary)
                        .with("HistoryData", &h.data)
                })
                .collect(),
        ),
    );
    Ok(out.with_opt("NextToken", (to < items.len()).then(|| token(to))))
}

// ------------------------------------------------------------------ metrics

/// How far back and forward PutMetricData accepts timestamps.
const MAX_PAST_SECS: f64 = 14.0 * 86400.0;
const MAX_FUTURE_SECS: f64 = 2.0 * 3600.0;

pub fn put_metric_data(
    inner: &mut Inner,
    region: &str,
    v: &Val,
    now: f64,
) -> Result<Val, AwsError> {
    let ns = v
        .str("Namespace")?
        .ok_or_else(|| missing("The parameter Namespace is required."))?;
    check_namespace(ns, "namespace")?;
    if ns.starts_with("AWS/") {
        return Err(invalid(format!(
            "The value AWS/ for parameter Namespace is invalid. Namespace {ns} is reserved for use by AWS."
        )));
    }
    // Datapoints come in MetricData and in each EntityMetricData's
    // MetricData (the entity itself is not simulated: its datapoints are
    // stored like the others).
    let mut data: Vec<(String, &Val)> = v
        .list("MetricData")?
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("MetricData.member.{}", i + 1), d))
        .collect();
    for (e, entity) in v
        .list("EntityMetricData")?
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        for (i, d) in entity.list("MetricData")?.unwrap_or(&[]).iter().enumerate() {
            data.push((
                format!(
                    "EntityMetricData.member.{}.MetricData.member.{}",
                    e + 1,
                    i + 1
                ),
                d,
            ));
        }
    }
    if data.is_empty() {
        return Err(missing(
            "The parameter MetricData (or EntityMetricData) is required.",
        ));
    }
    if data.len() > 1000 {
        return Err(invalid(
            "The collection MetricData must not have a size greater than 1000.",
        ));
    }
    let mut parsed = Vec::with_capacity(data.len());
    for (f, d) in data {
        let name = d
            .str("MetricName")?
            .ok_or_else(|| missing(format!("The parameter {f}.MetricName is required.")))?;
        check_len(name, &format!("{f}.MetricName"), 1, 255)?;
        let dims = dimensions(d.list("Dimensions")?, &format!("{f}.Dimensions"))?;
        let t = d.time("Timestamp")?.unwrap_or(now);
        if t < now - MAX_PAST_SECS {
            return Err(invalid(format!(
                "The parameter {f}.Timestamp must specify a time no more than two weeks in the past."
            )));
        }
        if t > now + MAX_FUTURE_SECS {
            return Err(invalid(format!(
                "The parameter {f}.Timestamp must specify a time no more than two hours in the future."
            )));
        }
        let value = d.float("Value")?;
        let set = d.obj("StatisticValues")?;
        let values = d.list("Values")?;
        let given = [value.is_some(), set.is_some(), values.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(combination(format!(
                "The parameters {f}.Value, {f}.StatisticValues and {f}.Values are mutually exclusive and you have specified more than one."
            )));
        }
        let finite = |x: f64, what: &str| {
            if x.is_finite() && x.abs() <= 2f64.powi(360) {
                Ok(x)
            } else {
                Err(invalid(format!(
                    "The value {x} for parameter {f}.{what} is invalid."
                )))
            }
        };
        let stat = if let Some(x) = value {
            Stat::single(finite(x, "Value")?)
        } else if let Some(s) = set {
            let get = |k: &str| -> Result<f64, AwsError> {
                let x = s.float(k)?.ok_or_else(|| {
                    missing(format!(
                        "The parameter {f}.StatisticValues.{k} is required."
                    ))
                })?;
                finite(x, &format!("StatisticValues.{k}"))
            };
            let (count, sum, min, max) = (
                get("SampleCount")?,
                get("Sum")?,
                get("Minimum")?,
                get("Maximum")?,
            );
            if min > max || count <= 0.0 {
                return Err(invalid(format!(
                    "The parameter {f}.StatisticValues is invalid: Minimum must not exceed Maximum and SampleCount must be positive."
                )));
            }
            Stat::set(count, sum, min, max)
        } else if let Some(vals) = values {
            let counts = d.list("Counts")?;
            if counts.is_some_and(|c| c.len() != vals.len()) {
                return Err(combination(format!(
                    "The parameters {f}.Values and {f}.Counts must be of the same size."
                )));
            }
            let mut s = Stat::empty();
            for (j, x) in vals.iter().enumerate() {
                let x = match x {
                    Val::Int(i) => *i as f64,
                    Val::Float(x) => *x,
                    _ => return Err(invalid(format!("The parameter {f}.Values is invalid."))),
                };
                let n = match counts.map(|c| &c[j]) {
                    None => 1.0,
                    Some(Val::Int(i)) => *i as f64,
                    Some(Val::Float(x)) => *x,
                    Some(_) => {
                        return Err(invalid(format!("The parameter {f}.Counts is invalid.")));
                    }
                };
                s.merge(&Stat::repeated(finite(x, "Values")?, n));
            }
            s
        } else {
            return Err(missing(format!(
                "One of the parameters {f}.Value, {f}.StatisticValues or {f}.Values is required."
            )));
        };
        let high = match d.int("StorageResolution")? {
            None | Some(60) => false,
            Some(1) => true,
            Some(r) => {
                return Err(invalid(format!(
                    "The value {r} for parameter {f}.StorageResolution is invalid. Valid values are 1 and 60."
                )));
            }
        };
        parsed.push((
            MetricKey::new(ns, name, &dims),
            unit(d, "Unit", &format!("{f}.Unit"), true)?,
            t,
            stat,
            high,
        ));
    }
    for (key, unit, t, stat, high) in parsed {
        inner
            .metrics
            .put(region, key, unit.as_deref(), t, &stat, high);
    }
    Ok(Val::map())
}

fn time_range(v: &Val) -> Result<(f64, f64), AwsError> {
    let start = v
        .time("StartTime")?
        .ok_or_else(|| missing("The parameter StartTime is required."))?;
    let end = v
        .time("EndTime")?
        .ok_or_else(|| missing("The parameter EndTime is required."))?;
    if start >= end {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    Ok((start, end))
}

/// GetMetricData's `StartTime` / `EndTime`: its model lists neither
/// `MissingParameter` nor `InvalidParameterValue`, so a range CloudWatch
/// refuses is a `ValidationError` (the sentences CloudWatch sends).
fn metric_data_time_range(v: &Val) -> Result<(f64, f64), AwsError> {
    let start = v.time("StartTime")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'startTime' failed to satisfy constraint: Member must not be null")
    })?;
    let end = v.time("EndTime")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'endTime' failed to satisfy constraint: Member must not be null")
    })?;
    // Compared in whole seconds: two instants within one second are equal.
    let (whole_start, whole_end) = (start.floor(), end.floor());
    if whole_start == whole_end {
        return Err(validation(
            "The parameter StartTime must not equal parameter EndTime.",
        ));
    }
    if whole_start > whole_end {
        return Err(validation(
            "The parameter EndTime must be greater than StartTime.",
        ));
    }
    Ok((start, end))
}

/// Rounds a start time down as CloudWatch does for the period.
fn align(start: f64, period: i64) -> i64 {
    let s = start.floor() as i64;
    let unit = if period >= 60 { 60 } else { period };
    s.div_euclid(unit) * unit
}

pub fn get_metric_statistics(inner: &Inner, region: &str, v: &Val) -> Result<Val, AwsError> {
    let ns = v
        .str("Namespace")?
        .ok_or_else(|| missing("The parameter Namespace is required."))?;
    check_namespace(ns, "namespace")?;
    let name = v
        .str("MetricName")?
        .ok_or_else(|| missing("The parameter MetricName is required."))?;
    let dims = dimensions(v.list("Dimensions")?, "dimensions")?;
    let (start, end) = time_range(v)?;
    let period = v
        .int("Period")?
        .ok_or_else(|| missing("The parameter Period is required."))?;
    check_period(period, "Period")?;
    let wanted_unit = unit(v, "Unit", "Unit", true)?;
    let stats: Vec<String> = v
        .list("Statistics")?
        .unwrap_or(&[])
        .iter()
        .filter_map(|x| match x {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let ext: Vec<String> = v
        .list("ExtendedStatistics")?
        .unwrap_or(&[])
        .iter()
        .filter_map(|x| match x {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if stats.is_empty() && ext.is_empty() {
        return Err(missing(
            "Must specify either Statistics or ExtendedStatistics, but not both.",
        ));
    }
    if stats.len() > 5 || ext.len() > 10 {
        return Err(invalid(
            "At most 5 Statistics and 10 ExtendedStatistics may be requested.",
        ));
    }
    for s in &stats {
        if !STATISTICS.contains(&s.as_str()) {
            return Err(invalid(format!(
                "The parameter Statistics.member must be a value in the set [ SampleCount, Average, Sum, Minimum, Maximum ], got {s}."
            )));
        }
    }
    for e in &ext {
        check_stat(e, "ExtendedStatistics")?;
    }
    let start = align(start, period);
    let end = end.ceil() as i64;
    // Timestamps are bounded by `Val::time`, so this cannot overflow.
    let n = (end - start + period - 1) / period;
    if n > 1440 {
        return Err(combination(format!(
            "You have requested up to {n} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let key = MetricKey::new(ns, name, &dims);
    let series = inner.metrics.series(region, &key);
    let unit = series
        .and_then(|s| s.unit.clone())
        .unwrap_or_else(|| "None".into());
    // A unit other than the data's selects nothing (no unit conversion).
    let points = match (&wanted_unit, series) {
        (Some(u), Some(s)) if !s.in_unit(u) => Vec::new(),
        _ => inner.metrics.periods(region, &key, start, end, period),
    };
    let datapoints = points
        .iter()
        .map(|(t, s)| {
            let mut d = Val::map().with("Timestamp", Val::Time(*t as f64));
            for st in &stats {
                d = d.with_opt(st, s.statistic(st));
            }
            if !ext.is_empty() {
                let mut m = Val::map();
                for e in &ext {
                    m = m.with_opt(e, s.statistic(e));
                }
                d = d.with("ExtendedStatistics", m);
            }
            d.with("Unit", unit.as_str())
        })
        .collect();
    Ok(Val::map()
        .with("Label", name)
        .with("Datapoints", Val::List(datapoints)))
}

/// The most datapoints one GetMetricData call may cover.
const MAX_METRIC_DATA_POINTS: i64 = 100_800;

/// High-resolution periods (under a minute, not a multiple of 60) are
/// answered only for start times within this many seconds of now (the
/// model: "Data points with a period of less than 60 seconds are available
/// for 3 hours"; over an older start time they return no datapoints).
const HIGH_RESOLUTION_SECS: f64 = 3.0 * 3600.0;

pub fn get_metric_data(inner: &Inner, region: &str, v: &Val, now: f64) -> Result<Val, AwsError> {
    let list = v.list("MetricDataQueries")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'metricDataQueries' failed to satisfy constraint: Member must not be null")
    })?;
    let qs = queries(list, "MetricDataQueries")?;
    let (start, end) = metric_data_time_range(v)?;
    let ascending = match v.str("ScanBy")? {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(s) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{s}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
            )));
        }
    };
    let max_points = v.int("MaxDatapoints")?.unwrap_or(100_800).max(1) as usize;
    let default_period = qs
        .iter()
        .filter_map(|q| q.metric_stat.as_ref().map(|m| m.period))
        .next()
        .unwrap_or(60);
    // Refuse before iterating: every returned query walks every period of
    // the range under the CloudWatch lock. CloudWatch returns at most 100,800
    // datapoints per call (timestamps are bounded by `Val::time`, so the
    // counts cannot overflow).
    let requested: i64 = qs
        .iter()
        .filter(|q| q.return_data)
        .map(|q| {
            let period = q
                .metric_stat
                .as_ref()
                .map(|m| m.period)
                .or(q.period)
                .unwrap_or(default_period)
                .max(1);
            let first = align(start, period);
            let last = end.ceil() as i64;
            (last - first + period - 1) / period
        })
        .sum();
    if requested > MAX_METRIC_DATA_POINTS {
        return Err(combination(format!(
            "You have requested up to {requested} datapoints, which exceeds the limit of 100,800. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    // Pages: the datapoints of every returned query, in query order, form
    // one sequence; a page is `MaxDatapoints` of it, and the token says how
    // many were returned before (and which request it belongs to).
    let request = request_digest(v);
    let skip = match v.str("NextToken")? {
        None => 0,
        Some(t) => parse_data_token(t, &request).ok_or_else(invalid_next_token)?,
    };
    let mut results = Vec::new();
    let mut seen = 0usize;
    let mut more = false;
    for q in qs.iter().filter(|q| q.return_data) {
        let period = q
            .metric_stat
            .as_ref()
            .map(|m| m.period)
            .or(q.period)
            .unwrap_or(default_period);
        let first = align(start, period);
        let last = end.ceil() as i64;
        let mut points: Vec<(i64, f64)> = Vec::new();
        let mut t = first;
        if period % 60 != 0 && now - start > HIGH_RESOLUTION_SECS {
            t = last;
        }
        while t < last {
            if let Some(x) = alarms::query_value(&qs, &q.id, &inner.metrics, region, t, period, 0) {
                points.push((t, x));
            }
            t += period;
            if points.len() > 100_800 {
                break;
            }
        }
        if !ascending {
            points.reverse();
        }
        // This query's share of the page: its points after `skip`, up to
        // what is left of `max_points`.
        let from = skip.saturating_sub(seen).min(points.len());
        let room = (skip + max_points).saturating_sub(seen.max(skip));
        let to = (from + room).min(points.len());
        let partial = to < points.len();
        more |= partial;
        seen += points.len();
        let page = &points[from..to];
        let label = q.label.clone().unwrap_or_else(|| match &q.metric_stat {
            Some(m) => m.key.name.clone(),
            None => q.id.clone(),
        });
        results.push(
            Val::map()
                .with("Id", &q.id)
                .with("Label", label)
                .with(
                    "Timestamps",
                    Val::List(page.iter().map(|(t, _)| Val::Time(*t as f64)).collect()),
                )
                .with(
                    "Values",
                    Val::List(page.iter().map(|(_, x)| Val::Float(*x)).collect()),
                )
                .with(
                    "StatusCode",
                    if partial { "PartialData" } else { "Complete" },
                ),
        );
    }
    if skip > seen {
        return Err(invalid_next_token());
    }
    Ok(Val::map()
        .with("MetricDataResults", Val::List(results))
        .with("Messages", Val::List(vec![]))
        .with_opt(
            "NextToken",
            more.then(|| data_token(&request, skip + max_points)),
        ))
}

fn invalid_next_token() -> AwsError {
    AwsError::bad_request(
        "InvalidNextToken",
        "The service couldn't process the NextToken: use the NextToken of the previous answer to the same request.",
    )
}

/// What identifies a GetMetricData request across its pages: everything but
/// `NextToken` and `MaxDatapoints`.
fn request_digest(v: &Val) -> String {
    use sha2::Digest;
    let Val::Map(members) = v else {
        return String::new();
    };
    let rest = Val::Map(
        members
            .iter()
            .filter(|(k, _)| k != "NextToken" && k != "MaxDatapoints")
            .cloned()
            .collect(),
    );
    let bytes = super::value::encode(super::value::Protocol::Json, &rest);
    hex::encode(&sha2::Sha256::digest(&bytes)[..8])
}

fn data_token(request: &str, offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("aws-sim:gmd:{request}:{offset}"))
}

fn parse_data_token(t: &str, request: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("aws-sim:gmd:")?;
    let (digest, offset) = rest.rsplit_once(':')?;
    (digest == request).then(|| offset.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner() -> Inner {
        Inner::default()
    }

    #[test]
    fn metric_data_times_are_compared_in_whole_seconds() {
        let range = |s: f64, e: f64| {
            metric_data_time_range(
                &Val::map()
                    .with("StartTime", Val::Time(s))
                    .with("EndTime", Val::Time(e)),
            )
            .map_err(|e| (e.code, e.message))
        };
        assert_eq!(range(60.0, 120.0), Ok((60.0, 120.0)));
        for (s, e) in [(60.0, 60.0), (60.2, 60.9)] {
            assert_eq!(
                range(s, e),
                Err((
                    "ValidationError".to_string(),
                    "The parameter StartTime must not equal parameter EndTime.".to_string()
                ))
            );
        }
        assert_eq!(range(120.0, 60.0).unwrap_err().0, "ValidationError");
    }

    #[test]
    fn query_ids_follow_cloudwatchs_pattern() {
        for ok in ["m", "m1", "inv_New_2", "aZ9_"] {
            assert!(is_query_id(ok), "{ok}");
        }
        for bad in ["", "M", "1m", "_m", "m-1", "m 1", "m.1", "ïnv"] {
            assert!(!is_query_id(bad), "{bad}");
        }
    }

    #[test]
    fn alarm_validation() {
        let mut i = inner();
        let base = || {
            Val::map()
                .with("AlarmName", "a")
                .with("Namespace", "NS")
                .with("MetricName", "M")
                .with("Statistic", "Sum")
                .with("Period", 60i64)
                .with("EvaluationPeriods", 1i64)
                .with("Threshold", 1.0)
                .with("ComparisonOperator", "GreaterThanThreshold")
        };
        put_metric_alarm(&mut i, "r", &base(), 0.0).unwrap();
        let e = put_metric_alarm(&mut i, "r", &base().with("DatapointsToAlarm", 2i64), 0.0)
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let e = put_metric_alarm(
            &mut i,
            "r",
            &base().with("TreatMissingData", "sometimes"),
            0.0,
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        let math = Val::map()
            .with("AlarmName", "m")
            .with("EvaluationPeriods", 1i64)
            .with("Threshold", 1.0)
            .with("ComparisonOperator", "GreaterThanThreshold")
            .with(
                "Metrics",
                Val::List(vec![
                    Val::map().with("Id", "e1").with("Expression", "m1/m2"),
                ]),
            );
        let e = put_metric_alarm(&mut i, "r", &math, 0.0).unwrap_err();
        assert!(e.message.contains("m1"), "{}", e.message);
        let e = set_alarm_state(
            &mut i,
            "r",
            &Val::map()
                .with("AlarmName", "nope")
                .with("StateValue", "OK")
                .with("StateReason", "x"),
            0.0,
        )
        .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status.as_u16()),
            ("ResourceNotFound", 404)
        );
    }
}
