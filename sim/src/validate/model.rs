//! Request rules of the operations aws-sim serves, generated from botocore's
//! service models (botocore 1.43.11) by `sim/tools/validation_rules.py`:
//! for each operation, the input members the model marks required and the
//! members whose values it restricts to an enum, as member paths (`a.b`,
//! `list[]` elements, `map{}` keys, `map{*}` values). Do not edit by hand:
//! re-run the script. It knows the models' constraints, not what a service
//! does with a request.

use super::Check::{OneOf, Required};
use super::Location::{Header, Query};
use super::{Parameter, Rule};

/// The rules of `operation` of `service` (a SigV4 service name); empty for
/// an operation aws-sim does not serve.
pub fn rules(service: &str, operation: &str) -> &'static [Rule] {
    match (service, operation) {
        ("codepipeline", "CreateCustomActionType") => CODEPIPELINE_CREATE_CUSTOM_ACTION_TYPE,
        ("codepipeline", "ListActionTypes") => CODEPIPELINE_LIST_ACTION_TYPES,
        ("codepipeline", "DeleteCustomActionType") => CODEPIPELINE_DELETE_CUSTOM_ACTION_TYPE,
        ("codepipeline", "CreatePipeline") => CODEPIPELINE_CREATE_PIPELINE,
        ("codepipeline", "GetPipeline") => CODEPIPELINE_GET_PIPELINE,
        ("codepipeline", "UpdatePipeline") => CODEPIPELINE_UPDATE_PIPELINE,
        ("codepipeline", "DeletePipeline") => CODEPIPELINE_DELETE_PIPELINE,
        ("codepipeline", "StartPipelineExecution") => CODEPIPELINE_START_PIPELINE_EXECUTION,
        ("codepipeline", "StopPipelineExecution") => CODEPIPELINE_STOP_PIPELINE_EXECUTION,
        ("codepipeline", "RetryStageExecution") => CODEPIPELINE_RETRY_STAGE_EXECUTION,
        ("codepipeline", "RollbackStage") => CODEPIPELINE_ROLLBACK_STAGE,
        ("codepipeline", "GetPipelineState") => CODEPIPELINE_GET_PIPELINE_STATE,
        ("codepipeline", "GetPipelineExecution") => CODEPIPELINE_GET_PIPELINE_EXECUTION,
        ("codepipeline", "ListPipelineExecutions") => CODEPIPELINE_LIST_PIPELINE_EXECUTIONS,
        ("codepipeline", "ListActionExecutions") => CODEPIPELINE_LIST_ACTION_EXECUTIONS,
        ("codepipeline", "PollForJobs") => CODEPIPELINE_POLL_FOR_JOBS,
        ("codepipeline", "AcknowledgeJob") => CODEPIPELINE_ACKNOWLEDGE_JOB,
        ("codepipeline", "GetJobDetails") => CODEPIPELINE_GET_JOB_DETAILS,
        ("codepipeline", "PutJobSuccessResult") => CODEPIPELINE_PUT_JOB_SUCCESS_RESULT,
        ("codepipeline", "PutJobFailureResult") => CODEPIPELINE_PUT_JOB_FAILURE_RESULT,
        ("codedeploy", "CreateApplication") => CODEDEPLOY_CREATE_APPLICATION,
        ("codedeploy", "GetApplication") => CODEDEPLOY_GET_APPLICATION,
        ("codedeploy", "BatchGetApplications") => CODEDEPLOY_BATCH_GET_APPLICATIONS,
        ("codedeploy", "DeleteApplication") => CODEDEPLOY_DELETE_APPLICATION,
        ("codedeploy", "CreateDeploymentGroup") => CODEDEPLOY_CREATE_DEPLOYMENT_GROUP,
        ("codedeploy", "GetDeploymentGroup") => CODEDEPLOY_GET_DEPLOYMENT_GROUP,
        ("codedeploy", "UpdateDeploymentGroup") => CODEDEPLOY_UPDATE_DEPLOYMENT_GROUP,
        ("codedeploy", "ListDeploymentGroups") => CODEDEPLOY_LIST_DEPLOYMENT_GROUPS,
        ("codedeploy", "DeleteDeploymentGroup") => CODEDEPLOY_DELETE_DEPLOYMENT_GROUP,
        ("codedeploy", "GetDeploymentConfig") => CODEDEPLOY_GET_DEPLOYMENT_CONFIG,
        ("codedeploy", "CreateDeploymentConfig") => CODEDEPLOY_CREATE_DEPLOYMENT_CONFIG,
        ("codedeploy", "DeleteDeploymentConfig") => CODEDEPLOY_DELETE_DEPLOYMENT_CONFIG,
        ("codedeploy", "CreateDeployment") => CODEDEPLOY_CREATE_DEPLOYMENT,
        ("codedeploy", "GetDeployment") => CODEDEPLOY_GET_DEPLOYMENT,
        ("codedeploy", "BatchGetDeployments") => CODEDEPLOY_BATCH_GET_DEPLOYMENTS,
        ("codedeploy", "ListDeployments") => CODEDEPLOY_LIST_DEPLOYMENTS,
        ("codedeploy", "StopDeployment") => CODEDEPLOY_STOP_DEPLOYMENT,
        ("codedeploy", "GetDeploymentTarget") => CODEDEPLOY_GET_DEPLOYMENT_TARGET,
        ("codedeploy", "ListDeploymentTargets") => CODEDEPLOY_LIST_DEPLOYMENT_TARGETS,
        ("codedeploy", "BatchGetDeploymentTargets") => CODEDEPLOY_BATCH_GET_DEPLOYMENT_TARGETS,
        ("codedeploy", "PutLifecycleEventHookExecutionStatus") => {
            CODEDEPLOY_PUT_LIFECYCLE_EVENT_HOOK_EXECUTION_STATUS
        }
        ("lambda", "CreateFunction") => LAMBDA_CREATE_FUNCTION,
        ("lambda", "UpdateFunctionCode") => LAMBDA_UPDATE_FUNCTION_CODE,
        ("lambda", "UpdateFunctionConfiguration") => LAMBDA_UPDATE_FUNCTION_CONFIGURATION,
        ("lambda", "PublishVersion") => LAMBDA_PUBLISH_VERSION,
        ("lambda", "CreateAlias") => LAMBDA_CREATE_ALIAS,
        ("lambda", "AddPermission") => LAMBDA_ADD_PERMISSION,
        ("monitoring", "PutMetricAlarm") => CLOUDWATCH_PUT_METRIC_ALARM,
        ("monitoring", "DescribeAlarms") => CLOUDWATCH_DESCRIBE_ALARMS,
        ("monitoring", "DeleteAlarms") => CLOUDWATCH_DELETE_ALARMS,
        ("monitoring", "SetAlarmState") => CLOUDWATCH_SET_ALARM_STATE,
        ("monitoring", "PutMetricData") => CLOUDWATCH_PUT_METRIC_DATA,
        ("monitoring", "GetMetricData") => CLOUDWATCH_GET_METRIC_DATA,
        ("monitoring", "GetMetricStatistics") => CLOUDWATCH_GET_METRIC_STATISTICS,
        ("monitoring", "DescribeAlarmHistory") => CLOUDWATCH_DESCRIBE_ALARM_HISTORY,
        _ => &[],
    }
}

