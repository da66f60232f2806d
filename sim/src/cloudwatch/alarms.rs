//! Metric alarms and their evaluation. Every simulated minute boundary `T`,
//! each alarm looks at its last `EvaluationPeriods` periods
//! `[T − k·Period, T − (k−1)·Period)`, computes its statistic (or its
//! metric-math expression) per period, and decides:
//!
//! - a period with no data is *missing*; `TreatMissingData` turns it into
//!   breaching (`breaching`), not breaching (`notBreaching`), or leaves it
//!   out (`missing`, the default, and `ignore`);
//! - when every period is missing: `missing` → `INSUFFICIENT_DATA`,
//!   `ignore` → the current state is kept;
//! - otherwise `ALARM` when at least `DatapointsToAlarm` (default
//!   `EvaluationPeriods`) periods breach, else `OK`.
//!
//! This is AWS's documented rule minus its look-back beyond the evaluation
//! range for sparse data. State changes set `StateReason`/`StateReasonData`
//! in AWS's wording and are recorded in the alarm history. It knows no wire
//! format.

use std::collections::HashMap;

use serde_json::json;

use super::expr::Expr;
use super::metrics::{MetricKey, MetricStore};

pub const COMPARISONS: [&str; 4] = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
pub const TREAT_MISSING: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];

/// A `MetricStat` query member.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStat {
    pub key: MetricKey,
    pub period: i64,
    pub stat: String,
    pub unit: Option<String>,
}

impl MetricStat {
    /// Its statistic over `[start, start + period)`; `None` without data
    /// (in its `Unit`, when it names one).
    pub fn value(&self, store: &MetricStore, region: &str, start: i64, period: i64) -> Option<f64> {
        store
            .window_in(region, &self.key, start, period, self.unit.as_deref())
            .statistic(&self.stat)
    }
}

/// One `MetricDataQuery` (alarms and GetMetricData).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: String,
    pub metric_stat: Option<MetricStat>,
    pub expression: Option<(String, Expr)>,
    pub label: Option<String>,
    pub return_data: bool,
    pub period: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlarmMetric {
    Single(MetricStat),
    Math(Vec<Query>),
}

#[derive(Debug, Clone)]
pub struct Alarm {
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric: AlarmMetric,
    /// The evaluated period (the MetricStat's, or the math alarm's metrics').
    pub period: i64,
    pub evaluation_periods: i64,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: Option<String>,
    pub config_updated: f64,
    pub state: String,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated: f64,
    pub state_transitioned: f64,
}

#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub alarm_name: String,
    pub timestamp: f64,
    pub item_type: &'static str,
    pub summary: String,
    pub data: String,
}

/// What one evaluation concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: &'static str,
    pub reason: String,
    pub reason_data: String,
}

pub fn compare(op: &str, v: f64, threshold: f64) -> bool {
    match op {
        "GreaterThanOrEqualToThreshold" => v >= threshold,
        "GreaterThanThreshold" => v > threshold,
        "LessThanThreshold" => v < threshold,
        "LessThanOrEqualToThreshold" => v <= threshold,
        _ => false,
    }
}

fn phrase(op: &str) -> &'static str {
    match op {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        _ => "less than or equal to",
    }
}

/// `dd/MM/yy HH:mm:ss`, as alarm reasons print datapoint times.
fn short_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%d/%m/%y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `2026-11-26T13:05:00.000+0000`, as StateReasonData prints times.
pub fn iso(t: f64) -> String {
    chrono::DateTime::from_timestamp_millis((t * 1000.0).round() as i64)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}

