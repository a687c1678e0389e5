"""${{ values.description }}"""

__version__ = "0.1.0"


def greet(name: str) -> str:
    """A first function, so the tests have something to exercise."""
    return f"Hello, {name}, from ${{ values.name }}!"