/// The headers and query parameters of `operation` of `service` whose
/// values the model restricts to an enum.
pub fn parameters(service: &str, operation: &str) -> &'static [Parameter] {
    match (service, operation) {
        ("lambda", "ListFunctions") => LAMBDA_LIST_FUNCTIONS_PARAMETERS,
        ("lambda", "Invoke") => LAMBDA_INVOKE_PARAMETERS,
        ("s3", "CreateBucket") => S3_CREATE_BUCKET_PARAMETERS,
        ("s3", "PutObject") => S3_PUT_OBJECT_PARAMETERS,
        ("s3", "GetObject") => S3_GET_OBJECT_PARAMETERS,
        ("s3", "HeadObject") => S3_HEAD_OBJECT_PARAMETERS,
        ("s3", "DeleteObject") => S3_DELETE_OBJECT_PARAMETERS,
        ("s3", "DeleteObjects") => S3_DELETE_OBJECTS_PARAMETERS,
        ("s3", "CopyObject") => S3_COPY_OBJECT_PARAMETERS,
        ("s3", "ListObjects") => S3_LIST_OBJECTS_PARAMETERS,
        ("s3", "ListObjectsV2") => S3_LIST_OBJECTS_V2_PARAMETERS,
        ("s3", "CreateMultipartUpload") => S3_CREATE_MULTIPART_UPLOAD_PARAMETERS,
        ("s3", "UploadPart") => S3_UPLOAD_PART_PARAMETERS,
        ("s3", "UploadPartCopy") => S3_UPLOAD_PART_COPY_PARAMETERS,
        ("s3", "CompleteMultipartUpload") => S3_COMPLETE_MULTIPART_UPLOAD_PARAMETERS,
        ("s3", "AbortMultipartUpload") => S3_ABORT_MULTIPART_UPLOAD_PARAMETERS,
        ("s3", "ListParts") => S3_LIST_PARTS_PARAMETERS,
        ("s3", "ListMultipartUploads") => S3_LIST_MULTIPART_UPLOADS_PARAMETERS,
        _ => &[],
    }
}

const CODEPIPELINE_CREATE_CUSTOM_ACTION_TYPE: &[Rule] = &[
    Rule {
        path: "category",
        check: Required,
    },
    Rule {
        path: "category",
        check: OneOf(CODEPIPELINE_ACTION_CATEGORY),
    },
    Rule {
        path: "provider",
        check: Required,
    },
    Rule {
        path: "version",
        check: Required,
    },
    Rule {
        path: "configurationProperties[].name",
        check: Required,
    },
    Rule {
        path: "configurationProperties[].required",
        check: Required,
    },
    Rule {
        path: "configurationProperties[].key",
        check: Required,
    },
    Rule {
        path: "configurationProperties[].secret",
        check: Required,
    },
    Rule {
        path: "configurationProperties[].type",
        check: OneOf(CODEPIPELINE_ACTION_CONFIGURATION_PROPERTY_TYPE),
    },
    Rule {
        path: "inputArtifactDetails",
        check: Required,
    },
    Rule {
        path: "inputArtifactDetails.minimumCount",
        check: Required,
    },
    Rule {
        path: "inputArtifactDetails.maximumCount",
        check: Required,
    },
    Rule {
        path: "outputArtifactDetails",
        check: Required,
    },
    Rule {
        path: "outputArtifactDetails.minimumCount",
        check: Required,
    },
    Rule {
        path: "outputArtifactDetails.maximumCount",
        check: Required,
    },
    Rule {
        path: "tags[].key",
        check: Required,
    },
    Rule {
        path: "tags[].value",
        check: Required,
    },
];

const CODEPIPELINE_LIST_ACTION_TYPES: &[Rule] = &[Rule {
    path: "actionOwnerFilter",
    check: OneOf(CODEPIPELINE_ACTION_OWNER),
}];

const CODEPIPELINE_DELETE_CUSTOM_ACTION_TYPE: &[Rule] = &[
    Rule {
        path: "category",
        check: Required,
    },
    Rule {
        path: "category",
        check: OneOf(CODEPIPELINE_ACTION_CATEGORY),
    },
    Rule {
        path: "provider",
        check: Required,
    },
    Rule {
        path: "version",
        check: Required,
    },
];

const CODEPIPELINE_CREATE_PIPELINE: &[Rule] = &[
    Rule {
        path: "pipeline",
        check: Required,
    },
    Rule {
        path: "pipeline.name",
        check: Required,
    },
    Rule {
        path: "pipeline.roleArn",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.type",
        check: OneOf(CODEPIPELINE_ARTIFACT_STORE_TYPE),
    },
    Rule {
        path: "pipeline.artifactStore.location",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.id",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.type",
        check: OneOf(CODEPIPELINE_ENCRYPTION_KEY_TYPE),
    },
    Rule {
        path: "pipeline.artifactStores{*}.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.type",
        check: OneOf(CODEPIPELINE_ARTIFACT_STORE_TYPE),
    },
    Rule {
        path: "pipeline.artifactStores{*}.location",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.id",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.type",
        check: OneOf(CODEPIPELINE_ENCRYPTION_KEY_TYPE),
    },
    Rule {
        path: "pipeline.stages",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].type",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].type",
        check: OneOf(CODEPIPELINE_BLOCKER_TYPE),
    },
    Rule {
        path: "pipeline.stages[].actions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.category",
        check: OneOf(CODEPIPELINE_ACTION_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.owner",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.owner",
        check: OneOf(CODEPIPELINE_ACTION_OWNER),
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.version",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].outputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].value",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].type",
        check: OneOf(CODEPIPELINE_ENVIRONMENT_VARIABLE_TYPE),
    },
    Rule {
        path: "pipeline.stages[].onFailure.result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onFailure.retryConfiguration.retryMode",
        check: OneOf(CODEPIPELINE_STAGE_RETRY_MODE),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.executionMode",
        check: OneOf(CODEPIPELINE_EXECUTION_MODE),
    },
    Rule {
        path: "pipeline.pipelineType",
        check: OneOf(CODEPIPELINE_PIPELINE_TYPE),
    },
    Rule {
        path: "pipeline.variables[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].providerType",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].providerType",
        check: OneOf(CODEPIPELINE_PIPELINE_TRIGGER_PROVIDER_TYPE),
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration.sourceActionName",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration.pullRequest[].events[]",
        check: OneOf(CODEPIPELINE_GIT_PULL_REQUEST_EVENT_TYPE),
    },
    Rule {
        path: "tags[].key",
        check: Required,
    },
    Rule {
        path: "tags[].value",
        check: Required,
    },
];

const CODEPIPELINE_GET_PIPELINE: &[Rule] = &[Rule {
    path: "name",
    check: Required,
}];