fn num(v: f64) -> String {
    format!("{v:?}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Values of every query of a math alarm (or GetMetricData) over one window.
/// Each query is evaluated at most once per call (memoised), so expressions
/// that mention the same ids many times cost linear, not exponential, time.
pub fn query_value(
    queries: &[Query],
    id: &str,
    store: &MetricStore,
    region: &str,
    start: i64,
    period: i64,
    depth: usize,
) -> Option<f64> {
    let memo = std::cell::RefCell::new(std::collections::HashMap::new());
    memoised_value(queries, id, store, region, start, period, depth, &memo)
}

#[allow(clippy::too_many_arguments)]
fn memoised_value(
    queries: &[Query],
    id: &str,
    store: &MetricStore,
    region: &str,
    start: i64,
    period: i64,
    depth: usize,
    memo: &std::cell::RefCell<std::collections::HashMap<String, Option<f64>>>,
) -> Option<f64> {
    if depth > 16 {
        return None;
    }
    if let Some(v) = memo.borrow().get(id) {
        return *v;
    }
    let q = queries.iter().find(|q| q.id == id)?;
    let v = if let Some(ms) = &q.metric_stat {
        ms.value(store, region, start, period)
    } else {
        let (_, e) = q.expression.as_ref()?;
        e.eval(&|other| {
            memoised_value(
                queries,
                other,
                store,
                region,
                start,
                period,
                depth + 1,
                memo,
            )
        })
    };
    memo.borrow_mut().insert(id.to_string(), v);
    v
}

impl Alarm {
    fn value(&self, store: &MetricStore, region: &str, start: i64) -> Option<f64> {
        match &self.metric {
            AlarmMetric::Single(ms) => ms.value(store, region, start, self.period),
            AlarmMetric::Math(queries) => {
                let ret = queries.iter().find(|q| q.return_data)?;
                query_value(queries, &ret.id, store, region, start, self.period, 0)
            }
        }
    }

    fn statistic_name(&self) -> String {
        match &self.metric {
            AlarmMetric::Single(ms) => ms.stat.clone(),
            AlarmMetric::Math(_) => "Expression".into(),
        }
    }

    /// Evaluates at minute boundary `t`; `None` = keep the current state.
    pub fn evaluate(&self, store: &MetricStore, region: &str, t: i64) -> Option<Verdict> {
        let n = self.evaluation_periods.max(1) as usize;
        let m = self
            .datapoints_to_alarm
            .unwrap_or(self.evaluation_periods)
            .max(1) as usize;
        let p = self.period.max(1);
        // Newest first.
        let points: Vec<(i64, Option<f64>)> = (1..=n as i64)
            .map(|k| {
                let start = t - k * p;
                (start, self.value(store, region, start))
            })
            .collect();
        let present: Vec<(i64, f64)> = points
            .iter()
            .filter_map(|(s, v)| v.map(|v| (*s, v)))
            .collect();
        let missing = n - present.len();
        let treat = self.treat_missing_data.as_deref().unwrap_or("missing");
        let breaching_present = present
            .iter()
            .filter(|(_, v)| compare(&self.comparison, *v, self.threshold))
            .count();
        let op = phrase(&self.comparison);
        let thr = num(self.threshold);
        let list = present
            .iter()
            .map(|(s, v)| format!("{} ({})", num(*v), short_time(*s)))
            .collect::<Vec<_>>()
            .join(", ");
        let data = json!({
            "version": "1.0",
            "queryDate": iso(t as f64),
            "startDate": iso((t - n as i64 * p) as f64),
            "statistic": self.statistic_name(),
            "period": p,
            "recentDatapoints": present.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            "threshold": self.threshold,
            "evaluatedDatapoints": present.iter().map(|(s, v)| json!({"timestamp": iso(*s as f64), "value": v})).collect::<Vec<_>>(),
        })
        .to_string();
        if present.is_empty() {
            let verdict = |state: &'static str, as_what: &str| Verdict {
                state,
                reason: format!(
                    "Threshold Crossed: no datapoints were received for {} and {} treated as [{as_what}].",
                    plural(n, "period", "periods"),
                    plural(n, "missing datapoint was", "missing datapoints were"),
                ),
                reason_data: data.clone(),
            };
            return match treat {
                "ignore" => None,
                "breaching" => Some(verdict("ALARM", "Breaching")),
                "notBreaching" => Some(verdict("OK", "NonBreaching")),
                _ => Some(Verdict {
                    state: "INSUFFICIENT_DATA",
                    reason: format!(
                        "Insufficient Data: {} unknown.",
                        plural(n, "datapoint was", "datapoints were")
                    ),
                    reason_data: data,
                }),
            };
        }
        let breaching = breaching_present + if treat == "breaching" { missing } else { 0 };
        let alarm = breaching >= m;
        let state = if alarm { "ALARM" } else { "OK" };
        let reason = if n == 1 {
            format!(
                "Threshold Crossed: 1 datapoint [{list}] was {}{op} the threshold ({thr}).",
                if alarm { "" } else { "not " }
            )
        } else if alarm {
            format!(
                "Threshold Crossed: {breaching} out of the last {n} datapoints [{list}] were {op} the threshold ({thr}) (minimum {} for OK -> ALARM transition).",
                plural(m, "datapoint", "datapoints")
            )
        } else {
            format!(
                "Threshold Crossed: {} out of the last {n} datapoints [{list}] were not {op} the threshold ({thr}) (minimum {} for ALARM -> OK transition).",
                n - breaching,
                plural(n + 1 - m, "datapoint", "datapoints")
            )
        };
        Some(Verdict {
            state,
            reason,
            reason_data: data,
        })
    }

    /// Moves to `state`, recording the change in `history`.
    pub fn transition(
        &mut self,
        state: &str,
        reason: String,
        reason_data: Option<String>,
        now: f64,
        history: &mut Vec<HistoryItem>,
    ) {
        let old = std::mem::replace(&mut self.state, state.to_string());
        let old_reason = std::mem::replace(&mut self.state_reason, reason);
        let old_data = std::mem::replace(&mut self.state_reason_data, reason_data);
        self.state_updated = now;
        self.state_transitioned = now;
        let state_json = |v: &str, r: &str, d: &Option<String>| {
            let mut o = json!({"stateValue": v, "stateReason": r});
            if let Some(d) = d
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            {
                o["stateReasonData"] = d;
            }
            o
        };
        history.push(HistoryItem {
            alarm_name: self.name.clone(),
            timestamp: now,
            item_type: "StateUpdate",
            summary: format!("Alarm updated from {old} to {}", self.state),
            data: json!({
                "version": "1.0",
                "oldState": state_json(&old, &old_reason, &old_data),
                "newState": state_json(&self.state, &self.state_reason, &self.state_reason_data),
            })
            .to_string(),
        });
    }
}

/// Evaluates every alarm of every region at minute boundary `t`.
pub fn evaluate_all(
    alarms: &mut HashMap<String, std::collections::BTreeMap<String, Alarm>>,
    history: &mut HashMap<String, Vec<HistoryItem>>,
    store: &MetricStore,
    t: i64,
) {
    for (region, list) in alarms.iter_mut() {
        for alarm in list.values_mut() {
            let Some(v) = alarm.evaluate(store, region, t) else {
                continue;
            };
            if v.state != alarm.state {
                alarm.transition(
                    v.state,
                    v.reason,
                    Some(v.reason_data),
                    t as f64,
                    history.entry(region.clone()).or_default(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudwatch::metrics::Stat;

    fn alarm(op: &str, treat: Option<&str>, n: i64, m: Option<i64>) -> Alarm {
        Alarm {
            name: "a".into(),
            description: None,
            actions_enabled: true,
            ok_actions: vec![],
            alarm_actions: vec![],
            insufficient_data_actions: vec![],
            metric: AlarmMetric::Single(MetricStat {
                key: MetricKey::new("NS", "M", &[]),
                period: 60,
                stat: "Sum".into(),
                unit: None,
            }),
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 5.0,
            comparison: op.into(),
            treat_missing_data: treat.map(str::to_string),
            config_updated: 0.0,
            state: "INSUFFICIENT_DATA".into(),
            state_reason: String::new(),
            state_reason_data: None,
            state_updated: 0.0,
            state_transitioned: 0.0,
        }
    }

    fn store(points: &[(i64, f64)]) -> MetricStore {
        let mut s = MetricStore::default();
        for (t, v) in points {
            s.put(
                "r",
                MetricKey::new("NS", "M", &[]),
                None,
                *t as f64,
                &Stat::single(*v),
                false,
            );
        }
        s
    }

    #[test]
    fn comparisons_and_missing_data() {
        let s = store(&[(60, 5.0)]);
        let st = |a: &Alarm| a.evaluate(&s, "r", 120).map(|v| v.state);
        assert_eq!(
            st(&alarm("GreaterThanOrEqualToThreshold", None, 1, None)),
            Some("ALARM")
        );
        assert_eq!(
            st(&alarm("GreaterThanThreshold", None, 1, None)),
            Some("OK")
        );
        assert_eq!(st(&alarm("LessThanThreshold", None, 1, None)), Some("OK"));
        assert_eq!(
            st(&alarm("LessThanOrEqualToThreshold", None, 1, None)),
            Some("ALARM")
        );
        let empty = store(&[]);
        let st = |a: &Alarm| a.evaluate(&empty, "r", 120).map(|v| v.state);
        assert_eq!(
            st(&alarm("GreaterThanThreshold", None, 1, None)),
            Some("INSUFFICIENT_DATA")
        );
        assert_eq!(
            st(&alarm("GreaterThanThreshold", Some("ignore"), 1, None)),
            None
        );
        assert_eq!(
            st(&alarm("GreaterThanThreshold", Some("breaching"), 1, None)),
            Some("ALARM")
        );
        assert_eq!(
            st(&alarm(
                "GreaterThanThreshold",
                Some("notBreaching"),
                1,
                None
            )),
            Some("OK")
        );
    }

    #[test]
    fn m_out_of_n() {
        // Periods [0,60) breaching, [60,120) missing, [120,180) breaching.
        let s = store(&[(0, 9.0), (120, 9.0)]);
        let a = alarm("GreaterThanThreshold", None, 3, Some(2));
        let v = a.evaluate(&s, "r", 180).unwrap();
        assert_eq!(v.state, "ALARM");
        assert!(
            v.reason.contains("2 out of the last 3 datapoints"),
            "{}",
            v.reason
        );
        let a = alarm("GreaterThanThreshold", None, 3, Some(3));
        assert_eq!(a.evaluate(&s, "r", 180).unwrap().state, "OK");
        let a = alarm("GreaterThanThreshold", Some("breaching"), 3, Some(3));
        assert_eq!(a.evaluate(&s, "r", 180).unwrap().state, "ALARM");
    }
}
