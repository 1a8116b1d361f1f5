"""A tiny data pipeline for Tingle's tests: the sample a `dataPipeline` template build runs."""


def report(partition: str) -> str:
    return f"report for {partition}"
