"""What happens to builds before and around a worker: admission (one Redis round trip), queue,
supersede, cancel, approve, restart, and the notices that make a worker post their feedback. Runs
in the web process (webhooks, buttons, API)."""