const CODEPIPELINE_UPDATE_PIPELINE: &[Rule] = &[
    Rule {
        path: "pipeline",
        check: Required,
    },
    Rule {
        path: "pipeline.name",
        check: Required,
    },
    Rule {
        path: "pipeline.roleArn",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.type",
        check: OneOf(CODEPIPELINE_ARTIFACT_STORE_TYPE),
    },
    Rule {
        path: "pipeline.artifactStore.location",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.id",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStore.encryptionKey.type",
        check: OneOf(CODEPIPELINE_ENCRYPTION_KEY_TYPE),
    },
    Rule {
        path: "pipeline.artifactStores{*}.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.type",
        check: OneOf(CODEPIPELINE_ARTIFACT_STORE_TYPE),
    },
    Rule {
        path: "pipeline.artifactStores{*}.location",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.id",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.type",
        check: Required,
    },
    Rule {
        path: "pipeline.artifactStores{*}.encryptionKey.type",
        check: OneOf(CODEPIPELINE_ENCRYPTION_KEY_TYPE),
    },
    Rule {
        path: "pipeline.stages",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].type",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].blockers[].type",
        check: OneOf(CODEPIPELINE_BLOCKER_TYPE),
    },
    Rule {
        path: "pipeline.stages[].actions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.category",
        check: OneOf(CODEPIPELINE_ACTION_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.owner",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.owner",
        check: OneOf(CODEPIPELINE_ACTION_OWNER),
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].actionTypeId.version",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].outputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].value",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].actions[].environmentVariables[].type",
        check: OneOf(CODEPIPELINE_ENVIRONMENT_VARIABLE_TYPE),
    },
    Rule {
        path: "pipeline.stages[].onFailure.result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onFailure.retryConfiguration.retryMode",
        check: OneOf(CODEPIPELINE_STAGE_RETRY_MODE),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onFailure.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].onSuccess.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].result",
        check: OneOf(CODEPIPELINE_RESULT),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.category",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.category",
        check: OneOf(CODEPIPELINE_RULE_CATEGORY),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.owner",
        check: OneOf(CODEPIPELINE_RULE_OWNER),
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].ruleTypeId.provider",
        check: Required,
    },
    Rule {
        path: "pipeline.stages[].beforeEntry.conditions[].rules[].inputArtifacts[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.executionMode",
        check: OneOf(CODEPIPELINE_EXECUTION_MODE),
    },
    Rule {
        path: "pipeline.pipelineType",
        check: OneOf(CODEPIPELINE_PIPELINE_TYPE),
    },
    Rule {
        path: "pipeline.variables[].name",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].providerType",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].providerType",
        check: OneOf(CODEPIPELINE_PIPELINE_TRIGGER_PROVIDER_TYPE),
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration.sourceActionName",
        check: Required,
    },
    Rule {
        path: "pipeline.triggers[].gitConfiguration.pullRequest[].events[]",
        check: OneOf(CODEPIPELINE_GIT_PULL_REQUEST_EVENT_TYPE),
    },
];

const CODEPIPELINE_DELETE_PIPELINE: &[Rule] = &[Rule {
    path: "name",
    check: Required,
}];

const CODEPIPELINE_START_PIPELINE_EXECUTION: &[Rule] = &[
    Rule {
        path: "name",
        check: Required,
    },
    Rule {
        path: "variables[].name",
        check: Required,
    },
    Rule {
        path: "variables[].value",
        check: Required,
    },
    Rule {
        path: "sourceRevisions[].actionName",
        check: Required,
    },
    Rule {
        path: "sourceRevisions[].revisionType",
        check: Required,
    },
    Rule {
        path: "sourceRevisions[].revisionType",
        check: OneOf(CODEPIPELINE_SOURCE_REVISION_TYPE),
    },
    Rule {
        path: "sourceRevisions[].revisionValue",
        check: Required,
    },
];

const CODEPIPELINE_STOP_PIPELINE_EXECUTION: &[Rule] = &[
    Rule {
        path: "pipelineName",
        check: Required,
    },
    Rule {
        path: "pipelineExecutionId",
        check: Required,
    },
];

const CODEPIPELINE_RETRY_STAGE_EXECUTION: &[Rule] = &[
    Rule {
        path: "pipelineName",
        check: Required,
    },
    Rule {
        path: "stageName",
        check: Required,
    },
    Rule {
        path: "pipelineExecutionId",
        check: Required,
    },
    Rule {
        path: "retryMode",
        check: Required,
    },
    Rule {
        path: "retryMode",
        check: OneOf(CODEPIPELINE_STAGE_RETRY_MODE),
    },
];

const CODEPIPELINE_ROLLBACK_STAGE: &[Rule] = &[
    Rule {
        path: "pipelineName",
        check: Required,
    },
    Rule {
        path: "stageName",
        check: Required,
    },
    Rule {
        path: "targetPipelineExecutionId",
        check: Required,
    },
];

const CODEPIPELINE_GET_PIPELINE_STATE: &[Rule] = &[Rule {
    path: "name",
    check: Required,
}];

const CODEPIPELINE_GET_PIPELINE_EXECUTION: &[Rule] = &[
    Rule {
        path: "pipelineName",
        check: Required,
    },
    Rule {
        path: "pipelineExecutionId",
        check: Required,
    },
];

const CODEPIPELINE_LIST_PIPELINE_EXECUTIONS: &[Rule] = &[Rule {
    path: "pipelineName",
    check: Required,
}];

const CODEPIPELINE_LIST_ACTION_EXECUTIONS: &[Rule] = &[
    Rule {
        path: "pipelineName",
        check: Required,
    },
    Rule {
        path: "filter.latestInPipelineExecution.pipelineExecutionId",
        check: Required,
    },
    Rule {
        path: "filter.latestInPipelineExecution.startTimeRange",
        check: Required,
    },
    Rule {
        path: "filter.latestInPipelineExecution.startTimeRange",
        check: OneOf(CODEPIPELINE_START_TIME_RANGE),
    },
];

const CODEPIPELINE_POLL_FOR_JOBS: &[Rule] = &[
    Rule {
        path: "actionTypeId",
        check: Required,
    },
    Rule {
        path: "actionTypeId.category",
        check: Required,
    },
    Rule {
        path: "actionTypeId.category",
        check: OneOf(CODEPIPELINE_ACTION_CATEGORY),
    },
    Rule {
        path: "actionTypeId.owner",
        check: Required,
    },
    Rule {
        path: "actionTypeId.owner",
        check: OneOf(CODEPIPELINE_ACTION_OWNER),
    },
    Rule {
        path: "actionTypeId.provider",
        check: Required,
    },
    Rule {
        path: "actionTypeId.version",
        check: Required,
    },
];

const CODEPIPELINE_ACKNOWLEDGE_JOB: &[Rule] = &[
    Rule {
        path: "jobId",
        check: Required,
    },
    Rule {
        path: "nonce",
        check: Required,
    },
];

const CODEPIPELINE_GET_JOB_DETAILS: &[Rule] = &[Rule {
    path: "jobId",
    check: Required,
}];

