"""Authentication (passwords, JWT, refresh rotation, API keys) and the one permission check."""

from .api_keys import ApiKeys
from .permissions import PERMISSIONS, Principal, require
from .tokens import Tokens
from .users import Users

__all__ = ["PERMISSIONS", "ApiKeys", "Principal", "Tokens", "Users", "require"]
