"""Deploy workflows to a scheduler: data-info.yaml, the scheduler contract, Styx's client."""

from tingle.deploy.datainfo import DataInfo, DataInfoError, parse_data_info
from tingle.deploy.deploy import (
    DeploySummary,
    default_component_id,
    deploy,
    finish_even_if_cancelled,
    load_data_info,
)
from tingle.deploy.scheduler import TINGLE_SOURCE, ScheduledWorkflow, Scheduler, SchedulerError
from tingle.deploy.styx import StyxClient, workflow_configuration
from tingle.deploy.tokens import GoogleIdToken, StaticToken, TokenSource
from tingle.deploy.workflow import Release, Workflow

__all__ = [
    "TINGLE_SOURCE",
    "DataInfo",
    "DataInfoError",
    "DeploySummary",
    "GoogleIdToken",
    "Release",
    "ScheduledWorkflow",
    "Scheduler",
    "SchedulerError",
    "StaticToken",
    "StyxClient",
    "TokenSource",
    "Workflow",
    "default_component_id",
    "deploy",
    "finish_even_if_cancelled",
    "load_data_info",
    "parse_data_info",
    "workflow_configuration",
]
