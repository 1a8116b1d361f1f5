"""Tingle's benchmarks (issue 8): `python -m bench` runs them all on this machine and writes
`bench/results/results.json` and `bench/results/REPORT.md`.

Everything runs on real parts, started the way the tests start them (`testing/`): a
private redis-server on a free port, the GitHub fake (`testing/fakes/github`) on 127.0.0.1,
`tingle serve` and `tingle worker` as subprocesses, the local Docker engine. Only loopback
addresses are used, every loop is bounded, and every process started is stopped at the end.
"""
