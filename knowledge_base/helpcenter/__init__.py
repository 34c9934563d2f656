"""The help center: server-rendered pages under /help (see ``views``)."""

from __future__ import annotations

from aiohttp import web

from . import files, portal, views


def setup(app: web.Application) -> None:
    app.middlewares.append(views.signed_in)  # innermost: after the hub's own middlewares
    app.middlewares.append(views.not_found_page)  # the help center's 404 page, knowing who is signed in
    views.install(app)
    portal.install(app)
    files.install(app)


__all__ = ["setup"]
