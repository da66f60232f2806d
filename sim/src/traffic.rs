//! Simulated traffic: every alias of every function is invoked at
//! `--traffic-rate` invocations per simulated second (or a per-function
//! override), through the same weighted routing as Invoke, with each
//! version's `errorRate` and `latencyMs` from its `.sim/behavior.json`. The
//! resulting `AWS/Lambda` metrics land in the sim's CloudWatch where alarms
//! and GetMetricData read them.
//!
//! Invocations are counted in aggregate, never looped one by one: each tick
//! turns the elapsed simulated time into an invocation count per alias
//! (fractions carried over, so a whole minute holds exactly `rate × 60`
//! when that is whole, however the clock was moved through it), splits it
//! between the alias's versions with a binomial draw at the additional
//! version's weight, and each version's share into errors with a binomial
//! draw at that version's error rate, from one RNG seeded by `--seed`;
//! aliases are drawn for in a fixed order (region, function, alias), so the
//! same seed and the same clock moves give the same counts. The counts go
//! to the current simulated minute; a minute's counts are written to
//! CloudWatch once that minute is over — before CloudWatch evaluates alarms
//! at the same boundary (see `Sim::tick`'s order). 60 functions at rate 10
//! and time scale 600 cost a few hundred arithmetic operations per tick.
//!
//! Routing is read when traffic is generated, so a change of routing must
//! first bring traffic up to its instant ([`Traffic::catch_up`]): Lambda
//! does before CreateAlias, UpdateAlias, DeleteAlias, DeleteFunction and
//! UpdateFunctionCode, CodeDeploy before each step at the step's simulated
//! instant. What is already generated stays: when the clock jumps over a
//! CodeDeploy step, the traffic of the jump (generated before CodeDeploy's
//! events in the same tick) follows the routing before the step; with the
//! clock running, that is at most one tick of the background ticker (5 ms
//! of real time: 3 simulated seconds at ×600).
//!
//! `POST /_sim/traffic` controls it: `{"rate": 5}` (per alias, all
//! functions), `{"functions": {"fn": 20}}` (per function; `null` removes an
//! override), `{"enabled": false}`. It knows Lambda's and CloudWatch's
//! internal APIs, nothing of HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::lambda::metrics::{self, VersionCount};
use crate::{Config, Sim};

/// Longest stretch of simulated time one tick generates (a bigger clock jump
/// only simulates its last part).
const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);

/// `(region, function, alias)`.
type AliasKey = (String, String, String);

#[derive(Debug)]
struct State {
    enabled: bool,
    /// Invocations per simulated second per alias.
    rate: f64,
    /// Per-function overrides of `rate`.
    per_function: HashMap<String, f64>,
    /// Simulated time up to which traffic has been generated.
    last: Option<SystemTime>,
    /// Real time of that generation.
    last_real: Instant,
    /// Fractional invocations carried to the next tick, per alias.
    carry: HashMap<AliasKey, f64>,
    /// Counts of the minutes not yet written: (minute, alias) → per version.
    pending: BTreeMap<(i64, AliasKey), BTreeMap<String, VersionCount>>,
    rng: StdRng,
}

#[derive(Debug)]
pub struct Traffic {
    state: Mutex<State>,
}

/// Successes in `n` trials of probability `p`, from at most two uniform
/// draws: inversion of the binomial CDF when the variance is small, a
/// normal approximation (rounded, clamped) otherwise.
pub fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // Work with the smaller tail so (1 − q)^n cannot underflow.
    let (q, flip) = if p > 0.5 { (1.0 - p, true) } else { (p, false) };
    let nf = n as f64;
    let var = nf * q * (1.0 - q);
    let k = if var < 9.0 {
        let u: f64 = rng.random();
        let ratio = q / (1.0 - q);
        let mut pk = (1.0 - q).powf(nf);
        let mut cdf = pk;
        let mut k = 0u64;
        while u > cdf && k < n {
            pk *= (nf - k as f64) / (k as f64 + 1.0) * ratio;
            k += 1;
            cdf += pk;
        }
        k
    } else {
        // Box–Muller.
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (nf * q + z * var.sqrt()).round().clamp(0.0, nf) as u64
    };
    if flip { n - k } else { k }
}

