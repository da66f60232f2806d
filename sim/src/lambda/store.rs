//! Lambda's state and rules: functions (`$LATEST`), their immutable
//! published versions and their aliases, per region. Every rule AWS enforces
//! on them lives here — RevisionId preconditions, the update-in-progress
//! conflict, "publish with nothing changed returns the last version", alias
//! routing limits — as plain methods that take the simulated `now`. It knows
//! nothing of HTTP or JSON.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use http::StatusCode;

use super::code::CodeInfo;
use super::names::{function_arn, qualified_arn};
use super::policy::Policy;
use crate::error::AwsError;

/// Everything of `$LATEST` a published version snapshots; two equal values
/// mean "nothing changed since that version".
#[derive(Debug, Clone, PartialEq)]
pub struct FnConfig {
    pub runtime: Option<String>,
    pub role: String,
    pub handler: Option<String>,
    pub description: String,
    pub timeout: i64,
    pub memory_size: i64,
    pub environment: Option<BTreeMap<String, String>>,
    pub code: CodeInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Create,
    Update,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub config: FnConfig,
    pub revision_id: String,
    pub last_modified: SystemTime,
    /// When the running create/update completes (`LastUpdateStatus:
    /// InProgress` until then); `None` when settled.
    pub update_until: Option<(SystemTime, UpdateKind)>,
    pub versions: BTreeMap<u64, Version>,
    /// Highest version number ever published (numbers are never reused).
    pub last_version: u64,
    pub aliases: BTreeMap<String, Alias>,
    /// Random part of the simulated code location URL.
    pub code_location_id: String,
    /// Resource-based policies: the function's under `""`, a version's or an
    /// alias's under its qualifier. Absent when it has no statement.
    pub policies: BTreeMap<String, Policy>,
}

#[derive(Debug, Clone)]
pub struct Version {
    pub number: u64,
    /// The configuration as published (its description may differ from `source`'s).
    pub config: FnConfig,
    /// `$LATEST`'s configuration at publish time, for the "unchanged" rule.
    pub source: FnConfig,
    pub revision_id: String,
    pub last_modified: SystemTime,
}

#[derive(Debug, Clone)]
pub struct Alias {
    pub name: String,
    pub function_version: String,
    pub description: String,
    pub routing: Option<(String, f64)>,
    pub revision_id: String,
}

/// A `$LATEST` or published configuration to render.
#[derive(Debug, Clone)]
pub struct ConfigView {
    pub name: String,
    pub version: String,
    pub config: FnConfig,
    pub revision_id: String,
    pub last_modified: SystemTime,
    pub state: &'static str,
    pub last_update_status: &'static str,
    pub creating: bool,
    pub code_location_id: String,
    /// The alias a qualified read went through: its ARN is the one shown.
    pub via_alias: Option<String>,
}

pub fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn not_found(region: &str, name: &str, qualifier: Option<&str>) -> AwsError {
    let arn = match qualifier {
        Some(q) => qualified_arn(region, name, q),
        None => function_arn(region, name),
    };
    AwsError::not_found(
        "ResourceNotFoundException",
        format!("Function not found: {arn}"),
    )
}

pub fn alias_not_found(region: &str, name: &str, alias: &str) -> AwsError {
    AwsError::not_found(
        "ResourceNotFoundException",
        format!("Alias not found: {}", qualified_arn(region, name, alias)),
    )
}

pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterValueException", message)
}

fn revision_mismatch(what: &str) -> AwsError {
    AwsError::new(
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
        format!(
            "The Revision Id provided does not match the latest Revision Id. Call the {what} API to retrieve the latest Revision Id"
        ),
    )
}

impl Function {
    pub fn in_progress(&self) -> bool {
        self.update_until.is_some()
    }

