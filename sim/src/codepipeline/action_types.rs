//! Action types: the built-in AWS providers the engine can run (S3 and
//! CodeStarSourceConnection sources, CodeBuild) and custom action types
//! (`CreateCustomActionType`, `ListActionTypes`, `DeleteCustomActionType`)
//! with every rule of the model and BRIEF §3. Knows nothing of pipelines or jobs
//! beyond the definitions they are checked against.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    Region, check_enum, check_len, check_pattern, invalid, opt_bool, opt_int, opt_list, opt_obj,
    opt_str, req_str,
};
use crate::error::{AwsError, AwsResult};

pub const CATEGORIES: &[&str] = &[
    "Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute",
];
pub const OWNERS: &[&str] = &["AWS", "ThirdParty", "Custom"];

/// Most custom action types per region (AWS quota: 50 per Region).
const MAX_CUSTOM_TYPES: usize = 50;

/// `ActionTypeId`: category, owner, provider, version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId {
    pub category: String,
    pub owner: String,
    pub provider: String,
    pub version: String,
}

impl TypeId {
    /// Parses and validates an `ActionTypeId` structure at `field`.
    pub fn parse(v: &Value, field: &str) -> AwsResult<TypeId> {
        let category = req_str(v, "category", &format!("{field}.category"))?;
        check_enum(&format!("{field}.category"), category, CATEGORIES)?;
        let owner = req_str(v, "owner", &format!("{field}.owner"))?;
        check_enum(&format!("{field}.owner"), owner, OWNERS)?;
        let provider = req_str(v, "provider", &format!("{field}.provider"))?;
        check_provider(&format!("{field}.provider"), provider)?;
        let version = req_str(v, "version", &format!("{field}.version"))?;
        check_version(&format!("{field}.version"), version)?;
        Ok(TypeId {
            category: category.into(),
            owner: owner.into(),
            provider: provider.into(),
            version: version.into(),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({"category": self.category, "owner": self.owner,
               "provider": self.provider, "version": self.version})
    }
}

impl std::fmt::Display for TypeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(Category: '{}', Provider: '{}', Owner: '{}', Version: '{}')",
            self.category, self.provider, self.owner, self.version
        )
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn check_provider(field: &str, s: &str) -> AwsResult<()> {
    check_len(field, s, 1, 35)?;
    check_pattern(field, s, is_id_char, "[0-9A-Za-z_-]+")
}

fn check_version(field: &str, s: &str) -> AwsResult<()> {
    check_len(field, s, 1, 9)?;
    check_pattern(field, s, is_id_char, "[0-9A-Za-z_-]+")
}

/// One `ActionConfigurationProperty`.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub required: bool,
    pub key: bool,
    pub secret: bool,
    pub queryable: bool,
    pub description: Option<String>,
    pub kind: Option<String>,
}

impl Property {
    fn to_json(&self) -> Value {
        let mut o = json!({"name": self.name, "required": self.required, "key": self.key,
                           "secret": self.secret, "queryable": self.queryable});
        if let Some(d) = &self.description {
            o["description"] = json!(d);
        }
        if let Some(t) = &self.kind {
            o["type"] = json!(t);
        }
        o
    }
}

/// An action type definition (built-in or custom).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionType {
    pub id: TypeId,
    /// `ActionTypeSettings` as given (URL templates).
    pub settings: BTreeMap<String, String>,
    pub properties: Vec<Property>,
    /// (minimumCount, maximumCount) of input and output artifacts.
    pub inputs: (i64, i64),
    pub outputs: (i64, i64),
    pub tags: Vec<Value>,
}

impl ActionType {
    pub fn to_json(&self) -> Value {
        let mut o = json!({
            "id": self.id.to_json(),
            "actionConfigurationProperties": self.properties.iter().map(Property::to_json).collect::<Vec<_>>(),
            "inputArtifactDetails": {"minimumCount": self.inputs.0, "maximumCount": self.inputs.1},
            "outputArtifactDetails": {"minimumCount": self.outputs.0, "maximumCount": self.outputs.1},
        });
        if !self.settings.is_empty() {
            o["settings"] = json!(self.settings);
        }
        o
    }

    /// The queryable property, if any.
    pub fn queryable(&self) -> Option<&Property> {
        self.properties.iter().find(|p| p.queryable)
    }

    /// Fills a URL template: `{Config:Name}` with required non-secret
    /// configuration values, `{ExternalExecutionId}` when known.
    pub fn url(
        &self,
        template_key: &str,
        config: &BTreeMap<String, String>,
        external_execution_id: Option<&str>,
    ) -> Option<String> {
        let mut url = self.settings.get(template_key)?.clone();
        if url.contains("{ExternalExecutionId}") {
            url = url.replace("{ExternalExecutionId}", external_execution_id?);
        }
        for p in &self.properties {
            let pat = format!("{{Config:{}}}", p.name);
            if url.contains(&pat)
                && p.required
                && !p.secret
                && let Some(v) = config.get(&p.name)
            {
                url = url.replace(&pat, v);
            }
        }
        Some(url)
    }
}

