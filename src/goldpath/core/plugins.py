"""Plugin discovery: built-ins first, then the ``goldpath.plugins`` entry points."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pluggy

from goldpath.core import hookspecs

ENTRY_POINT_GROUP = "goldpath.plugins"

# Built-in features register through the same hooks a third party uses.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "goldpath.core.plugin",
    "goldpath.catalog.plugin",
    "goldpath.git.plugin",
    "goldpath.scaffolder.plugin",
    "goldpath.templates.plugin",
    "goldpath.search.plugin",
    "goldpath.docs.plugin",
    "goldpath.web.plugin",
    "goldpath.demo.plugin",
)


def build_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("goldpath")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if pm.get_plugin(ep.name) is None:
                pm.register(ep.load(), name=ep.name)
    return pm
