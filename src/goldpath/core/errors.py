"""One error hierarchy for the whole platform.

Adapters translate these: the API into ``application/problem+json``, the CLI into one clear
line and a non-zero exit code. ``where`` says which entity, field, file or key went wrong.
"""

from __future__ import annotations

from typing import Any


class GoldpathError(Exception):
    """Base of every error goldpath raises on purpose."""

    status_code = 500
    title = "Internal error"
    #: Backstage's error names, so Backstage clients read our errors as their own.
    backstage_name = "Error"

    def __init__(
        self, message: str, *, where: str | None = None, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.details = details or []

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(GoldpathError):
    """The caller sent something invalid (bad YAML, bad entity, bad parameter)."""

    status_code = 400
    title = "Invalid input"
    backstage_name = "InputError"


class NotFoundError(GoldpathError):
    status_code = 404
    title = "Not found"
    backstage_name = "NotFoundError"


class ConflictError(GoldpathError):
    status_code = 409
    title = "Conflict"
    backstage_name = "ConflictError"


class NotAllowedError(GoldpathError):
    status_code = 403
    title = "Not allowed"
    backstage_name = "NotAllowedError"


class ConfigError(GoldpathError):
    """Configuration is invalid; ``where`` names the key (and its source)."""

    status_code = 500
    title = "Invalid configuration"
    backstage_name = "ConfigError"


class ServiceUnavailableError(GoldpathError):
    status_code = 503
    title = "Service unavailable"
    backstage_name = "ServiceUnavailableError"