fn prop(name: &str, required: bool, key: bool, secret: bool) -> Property {
    Property {
        name: name.into(),
        required,
        key,
        secret,
        queryable: false,
        description: None,
        kind: None,
    }
}

/// The AWS-owned action types aws-sim can run.
pub fn builtins() -> Vec<ActionType> {
    let aws = |category: &str, provider: &str| TypeId {
        category: category.into(),
        owner: "AWS".into(),
        provider: provider.into(),
        version: "1".into(),
    };
    vec![
        ActionType {
            id: aws("Source", "S3"),
            settings: BTreeMap::new(),
            properties: vec![
                prop("S3Bucket", true, true, false),
                prop("S3ObjectKey", true, true, false),
                prop("PollForSourceChanges", false, false, false),
                prop("AllowOverrideForS3ObjectKey", false, false, false),
            ],
            inputs: (0, 0),
            outputs: (1, 1),
            tags: vec![],
        },
        ActionType {
            id: aws("Source", "CodeStarSourceConnection"),
            settings: BTreeMap::new(),
            properties: vec![
                prop("ConnectionArn", true, true, false),
                prop("FullRepositoryId", true, true, false),
                prop("BranchName", true, true, false),
                prop("OutputArtifactFormat", false, false, false),
                prop("DetectChanges", false, false, false),
            ],
            inputs: (0, 0),
            outputs: (1, 1),
            tags: vec![],
        },
        ActionType {
            id: aws("Build", "CodeBuild"),
            settings: BTreeMap::new(),
            properties: vec![
                prop("ProjectName", true, true, false),
                prop("PrimarySource", false, false, false),
                prop("BatchEnabled", false, false, false),
                prop("CombineArtifacts", false, false, false),
                prop("EnvironmentVariables", false, false, false),
            ],
            inputs: (1, 5),
            outputs: (0, 5),
            tags: vec![],
        },
    ]
}

/// The definition of `id` in `region` (built-in or custom), if it exists.
pub fn find(region: &Region, id: &TypeId) -> Option<ActionType> {
    if id.owner == "AWS" {
        return builtins().into_iter().find(|t| &t.id == id);
    }
    region.action_types.get(id).cloned()
}

fn parse_details(v: &Value, field: &str) -> AwsResult<(i64, i64)> {
    let get = |k: &str| -> AwsResult<i64> {
        let f = format!("{field}.{k}");
        let n = opt_int(v, k, &f)?.ok_or_else(|| super::missing(&f))?;
        if !(0..=5).contains(&n) {
            return Err(invalid(
                &f,
                &n.to_string(),
                "Member must have value between 0 and 5",
            ));
        }
        Ok(n)
    };
    let min = get("minimumCount")?;
    let max = get("maximumCount")?;
    if min > max {
        return Err(AwsError::validation(format!(
            "{field}: minimumCount ({min}) must not be greater than maximumCount ({max})"
        )));
    }
    Ok((min, max))
}

pub(crate) fn parse_tags(input: &Value, field: &str) -> AwsResult<Vec<Value>> {
    let tags = opt_list(input, "tags", field)?;
    if tags.len() > 50 {
        return Err(AwsError::bad_request(
            "TooManyTagsException",
            "The maximum number of tags (50) was exceeded",
        ));
    }
    let mut out = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let f = format!("{field}.{}", i + 1);
        let k = req_str(t, "key", &format!("{f}.key"))?;
        check_len(&format!("{f}.key"), k, 1, 128)?;
        let v = req_str(t, "value", &format!("{f}.value"))?;
        check_len(&format!("{f}.value"), v, 0, 256)?;
        out.push(json!({"key": k, "value": v}));
    }
    Ok(out)
}

