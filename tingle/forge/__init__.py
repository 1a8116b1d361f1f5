"""Everything GitHub: webhook signatures and events (pure, used by the web process), the PyGithub
client and App auth, and the feedback a worker posts (statuses, the PR comment), the write budget,
and redelivery of missed webhooks (reconcile). The web process imports only signature, events and
feedback_keys."""
