//! The custom action type the worker serves: its definition as
//! `action-definition/custom-action.json` spells it (the `CreateCustomActionType`
//! request in the JSON field names `aws codepipeline create-custom-action-type
//! --cli-input-json` takes), and [`validate`], a pure check of that definition
//! against every rule `CreateCustomActionType` enforces, so a bad definition is
//! refused before any AWS call.
//!
//! This module knows no SDK client and no job; `register.rs` talks to AWS.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The definition shipped with this worker (embedded at build time).
pub const EMBEDDED_DEFINITION: &str = include_str!("../../action-definition/custom-action.json");

/// Action categories `ActionCategory` allows.
const CATEGORIES: &[&str] = &[
    "Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute",
];
/// `ActionConfigurationPropertyType` values.
const PROPERTY_TYPES: &[&str] = &["String", "Number", "Boolean"];

/// A `CreateCustomActionType` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionTypeDefinition {
    pub category: String,
    pub provider: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<ActionTypeSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration_properties: Vec<ConfigurationProperty>,
    pub input_artifact_details: ArtifactDetails,
    pub output_artifact_details: ArtifactDetails,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// `ActionTypeSettings`: links the CodePipeline console shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionTypeSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_configuration_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_url_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_url_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_url_template: Option<String>,
}

/// `ActionConfigurationProperty`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigurationProperty {
    pub name: String,
    pub required: bool,
    pub key: bool,
    pub secret: bool,
    #[serde(default)]
    pub queryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub property_type: Option<String>,
}

/// `ArtifactDetails`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactDetails {
    pub minimum_count: i32,
    pub maximum_count: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A definition that cannot be parsed or breaks a `CreateCustomActionType` rule.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("the action definition is not valid JSON for CreateCustomActionType: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the action definition breaks CreateCustomActionType rules:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl ActionTypeDefinition {
    /// Parses and validates a definition.
    pub fn parse(json: &str) -> Result<Self, DefinitionError> {
        let def: ActionTypeDefinition = serde_json::from_str(json)?;
        let problems = validate(&def);
        if problems.is_empty() {
            Ok(def)
        } else {
            Err(DefinitionError::Invalid(problems))
        }
    }

    /// The definition embedded in this binary.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED_DEFINITION).expect("the embedded action definition is valid")
    }

    /// The queryable property (at most one), by which jobs are routed to a fleet.
    pub fn queryable_property(&self) -> Option<&str> {
        self.configuration_properties
            .iter()
            .find(|p| p.queryable)
            .map(|p| p.name.as_str())
    }

    /// Names of the properties whose values are secret.
    pub fn secret_properties(&self) -> BTreeSet<String> {
        self.configuration_properties
            .iter()
            .filter(|p| p.secret)
            .map(|p| p.name.clone())
            .collect()
    }

    /// Names of the properties whose values may appear in logs (declared, not secret).
    pub fn public_properties(&self) -> BTreeSet<String> {
        self.configuration_properties
            .iter()
            .filter(|p| !p.secret)
            .map(|p| p.name.clone())
            .collect()
    }

    /// The definition as `ListActionTypes` would report it, for drift comparison:
    /// properties sorted by name, `queryable` absent = false, tags ignored
    /// (they are not part of the action type's identity).
    pub fn normalized(&self) -> ActionTypeDefinition {
        let mut d = self.clone();
        d.tags.clear();
        d.configuration_properties
            .sort_by(|a, b| a.name.cmp(&b.name));
        if d.settings
            .as_ref()
            .is_some_and(|s| *s == ActionTypeSettings::default())
        {
            d.settings = None;
        }
        d
    }
}