/// `CreateCustomActionType`.
///
/// Same category/provider/version again: an identical definition returns the
/// existing type; a different one is refused with `ValidationException` — the
/// model lists no "already exists" error for this operation, and AWS documents
/// that a definition cannot change once created (a change needs a new
/// version), so the generic input error is the one a client can expect.
pub fn create(region: &mut Region, input: &Value) -> AwsResult<Value> {
    let category = req_str(input, "category", "category")?;
    check_enum("category", category, CATEGORIES)?;
    let provider = req_str(input, "provider", "provider")?;
    check_provider("provider", provider)?;
    let version = req_str(input, "version", "version")?;
    check_version("version", version)?;
    let mut settings = BTreeMap::new();
    if let Some(s) = opt_obj(input, "settings", "settings")? {
        for k in [
            "thirdPartyConfigurationUrl",
            "entityUrlTemplate",
            "executionUrlTemplate",
            "revisionUrlTemplate",
        ] {
            if let Some(u) = opt_str(s, k, &format!("settings.{k}"))? {
                check_len(&format!("settings.{k}"), u, 1, 2048)?;
                settings.insert(k.to_string(), u.to_string());
            }
        }
    }
    let props_in = opt_list(input, "configurationProperties", "configurationProperties")?;
    if props_in.len() > 10 {
        return Err(invalid(
            "configurationProperties",
            &format!("{} properties", props_in.len()),
            "Member must have length less than or equal to 10",
        ));
    }
    let mut properties: Vec<Property> = Vec::new();
    for (i, p) in props_in.iter().enumerate() {
        let f = format!("configurationProperties.{}.member", i + 1);
        let name = req_str(p, "name", &format!("{f}.name"))?;
        check_len(&format!("{f}.name"), name, 1, 50)?;
        let flag = |k: &str| -> AwsResult<bool> {
            opt_bool(p, k, &format!("{f}.{k}"))?.ok_or_else(|| super::missing(&format!("{f}.{k}")))
        };
        let required = flag("required")?;
        let key = flag("key")?;
        let secret = flag("secret")?;
        let queryable = opt_bool(p, "queryable", &format!("{f}.queryable"))?.unwrap_or(false);
        let description = opt_str(p, "description", &format!("{f}.description"))?;
        if let Some(d) = description {
            check_len(&format!("{f}.description"), d, 1, 160)?;
        }
        let kind = opt_str(p, "type", &format!("{f}.type"))?;
        if let Some(t) = kind {
            check_enum(&format!("{f}.type"), t, &["String", "Number", "Boolean"])?;
        }
        if properties.iter().any(|q| q.name == name) {
            return Err(AwsError::validation(format!(
                "Configuration property names must be unique: '{name}' appears more than once"
            )));
        }
        if queryable && (!required || secret) {
            return Err(AwsError::validation(format!(
                "Configuration property '{name}' is queryable, so it must be required and not secret"
            )));
        }
        properties.push(Property {
            name: name.into(),
            required,
            key,
            secret,
            queryable,
            description: description.map(str::to_string),
            kind: kind.map(str::to_string),
        });
    }
    if properties.iter().filter(|p| p.queryable).count() > 1 {
        return Err(AwsError::validation(
            "An action type can have at most one queryable configuration property",
        ));
    }
    let inputs = parse_details(
        super::opt_obj(input, "inputArtifactDetails", "inputArtifactDetails")?
            .ok_or_else(|| super::missing("inputArtifactDetails"))?,
        "inputArtifactDetails",
    )?;
    let outputs = parse_details(
        super::opt_obj(input, "outputArtifactDetails", "outputArtifactDetails")?
            .ok_or_else(|| super::missing("outputArtifactDetails"))?,
        "outputArtifactDetails",
    )?;
    let tags = parse_tags(input, "tags")?;
    let def = ActionType {
        id: TypeId {
            category: category.into(),
            owner: "Custom".into(),
            provider: provider.into(),
            version: version.into(),
        },
        settings,
        properties,
        inputs,
        outputs,
        tags,
    };
    if let Some(existing) = region.action_types.get(&def.id) {
        let same = ActionType {
            tags: existing.tags.clone(),
            ..def.clone()
        };
        if &same == existing {
            return Ok(json!({"actionType": existing.to_json(), "tags": existing.tags}));
        }
        return Err(AwsError::validation(format!(
            "ActionType {} already exists with a different definition; an action type definition cannot change, create a new version instead",
            def.id
        )));
    }
    if region.retired_types.contains(&def.id) {
        return Err(AwsError::validation(format!(
            "ActionType {} was deleted; a deleted custom action type cannot be created again with the same version",
            def.id
        )));
    }
    if region.action_types.len() >= MAX_CUSTOM_TYPES {
        return Err(AwsError::bad_request(
            "LimitExceededException",
            format!("The maximum number of custom action types ({MAX_CUSTOM_TYPES}) was reached"),
        ));
    }
    let out = json!({"actionType": def.to_json(), "tags": def.tags});
    region.action_types.insert(def.id.clone(), def);
    Ok(out)
}

/// `ListActionTypes` (one page; `actionOwnerFilter`, `regionFilter` accepted).
pub fn list(region: &Region, input: &Value) -> AwsResult<Value> {
    let owner = opt_str(input, "actionOwnerFilter", "actionOwnerFilter")?;
    if let Some(o) = owner {
        check_enum("actionOwnerFilter", o, OWNERS)?;
    }
    if let Some(r) = opt_str(input, "regionFilter", "regionFilter")? {
        check_len("regionFilter", r, 4, 30)?;
    }
    let all: Vec<Value> = builtins()
        .iter()
        .chain(region.action_types.values())
        .filter(|t| owner.is_none_or(|o| t.id.owner == o))
        .map(ActionType::to_json)
        .collect();
    let (items, next) = super::page(all, input, None)?;
    let mut out = json!({ "actionTypes": items });
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

/// `DeleteCustomActionType`: idempotent; the version can never be used again.
pub fn delete(region: &mut Region, input: &Value) -> AwsResult<Value> {
    let category = req_str(input, "category", "category")?;
    check_enum("category", category, CATEGORIES)?;
    let provider = req_str(input, "provider", "provider")?;
    check_provider("provider", provider)?;
    let version = req_str(input, "version", "version")?;
    check_version("version", version)?;
    let id = TypeId {
        category: category.into(),
        owner: "Custom".into(),
        provider: provider.into(),
        version: version.into(),
    };
    if region.action_types.remove(&id).is_some() {
        region.retired_types.insert(id);
    }
    Ok(json!({}))
}
