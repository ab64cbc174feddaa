"""Answers that are files: lists as XLSX or streamed CSV, and the manifest and service
worker that make a page installable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import (
    Response,
    current_app,
    send_file,
    stream_with_context,
    url_for,
)
from sqlalchemy.orm import Session

from core import tabular, web


def web_manifest(*, name: str, short_name: str, start: str, theme: str) -> Response:
    """A manifest that installs the page at `start` (its own scope) with the app's icons."""
    manifest = {
        "name": name,
        "short_name": short_name,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": theme,
        "icons": [
            {
                "src": url_for("static", filename=f"img/icon-{n}.png"),
                "sizes": f"{n}x{n}",
                "type": "image/png",
            }
            for n in (192, 512)
        ],
    }
    response = current_app.response_class(
        json.dumps(manifest, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_download(
    fmt: str,
    header: list[str],
    rows_of: Callable[[Session], Iterable[list[Any]]],
    name: str,
    title: str,
) -> Response:
    """A list as an XLSX file or a streamed CSV; `rows_of(session)` yields its rows. The CSV
    reads on a session of its own, closed when the last row is sent (or the client goes
    away), and keeps the request's context so its words are in the user's language."""
    if fmt == "xlsx":
        spooled = tabular.xlsx_file(header, rows_of(web.db()), title)
        return send_file(spooled, mimetype=XLSX_TYPE, as_attachment=True, download_name=name)
    sessions = current_app.extensions["read_sessions"]

    def stream() -> Iterator[bytes]:
        with sessions() as session:
            yield from tabular.csv_stream(header, rows_of(session))

    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(stream_with_context(stream()), mimetype="text/csv", headers=disposition)


def service_worker(filename: str, scope: str) -> Response:
    """static/js/`filename`, served where it may control `scope` (read whole: it is small)."""
    script = Path(current_app.static_folder or "static") / "js" / filename
    response = current_app.response_class(script.read_bytes(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = scope
    response.headers["Cache-Control"] = "no-cache"
    return response
