"""The REST API: routing with OpenAPI, problem+json errors, middlewares, v1 resources."""

from .routing import ApiRouter

__all__ = ["ApiRouter"]
