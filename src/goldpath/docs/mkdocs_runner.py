"""The TechDocs build itself, run as ``python -I -m goldpath.docs.mkdocs_runner``.

It runs in its own process (so a time limit can stop it) with ``-I`` (so nothing in the
docs source can shadow a Python module) and a clean environment, and it is MkDocs's own
``build`` with a few differences that make a repository's mkdocs.yml safe to build on a
server:

- mkdocs.yml is read with a safe YAML loader: ``!ENV`` and ``!relative`` work, and
  ``!!python/name:`` only for names from Material, pymdownx and Markdown; nothing else
  can construct Python objects;
- ``hooks`` (Python files from the repository) are refused, and ``INHERIT``, ``docs_dir``
  and ``theme.custom_dir`` must stay inside the docs source;
- ``techdocs-core`` is provided by goldpath when mkdocs-techdocs-core is not installed;
- every page's content and the site's navigation are written beside the site for the portal.

It writes ``--result`` (JSON: ok, a one-line error, warnings, site name) and exits non-zero
when the build failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import yaml

_PYTHON_NAMES = ("material.", "pymdownx.", "markdown.")
_MAX_WARNINGS_KEPT = 20
_PARSE_ERROR = "MkDocs encountered an error parsing the configuration file: "
_CONFIG_VALUE = re.compile(r"Config value '([^']+)': ")


class DocsConfigError(Exception):
    """mkdocs.yml asks for something goldpath does not build."""


# ------------------------------------------------------------------------- YAML
class _SafeLoader(yaml.SafeLoader):
    """MkDocs's loader, minus arbitrary Python objects."""


def _python_name(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if not suffix.startswith(_PYTHON_NAMES):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"!!python/name:{suffix} is not allowed (only names from material, pymdownx "
            "and markdown)",
            node.start_mark,
        )
    module_name, _, attr = suffix.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot find {suffix}: {exc}", node.start_mark
        ) from exc


_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", _python_name)


