//! The conformance walk: every operation aws-sim serves, in every service,
//! is sent requests the botocore service models say AWS refuses, and each
//! answer must be that service's own validation error, named as the model
//! names it. Nothing aws-sim serves may accept what AWS would refuse.
//!
//! What is sent. The models are read at run time from the botocore that
//! python3 imports, so the walk follows the models and cannot drift from
//! them. Requests go through boto3 with `parameter_validation=False` (the Rust
//! SDK, like boto3 by default, refuses a request missing a required member
//! before sending it): boto3 serialises every protocol (awsJson1_1,
//! restJson1, restXml, Smithy RPC v2 CBOR) and signs, so the driver below
//! only builds parameters. For each operation of `aws_sim::operations()`:
//! - a *baseline*: the model's required members plus what the operation
//!   needs to be valid (e.g. a whole pipeline declaration); it must not be
//!   refused as invalid, which proves the other requests wrong only where
//!   they are meant to be;
//! - *required*: the baseline without one required member, at every depth
//!   (members of list elements and nested structures included);
//! - *enum*: the baseline with `NotAValidEnumValue` in one member the model
//!   restricts to an enum (body members at every depth, list elements, map
//!   keys, headers and query parameters);
//! - *unsupported*: every operation of the model aws-sim does not serve, which
//!   must be answered as an unknown operation (so `OPERATIONS` and the
//!   dispatch agree).
//!
//! How answers are judged (HTTP 400 unless said otherwise, and the message
//! must name the member, or the code must, as CodeDeploy's do):
//! - CodePipeline: `ValidationException` (every operation's model lists it);
//! - CodeDeploy: the operation's modeled exception for the member
//!   (`ApplicationNameRequiredException`, `RoleRequiredException`,
//!   `InvalidDeploymentStyleException`, …);
//! - Lambda: `ValidationException`, which live Lambda's request validation
//!   sends although the model lists only `InvalidParameterValueException`
//!   (also accepted);
//! - CloudWatch: `MissingParameter` / `InvalidParameterValue` where the
//!   operation's model lists them, else `ValidationError` (sim/README.md's
//!   decisions);
//! - S3: the error S3 gives that header or element (`InvalidArgument`,
//!   `InvalidStorageClass`, `InvalidRequest` for checksum headers,
//!   `InvalidLocationConstraint`, `MalformedXML`; a HEAD answer has no body:
//!   its status). Without some members an S3 request *is* another
//!   operation (CopyObject without `x-amz-copy-source` is a PutObject, an
//!   AbortMultipartUpload without `uploadId` a DeleteObject): those must get
//!   that operation's answer. URI labels (bucket, key, function name) are not
//!   walked: without them a request names another resource.
//!
//! Requests the client itself refuses to build are counted as not sendable.
//! Without python3 and boto3 the test fails when `CI` is set, and prints
//! "skipped" otherwise.

use std::collections::BTreeMap;

use e2e::{SimConfig, start_sim};

/// The driver: Python, run with `python3 -c`, the endpoint as its argument
/// and the plan on stdin.
const DRIVER: &str = r##"
"""The conformance walk's driver (tests/tests/sim_conformance.rs runs it).

Reads botocore's service models and, through boto3 with client-side
validation off, sends aws-sim: for each operation of the plan (stdin: {botocore
service: [operations]}) a baseline request (the model's required members plus
what the operation needs to be valid), one request per required member
without it, one per enum member (headers and query parameters included) with
a value outside the enum; and for every operation of the model outside the
plan, one request. Prints one JSON object per request on stdout and judges
nothing: the Rust test does."""
import copy
import datetime
import io
import json
import re
import sys
import zipfile

import boto3
import botocore
from botocore.config import Config
from botocore.loaders import Loader

INVALID_ENUM = "NotAValidEnumValue"
MAX_DEPTH = 6


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(e, c):\n    return None\n")
    return buf.getvalue()


NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

# Values for members whose constraints a generic value cannot meet, by
# member name (any service). Everything else is generated from the shape.
OVERRIDES = {
    "Role": "arn:aws:iam::123456789012:role/conformance",
    "serviceRoleArn": "arn:aws:iam::123456789012:role/conformance",
    "roleArn": "arn:aws:iam::123456789012:role/conformance",
    "Runtime": "python3.12",
    "Handler": "index.handler",
    "ZipFile": zip_bytes(),
    "FunctionVersion": "1",
    "Principal": "s3.amazonaws.com",
    "Action": "lambda:InvokeFunction",
    "computePlatform": "Lambda",
    "deploymentId": "d-ABCDEFGHI",
    "deploymentIds": ["d-ABCDEFGHI"],
    "StartTime": NOW - datetime.timedelta(hours=1),
    "EndTime": NOW,
    "StartDate": NOW - datetime.timedelta(hours=1),
    "EndDate": NOW,
    "Timestamp": NOW,
    "Period": 60,
    "Bucket": "conformance-bucket",
    "Key": "conformance/key",
    "CopySource": "conformance-bucket/conformance/source",
    "PartNumber": 1,
    "UploadId": "conformance-upload-id",
    "jobId": "11111111-2222-3333-4444-555555555555",
    "nonce": "1",
    "pipelineExecutionId": "11111111-2222-3333-4444-555555555555",
    "clientToken": "11111111-2222-3333-4444-555555555555",
    "Namespace": "Conformance",
    "Statistic": "Sum",
    "Stat": "Sum",
    "ComparisonOperator": "GreaterThanThreshold",
    "Id": "m1",
    "Qualifier": "live",
}

ROLE = "arn:aws:iam::123456789012:role/conformance"

# S3 baselines that need the sim's state (filled in by s3_setup).
S3_BASE = {}