    /// The 409 AWS answers while a create or update is still running.
    pub fn check_not_in_progress(&self, region: &str) -> Result<(), AwsError> {
        match self.update_until {
            Some((_, UpdateKind::Create)) => Err(AwsError::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                "The operation cannot be performed at this time. The function is currently in the following state: Pending",
            )),
            Some((_, UpdateKind::Update)) => Err(AwsError::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                format!(
                    "The operation cannot be performed at this time. An update is in progress for resource: {}",
                    function_arn(region, &self.name)
                ),
            )),
            None => Ok(()),
        }
    }

    pub fn check_revision(&self, revision: Option<&str>) -> Result<(), AwsError> {
        match revision {
            Some(r) if r != self.revision_id => Err(revision_mismatch("GetFunction")),
            _ => Ok(()),
        }
    }

    /// Records a mutation of `$LATEST`: new RevisionId, InProgress for `delay`.
    pub fn mutated(&mut self, now: SystemTime, delay: Duration, kind: UpdateKind) {
        self.revision_id = new_revision();
        self.last_modified = now;
        self.update_until = Some((now + delay, kind));
    }

    pub fn latest_view(&self) -> ConfigView {
        ConfigView {
            name: self.name.clone(),
            version: "$LATEST".into(),
            config: self.config.clone(),
            revision_id: self.revision_id.clone(),
            last_modified: self.last_modified,
            state: match self.update_until {
                Some((_, UpdateKind::Create)) => "Pending",
                _ => "Active",
            },
            last_update_status: if self.in_progress() {
                "InProgress"
            } else {
                "Successful"
            },
            creating: matches!(self.update_until, Some((_, UpdateKind::Create))),
            code_location_id: self.code_location_id.clone(),
            via_alias: None,
        }
    }

    pub fn version_view(&self, v: &Version) -> ConfigView {
        ConfigView {
            name: self.name.clone(),
            version: v.number.to_string(),
            config: v.config.clone(),
            revision_id: v.revision_id.clone(),
            last_modified: v.last_modified,
            state: "Active",
            last_update_status: "Successful",
            creating: false,
            code_location_id: self.code_location_id.clone(),
            via_alias: None,
        }
    }

    /// `$LATEST`, a version number or an alias (resolved to its primary version).
    pub fn view(&self, region: &str, qualifier: Option<&str>) -> Result<ConfigView, AwsError> {
        match qualifier {
            None | Some("$LATEST") => Ok(self.latest_view()),
            Some(q) => {
                let alias = self.aliases.get(q);
                let version = alias.map_or(q, |a| a.function_version.as_str());
                let mut view = if version == "$LATEST" {
                    self.latest_view()
                } else {
                    version
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| self.versions.get(&n))
                        .map(|v| self.version_view(v))
                        .ok_or_else(|| not_found(region, &self.name, Some(q)))?
                };
                view.via_alias = alias.map(|a| a.name.clone());
                Ok(view)
            }
        }
    }

    /// The key of the policy a request names: `""` for the function's
    /// (unqualified or `$LATEST`), else an existing version or alias.
    pub fn policy_key(&self, region: &str, qualifier: Option<&str>) -> Result<String, AwsError> {
        match qualifier {
            None | Some("$LATEST") => Ok(String::new()),
            Some(q) if self.aliases.contains_key(q) || self.version_exists(q) => Ok(q.to_string()),
            Some(q) => Err(not_found(region, &self.name, Some(q))),
        }
    }

    /// The RevisionId a policy carries: that of the function, version or
    /// alias it belongs to.
    pub fn policy_revision(&self, key: &str) -> String {
        if key.is_empty() {
            return self.revision_id.clone();
        }
        if let Some(a) = self.aliases.get(key) {
            return a.revision_id.clone();
        }
        key.parse::<u64>()
            .ok()
            .and_then(|n| self.versions.get(&n))
            .map(|v| v.revision_id.clone())
            .unwrap_or_default()
    }

    /// A policy changed: its owner gets a new RevisionId, which is returned.
    pub fn renew_policy_revision(&mut self, key: &str) -> String {
        let revision = new_revision();
        if key.is_empty() {
            self.revision_id = revision.clone();
        } else if let Some(a) = self.aliases.get_mut(key) {
            a.revision_id = revision.clone();
        } else if let Some(v) = key
            .parse::<u64>()
            .ok()
            .and_then(|n| self.versions.get_mut(&n))
        {
            v.revision_id = revision.clone();
        }
        revision
    }

    pub fn version_exists(&self, version: &str) -> bool {
        version == "$LATEST"
            || version
                .parse::<u64>()
                .ok()
                .is_some_and(|n| self.versions.contains_key(&n))
    }

    pub fn config_of(&self, version: &str) -> Option<&FnConfig> {
        if version == "$LATEST" {
            return Some(&self.config);
        }
        self.versions
            .get(&version.parse::<u64>().ok()?)
            .map(|v| &v.config)
    }

    /// PublishVersion's rules, shared with `Publish: true` on create/update.
    /// Returns the version number (an existing one when nothing changed).
    pub fn publish(
        &mut self,
        region: &str,
        now: SystemTime,
        code_sha256: Option<&str>,
        revision: Option<&str>,
        description: Option<&str>,
    ) -> Result<u64, AwsError> {
        if let Some(sha) = code_sha256
            && sha != self.config.code.sha256
        {
            return Err(invalid(format!(
                "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                self.config.code.sha256
            )));
        }
        self.check_revision(revision)?;
        self.check_not_in_progress(region)?;
        if let Some((n, last)) = self.versions.iter().next_back()
            && last.source == self.config
        {
            return Ok(*n);
        }
        let number = self.last_version + 1;
        self.last_version = number;
        let mut config = self.config.clone();
        if let Some(d) = description {
            config.description = d.to_string();
        }
        self.versions.insert(
            number,
            Version {
                number,
                config,
                source: self.config.clone(),
                revision_id: new_revision(),
                last_modified: now,
            },
        );
        Ok(number)
    }

    pub fn check_alias_revision(alias: &Alias, revision: Option<&str>) -> Result<(), AwsError> {
        match revision {
            Some(r) if r != alias.revision_id => Err(revision_mismatch("GetAlias")),
            _ => Ok(()),
        }
    }

    /// Validates an alias target and routing as AWS does.
    pub fn check_alias_target(
        &self,
        region: &str,
        version: &str,
        routing: Option<&BTreeMap<String, f64>>,
    ) -> Result<Option<(String, f64)>, AwsError> {
        if !self.version_exists(version) {
            return Err(not_found(region, &self.name, Some(version)));
        }
        let Some(weights) = routing else {
            return Ok(None);
        };
        if weights.len() > 1 {
            return Err(invalid(
                "Number of items in AdditionalVersionWeights cannot be greater than 1",
            ));
        }
        let Some((extra, weight)) = weights.iter().next() else {
            return Ok(None);
        };
        if !(0.0..=1.0).contains(weight) || !weight.is_finite() {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{{{extra}={weight}}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]"
                ),
            ));
        }
        if extra.is_empty() || !extra.chars().all(|c| c.is_ascii_digit()) {
            return Err(AwsError::bad_request(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{{{extra}={weight}}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]"
                ),
            ));
        }
        if version == "$LATEST" {
            return Err(invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        if extra == version {
            return Err(invalid(format!(
                "Invalid function version {extra}. Function version {extra} is already included in routing configuration."
            )));
        }
        if !self.version_exists(extra) {
            return Err(not_found(region, &self.name, Some(extra)));
        }
        Ok(Some((extra.clone(), *weight)))
    }
}

