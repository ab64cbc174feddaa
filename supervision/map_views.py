"""The map page: checkpoints where the admin placed them, the trucks inside by the gate
they entered at (supervision/map.py draws it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template

from accounts.domain import OVERSIGHT_ROLES
from core import web
from supervision import map as schematic

bp = Blueprint("map", __name__)


@bp.get("/map")
@web.roles_required(*OVERSIGHT_ROLES)
def page() -> Any:
    tile_url = current_app.config["MAP_TILE_URL"]
    drawn = schematic.layout(web.db(), tile_url=tile_url)
    page = render_template(
        "supervision/map.html",
        map=drawn,
        width=schematic.WIDTH,
        height=schematic.HEIGHT,
    )
    response = current_app.make_response(page)
    if tile_url:  # this page alone shows images from the tile server
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(tile_url))
        response.headers["Content-Security-Policy"] = web.CONTENT_SECURITY_POLICY.replace(
            "img-src 'self'", f"img-src 'self' {origin}"
        )
    return response
