"""The Redis keys of feedback not yet on GitHub: read by the web app's metrics, written by the
workers' publisher (tingle.forge.reporter). Here, so the web app need not load the publisher."""

from __future__ import annotations


def feedback_due_key(prefix: str) -> str:
    """The sorted set of keys whose desired value GitHub does not show yet, by due time."""
    return f"{prefix}:feedback:due"