# Members that make a request valid beyond what the model marks required
# (conditionally required members, values the handlers need), by operation.
# A function of the walked path where the operation has alternative forms.
def base(service, op, path):
    p = ".".join(str(x) for x in path)
    if service == "s3" and op in S3_BASE:
        return S3_BASE[op]()
    if service == "cloudwatch":
        metric_stat = {"Metric": {"Namespace": "Conformance", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}
        if op == "PutMetricAlarm":
            common = {"EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0}
            if p.startswith("Metrics"):
                return dict(common, Metrics=[{"Id": "m1", "MetricStat": metric_stat, "ReturnData": True}])
            return dict(common, Namespace="Conformance", MetricName="M", Statistic="Sum", Period=60)
        if op == "PutMetricData":
            if p.startswith("EntityMetricData"):
                return {"EntityMetricData": [{"Entity": {}, "MetricData": [{"MetricName": "M", "Value": 1.0}]}]}
            return {"MetricData": [{"MetricName": "M", "Value": 1.0}]}
        if op == "GetMetricData":
            return {"MetricDataQueries": [{"Id": "m1", "MetricStat": metric_stat}]}
        if op == "GetMetricStatistics":
            return {"Statistics": ["Sum"]}
    if service == "lambda":
        if op == "CreateFunction":
            return {"Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": zip_bytes()}}
        if op == "UpdateFunctionCode":
            return {"ZipFile": zip_bytes()}
    if service == "codedeploy":
        if op == "CreateDeployment":
            return {"deploymentGroupName": "conformance",
                    "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}}}
        if op == "CreateDeploymentConfig":
            return {"computePlatform": "Lambda", "trafficRoutingConfig": {"type": "AllAtOnce"}}
        if op == "PutLifecycleEventHookExecutionStatus":
            return {"deploymentId": "d-ABCDEFGHI", "lifecycleEventHookExecutionId": "conformance", "status": "Succeeded"}
    if service == "codepipeline":
        if op in ("CreatePipeline", "UpdatePipeline"):
            return {"pipeline": {
                "name": "conformance", "roleArn": ROLE,
                "artifactStore": {"type": "S3", "location": "conformance-artifacts"},
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": "conformance-bucket", "S3ObjectKey": "source.zip"},
                        "outputArtifacts": [{"name": "SourceArtifact"}]}]},
                    {"name": "Build", "actions": [{
                        "name": "Build",
                        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "configuration": {"ProjectName": "conformance"},
                        "inputArtifacts": [{"name": "SourceArtifact"}]}]}]}}
        if op == "CreateCustomActionType":
            return {"category": "Deploy", "provider": "Conformance", "version": "1",
                    "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
                    "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 0}}
        if op == "PollForJobs":
            return {"actionTypeId": {"category": "Deploy", "owner": "Custom", "provider": "Conformance", "version": "1"}}
        if op == "PutJobFailureResult":
            return {"failureDetails": {"type": "JobFailed", "message": "conformance"}}
        if op == "RetryStageExecution":
            return {"retryMode": "FAILED_ACTIONS"}
    return {}


CANDIDATES = [
    "conformance",
    "conformance-1",
    "Conformance",
    "c1",
    "1",
    "a",
    "arn:aws:iam::123456789012:role/conformance",
    "arn:aws:lambda:us-east-1:123456789012:function:conformance",
    "11111111-2222-3333-4444-555555555555",
]


class Gen:
    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]

    def string(self, shape, name):
        if "enum" in shape:
            return shape["enum"][0]
        lo = shape.get("min", 1)
        hi = shape.get("max", 1024)
        pattern = shape.get("pattern")
        for c in CANDIDATES:
            v = c
            if len(v) < lo:
                v = v + "x" * (lo - len(v))
            if len(v) > hi:
                continue
            if pattern is None:
                return v
            try:
                if re.fullmatch(pattern, v):
                    return v
            except re.error:
                return v
        return "x" * max(lo, 1)

    def value(self, shape_name, name, depth=0):
        if name in OVERRIDES:
            v = OVERRIDES[name]
            if callable(v):
                v = v()
            shape = self.shapes[shape_name]
            if shape["type"] == "list" and not isinstance(v, list):
                return [v]
            return copy.deepcopy(v)
        shape = self.shapes[shape_name]
        t = shape["type"]
        if t == "structure":
            return self.structure(shape_name, depth + 1)
        if t == "list":
            n = max(shape.get("min", 1), 1)
            return [self.value(shape["member"]["shape"], name, depth + 1) for _ in range(n)]
        if t == "map":
            return {self.value(shape["key"]["shape"], "key", depth + 1): self.value(shape["value"]["shape"], "value", depth + 1)}
        if t == "string":
            return self.string(shape, name)
        if t in ("integer", "long"):
            lo = shape.get("min", 1)
            return max(lo, 1) if shape.get("max", 10**9) >= 1 else lo
        if t in ("double", "float"):
            return 1.0
        if t == "boolean":
            return False
        if t == "timestamp":
            return NOW
        if t == "blob":
            return b"x"
        raise ValueError(f"unknown type {t}")

    def structure(self, shape_name, depth=0):
        shape = self.shapes[shape_name]
        out = {}
        if depth > MAX_DEPTH:
            return out
        for m in shape.get("required", []):
            out[m] = self.value(shape["members"][m]["shape"], m, depth)
        return out


def required_paths(gen, shape_name, params, prefix, depth=0):
    """Paths (lists of keys/indexes) of every required member present in params."""
    shape = gen.shapes[shape_name]
    if depth > MAX_DEPTH:
        return
    for m in shape.get("required", []):
        ms = shape["members"][m]
        yield prefix + [m], ms
        sub = gen.shapes[ms["shape"]]
        if m not in params:
            continue
        if sub["type"] == "structure":
            yield from required_paths(gen, ms["shape"], params[m], prefix + [m], depth + 1)
        elif sub["type"] == "list" and gen.shapes[sub["member"]["shape"]]["type"] == "structure" and params[m]:
            yield from required_paths(gen, sub["member"]["shape"], params[m][0], prefix + [m, 0], depth + 1)


