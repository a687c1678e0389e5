"""Entity providers: plugins that push entities into the catalog (org sync, inventories).

As in Backstage, a provider gets a connection once at start and applies mutations through it
whenever it likes: a ``full`` replacement of every entity it provides, or a delta.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from goldpath.catalog.processing import Processor, RunReport


class ProviderConnection:
    def __init__(self, processor: Processor, provider_name: str) -> None:
        self._processor = processor
        self.provider_name = provider_name

    def apply_mutation(
        self,
        *,
        full: Sequence[dict[str, Any]] | None = None,
        added: Sequence[dict[str, Any]] = (),
        removed: Sequence[str] = (),
    ) -> RunReport:
        """``full``: these are all my entities now. Otherwise ``added``/``removed`` refs."""
        return self._processor.apply_provider_mutation(
            self.provider_name, full=full, added=added, removed=removed
        )


class EntityProvider(Protocol):
    #: Unique and stable: entities are owned by the provider of this name.
    name: str

    def connect(self, connection: ProviderConnection) -> None:
        """Called once at start; keep the connection and apply mutations through it."""
