"""A small fake of GitHub's REST API on real HTTP, faithful to the parts Tingle uses.

It serves a starlette app on uvicorn in a background thread (testing.servers.serve_app) on
127.0.0.1 and a free port, so the code under test uses its real HTTP stack (PyGithub, requests,
urllib3 retries) against it. Every request is recorded. Implemented, with GitHub's validation rules
and error shapes:

- `POST /repos/{o}/{r}/statuses/{sha}`, `GET /repos/{o}/{r}/commits/{ref}/statuses`
- `GET /repos/{o}/{r}` (any repository exists)
- `GET /repos/{o}/{r}/git/ref/heads/{branch}`: a branch's head, read from the real git repository
  registered with `add_git_repository` (tests' `make_repo` registers each one)
- `GET|POST /repos/{o}/{r}/issues/{n}/comments` (paginated with `per_page`, `page` and a `Link`
  header), `GET|PATCH /repos/{o}/{r}/issues/comments/{id}`
- `POST /app/installations/{id}/access_tokens` for a GitHub App registered with `register_app`:
  the JWT's RS256 signature is checked against the App's public key, tokens last `token_lifetime`
  seconds and are refused with 401 "Bad credentials" once expired or revoked.
- Rate limits: every answer carries `X-RateLimit-*` headers counting down from `rate_limit`;
  at zero GitHub's primary rate-limit 403.
- Webhook deliveries of repository hooks and the App's hook: `GET .../deliveries` (newest first,
  `per_page` and `cursor`, a `Link` header) and `POST .../deliveries/{id}/attempts`, which answers
  202 and then really re-sends the delivery, signed, to the URL set with `set_hook_target`, as
  GitHub does. `deliver` sends a new delivery, `add_delivery` records one as if it had been sent.
  `GET /repos/{o}/{r}/installation` (App JWT) names the App's first installation.

Anything else answers GitHub's JSON 404. `fail_next` injects faults.

One module a concern: statuses.py, comments.py (issues), hooks.py (deliveries), auth.py (tokens,
the App and its installation tokens), repos.py, limits.py (rate limit), state.py (the recording
state, faults), responses.py (GitHub's error shapes), and app.py, which assembles `FakeGitHub`.
"""

from testing.fakes.github.app import FakeGitHub
from testing.fakes.github.auth import AppRegistration, InstallationTokenRecord
from testing.fakes.github.hooks import HookDelivery, HookKey, HookTarget
from testing.fakes.github.state import RecordedRequest

__all__ = [
    "AppRegistration",
    "FakeGitHub",
    "HookDelivery",
    "HookKey",
    "HookTarget",
    "InstallationTokenRecord",
    "RecordedRequest",
]