const CODEPIPELINE_PUT_JOB_SUCCESS_RESULT: &[Rule] = &[
    Rule {
        path: "jobId",
        check: Required,
    },
    Rule {
        path: "currentRevision.revision",
        check: Required,
    },
    Rule {
        path: "currentRevision.changeIdentifier",
        check: Required,
    },
];

const CODEPIPELINE_PUT_JOB_FAILURE_RESULT: &[Rule] = &[
    Rule {
        path: "jobId",
        check: Required,
    },
    Rule {
        path: "failureDetails",
        check: Required,
    },
    Rule {
        path: "failureDetails.type",
        check: Required,
    },
    Rule {
        path: "failureDetails.type",
        check: OneOf(CODEPIPELINE_FAILURE_TYPE),
    },
    Rule {
        path: "failureDetails.message",
        check: Required,
    },
];

const CODEDEPLOY_CREATE_APPLICATION: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "computePlatform",
        check: OneOf(CODEDEPLOY_COMPUTE_PLATFORM),
    },
];

const CODEDEPLOY_GET_APPLICATION: &[Rule] = &[Rule {
    path: "applicationName",
    check: Required,
}];

const CODEDEPLOY_BATCH_GET_APPLICATIONS: &[Rule] = &[Rule {
    path: "applicationNames",
    check: Required,
}];

const CODEDEPLOY_DELETE_APPLICATION: &[Rule] = &[Rule {
    path: "applicationName",
    check: Required,
}];

const CODEDEPLOY_CREATE_DEPLOYMENT_GROUP: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "deploymentGroupName",
        check: Required,
    },
    Rule {
        path: "ec2TagFilters[].Type",
        check: OneOf(CODEDEPLOY_EC2_TAG_FILTER_TYPE),
    },
    Rule {
        path: "onPremisesInstanceTagFilters[].Type",
        check: OneOf(CODEDEPLOY_TAG_FILTER_TYPE),
    },
    Rule {
        path: "serviceRoleArn",
        check: Required,
    },
    Rule {
        path: "triggerConfigurations[].triggerEvents[]",
        check: OneOf(CODEDEPLOY_TRIGGER_EVENT_TYPE),
    },
    Rule {
        path: "autoRollbackConfiguration.events[]",
        check: OneOf(CODEDEPLOY_AUTO_ROLLBACK_EVENT),
    },
    Rule {
        path: "outdatedInstancesStrategy",
        check: OneOf(CODEDEPLOY_OUTDATED_INSTANCES_STRATEGY),
    },
    Rule {
        path: "deploymentStyle.deploymentType",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_TYPE),
    },
    Rule {
        path: "deploymentStyle.deploymentOption",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_OPTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.terminateBlueInstancesOnDeploymentSuccess.action",
        check: OneOf(CODEDEPLOY_INSTANCE_ACTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.deploymentReadyOption.actionOnTimeout",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_READY_ACTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.greenFleetProvisioningOption.action",
        check: OneOf(CODEDEPLOY_GREEN_FLEET_PROVISIONING_ACTION),
    },
];

const CODEDEPLOY_GET_DEPLOYMENT_GROUP: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "deploymentGroupName",
        check: Required,
    },
];

const CODEDEPLOY_UPDATE_DEPLOYMENT_GROUP: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "currentDeploymentGroupName",
        check: Required,
    },
    Rule {
        path: "ec2TagFilters[].Type",
        check: OneOf(CODEDEPLOY_EC2_TAG_FILTER_TYPE),
    },
    Rule {
        path: "onPremisesInstanceTagFilters[].Type",
        check: OneOf(CODEDEPLOY_TAG_FILTER_TYPE),
    },
    Rule {
        path: "triggerConfigurations[].triggerEvents[]",
        check: OneOf(CODEDEPLOY_TRIGGER_EVENT_TYPE),
    },
    Rule {
        path: "autoRollbackConfiguration.events[]",
        check: OneOf(CODEDEPLOY_AUTO_ROLLBACK_EVENT),
    },
    Rule {
        path: "outdatedInstancesStrategy",
        check: OneOf(CODEDEPLOY_OUTDATED_INSTANCES_STRATEGY),
    },
    Rule {
        path: "deploymentStyle.deploymentType",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_TYPE),
    },
    Rule {
        path: "deploymentStyle.deploymentOption",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_OPTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.terminateBlueInstancesOnDeploymentSuccess.action",
        check: OneOf(CODEDEPLOY_INSTANCE_ACTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.deploymentReadyOption.actionOnTimeout",
        check: OneOf(CODEDEPLOY_DEPLOYMENT_READY_ACTION),
    },
    Rule {
        path: "blueGreenDeploymentConfiguration.greenFleetProvisioningOption.action",
        check: OneOf(CODEDEPLOY_GREEN_FLEET_PROVISIONING_ACTION),
    },
];

const CODEDEPLOY_LIST_DEPLOYMENT_GROUPS: &[Rule] = &[Rule {
    path: "applicationName",
    check: Required,
}];

const CODEDEPLOY_DELETE_DEPLOYMENT_GROUP: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "deploymentGroupName",
        check: Required,
    },
];

const CODEDEPLOY_GET_DEPLOYMENT_CONFIG: &[Rule] = &[Rule {
    path: "deploymentConfigName",
    check: Required,
}];

const CODEDEPLOY_CREATE_DEPLOYMENT_CONFIG: &[Rule] = &[
    Rule {
        path: "deploymentConfigName",
        check: Required,
    },
    Rule {
        path: "minimumHealthyHosts.type",
        check: OneOf(CODEDEPLOY_MINIMUM_HEALTHY_HOSTS_TYPE),
    },
    Rule {
        path: "trafficRoutingConfig.type",
        check: OneOf(CODEDEPLOY_TRAFFIC_ROUTING_TYPE),
    },
    Rule {
        path: "computePlatform",
        check: OneOf(CODEDEPLOY_COMPUTE_PLATFORM),
    },
    Rule {
        path: "zonalConfig.minimumHealthyHostsPerZone.type",
        check: OneOf(CODEDEPLOY_MINIMUM_HEALTHY_HOSTS_PER_ZONE_TYPE),
    },
];

const CODEDEPLOY_DELETE_DEPLOYMENT_CONFIG: &[Rule] = &[Rule {
    path: "deploymentConfigName",
    check: Required,
}];

const CODEDEPLOY_CREATE_DEPLOYMENT: &[Rule] = &[
    Rule {
        path: "applicationName",
        check: Required,
    },
    Rule {
        path: "revision.revisionType",
        check: OneOf(CODEDEPLOY_REVISION_LOCATION_TYPE),
    },
    Rule {
        path: "revision.s3Location.bundleType",
        check: OneOf(CODEDEPLOY_BUNDLE_TYPE),
    },
    Rule {
        path: "targetInstances.tagFilters[].Type",
        check: OneOf(CODEDEPLOY_EC2_TAG_FILTER_TYPE),
    },
    Rule {
        path: "autoRollbackConfiguration.events[]",
        check: OneOf(CODEDEPLOY_AUTO_ROLLBACK_EVENT),
    },
    Rule {
        path: "fileExistsBehavior",
        check: OneOf(CODEDEPLOY_FILE_EXISTS_BEHAVIOR),
    },
];

