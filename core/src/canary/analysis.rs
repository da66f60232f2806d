//! The canary-versus-baseline verdict: is a function's new version worse
//! than the version it replaces, by more than the release allows, at the
//! stated confidence? At every traffic step and during the bake the worker
//! reads each new version's `Errors` and `Invocations` over a window and
//! its previous version's over the same window, and asks [`verdict`]: wait
//! for more calls, pass, or fail (the whole release rolls back). The
//! verdict carries its figures ([`Figures`]) and an operator sentence, for
//! the job summary, the failure message and the ledger.
//!
//! Pure arithmetic on counts. It knows no AWS SDK, no clock and no
//! CloudWatch wire format (metric names, dimensions, periods, statistics):
//! the caller reads the metrics and hands over two [`Counts`]. How long a
//! step may wait for data, and what happens then, is the caller's too.
//!
//! # The test
//!
//! A one-sided two-proportion z-test (Wald, unpooled standard error) of
//! H0: p_canary − p_baseline ≤ δ against H1: p_canary − p_baseline > δ,
//! with δ = `maxErrorRateIncrease` / 100:
//!
//! ```text
//! z = (p̂c − p̂b − δ) / sqrt(p̂c(1 − p̂c)/nc + p̂b(1 − p̂b)/nb)
//! ```
//!
//! The canary fails when z > z₁₋α, the standard normal quantile of
//! `confidence` (2.326 at 0.99). The pooled standard error of the textbook
//! test assumes p_canary = p_baseline, which is not the null hypothesis
//! here when δ > 0; the unpooled one needs no such assumption.
//!
//! Degenerate cases, decided explicitly:
//! - fewer than `minInvocations` calls on either side: no verdict
//!   ([`Verdict::WaitingForData`], naming the version that lacks calls);
//! - standard error 0 (each rate is exactly 0 % or 100 %, e.g. no errors on
//!   either side): the observed difference decides alone — fail iff
//!   p̂c − p̂b > δ. Both at 0 % passes; a canary failing every call against
//!   a baseline failing none fails (unless δ is 100 pp); both at 100 %
//!   passes (the canary is no worse: a broken baseline is the alarms'
//!   business, not this comparison's);
//! - more errors than invocations (misaligned or bad data): errors are
//!   counted as at most the invocations ([`Counts::clamped`]); the figures
//!   show the counts used.
//!
//! # Small counts
//!
//! The Wald test's variance estimate comes from the observed rates, so at
//! small counts its real false-alarm rate drifts from the nominal
//! 1 − confidence. Computed exactly (binomial sums over every outcome, with
//! the canary exactly δ = 1 pp worse than its baseline, nominal 1 %):
//! - error rates up to 10 %: at most the nominal 1 % — 0.99 % with 200
//!   canary calls against 200 baseline calls, 0.5 % with 200 against 1,800,
//!   0.7 % with 1,000 against 9,000;
//! - error rates of 10–90 %: up to 1.1 % at 200 against 200, 2.4 % at 200
//!   against 1,800, 15 % at 20 against 180 — anti-conservative;
//! - error rates above 90 %: up to 11 % at 200 against 1,800, because a
//!   canary failing every call of the window has a standard error of 0 on
//!   its side. Both versions then fail nearly every call.
//!
//! `minInvocations` (default 200) is the guard: no verdict is taken on
//! fewer calls, where the approximation is poor. It is a floor, not a
//! promise of sensitivity: with 200 calls on each side a canary at 3 %
//! against a baseline at 0.5 % still passes at the defaults (z ≈ 1.15);
//! only a verdict on more calls sees it. Each verdict is one test at the
//! stated confidence; a release that asks k times has, over the release,
//! up to k × (1 − confidence) chance of a needless rollback.
//!
//! No continuity correction. For the error rates that matter (well below
//! 10 %) at 200 calls or more the plain test is already at or below its
//! nominal level, and the usual correction, ½(1/nc + 1/nb) subtracted from
//! the difference, costs 0.5 pp at 200 calls a side — half the default
//! allowance — exactly where the test is least sensitive.
//!
//! # The normal quantile
//!
//! [`normal_quantile`] is Peter J. Acklam's rational approximation of the
//! inverse standard normal CDF ("An algorithm for computing the inverse
//! normal cumulative distribution function", 2003; relative error below
//! 1.15 × 10⁻⁹ over (0, 1)), written out here: the crate keeps its
//! dependencies to a few small ones, and the statistics crates that offer a
//! normal quantile bring linear algebra and random number generation with
//! them for one function of twenty lines.

