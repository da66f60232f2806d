//! The canary's adapters: carry out [`CanaryAction`]s with the official SDK
//! clients (aws-sdk-codedeploy, aws-sdk-cloudwatch, aws-sdk-lambda) and turn
//! the answers into [`CanaryObservation`]s. Throttling, 5xx and transport
//! errors are retried here with exponential backoff (backon: 100 ms doubling
//! to 5 s, jittered, 9 retries: about 20 s of throttling before a call
//! counts as failed); "does not exist" answers become
//! observations; a mutation's AWS error becomes `CallFailed` so the pure
//! side can name the fix; a read that still fails ends the job with the
//! failure type of its error code.
//!
//! Call economy per tick: `BatchGetDeployments` per 25 deployments (plus
//! one per 25 rollback deployments while rolling back) and
//! `DescribeAlarms` per 100 alarms. No decision is made here.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch as cw;
use aws_sdk_codedeploy as cd;
use aws_sdk_lambda as lambda;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use backon::{BackoffBuilder, ExponentialBuilder};
use sha2::{Digest, Sha256};

use super::analysis::Counts;
use super::{
    AlarmState, AlarmView, AliasView, BATCH_GET_DEPLOYMENTS_MAX, CanaryAction, CanaryObservation,
    DESCRIBE_ALARMS_MAX, DeploymentStatus, DeploymentView, GroupSpec, MetricCounts, MetricWindow,
    TrafficRouting, appspec_versions,
};

/// Analysis windows per GetMetricData call: 4 queries each, and
/// GetMetricData takes at most 500 queries.
pub const METRIC_WINDOWS_PER_CALL: usize = 125;
use crate::codepipeline::CallError;
use crate::engine::EngineError;
use crate::manifest::DeploymentConfig;
use crate::release::lambda::{LambdaApi, Restored};
use crate::release::limiter::Limiter;
use crate::report::FailureKind;

/// The SDK clients the canary needs.
#[derive(Debug, Clone)]
pub struct CanaryAdapters {
    pub codedeploy: cd::Client,
    pub cloudwatch: cw::Client,
    pub lambda: lambda::Client,
    backoff: ExponentialBuilder,
    /// The worker's limiter of Lambda control-plane calls (GetAlias,
    /// UpdateAlias, CreateAlias and GetFunctionConfiguration share Lambda's
    /// 15 requests/s with the release's publishing).
    lambda_limiter: Option<Arc<Limiter>>,
    /// Puts a code-only function's previous code back (the release's
    /// Lambda adapter: its limiters and staging bucket).
    restorer: Option<LambdaApi>,
}

fn classify<E>(err: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    crate::codepipeline::classify("call", err)
}

fn to_engine(what: &str, e: &CallError) -> EngineError {
    let kind = match e {
        CallError::Transient(_) => FailureKind::SystemUnavailable,
        CallError::Service { code, .. } => FailureKind::from_aws_error(Some(code), None),
    };
    EngineError::new(kind, format!("{what} failed: {e}"))
}

fn ts(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|d| SystemTime::try_from(*d).ok())
}

/// A deployment as the pure side sees it.
pub fn view(d: &cd::types::DeploymentInfo) -> DeploymentView {
    let content = d.revision().and_then(|r| {
        r.app_spec_content()
            .and_then(|a| a.content())
            .or_else(|| r.string().and_then(|s| s.content()))
    });
    let versions = content.and_then(appspec_versions);
    DeploymentView {
        id: d.deployment_id().unwrap_or_default().to_string(),
        application: d.application_name().unwrap_or_default().to_string(),
        group: d.deployment_group_name().unwrap_or_default().to_string(),
        status: d
            .status()
            .and_then(|s| DeploymentStatus::parse(s.as_str()))
            .unwrap_or(DeploymentStatus::Created),
        error: d.error_information().map(|e| {
            format!(
                "{}: {}",
                e.code().map(|c| c.as_str()).unwrap_or("?"),
                e.message().unwrap_or_default()
            )
        }),
        description: d.description().unwrap_or_default().to_string(),
        is_rollback: d.creator() == Some(&cd::types::DeploymentCreator::CodeDeployRollback),
        create_time: ts(d.create_time()),
        start_time: ts(d.start_time()),
        current_version: versions.as_ref().map(|v| v.0.clone()),
        target_version: versions.map(|v| v.1),
        rollback_deployment_id: d
            .rollback_info()
            .and_then(|r| r.rollback_deployment_id())
            .map(str::to_string),
    }
}

