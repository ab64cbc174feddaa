"""The map of checkpoints and the vehicles inside: a schematic drawn from the coordinates
the admin gave each checkpoint, with no tile server needed (Web Mercator, so that a tile
layer lines up when MAP_TILE_URL names one, e.g. an intranet's `.../{z}/{x}/{y}.png`).

A gate's dot grows with the trucks inside that entered there; a checkpoint without
coordinates is listed beside the map, not guessed. Names are written large enough to read
on a phone, below their dot or above it when a neighbour's name is already there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoints.domain import OPEN_STATES
from checkpoints.models import Checkpoint, Trip

WIDTH, HEIGHT, MARGIN = 1000, 700, 80
TILE = 256
FONT = 36  # a name's height in the drawing's units: about 12 px on a 360 px phone
SMALLEST, LARGEST = 18, 44  # a dot's radius: none inside, the most inside
Screen = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Spot:
    checkpoint: Checkpoint
    inside: int  # open trips that entered here
    x: float = 0.0
    y: float = 0.0
    r: float = SMALLEST
    label_x: float = 0.0
    label_y: float = 0.0  # the name's baseline


@dataclass(frozen=True)
class Tile:
    url: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class Layout:
    placed: list[Spot]
    unplaced: list[Spot]
    tiles: list[Tile]
    inside: int


def _world(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator at zoom 0, in tile units (0..1 across the world)."""
    lat = max(min(lat, 85.0511), -85.0511)
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360, y


def layout(session: Session, *, tile_url: str | None = None) -> Layout:
    counts = dict(
        session.execute(
            select(Trip.entry_checkpoint_id, func.count())
            .where(Trip.state.in_(OPEN_STATES))
            .group_by(Trip.entry_checkpoint_id)
        ).all()
    )
    checkpoints = session.scalars(
        select(Checkpoint).where(Checkpoint.active.is_(True)).order_by(Checkpoint.code)
    ).all()
    spots = [Spot(c, counts.get(c.id, 0)) for c in checkpoints]
    unplaced = [s for s in spots if s.checkpoint.latitude is None]
    placed = [s for s in spots if s.checkpoint.latitude is not None]
    inside = sum(counts.values())
    if not placed:
        return Layout([], unplaced, [], inside)
    worlds = [_world(s.checkpoint.latitude or 0, s.checkpoint.longitude or 0) for s in placed]
    xs, ys = [w[0] for w in worlds], [w[1] for w in worlds]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-5)  # one gate: about 1 km across
    scale = min((WIDTH - 2 * MARGIN) / span, (HEIGHT - 2 * MARGIN) / span)
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def screen(wx: float, wy: float) -> tuple[float, float]:
        return WIDTH / 2 + (wx - mid_x) * scale, HEIGHT / 2 + (wy - mid_y) * scale

    most = max(s.inside for s in placed) or 1
    placed = _labelled(
        [
            Spot(
                s.checkpoint,
                s.inside,
                *screen(wx, wy),
                SMALLEST + (LARGEST - SMALLEST) * s.inside / most,
            )
            for s, (wx, wy) in zip(placed, worlds, strict=True)
        ]
    )
    return Layout(placed, unplaced, _tiles(tile_url, scale, screen) if tile_url else [], inside)


def _labelled(spots: list[Spot]) -> list[Spot]:
    """Each name under its dot, or over it (or lower down) where it would cross a dot or a
    name already written; kept inside the drawing's edges."""
    boxes = [(s.x - s.r, s.y - s.r, s.x + s.r, s.y + s.r) for s in spots]  # the dots
    done = []
    for s in spots:
        half = len(s.checkpoint.name) * FONT / 2  # Chinese: a character is about square
        x = min(max(s.x, half + 4), WIDTH - half - 4)
        for y in (s.y + s.r + FONT, s.y - s.r - FONT / 3, s.y + s.r + 2.2 * FONT):
            box = (x - half, y - FONT, x + half, y + FONT / 4)
            if not any(_cross(box, other) for other in boxes):
                break
        boxes.append(box)
        done.append(replace(s, label_x=x, label_y=min(max(y, FONT), HEIGHT - 4)))
    return done


def _cross(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _tiles(url: str, scale: float, screen: Screen) -> list[Tile]:
    """The tiles of the zoom whose tiles are drawn nearest their own size, covering the
    drawing (at most 48)."""
    zoom = max(0, min(19, round(math.log2(scale / TILE))))
    n = 2**zoom
    size = scale / n
    left, top = _inverse(screen, 0, 0)
    right, bottom = _inverse(screen, WIDTH, HEIGHT)
    tiles = []
    for tx in range(max(0, math.floor(left * n)), min(n, math.ceil(right * n))):
        for ty in range(max(0, math.floor(top * n)), min(n, math.ceil(bottom * n))):
            x, y = screen(tx / n, ty / n)
            link = url.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
            tiles.append(Tile(link, x, y, size))
    return tiles[:48]


def _inverse(screen: Screen, x: float, y: float) -> tuple[float, float]:
    x0, y0 = screen(0.0, 0.0)
    x1, y1 = screen(1.0, 1.0)
    return (x - x0) / (x1 - x0), (y - y0) / (y1 - y0)
