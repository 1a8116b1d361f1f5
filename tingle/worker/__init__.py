"""The worker process: the arq worker (composition root), the build job, the janitor, the notice
follower and the worker's health listener."""
