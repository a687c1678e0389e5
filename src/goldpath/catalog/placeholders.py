"""``$text`` / ``$json`` / ``$yaml`` placeholders, resolved relative to the file holding them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from goldpath.catalog.readers import Reader, Source
from goldpath.core.errors import GoldpathError

PLACEHOLDERS = ("$text", "$json", "$yaml")


@dataclass
class Resolution:
    value: Any
    #: A digest of everything read, so a change in a referenced file reprocesses the entity.
    reads: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def has_placeholders(value: Any) -> bool:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in PLACEHOLDERS:
            return True
        return any(has_placeholders(v) for v in value.values())
    if isinstance(value, list):
        return any(has_placeholders(v) for v in value)
    return False


def resolve_placeholders(entity: Any, base: Source | None, reader: Reader) -> Resolution:
    result = Resolution(value=None)
    result.value = _walk(entity, base, reader, result, path="")
    return result


def _walk(value: Any, base: Source | None, reader: Reader, out: Resolution, path: str) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            key = next(iter(value))
            if key in PLACEHOLDERS:
                return _resolve(key, value[key], base, reader, out, path)
        return {
            k: _walk(v, base, reader, out, f"{path}.{k}" if path else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v, base, reader, out, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _resolve(
    kind: str, ref: Any, base: Source | None, reader: Reader, out: Resolution, path: str
) -> Any:
    if not isinstance(ref, str) or not ref:
        out.errors.append(f"{path}: placeholder {kind} needs a non-empty string, got {ref!r}")
        return None
    try:
        if base is None and not ref.startswith(("http://", "https://")):
            raise GoldpathError(f"relative reference {ref} has no location to resolve against")
        source = reader.resolve_relative(base, ref) if base is not None else Source("url", ref)
        content = reader.read(source)
    except GoldpathError as exc:
        out.errors.append(f"{path}: {kind} {ref} could not be read: {exc.message}")
        return None
    out.reads.append(f"{source}:{hashlib.blake2b(content, digest_size=16).hexdigest()}")
    text = content.decode("utf-8", errors="replace")
    try:
        if kind == "$json":
            return json.loads(text)
        if kind == "$yaml":
            return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        out.errors.append(f"{path}: {kind} {ref} is not valid {kind[1:].upper()}: {exc}")
        return None
    return text