impl Traffic {
    pub fn new(config: &Config) -> Self {
        Traffic {
            state: Mutex::new(State {
                enabled: true,
                rate: config.traffic_rate.max(0.0),
                per_function: HashMap::new(),
                last: None,
                last_real: Instant::now(),
                carry: HashMap::new(),
                pending: BTreeMap::new(),
                rng: StdRng::seed_from_u64(config.seed ^ 0x7472_6166_6669_6321),
            }),
        }
    }

    pub fn tick(&self, sim: &Arc<Sim>, now: SystemTime) {
        self.run(sim, now, false);
    }

    /// Generates the traffic owed up to `now` at once, under the routing in
    /// force: called before a change of routing, so the change applies
    /// from its own instant. Must not be called with the Lambda or
    /// CloudWatch lock held.
    pub fn catch_up(&self, sim: &Sim, now: SystemTime) {
        self.run(sim, now, true);
    }

    /// Generates traffic up to `now` (`force`: even if the last generation
    /// was a moment ago) and writes the minutes that are over.
    fn run(&self, sim: &Sim, now: SystemTime, force: bool) {
        let mut guard = crate::lock(&self.state);
        let st = &mut *guard;
        let Some(last) = st.last else {
            st.last = Some(now);
            return;
        };
        let Ok(span) = now.duration_since(last) else {
            return;
        };
        // Within a minute, generate at most every 50 ms of real time and
        // 200 ms of simulated time; always when a minute is over, so alarms
        // evaluated at that boundary see it whole.
        let same_minute = (secs(last) / 60.0).floor() == (secs(now) / 60.0).floor();
        let recent = st.last_real.elapsed() < Duration::from_millis(50);
        if !force && same_minute && (span < Duration::from_millis(200) || recent) {
            return;
        }
        st.last = Some(now);
        st.last_real = Instant::now();
        let from = if span > MAX_SPAN {
            now - MAX_SPAN
        } else {
            last
        };
        if st.enabled {
            generate(st, sim, from, now);
        }
        flush(st, sim, now);
    }
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The highest traffic rate (invocations per simulated second) the control
/// API and `--traffic-rate` accept: beyond it counts would overflow.
pub const MAX_RATE: f64 = 1e6;

/// Adds the invocations of `[from, to)` to the pending minutes.
fn generate(st: &mut State, sim: &Sim, from: SystemTime, to: SystemTime) {
    let targets = sim.lambda.traffic_targets();
    let (t0, t1) = (secs(from), secs(to));
    for target in targets {
        let rate = st
            .per_function
            .get(&target.function)
            .copied()
            .unwrap_or(st.rate);
        if rate <= 0.0 {
            continue;
        }
        let key: AliasKey = (
            target.region.clone(),
            target.function.clone(),
            target.alias.clone(),
        );
        // Split at minute boundaries so counts land in their own minute.
        let mut a = t0;
        while a < t1 {
            let minute = (a / 60.0).floor() as i64;
            let b = t1.min((minute + 1) as f64 * 60.0);
            let carry = st.carry.entry(key.clone()).or_insert(0.0);
            let expected = rate * (b - a) + *carry;
            let n = expected.floor().max(0.0) as u64;
            *carry = expected - n as f64;
            a = b;
            if n == 0 {
                continue;
            }
            let r = &target.resolved;
            let (n_extra, n_primary) = match &r.additional {
                Some((_, w)) => {
                    let k = binomial(&mut st.rng, n, *w);
                    (k, n - k)
                }
                None => (0, n),
            };
            let mut add = |version: &str, behavior: &crate::lambda::Behavior, count: u64| {
                if count == 0 {
                    return;
                }
                let errors = binomial(&mut st.rng, count, behavior.error_rate);
                let slot = st
                    .pending
                    .entry((minute, key.clone()))
                    .or_default()
                    .entry(version.to_string())
                    .or_insert_with(|| VersionCount {
                        version: version.to_string(),
                        invocations: 0,
                        errors: 0,
                        duration_ms: behavior.latency_ms,
                    });
                slot.invocations = slot.invocations.saturating_add(count);
                slot.errors = slot.errors.saturating_add(errors);
            };
            add(&r.primary.0, &r.primary.1, n_primary);
            if let Some(((v, b), _)) = &r.additional {
                add(v, b, n_extra);
            }
        }
    }
}

/// Writes every minute that is over to CloudWatch.
fn flush(st: &mut State, sim: &Sim, now: SystemTime) {
    let current = (secs(now) / 60.0).floor() as i64;
    let done: Vec<(i64, AliasKey)> = st
        .pending
        .range(..(current, (String::new(), String::new(), String::new())))
        .map(|(k, _)| k.clone())
        .collect();
    for k in done {
        let Some(counts) = st.pending.remove(&k) else {
            continue;
        };
        let (minute, (region, function, alias)) = k;
        let counts: Vec<VersionCount> = counts.into_values().collect();
        let time = UNIX_EPOCH + Duration::from_secs((minute * 60).max(0) as u64);
        metrics::record(sim, &region, &function, Some(&alias), &counts, time);
    }
}

/// `POST /_sim/traffic`: `{"rate": 5}`, `{"functions": {"fn": 20}}`,
/// `{"enabled": false}`; answers the resulting settings.
pub fn control(sim: &Arc<Sim>, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    let obj = body.as_object().ok_or("body must be a JSON object")?;
    for k in obj.keys() {
        if !["rate", "functions", "enabled"].contains(&k.as_str()) {
            return Err(format!(
                "unknown field '{k}' (expected rate, functions, enabled)"
            ));
        }
    }
    let rate = match obj.get("rate") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(r) if (0.0..=MAX_RATE).contains(&r) => Some(r),
            _ => return Err(format!("rate must be a number >= 0 and <= {MAX_RATE}")),
        },
    };
    let mut overrides: Vec<(String, Option<f64>)> = Vec::new();
    if let Some(f) = obj.get("functions") {
        let m = f
            .as_object()
            .ok_or("functions must be an object {name: rate}")?;
        for (name, v) in m {
            match v {
                serde_json::Value::Null => overrides.push((name.clone(), None)),
                v => match v.as_f64() {
                    Some(r) if (0.0..=MAX_RATE).contains(&r) => {
                        overrides.push((name.clone(), Some(r)))
                    }
                    _ => {
                        return Err(format!(
                            "rate of function '{name}' must be a number >= 0 and <= {MAX_RATE}, or null"
                        ));
                    }
                },
            }
        }
    }
    let enabled = match obj.get("enabled") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or("enabled must be a boolean")?),
    };
    // Bring traffic up to now under the old settings before changing them.
    sim.traffic.run(sim, sim.clock.now(), true);
    let mut st = crate::lock(&sim.traffic.state);
    if let Some(r) = rate {
        st.rate = r;
    }
    for (name, r) in overrides {
        match r {
            Some(r) => st.per_function.insert(name, r),
            None => st.per_function.remove(&name),
        };
    }
    if let Some(e) = enabled {
        st.enabled = e;
    }
    let functions: BTreeMap<&String, &f64> = st.per_function.iter().collect();
    Ok(json!({
        "enabled": st.enabled,
        "rate": st.rate,
        "functions": functions,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_is_plausible_and_bounded() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(binomial(&mut rng, 10, 0.0), 0);
        let k = binomial(&mut rng, 1000, 0.3);
        assert!((240..=360).contains(&k), "{k}");
        let k = binomial(&mut rng, 1_000_000, 0.3);
        assert!((297_000..=303_000).contains(&k), "{k}");
        let k = binomial(&mut rng, 50_000, 0.0001);
        assert!(k <= 30, "{k}");
        let k = binomial(&mut rng, 50_000, 0.9999);
        assert!(k >= 49_970, "{k}");
        // Small-variance inversion: the mean over many draws is right.
        let total: u64 = (0..2000).map(|_| binomial(&mut rng, 20, 0.1)).sum();
        assert!((3600..=4400).contains(&total), "{total}");
    }
}
