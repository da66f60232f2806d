//! The release's [`ReleaseState`]: what travels in the continuation token
//! between jobs of one action execution. It holds only what cannot be
//! re-read from AWS — the phase and, once versions are published, one
//! compact record per changed function (its index in the manifest, the
//! version its alias served before, the version published) — and stays far
//! under CodePipeline's 2048-character token limit for 60+ functions.
//! Versions already published are re-found in Lambda (ListVersionsByFunction:
//! same CodeSha256, description naming the pipeline execution), so a lost
//! record only costs calls, never a duplicate.
//!
//! Also the per-job scratch that `decide` keeps between its steps inside one
//! job (`#[serde(skip)]`, never in a token): after a hand-back the next job
//! starts from the artifact again. Pure: no I/O, no clock.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::plan::{Plan, PreparedRelease};
use crate::canary::{PreflightReport, PreflightState, ShiftState};
use crate::engine::Decision;

/// Where a release stands (what a new job of the same action execution must
/// know before it looks at AWS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Nothing mutated yet.
    #[default]
    #[serde(rename = "s")]
    Start,
    /// Code updates/publications may have begun: reuse what this release
    /// already published.
    #[serde(rename = "p")]
    Publishing,
    /// Every changed function has its published version (`functions`).
    #[serde(rename = "d")]
    Published,
}

/// One changed function of the release, as recorded after publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionRecord {
    /// Position in the release manifest (the order `manifest::load` returns).
    pub index: u16,
    /// Version the alias served before the release (`None`: no alias yet).
    /// Meaningless when `appspec` says it was dropped.
    pub previous: Option<u32>,
    /// Version published by this release. Meaningless when `appspec` is
    /// [`InAppSpec::Both`].
    pub published: u32,
    /// Which versions were dropped from the token because the function's
    /// CodeDeploy deployment records them in its AppSpec.
    pub appspec: InAppSpec,
}

/// What of a [`FunctionRecord`] is only in its deployment's AppSpec
/// (`CurrentVersion`, `TargetVersion`), to keep 60+ functions in a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InAppSpec {
    /// Both versions are recorded here.
    #[default]
    No,
    /// The deployment exists: the previous version is its `CurrentVersion`.
    Previous,
    /// Rolling back: both versions are the deployment's (the published one
    /// is no longer needed for output variables).
    Both,
}

impl FunctionRecord {
    /// A record with both versions.
    pub fn new(index: u16, previous: Option<u32>, published: u32) -> Self {
        FunctionRecord {
            index,
            previous,
            published,
            appspec: InAppSpec::No,
        }
    }

    /// The published version, if recorded here.
    pub fn published(&self) -> Option<u32> {
        (self.appspec != InAppSpec::Both).then_some(self.published)
    }
}

/// The engine's state for one action execution.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReleaseState {
    #[serde(rename = "p", default)]
    pub phase: Phase,
    /// Changed functions and their versions, once published; encoded as one
    /// string of `[index=]previous.published` items joined by `;` (index
    /// only when not the previous item's + 1; previous `-` = no alias, `*` =
    /// in the deployment's AppSpec; published `*` = in the AppSpec).
    #[serde(
        rename = "f",
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser_records",
        deserialize_with = "de_records"
    )]
    pub functions: Vec<FunctionRecord>,
    /// The canary pre-flight's state (a foreign deployment being waited for).
    #[serde(rename = "w", default, skip_serializing_if = "preflight_is_new")]
    pub preflight: PreflightState,
    /// The canary shift's state (one slot per changed function, rollback).
    #[serde(rename = "s", default, skip_serializing_if = "shift_is_new")]
    pub shift: ShiftState,
    /// Within one job only.
    #[serde(skip)]
    pub scratch: Scratch,
}

fn preflight_is_new(p: &PreflightState) -> bool {
    p.foreign_since.is_none()
}

fn shift_is_new(s: &ShiftState) -> bool {
    s.slots().is_empty() && !s.is_rolling_back()
}

/// What `decide` remembers between the steps of one job.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The artifact has been fetched and prepared (a per-job workspace exists).
    pub prepared: Option<PreparedRelease>,
    /// The validated plan.
    pub plan: Option<Plan>,
    /// Published versions (function name → version), in plan order.
    pub published: Vec<(String, String)>,
    /// Whether the output artifact has been written.
    pub output_written: bool,
    /// The decision to return once the workspace is discarded.
    pub pending: Option<Decision<super::Action>>,
    /// Whether the workspace was discarded.
    pub discarded: bool,
    /// The canary pre-flight passed in this job (what it found).
    pub preflight: Option<PreflightReport>,
    /// When this job began watching the shift (`now` as `decide` got it):
    /// the job is held with `Wait`s until `hold_job`, then handed back.
    pub watching_since: Option<std::time::SystemTime>,
}