use serde::{Deserialize, Serialize};

/// `analysis` of a function or of `defaults` in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisSettings {
    /// `maxErrorRateIncrease`: how much higher than its baseline's a
    /// canary's error rate may be, in percentage points (0–100).
    #[serde(rename = "maxErrorRateIncrease")]
    pub max_error_rate_increase_pp: f64,
    /// `minInvocations`: calls each version needs in the window before a
    /// verdict is taken (≥ 1).
    pub min_invocations: u64,
    /// `confidence`: of a failing verdict, one-sided (above 0.5, below 1).
    pub confidence: f64,
}

/// Settings are compared only after [`AnalysisSettings::validate`], which
/// refuses NaN and infinities: equality is total on them.
impl Eq for AnalysisSettings {}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            max_error_rate_increase_pp: 1.0,
            min_invocations: 200,
            confidence: 0.99,
        }
    }
}

impl AnalysisSettings {
    /// Every problem of these settings, in one operator sentence naming the
    /// field (its manifest name) and the fix.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let pp = self.max_error_rate_increase_pp;
        if !(pp.is_finite() && (0.0..=100.0).contains(&pp)) {
            problems.push(format!(
                "`maxErrorRateIncrease` is {pp}: use percentage points from 0 to 100 \
                 (e.g. 1.0 lets a canary's error rate be at most 1 point above its baseline's)"
            ));
        }
        if self.min_invocations == 0 {
            problems.push(
                "`minInvocations` is 0: use at least 1 call per version \
                 (200 or more keeps the test honest)"
                    .to_string(),
            );
        }
        let c = self.confidence;
        if !(c.is_finite() && c > 0.5 && c < 1.0) {
            problems.push(format!(
                "`confidence` is {c}: use a probability above 0.5 and below 1 \
                 (e.g. 0.99 for 99 %)"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// One version's calls and errors over the window (CloudWatch `Invocations`
/// and `Errors`, summed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub invocations: u64,
    pub errors: u64,
}

impl Counts {
    /// Errors counted as at most the invocations: more errors than calls
    /// (metrics from misaligned periods, or bad data) is read as every call
    /// failing, never as a rate above 100 %.
    pub fn clamped(self) -> Counts {
        Counts {
            invocations: self.invocations,
            errors: self.errors.min(self.invocations),
        }
    }

    /// The error rate as a fraction (0 with no calls).
    pub fn rate(self) -> f64 {
        let c = self.clamped();
        if c.invocations == 0 {
            0.0
        } else {
            c.errors as f64 / c.invocations as f64
        }
    }
}

/// The figures of a verdict, for the summary and the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// The canary's counts as used (errors clamped to invocations).
    pub canary: Counts,
    /// The baseline's counts as used.
    pub baseline: Counts,
    /// The canary's error rate, in %.
    pub canary_rate_pct: f64,
    /// The baseline's error rate, in %.
    pub baseline_rate_pct: f64,
    /// Canary rate − baseline rate, in percentage points.
    pub difference_pp: f64,
    /// `maxErrorRateIncrease`, in percentage points.
    pub allowed_pp: f64,
    /// `confidence`.
    pub confidence: f64,
    /// The standard error of the difference, in percentage points.
    pub standard_error_pp: f64,
    /// The test statistic; `None` when the standard error is 0 and the
    /// observed difference decided.
    pub z: Option<f64>,
    /// The quantile `z` had to exceed to fail.
    pub z_needed: f64,
}

/// What the comparison says.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A version has fewer than `minInvocations` calls in the window.
    WaitingForData { message: String },
    /// The canary is not shown worse than allowed.
    Pass { message: String, figures: Figures },
    /// The canary is worse than its baseline by more than allowed, at the
    /// stated confidence: the release rolls back.
    Fail { message: String, figures: Figures },
}

impl Verdict {
    pub fn message(&self) -> &str {
        match self {
            Verdict::WaitingForData { message }
            | Verdict::Pass { message, .. }
            | Verdict::Fail { message, .. } => message,
        }
    }

