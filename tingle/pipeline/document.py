"""The top level of a build-info.yaml: version, template, secrets, deploy, steps."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tingle.pipeline import fields as f
from tingle.pipeline.problems import Mark, Report, join_path
from tingle.pipeline.yamlnodes import Map, Scalar, Seq, parse_yaml

SUPPORTED_VERSIONS = (2,)
TOP_KEYS = ("version", "template", "secrets", "deploy", "steps")
SECRETS_KEYS = ("bucket", "names")
DEPLOY_KEYS = ("branches",)
SECRET_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_SECRET_NAME = re.compile(SECRET_NAME_PATTERN)


@dataclass(frozen=True)
class BuildInfo:
    template: Map | None  # `type` and the parameters; resolved against a TemplateSet later
    template_name: str | None
    secrets_bucket: str | None
    secret_names: tuple[str, ...]
    deploy_branches: tuple[str, ...] | None  # None: the repository's default branch
    steps: Seq | None
    mark: Mark


def _versions() -> str:
    return ", ".join(str(v) for v in SUPPORTED_VERSIONS)


def read_build_info(text: str, report: Report) -> BuildInfo | None:
    """The document's parts, or None when nothing more can be checked (bad YAML, wrong version)."""
    root = parse_yaml(text, report)
    if root is None:
        return None
    if not isinstance(root, Map):
        report.add(root.mark, "", f"expected a mapping at the top level, got {f.describe(root)}")
        return None
    if not _version_ok(root, report):
        return None
    # `x-` keys are free, as in docker compose: a place for YAML anchors shared by steps.
    f.check_keys(root, TOP_KEYS + tuple(k for k in root.entries if k.startswith("x-")), "", report)
    template, name = _template(root, report)
    bucket, names = _secrets(root, report)
    return BuildInfo(
        template, name, bucket, names, _deploy(root, report), _steps(root, report), root.mark
    )


def _version_ok(root: Map, report: Report) -> bool:
    node = root.get("version")
    if node is None:
        report.add(root.mark, "version", f"required; supported versions: {_versions()}")
        return True  # the rest may still be a valid v2 document, so keep checking
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, bool) or value not in SUPPORTED_VERSIONS:
        shown = node.raw if isinstance(node, Scalar) else f.describe(node)
        report.add(
            node.mark, "version", f"unsupported version {shown}; supported versions: {_versions()}"
        )
        return False  # another version means another format: further problems would be noise
    return True


def _template(root: Map, report: Report) -> tuple[Map | None, str | None]:
    node = root.get("template")
    mapping = f.expect_map(node, "template", report) if node else None
    if mapping is None:
        return None, None
    type_node = f.required(mapping, "type", "template", report)
    name = f.string(type_node, "template.type", report) if type_node else None
    return mapping, name


def _secrets(root: Map, report: Report) -> tuple[str | None, tuple[str, ...]]:
    node = root.get("secrets")
    mapping = f.expect_map(node, "secrets", report) if node else None
    if mapping is None:
        return None, ()
    f.check_keys(mapping, SECRETS_KEYS, "secrets", report)
    bucket_node = mapping.get("bucket")
    bucket = f.string(bucket_node, "secrets.bucket", report) if bucket_node else None
    names_node = mapping.get("names")
    names = f.string_list(names_node, "secrets.names", report) if names_node else ()
    for i, name in enumerate(names or ()):
        if not _SECRET_NAME.match(name):
            where = names_node.items[i].mark if isinstance(names_node, Seq) else mapping.mark
            report.add(where, join_path("secrets.names", i), f"invalid secret name '{name}'")
    return bucket, names or ()


def _deploy(root: Map, report: Report) -> tuple[str, ...] | None:
    node = root.get("deploy")
    mapping = f.expect_map(node, "deploy", report) if node else None
    if mapping is None:
        return None
    f.check_keys(mapping, DEPLOY_KEYS, "deploy", report)
    branches = mapping.get("branches")
    return f.string_list(branches, "deploy.branches", report) if branches else None


def _steps(root: Map, report: Report) -> Seq | None:
    node = root.get("steps")
    if node is None or isinstance(node, Seq):
        return node
    report.add(node.mark, "steps", f"expected a list, got {f.describe(node)}")
    return None
