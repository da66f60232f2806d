//! CloudWatch's metric store: per region, per metric (namespace, name,
//! dimension set), statistic sets in time buckets — 1-minute buckets for
//! standard resolution, 1-second buckets for `StorageResolution: 1` — and the
//! aggregation of buckets into periods that GetMetricStatistics,
//! GetMetricData and alarm evaluation all share. Data older than 2 days
//! (simulated; AWS: 15) is dropped. It knows no wire format and no alarm.

use std::collections::{BTreeMap, HashMap};

/// A statistic set, plus the distinct values seen (for percentiles) while
/// they are few; `values == None` means percentiles are unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub values: Option<Vec<(f64, f64)>>,
}

/// How many distinct values a bucket keeps for percentiles.
const MAX_DISTINCT: usize = 256;

impl Stat {
    pub fn empty() -> Stat {
        Stat {
            count: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            values: Some(Vec::new()),
        }
    }

    pub fn single(v: f64) -> Stat {
        Stat::repeated(v, 1.0)
    }

    /// `n` samples of value `v`.
    pub fn repeated(v: f64, n: f64) -> Stat {
        if n <= 0.0 {
            return Stat::empty();
        }
        Stat {
            count: n,
            sum: v * n,
            min: v,
            max: v,
            values: Some(vec![(v, n)]),
        }
    }

    /// A `StatisticValues` set (percentiles unknown unless min == max).
    pub fn set(count: f64, sum: f64, min: f64, max: f64) -> Stat {
        Stat {
            count,
            sum,
            min,
            max,
            values: (min == max).then(|| vec![(min, count)]),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count <= 0.0
    }

    pub fn merge(&mut self, o: &Stat) {
        if o.is_empty() {
            return;
        }
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.values = match (self.values.take(), &o.values) {
            (Some(mut mine), Some(theirs)) => {
                for (v, n) in theirs {
                    match mine.iter_mut().find(|(x, _)| x == v) {
                        Some(e) => e.1 += n,
                        None => mine.push((*v, *n)),
                    }
                }
                (mine.len() <= MAX_DISTINCT).then_some(mine)
            }
            _ => None,
        };
    }

    /// The value of a statistic (`Sum`, `Average`, …, `p99`); `None` when
    /// empty, unknown or not a statistic.
    pub fn statistic(&self, name: &str) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        match name {
            "SampleCount" => Some(self.count),
            "Sum" => Some(self.sum),
            "Average" => Some(self.sum / self.count),
            "Minimum" => Some(self.min),
            "Maximum" => Some(self.max),
            p => {
                let pct = parse_percentile(p)?;
                let mut vals = self.values.clone()?;
                vals.sort_by(|a, b| a.0.total_cmp(&b.0));
                let target = pct / 100.0 * self.count;
                let mut seen = 0.0;
                for (v, n) in &vals {
                    seen += n;
                    if seen >= target {
                        return Some(*v);
                    }
                }
                vals.last().map(|(v, _)| *v)
            }
        }
    }
}

/// `p0`..`p100` with up to two decimals (`p99.9`).
pub fn parse_percentile(s: &str) -> Option<f64> {
    let n = s.strip_prefix('p')?;
    if n.is_empty() || n.len() > 6 || !n.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = n.parse().ok()?;
    (0.0..=100.0).contains(&v).then_some(v)
}

pub const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// A metric's identity; dimensions sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricKey {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricKey {
    pub fn new(namespace: &str, name: &str, dimensions: &[(String, String)]) -> MetricKey {
        let mut dimensions = dimensions.to_vec();
        dimensions.sort();
        MetricKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            dimensions,
        }
    }
}

#[derive(Debug, Default)]
pub struct Series {
    /// The unit the data was recorded in (`None`: no unit, CloudWatch's
    /// `None`); the last one given wins.
    pub unit: Option<String>,
    /// Bucket start (epoch seconds) → statistics.
    pub buckets: BTreeMap<i64, Stat>,
}

impl Series {
    /// Whether a query naming `unit` selects this series' data: CloudWatch
    /// converts no units, so a query in another unit than the data's gets
    /// no data (data recorded without a unit is in unit `None`).
    pub fn in_unit(&self, unit: &str) -> bool {
        self.unit.as_deref().unwrap_or("None") == unit
    }
}

/// How long data is kept, simulated seconds. AWS keeps 1-minute data 15
/// days; the sim keeps 2 (alarm windows reach 1 day for periods under an
/// hour) so 60 functions of traffic at time scale 600 stay near 250 MB.
pub const RETENTION_SECS: i64 = 2 * 24 * 3600;

#[derive(Debug, Default)]
pub struct MetricStore {
    pub regions: HashMap<String, HashMap<MetricKey, Series>>,
}