fn ser_records<S: Serializer>(v: &[FunctionRecord], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode_records(v))
}

fn de_records<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FunctionRecord>, D::Error> {
    let s = String::deserialize(d)?;
    parse_records(&s).map_err(de::Error::custom)
}

/// The token encoding of `records` (see [`ReleaseState::functions`]).
pub fn encode_records(v: &[FunctionRecord]) -> String {
    let mut out = String::new();
    let mut next_index = 0u32;
    for (i, r) in v.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        if u32::from(r.index) != next_index {
            out.push_str(&r.index.to_string());
            out.push('=');
        }
        next_index = u32::from(r.index) + 1;
        match (r.appspec, r.previous) {
            (InAppSpec::Previous | InAppSpec::Both, _) => out.push('*'),
            (InAppSpec::No, Some(p)) => out.push_str(&p.to_string()),
            (InAppSpec::No, None) => out.push('-'),
        }
        out.push('.');
        match r.appspec {
            InAppSpec::Both => out.push('*'),
            _ => out.push_str(&r.published.to_string()),
        }
    }
    out
}

/// Parses the records' token encoding (and the older `index.previous.published`).
pub fn parse_records(s: &str) -> Result<Vec<FunctionRecord>, RecordError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut next_index: u32 = 0;
    s.split(';')
        .map(|item| {
            let bad = || RecordError(item.to_string());
            let (index, rest) = match item.split_once('=') {
                Some((i, rest)) => (i.parse::<u16>().map_err(|_| bad())?, rest),
                None => {
                    let parts: Vec<&str> = item.split('.').collect();
                    if parts.len() == 3 {
                        // The first format: index.previous.published.
                        let index = parts[0].parse::<u16>().map_err(|_| bad())?;
                        (index, &item[parts[0].len() + 1..])
                    } else {
                        (u16::try_from(next_index).map_err(|_| bad())?, item)
                    }
                }
            };
            next_index = u32::from(index) + 1;
            let mut parts = rest.split('.');
            let (Some(p), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad());
            };
            let (previous, mut appspec) = match p {
                "-" => (None, InAppSpec::No),
                "*" => (None, InAppSpec::Previous),
                p => (Some(p.parse().map_err(|_| bad())?), InAppSpec::No),
            };
            let published = match n {
                "*" if appspec == InAppSpec::Previous => {
                    appspec = InAppSpec::Both;
                    0
                }
                n => n.parse().map_err(|_| bad())?,
            };
            Ok(FunctionRecord {
                index,
                previous,
                published,
                appspec,
            })
        })
        .collect()
}