def enum_paths(gen, shape_name, prefix, depth=0, seen=()):
    """Paths to every enum-typed member (optional ones included), through
    structures and the first element of lists; map keys that are enums too."""
    shape = gen.shapes[shape_name]
    if depth > MAX_DEPTH or shape_name in seen:
        return
    for m, ms in shape.get("members", {}).items():
        sub = gen.shapes[ms["shape"]]
        if sub["type"] == "map" and "enum" in gen.shapes[sub["key"]["shape"]]:
            yield prefix + [m], ms, "map-key"
        if sub["type"] == "string" and "enum" in sub:
            yield prefix + [m], ms, "value"
        elif sub["type"] == "list":
            el = gen.shapes[sub["member"]["shape"]]
            if el["type"] == "string" and "enum" in el:
                yield prefix + [m], ms, "list"
            elif el["type"] == "structure":
                yield from enum_paths(gen, sub["member"]["shape"], prefix + [m, 0], depth + 1, seen + (shape_name,))
        elif sub["type"] == "structure":
            yield from enum_paths(gen, ms["shape"], prefix + [m], depth + 1, seen + (shape_name,))


def merged(gen, input_shape, service, op, path):
    params = gen.structure(input_shape)
    params.update(copy.deepcopy(base(service, op, path)))
    return params


def remove(params, path):
    p = copy.deepcopy(params)
    cur = p
    for k in path[:-1]:
        cur = cur[k]
    del cur[path[-1]]
    return p


def set_path(gen, input_shape, params, path, value):
    """Sets path in params, creating parent structures (with their required
    members) and one-element lists on the way."""
    p = copy.deepcopy(params)
    cur = p
    shape = gen.shapes[input_shape]
    for i, k in enumerate(path[:-1]):
        if isinstance(k, int):
            sub_name = shape["member"]["shape"]
            if not cur:
                cur.append(gen.structure(sub_name, 1))
            cur = cur[0]
            shape = gen.shapes[sub_name]
            continue
        ms = shape["members"][k]
        sub = gen.shapes[ms["shape"]]
        if k not in cur:
            cur[k] = [] if sub["type"] == "list" else gen.structure(ms["shape"], 1)
        cur = cur[k]
        shape = sub
    cur[path[-1]] = value
    return p


def send(client, op, params):
    method = getattr(client, botocore.xform_name(op))
    try:
        r = method(**params)
        status = r.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        body = r.get("Body") or r.get("Payload")
        if body is not None:
            body.read()
        return {"outcome": "answer", "status": status, "code": None, "message": None}
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        return {
            "outcome": "answer",
            "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0),
            "code": err.get("Code"),
            "message": err.get("Message"),
        }
    except Exception as e:  # the client could not build or send the request
        return {"outcome": "client", "status": 0, "code": type(e).__name__, "message": str(e)}


