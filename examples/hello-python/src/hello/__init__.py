"""The sample repository's package: what Tingle's first build tests and ships."""


def greeting(name: str) -> str:
    return f"Hello, {name}!"
