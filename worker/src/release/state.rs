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
    pub previous: Option<u32>,
    /// Version published by this release.
    pub published: u32,
}

/// The engine's state for one action execution.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReleaseState {
    #[serde(rename = "p", default)]
    pub phase: Phase,
    /// Changed functions and their versions, once published; encoded as one
    /// string `index.previous.published;…` (`-` for no previous version).
    #[serde(
        rename = "f",
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser_records",
        deserialize_with = "de_records"
    )]
    pub functions: Vec<FunctionRecord>,
    /// Within one job only.
    #[serde(skip)]
    pub scratch: Scratch,
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
}

fn ser_records<S: Serializer>(v: &[FunctionRecord], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::new();
    for (i, r) in v.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(&r.index.to_string());
        out.push('.');
        match r.previous {
            Some(p) => out.push_str(&p.to_string()),
            None => out.push('-'),
        }
        out.push('.');
        out.push_str(&r.published.to_string());
    }
    s.serialize_str(&out)
}

fn de_records<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FunctionRecord>, D::Error> {
    let s = String::deserialize(d)?;
    parse_records(&s).map_err(de::Error::custom)
}

/// Parses the `index.previous.published;…` encoding.
pub fn parse_records(s: &str) -> Result<Vec<FunctionRecord>, RecordError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(';')
        .map(|item| {
            let mut parts = item.split('.');
            let (Some(i), Some(p), Some(n), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(RecordError(item.to_string()));
            };
            let bad = || RecordError(item.to_string());
            Ok(FunctionRecord {
                index: i.parse().map_err(|_| bad())?,
                previous: if p == "-" {
                    None
                } else {
                    Some(p.parse().map_err(|_| bad())?)
                },
                published: n.parse().map_err(|_| bad())?,
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
                .map(|i| FunctionRecord {
                    index: i,
                    previous: if i % 7 == 0 {
                        None
                    } else {
                        Some(99_990 + u32::from(i))
                    },
                    published: 100_000 + u32::from(i),
                })
                .collect(),
            scratch: Scratch::default(),
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
        let r = parse_records("0.-.1;12.41.42").unwrap();
        assert_eq!(
            r,
            [
                FunctionRecord {
                    index: 0,
                    previous: None,
                    published: 1
                },
                FunctionRecord {
                    index: 12,
                    previous: Some(41),
                    published: 42
                }
            ]
        );
        assert!(parse_records("1.2").is_err());
        assert!(parse_records("a.1.2").is_err());
        assert!(parse_records("1.2.3.4").is_err());
    }
}