const CODEDEPLOY_GET_DEPLOYMENT: &[Rule] = &[Rule {
    path: "deploymentId",
    check: Required,
}];

const CODEDEPLOY_BATCH_GET_DEPLOYMENTS: &[Rule] = &[Rule {
    path: "deploymentIds",
    check: Required,
}];

const CODEDEPLOY_LIST_DEPLOYMENTS: &[Rule] = &[Rule {
    path: "includeOnlyStatuses[]",
    check: OneOf(CODEDEPLOY_DEPLOYMENT_STATUS),
}];

const CODEDEPLOY_STOP_DEPLOYMENT: &[Rule] = &[Rule {
    path: "deploymentId",
    check: Required,
}];

const CODEDEPLOY_GET_DEPLOYMENT_TARGET: &[Rule] = &[
    Rule {
        path: "deploymentId",
        check: Required,
    },
    Rule {
        path: "targetId",
        check: Required,
    },
];

const CODEDEPLOY_LIST_DEPLOYMENT_TARGETS: &[Rule] = &[
    Rule {
        path: "deploymentId",
        check: Required,
    },
    Rule {
        path: "targetFilters{}",
        check: OneOf(CODEDEPLOY_TARGET_FILTER_NAME),
    },
];

const CODEDEPLOY_BATCH_GET_DEPLOYMENT_TARGETS: &[Rule] = &[
    Rule {
        path: "deploymentId",
        check: Required,
    },
    Rule {
        path: "targetIds",
        check: Required,
    },
];

const CODEDEPLOY_PUT_LIFECYCLE_EVENT_HOOK_EXECUTION_STATUS: &[Rule] = &[Rule {
    path: "status",
    check: OneOf(CODEDEPLOY_LIFECYCLE_EVENT_STATUS),
}];

const LAMBDA_CREATE_FUNCTION: &[Rule] = &[
    Rule {
        path: "FunctionName",
        check: Required,
    },
    Rule {
        path: "Runtime",
        check: OneOf(LAMBDA_RUNTIME),
    },
    Rule {
        path: "Role",
        check: Required,
    },
    Rule {
        path: "Code",
        check: Required,
    },
    Rule {
        path: "PackageType",
        check: OneOf(LAMBDA_PACKAGE_TYPE),
    },
    Rule {
        path: "TracingConfig.Mode",
        check: OneOf(LAMBDA_TRACING_MODE),
    },
    Rule {
        path: "FileSystemConfigs[].Arn",
        check: Required,
    },
    Rule {
        path: "FileSystemConfigs[].LocalMountPath",
        check: Required,
    },
    Rule {
        path: "Architectures[]",
        check: OneOf(LAMBDA_ARCHITECTURE),
    },
    Rule {
        path: "EphemeralStorage.Size",
        check: Required,
    },
    Rule {
        path: "SnapStart.ApplyOn",
        check: OneOf(LAMBDA_SNAP_START_APPLY_ON),
    },
    Rule {
        path: "LoggingConfig.LogFormat",
        check: OneOf(LAMBDA_LOG_FORMAT),
    },
    Rule {
        path: "LoggingConfig.ApplicationLogLevel",
        check: OneOf(LAMBDA_APPLICATION_LOG_LEVEL),
    },
    Rule {
        path: "LoggingConfig.SystemLogLevel",
        check: OneOf(LAMBDA_SYSTEM_LOG_LEVEL),
    },
    Rule {
        path: "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig",
        check: Required,
    },
    Rule {
        path: "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn",
        check: Required,
    },
    Rule {
        path: "PublishTo",
        check: OneOf(LAMBDA_FUNCTION_VERSION_LATEST_PUBLISHED),
    },
    Rule {
        path: "TenancyConfig.TenantIsolationMode",
        check: Required,
    },
    Rule {
        path: "TenancyConfig.TenantIsolationMode",
        check: OneOf(LAMBDA_TENANT_ISOLATION_MODE),
    },
];

const LAMBDA_UPDATE_FUNCTION_CODE: &[Rule] = &[
    Rule {
        path: "Architectures[]",
        check: OneOf(LAMBDA_ARCHITECTURE),
    },
    Rule {
        path: "PublishTo",
        check: OneOf(LAMBDA_FUNCTION_VERSION_LATEST_PUBLISHED),
    },
];

const LAMBDA_UPDATE_FUNCTION_CONFIGURATION: &[Rule] = &[
    Rule {
        path: "Runtime",
        check: OneOf(LAMBDA_RUNTIME),
    },
    Rule {
        path: "TracingConfig.Mode",
        check: OneOf(LAMBDA_TRACING_MODE),
    },
    Rule {
        path: "FileSystemConfigs[].Arn",
        check: Required,
    },
    Rule {
        path: "FileSystemConfigs[].LocalMountPath",
        check: Required,
    },
    Rule {
        path: "EphemeralStorage.Size",
        check: Required,
    },
    Rule {
        path: "SnapStart.ApplyOn",
        check: OneOf(LAMBDA_SNAP_START_APPLY_ON),
    },
    Rule {
        path: "LoggingConfig.LogFormat",
        check: OneOf(LAMBDA_LOG_FORMAT),
    },
    Rule {
        path: "LoggingConfig.ApplicationLogLevel",
        check: OneOf(LAMBDA_APPLICATION_LOG_LEVEL),
    },
    Rule {
        path: "LoggingConfig.SystemLogLevel",
        check: OneOf(LAMBDA_SYSTEM_LOG_LEVEL),
    },
    Rule {
        path: "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig",
        check: Required,
    },
    Rule {
        path: "CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn",
        check: Required,
    },
];

const LAMBDA_LIST_FUNCTIONS_PARAMETERS: &[Parameter] = &[Parameter {
    location: Query,
    name: "FunctionVersion",
    member: "FunctionVersion",
    values: LAMBDA_FUNCTION_VERSION,
    list: false,
}];

const LAMBDA_PUBLISH_VERSION: &[Rule] = &[Rule {
    path: "PublishTo",
    check: OneOf(LAMBDA_FUNCTION_VERSION_LATEST_PUBLISHED),
}];

const LAMBDA_CREATE_ALIAS: &[Rule] = &[
    Rule {
        path: "Name",
        check: Required,
    },
    Rule {
        path: "FunctionVersion",
        check: Required,
    },
];

const LAMBDA_INVOKE_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "X-Amz-Invocation-Type",
        member: "InvocationType",
        values: LAMBDA_INVOCATION_TYPE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "X-Amz-Log-Type",
        member: "LogType",
        values: LAMBDA_LOG_TYPE,
        list: false,
    },
];

const LAMBDA_ADD_PERMISSION: &[Rule] = &[
    Rule {
        path: "StatementId",
        check: Required,
    },
    Rule {
        path: "Action",
        check: Required,
    },
    Rule {
        path: "Principal",
        check: Required,
    },
    Rule {
        path: "FunctionUrlAuthType",
        check: OneOf(LAMBDA_FUNCTION_URL_AUTH_TYPE),
    },
];

