from hello import greeting


def test_greets_by_name() -> None:
    assert greeting("Ada") == "Hello, Ada!"
