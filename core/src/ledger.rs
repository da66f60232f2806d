//! The release ledger's layout and the decisions made over it, pure: where
//! the ledger lives (`s3://BUCKET[/PREFIX]`), the keys of a release's
//! record and of the two indexes that list releases newest first without
//! reading every record, whether a whole release can be rolled back (and
//! how), and which Lambda versions can be pruned.
//!
//! Layout under the prefix:
//! - `releases/<release id>.json`: the record (see `release::record`);
//! - `history/<inverted start ms>.<release id>`: an empty object per
//!   release; ListObjectsV2 returns keys in ascending order, and the
//!   inverted time (9 999 999 999 999 − ms since the epoch, 13 digits)
//!   makes that newest first;
//! - `pipelines/<pipeline>/<inverted start ms>.<release id>`: the same, per
//!   pipeline.
//!
//! Knows no S3 client and no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::release::record::{FunctionState, Outcome, ReleaseRecord};

/// The ledger's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

/// Largest value of the inverted start time.
const INVERT: u64 = 9_999_999_999_999;

impl Location {
    /// Parses `s3://BUCKET[/PREFIX]`; errors name what is wrong and the fix.
    pub fn parse(text: &str) -> Result<Location, String> {
        let t = text.trim();
        let Some(rest) = t.strip_prefix("s3://") else {
            return Err(format!(
                "the ledger `{t}` is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX"
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let ok_chars = bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        let ends_ok = bucket
            .bytes()
            .next()
            .zip(bucket.bytes().last())
            .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
        if !(3..=63).contains(&bucket.len()) || !ok_chars || !ends_ok || bucket.contains("..") {
            return Err(format!(
                "the ledger bucket `{bucket}` is not a valid S3 bucket name (3–63 characters of a-z, 0-9, `.` and `-`, starting and ending with a letter or digit): fix the bucket in s3://BUCKET[/PREFIX]"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(format!(
                "the ledger prefix `{prefix}` has a `.` or `..` segment: name a plain folder, e.g. s3://{bucket}/releases"
            ));
        }
        Ok(Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The full key of `relative` (a key of the layout above).
    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }

    /// `relative` from a full key under this prefix.
    pub fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(&self.prefix)?.strip_prefix('/')
        }
    }

    /// The ARN pattern the worker needs access to (for IAM messages).
    pub fn arn(&self) -> String {
        if self.prefix.is_empty() {
            format!("arn:aws:s3:::{}/*", self.bucket)
        } else {
            format!("arn:aws:s3:::{}/{}/*", self.bucket, self.prefix)
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The record of release `release_id` (relative key).
pub fn record_key(release_id: &str) -> String {
    format!("releases/{release_id}.json")
}

/// The release id of a record key, if it is one.
pub fn release_of_record_key(relative: &str) -> Option<&str> {
    relative.strip_prefix("releases/")?.strip_suffix(".json")
}

/// The history prefix (all pipelines) or one pipeline's (relative).
pub fn index_prefix(pipeline: Option<&str>) -> String {
    match pipeline {
        None => "history/".to_string(),
        Some(p) => format!("pipelines/{p}/"),
    }
}

/// The two index keys of a release started at `started_ms` (relative).
pub fn index_keys(release_id: &str, pipeline: &str, started_ms: u64) -> [String; 2] {
    let inv = INVERT.saturating_sub(started_ms);
    [
        format!("history/{inv:013}.{release_id}"),
        format!("pipelines/{pipeline}/{inv:013}.{release_id}"),
    ]
}

/// `(started ms, release id)` of an index key (relative), if it is one.
pub fn parse_index_key(relative: &str) -> Option<(u64, String)> {
    let name = relative.rsplit('/').next()?;
    let (inv, id) = name.split_once('.')?;
    if inv.len() != 13 || !inv.bytes().all(|b| b.is_ascii_digit()) || !id.starts_with("r-") {
        return None;
    }
    Some((INVERT - inv.parse::<u64>().ok()?, id.to_string()))
}

/// An alias as the rollback command reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasNow {
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights` (version, weight), if any.
    pub routing: Option<(String, f64)>,
    pub revision_id: Option<String>,
    /// The release that published the version it serves, when its
    /// description names one.
    pub published_by: Option<String>,
    /// The latest release in the ledger that put this function's alias on
    /// the version it serves (it may have reused a version another
    /// release published).
    pub moved_by: Option<String>,
}

/// One alias update of a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasUpdate {
    pub function: String,
    pub alias: String,
    /// The version to put the alias on.
    pub version: String,
    /// The version it serves now (to put it back if the rollback cannot finish).
    pub from: String,
    pub revision_id: Option<String>,
}

/// What rolling a release back comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackPlan {
    /// Nothing to change (already rolled back, or failed and rolled back
    /// when it failed); the text says why.
    Nothing(String),
    /// Refused: nothing may change. The text names every reason.
    Refused(String),
    /// Put these aliases back; `notes` are functions left as they are.
    Apply {
        updates: Vec<AliasUpdate>,
        notes: Vec<String>,
    },
}

/// Decides how to roll `record` back given each changed function's alias
/// now (`None`: the alias is gone). All or nothing: if any function no
/// longer serves the release's version, nothing changes and every such
/// function is named, with what its alias serves and, when known, which
/// release moved it.
pub fn plan_rollback(
    record: &ReleaseRecord,
    aliases: &BTreeMap<String, Option<AliasNow>>,
) -> RollbackPlan {
    let id = &record.release_id;
    match record.outcome {
        Outcome::InProgress => {
            return RollbackPlan::Refused(format!(
                "release {id} is still in progress (pipeline {}, execution {}): it rolls back by itself if it fails; to stop it, stop its pipeline execution first (aws codepipeline stop-pipeline-execution --pipeline-name {} --pipeline-execution-id {}), then roll it back once it has ended",
                record.pipeline, record.execution_id, record.pipeline, record.execution_id
            ));
        }
        Outcome::RolledBack => {
            return RollbackPlan::Nothing(format!(
                "release {id} is already rolled back{}; nothing changed",
                record
                    .rollback
                    .as_ref()
                    .map(|r| format!(" ({} at {})", r.reason, r.at))
                    .unwrap_or_default()
            ));
        }
        Outcome::Failed => {
            return RollbackPlan::Nothing(format!(
                "release {id} failed and was rolled back when it failed ({}); nothing changed",
                record.reason.as_deref().unwrap_or("no reason recorded")
            ));
        }
        Outcome::Succeeded => {}
    }
    let mut updates = Vec::new();
    let mut notes = Vec::new();
    let mut refusals = Vec::new();
    for f in &record.functions {
        let Some(version) = &f.version else {
            continue;
        };
        let Some(previous) = &f.previous_version else {
            notes.push(format!(
                "{}: the release created alias {} on version {version}; it has no previous version and is left as is",
                f.name, f.alias
            ));
            continue;
        };
        if f.state == FunctionState::AliasCreated {
            continue;
        }
        match aliases.get(&f.name).cloned().flatten() {
            None if f.code_only => refusals.push(format!(
                "{}: code only, and no published version holds the code $LATEST runs (changed outside any release)",
                f.name
            )),
            None => refusals.push(format!("{}: alias {} no longer exists", f.name, f.alias)),
            Some(a) if a.version == *previous && a.routing.is_none() => notes.push(if f.code_only {
                format!(
                    "{}: code only, already runs the code of the previous version {previous}",
                    f.name
                )
            } else {
                format!(
                    "{}: alias {} already serves the previous version {previous}",
                    f.name, f.alias
                )
            }),
            Some(a) if a.version == *version && a.routing.is_none() => {
                updates.push(AliasUpdate {
                    function: f.name.clone(),
                    alias: f.alias.clone(),
                    version: previous.clone(),
                    from: version.clone(),
                    revision_id: a.revision_id.clone(),
                });
            }
            Some(a) => {
                let serves = match &a.routing {
                    Some((v, w)) => format!(
                        "version {} with {:.0} % on version {v}",
                        a.version,
                        w * 100.0
                    ),
                    None => format!("version {}", a.version),
                };
                let by = match (&a.moved_by, &a.published_by) {
                    (Some(r), _) if r != id => format!(", moved there by release {r}"),
                    (_, Some(r)) if r != id => format!(", published by release {r}"),
                    _ => String::new(),
                };
                refusals.push(if f.code_only {
                    format!(
                        "{}: code only, runs the code of {serves}{by}, not this release's version {version}",
                        f.name
                    )
                } else {
                    format!(
                        "{}: alias {} serves {serves}{by}, not this release's version {version}",
                        f.name, f.alias
                    )
                });
            }
        }
    }
    if !refusals.is_empty() {
        return RollbackPlan::Refused(format!(
            "release {id} cannot be rolled back: {} of its functions no longer serve{} its version, so nothing was changed (roll back the later release first, or move these aliases yourself):\n- {}",
            refusals.len(),
            if refusals.len() == 1 { "s" } else { "" },
            refusals.join("\n- ")
        ));
    }
    if updates.is_empty() {
        return RollbackPlan::Nothing(format!(
            "release {id}: every function already serves its previous version; nothing changed"
        ));
    }
    RollbackPlan::Apply { updates, notes }
}

/// Lambda versions of one function, as prune sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionVersions {
    pub function: String,
    /// Published versions (numbers; `$LATEST` is never listed here).
    pub versions: Vec<String>,
    /// Versions an alias references (its version or its routing config),
    /// and the one holding the code `$LATEST` runs ([`latest_code_holder`]).
    pub referenced: BTreeSet<String>,
}

/// Of `(version, CodeSha256)` as ListVersionsByFunction lists them
/// (`$LATEST` among them), the newest published version holding the code
/// `$LATEST` runs. A code-only function (no alias) runs `$LATEST`: that
/// version is what its next release's rollback puts back, so pruning must
/// keep it as if an alias referenced it.
pub fn latest_code_holder(versions: &[(String, String)]) -> Option<String> {
    let latest = &versions.iter().find(|(v, _)| v == "$LATEST")?.1;
    versions
        .iter()
        .filter(|(_, sha)| sha == latest)
        .filter_map(|(v, _)| v.parse::<u64>().ok())
        .max()
        .map(|n| n.to_string())
}

/// Versions of `f` that may be deleted: not referenced by an alias, not
/// `protected` (the previous or new version of a recent release), never
/// `$LATEST`; oldest first.
pub fn prunable(f: &FunctionVersions, protected: &BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = f
        .versions
        .iter()
        .filter(|v| v.as_str() != "$LATEST" && v.parse::<u64>().is_ok())
        .filter(|v| !f.referenced.contains(*v) && !protected.contains(*v))
        .cloned()
        .collect();
    out.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    out.dedup();
    out
}

/// The newest of `records` (newest first) that put `function` on `version`
/// and did not end rolled back or failed.
pub fn moved_by(records: &[ReleaseRecord], function: &str, version: &str) -> Option<String> {
    records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Succeeded | Outcome::InProgress))
        .find(|r| {
            r.functions
                .iter()
                .any(|f| f.name == function && f.version.as_deref() == Some(version))
        })
        .map(|r| r.release_id.clone())
}

/// The versions `records` keep, per function (previous and new).
pub fn protected_versions(records: &[ReleaseRecord]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        for f in &r.functions {
            let e = out.entry(f.name.clone()).or_default();
            e.extend(f.previous_version.iter().cloned());
            e.extend(f.version.iter().cloned());
        }
        for u in &r.unchanged {
            out.entry(u.name.clone())
                .or_default()
                .insert(u.version.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::{
        ArtifactRef, FunctionEntry, Holder, Phase, RecordSettings, SCHEMA, ShiftFlags,
    };

    #[test]
    fn the_version_holding_latests_code_is_found_newest_first() {
        let v = |a: &str, b: &str| (a.to_string(), b.to_string());
        let list = [
            v("$LATEST", "B"),
            v("1", "A"),
            v("2", "B"),
            v("3", "C"),
            v("4", "B"),
        ];
        assert_eq!(latest_code_holder(&list).as_deref(), Some("4"));
        assert_eq!(latest_code_holder(&list[..2]), None);
        assert_eq!(latest_code_holder(&[]), None);
    }

    #[test]
    fn locations_parse_and_name_the_fix() {
        let l = Location::parse("s3://ledger-bucket/team/releases/").unwrap();
        assert_eq!(l.bucket, "ledger-bucket");
        assert_eq!(l.prefix, "team/releases");
        assert_eq!(
            l.key("releases/r-1.json"),
            "team/releases/releases/r-1.json"
        );
        assert_eq!(l.relative("team/releases/history/x"), Some("history/x"));
        assert_eq!(l.to_string(), "s3://ledger-bucket/team/releases");
        assert_eq!(l.arn(), "arn:aws:s3:::ledger-bucket/team/releases/*");
        let root = Location::parse("s3://abc").unwrap();
        assert_eq!(root.key("releases/r.json"), "releases/r.json");
        for (bad, needle) in [
            ("ledger-bucket", "not an S3 location"),
            ("s3://AB", "not a valid S3 bucket name"),
            ("s3://-abc", "not a valid S3 bucket name"),
            ("s3://a..b", "not a valid S3 bucket name"),
            ("s3://abc/../x", "`..` segment"),
        ] {
            let e = Location::parse(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn index_keys_sort_newest_first_and_parse_back() {
        let old = index_keys("r-00000000000000aa", "p", 1_700_000_000_000);
        let new = index_keys("r-00000000000000bb", "p", 1_800_000_000_000);
        assert!(new[0] < old[0]);
        assert!(new[1] < old[1]);
        assert!(new[1].starts_with("pipelines/p/"));
        assert_eq!(
            parse_index_key(&old[0]),
            Some((1_700_000_000_000, "r-00000000000000aa".to_string()))
        );
        assert_eq!(parse_index_key("history/123.r-1"), None);
        assert_eq!(release_of_record_key(&record_key("r-9")), Some("r-9"));
    }

    fn record(outcome: Outcome) -> ReleaseRecord {
        let f = |name: &str, prev: Option<&str>, v: &str, state| FunctionEntry {
            name: name.into(),
            alias: "live".into(),
            previous_version: prev.map(str::to_string),
            version: Some(v.into()),
            code_sha256: "S".into(),
            deployment_config: "AllAtOnce".into(),
            alarms: vec![],
            before_allow_traffic: None,
            after_allow_traffic: None,
            deployment_ids: vec![],
            state,
            code_only: false,
            step: None,
            stepping_since: None,
            analysis: None,
            verdict: None,
        };
        ReleaseRecord {
            schema: SCHEMA,
            release_id: "r-a".into(),
            pipeline: "p".into(),
            stage: "s".into(),
            action: "a".into(),
            execution_id: "e".into(),
            commit: None,
            artifact: ArtifactRef::default(),
            started_at: String::new(),
            updated_at: String::new(),
            ended_at: None,
            outcome,
            reason: None,
            phase: Phase::Done,
            attempt: 1,
            holder: Holder::default(),
            settings: RecordSettings::default(),
            functions: vec![
                f("fn-a", Some("1"), "2", FunctionState::Released),
                f("fn-b", Some("5"), "6", FunctionState::Released),
                f("fn-new", None, "1", FunctionState::AliasCreated),
            ],
            unchanged: vec![],
            shift: ShiftFlags::default(),
            foreign_wait_since: None,
            output_written: true,
            rollback: None,
            rolls_back_to: None,
        }
    }

    fn alias(v: &str, by: Option<&str>) -> Option<AliasNow> {
        Some(AliasNow {
            version: v.into(),
            routing: None,
            revision_id: Some(format!("rev-{v}")),
            published_by: by.map(str::to_string),
            moved_by: None,
        })
    }

    #[test]
    fn rollback_is_all_or_nothing_and_names_who_moved_an_alias() {
        let r = record(Outcome::Succeeded);
        let ok = BTreeMap::from([
            ("fn-a".to_string(), alias("2", Some("r-a"))),
            ("fn-b".to_string(), alias("6", Some("r-a"))),
        ]);
        let RollbackPlan::Apply { updates, notes } = plan_rollback(&r, &ok) else {
            panic!()
        };
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].version, "1");
        assert_eq!(updates[0].from, "2");
        assert_eq!(updates[0].revision_id.as_deref(), Some("rev-2"));
        assert!(notes[0].contains("fn-new") && notes[0].contains("no previous version"));
        let moved = BTreeMap::from([
            ("fn-a".to_string(), alias("2", Some("r-a"))),
            ("fn-b".to_string(), alias("7", Some("r-later"))),
        ]);
        let RollbackPlan::Refused(msg) = plan_rollback(&r, &moved) else {
            panic!()
        };
        assert!(
            msg.contains("fn-b: alias live serves version 7, published by release r-later"),
            "{msg}"
        );
        assert!(!msg.contains("fn-a:"), "{msg}");
        assert!(matches!(
            plan_rollback(&record(Outcome::RolledBack), &ok),
            RollbackPlan::Nothing(_)
        ));
        assert!(matches!(
            plan_rollback(&record(Outcome::Failed), &ok),
            RollbackPlan::Nothing(_)
        ));
        let RollbackPlan::Refused(msg) = plan_rollback(&record(Outcome::InProgress), &ok) else {
            panic!()
        };
        assert!(msg.contains("stop its pipeline execution first"), "{msg}");
        let back = BTreeMap::from([
            ("fn-a".to_string(), alias("1", None)),
            ("fn-b".to_string(), alias("5", None)),
        ]);
        assert!(matches!(plan_rollback(&r, &back), RollbackPlan::Nothing(_)));
    }

    /// A code-only entry (no alias) rolls back through the version holding
    /// the code `$LATEST` runs, in the same all-or-nothing plan.
    #[test]
    fn a_code_only_function_rolls_back_by_its_code() {
        let mut r = record(Outcome::Succeeded);
        r.functions[1].alias = String::new();
        r.functions[1].code_only = true;
        let now = BTreeMap::from([
            ("fn-a".to_string(), alias("2", Some("r-a"))),
            ("fn-b".to_string(), alias("6", Some("r-a"))),
        ]);
        let RollbackPlan::Apply { updates, .. } = plan_rollback(&r, &now) else {
            panic!()
        };
        assert_eq!(updates[1].alias, "");
        assert_eq!(
            (updates[1].from.as_str(), updates[1].version.as_str()),
            ("6", "5")
        );
        let changed = BTreeMap::from([
            ("fn-a".to_string(), alias("2", Some("r-a"))),
            ("fn-b".to_string(), alias("9", Some("r-later"))),
        ]);
        let RollbackPlan::Refused(msg) = plan_rollback(&r, &changed) else {
            panic!()
        };
        assert!(
            msg.contains(
                "fn-b: code only, runs the code of version 9, published by release r-later"
            ),
            "{msg}"
        );
        let lost = BTreeMap::from([
            ("fn-a".to_string(), alias("2", Some("r-a"))),
            ("fn-b".to_string(), None),
        ]);
        let RollbackPlan::Refused(msg) = plan_rollback(&r, &lost) else {
            panic!()
        };
        assert!(
            msg.contains("no published version holds the code $LATEST runs"),
            "{msg}"
        );
    }

    #[test]
    fn prune_keeps_referenced_protected_and_latest() {
        let f = FunctionVersions {
            function: "fn".into(),
            versions: ["$LATEST", "1", "2", "3", "10", "11"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            referenced: BTreeSet::from(["11".to_string(), "3".to_string()]),
        };
        let keep = BTreeSet::from(["10".to_string()]);
        assert_eq!(prunable(&f, &keep), ["1", "2"]);
        let p = protected_versions(&[record(Outcome::Succeeded)]);
        assert_eq!(
            p["fn-a"],
            BTreeSet::from(["1".to_string(), "2".to_string()])
        );
        assert_eq!(p["fn-new"], BTreeSet::from(["1".to_string()]));
    }
}
