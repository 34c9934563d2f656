"""Search backends behind one protocol; ``make_backend(settings)`` picks one from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import SearchBackend, SearchDocument, SearchHit, SearchQuery, SearchUnavailable
from .encoder import Encoder, shared_encoder

if TYPE_CHECKING:
    from hub.settings import Settings


def make_backend(settings: Settings, encoder: Encoder | None = None) -> SearchBackend:
    encoder = encoder or shared_encoder()
    if settings.search_backend == "meilisearch":
        from .meili import MeilisearchBackend

        key = settings.meilisearch_key.get_secret_value() if settings.meilisearch_key else None
        return MeilisearchBackend(settings.meilisearch_url, key, encoder)
    from .embedded import EmbeddedBackend

    return EmbeddedBackend(settings.var_dir / "search", encoder)


__all__ = [
    "Encoder",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchUnavailable",
    "make_backend",
    "shared_encoder",
]
