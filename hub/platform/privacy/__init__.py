"""GDPR / POPIA: consent records, data-subject export, erasure, retention, processing register."""

from __future__ import annotations

from dataclasses import dataclass

from .consent import Consents
from .erase import erase_contact
from .export import export_zip
from .retention import JOB_KIND as RETENTION_JOB
from .retention import Retention


@dataclass
class Privacy:
    consents: Consents
    retention: Retention


__all__ = ["RETENTION_JOB", "Consents", "Privacy", "Retention", "erase_contact", "export_zip"]