/// A function record that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad function record `{}`", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{self, Envelope};

    fn env(state: ReleaseState) -> Envelope<ReleaseState> {
        Envelope {
            pipeline_execution_id: "2b0e8f3c-1c2d-4e5f-8a9b-0123456789ab".into(),
            continuations: 12,
            started_ms: 1_790_000_000_000,
            state,
        }
    }

    #[test]
    fn token_for_60_functions_fits_with_room_to_spare() {
        let state = ReleaseState {
            phase: Phase::Published,
            functions: (0..64)
                .map(|i| {
                    FunctionRecord::new(
                        i,
                        if i % 7 == 0 {
                            None
                        } else {
                            Some(99_990 + u32::from(i))
                        },
                        100_000 + u32::from(i),
                    )
                })
                .collect(),
            ..Default::default()
        };
        let t = token::encode(&env(state)).expect("fits");
        assert!(t.len() <= 1600, "{} characters", t.len());
        let back: Envelope<ReleaseState> = token::decode(&t).unwrap();
        assert_eq!(back.state.phase, Phase::Published);
        assert_eq!(back.state.functions.len(), 64);
        assert_eq!(back.state.functions[0].previous, None);
        assert_eq!(back.state.functions[1].previous, Some(99_991));
        assert_eq!(back.state.functions[63].published, 100_063);
    }

    #[test]
    fn fresh_state_is_tiny_and_scratch_never_travels() {
        let mut s = ReleaseState::default();
        s.scratch.published.push(("collect-a".into(), "7".into()));
        let t = token::encode(&env(s)).unwrap();
        assert!(t.len() < 200, "{t}");
        let back: Envelope<ReleaseState> = token::decode(&t).unwrap();
        assert_eq!(back.state.phase, Phase::Start);
        assert!(back.state.functions.is_empty());
        assert!(back.state.scratch.published.is_empty());
    }

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        // The first format (index.previous.published) still parses.
        let r = parse_records("0.-.1;12.41.42").unwrap();
        let want = [
            FunctionRecord::new(0, None, 1),
            FunctionRecord::new(12, Some(41), 42),
        ];
        assert_eq!(r, want);
        assert_eq!(encode_records(&want), "-.1;12=41.42");
        assert_eq!(parse_records("-.1;12=41.42").unwrap(), want);
        let mut dropped = want;
        dropped[0].appspec = InAppSpec::Previous;
        dropped[1].appspec = InAppSpec::Both;
        assert_eq!(encode_records(&dropped), "*.1;12=*.*");
        let back = parse_records("*.1;12=*.*").unwrap();
        assert_eq!(back[0].appspec, InAppSpec::Previous);
        assert_eq!(back[0].published(), Some(1));
        assert_eq!(back[1].appspec, InAppSpec::Both);
        assert_eq!(back[1].index, 12);
        assert_eq!(back[1].published(), None);
        assert!(parse_records("1.2.3.4").is_err());
        assert!(parse_records("a.1.2").is_err());
        assert!(parse_records("x=1.2").is_err());
        assert!(parse_records("1.*").is_err());
        assert!(parse_records("5").is_err());
    }
    /// The combined token of a 60-function release in its largest phases:
    /// every function recorded with 5-digit versions, every shift slot a
    /// deployment id, pre-flight's wait marker, and — rolling back — the
    /// cause at its maximum length.
    fn combined(rolling_back: bool) -> String {
        combined_with(rolling_back, true)
    }

    fn combined_with(rolling_back: bool, deployed: bool) -> String {
        let slots: String = if deployed {
            (0..60).map(|i| format!("A{i:02}BCDEFG")).collect()
        } else {
            "-".repeat(60)
        };
        let mut shift = serde_json::json!({ "f": "0123abcd", "d": slots, "k": true });
        if rolling_back {
            shift["r"] = serde_json::json!(true);
            shift["c"] = serde_json::json!("é".repeat(crate::canary::shift::CAUSE_MAX / 2));
        }
        let state = ReleaseState {
            phase: Phase::Published,
            functions: (0..60)
                .map(|i| FunctionRecord {
                    index: i,
                    previous: Some(99_900 + u32::from(i)),
                    published: 99_960 + u32::from(i),
                    // What decide keeps once every deployment exists.
                    appspec: if !deployed {
                        InAppSpec::No
                    } else if rolling_back {
                        InAppSpec::Both
                    } else {
                        InAppSpec::Previous
                    },
                })
                .collect(),
            preflight: serde_json::from_value(serde_json::json!({ "w": 1_790_000_000u64 }))
                .expect("pre-flight state"),
            shift: serde_json::from_value(shift).expect("shift state"),
            ..Default::default()
        };
        assert_eq!(state.shift.slots().len(), 60);
        assert_eq!(state.shift.is_rolling_back(), rolling_back);
        assert_eq!(
            state.shift.deployment_ids().len(),
            if deployed { 60 } else { 0 }
        );
        token::encode(&env(state)).expect("fits in 2048 characters")
    }

    #[test]
    fn token_with_canary_for_60_functions_fits_in_every_phase() {
        let published = combined_with(false, false);
        let shifting = combined(false);
        let rolling = combined(true);
        eprintln!(
            "60 functions: token {} chars published (waiting), {} shifting, {} rolling back (limit 2048)",
            published.len(),
            shifting.len(),
            rolling.len()
        );
        assert!(published.len() <= 2048, "{}", published.len());
        assert!(shifting.len() <= 2048, "{}", shifting.len());
        assert!(rolling.len() <= 2048, "{}", rolling.len());
        let back: Envelope<ReleaseState> = token::decode(&rolling).unwrap();
        assert_eq!(back.state.functions.len(), 60);
        assert_eq!(back.state.shift.slots().len(), 60);
        assert!(back.state.shift.is_rolling_back());
        assert_eq!(back.state.shift.deployment_ids()[59], "d-A59BCDEFG");
    }
}
