#!/usr/bin/env python3
"""Generates sim/src/validate/model.rs from botocore's service models: for
every operation aws-sim serves (the `OPERATIONS` list of each service module
under sim/src), the body members the model marks required and the members
whose values it restricts to an enum, as member paths; and the headers and
query parameters restricted to an enum (restJson and restXml services).

Run from the repository root after botocore (pip install botocore) changes:

    python3 sim/tools/validation_rules.py > sim/src/validate/model.rs && cargo fmt --all

The conformance test (tests/tests/sim_conformance.rs) reads the same models at
run time, so a model that grows a rule the generated file lacks fails it.
"""
import re
import sys
from pathlib import Path

import botocore
from botocore.loaders import Loader

ROOT = Path(__file__).resolve().parents[2]

# sim service name -> (botocore service, module holding OPERATIONS)
SERVICES = [
    ("codepipeline", "codepipeline", "sim/src/codepipeline/mod.rs"),
    ("codedeploy", "codedeploy", "sim/src/codedeploy/mod.rs"),
    ("lambda", "lambda", "sim/src/lambda/mod.rs"),
    ("monitoring", "cloudwatch", "sim/src/cloudwatch/mod.rs"),
    ("s3", "s3", "sim/src/s3/mod.rs"),
]
# Enums handlers use directly (pub consts), beyond those the rules name.
NAMED_ENUMS = [("s3", "BucketLocationConstraint"), ("s3", "LocationType"), ("s3", "BucketType"), ("s3", "DataRedundancy")]


def operations(module):
    text = (ROOT / module).read_text()
    m = re.search(r"pub const OPERATIONS: &\[&str\] = &\[(.*?)\];", text, re.S)
    if not m:
        sys.exit(f"no OPERATIONS in {module}")
    return re.findall(r'"([A-Za-z0-9]+)"', m.group(1))


