//! `pipeline-canary register`: makes sure the action type exists exactly as
//! defined. It validates the definition locally first (no call for a bad
//! definition), then compares it with what `ListActionTypes` reports for the
//! same category/provider/version: identical → nothing to do; different → a
//! fatal error (a definition is immutable per version: bump the version);
//! absent → `CreateCustomActionType`.
//!
//! This module knows the action type, not jobs.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionConfigurationProperty, ActionConfigurationPropertyType, ActionOwner,
    ActionType, ActionTypeSettings as SdkSettings, ArtifactDetails as SdkArtifactDetails,
    Tag as SdkTag,
};

use crate::definition::{
    ActionTypeDefinition, ActionTypeSettings, ArtifactDetails, ConfigurationProperty, validate,
};

/// What `register` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Created,
    /// An identical definition was already registered.
    AlreadyRegistered,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the action definition breaks CreateCustomActionType rules (nothing was sent to AWS):\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    #[error(
        "action type {category}/Custom/{provider}/{version} is already registered with a different definition:\n  - {}\nA definition cannot change within a version: bump \"version\" in the definition (and in the pipelines' actionTypeId) and register again.",
        .differences.join("\n  - ")
    )]
    Drift {
        category: String,
        provider: String,
        version: String,
        differences: Vec<String>,
    },
    #[error("{0}")]
    Aws(String),
}