fn alias_view(
    version: Option<&str>,
    routing: Option<&lambda::types::AliasRoutingConfiguration>,
    revision: Option<&str>,
) -> AliasView {
    AliasView {
        version: version.unwrap_or_default().to_string(),
        routing: routing
            .and_then(|r| r.additional_version_weights())
            .and_then(|m| m.iter().next())
            .map(|(k, v)| (k.clone(), *v)),
        revision_id: revision.map(str::to_string),
    }
}

const ROLLBACK_EVENTS: [cd::types::AutoRollbackEvent; 3] = [
    cd::types::AutoRollbackEvent::DeploymentFailure,
    cd::types::AutoRollbackEvent::DeploymentStopOnAlarm,
    cd::types::AutoRollbackEvent::DeploymentStopOnRequest,
];

fn group_spec(g: &cd::types::DeploymentGroupInfo) -> GroupSpec {
    let alarms = g
        .alarm_configuration()
        .filter(|a| a.enabled())
        .map(|a| {
            a.alarms()
                .iter()
                .filter_map(|x| x.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let rollback_ok = g
        .auto_rollback_configuration()
        .is_some_and(|r| r.enabled() && ROLLBACK_EVENTS.iter().all(|e| r.events().contains(e)));
    let style_ok = g.deployment_style().is_none_or(|s| {
        s.deployment_type() == Some(&cd::types::DeploymentType::BlueGreen)
            && s.deployment_option() == Some(&cd::types::DeploymentOption::WithTrafficControl)
    });
    GroupSpec {
        application: g.application_name().unwrap_or_default().to_string(),
        name: g.deployment_group_name().unwrap_or_default().to_string(),
        service_role_arn: g.service_role_arn().unwrap_or_default().to_string(),
        deployment_config_name: g.deployment_config_name().unwrap_or_default().to_string(),
        alarms,
        managed_rollback_and_style: rollback_ok && style_ok,
    }
}

fn routing_of(c: &cd::types::DeploymentConfigInfo) -> TrafficRouting {
    let Some(t) = c.traffic_routing_config() else {
        return TrafficRouting::AllAtOnce;
    };
    if let Some(x) = t.time_based_canary() {
        return TrafficRouting::Canary {
            percent: x.canary_percentage(),
            minutes: x.canary_interval(),
        };
    }
    if let Some(x) = t.time_based_linear() {
        return TrafficRouting::Linear {
            percent: x.linear_percentage(),
            minutes: x.linear_interval(),
        };
    }
    TrafficRouting::AllAtOnce
}

fn traffic_routing_config(c: &DeploymentConfig) -> cd::types::TrafficRoutingConfig {
    use cd::types::{TimeBasedCanary, TimeBasedLinear, TrafficRoutingConfig, TrafficRoutingType};
    match *c {
        // Pre-flight never asks for a config of a schedule the worker
        // drives (it has none); its deployment group says AllAtOnce.
        DeploymentConfig::AllAtOnce | DeploymentConfig::Steps(_) => TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::AllAtOnce)
            .build(),
        DeploymentConfig::Canary { percent, minutes } => TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedCanary)
            .time_based_canary(
                TimeBasedCanary::builder()
                    .canary_percentage(percent as i32)
                    .canary_interval(minutes as i32)
                    .build(),
            )
            .build(),
        DeploymentConfig::Linear {
            percent,
            every_minutes,
        } => TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedLinear)
            .time_based_linear(
                TimeBasedLinear::builder()
                    .linear_percentage(percent as i32)
                    .linear_interval(every_minutes as i32)
                    .build(),
            )
            .build(),
    }
}

impl CanaryAdapters {
    /// Clients with the SDK's own retries off: every retry of these calls is
    /// this module's (a CreateDeployment is never sent again blindly after an
    /// answer that may have been lost; see `perform_one`).
    pub fn new(sdk: &SdkConfig) -> Self {
        let no_retries = aws_config::retry::RetryConfig::disabled();
        CanaryAdapters::from_clients(
            cd::Client::from_conf(
                cd::config::Builder::from(sdk)
                    .retry_config(no_retries.clone())
                    .build(),
            ),
            cw::Client::from_conf(
                cw::config::Builder::from(sdk)
                    .retry_config(no_retries.clone())
                    .build(),
            ),
            lambda::Client::from_conf(
                lambda::config::Builder::from(sdk)
                    .retry_config(no_retries)
                    .build(),
            ),
        )
    }

