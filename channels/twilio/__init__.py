"""Twilio channels: SMS, WhatsApp (Programmable Messaging) and Voice."""

from .messaging import TwilioMessagingAdapter
from .signature import verify_signature

__all__ = ["TwilioMessagingAdapter", "verify_signature"]
