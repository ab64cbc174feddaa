"""The map of checkpoints: placed by the admin, drawn without a tile server, the trucks
inside by the gate they entered at; tiles from MAP_TILE_URL when one is configured."""

import re
import uuid

from sqlalchemy import select

from checkpoints.models import Checkpoint
from core.audit import AuditEntry
from tests.support import api_token, login, post_form


def test_the_admin_places_gates_and_the_map_shows_the_trucks_inside_by_gate(app, client, make):
    west, east, unplaced = (make.checkpoint("gate") for _ in range(3))
    officer = api_token(client, make.officer(west, east).username)
    passes = [make.pass_(status="approved") for _ in range(3)]
    for p, gate in zip(passes, (west, west, east), strict=True):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
        assert client.post("/api/v1/scans", json=body, headers=officer).status_code == 200

    supervisor = make.user("supervisor")
    login(client, supervisor.username)
    empty = client.get("/map").get_data(as_text=True)
    assert 'id="map-empty"' in empty
    assert 'id="map"' not in empty

    login(client, make.user("admin").username)
    for gate, lat, lon in ((west, "30.70", "121.00"), (east, "30.68", "121.10")):
        answer = post_form(
            client, f"/admin/checkpoints/{gate.id}/place", {"latitude": lat, "longitude": lon}
        )
        assert answer.status_code == 302
    for bad in ({"latitude": "91", "longitude": "121"}, {"latitude": "30.7", "longitude": ""}):
        answer = post_form(client, f"/admin/checkpoints/{unplaced.id}/place", bad)
        assert answer.status_code == 302
        page = client.get("/admin/checkpoints").get_data(as_text=True)
        assert 'class="flash flash-error"' in page
    with make.session() as session:
        kept = {c.id: (c.latitude, c.longitude) for c in session.scalars(select(Checkpoint))}
        placed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "checkpoint.place")
        ).all()
    assert kept[west.id] == (30.70, 121.00)
    assert kept[unplaced.id] == (None, None)  # nothing half-written from a bad form
    assert len(placed) == 2

    login(client, supervisor.username)
    page = client.get("/map").get_data(as_text=True)
    assert 'id="map-inside">辖区内 3 辆车<' in page
    spots = dict(re.findall(r'id="spot-(\d+)">.*?class="map-count">(\d+)<', page, flags=re.S))
    assert spots == {str(west.id): "2", str(east.id): "1"}
    xs = dict(re.findall(r'id="spot-(\d+)">.*?<circle cx="([\d.]+)"', page, flags=re.S))
    assert float(xs[str(west.id)]) < float(xs[str(east.id)])  # west is left
    assert unplaced.name in page.split('id="map-unplaced"')[1]
    assert "<image" not in page
    assert "img-src 'self' data: blob:;" in client.get("/map").headers["Content-Security-Policy"]

    app.config["MAP_TILE_URL"] = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    answer = client.get("/map")
    tiled = answer.get_data(as_text=True)
    tiles = re.findall(
        r'<image class="map-tile" href="https://tiles\.example\.gov\.cn/(\d+)/(\d+)/(\d+)\.png"',
        tiled,
    )
    assert 0 < len(tiles) <= 48
    zoom, x, y = (int(v) for v in tiles[0])
    assert 9 <= zoom <= 19
    assert abs(x / 2**zoom * 360 - 180 - 121.05) < 360 / 2**zoom * 8  # tiles about the gates
    assert "https://tiles.example.gov.cn" in answer.headers["Content-Security-Policy"]