impl MetricStore {
    /// Adds statistics at `time` (epoch seconds); `high_resolution` keeps
    /// 1-second buckets, else 1-minute.
    pub fn put(
        &mut self,
        region: &str,
        key: MetricKey,
        unit: Option<&str>,
        time: f64,
        stat: &Stat,
        high_resolution: bool,
    ) {
        if stat.is_empty() {
            return;
        }
        let secs = time.floor() as i64;
        let bucket = if high_resolution {
            secs
        } else {
            secs.div_euclid(60) * 60
        };
        let series = self
            .regions
            .entry(region.to_string())
            .or_default()
            .entry(key)
            .or_default();
        if let Some(u) = unit.filter(|u| *u != "None") {
            series.unit = Some(u.to_string());
        }
        series
            .buckets
            .entry(bucket)
            .and_modify(|s| s.merge(stat))
            .or_insert_with(|| {
                let mut s = Stat::empty();
                s.merge(stat);
                s
            });
    }

    pub fn series(&self, region: &str, key: &MetricKey) -> Option<&Series> {
        self.regions.get(region)?.get(key)
    }

    /// The statistics of `[start, start + period)`.
    pub fn window(&self, region: &str, key: &MetricKey, start: i64, period: i64) -> Stat {
        let mut s = Stat::empty();
        if let Some(series) = self.series(region, key) {
            for (_, b) in series.buckets.range(start..start + period) {
                s.merge(b);
            }
        }
        s
    }

    /// [`MetricStore::window`] of the data recorded in `unit` (any unit
    /// when `None`; see [`Series::in_unit`]).
    pub fn window_in(
        &self,
        region: &str,
        key: &MetricKey,
        start: i64,
        period: i64,
        unit: Option<&str>,
    ) -> Stat {
        match (unit, self.series(region, key)) {
            (Some(u), Some(series)) if !series.in_unit(u) => Stat::empty(),
            _ => self.window(region, key, start, period),
        }
    }

    /// Non-empty periods `[start + k·period, …)` within `[start, end)`.
    pub fn periods(
        &self,
        region: &str,
        key: &MetricKey,
        start: i64,
        end: i64,
        period: i64,
    ) -> Vec<(i64, Stat)> {
        let mut out: BTreeMap<i64, Stat> = BTreeMap::new();
        if let Some(series) = self.series(region, key) {
            for (t, b) in series.buckets.range(start..end) {
                let p = start + (t - start) / period * period;
                out.entry(p).or_insert_with(Stat::empty).merge(b);
            }
        }
        out.into_iter().collect()
    }

    /// Drops buckets older than the retention.
    pub fn prune(&mut self, now: i64) {
        let cutoff = now - RETENTION_SECS;
        for series in self.regions.values_mut().flat_map(|m| m.values_mut()) {
            while let Some((&t, _)) = series.buckets.first_key_value() {
                if t >= cutoff {
                    break;
                }
                series.buckets.pop_first();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_merge_and_percentiles() {
        let mut s = Stat::repeated(40.0, 90.0);
        s.merge(&Stat::repeated(200.0, 10.0));
        assert_eq!(s.statistic("SampleCount"), Some(100.0));
        assert_eq!(s.statistic("Average"), Some(56.0));
        assert_eq!(s.statistic("p50"), Some(40.0));
        assert_eq!(s.statistic("p95"), Some(200.0));
        assert_eq!(s.statistic("Maximum"), Some(200.0));
        assert_eq!(s.statistic("bogus"), None);
        assert_eq!(Stat::empty().statistic("Sum"), None);
        assert_eq!(Stat::set(2.0, 3.0, 1.0, 2.0).statistic("p50"), None);
    }

    #[test]
    fn buckets_and_periods() {
        let mut m = MetricStore::default();
        let k = MetricKey::new("NS", "M", &[]);
        m.put(
            "r",
            k.clone(),
            Some("Count"),
            120.5,
            &Stat::single(1.0),
            false,
        );
        m.put("r", k.clone(), None, 150.0, &Stat::single(2.0), false);
        m.put("r", k.clone(), None, 185.0, &Stat::single(4.0), true);
        assert_eq!(m.window("r", &k, 120, 60).sum, 3.0);
        let p = m.periods("r", &k, 0, 600, 300);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].1.sum, 7.0);
        m.prune(RETENTION_SECS + 180);
        assert_eq!(m.window("r", &k, 0, 600).sum, 4.0);
    }

    #[test]
    fn a_unit_selects_only_data_recorded_in_it() {
        let mut m = MetricStore::default();
        let counted = MetricKey::new("NS", "Calls", &[]);
        let bare = MetricKey::new("NS", "Bare", &[]);
        m.put(
            "r",
            counted.clone(),
            Some("Count"),
            60.0,
            &Stat::single(3.0),
            false,
        );
        m.put("r", bare.clone(), None, 60.0, &Stat::single(5.0), false);
        let sum = |k: &MetricKey, unit: Option<&str>| m.window_in("r", k, 60, 60, unit).sum;
        assert_eq!(sum(&counted, None), 3.0);
        assert_eq!(sum(&counted, Some("Count")), 3.0);
        assert_eq!(sum(&counted, Some("Seconds")), 0.0);
        assert_eq!(sum(&counted, Some("None")), 0.0);
        assert_eq!(sum(&bare, Some("None")), 5.0);
        assert_eq!(sum(&bare, Some("Count")), 0.0);
    }
}