/// Checks `def` against every rule `CreateCustomActionType` enforces (botocore
/// model constraints plus the documented property rules). Returns one line per
/// problem; empty means valid. Pure.
pub fn validate(def: &ActionTypeDefinition) -> Vec<String> {
    let mut p = Vec::new();
    if !CATEGORIES.contains(&def.category.as_str()) {
        p.push(format!(
            "category '{}' is not one of {}",
            def.category,
            CATEGORIES.join(", ")
        ));
    }
    check_id(&mut p, "provider", &def.provider, 35);
    check_id(&mut p, "version", &def.version, 9);

    let props = &def.configuration_properties;
    if props.len() > 10 {
        p.push(format!(
            "configurationProperties has {} entries; at most 10 are allowed",
            props.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, prop) in props.iter().enumerate() {
        let at = format!("configurationProperties[{i}] ({})", prop.name);
        let len = prop.name.chars().count();
        if !(1..=50).contains(&len) {
            p.push(format!("{at}: name must be 1-50 characters, is {len}"));
        }
        if !seen.insert(prop.name.to_ascii_lowercase()) {
            p.push(format!("{at}: duplicate property name"));
        }
        if let Some(d) = &prop.description {
            let n = d.chars().count();
            if !(1..=160).contains(&n) {
                p.push(format!(
                    "{at}: description must be 1-160 characters, is {n}"
                ));
            }
        }
        if let Some(t) = &prop.property_type
            && !PROPERTY_TYPES.contains(&t.as_str())
        {
            p.push(format!(
                "{at}: type '{t}' is not one of {}",
                PROPERTY_TYPES.join(", ")
            ));
        }
        if prop.queryable && !prop.required {
            p.push(format!("{at}: a queryable property must be required"));
        }
        if prop.queryable && prop.secret {
            p.push(format!("{at}: a queryable property must not be secret"));
        }
    }
    let queryable = props.iter().filter(|x| x.queryable).count();
    if queryable > 1 {
        p.push(format!(
            "{queryable} properties are queryable; at most one may be"
        ));
    }

    for (name, d) in [
        ("inputArtifactDetails", def.input_artifact_details),
        ("outputArtifactDetails", def.output_artifact_details),
    ] {
        for (f, v) in [
            ("minimumCount", d.minimum_count),
            ("maximumCount", d.maximum_count),
        ] {
            if !(0..=5).contains(&v) {
                p.push(format!("{name}.{f} must be 0-5, is {v}"));
            }
        }
        if d.minimum_count > d.maximum_count {
            p.push(format!(
                "{name}.minimumCount ({}) exceeds maximumCount ({})",
                d.minimum_count, d.maximum_count
            ));
        }
    }

    if let Some(s) = &def.settings {
        for (name, v) in [
            (
                "thirdPartyConfigurationUrl",
                &s.third_party_configuration_url,
            ),
            ("entityUrlTemplate", &s.entity_url_template),
            ("executionUrlTemplate", &s.execution_url_template),
            ("revisionUrlTemplate", &s.revision_url_template),
        ] {
            let Some(v) = v else { continue };
            let n = v.chars().count();
            if !(1..=2048).contains(&n) {
                p.push(format!("settings.{name} must be 1-2048 characters, is {n}"));
            }
            for var in template_config_refs(v) {
                match props.iter().find(|x| x.name == var) {
                    None => p.push(format!(
                        "settings.{name} references {{Config:{var}}}, which is not a configuration property"
                    )),
                    Some(x) if !x.required || x.secret => p.push(format!(
                        "settings.{name} references {{Config:{var}}}, which must be required and not secret"
                    )),
                    Some(_) => {}
                }
            }
        }
    }

    for (i, t) in def.tags.iter().enumerate() {
        let k = t.key.chars().count();
        let v = t.value.chars().count();
        if !(1..=128).contains(&k) {
            p.push(format!("tags[{i}].key must be 1-128 characters, is {k}"));
        }
        if v > 256 {
            p.push(format!(
                "tags[{i}].value must be at most 256 characters, is {v}"
            ));
        }
    }
    p
}

/// Whether `v` is a valid value for a queryable property (and so for `--stage`):
/// 1-20 characters of `[A-Za-z0-9_-]`.
pub fn valid_queryable_value(v: &str) -> bool {
    (1..=20).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_id(p: &mut Vec<String>, field: &str, v: &str, max: usize) {
    if v.is_empty() || v.len() > max {
        p.push(format!(
            "{field} must be 1-{max} characters, is {}",
            v.chars().count()
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        p.push(format!("{field} '{v}' may contain only A-Z a-z 0-9 _ -"));
    }
}

/// Names referenced as `{Config:Name}` in a URL template.
fn template_config_refs(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find("{Config:") {
        rest = &rest[i + "{Config:".len()..];
        match rest.find('}') {
            Some(j) => {
                out.push(&rest[..j]);
                rest = &rest[j + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str) -> ConfigurationProperty {
        ConfigurationProperty {
            name: name.into(),
            required: false,
            key: false,
            secret: false,
            queryable: false,
            description: None,
            property_type: None,
        }
    }

    fn has(problems: &[String], needle: &str) -> bool {
        problems.iter().any(|p| p.contains(needle))
    }

    #[test]
    fn embedded_definition_is_the_issue_action_type() {
        let d = ActionTypeDefinition::embedded();
        assert_eq!(
            (d.category.as_str(), d.provider.as_str(), d.version.as_str()),
            ("Deploy", "PipelineCanary", "1")
        );
        assert_eq!(d.queryable_property(), Some("Stage"));
        let names: Vec<_> = d
            .configuration_properties
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Stage",
                "CodeDeployApplication",
                "CodeDeployServiceRoleArn",
                "FunctionPrefix",
                "Manifest",
                "Alias",
                "DeploymentConfig",
                "Alarms",
                "MaxParallel"
            ]
        );
        let required: Vec<_> = d
            .configuration_properties
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            required,
            [
                "Stage",
                "CodeDeployApplication",
                "CodeDeployServiceRoleArn",
                "FunctionPrefix"
            ]
        );
        assert!(
            d.configuration_properties
                .iter()
                .all(|p| p.description.is_some())
        );
        assert_eq!(
            d.input_artifact_details,
            ArtifactDetails {
                minimum_count: 1,
                maximum_count: 1
            }
        );
        assert_eq!(
            d.output_artifact_details,
            ArtifactDetails {
                minimum_count: 0,
                maximum_count: 1
            }
        );
        let s = d.settings.unwrap();
        assert!(
            s.execution_url_template
                .unwrap()
                .contains("{ExternalExecutionId}")
        );
        assert!(s.entity_url_template.unwrap().contains("codedeploy"));
    }

    #[test]
    fn rejects_every_rule_break() {
        let mut d = ActionTypeDefinition::embedded();
        d.category = "Deployment".into();
        d.provider = "Pipeline Canary".into();
        d.version = "1234567890".into();
        let p = validate(&d);
        assert!(has(&p, "category 'Deployment'"), "{p:?}");
        assert!(
            has(&p, "provider 'Pipeline Canary' may contain only"),
            "{p:?}"
        );
        assert!(has(&p, "version must be 1-9 characters, is 10"), "{p:?}");

        let mut d = ActionTypeDefinition::embedded();
        d.configuration_properties.push(prop("Extra1"));
        d.configuration_properties.push(prop("Extra2"));
        assert!(has(&validate(&d), "has 11 entries; at most 10"));

        let mut d = ActionTypeDefinition::embedded();
        d.configuration_properties[1].queryable = true;
        assert!(has(&validate(&d), "2 properties are queryable"));

        let mut d = ActionTypeDefinition::embedded();
        d.configuration_properties[0].required = false;
        d.configuration_properties[0].secret = true;
        let p = validate(&d);
        assert!(has(&p, "queryable property must be required"), "{p:?}");
        assert!(has(&p, "queryable property must not be secret"), "{p:?}");

        let mut d = ActionTypeDefinition::embedded();
        d.configuration_properties[2].name = "N".repeat(51);
        d.configuration_properties[3].description = Some("d".repeat(161));
        d.configuration_properties[4].property_type = Some("Integer".into());
        d.configuration_properties[5].name = "stage".into();
        let p = validate(&d);
        assert!(has(&p, "name must be 1-50 characters, is 51"), "{p:?}");
        assert!(
            has(&p, "description must be 1-160 characters, is 161"),
            "{p:?}"
        );
        assert!(has(&p, "type 'Integer'"), "{p:?}");
        assert!(has(&p, "duplicate property name"), "{p:?}");

        let mut d = ActionTypeDefinition::embedded();
        d.input_artifact_details = ArtifactDetails {
            minimum_count: 2,
            maximum_count: 1,
        };
        d.output_artifact_details = ArtifactDetails {
            minimum_count: 0,
            maximum_count: 6,
        };
        let p = validate(&d);
        assert!(
            has(
                &p,
                "inputArtifactDetails.minimumCount (2) exceeds maximumCount (1)"
            ),
            "{p:?}"
        );
        assert!(
            has(&p, "outputArtifactDetails.maximumCount must be 0-5, is 6"),
            "{p:?}"
        );

        let mut d = ActionTypeDefinition::embedded();
        let s = d.settings.as_mut().unwrap();
        s.revision_url_template = Some(format!("https://x/{}", "a".repeat(2048)));
        s.execution_url_template = Some("https://x/{Config:Manifest}".into());
        s.entity_url_template = Some("https://x/{Config:Nope}".into());
        let p = validate(&d);
        assert!(
            has(&p, "settings.revisionUrlTemplate must be 1-2048 characters"),
            "{p:?}"
        );
        assert!(
            has(
                &p,
                "{Config:Manifest}, which must be required and not secret"
            ),
            "{p:?}"
        );
        assert!(
            has(&p, "{Config:Nope}, which is not a configuration property"),
            "{p:?}"
        );

        let mut d = ActionTypeDefinition::embedded();
        d.tags.push(Tag {
            key: String::new(),
            value: "v".repeat(257),
        });
        let p = validate(&d);
        assert!(has(&p, "tags[0].key must be 1-128"), "{p:?}");
        assert!(has(&p, "tags[0].value must be at most 256"), "{p:?}");

        assert!(validate(&ActionTypeDefinition::embedded()).is_empty());
    }

    #[test]
    fn parse_refuses_unknown_fields_and_reports_all_problems() {
        let e = ActionTypeDefinition::parse(r#"{"category":"Deploy","provider":"P","version":"1","inputArtifactDetails":{"minimumCount":0,"maximumCount":0},"outputArtifactDetails":{"minimumCount":0,"maximumCount":0},"configurationProperty":[]}"#).unwrap_err();
        assert!(matches!(e, DefinitionError::Parse(_)), "{e}");
        let e = ActionTypeDefinition::parse(r#"{"category":"Nope","provider":"","version":"1","inputArtifactDetails":{"minimumCount":0,"maximumCount":9},"outputArtifactDetails":{"minimumCount":0,"maximumCount":0}}"#).unwrap_err();
        let DefinitionError::Invalid(p) = e else {
            panic!()
        };
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn queryable_values() {
        assert!(valid_queryable_value("prod"));
        assert!(valid_queryable_value("eu-west_1"));
        assert!(valid_queryable_value(&"a".repeat(20)));
        assert!(!valid_queryable_value(&"a".repeat(21)));
        assert!(!valid_queryable_value(""));
        assert!(!valid_queryable_value("pr od"));
        assert!(!valid_queryable_value("prød"));
    }

    #[test]
    fn normalized_ignores_order_tags_and_empty_settings() {
        let a = ActionTypeDefinition::embedded();
        let mut b = a.clone();
        b.configuration_properties.reverse();
        b.tags.push(Tag {
            key: "team".into(),
            value: "x".into(),
        });
        assert_eq!(a.normalized(), b.normalized());
        b.configuration_properties[0].description = Some("changed".into());
        assert_ne!(a.normalized(), b.normalized());
    }
}
