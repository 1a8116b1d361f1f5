"""`tingle run-workflow -f data-info.yaml -w WORKFLOW -p PARTITION -r IMAGE`: one workflow's
container on the local Docker engine, run as Styx would run it (like quick-styx's `qstyx run`).

Arguments, environment and exit codes are Styx's (tingle.deploy.styx_execution); the container's
output streams to stdout, the container is removed afterwards (also on Ctrl-C), and the command
answers the container's exit code, after one line saying what Styx would make of it. Everything
that stops it before a container runs is one line on stderr and exit 2; nothing is pulled.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from tingle.errors import InfrastructureError
from tingle.workspace_files import UnsafeFile, read_workspace_file

if TYPE_CHECKING:  # loaded when the command runs: every `tingle` command builds this parser
    from tingle.deploy import DataInfo, Workflow
    from tingle.deploy.styx_execution import Instance

EXIT_REFUSED = 2
EXIT_TIMED_OUT = 124  # as coreutils' `timeout`, and a worker's timed-out step
MAX_DATA_INFO_BYTES = 1024 * 1024  # as for a build's data-info.yaml
MAX_KEY_BYTES = 64 * 1024  # a service-account key is about 2.3 KB
REVISION_LABEL = "org.opencontainers.image.revision"  # on every image Tingle builds
SOURCE_LABEL = "org.opencontainers.image.source"  # https://github.com/owner/name
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GITHUB_SOURCE = re.compile(r"https?://[^/]+/(?P<repo>[^/]+/[^/]+?)/?")


class Refused(Exception):
    """The run cannot start; the message says why, in one line."""


class Stopped(BaseException):
    """A signal (Ctrl-C, SIGTERM) stopped the run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run-workflow",
        help="run one workflow of a data-info.yaml on the local Docker engine, as Styx would",
        description="Run one workflow of a data-info.yaml on a built image, on the local Docker "
        "engine, as Styx would: its arguments with {} replaced by the partition, the STYX_* "
        "environment, the service account's key if given. Streams the output and answers the "
        "container's exit code with Styx's meaning (0 done, 20 missing dependency, 50 failed, "
        "not retried). Nothing is pulled.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        default=Path("data-info.yaml"),
        help="the data-info.yaml naming the workflow (default: %(default)s)",
    )
    parser.add_argument("-w", "--workflow", required=True, help="the workflow's id")
    parser.add_argument(
        "-p", "--partition", required=True, help="the parameter: 2026-12-07, 2026-12-07T13..."
    )
    parser.add_argument("-r", "--image", help="a local image, e.g. the one tingle exec built")
    parser.add_argument(
        "--service-account-key",
        type=Path,
        metavar="FILE",
        help="a JSON key, mounted read-only where Styx mounts it (/etc/styx-wf-sa-keys/)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set K for this run, over the workflow's env, as a trigger's env does (repeatable)",
    )
    parser.add_argument(
        "--component",
        help="Styx component (default: owner--name from the image's source label, else "
        "local--<folder of the file>)",
    )
    parser.add_argument(
        "--commit-sha", help="STYX_COMMIT_SHA (default: the image's revision label)"
    )
    parser.add_argument("--network", default="host", help="the container's network")
    parser.set_defaults(func=_run_workflow)


@dataclass(frozen=True)
class Request:
    """What the command line asks for, checked: everything but the engine's part."""

    data_info: Path
    workflow: Workflow
    partition: str
    image: str
    trigger_env: dict[str, str]
    timeout_seconds: float | None
    key: bytes | None