    /// The figures of a pass or a fail.
    pub fn figures(&self) -> Option<&Figures> {
        match self {
            Verdict::WaitingForData { .. } => None,
            Verdict::Pass { figures, .. } | Verdict::Fail { figures, .. } => Some(figures),
        }
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Verdict::Fail { .. })
    }
}

/// Compares `canary_version` of `function` with its `baseline_version`
/// over the same window (see the module comment for the test). Versions
/// are Lambda's (`7`), shown as `v7`. `s` must have passed
/// [`AnalysisSettings::validate`].
pub fn verdict(
    function: &str,
    canary_version: &str,
    canary: Counts,
    baseline_version: &str,
    baseline: Counts,
    s: &AnalysisSettings,
) -> Verdict {
    debug_assert!(s.validate().is_ok(), "{:?}", s.validate());
    let canary = canary.clamped();
    let baseline = baseline.clamped();
    let cv = version_label(canary_version);
    let bv = version_label(baseline_version);

    let min = s.min_invocations;
    let lacking: Vec<String> = [(&cv, canary), (&bv, baseline)]
        .into_iter()
        .filter(|(_, c)| c.invocations < min)
        .map(|(v, c)| {
            format!(
                "{v}: {} of {} calls needed so far",
                thousands(c.invocations),
                thousands(min)
            )
        })
        .collect();
    if !lacking.is_empty() {
        return Verdict::WaitingForData {
            message: format!("{function} {}", lacking.join("; ")),
        };
    }

    let (nc, nb) = (canary.invocations as f64, baseline.invocations as f64);
    let (pc, pb) = (canary.rate(), baseline.rate());
    let delta = s.max_error_rate_increase_pp / 100.0;
    let difference = pc - pb;
    let se = (pc * (1.0 - pc) / nc + pb * (1.0 - pb) / nb).sqrt();
    let z_needed = normal_quantile(s.confidence);
    let (z, fail) = if se > 0.0 {
        let z = (difference - delta) / se;
        (Some(z), z > z_needed)
    } else {
        (None, difference > delta)
    };
    let figures = Figures {
        canary,
        baseline,
        canary_rate_pct: pc * 100.0,
        baseline_rate_pct: pb * 100.0,
        difference_pp: difference * 100.0,
        allowed_pp: s.max_error_rate_increase_pp,
        confidence: s.confidence,
        standard_error_pp: se * 100.0,
        z,
        z_needed,
    };

    let allowed = trimmed(figures.allowed_pp, 1, 3);
    let diff = difference_text(figures.difference_pp, figures.allowed_pp);
    let conf = trimmed(s.confidence * 100.0, 0, 4);
    let head = format!(
        "{function} {cv}: {} % errors in {} calls vs {bv} {} % in {}",
        one_decimal(figures.canary_rate_pct),
        thousands(canary.invocations),
        one_decimal(figures.baseline_rate_pct),
        thousands(baseline.invocations),
    );
    if fail {
        Verdict::Fail {
            message: format!("{head}; {diff} pp > {allowed} pp at {conf} %"),
            figures,
        }
    } else if figures.difference_pp > figures.allowed_pp {
        // Above the allowance, but not by enough to say so at this confidence.
        let z = z.unwrap_or(0.0);
        Verdict::Pass {
            message: format!(
                "{head}; {diff} pp, not significantly above {allowed} pp at {conf} % \
                 (z {z:.2} ≤ {z_needed:.2})"
            ),
            figures,
        }
    } else {
        Verdict::Pass {
            message: format!("{head}; {diff} pp, within {allowed} pp at {conf} %"),
            figures,
        }
    }
}

/// The standard normal quantile (inverse CDF) of `p`, by Acklam's rational
/// approximation (relative error below 1.15e-9; see the module comment):
/// `normal_quantile(0.99)` ≈ 2.326348. −∞ at 0, +∞ at 1, NaN outside
/// [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    // Acklam's coefficients as published (A[3] without its trailing zero).
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    const P_LOW: f64 = 0.02425;

    // The tails: q = sqrt(−2 ln p), x = C(q) / D(q).
    let tail = |p: f64| {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        f64::NAN
    } else if p == 0.0 {
        f64::NEG_INFINITY
    } else if p == 1.0 {
        f64::INFINITY
    } else if p < P_LOW {
        tail(p)
    } else if p > 1.0 - P_LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// `v7` for Lambda's version `7`; anything not a number (`$LATEST`) as is.
