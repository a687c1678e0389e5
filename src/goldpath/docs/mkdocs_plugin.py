"""MkDocs plugins goldpath adds to every TechDocs build (loaded in the build subprocess).

``TechDocsCore`` stands in for ``mkdocs-techdocs-core`` when a site names ``techdocs-core``
but that package is not installed: the same essentials (the Material theme, search, the
Markdown extensions TechDocs sites rely on) without its pinned versions and its diagram
extensions that call out to external programs and servers.

``PagesPlugin`` writes, beside the built site, each page's rendered content, title and
table of contents plus the site's navigation, so the portal can show a page inside its own
layout whatever theme built it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import Files
from mkdocs.structure.nav import Link, Navigation, Section
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink
from mkdocs.theme import Theme

from goldpath.docs.model import PAGES_DIR, SITE_INFO

#: (extension, its options) in the order mkdocs-techdocs-core adds them.
_TECHDOCS_EXTENSIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("admonition", {}),
    ("toc", {"permalink": True}),
    ("pymdownx.details", {}),
    ("pymdownx.tabbed", {"alternate_style": True}),
    ("pymdownx.caret", {}),
    ("pymdownx.critic", {}),
    ("pymdownx.emoji", {}),
    ("pymdownx.inlinehilite", {}),
    ("pymdownx.magiclink", {}),
    ("pymdownx.mark", {}),
    ("pymdownx.smartsymbols", {}),
    ("pymdownx.snippets", {"restrict_base_path": True}),
    ("pymdownx.highlight", {"linenums": True, "pygments_lang_class": True}),
    ("pymdownx.extra", {}),
    ("pymdownx.tasklist", {"custom_checkbox": True}),
    ("pymdownx.tilde", {}),
)


class _TechDocsCoreConfig(Config):
    # Accepted for compatibility with mkdocs-techdocs-core's options.
    use_material_search = config_options.Type(bool, default=False)
    use_pymdownx_blocks = config_options.Type(bool, default=False)


class TechDocsCore(BasePlugin[_TechDocsCoreConfig]):
    """``techdocs-core`` when mkdocs-techdocs-core is not installed."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if config.theme.name != "material":
            config.theme = Theme(name="material")
        features = config.theme.get("features") or []
        config.theme["features"] = [*features, "navigation.footer"]
        if "search" not in config.plugins and "material/search" not in config.plugins:
            from mkdocs.contrib.search import SearchPlugin

            search = SearchPlugin()
            search.load_config({})
            config.plugins["search"] = search
        for name, options in _TECHDOCS_EXTENSIONS:
            if name not in config.markdown_extensions:
                config.markdown_extensions.append(name)
            merged = {**options, **config.mdx_configs.get(name, {})}
            if name == "pymdownx.emoji" and "emoji_generator" not in merged:
                from pymdownx.emoji import to_svg

                merged["emoji_generator"] = to_svg
            if merged:
                config.mdx_configs[name] = merged
        return config


class _NoOptions(Config):
    pass


class PagesPlugin(BasePlugin[_NoOptions]):
    """Writes ``_goldpath/pages/<page>.json`` and ``_goldpath/site.json`` into the site."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self._nav: Navigation | None = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        # Snippets may only include files from inside the docs source.
        if "pymdownx.snippets" in config.markdown_extensions:
            options = dict(config.mdx_configs.get("pymdownx.snippets") or {})
            options["restrict_base_path"] = True
            bases = options.get("base_path", ["."])
            root = Path.cwd().resolve()
            for base in [bases] if isinstance(bases, str) else list(bases):
                resolved = (root / str(base)).resolve()
                if resolved != root and not resolved.is_relative_to(root):
                    raise PluginError(
                        f"pymdownx.snippets base_path {base!r} is outside the docs source"
                    )
            config.mdx_configs["pymdownx.snippets"] = options
        return config

    def on_nav(self, nav: Navigation, *, config: MkDocsConfig, files: Files) -> Navigation:
        self._nav = nav
        return nav

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        self.pages.append(
            {
                "path": page.file.dest_uri,
                "url": page.url,
                "src": page.file.src_uri,
                "title": page.title,
                "toc": [_anchor(link) for link in page.toc],
                "content": html,
            }
        )
        return html

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        site = Path(config.site_dir)
        for page in self.pages:
            target = site / PAGES_DIR / f"{page['path']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(page), encoding="utf-8")
        info = {
            "site_name": config.site_name,
            "site_description": config.site_description or "",
            "use_directory_urls": config.use_directory_urls,
            "nav": [_nav_item(item) for item in self._nav.items] if self._nav else [],
            "pages": len(self.pages),
            "paths": [page["path"] for page in self.pages],
        }
        (site / SITE_INFO).parent.mkdir(parents=True, exist_ok=True)
        (site / SITE_INFO).write_text(json.dumps(info), encoding="utf-8")


def _anchor(link: AnchorLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "title": link.title,
        "level": link.level,
        "children": [_anchor(child) for child in link.children],
    }


def _nav_item(item: Any) -> dict[str, Any]:
    if isinstance(item, Section):
        return {"title": item.title, "children": [_nav_item(c) for c in item.children]}
    if isinstance(item, Page):
        return {"title": item.title, "url": item.url, "path": item.file.dest_uri}
    if isinstance(item, Link):
        return {"title": item.title, "url": item.url, "external": True}
    return {"title": str(getattr(item, "title", "") or "")}


def techdocs_core_installed() -> bool:
    from mkdocs.plugins import get_plugins

    found = get_plugins().get("techdocs-core")
    return found is not None and not found.value.startswith(__name__)