def _run_workflow(args: argparse.Namespace) -> int:
    from tingle.deploy.styx_execution import Instance
    from tingle.executor.docker import connect
    from tingle.executor.docker_workflow import local_image_labels

    try:
        request = check_request(args)
        client = connect()
        labels = local_image_labels(client, request.image)
        if labels is None:
            raise Refused(
                f"image '{request.image}' is not on the local Docker engine "
                "(run-workflow pulls nothing): build or load it first"
            )
        instance = Instance(
            component_id=args.component or _component(labels, request.data_info),
            workflow=request.workflow,
            parameter=request.partition,
            image=request.image,
            execution_id=f"styx-run-{uuid.uuid4()}",
            trigger_id=f"tingle-run-workflow-{uuid.uuid4().hex[:12]}",
            commit_sha=args.commit_sha or labels.get(REVISION_LABEL, ""),
        )
        return _run(client, instance, request, args.network)
    except (Refused, InfrastructureError) as exc:
        print(f"tingle run-workflow: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def check_request(args: argparse.Namespace) -> Request:
    from tingle.deploy.styx_execution import duration_seconds

    data_info = _read_data_info(args.file)
    workflow = _workflow(data_info, args.workflow, args.file)
    if not args.partition or "\0" in args.partition:
        raise Refused("-p: the partition must be a non-empty string without NUL")
    if not args.image:
        raise Refused(
            "-r IMAGE is needed: a data-info.yaml workflow names no image "
            "(a deploy pins the one its build pushed)"
        )
    timeout = None
    if workflow.running_timeout is not None:
        try:
            timeout = duration_seconds(workflow.running_timeout)
        except ValueError as exc:
            raise Refused(f"{workflow.id}.running_timeout: {exc}") from None
    key = None
    if args.service_account_key is not None:
        what = f"--service-account-key {args.service_account_key}"
        key = _read_file(args.service_account_key, what, MAX_KEY_BYTES)
    return Request(
        args.file, workflow, args.partition, args.image, _trigger_env(args.env), timeout, key
    )


def _read_data_info(path: Path) -> DataInfo:
    from tingle.deploy import DataInfoError, parse_data_info

    data = _read_file(path, str(path), MAX_DATA_INFO_BYTES)
    try:
        return parse_data_info(data.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        raise Refused(f"{path}: not UTF-8 text") from None
    except DataInfoError as exc:
        first, *more = exc.problems
        also = f" (and {len(more)} more problem{'s' * (len(more) > 1)})" if more else ""
        raise Refused(f"{path}: {first}{also}") from None


def _workflow(data_info: DataInfo, workflow_id: str, path: Path) -> Workflow:
    for workflow in data_info.workflows:
        if workflow.id == workflow_id:
            return workflow
    known = ", ".join(data_info.ids()) or "none"
    raise Refused(f"no workflow {workflow_id!r} in {path}; it has: {known}")


def _trigger_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name):
            raise Refused(f"--env {pair!r}: expected NAME=VALUE, NAME letters, digits and '_'")
        if "\0" in value:
            raise Refused(f"--env {name}: a value cannot hold NUL")
        env[name] = value
    return env


def _read_file(path: Path, what: str, max_bytes: int) -> bytes:
    """A file named on the command line. A person's own symbolic link is theirs to follow, but
    no FIFO, device or giant file (read_workspace_file refuses those) makes the command hang."""
    resolved = path.resolve()
    try:
        data = read_workspace_file(resolved.parent, resolved.name, max_bytes=max_bytes)
    except UnsafeFile as exc:
        raise Refused(f"{what}: {str(exc).split(': ', 1)[-1]}") from None
    except FileNotFoundError:  # a folder on the way is missing
        data = None
    except OSError as exc:
        raise Refused(f"{what}: cannot be read: {exc.strerror}") from None
    if data is None:
        raise Refused(f"{what}: no such file")
    return data


def _component(labels: dict[str, str], data_info: Path) -> str:
    """The component Tingle deploys the image's repository to, as far as the image says."""
    from tingle.deploy import default_component_id
    from tingle.errors import DeliveryError

    found = _GITHUB_SOURCE.fullmatch(labels.get(SOURCE_LABEL, ""))
    if found:
        try:
            return default_component_id(found.group("repo"))
        except DeliveryError:
            pass
    folder = re.sub(r"[^A-Za-z0-9_.-]", "-", data_info.resolve().parent.name) or "repository"
    return f"local--{folder}"


def _run(client: Any, instance: Instance, request: Request, network: str) -> int:
    from tingle.deploy.styx_execution import (
        CREDENTIALS_VARIABLE,
        SERVICE_ACCOUNT_KEY_PATH,
        docker_args,
        execution_env,
        exit_meaning,
        styx_variables,
        timeout_meaning,
    )
    from tingle.executor.docker_workflow import WorkflowContainer, run_workflow_container

    workflow = instance.workflow
    env = execution_env(instance, request.trigger_env)
    for name in sorted(set(request.trigger_env) & set(styx_variables(instance))):
        _say(f"--env {name}: Styx sets {name} itself; its own value is used")
    with _key_folder(request.key) as key_file:
        files = {}
        if key_file is not None:
            files[str(key_file)] = SERVICE_ACCOUNT_KEY_PATH
            env[CREDENTIALS_VARIABLE] = SERVICE_ACCOUNT_KEY_PATH
        elif workflow.service_account:
            _say(f"runs as {workflow.service_account} on Styx; no key given: no credentials")
        if workflow.resources:
            _say(f"resources {', '.join(workflow.resources)}: Styx's quotas, not applied here")
        args = docker_args(workflow, instance.parameter)
        _say(
            f"{instance.component_id}/{workflow.id} {instance.parameter} on {instance.image}, "
            f"args {list(args) or '(the image default)'}"
        )
        spec = WorkflowContainer(
            name=instance.execution_id,
            image=instance.image,
            args=args,
            env=env,
            read_only_files=files,
            network=network,
            timeout_seconds=request.timeout_seconds,
        )
        try:
            with _signals_stop():
                result = run_workflow_container(client, spec, _write)
        except Stopped as stop:
            print(f"stopped by {stop}: container removed", flush=True)
            return 128 + stop.signum
    if result.timed_out:
        print(timeout_meaning(workflow.running_timeout or ""), flush=True)
        return EXIT_TIMED_OUT
    print(exit_meaning(result.exit_code, workflow.retry_condition), flush=True)
    return result.exit_code


@contextmanager
def _key_folder(key: bytes | None) -> Iterator[Path | None]:
    """The key copied into a private folder (0700) for the engine to mount: readable inside by
    whatever user the image runs as (0644, like a Kubernetes secret volume), by nobody else on
    the host, and gone after the run whatever the original file was."""
    if key is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="tingle-run-workflow-") as folder:
        path = Path(folder) / "styx-wf-sa.json"
        path.write_bytes(key)
        path.chmod(0o644)
        yield path


@contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGINT and SIGTERM raise Stopped (once: later ones are ignored, so the clean-up that
    follows is not cut short). Only the main thread can install handlers; elsewhere, nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    before = {signum: signal.getsignal(signum) for signum in stops}

    def stop(signum: int, frame: FrameType | None) -> None:
        for each in stops:
            signal.signal(each, signal.SIG_IGN)
        raise Stopped(signum)

    for signum in stops:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _write(chunk: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def _say(line: str) -> None:
    print(f"tingle run-workflow: {line}", file=sys.stderr, flush=True)
