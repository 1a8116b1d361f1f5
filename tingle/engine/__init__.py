"""One build's runtime: checkout, compile, run each step on an Engine, deliver (image, push,
deploy), write its log, clean up. Knows nothing of Redis, arq or GitHub; runs in a worker and in
`tingle exec`."""