class _RawLoader(yaml.SafeLoader):
    """Reads the structure only: every custom tag becomes its plain value."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return None


_RawLoader.add_multi_constructor("", _any_tag)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> DocsConfigError:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return DocsConfigError(f"{path.name} is not valid YAML: {problem}{where}")


def _inside(path: Path, root: Path) -> bool:
    resolved = path.resolve()
    return resolved == root or resolved.is_relative_to(root)


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def inspect_config(config_file: Path, root: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """mkdocs.yml as MkDocs will see it (INHERIT merged), refusing what escapes ``root``."""
    if config_file in seen:
        raise DocsConfigError(f"{config_file.name}: INHERIT loops back to itself")
    try:
        data = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_RawLoader)  # noqa: S506 - _RawLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise _yaml_error(config_file, exc) from exc
    except UnicodeDecodeError as exc:
        raise DocsConfigError(f"{config_file.name} is not UTF-8 text") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocsConfigError(f"{config_file.name} must be a mapping of settings")
    name = config_file.name
    if data.get("hooks"):
        raise DocsConfigError(
            f"{name}: hooks run Python files from the repository; goldpath does not run them"
        )
    inherit = data.pop("INHERIT", None)
    if inherit is not None:
        parent_file = config_file.parent / str(inherit)
        if not isinstance(inherit, str) or not _inside(parent_file, root):
            raise DocsConfigError(f"{name}: INHERIT {inherit!r} is outside the docs source")
        if not parent_file.is_file():
            raise DocsConfigError(f"{name}: INHERIT {inherit!r} does not exist")
        data = _merge(inspect_config(parent_file.resolve(), root, (*seen, config_file)), data)
    _check_folder(data.get("docs_dir", "docs"), "docs_dir", config_file, root)
    theme = data.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir") is not None:
        _check_folder(theme["custom_dir"], "theme.custom_dir", config_file, root)
    return data


def _check_folder(value: Any, key: str, config_file: Path, root: Path) -> None:
    if not isinstance(value, str) or not value:
        raise DocsConfigError(f"{config_file.name}: {key} must be a folder path")
    if Path(value).is_absolute() or not _inside(config_file.parent / value, root):
        raise DocsConfigError(f"{config_file.name}: {key} {value!r} is outside the docs source")


def _install_restrictions(provide_techdocs_core: bool) -> None:
    import mkdocs.config.defaults as defaults

    original = defaults.get_yaml_loader

    def restricted(loader: Any = None, config: Any = None) -> Any:
        return original(loader=_SafeLoader, config=config)

    defaults.get_yaml_loader = restricted
    if provide_techdocs_core:
        option: Any = dict(defaults.MkDocsConfig._schema)["plugins"]
        option.installed_plugins["techdocs-core"] = EntryPoint(
            name="techdocs-core",
            value="goldpath.docs.mkdocs_plugin:TechDocsCore",
            group="mkdocs.plugins",
        )


# ------------------------------------------------------------------------ build
class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.warning_count = 0
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if record.levelno >= logging.ERROR:
            self.errors.append(message)
        else:
            self.warning_count += 1
            if len(self.warnings) < _MAX_WARNINGS_KEPT:
                self.warnings.append(message)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(lines)[:500] if lines else "the build failed"


def build(config_file: Path, site_dir: Path, *, strict: bool) -> dict[str, Any]:
    from mkdocs import exceptions
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    from goldpath.docs.mkdocs_plugin import PagesPlugin, techdocs_core_installed

    collector = _Collector()
    logging.getLogger("mkdocs").addHandler(collector)
    result: dict[str, Any] = {"ok": False, "error": None}
    root = config_file.parent.resolve()
    try:
        raw = inspect_config(config_file, root)
        plugins = raw.get("plugins") or []
        names = list(plugins) if isinstance(plugins, dict) else plugins
        wants_core = any(
            (item if isinstance(item, str) else next(iter(item), None)) == "techdocs-core"
            for item in (names if isinstance(names, list) else [])
            if isinstance(item, str | dict)
        )
        substitute = wants_core and not techdocs_core_installed()
        _install_restrictions(substitute)
        if substitute:
            logging.getLogger("mkdocs").info(
                "techdocs-core: mkdocs-techdocs-core is not installed; using goldpath's "
                "equivalent (Material theme, search, TechDocs Markdown extensions)"
            )
        config = load_config(
            config_file=str(config_file), site_dir=str(site_dir), strict=True if strict else None
        )
        pages = PagesPlugin()
        pages.load_config({})
        config.plugins["goldpath-pages"] = pages
        config.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(config)
        finally:
            config.plugins.on_shutdown()
        result.update(
            ok=True,
            site_name=config.site_name,
            site_description=config.site_description or "",
            pages=len(pages.pages),
        )
    except DocsConfigError as exc:
        result["error"] = str(exc)
    except exceptions.Abort as exc:
        result["error"] = _abort_message(str(exc), collector)
    except (exceptions.MkDocsException, yaml.YAMLError) as exc:
        text = str(exc).replace(_PARSE_ERROR, "mkdocs.yml: ")
        if collector.errors and "configuration error" in text:
            text = _config_message(collector.errors[0])
        result["error"] = _one_line(text)
    except Exception as exc:  # noqa: BLE001 - a plugin's crash is the build's failure
        logging.getLogger("mkdocs").exception("the build failed")
        result["error"] = _one_line(f"{type(exc).__name__}: {exc}")
    result["warnings"] = collector.warnings
    result["warning_count"] = collector.warning_count
    return result


def _abort_message(text: str, collector: _Collector) -> str:
    if "strict mode" in text and collector.warnings:
        more = collector.warning_count - 1
        extra = f" (and {more} more warning{'s' if more != 1 else ''})" if more else ""
        return _one_line(f"strict mode: {collector.warnings[0]}{extra}")
    if collector.errors:
        return _one_line(_config_message(collector.errors[0]))
    return _one_line(text)


def _config_message(text: str) -> str:
    """``Config value 'plugins': ...`` (MkDocs) -> ``mkdocs.yml: plugins: ...``."""
    match = _CONFIG_VALUE.match(text)
    return f"mkdocs.yml: {match.group(1)}: {text[match.end() :]}" if match else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="goldpath.docs.mkdocs_runner")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--site-dir", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)-7s -  %(message)s", stream=sys.stdout
    )
    result = build(args.config.resolve(), args.site_dir.resolve(), strict=args.strict)
    args.result.write_text(json.dumps(result), encoding="utf-8")
    if not result["ok"]:
        print(f"ERROR   -  {result['error']}", flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
