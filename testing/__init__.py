"""What the tests (tests/) and the benchmarks (bench/) both run Tingle against: real servers on
127.0.0.1 (a private redis-server, any ASGI app on uvicorn, a Docker registry), Tingle's own
processes started as an operator would, real GitHub payloads, real git repositories, and the fakes
of the services Tingle talks to (testing/fakes). Not shipped: only `tingle*` is packaged."""
