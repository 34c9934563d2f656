"""E-mail: IMAP polling (aioimaplib) and an optional SMTP listener (aiosmtpd) in, SMTP out."""

from .adapter import EmailAdapter
from .parse import ParsedMail, parse_mail

__all__ = ["EmailAdapter", "ParsedMail", "parse_mail"]