const CLOUDWATCH_PUT_METRIC_ALARM: &[Rule] = &[
    Rule {
        path: "AlarmName",
        check: Required,
    },
    Rule {
        path: "Statistic",
        check: OneOf(CLOUDWATCH_STATISTIC),
    },
    Rule {
        path: "Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
    Rule {
        path: "ComparisonOperator",
        check: OneOf(CLOUDWATCH_COMPARISON_OPERATOR),
    },
    Rule {
        path: "Metrics[].Id",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Metric",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Metric.Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Metric.Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Period",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Stat",
        check: Required,
    },
    Rule {
        path: "Metrics[].MetricStat.Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
    Rule {
        path: "Tags[].Key",
        check: Required,
    },
    Rule {
        path: "Tags[].Value",
        check: Required,
    },
    Rule {
        path: "EvaluationCriteria.PromQLCriteria.Query",
        check: Required,
    },
];

const CLOUDWATCH_DESCRIBE_ALARMS: &[Rule] = &[
    Rule {
        path: "AlarmTypes[]",
        check: OneOf(CLOUDWATCH_ALARM_TYPE),
    },
    Rule {
        path: "StateValue",
        check: OneOf(CLOUDWATCH_STATE_VALUE),
    },
];

const CLOUDWATCH_DELETE_ALARMS: &[Rule] = &[Rule {
    path: "AlarmNames",
    check: Required,
}];

const CLOUDWATCH_SET_ALARM_STATE: &[Rule] = &[
    Rule {
        path: "AlarmName",
        check: Required,
    },
    Rule {
        path: "StateValue",
        check: Required,
    },
    Rule {
        path: "StateValue",
        check: OneOf(CLOUDWATCH_STATE_VALUE),
    },
    Rule {
        path: "StateReason",
        check: Required,
    },
];

const CLOUDWATCH_PUT_METRIC_DATA: &[Rule] = &[
    Rule {
        path: "Namespace",
        check: Required,
    },
    Rule {
        path: "MetricData[].MetricName",
        check: Required,
    },
    Rule {
        path: "MetricData[].Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "MetricData[].Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "MetricData[].StatisticValues.SampleCount",
        check: Required,
    },
    Rule {
        path: "MetricData[].StatisticValues.Sum",
        check: Required,
    },
    Rule {
        path: "MetricData[].StatisticValues.Minimum",
        check: Required,
    },
    Rule {
        path: "MetricData[].StatisticValues.Maximum",
        check: Required,
    },
    Rule {
        path: "MetricData[].Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
    Rule {
        path: "EntityMetricData[].MetricData[].MetricName",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].StatisticValues.SampleCount",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].StatisticValues.Sum",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].StatisticValues.Minimum",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].StatisticValues.Maximum",
        check: Required,
    },
    Rule {
        path: "EntityMetricData[].MetricData[].Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
];

const CLOUDWATCH_GET_METRIC_DATA: &[Rule] = &[
    Rule {
        path: "MetricDataQueries",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].Id",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Metric",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Metric.Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Metric.Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Period",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Stat",
        check: Required,
    },
    Rule {
        path: "MetricDataQueries[].MetricStat.Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
    Rule {
        path: "StartTime",
        check: Required,
    },
    Rule {
        path: "EndTime",
        check: Required,
    },
    Rule {
        path: "ScanBy",
        check: OneOf(CLOUDWATCH_SCAN_BY),
    },
];

const CLOUDWATCH_GET_METRIC_STATISTICS: &[Rule] = &[
    Rule {
        path: "Namespace",
        check: Required,
    },
    Rule {
        path: "MetricName",
        check: Required,
    },
    Rule {
        path: "Dimensions[].Name",
        check: Required,
    },
    Rule {
        path: "Dimensions[].Value",
        check: Required,
    },
    Rule {
        path: "StartTime",
        check: Required,
    },
    Rule {
        path: "EndTime",
        check: Required,
    },
    Rule {
        path: "Period",
        check: Required,
    },
    Rule {
        path: "Statistics[]",
        check: OneOf(CLOUDWATCH_STATISTIC),
    },
    Rule {
        path: "Unit",
        check: OneOf(CLOUDWATCH_STANDARD_UNIT),
    },
];

const CLOUDWATCH_DESCRIBE_ALARM_HISTORY: &[Rule] = &[
    Rule {
        path: "AlarmTypes[]",
        check: OneOf(CLOUDWATCH_ALARM_TYPE),
    },
    Rule {
        path: "HistoryItemType",
        check: OneOf(CLOUDWATCH_HISTORY_ITEM_TYPE),
    },
    Rule {
        path: "ScanBy",
        check: OneOf(CLOUDWATCH_SCAN_BY),
    },
];

const S3_CREATE_BUCKET_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-acl",
        member: "ACL",
        values: S3_BUCKET_CANNED_ACL,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-ownership",
        member: "ObjectOwnership",
        values: S3_OBJECT_OWNERSHIP,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-bucket-namespace",
        member: "BucketNamespace",
        values: S3_BUCKET_NAMESPACE,
        list: false,
    },
];

const S3_PUT_OBJECT_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-acl",
        member: "ACL",
        values: S3_OBJECT_CANNED_ACL,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-sdk-checksum-algorithm",
        member: "ChecksumAlgorithm",
        values: S3_CHECKSUM_ALGORITHM,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-server-side-encryption",
        member: "ServerSideEncryption",
        values: S3_SERVER_SIDE_ENCRYPTION,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-storage-class",
        member: "StorageClass",
        values: S3_STORAGE_CLASS,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-mode",
        member: "ObjectLockMode",
        values: S3_OBJECT_LOCK_MODE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-legal-hold",
        member: "ObjectLockLegalHoldStatus",
        values: S3_OBJECT_LOCK_LEGAL_HOLD_STATUS,
        list: false,
    },
];

const S3_GET_OBJECT_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-checksum-mode",
        member: "ChecksumMode",
        values: S3_CHECKSUM_MODE,
        list: false,
    },
];

const S3_HEAD_OBJECT_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-checksum-mode",
        member: "ChecksumMode",
        values: S3_CHECKSUM_MODE,
        list: false,
    },
];

const S3_DELETE_OBJECT_PARAMETERS: &[Parameter] = &[Parameter {
    location: Header,
    name: "x-amz-request-payer",
    member: "RequestPayer",
    values: S3_REQUEST_PAYER,
    list: false,
}];

const S3_DELETE_OBJECTS_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-sdk-checksum-algorithm",
        member: "ChecksumAlgorithm",
        values: S3_CHECKSUM_ALGORITHM,
        list: false,
    },
];

const S3_COPY_OBJECT_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-acl",
        member: "ACL",
        values: S3_OBJECT_CANNED_ACL,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-checksum-algorithm",
        member: "ChecksumAlgorithm",
        values: S3_CHECKSUM_ALGORITHM,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-metadata-directive",
        member: "MetadataDirective",
        values: S3_METADATA_DIRECTIVE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-tagging-directive",
        member: "TaggingDirective",
        values: S3_TAGGING_DIRECTIVE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-server-side-encryption",
        member: "ServerSideEncryption",
        values: S3_SERVER_SIDE_ENCRYPTION,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-storage-class",
        member: "StorageClass",
        values: S3_STORAGE_CLASS,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-mode",
        member: "ObjectLockMode",
        values: S3_OBJECT_LOCK_MODE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-legal-hold",
        member: "ObjectLockLegalHoldStatus",
        values: S3_OBJECT_LOCK_LEGAL_HOLD_STATUS,
        list: false,
    },
];

