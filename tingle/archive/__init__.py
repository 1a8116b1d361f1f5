"""Finished builds' logs in a blob store, and the retention of build history (issue 14)."""
