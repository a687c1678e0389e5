"""Front-end packages from npm, copied where the portal serves them.

``package.json`` (at the repository's root) names the packages; ``make assets`` runs
``npm ci`` and then ``python -m goldpath.web.assets``, which copies the files listed in
``VENDOR`` into ``static/vendor/``. Neither ``node_modules`` nor the copies are committed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from goldpath.core.logging import get_logger

log = get_logger("goldpath.web.assets")
STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

#: npm package file -> where the portal serves it (under /static/vendor/).
VENDOR: dict[str, str] = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "htmx-ext-sse/dist/sse.min.js": "htmx-sse.min.js",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
}


def missing() -> list[str]:
    """Vendor files the portal would serve but which are not built."""
    return [target for target in VENDOR.values() if not (VENDOR_DIR / target).is_file()]


def build(node_modules: Path, target: Path = VENDOR_DIR) -> list[Path]:
    """Copy the vendor files out of ``node_modules``; fails naming any that is absent."""
    absent = [source for source in VENDOR if not (node_modules / source).is_file()]
    if absent:
        raise FileNotFoundError(
            f"not in {node_modules}: {', '.join(absent)} (run `npm ci` where package.json is)"
        )
    written: list[Path] = []
    for source, name in VENDOR.items():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / source, destination)
        written.append(destination)
    return written


def main(argv: list[str]) -> int:
    node_modules = Path(argv[0]) if argv else Path.cwd() / "node_modules"
    try:
        written = build(node_modules.resolve())
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"portal assets: {len(written)} files in {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