const S3_LIST_OBJECTS_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Query,
        name: "encoding-type",
        member: "EncodingType",
        values: S3_ENCODING_TYPE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-optional-object-attributes",
        member: "OptionalObjectAttributes",
        values: S3_OPTIONAL_OBJECT_ATTRIBUTES,
        list: true,
    },
];

const S3_LIST_OBJECTS_V2_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Query,
        name: "encoding-type",
        member: "EncodingType",
        values: S3_ENCODING_TYPE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-optional-object-attributes",
        member: "OptionalObjectAttributes",
        values: S3_OPTIONAL_OBJECT_ATTRIBUTES,
        list: true,
    },
];

const S3_CREATE_MULTIPART_UPLOAD_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-acl",
        member: "ACL",
        values: S3_OBJECT_CANNED_ACL,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-server-side-encryption",
        member: "ServerSideEncryption",
        values: S3_SERVER_SIDE_ENCRYPTION,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-storage-class",
        member: "StorageClass",
        values: S3_STORAGE_CLASS,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-mode",
        member: "ObjectLockMode",
        values: S3_OBJECT_LOCK_MODE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-object-lock-legal-hold",
        member: "ObjectLockLegalHoldStatus",
        values: S3_OBJECT_LOCK_LEGAL_HOLD_STATUS,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-checksum-algorithm",
        member: "ChecksumAlgorithm",
        values: S3_CHECKSUM_ALGORITHM,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-checksum-type",
        member: "ChecksumType",
        values: S3_CHECKSUM_TYPE,
        list: false,
    },
];

const S3_UPLOAD_PART_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-sdk-checksum-algorithm",
        member: "ChecksumAlgorithm",
        values: S3_CHECKSUM_ALGORITHM,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
];

const S3_UPLOAD_PART_COPY_PARAMETERS: &[Parameter] = &[Parameter {
    location: Header,
    name: "x-amz-request-payer",
    member: "RequestPayer",
    values: S3_REQUEST_PAYER,
    list: false,
}];

const S3_COMPLETE_MULTIPART_UPLOAD_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Header,
        name: "x-amz-checksum-type",
        member: "ChecksumType",
        values: S3_CHECKSUM_TYPE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
];

const S3_ABORT_MULTIPART_UPLOAD_PARAMETERS: &[Parameter] = &[Parameter {
    location: Header,
    name: "x-amz-request-payer",
    member: "RequestPayer",
    values: S3_REQUEST_PAYER,
    list: false,
}];

const S3_LIST_PARTS_PARAMETERS: &[Parameter] = &[Parameter {
    location: Header,
    name: "x-amz-request-payer",
    member: "RequestPayer",
    values: S3_REQUEST_PAYER,
    list: false,
}];

const S3_LIST_MULTIPART_UPLOADS_PARAMETERS: &[Parameter] = &[
    Parameter {
        location: Query,
        name: "encoding-type",
        member: "EncodingType",
        values: S3_ENCODING_TYPE,
        list: false,
    },
    Parameter {
        location: Header,
        name: "x-amz-request-payer",
        member: "RequestPayer",
        values: S3_REQUEST_PAYER,
        list: false,
    },
];

pub const CLOUDWATCH_ALARM_TYPE: &[&str] = &["CompositeAlarm", "MetricAlarm"];

pub const CLOUDWATCH_COMPARISON_OPERATOR: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];

pub const CLOUDWATCH_HISTORY_ITEM_TYPE: &[&str] = &[
    "ConfigurationUpdate",
    "StateUpdate",
    "Action",
    "AlarmContributorStateUpdate",
    "AlarmContributorAction",
];

pub const CLOUDWATCH_SCAN_BY: &[&str] = &["TimestampDescending", "TimestampAscending"];

pub const CLOUDWATCH_STANDARD_UNIT: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

pub const CLOUDWATCH_STATE_VALUE: &[&str] = &["OK", "ALARM", "INSUFFICIENT_DATA"];

pub const CLOUDWATCH_STATISTIC: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

pub const CODEDEPLOY_AUTO_ROLLBACK_EVENT: &[&str] = &[
    "DEPLOYMENT_FAILURE",
    "DEPLOYMENT_STOP_ON_ALARM",
    "DEPLOYMENT_STOP_ON_REQUEST",
];

pub const CODEDEPLOY_BUNDLE_TYPE: &[&str] = &["tar", "tgz", "zip", "YAML", "JSON"];

pub const CODEDEPLOY_COMPUTE_PLATFORM: &[&str] = &["Server", "Lambda", "ECS"];

pub const CODEDEPLOY_DEPLOYMENT_OPTION: &[&str] =
    &["WITH_TRAFFIC_CONTROL", "WITHOUT_TRAFFIC_CONTROL"];

pub const CODEDEPLOY_DEPLOYMENT_READY_ACTION: &[&str] = &["CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"];

pub const CODEDEPLOY_DEPLOYMENT_STATUS: &[&str] = &[
    "Created",
    "Queued",
    "InProgress",
    "Baking",
    "Succeeded",
    "Failed",
    "Stopped",
    "Ready",
];

pub const CODEDEPLOY_DEPLOYMENT_TYPE: &[&str] = &["IN_PLACE", "BLUE_GREEN"];

pub const CODEDEPLOY_EC2_TAG_FILTER_TYPE: &[&str] = &["KEY_ONLY", "VALUE_ONLY", "KEY_AND_VALUE"];

pub const CODEDEPLOY_FILE_EXISTS_BEHAVIOR: &[&str] = &["DISALLOW", "OVERWRITE", "RETAIN"];

pub const CODEDEPLOY_GREEN_FLEET_PROVISIONING_ACTION: &[&str] =
    &["DISCOVER_EXISTING", "COPY_AUTO_SCALING_GROUP"];

pub const CODEDEPLOY_INSTANCE_ACTION: &[&str] = &["TERMINATE", "KEEP_ALIVE"];

pub const CODEDEPLOY_LIFECYCLE_EVENT_STATUS: &[&str] = &[
    "Pending",
    "InProgress",
    "Succeeded",
    "Failed",
    "Skipped",
    "Unknown",
];

pub const CODEDEPLOY_MINIMUM_HEALTHY_HOSTS_PER_ZONE_TYPE: &[&str] =
    &["HOST_COUNT", "FLEET_PERCENT"];

pub const CODEDEPLOY_MINIMUM_HEALTHY_HOSTS_TYPE: &[&str] = &["HOST_COUNT", "FLEET_PERCENT"];

pub const CODEDEPLOY_OUTDATED_INSTANCES_STRATEGY: &[&str] = &["UPDATE", "IGNORE"];

