from ${{ values.module }} import __version__, greet


def test_greet_names_the_caller() -> None:
    assert greet("Ada") == "Hello, Ada, from ${{ values.name }}!"


def test_version_is_set() -> None:
    assert __version__ == "0.1.0"