fn version_label(version: &str) -> String {
    if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
        format!("v{version}")
    } else {
        version.to_string()
    }
}

/// `10,877`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `3.1` (never `-0.0`).
fn one_decimal(x: f64) -> String {
    let s = format!("{x:.1}");
    if s == "-0.0" { "0.0".to_string() } else { s }
}

/// `x` with at least `min` and at most `max` decimals, trailing zeros
/// dropped: `99`, `99.9`, `1.0`, `0.25`.
fn trimmed(x: f64, min: usize, max: usize) -> String {
    let s = format!("{x:.max$}");
    let Some(dot) = s.find('.') else {
        return s;
    };
    let keep = s.trim_end_matches('0').len().max(dot + 1 + min);
    let s = &s[..keep];
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// The signed difference to one decimal (`+2.7`, `-0.3`, `+0.0`); when it
/// exceeds the allowance but one decimal would not show it (`+1.0` over
/// 1.0), with as many more decimals (up to 3) as it takes.
fn difference_text(diff_pp: f64, allowed_pp: f64) -> String {
    let mut text = String::new();
    for decimals in 1..=3 {
        text = format!("{diff_pp:+.decimals$}");
        let shown: f64 = text.parse().unwrap_or(diff_pp);
        if diff_pp <= allowed_pp || shown > allowed_pp {
            break;
        }
    }
    if text.starts_with('-') && text[1..].bytes().all(|b| b == b'0' || b == b'.') {
        text.replace_range(..1, "+");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "collect-quote-price";

    fn counts(invocations: u64, errors: u64) -> Counts {
        Counts {
            invocations,
            errors,
        }
    }

    fn settings() -> AnalysisSettings {
        AnalysisSettings::default()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        for (p, want) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.99, 2.326_347_874),
            (0.999, 3.090_232_306),
            (0.9999, 3.719_016_485),
            (0.95, 1.644_853_627),
            (0.8, 0.841_621_234),
            (0.01, -2.326_347_874),
            (0.001, -3.090_232_306),
        ] {
            let got = normal_quantile(p);
            assert!(close(got, want, 1e-6), "Φ⁻¹({p}) = {got}, want {want}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
        assert!(normal_quantile(-0.1).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn normal_quantile_is_symmetric_and_continuous_at_its_region_edges() {
        for p in [0.001, 0.02425, 0.1, 0.3, 0.49] {
            assert!(close(normal_quantile(p), -normal_quantile(1.0 - p), 1e-8));
        }
        // Acklam's lower/central boundary: the two formulas meet.
        let edge = 0.02425;
        assert!(close(
            normal_quantile(edge - 1e-12),
            normal_quantile(edge + 1e-12),
            1e-8
        ));
    }

    #[test]
    fn the_issues_example_fails_with_its_message() {
        // v7: 37 errors of 1,204 calls; v6: 44 of 10,877. At 1.0 pp, 99 %:
        //   p̂c = 37/1204  = 0.0307309
        //   p̂b = 44/10877 = 0.0040452
        //   difference    = 0.0266857 (+2.7 pp)
        //   SE = sqrt(0.0307309 × 0.9692691 / 1204 + 0.0040452 × 0.9959548 / 10877)
        //      = sqrt(2.47396e-5 + 3.7040e-7) = sqrt(2.51100e-5) = 0.0050110
        //   z  = (0.0266857 − 0.01) / 0.0050110 = 3.3298 > 2.3263 → Fail
        let v = verdict(
            F,
            "7",
            counts(1_204, 37),
            "6",
            counts(10_877, 44),
            &settings(),
        );
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 3.1 % errors in 1,204 calls vs v6 0.4 % in 10,877; \
             +2.7 pp > 1.0 pp at 99 %"
        );
        let Verdict::Fail { figures, .. } = v else {
            panic!("{v:?}");
        };
        assert!(close(figures.z.unwrap(), 3.329_813, 1e-5), "{figures:?}");
        assert!(close(figures.z_needed, 2.326_348, 1e-6));
        assert!(close(figures.canary_rate_pct, 3.073_090, 1e-5));
        assert!(close(figures.baseline_rate_pct, 0.404_523, 1e-5));
        assert!(close(figures.difference_pp, 2.668_566, 1e-5));
        assert!(close(figures.standard_error_pp, 0.501_099, 1e-5));
        assert_eq!(figures.canary, counts(1_204, 37));
        assert_eq!(figures.baseline, counts(10_877, 44));
    }

    #[test]
    fn a_healthy_canary_passes() {
        // 6/1204 = 0.49834 %, 44/10877 = 0.40452 %: +0.0938 pp;
        // SE = sqrt(4.11840e-6 + 3.7040e-7) = 0.0021187;
        // z = (0.000938 − 0.01) / 0.0021187 = −4.2771.
        let v = verdict(
            F,
            "7",
            counts(1_204, 6),
            "6",
            counts(10_877, 44),
            &settings(),
        );
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 0.5 % errors in 1,204 calls vs v6 0.4 % in 10,877; \
             +0.1 pp, within 1.0 pp at 99 %"
        );
        let Verdict::Pass { figures, .. } = v else {
            panic!("{v:?}");
        };
        assert!(close(figures.z.unwrap(), -4.277_119, 1e-5));
    }

    #[test]
    fn a_subtle_regression_fails_once_both_versions_have_enough_calls() {
        // A 10 % canary: v7 fails 3 % of its calls, v6 0.5 %. The function
        // as a whole fails (30 + 45) / 10,000 = 0.75 % of its calls, under
        // a whole-function alarm at 1 %.
        let s = settings();
        // Early in the step: v7 has 120 calls, fewer than 200.
        let early = verdict(F, "7", counts(120, 4), "6", counts(1_080, 5), &s);
        assert_eq!(
            early,
            Verdict::WaitingForData {
                message: "collect-quote-price v7: 120 of 200 calls needed so far".into()
            }
        );
        // Later: 30/1000 vs 45/9000.
        //   SE = sqrt(0.03 × 0.97 / 1000 + 0.005 × 0.995 / 9000)
        //      = sqrt(2.91e-5 + 5.5278e-7) = 0.0054454
        //   z  = (0.025 − 0.01) / 0.0054454 = 2.7546 > 2.3263 → Fail
        let later = verdict(F, "7", counts(1_000, 30), "6", counts(9_000, 45), &s);
        assert_eq!(
            later.message(),
            "collect-quote-price v7: 3.0 % errors in 1,000 calls vs v6 0.5 % in 9,000; \
             +2.5 pp > 1.0 pp at 99 %"
        );
        assert!(later.is_fail());
        assert!(close(later.figures().unwrap().z.unwrap(), 2.754_600, 1e-5));
    }

    #[test]
    fn the_same_rates_on_few_calls_pass() {
        // 6/200 vs 1/200: +2.5 pp, but
        //   SE = sqrt(0.03 × 0.97 / 200 + 0.005 × 0.995 / 200) = 0.0130528
        //   z  = (0.025 − 0.01) / 0.0130528 = 1.1492 ≤ 2.3263 → Pass
        let v = verdict(F, "7", counts(200, 6), "6", counts(200, 1), &settings());
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 3.0 % errors in 200 calls vs v6 0.5 % in 200; \
             +2.5 pp, not significantly above 1.0 pp at 99 % (z 1.15 ≤ 2.33)"
        );
        assert!(!v.is_fail());
        assert!(close(v.figures().unwrap().z.unwrap(), 1.149_181, 1e-5));
    }

    #[test]
    fn a_lower_confidence_fails_what_a_higher_one_passes() {
        // 20/1000 vs 5/9000: SE = sqrt(1.96e-5 + 6.1694e-8) = 0.0044342,
        // z = (0.0194444 − 0.01) / 0.0044342 = 2.1299: above 1.6449 (95 %),
        // below 2.3263 (99 %).
        let (c, b) = (counts(1_000, 20), counts(9_000, 5));
        let at99 = verdict(F, "7", c, "6", b, &settings());
        assert!(!at99.is_fail(), "{at99:?}");
        let at95 = AnalysisSettings {
            confidence: 0.95,
            ..settings()
        };
        let v = verdict(F, "7", c, "6", b, &at95);
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 2.0 % errors in 1,000 calls vs v6 0.1 % in 9,000; \
             +1.9 pp > 1.0 pp at 95 %"
        );
        assert!(close(v.figures().unwrap().z.unwrap(), 2.129_933, 1e-5));
    }

    #[test]
    fn waiting_names_each_version_that_lacks_calls() {
        let s = settings();
        let v = verdict(F, "7", counts(57, 0), "6", counts(10_877, 44), &s);
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 57 of 200 calls needed so far"
        );
        let v = verdict(F, "7", counts(1_204, 37), "6", counts(199, 0), &s);
        assert_eq!(
            v.message(),
            "collect-quote-price v6: 199 of 200 calls needed so far"
        );
        let v = verdict(F, "7", counts(0, 0), "6", counts(120, 1), &s);
        assert_eq!(
            v,
            Verdict::WaitingForData {
                message: "collect-quote-price v7: 0 of 200 calls needed so far; \
                          v6: 120 of 200 calls needed so far"
                    .into()
            }
        );
        assert_eq!(v.figures(), None);
        // Exactly the minimum is enough.
        let v = verdict(F, "7", counts(200, 0), "6", counts(200, 0), &s);
        assert!(matches!(v, Verdict::Pass { .. }), "{v:?}");
        // Many errors do not hurry a verdict.
        let v = verdict(F, "7", counts(150, 150), "6", counts(5_000, 0), &s);
        assert!(matches!(v, Verdict::WaitingForData { .. }), "{v:?}");
    }

    #[test]
    fn both_without_errors_pass() {
        let v = verdict(
            F,
            "7",
            counts(5_000, 0),
            "6",
            counts(45_000, 0),
            &settings(),
        );
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 0.0 % errors in 5,000 calls vs v6 0.0 % in 45,000; \
             +0.0 pp, within 1.0 pp at 99 %"
        );
        let f = v.figures().unwrap();
        assert_eq!(f.z, None);
        assert_eq!(f.standard_error_pp, 0.0);
        assert!(!v.is_fail());
    }

    #[test]
    fn a_zero_standard_error_is_decided_on_the_observed_difference() {
        let s = settings();
        // Canary fails every call, baseline none: +100 pp > 1 pp.
        let v = verdict(F, "7", counts(300, 300), "6", counts(3_000, 0), &s);
        assert_eq!(
            v.message(),
            "collect-quote-price v7: 100.0 % errors in 300 calls vs v6 0.0 % in 3,000; \
             +100.0 pp > 1.0 pp at 99 %"
        );
        assert_eq!(v.figures().unwrap().z, None);
        // Canary none, baseline every call: −100 pp.
        let v = verdict(F, "7", counts(300, 0), "6", counts(3_000, 3_000), &s);
        assert!(matches!(v, Verdict::Pass { .. }), "{v:?}");
        assert!(v.message().contains("-100.0 pp, within 1.0 pp"), "{v:?}");
        // Both fail every call: the canary is no worse.
        let v = verdict(F, "7", counts(300, 300), "6", counts(3_000, 3_000), &s);
        assert!(matches!(v, Verdict::Pass { .. }), "{v:?}");
        // An allowance of 100 pp allows even that.
        let all = AnalysisSettings {
            max_error_rate_increase_pp: 100.0,
            ..s
        };
        let v = verdict(F, "7", counts(300, 300), "6", counts(3_000, 0), &all);
        assert!(matches!(v, Verdict::Pass { .. }), "{v:?}");
        // An allowance of 0 fails any observed increase with SE 0 ...
        let none = AnalysisSettings {
            max_error_rate_increase_pp: 0.0,
            ..s
        };
        let v = verdict(F, "7", counts(300, 300), "6", counts(3_000, 0), &none);
        assert!(v.is_fail(), "{v:?}");
        // ... and passes an equal rate.
        let v = verdict(F, "7", counts(300, 0), "6", counts(3_000, 0), &none);
        assert!(!v.is_fail(), "{v:?}");
    }

    #[test]
    fn one_side_with_no_variance_still_tests_the_other() {
        // Canary at 100 % against a baseline at 2 %: SE from the baseline
        // only, sqrt(0.02 × 0.98 / 1000) = 0.0044272; z = (0.98 − 0.01) /
        // 0.0044272 = 219.1.
        let v = verdict(
            F,
            "7",
            counts(200, 200),
            "6",
            counts(1_000, 20),
            &settings(),
        );
        assert!(v.is_fail());
        assert!(close(v.figures().unwrap().z.unwrap(), 219.100_666, 1e-3));
        // Canary without errors against a baseline at 2 %: passes.
        let v = verdict(F, "7", counts(200, 0), "6", counts(1_000, 20), &settings());
        assert!(!v.is_fail());
    }

    #[test]
    fn more_errors_than_calls_count_as_every_call_failing() {
        let v = verdict(F, "7", counts(300, 450), "6", counts(3_000, 0), &settings());
        let f = v.figures().unwrap();
        assert_eq!(f.canary, counts(300, 300));
        assert_eq!(f.canary_rate_pct, 100.0);
        assert!(v.is_fail());
        assert_eq!(counts(0, 5).clamped(), counts(0, 0));
        assert_eq!(counts(0, 5).rate(), 0.0);
    }

    #[test]
    fn a_difference_just_over_the_allowance_shows_enough_decimals() {
        // 104/10,000 vs 0/10,000: +1.04 pp; SE = sqrt(0.0104 × 0.9896 /
        // 10000) = 0.0010145, z = 0.0004 / 0.0010145 = 0.39: a pass above
        // the allowance, shown as +1.04, not +1.0.
        let v = verdict(
            F,
            "7",
            counts(10_000, 104),
            "6",
            counts(10_000, 0),
            &settings(),
        );
        assert!(
            v.message()
                .ends_with("+1.04 pp, not significantly above 1.0 pp at 99 % (z 0.39 ≤ 2.33)"),
            "{v:?}"
        );
    }

    #[test]
    fn formatting_helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_877), "10,877");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(trimmed(0.99 * 100.0, 0, 4), "99");
        assert_eq!(trimmed(0.999 * 100.0, 0, 4), "99.9");
        assert_eq!(trimmed(0.95 * 100.0, 0, 4), "95");
        assert_eq!(trimmed(0.9995 * 100.0, 0, 4), "99.95");
        assert_eq!(trimmed(1.0, 1, 3), "1.0");
        assert_eq!(trimmed(0.25, 1, 3), "0.25");
        assert_eq!(trimmed(2.5, 1, 3), "2.5");
        assert_eq!(trimmed(100.0, 1, 3), "100.0");
        assert_eq!(one_decimal(3.073), "3.1");
        assert_eq!(one_decimal(-0.01), "0.0");
        assert_eq!(difference_text(2.6686, 1.0), "+2.7");
        assert_eq!(difference_text(-0.3, 1.0), "-0.3");
        assert_eq!(difference_text(-0.01, 1.0), "+0.0");
        assert_eq!(difference_text(1.04, 1.0), "+1.04");
        assert_eq!(difference_text(1.0004, 1.0), "+1.000");
        assert_eq!(version_label("7"), "v7");
        assert_eq!(version_label("$LATEST"), "$LATEST");
    }

    #[test]
    fn confidence_is_shown_without_needless_decimals() {
        let s = AnalysisSettings {
            confidence: 0.999,
            ..settings()
        };
        let v = verdict(F, "7", counts(1_204, 37), "6", counts(10_877, 44), &s);
        // z = 3.3298 > 3.0902 (99.9 %).
        assert!(v.message().ends_with("+2.7 pp > 1.0 pp at 99.9 %"), "{v:?}");
        let s = AnalysisSettings {
            max_error_rate_increase_pp: 0.25,
            ..settings()
        };
        let v = verdict(F, "7", counts(1_204, 6), "6", counts(10_877, 44), &s);
        assert!(
            v.message().ends_with("+0.1 pp, within 0.25 pp at 99 %"),
            "{v:?}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        let d = AnalysisSettings::default();
        assert_eq!(
            d,
            AnalysisSettings {
                max_error_rate_increase_pp: 1.0,
                min_invocations: 200,
                confidence: 0.99,
            }
        );
        assert_eq!(d.validate(), Ok(()));
        for ok in [
            AnalysisSettings {
                max_error_rate_increase_pp: 0.0,
                ..d
            },
            AnalysisSettings {
                max_error_rate_increase_pp: 100.0,
                ..d
            },
            AnalysisSettings {
                min_invocations: 1,
                ..d
            },
            AnalysisSettings {
                confidence: 0.999_999,
                ..d
            },
        ] {
            assert_eq!(ok.validate(), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn validation_names_the_field_and_the_fix() {
        let d = AnalysisSettings::default();
        let err = |s: AnalysisSettings| s.validate().unwrap_err();

        for bad in [0.5, 1.0, 0.3, 1.5, f64::NAN, f64::INFINITY] {
            let e = err(AnalysisSettings {
                confidence: bad,
                ..d
            });
            assert!(e.starts_with("`confidence` is "), "{e}");
            assert!(e.contains("above 0.5 and below 1"), "{e}");
        }
        assert_eq!(
            err(AnalysisSettings {
                confidence: 1.0,
                ..d
            }),
            "`confidence` is 1: use a probability above 0.5 and below 1 (e.g. 0.99 for 99 %)"
        );

        for bad in [-0.1, 100.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = err(AnalysisSettings {
                max_error_rate_increase_pp: bad,
                ..d
            });
            assert!(e.starts_with("`maxErrorRateIncrease` is "), "{e}");
            assert!(e.contains("percentage points from 0 to 100"), "{e}");
        }

        let e = err(AnalysisSettings {
            min_invocations: 0,
            ..d
        });
        assert!(
            e.starts_with("`minInvocations` is 0: use at least 1"),
            "{e}"
        );

        // Every problem at once.
        let e = err(AnalysisSettings {
            max_error_rate_increase_pp: -1.0,
            min_invocations: 0,
            confidence: 2.0,
        });
        assert_eq!(e.matches("; `").count(), 2, "{e}");
        for field in ["maxErrorRateIncrease", "minInvocations", "confidence"] {
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
    }

    #[test]
    fn settings_round_trip_in_camel_case() {
        let s = AnalysisSettings {
            max_error_rate_increase_pp: 2.5,
            min_invocations: 500,
            confidence: 0.999,
        };
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "maxErrorRateIncrease": 2.5,
                "minInvocations": 500,
                "confidence": 0.999
            })
        );
        let back: AnalysisSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);

        let issue: AnalysisSettings = serde_json::from_str(
            r#"{"maxErrorRateIncrease": 1.0, "minInvocations": 200, "confidence": 0.99}"#,
        )
        .unwrap();
        assert_eq!(issue, AnalysisSettings::default());
    }

    #[test]
    fn settings_refuse_an_unknown_field() {
        let e = serde_json::from_str::<AnalysisSettings>(
            r#"{"maxErrorRateIncrease": 1.0, "minInvocations": 200, "confidence": 0.99, "confidenceLevel": 0.95}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `confidenceLevel`"), "{e}");
        // The Rust names are not the manifest's.
        let e = serde_json::from_str::<AnalysisSettings>(
            r#"{"maxErrorRateIncreasePp": 1.0, "minInvocations": 200, "confidence": 0.99}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `maxErrorRateIncreasePp`"), "{e}");
    }

    #[test]
    fn figures_serialize_for_the_ledger() {
        let v = verdict(
            F,
            "7",
            counts(1_204, 37),
            "6",
            counts(10_877, 44),
            &settings(),
        );
        let json = serde_json::to_value(v.figures().unwrap()).unwrap();
        assert_eq!(
            json["canary"],
            serde_json::json!({"invocations": 1204, "errors": 37})
        );
        assert_eq!(json["allowedPp"], serde_json::json!(1.0));
        assert!(json["z"].as_f64().unwrap() > 3.3);
        assert!(json["zNeeded"].as_f64().is_some());
        let back: Figures = serde_json::from_value(json).unwrap();
        assert_eq!(&back, v.figures().unwrap());
    }
}
