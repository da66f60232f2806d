//! The `AWS/Lambda` metrics an invocation produces, written into the sim's
//! CloudWatch where alarms read them: `Invocations`, `Errors` and `Duration`
//! for the dimension sets `{FunctionName}`, `{FunctionName, Resource}` and
//! `{FunctionName, Resource, ExecutedVersion}` (the latter two only for
//! qualified invocations, `Resource` = `fn:qualifier`). Counts arrive already
//! aggregated, so a million simulated invocations cost one write per series.

use std::time::SystemTime;

use crate::Sim;
use crate::cloudwatch::Stat;

pub const NAMESPACE: &str = "AWS/Lambda";

/// Invocations that executed one version, with how many failed.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionCount {
    pub version: String,
    pub invocations: u64,
    pub errors: u64,
    pub duration_ms: f64,
}

/// `Invocations`, `Errors` (0/1 per invocation: its Average is the error
/// rate) and `Duration` of a batch.
fn stats(counts: &[&VersionCount]) -> Option<(Stat, Stat, Stat)> {
    let n: u64 = counts.iter().map(|c| c.invocations).sum();
    if n == 0 {
        return None;
    }
    let e: u64 = counts.iter().map(|c| c.errors.min(c.invocations)).sum();
    let invocations = Stat::repeated(1.0, n as f64);
    let mut errors = Stat::repeated(0.0, (n - e) as f64);
    errors.merge(&Stat::repeated(1.0, e as f64));
    let mut duration = Stat::empty();
    for c in counts.iter().filter(|c| c.invocations > 0) {
        duration.merge(&Stat::repeated(c.duration_ms, c.invocations as f64));
    }
    Some((invocations, errors, duration))
}

fn put(sim: &Sim, region: &str, dims: &[(String, String)], s: (Stat, Stat, Stat), t: SystemTime) {
    let cw = &sim.cloudwatch;
    cw.put_stat_internal(region, NAMESPACE, "Invocations", dims, "Count", t, s.0);
    cw.put_stat_internal(region, NAMESPACE, "Errors", dims, "Count", t, s.1);
    cw.put_stat_internal(region, NAMESPACE, "Duration", dims, "Milliseconds", t, s.2);
}

/// Records a batch of invocations of `function[:qualifier]` at `time`.
pub fn record(
    sim: &Sim,
    region: &str,
    function: &str,
    qualifier: Option<&str>,
    counts: &[VersionCount],
    time: SystemTime,
) {
    let all: Vec<&VersionCount> = counts.iter().collect();
    let Some(total) = stats(&all) else {
        return;
    };
    let fname = ("FunctionName".to_string(), function.to_string());
    put(
        sim,
        region,
        std::slice::from_ref(&fname),
        total.clone(),
        time,
    );
    let Some(q) = qualifier else {
        return;
    };
    let resource = ("Resource".to_string(), format!("{function}:{q}"));
    put(sim, region, &[fname.clone(), resource.clone()], total, time);
    for c in counts {
        if let Some(s) = stats(&[c]) {
            let dims = [
                fname.clone(),
                resource.clone(),
                ("ExecutedVersion".to_string(), c.version.clone()),
            ];
            put(sim, region, &dims, s, time);
        }
    }
}
