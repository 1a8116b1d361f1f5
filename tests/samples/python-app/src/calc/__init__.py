"""A tiny package for Tingle's tests: the sample a `python` template build runs."""


def add(a: int, b: int) -> int:
    return a + b
