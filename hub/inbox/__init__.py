"""The unified inbox: every channel's messages enter through ``Inbox.ingest``."""

from hub.identity import identity_key, normalize

from .ingest import Inbox, IngestResult, stored_message

__all__ = ["Inbox", "IngestResult", "identity_key", "normalize", "stored_message"]
