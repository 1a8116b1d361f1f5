"""Tingle: GitHub webhooks in, builds in Docker containers, commit statuses and deploys out."""

__version__ = "0.1.0"
