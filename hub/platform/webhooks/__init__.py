"""Outgoing webhooks: signed, queued, retried, logged, disabled after repeated failure."""

from .service import JOB_KIND, Webhooks
from .signing import HEADER, SignatureError, sign, verify

__all__ = ["HEADER", "JOB_KIND", "SignatureError", "Webhooks", "sign", "verify"]