def s3_setup(client):
    """The bucket, objects and uploads the S3 requests name, so that only the
    member under test is wrong."""
    client.create_bucket(Bucket="conformance-bucket")
    for key in ("conformance/source", "conformance/key"):
        client.put_object(Bucket="conformance-bucket", Key=key, Body=b"conformance")
    # A fresh upload for every request that names one: a request that
    # succeeds (a baseline, a missing member S3 does not need) may consume it.
    OVERRIDES["UploadId"] = lambda: client.create_multipart_upload(
        Bucket="conformance-bucket", Key="conformance/key")["UploadId"]

    def completable():
        # An upload with one part, and the part list that completes it.
        up = OVERRIDES["UploadId"]()
        part = client.upload_part(Bucket="conformance-bucket", Key="conformance/key",
                                  UploadId=up, PartNumber=1, Body=b"conformance")
        return {"UploadId": up,
                "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}}
    S3_BASE["CompleteMultipartUpload"] = completable


def main():
    endpoint = sys.argv[1]
    plan = json.load(sys.stdin)
    loader = Loader()
    session = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name="us-east-1",
    )
    config = Config(
        parameter_validation=False,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
        connect_timeout=10,
        read_timeout=60,
    )
    for service, operations in plan.items():
        model = loader.load_service_model(service, "service-2")
        gen = Gen(model)
        client = session.client(service, endpoint_url=endpoint, config=config)
        protocol = model["metadata"]["protocol"]
        if service == "s3":
            s3_setup(client)
        for op in sorted(set(model["operations"]) - set(operations)):
            o = model["operations"][op]
            params = gen.structure(o["input"]["shape"]) if "input" in o else {}
            rec = {"service": service, "operation": op, "protocol": protocol, "modeled": [],
                   "kind": "unsupported", "path": [], "member": "", "location": "body", "locationName": None}
            rec.update(send(client, op, params))
            print(json.dumps(rec), flush=True)
        for op in operations:
            o = model["operations"].get(op)
            if o is None:
                print(json.dumps({"service": service, "operation": op, "kind": "unknown-operation"}), flush=True)
                continue
            errors = []
            for e in o.get("errors", []):
                es = model["shapes"][e["shape"]]
                errors.append((es.get("error") or {}).get("code") or e["shape"])
            base = {"service": service, "operation": op, "protocol": protocol, "modeled": errors}
            if "input" not in o:
                continue
            input_shape = o["input"]["shape"]
            skeleton = merged(gen, input_shape, service, op, [])
            rec = dict(base, kind="baseline", path=[], member="", location="body", locationName=None)
            rec.update(send(client, op, skeleton))
            print(json.dumps(rec), flush=True)
            for path, ms, in required_paths(gen, input_shape, skeleton, []):
                rec = dict(base, kind="required", path=[str(x) for x in path],
                           member=path[-1], location=ms.get("location", "body"),
                           locationName=ms.get("locationName"))
                if ms.get("location") == "uri":
                    rec["outcome"] = "skipped"
                    print(json.dumps(rec), flush=True)
                    continue
                rec.update(send(client, op, remove(skeleton, path)))
                print(json.dumps(rec), flush=True)
            for path, ms, form in enum_paths(gen, input_shape, []):
                if ms.get("location") == "uri":
                    continue
                skeleton = merged(gen, input_shape, service, op, path)
                if form == "map-key":
                    sub = gen.shapes[ms["shape"]]
                    value = {INVALID_ENUM: gen.value(sub["value"]["shape"], "value", 1)}
                else:
                    value = [INVALID_ENUM] if form == "list" else INVALID_ENUM
                rec = dict(base, kind="enum", path=[str(x) for x in path], member=path[-1],
                           location=ms.get("location", "body"), locationName=ms.get("locationName"))
                rec.update(send(client, op, set_path(gen, input_shape, skeleton, path, value)))
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
"##;