pub const CODEDEPLOY_REVISION_LOCATION_TYPE: &[&str] =
    &["S3", "GitHub", "String", "AppSpecContent"];

pub const CODEDEPLOY_TAG_FILTER_TYPE: &[&str] = &["KEY_ONLY", "VALUE_ONLY", "KEY_AND_VALUE"];

pub const CODEDEPLOY_TARGET_FILTER_NAME: &[&str] = &["TargetStatus", "ServerInstanceLabel"];

pub const CODEDEPLOY_TRAFFIC_ROUTING_TYPE: &[&str] =
    &["TimeBasedCanary", "TimeBasedLinear", "AllAtOnce"];

pub const CODEDEPLOY_TRIGGER_EVENT_TYPE: &[&str] = &[
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
    "DeploymentReady",
    "InstanceStart",
    "InstanceSuccess",
    "InstanceFailure",
    "InstanceReady",
];

pub const CODEPIPELINE_ACTION_CATEGORY: &[&str] = &[
    "Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute",
];

pub const CODEPIPELINE_ACTION_CONFIGURATION_PROPERTY_TYPE: &[&str] =
    &["String", "Number", "Boolean"];

pub const CODEPIPELINE_ACTION_OWNER: &[&str] = &["AWS", "ThirdParty", "Custom"];

pub const CODEPIPELINE_ARTIFACT_STORE_TYPE: &[&str] = &["S3"];

pub const CODEPIPELINE_BLOCKER_TYPE: &[&str] = &["Schedule"];

pub const CODEPIPELINE_ENCRYPTION_KEY_TYPE: &[&str] = &["KMS"];

pub const CODEPIPELINE_ENVIRONMENT_VARIABLE_TYPE: &[&str] = &["PLAINTEXT", "SECRETS_MANAGER"];

pub const CODEPIPELINE_EXECUTION_MODE: &[&str] = &["QUEUED", "SUPERSEDED", "PARALLEL"];

pub const CODEPIPELINE_FAILURE_TYPE: &[&str] = &[
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
];

pub const CODEPIPELINE_GIT_PULL_REQUEST_EVENT_TYPE: &[&str] = &["OPEN", "UPDATED", "CLOSED"];

pub const CODEPIPELINE_PIPELINE_TRIGGER_PROVIDER_TYPE: &[&str] = &["CodeStarSourceConnection"];

pub const CODEPIPELINE_PIPELINE_TYPE: &[&str] = &["V1", "V2"];

pub const CODEPIPELINE_RESULT: &[&str] = &["ROLLBACK", "FAIL", "RETRY", "SKIP"];

pub const CODEPIPELINE_RULE_CATEGORY: &[&str] = &["Rule"];

pub const CODEPIPELINE_RULE_OWNER: &[&str] = &["AWS"];

pub const CODEPIPELINE_SOURCE_REVISION_TYPE: &[&str] = &[
    "COMMIT_ID",
    "IMAGE_DIGEST",
    "S3_OBJECT_VERSION_ID",
    "S3_OBJECT_KEY",
];

pub const CODEPIPELINE_STAGE_RETRY_MODE: &[&str] = &["FAILED_ACTIONS", "ALL_ACTIONS"];

pub const CODEPIPELINE_START_TIME_RANGE: &[&str] = &["Latest", "All"];

pub const LAMBDA_APPLICATION_LOG_LEVEL: &[&str] =
    &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

pub const LAMBDA_ARCHITECTURE: &[&str] = &["x86_64", "arm64"];

pub const LAMBDA_FUNCTION_URL_AUTH_TYPE: &[&str] = &["NONE", "AWS_IAM"];

pub const LAMBDA_FUNCTION_VERSION: &[&str] = &["ALL"];

pub const LAMBDA_FUNCTION_VERSION_LATEST_PUBLISHED: &[&str] = &["LATEST_PUBLISHED"];

pub const LAMBDA_INVOCATION_TYPE: &[&str] = &["Event", "RequestResponse", "DryRun"];

pub const LAMBDA_LOG_FORMAT: &[&str] = &["JSON", "Text"];

pub const LAMBDA_LOG_TYPE: &[&str] = &["None", "Tail"];

pub const LAMBDA_PACKAGE_TYPE: &[&str] = &["Zip", "Image"];

pub const LAMBDA_RUNTIME: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
    "python3.13",
    "nodejs22.x",
    "nodejs24.x",
    "python3.14",
    "java25",
    "dotnet10",
    "ruby4.0",
];

pub const LAMBDA_SNAP_START_APPLY_ON: &[&str] = &["PublishedVersions", "None"];

pub const LAMBDA_SYSTEM_LOG_LEVEL: &[&str] = &["DEBUG", "INFO", "WARN"];

pub const LAMBDA_TENANT_ISOLATION_MODE: &[&str] = &["PER_TENANT"];

pub const LAMBDA_TRACING_MODE: &[&str] = &["Active", "PassThrough"];

pub const S3_BUCKET_CANNED_ACL: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
];

pub const S3_BUCKET_LOCATION_CONSTRAINT: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "EU",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

pub const S3_BUCKET_NAMESPACE: &[&str] = &["account-regional", "global"];

pub const S3_BUCKET_TYPE: &[&str] = &["Directory"];

pub const S3_CHECKSUM_ALGORITHM: &[&str] = &[
    "CRC32",
    "CRC32C",
    "SHA1",
    "SHA256",
    "CRC64NVME",
    "SHA512",
    "MD5",
    "XXHASH64",
    "XXHASH3",
    "XXHASH128",
];

pub const S3_CHECKSUM_MODE: &[&str] = &["ENABLED"];

pub const S3_CHECKSUM_TYPE: &[&str] = &["COMPOSITE", "FULL_OBJECT"];

pub const S3_DATA_REDUNDANCY: &[&str] = &["SingleAvailabilityZone", "SingleLocalZone"];

pub const S3_ENCODING_TYPE: &[&str] = &["url"];

pub const S3_LOCATION_TYPE: &[&str] = &["AvailabilityZone", "LocalZone"];

pub const S3_METADATA_DIRECTIVE: &[&str] = &["COPY", "REPLACE"];

pub const S3_OBJECT_CANNED_ACL: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

pub const S3_OBJECT_LOCK_LEGAL_HOLD_STATUS: &[&str] = &["ON", "OFF"];

pub const S3_OBJECT_LOCK_MODE: &[&str] = &["GOVERNANCE", "COMPLIANCE"];

pub const S3_OBJECT_OWNERSHIP: &[&str] = &[
    "BucketOwnerPreferred",
    "ObjectWriter",
    "BucketOwnerEnforced",
];

pub const S3_OPTIONAL_OBJECT_ATTRIBUTES: &[&str] = &["RestoreStatus"];

pub const S3_REQUEST_PAYER: &[&str] = &["requester"];

pub const S3_SERVER_SIDE_ENCRYPTION: &[&str] = &["AES256", "aws:fsx", "aws:kms", "aws:kms:dsse"];

pub const S3_STORAGE_CLASS: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
    "FSX_ONTAP",
];

pub const S3_TAGGING_DIRECTIVE: &[&str] = &["COPY", "REPLACE"];