def screaming(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper().replace("-", "_")


class Walker:
    def __init__(self, model, prefix):
        self.shapes = model["shapes"]
        self.prefix = prefix
        self.enums = {}

    def enum(self, shape_name):
        const = f"{self.prefix}_{screaming(shape_name)}"
        self.enums[const] = self.shapes[shape_name]["enum"]
        return const

    def parameters(self, shape_name):
        """Headers and query parameters whose values the model restricts."""
        for member, ms in self.shapes[shape_name].get("members", {}).items():
            location = {"header": "Header", "querystring": "Query"}.get(ms.get("location"))
            sub = self.shapes[ms["shape"]]
            if location and sub["type"] == "string" and "enum" in sub:
                yield (location, ms["locationName"], member, self.enum(ms["shape"]), "false")
            elif location and sub["type"] == "list" and "enum" in self.shapes[sub["member"]["shape"]]:
                # A list in a header is its values joined by commas.
                yield (location, ms["locationName"], member, self.enum(sub["member"]["shape"]), "true")

    def walk(self, shape_name, path, seen, body_only):
        shape = self.shapes[shape_name]
        if shape_name in seen:
            return
        seen = seen | {shape_name}
        required = shape.get("required", [])
        for member, ms in shape.get("members", {}).items():
            if body_only and ms.get("location") in ("uri", "querystring", "header", "headers", "statusCode"):
                continue
            p = f"{path}{member}"
            sub = self.shapes[ms["shape"]]
            if member in required:
                yield (p, "Required")
            t = sub["type"]
            if t == "string" and "enum" in sub:
                yield (p, f"OneOf({self.enum(ms['shape'])})")
            elif t == "list":
                el_name = sub["member"]["shape"]
                el = self.shapes[el_name]
                if el["type"] == "string" and "enum" in el:
                    yield (f"{p}[]", f"OneOf({self.enum(el_name)})")
                elif el["type"] == "structure":
                    yield from self.walk(el_name, f"{p}[].", seen, False)
            elif t == "map":
                key = self.shapes[sub["key"]["shape"]]
                value_name = sub["value"]["shape"]
                value = self.shapes[value_name]
                if "enum" in key:
                    yield (f"{p}{{}}", f"OneOf({self.enum(sub['key']['shape'])})")
                if value["type"] == "string" and "enum" in value:
                    yield (f"{p}{{*}}", f"OneOf({self.enum(value_name)})")
                elif value["type"] == "structure":
                    yield from self.walk(value_name, f"{p}{{*}}.", seen, False)
            elif t == "structure":
                yield from self.walk(ms["shape"], f"{p}.", seen, False)


def main():
    loader = Loader()
    out = []
    out.append(
        "//! Request rules of the operations aws-sim serves, generated from botocore's\n"
        f"//! service models (botocore {botocore.__version__}) by `sim/tools/validation_rules.py`:\n"
        "//! for each operation, the input members the model marks required and the\n"
        "//! members whose values it restricts to an enum, as member paths (`a.b`,\n"
        "//! `list[]` elements, `map{}` keys, `map{*}` values). Do not edit by hand:\n"
        "//! re-run the script. It knows the models' constraints, not what a service\n"
        "//! does with a request.\n"
    )
    out.append(
        "use super::Check::{OneOf, Required};\nuse super::Location::{Header, Query};\nuse super::{Parameter, Rule};\n"
    )
    arms = []
    parameter_arms = []
    tables = []
    enums = {}
    for sim_name, botocore_name, module in SERVICES:
        model = loader.load_service_model(botocore_name, "service-2")
        protocol = model["metadata"]["protocol"]
        walker = Walker(model, screaming(botocore_name))
        for op in operations(module):
            if op not in model["operations"]:
                sys.exit(f"{sim_name} {op} is not in the {botocore_name} model")
            o = model["operations"][op]
            const = f"{screaming(botocore_name)}_{screaming(op)}"
            if "input" not in o:
                continue
            if protocol != "rest-xml":
                rules = list(walker.walk(o["input"]["shape"], "", frozenset(), protocol == "rest-json"))
                if rules:
                    arms.append(f'        ("{sim_name}", "{op}") => {const},')
                    body = "\n".join(f'    Rule {{ path: "{p}", check: {c} }},' for p, c in rules)
                    tables.append(f"const {const}: &[Rule] = &[\n{body}\n];\n")
            if protocol.startswith("rest"):
                params = list(walker.parameters(o["input"]["shape"]))
                if params:
                    parameter_arms.append(f'        ("{sim_name}", "{op}") => {const}_PARAMETERS,')
                    body = "\n".join(
                        f'    Parameter {{ location: {loc}, name: "{name}", member: "{member}", values: {values}, list: {lst} }},'
                        for loc, name, member, values, lst in params
                    )
                    tables.append(f"const {const}_PARAMETERS: &[Parameter] = &[\n{body}\n];\n")
        for svc, shape in NAMED_ENUMS:
            if svc == sim_name:
                walker.enum(shape)
        enums.update(walker.enums)
    out.append(
        "/// The rules of `operation` of `service` (a SigV4 service name); empty for\n"
        "/// an operation aws-sim does not serve.\n"
        "pub fn rules(service: &str, operation: &str) -> &'static [Rule] {\n"
        "    match (service, operation) {\n" + "\n".join(arms) + "\n        _ => &[],\n    }\n}\n"
    )
    out.append(
        "/// The headers and query parameters of `operation` of `service` whose\n"
        "/// values the model restricts to an enum.\n"
        "pub fn parameters(service: &str, operation: &str) -> &'static [Parameter] {\n"
        "    match (service, operation) {\n" + "\n".join(parameter_arms) + "\n        _ => &[],\n    }\n}\n"
    )
    out.extend(tables)
    for const in sorted(enums):
        values = ", ".join(f'"{v}"' for v in enums[const])
        out.append(f"pub const {const}: &[&str] = &[{values}];\n")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