/// botocore's service name for a sim service (its SigV4 name).
fn botocore_name(service: &str) -> &str {
    match service {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

/// One request of the walk and its answer, as the driver reports it.
#[derive(Debug, serde::Deserialize)]
struct Record {
    service: String,
    operation: String,
    kind: String,
    #[serde(default)]
    path: Vec<String>,
    #[serde(default)]
    member: String,
    #[serde(default)]
    location: String,
    #[serde(rename = "locationName", default)]
    location_name: Option<String>,
    #[serde(default)]
    modeled: Vec<String>,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Record {
    fn path(&self) -> String {
        self.path.join(".")
    }

    fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }

    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or("")
    }

    fn describe(&self) -> String {
        format!(
            "{} {} {} {}{} -> {} {} {:?}",
            self.service,
            self.operation,
            self.kind,
            self.path(),
            self.location_name
                .as_deref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default(),
            self.status,
            self.code(),
            self.message()
        )
    }
}

/// Lower case, letters and digits only.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether `text` names `member` (`applicationNames` also as `applicationName`).
fn names(text: &str, member: &str) -> bool {
    let (t, m) = (norm(text), norm(member));
    !m.is_empty() && (t.contains(&m) || m.strip_suffix('s').is_some_and(|s| t.contains(s)))
}

/// Codes that say "your request is malformed": a baseline must get none.
fn is_validation_code(code: &str) -> bool {
    matches!(
        code,
        "ValidationException"
            | "ValidationError"
            | "MissingParameter"
            | "InvalidParameterValue"
            | "InvalidParameterValueException"
            | "InvalidParameterCombination"
            | "SerializationException"
            | "InvalidArgument"
            | "MalformedXML"
    ) || code.ends_with("RequiredException")
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Pass,
    /// Not sent, with the reason.
    NotSent(&'static str),
    Fail(String),
}

fn judge(r: &Record) -> Verdict {
    match r.outcome.as_str() {
        "skipped" => return Verdict::NotSent("a URI label"),
        "client" => return Verdict::NotSent("the client refuses to build it"),
        _ => {}
    }
    let fail = |why: &str| Verdict::Fail(format!("{why}: {}", r.describe()));
    match r.kind.as_str() {
        "unknown-operation" => fail("aws-sim serves an operation the model does not have"),
        "unsupported" => {
            let unknown = match r.service.as_str() {
                "s3" => {
                    (r.status == 501 && r.code() == "NotImplemented")
                        // A request signed for another service (s3express):
                        // the sim's unknown-service answer, which is not XML.
                        || (r.status == 400 && r.code() == "400")
                }
                "lambda" => r.status == 404 && r.code() == "UnknownOperationException",
                "cloudwatch" => r.status == 400 && r.code() == "InvalidAction",
                _ => r.status == 400 && r.code() == "UnknownOperationException",
            };
            if unknown {
                Verdict::Pass
            } else {
                fail("an operation aws-sim does not list is not answered as unknown")
            }
        }
        "baseline" => {
            if r.status >= 500 || is_validation_code(r.code()) {
                fail("the baseline request is refused as invalid")
            } else {
                Verdict::Pass
            }
        }
        "required" | "enum" => {
            let ok = match r.service.as_str() {
                "s3" => return judge_s3(r),
                "codepipeline" => r.code() == "ValidationException" && names_member(r),
                "lambda" => {
                    matches!(
                        r.code(),
                        "ValidationException" | "InvalidParameterValueException"
                    ) && names_member(r)
                }
                "cloudwatch" => {
                    let expected = match r.kind.as_str() {
                        "required" if r.modeled.iter().any(|c| c == "MissingParameter") => {
                            "MissingParameter"
                        }
                        "enum" if r.modeled.iter().any(|c| c == "InvalidParameterValue") => {
                            "InvalidParameterValue"
                        }
                        _ => "ValidationError",
                    };
                    r.code() == expected && names_member(r)
                }
                "codedeploy" => {
                    let modeled = r.modeled.iter().any(|c| c == r.code());
                    let fits = if r.kind == "required" {
                        // `DeploymentGroupNameRequiredException` for
                        // `currentDeploymentGroupName`, `RoleRequiredException`
                        // for `serviceRoleArn`.
                        r.code()
                            .strip_suffix("RequiredException")
                            .is_some_and(|stem| {
                                let (stem, member) = (norm(stem), norm(&r.member));
                                let singular = member.strip_suffix('s').unwrap_or(&member);
                                member.contains(&stem) || stem.contains(singular)
                            })
                    } else {
                        r.code().starts_with("Invalid") && names_member(r)
                    };
                    modeled && fits
                }
                _ => false,
            };
            if r.status == 400 && ok {
                Verdict::Pass
            } else {
                fail("not the service's validation error for this member")
            }
        }
        _ => fail("unknown record kind"),
    }
}

/// The message names the member (its last path step, or its full path).
fn names_member(r: &Record) -> bool {
    names(r.message(), &r.member) || names(r.message(), &r.path())
}

/// What S3 answers a request without a required member or with a value
/// outside an enum (see the module documentation).
fn judge_s3(r: &Record) -> Verdict {
    enum Expect {
        Error(u16, &'static str),
        /// The request is another operation (named for the reader): any
        /// answer that operation may give.
        Is(#[allow(dead_code)] &'static str),
    }
    let key = r.location_name.clone().unwrap_or_else(|| r.path());
    let expect = match (r.kind.as_str(), r.operation.as_str(), key.as_str()) {
        ("required", "CopyObject", "x-amz-copy-source") => Expect::Is("PutObject"),
        ("required", "UploadPartCopy", "x-amz-copy-source") => Expect::Is("UploadPart"),
        ("required", "AbortMultipartUpload", "uploadId") => Expect::Is("DeleteObject"),
        ("required", "ListParts", "uploadId") => Expect::Is("GetObject"),
        ("required", "UploadPart" | "UploadPartCopy", "partNumber" | "uploadId") => {
            Expect::Error(400, "InvalidArgument")
        }
        ("required", "CompleteMultipartUpload", "uploadId") => {
            Expect::Error(405, "MethodNotAllowed")
        }
        ("required", "DeleteObjects", _) => Expect::Error(400, "MalformedXML"),
        ("enum", _, "x-amz-storage-class") => Expect::Error(400, "InvalidStorageClass"),
        (
            "enum",
            _,
            "x-amz-checksum-algorithm" | "x-amz-sdk-checksum-algorithm" | "x-amz-checksum-type",
        ) => Expect::Error(400, "InvalidRequest"),
        ("enum", "CreateBucket", "CreateBucketConfiguration.LocationConstraint") => {
            Expect::Error(400, "InvalidLocationConstraint")
        }
        ("enum", "CreateBucket", k) if k.starts_with("CreateBucketConfiguration.") => {
            Expect::Error(400, "MalformedXML")
        }
        ("enum", _, _) if r.location == "header" || r.location == "querystring" => {
            Expect::Error(400, "InvalidArgument")
        }
        _ => {
            return Verdict::Fail(format!(
                "no expectation for this S3 member (a new model member?): {}",
                r.describe()
            ));
        }
    };
    let ok = match expect {
        // A HEAD answer carries no body: only its status.
        Expect::Error(status, _) if r.operation.starts_with("Head") => r.status == status,
        Expect::Error(status, code) => r.status == status && r.code() == code,
        Expect::Is(_) => r.status < 500 && !is_validation_code(r.code()),
    };
    if ok {
        Verdict::Pass
    } else {
        Verdict::Fail(format!("not S3's answer for this member: {}", r.describe()))
    }
}

/// python3 with boto3, or why not.
fn python() -> Result<String, String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import boto3, botocore; print(botocore.__version__)"])
        .output()
        .map_err(|e| format!("python3 cannot be run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "python3 cannot import boto3: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test]
async fn every_operation_refuses_what_the_model_refuses() {
    let botocore = match python() {
        Ok(v) => v,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the conformance walk needs python3 with boto3 and CI is set: {why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
    };
    let sim = start_sim(SimConfig::default()).await;
    let plan: BTreeMap<&str, &[&str]> = aws_sim::operations()
        .into_iter()
        .map(|(service, ops)| (botocore_name(service), ops))
        .collect();
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", DRIVER, &sim.endpoint()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python3");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&serde_json::to_vec(&plan).unwrap())
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "the driver failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Record> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();

    // Tally per service: operations walked, requests per kind, verdicts.
    let mut failures = Vec::new();
    let mut tally: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut not_sent: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in &records {
        let verdict = judge(r);
        let t = tally
            .entry((r.service.clone(), r.kind.clone()))
            .or_default();
        match verdict {
            Verdict::Pass => t.0 += 1,
            Verdict::NotSent(why) => {
                t.1 += 1;
                *not_sent.entry(why).or_default() += 1;
            }
            Verdict::Fail(why) => failures.push(why),
        }
    }
    println!("conformance walk against botocore {botocore}:");
    for (service, ops) in &plan {
        let walked = records
            .iter()
            .filter(|r| r.service == *service && r.kind == "baseline")
            .count();
        println!(
            "  {service}: {} operations served, {walked} walked",
            ops.len()
        );
    }
    for ((service, kind), (passed, skipped)) in &tally {
        println!("  {service} {kind}: {passed} answered as AWS does, {skipped} not sent");
    }
    for (why, n) in &not_sent {
        println!("  not sent ({why}): {n}");
    }
    println!("  {} requests, {} failures", records.len(), failures.len());

    // Every served operation was walked (its baseline was sent).
    for (service, ops) in &plan {
        for op in *ops {
            assert!(
                records
                    .iter()
                    .any(|r| r.service == *service && r.operation == *op && r.kind == "baseline"),
                "{service} {op} was not walked"
            );
        }
    }
    // Both kinds of refusal were exercised in every service.
    for service in plan.keys() {
        for kind in ["required", "enum"] {
            assert!(
                tally
                    .get(&(service.to_string(), kind.to_string()))
                    .is_some_and(|(passed, _)| *passed > 0),
                "no {kind} case of {service} was judged"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} answers differ from AWS's:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_judge_refuses_what_it_must() {
    let record =
        |service: &str, kind: &str, member: &str, status: u16, code: &str, message: &str| Record {
            service: service.into(),
            operation: "Op".into(),
            kind: kind.into(),
            path: vec![member.into()],
            member: member.into(),
            location: "body".into(),
            location_name: None,
            modeled: vec![
                "ApplicationNameRequiredException".into(),
                "InvalidDeploymentStyleException".into(),
            ],
            outcome: "answer".into(),
            status,
            code: Some(code.into()),
            message: Some(message.into()),
        };
    let pass = |r: &Record| judge(r) == Verdict::Pass;
    // An accepted request is a failure; so is a lookup error before validation.
    assert!(!pass(&record(
        "codepipeline",
        "required",
        "name",
        200,
        "",
        ""
    )));
    assert!(!pass(&record(
        "codepipeline",
        "required",
        "name",
        400,
        "PipelineNotFoundException",
        "no pipeline name"
    )));
    // The right code must name the member.
    assert!(!pass(&record(
        "codepipeline",
        "required",
        "name",
        400,
        "ValidationException",
        "Value null at 'roleArn'"
    )));
    assert!(pass(&record(
        "codepipeline",
        "required",
        "name",
        400,
        "ValidationException",
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    )));
    assert!(pass(&record(
        "codedeploy",
        "required",
        "applicationNames",
        400,
        "ApplicationNameRequiredException",
        "The minimum number of required application names was not specified."
    )));
    assert!(!pass(&record(
        "codedeploy",
        "enum",
        "deploymentType",
        400,
        "InvalidRoleException",
        "deploymentType"
    )));
    // CloudWatch: the modeled code where the operation's model lists one.
    let mut unit = record("cloudwatch", "enum", "Unit", 400, "ValidationError", "Unit");
    assert!(pass(&unit));
    unit.modeled = vec!["InvalidParameterValue".into()];
    assert!(!pass(&unit));
    // A baseline refused as invalid proves nothing.
    assert!(!pass(&record(
        "lambda",
        "baseline",
        "",
        400,
        "ValidationException",
        ""
    )));
    assert!(pass(&record(
        "lambda",
        "baseline",
        "",
        404,
        "ResourceNotFoundException",
        ""
    )));
}