    pub fn from_clients(
        codedeploy: cd::Client,
        cloudwatch: cw::Client,
        lambda: lambda::Client,
    ) -> Self {
        CanaryAdapters {
            codedeploy,
            cloudwatch,
            lambda,
            backoff: ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(5))
                .with_factor(2.0)
                .with_jitter()
                .with_max_times(9),
            lambda_limiter: None,
            restorer: None,
        }
    }

    /// Code-only rollbacks go through `api` (download, upload, publish).
    pub fn with_code_restorer(mut self, api: LambdaApi) -> Self {
        self.restorer = Some(api);
        self
    }

    /// Lambda calls take a token of `limiter` (the release engine's
    /// control-plane limiter) before each attempt.
    pub fn with_lambda_limiter(mut self, limiter: Arc<Limiter>) -> Self {
        self.lambda_limiter = Some(limiter);
        self
    }

    /// [`CanaryAdapters::call`] for a Lambda control-plane call.
    async fn lambda_call<T, E, F, Fut>(&self, mut f: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call(|| {
            let fut = f();
            let limiter = self.lambda_limiter.clone();
            async move {
                let _slot = match &limiter {
                    Some(l) => Some(l.slot().await),
                    None => None,
                };
                fut.await
            }
        })
        .await
    }

    /// UpdateAlias: `alias` on `version`, routing `weights` (empty: none),
    /// with `revision_id` as precondition; the alias as Lambda answered.
    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        weights: HashMap<String, f64>,
        revision_id: Option<String>,
    ) -> Result<AliasView, CallError> {
        let o = self
            .lambda_call(|| {
                self.lambda
                    .update_alias()
                    .function_name(function)
                    .name(alias)
                    .function_version(version)
                    .routing_config(
                        lambda::types::AliasRoutingConfiguration::builder()
                            .set_additional_version_weights(Some(weights.clone()))
                            .build(),
                    )
                    .set_revision_id(revision_id.clone())
                    .send()
            })
            .await?;
        Ok(alias_view(
            o.function_version(),
            o.routing_config(),
            o.revision_id(),
        ))
    }

    /// One SDK call, retried on throttling/5xx/transport errors.
    async fn call<T, E, F, Fut>(&self, f: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call_retrying(f, true).await
    }

    /// A call that must take effect at most once (CreateDeployment): retried
    /// only when the service **answered** that it did not perform it
    /// (throttling, 5xx). A timeout, a reset or an unreadable answer may
    /// hide a call that happened: it comes back as a transient failure at
    /// once, and the caller looks for what it may have done before trying
    /// again.
    async fn call_at_most_once<T, E, F, Fut>(&self, f: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call_retrying(f, false).await
    }

    async fn call_retrying<T, E, F, Fut>(
        &self,
        mut f: F,
        ambiguous_too: bool,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut delays = self.backoff.build();
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let answered = matches!(e, SdkError::ServiceError(_));
                    let c = classify(&e);
                    if let CallError::Transient(_) = c
                        && (answered || ambiguous_too)
                        && let Some(d) = delays.next()
                    {
                        tracing::debug!(error = %c, delay_ms = d.as_millis() as u64, "retrying AWS call");
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    return Err(c);
                }
            }
        }
    }

    /// Performs `actions` in order and reports what was observed.
    pub async fn perform(
        &self,
        actions: Vec<CanaryAction>,
    ) -> Result<Vec<CanaryObservation>, EngineError> {
        match self.perform_partial(actions).await {
            (out, None) => Ok(out),
            (_, Some(e)) => Err(e),
        }
    }

    /// Performs `actions` in order until one cannot be carried out (after
    /// its retries): what was observed until then, and that error. Nothing
    /// observed is lost (a deployment created before a failing read is
    /// reported).
    pub async fn perform_partial(
        &self,
        actions: Vec<CanaryAction>,
    ) -> (Vec<CanaryObservation>, Option<EngineError>) {
        let mut out = Vec::new();
        for a in actions {
            if let Err(e) = self.perform_one(a, &mut out).await {
                return (out, Some(e));
            }
        }
        (out, None)
    }

    async fn perform_one(
        &self,
        action: CanaryAction,
        out: &mut Vec<CanaryObservation>,
    ) -> Result<(), EngineError> {
        match action {
            CanaryAction::ObservePreflight {
                application,
                groups,
                aliases,
                configs,
                alarms,
                hooks,
            } => {
                let app = self
                    .call(|| {
                        self.codedeploy
                            .get_application()
                            .application_name(&application)
                            .send()
                    })
                    .await;
                out.push(CanaryObservation::Application(match app {
                    Ok(a) => Some(
                        a.application()
                            .and_then(|x| x.compute_platform())
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_else(|| "Lambda".to_string()),
                    ),
                    Err(e) if e.code() == Some("ApplicationDoesNotExistException") => None,
                    Err(e) => return Err(to_engine("CodeDeploy GetApplication", &e)),
                }));
                for g in groups {
                    let r = self
                        .call(|| {
                            self.codedeploy
                                .get_deployment_group()
                                .application_name(&application)
                                .deployment_group_name(&g)
                                .send()
                        })
                        .await;
                    let spec = match r {
                        Ok(o) => o.deployment_group_info().map(group_spec),
                        Err(e)
                            if matches!(
                                e.code(),
                                Some(
                                    "DeploymentGroupDoesNotExistException"
                                        | "ApplicationDoesNotExistException"
                                )
                            ) =>
                        {
                            None
                        }
                        Err(e) => return Err(to_engine("CodeDeploy GetDeploymentGroup", &e)),
                    };
                    out.push(CanaryObservation::Group { name: g, spec });
                }
                for (function, alias) in aliases {
                    let a = self.get_alias(&function, &alias).await?;
                    out.push(CanaryObservation::Alias {
                        index: None,
                        function,
                        alias: a,
                    });
                }
                for c in configs {
                    let name = c.codedeploy_name();
                    let r = self
                        .call(|| {
                            self.codedeploy
                                .get_deployment_config()
                                .deployment_config_name(&name)
                                .send()
                        })
                        .await;
                    let routing = match r {
                        Ok(o) => o.deployment_config_info().map(routing_of),
                        Err(e) if e.code() == Some("DeploymentConfigDoesNotExistException") => None,
                        Err(e) => return Err(to_engine("CodeDeploy GetDeploymentConfig", &e)),
                    };
                    out.push(CanaryObservation::DeploymentConfig { name, routing });
                }
                let active = self.list_deployments(None, true).await?;
                out.push(CanaryObservation::Deployments(
                    self.batch_get(&active).await?,
                ));
                if !alarms.is_empty() {
                    let found = self.describe_alarms(&alarms).await?;
                    out.push(CanaryObservation::Alarms {
                        asked: alarms,
                        found,
                    });
                }
                for h in hooks {
                    let r = self
                        .lambda_call(|| {
                            self.lambda
                                .get_function_configuration()
                                .function_name(&h)
                                .send()
                        })
                        .await;
                    let exists = match r {
                        Ok(_) => true,
                        Err(e) if e.code() == Some("ResourceNotFoundException") => false,
                        Err(e) => return Err(to_engine("Lambda GetFunctionConfiguration", &e)),
                    };
                    out.push(CanaryObservation::HookFunction { name: h, exists });
                }
            }
            CanaryAction::CreateApplication { application } => {
                let r = self
                    .call(|| {
                        self.codedeploy
                            .create_application()
                            .application_name(&application)
                            .compute_platform(cd::types::ComputePlatform::Lambda)
                            .send()
                    })
                    .await;
                out.push(match r {
                    Ok(_) => CanaryObservation::Ensured {
                        what: format!("created application {application}"),
                    },
                    Err(e) if e.code() == Some("ApplicationAlreadyExistsException") => {
                        CanaryObservation::Ensured {
                            what: format!("application {application} exists"),
                        }
                    }
                    Err(e) => failed(format!("CreateApplication {application}"), None, &e),
                });
            }
            CanaryAction::CreateDeploymentConfig { config } => {
                let name = config.codedeploy_name();
                let r = self
                    .call(|| {
                        self.codedeploy
                            .create_deployment_config()
                            .deployment_config_name(&name)
                            .compute_platform(cd::types::ComputePlatform::Lambda)
                            .traffic_routing_config(traffic_routing_config(&config))
                            .send()
                    })
                    .await;
                out.push(match r {
                    Ok(_) => CanaryObservation::Ensured {
                        what: format!("created deployment config {name}"),
                    },
                    Err(e) => failed(format!("CreateDeploymentConfig {name}"), None, &e),
                });
            }
            CanaryAction::PutDeploymentGroup { spec, exists } => {
                let alarm_config = {
                    let mut a =
                        cd::types::AlarmConfiguration::builder().enabled(!spec.alarms.is_empty());
                    for n in &spec.alarms {
                        a = a.alarms(cd::types::Alarm::builder().name(n).build());
                    }
                    if spec.alarms.is_empty() {
                        a = a.set_alarms(Some(Vec::new()));
                    }
                    a.build()
                };
                let rollback = cd::types::AutoRollbackConfiguration::builder()
                    .enabled(true)
                    .set_events(Some(ROLLBACK_EVENTS.to_vec()))
                    .build();
                let style = cd::types::DeploymentStyle::builder()
                    .deployment_type(cd::types::DeploymentType::BlueGreen)
                    .deployment_option(cd::types::DeploymentOption::WithTrafficControl)
                    .build();
                let r = if exists {
                    self.call(|| {
                        self.codedeploy
                            .update_deployment_group()
                            .application_name(&spec.application)
                            .current_deployment_group_name(&spec.name)
                            .service_role_arn(&spec.service_role_arn)
                            .deployment_config_name(&spec.deployment_config_name)
                            .alarm_configuration(alarm_config.clone())
                            .auto_rollback_configuration(rollback.clone())
                            .deployment_style(style.clone())
                            .send()
                    })
                    .await
                    .map(|_| ())
                } else {
                    self.call(|| {
                        self.codedeploy
                            .create_deployment_group()
                            .application_name(&spec.application)
                            .deployment_group_name(&spec.name)
                            .service_role_arn(&spec.service_role_arn)
                            .deployment_config_name(&spec.deployment_config_name)
                            .alarm_configuration(alarm_config.clone())
                            .auto_rollback_configuration(rollback.clone())
                            .deployment_style(style.clone())
                            .send()
                    })
                    .await
                    .map(|_| ())
                };
                let verb = if exists {
                    "updated (drifted)"
                } else {
                    "created"
                };
                out.push(match r {
                    Ok(()) => CanaryObservation::Ensured {
                        what: format!("{verb} deployment group {}", spec.name),
                    },
                    Err(e) => failed(
                        format!(
                            "{} deployment group {}",
                            if exists {
                                "UpdateDeploymentGroup"
                            } else {
                                "CreateDeploymentGroup"
                            },
                            spec.name
                        ),
                        None,
                        &e,
                    ),
                });
            }
            CanaryAction::Observe {
                application,
                deployments,
                alarms,
                discover,
                find_in_groups,
                read_aliases,
                metrics,
                until,
            } => {
                for (index, function, alias) in read_aliases {
                    let a = self.get_alias(&function, &alias).await?;
                    out.push(CanaryObservation::Alias {
                        index: Some(index),
                        function,
                        alias: a,
                    });
                }
                if !metrics.is_empty() {
                    out.push(CanaryObservation::Metrics(
                        self.metric_counts(&metrics, until).await?,
                    ));
                }
                let mut ids: Vec<String> = deployments;
                if discover {
                    for id in self.list_deployments(None, true).await? {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    for (_, group) in &find_in_groups {
                        let listed = self
                            .list_deployments(Some((&application, group)), false)
                            .await?;
                        for id in listed.into_iter().take(5) {
                            if !ids.contains(&id) {
                                ids.push(id);
                            }
                        }
                    }
                }
                let mut views = self.batch_get(&ids).await?;
                // The rollback deployments CodeDeploy started for ours.
                let rollbacks: Vec<String> = views
                    .iter()
                    .filter(|v| !v.status.is_active())
                    .filter_map(|v| v.rollback_deployment_id.clone())
                    .filter(|id| !ids.contains(id))
                    .collect();
                views.extend(self.batch_get(&rollbacks).await?);
                out.push(CanaryObservation::Deployments(views));
                if discover {
                    out.push(CanaryObservation::Discovered);
                }
                if !alarms.is_empty() {
                    let found = self.describe_alarms(&alarms).await?;
                    out.push(CanaryObservation::Alarms {
                        asked: alarms,
                        found,
                    });
                }
            }
            CanaryAction::CreateDeployment {
                index,
                application,
                group,
                config_name,
                appspec,
                description,
                override_alarms,
            } => {
                let sha = Sha256::digest(appspec.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>();
                let revision = cd::types::RevisionLocation::builder()
                    .revision_type(cd::types::RevisionLocationType::AppSpecContent)
                    .app_spec_content(
                        cd::types::AppSpecContent::builder()
                            .content(&appspec)
                            .sha256(sha)
                            .build(),
                    )
                    .build();
                let r = self
                    .call_at_most_once(|| {
                        let mut req = self
                            .codedeploy
                            .create_deployment()
                            .application_name(&application)
                            .deployment_group_name(&group)
                            .deployment_config_name(&config_name)
                            .description(&description)
                            .revision(revision.clone());
                        if override_alarms {
                            req = req.override_alarm_configuration(
                                cd::types::AlarmConfiguration::builder()
                                    .enabled(false)
                                    .build(),
                            );
                        }
                        req.send()
                    })
                    .await;
                out.push(match r {
                    Ok(o) => CanaryObservation::DeploymentCreated {
                        index,
                        deployment_id: o.deployment_id().unwrap_or_default().to_string(),
                    },
                    Err(e) => failed(
                        format!("CreateDeployment in group {group}"),
                        Some(index),
                        &e,
                    ),
                });
            }
            CanaryAction::StopDeployment {
                deployment_id,
                rollback,
            } => {
                let r = self
                    .call(|| {
                        self.codedeploy
                            .stop_deployment()
                            .deployment_id(&deployment_id)
                            .auto_rollback_enabled(rollback)
                            .send()
                    })
                    .await;
                out.push(match r {
                    Ok(o) => CanaryObservation::DeploymentStopped {
                        status: o
                            .status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        deployment_id,
                    },
                    Err(e) if e.code() == Some("DeploymentAlreadyCompletedException") => {
                        CanaryObservation::DeploymentStopped {
                            deployment_id,
                            status: "AlreadyCompleted".into(),
                        }
                    }
                    Err(e) => failed(format!("StopDeployment {deployment_id}"), None, &e),
                });
            }
            CanaryAction::ReadAliases { aliases } => {
                for (index, function, alias) in aliases {
                    let a = self.get_alias(&function, &alias).await?;
                    out.push(CanaryObservation::Alias {
                        index: Some(index),
                        function,
                        alias: a,
                    });
                }
            }
            CanaryAction::StepAlias {
                index,
                function,
                alias,
                previous,
                target,
                weight,
                revision_id,
            } => {
                // At 100 % the alias moves to the new version with no
                // routing; below, it stays on the previous one and routes
                // `weight` to the new one.
                let (version, weights) = if weight >= 1.0 {
                    (target.clone(), HashMap::new())
                } else {
                    (previous.clone(), HashMap::from([(target.clone(), weight)]))
                };
                let r = self
                    .update_alias(&function, &alias, &version, weights, revision_id)
                    .await;
                out.push(match r {
                    Ok(alias) => CanaryObservation::AliasUpdated { index, alias },
                    Err(e) => failed(
                        format!("StepAlias {function}:{alias} to {:.0} %", weight * 100.0),
                        Some(index),
                        &e,
                    ),
                });
            }
            CanaryAction::UpdateAlias {
                index,
                function,
                alias,
                version,
                revision_id,
            } => {
                let r = self
                    .update_alias(&function, &alias, &version, HashMap::new(), revision_id)
                    .await;
                out.push(match r {
                    Ok(alias) => CanaryObservation::AliasUpdated { index, alias },
                    Err(e) => failed(format!("UpdateAlias {function}:{alias}"), Some(index), &e),
                });
            }
            CanaryAction::RestoreCode {
                index,
                function,
                version,
                description,
            } => {
                out.push(
                    self.restore_code(index, &function, &version, &description)
                        .await,
                );
            }
            CanaryAction::CreateAlias {
                index,
                function,
                alias,
                version,
            } => {
                let r = self
                    .lambda_call(|| {
                        self.lambda
                            .create_alias()
                            .function_name(&function)
                            .name(&alias)
                            .function_version(&version)
                            .description("created by pipeline-canary (first release)")
                            .send()
                    })
                    .await;
                out.push(match r {
                    Ok(o) => CanaryObservation::AliasCreated {
                        index,
                        alias: alias_view(
                            o.function_version(),
                            o.routing_config(),
                            o.revision_id(),
                        ),
                    },
                    Err(e) if e.code() == Some("ResourceConflictException") => {
                        match self.get_alias(&function, &alias).await? {
                            Some(a) if a.version == version && a.routing.is_none() => {
                                CanaryObservation::AliasCreated { index, alias: a }
                            }
                            other => CanaryObservation::CallFailed {
                                what: format!("CreateAlias {function}:{alias}"),
                                index: Some(index),
                                code: "ResourceConflictException".into(),
                                message: format!(
                                    "the alias appeared meanwhile and serves version {}",
                                    other.map(|a| a.version).unwrap_or_default()
                                ),
                            },
                        }
                    }
                    Err(e) => failed(format!("CreateAlias {function}:{alias}"), Some(index), &e),
                });
            }
        }
        Ok(())
    }

    /// A code-only function back on `version`'s code
    /// ([`LambdaApi::restore_code`]); a failure is reported as `CallFailed`
    /// with an operator's sentence, and the next tick tries again.
    async fn restore_code(
        &self,
        index: usize,
        function: &str,
        version: &str,
        description: &str,
    ) -> CanaryObservation {
        let what = format!("RestoreCode {function} version {version}");
        let Some(api) = &self.restorer else {
            return CanaryObservation::CallFailed {
                what,
                index: Some(index),
                code: "NotConfigured".into(),
                message: "this worker was built without a Lambda release adapter".into(),
            };
        };
        match api.restore_code(function, version, description).await {
            Ok(Restored::Holder(version)) => CanaryObservation::CodeRestored { index, version },
            Ok(Restored::Gone(why)) => CanaryObservation::CodeNotRestorable { index, why },
            Err(e) => CanaryObservation::CallFailed {
                what,
                index: Some(index),
                code: format!("{:?}", e.kind),
                message: e.message,
            },
        }
    }

    /// Errors and Invocations of both versions of each window, summed:
    /// one GetMetricData per [`METRIC_WINDOWS_PER_CALL`] windows (4 queries
    /// each; GetMetricData takes at most 500), all pages.
    async fn metric_counts(
        &self,
        windows: &[MetricWindow],
        until: SystemTime,
    ) -> Result<Vec<MetricCounts>, EngineError> {
        let mut out = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(METRIC_WINDOWS_PER_CALL) {
            // From the minute of the earliest window's start, one data point
            // a minute (Lambda's metrics' resolution); each window sums the
            // points from the minute its own shift began, so the canary and
            // its baseline are counted over the same minutes.
            let minute = |t: SystemTime| {
                let s = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                std::time::UNIX_EPOCH + Duration::from_secs(s - s % 60)
            };
            let since = minute(chunk.iter().map(|w| w.since).min().unwrap_or(until));
            let period = 60;
            // CloudWatch refuses an EndTime in the StartTime's second; a
            // later one (even in the future) only bounds the points.
            let until = until.max(since + Duration::from_secs(60));
            let mut queries = Vec::with_capacity(chunk.len() * 4);
            for w in chunk {
                let resource = format!("{}:{}", w.function, w.alias);
                for (side, version) in [("c", &w.canary_version), ("b", &w.baseline_version)] {
                    for (m, metric) in [("i", "Invocations"), ("e", "Errors")] {
                        let dims = [
                            ("FunctionName", w.function.as_str()),
                            ("Resource", resource.as_str()),
                            ("ExecutedVersion", version.as_str()),
                        ]
                        .into_iter()
                        .map(|(n, v)| cw::types::Dimension::builder().name(n).value(v).build())
                        .collect::<Vec<_>>();
                        queries.push(
                            cw::types::MetricDataQuery::builder()
                                .id(format!("{side}{m}{}", w.index))
                                .metric_stat(
                                    cw::types::MetricStat::builder()
                                        .metric(
                                            cw::types::Metric::builder()
                                                .namespace("AWS/Lambda")
                                                .metric_name(metric)
                                                .set_dimensions(Some(dims))
                                                .build(),
                                        )
                                        .period(period)
                                        .stat("Sum")
                                        .build(),
                                )
                                .return_data(true)
                                .build(),
                        );
                    }
                }
            }
            let from: HashMap<String, SystemTime> = chunk
                .iter()
                .flat_map(|w| {
                    ["ci", "ce", "bi", "be"].map(|k| (format!("{k}{}", w.index), minute(w.since)))
                })
                .collect();
            let mut sums: HashMap<String, f64> = HashMap::new();
            let mut next: Option<String> = None;
            loop {
                let r = self
                    .call(|| {
                        self.cloudwatch
                            .get_metric_data()
                            .set_metric_data_queries(Some(queries.clone()))
                            .start_time(aws_smithy_types::DateTime::from(since))
                            .end_time(aws_smithy_types::DateTime::from(until))
                            .set_next_token(next.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| to_engine("CloudWatch GetMetricData", &e))?;
                for res in r.metric_data_results() {
                    let Some(id) = res.id() else { continue };
                    let start = from.get(id).copied().unwrap_or(since);
                    let total: f64 = res
                        .timestamps()
                        .iter()
                        .zip(res.values())
                        .filter(|(t, _)| SystemTime::try_from(**t).is_ok_and(|t| t >= start))
                        .map(|(_, v)| *v)
                        .sum();
                    *sums.entry(id.to_string()).or_default() += total;
                }
                next = r.next_token().map(str::to_string);
                if next.is_none() {
                    break;
                }
            }
            for w in chunk {
                let n = |k: &str| {
                    sums.get(&format!("{k}{}", w.index))
                        .copied()
                        .unwrap_or(0.0)
                        .max(0.0)
                        .round() as u64
                };
                out.push(MetricCounts {
                    index: w.index,
                    canary: Counts {
                        invocations: n("ci"),
                        errors: n("ce"),
                    },
                    baseline: Counts {
                        invocations: n("bi"),
                        errors: n("be"),
                    },
                });
            }
        }
        Ok(out)
    }

    async fn get_alias(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<AliasView>, EngineError> {
        let r = self
            .lambda_call(|| {
                self.lambda
                    .get_alias()
                    .function_name(function)
                    .name(alias)
                    .send()
            })
            .await;
        match r {
            Ok(o) => Ok(Some(alias_view(
                o.function_version(),
                o.routing_config(),
                o.revision_id(),
            ))),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(to_engine("Lambda GetAlias", &e)),
        }
    }

    /// `ListDeployments`, all pages: account-wide (`group` None) or one
    /// group's; `active` limits to active statuses. Newest first.
    async fn list_deployments(
        &self,
        group: Option<(&str, &str)>,
        active: bool,
    ) -> Result<Vec<String>, EngineError> {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let r = self
                .call(|| {
                    let mut req = self
                        .codedeploy
                        .list_deployments()
                        .set_next_token(next.clone());
                    if let Some((app, g)) = group {
                        req = req.application_name(app).deployment_group_name(g);
                    }
                    if active {
                        for s in DeploymentStatus::ACTIVE {
                            req = req.include_only_statuses(cd::types::DeploymentStatus::from(s));
                        }
                    }
                    req.send()
                })
                .await
                .map_err(|e| to_engine("CodeDeploy ListDeployments", &e))?;
            ids.extend(r.deployments().iter().cloned());
            next = r.next_token().map(str::to_string);
            // One group's newest page is enough to re-find a deployment.
            if next.is_none() || group.is_some() {
                return Ok(ids);
            }
        }
    }

    /// `BatchGetDeployments`, 25 ids a call.
    async fn batch_get(&self, ids: &[String]) -> Result<Vec<DeploymentView>, EngineError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(BATCH_GET_DEPLOYMENTS_MAX) {
            let r = self
                .call(|| {
                    self.codedeploy
                        .batch_get_deployments()
                        .set_deployment_ids(Some(chunk.to_vec()))
                        .send()
                })
                .await
                .map_err(|e| to_engine("CodeDeploy BatchGetDeployments", &e))?;
            out.extend(r.deployments_info().iter().map(view));
        }
        Ok(out)
    }

    /// `DescribeAlarms`, 100 names a call (metric and composite alarms).
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<AlarmView>, EngineError> {
        let mut out = Vec::new();
        for chunk in names.chunks(DESCRIBE_ALARMS_MAX) {
            let r = self
                .call(|| {
                    self.cloudwatch
                        .describe_alarms()
                        .set_alarm_names(Some(chunk.to_vec()))
                        .alarm_types(cw::types::AlarmType::MetricAlarm)
                        .alarm_types(cw::types::AlarmType::CompositeAlarm)
                        .max_records(100)
                        .send()
                })
                .await
                .map_err(|e| to_engine("CloudWatch DescribeAlarms", &e))?;
            let state = |s: Option<&cw::types::StateValue>| match s {
                Some(cw::types::StateValue::Alarm) => AlarmState::Alarm,
                Some(cw::types::StateValue::Ok) => AlarmState::Ok,
                _ => AlarmState::InsufficientData,
            };
            for a in r.metric_alarms() {
                out.push(AlarmView {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    state: state(a.state_value()),
                    reason: a.state_reason().unwrap_or_default().to_string(),
                });
            }
            for a in r.composite_alarms() {
                out.push(AlarmView {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    state: state(a.state_value()),
                    reason: a.state_reason().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(out)
    }
}

fn failed(what: String, index: Option<usize>, e: &CallError) -> CanaryObservation {
    match e {
        CallError::Transient(m) => CanaryObservation::CallFailed {
            what,
            index,
            code: pipeline_canary_core::canary::preflight::TRANSIENT.into(),
            message: m.clone(),
        },
        CallError::Service { code, message } => CanaryObservation::CallFailed {
            what,
            index,
            code: code.clone(),
            message: message.clone(),
        },
    }
}