/// All functions of all regions.
#[derive(Debug, Default)]
pub struct Store {
    pub regions: HashMap<String, BTreeMap<String, Function>>,
    /// Earliest pending `update_until`, so `tick` is cheap when idle.
    pub next_due: Option<SystemTime>,
}

impl Store {
    pub fn functions(&self, region: &str) -> Option<&BTreeMap<String, Function>> {
        self.regions.get(region)
    }

    pub fn function(&self, region: &str, name: &str) -> Result<&Function, AwsError> {
        self.regions
            .get(region)
            .and_then(|m| m.get(name))
            .ok_or_else(|| not_found(region, name, None))
    }

    pub fn function_mut(&mut self, region: &str, name: &str) -> Result<&mut Function, AwsError> {
        self.regions
            .get_mut(region)
            .and_then(|m| m.get_mut(name))
            .ok_or_else(|| not_found(region, name, None))
    }

    pub fn schedule(&mut self, at: SystemTime) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }

    /// Completes every create/update whose delay has passed (new RevisionId,
    /// `Successful`, `Active`).
    pub fn settle(&mut self, now: SystemTime) {
        match self.next_due {
            Some(d) if d <= now => {}
            _ => return,
        }
        let mut next: Option<SystemTime> = None;
        for f in self.regions.values_mut().flat_map(|m| m.values_mut()) {
            if let Some((until, _)) = f.update_until {
                if until <= now {
                    f.update_until = None;
                    f.revision_id = new_revision();
                } else {
                    next = Some(next.map_or(until, |n| n.min(until)));
                }
            }
        }
        self.next_due = next;
    }
}
