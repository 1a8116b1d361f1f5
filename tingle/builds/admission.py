"""Admitting a new build: one Lua script, one round trip, all or nothing.

The script takes the delivery id (or, for a restart, no delivery), and when the delivery is new
it makes the build id, saves the record, indexes it, puts its arq job on the queue (unless the
build is held), adds it to its lane and tells the workers to publish its `pending` status
(tingle.builds.notices). A webhook thus costs the web app one Redis round trip, and a build can
never exist without its job, nor a claimed delivery without its build.

A replay is refused the same way: besides the delivery id, a webhook's build is keyed by what it
builds (`event_key`: repository, event, ref, sha, action...). A second delivery of the same event
(the same signed body re-sent under a new `X-GitHub-Delivery`, or two hooks delivering one push)
answers the first build's id and builds nothing; the key lives `EVENT_TTL_SECONDS`, about GitHub's
3-day redelivery window. Both checks are in the one script: still one round trip.

The record is written before its id exists: Python sends it without `id`, and the script puts
`{"id": "<id>", ` in front. The arq job carries no arguments: `run_build` reads the build id
from its job id (`build:<id>`), so the job's bytes need no id either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from tingle.build import Build, BuildState
from tingle.builds.notices import NOTICES_KEPT, notices_key
from tingle.queue import JOB_ID_PREFIX, RUN_BUILD
from tingle.store import (
    DELIVERY_TTL_SECONDS,
    EVENT_TTL_SECONDS,
    LANE_LENGTH,
    BuildStore,
    as_text,
)

# KEYS: delivery (or ""), build-seq, builds, repo builds, repos, active, lane, queue, notices,
#       event (or ""), history, expire-due, state index, branch index (or "")
# ARGV: delivery ttl, record without id, created_at, repo, job bytes (or ""), job ttl ms,
#       queue score ms, lane length, build key prefix, arq job key prefix, job id prefix,
#       notices kept, event ttl, builds kept per lane (0: no limit)
_ADMIT = """
if KEYS[1] ~= '' then
  local existing = redis.call('GET', KEYS[1])
  if existing then return {existing, 0} end
end
if KEYS[10] ~= '' then
  local same = redis.call('GET', KEYS[10])
  if same then
    if KEYS[1] ~= '' then redis.call('SET', KEYS[1], same, 'EX', ARGV[1]) end
    return {same, 0}
  end
end
local id = tostring(redis.call('INCR', KEYS[2]))
if KEYS[1] ~= '' then redis.call('SET', KEYS[1], id, 'EX', ARGV[1]) end
if KEYS[10] ~= '' then redis.call('SET', KEYS[10], id, 'EX', ARGV[13]) end
redis.call('SET', ARGV[9] .. id, '{"id": "' .. id .. '", ' .. string.sub(ARGV[2], 2))
redis.call('ZADD', KEYS[3], ARGV[3], id)
redis.call('ZADD', KEYS[4], ARGV[3], id)
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[6], id)
if ARGV[5] ~= '' then
  redis.call('SET', ARGV[10] .. ARGV[11] .. id, ARGV[5], 'PX', ARGV[6])
  redis.call('ZADD', KEYS[8], ARGV[7], ARGV[11] .. id)
end
redis.call('RPUSH', KEYS[9], id)
redis.call('LTRIM', KEYS[9], -tonumber(ARGV[12]), -1)
redis.call('ZADD', KEYS[7], ARGV[3], id)
redis.call('ZREMRANGEBYRANK', KEYS[7], 0, -tonumber(ARGV[8]) - 1)
redis.call('ZADD', KEYS[11], ARGV[3], id)
redis.call('ZADD', KEYS[13], ARGV[3], id)
if KEYS[14] ~= '' then redis.call('ZADD', KEYS[14], ARGV[3], id) end
local keep = tonumber(ARGV[14])
if keep > 0 then
  for _, past in ipairs(redis.call('ZRANGE', KEYS[11], 0, -keep - 1)) do
    redis.call('ZADD', KEYS[12], ARGV[3], past)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[11], 0, -keep - 1)
end
local older = {}
for _, other in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[7], ARGV[3], '-inf')) do
  if other ~= id and redis.call('SISMEMBER', KEYS[6], other) == 1 then
    table.insert(older, other)
  end
end
return {id, 1, older}
"""


@dataclass(frozen=True)
class Admission:
    build_id: str
    created: bool  # False: the delivery, or the same event, was admitted before (a replay)
    older: list[str]  # the lane's unfinished builds older than this one, newest first


class Admitter:
    def __init__(
        self, store: BuildStore, queue: ArqRedis, queue_name: str, keep_per_lane: int = 0
    ) -> None:
        self._store = store
        self._keep_per_lane = keep_per_lane  # older builds of a lane are left to retention
        self._queue = queue
        self._queue_name = queue_name
        self._script = queue.register_script(_ADMIT)

    async def admit(
        self, build: Build, delivery_id: str | None, event_key: str | None = None
    ) -> Admission:
        """Store and queue `build` under a new id (set on `build`), unless `delivery_id` or
        `event_key` (tingle.builds.replays) was admitted already: then `build` is left alone and
        the earlier build's id is returned."""
        build.version += 1  # as a save does
        record = build.to_dict()
        del record["id"]
        now = timestamp_ms()
        job = (  # a held build gets its job when someone approves it
            serialize_job(RUN_BUILD, (), {}, None, now, serializer=self._queue.job_serializer)
            if build.state is BuildState.QUEUED
            else b""
        )
        key = self._store.key
        answer = await self._script(
            keys=[
                key("delivery", delivery_id) if delivery_id else "",
                key("build-seq"),
                key("builds"),
                key("repo", build.repo, "builds"),
                key("repos"),
                key("active"),
                self._store.lane_key(build),
                self._queue_name,
                notices_key(self._store.prefix),
                key("event", event_key) if event_key else "",
                self._store.history_key(build),
                key("expire-due"),
                self._store.state_index(build.repo, build.state.value),
                self._store.branch_index(build.repo, build.branch) if build.branch else "",
            ],
            args=[
                DELIVERY_TTL_SECONDS,
                json.dumps(record),
                build.created_at,
                build.repo,
                job,
                self._queue.expires_extra_ms,
                now,
                LANE_LENGTH,
                key("build", ""),
                job_key_prefix,
                JOB_ID_PREFIX,
                NOTICES_KEPT,
                EVENT_TTL_SECONDS,
                self._keep_per_lane,
            ],
        )
        build_id, created = as_text(answer[0]), bool(answer[1])
        if not created:
            return Admission(build_id, created=False, older=[])
        build.id = build_id
        return Admission(build_id, created=True, older=[as_text(i) for i in answer[2]])