/// Registers `def` (see the module documentation).
pub async fn register(
    client: &Client,
    def: &ActionTypeDefinition,
) -> Result<Registration, RegisterError> {
    let problems = validate(def);
    if !problems.is_empty() {
        return Err(RegisterError::Invalid(problems));
    }
    if let Some(existing) = find(client, def).await? {
        return compare(def, &existing).map(|()| Registration::AlreadyRegistered);
    }
    let sdk_props = def
        .configuration_properties
        .iter()
        .map(|p| {
            ActionConfigurationProperty::builder()
                .name(&p.name)
                .required(p.required)
                .key(p.key)
                .secret(p.secret)
                .queryable(p.queryable)
                .set_description(p.description.clone())
                .set_type(
                    p.property_type
                        .as_deref()
                        .map(ActionConfigurationPropertyType::from),
                )
                .build()
                .map_err(|e| RegisterError::Aws(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let details = |d: ArtifactDetails| {
        SdkArtifactDetails::builder()
            .minimum_count(d.minimum_count)
            .maximum_count(d.maximum_count)
            .build()
    };
    let tags = def
        .tags
        .iter()
        .map(|t| SdkTag::builder().key(&t.key).value(&t.value).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RegisterError::Aws(e.to_string()))?;
    let res = client
        .create_custom_action_type()
        .category(ActionCategory::from(def.category.as_str()))
        .provider(&def.provider)
        .version(&def.version)
        .set_settings(def.settings.as_ref().map(|s| {
            SdkSettings::builder()
                .set_third_party_configuration_url(s.third_party_configuration_url.clone())
                .set_entity_url_template(s.entity_url_template.clone())
                .set_execution_url_template(s.execution_url_template.clone())
                .set_revision_url_template(s.revision_url_template.clone())
                .build()
        }))
        .set_configuration_properties(Some(sdk_props))
        .input_artifact_details(details(def.input_artifact_details))
        .output_artifact_details(details(def.output_artifact_details))
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await;
    match res {
        Ok(_) => Ok(Registration::Created),
        Err(e) => {
            // Someone may have registered it in the meantime: compare again.
            if let Ok(Some(existing)) = find(client, def).await {
                return compare(def, &existing).map(|()| Registration::AlreadyRegistered);
            }
            Err(RegisterError::Aws(format!(
                "CreateCustomActionType failed: {}",
                error_text(&e)
            )))
        }
    }
}

fn compare(
    def: &ActionTypeDefinition,
    existing: &ActionTypeDefinition,
) -> Result<(), RegisterError> {
    let differences = differences(&def.normalized(), &existing.normalized());
    if differences.is_empty() {
        Ok(())
    } else {
        Err(RegisterError::Drift {
            category: def.category.clone(),
            provider: def.provider.clone(),
            version: def.version.clone(),
            differences,
        })
    }
}

/// `Code: message` for a service error, the full error chain otherwise.
fn error_text<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(se) => format!(
            "{}: {}",
            se.err().code().unwrap_or("Unknown"),
            se.err().message().unwrap_or_default()
        ),
        other => crate::codepipeline::error_chain(other),
    }
}

/// The registered action type with `def`'s category/provider/version, as a definition.
async fn find(
    client: &Client,
    def: &ActionTypeDefinition,
) -> Result<Option<ActionTypeDefinition>, RegisterError> {
    let mut next: Option<String> = None;
    loop {
        let out = client
            .list_action_types()
            .action_owner_filter(ActionOwner::Custom)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| {
                RegisterError::Aws(format!("ListActionTypes failed: {}", error_text(&e)))
            })?;
        for at in out.action_types() {
            if let Some(found) = from_sdk(at)
                && found.category == def.category
                && found.provider == def.provider
                && found.version == def.version
            {
                return Ok(Some(found));
            }
        }
        match out.next_token() {
            Some(t) => next = Some(t.to_string()),
            None => return Ok(None),
        }
    }
}

/// An SDK `ActionType` as a definition (no tags: ListActionTypes has none);
/// `None` without an id.
pub fn from_sdk(at: &ActionType) -> Option<ActionTypeDefinition> {
    let id = at.id()?;
    let d = |x: &SdkArtifactDetails| ArtifactDetails {
        minimum_count: x.minimum_count(),
        maximum_count: x.maximum_count(),
    };
    Some(ActionTypeDefinition {
        category: id.category().as_str().to_string(),
        provider: id.provider().to_string(),
        version: id.version().to_string(),
        settings: at.settings().map(|s| ActionTypeSettings {
            third_party_configuration_url: s.third_party_configuration_url().map(str::to_string),
            entity_url_template: s.entity_url_template().map(str::to_string),
            execution_url_template: s.execution_url_template().map(str::to_string),
            revision_url_template: s.revision_url_template().map(str::to_string),
        }),
        configuration_properties: at
            .action_configuration_properties()
            .iter()
            .map(|p| ConfigurationProperty {
                name: p.name().to_string(),
                required: p.required(),
                key: p.key(),
                secret: p.secret(),
                queryable: p.queryable(),
                description: p.description().map(str::to_string),
                property_type: p.r#type().map(|t| t.as_str().to_string()),
            })
            .collect(),
        input_artifact_details: at
            .input_artifact_details()
            .map(d)
            .unwrap_or(ArtifactDetails {
                minimum_count: 0,
                maximum_count: 0,
            }),
        output_artifact_details: at
            .output_artifact_details()
            .map(d)
            .unwrap_or(ArtifactDetails {
                minimum_count: 0,
                maximum_count: 0,
            }),
        tags: Vec::new(),
    })
}

/// Human-readable differences between two normalized definitions (`want` is
/// ours, `have` the registered one). Pure.
pub fn differences(want: &ActionTypeDefinition, have: &ActionTypeDefinition) -> Vec<String> {
    let mut out = Vec::new();
    let ws = want.settings.clone().unwrap_or_default();
    let hs = have.settings.clone().unwrap_or_default();
    for (name, w, h) in [
        (
            "thirdPartyConfigurationUrl",
            &ws.third_party_configuration_url,
            &hs.third_party_configuration_url,
        ),
        (
            "entityUrlTemplate",
            &ws.entity_url_template,
            &hs.entity_url_template,
        ),
        (
            "executionUrlTemplate",
            &ws.execution_url_template,
            &hs.execution_url_template,
        ),
        (
            "revisionUrlTemplate",
            &ws.revision_url_template,
            &hs.revision_url_template,
        ),
    ] {
        if w != h {
            out.push(format!(
                "settings.{name}: registered {h:?}, definition {w:?}"
            ));
        }
    }
    for w in &want.configuration_properties {
        match have
            .configuration_properties
            .iter()
            .find(|h| h.name == w.name)
        {
            None => out.push(format!("property {} is not in the registered type", w.name)),
            Some(h) if h != w => {
                let fields: [(&str, String, String); 6] = [
                    ("required", h.required.to_string(), w.required.to_string()),
                    ("key", h.key.to_string(), w.key.to_string()),
                    ("secret", h.secret.to_string(), w.secret.to_string()),
                    (
                        "queryable",
                        h.queryable.to_string(),
                        w.queryable.to_string(),
                    ),
                    (
                        "description",
                        format!("{:?}", h.description),
                        format!("{:?}", w.description),
                    ),
                    (
                        "type",
                        format!("{:?}", h.property_type),
                        format!("{:?}", w.property_type),
                    ),
                ];
                for (f, hv, wv) in fields {
                    if hv != wv {
                        out.push(format!(
                            "property {}.{f}: registered {hv}, definition {wv}",
                            w.name
                        ));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for h in &have.configuration_properties {
        if !want
            .configuration_properties
            .iter()
            .any(|w| w.name == h.name)
        {
            out.push(format!(
                "property {} is registered but not in the definition",
                h.name
            ));
        }
    }
    if want.input_artifact_details != have.input_artifact_details {
        out.push(format!(
            "inputArtifactDetails: registered {:?}, definition {:?}",
            have.input_artifact_details, want.input_artifact_details
        ));
    }
    if want.output_artifact_details != have.output_artifact_details {
        out.push(format!(
            "outputArtifactDetails: registered {:?}, definition {:?}",
            have.output_artifact_details, want.output_artifact_details
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_what_changed() {
        let a = ActionTypeDefinition::embedded().normalized();
        assert!(differences(&a, &a).is_empty());
        let mut b = a.clone();
        b.configuration_properties.retain(|p| p.name != "Alarms");
        b.output_artifact_details.maximum_count = 0;
        b.settings.as_mut().unwrap().entity_url_template = None;
        let d = differences(&a, &b);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].starts_with("settings.entityUrlTemplate"));
        assert!(d[1].starts_with("property Alarms is not in the registered type"));
        assert!(d[2].starts_with("outputArtifactDetails"));
    }
}
