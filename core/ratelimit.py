"""Rate limits that every app node shares: counts per key and minute, in the database.

A per-process count lets a client that the load balancer spreads over N processes make
N times the limit. Here each hit is one short upsert on its own connection, and the limit
is a sliding window estimated from two fixed windows (the current minute's count plus the
previous minute's, weighted by how much of it the window still covers)."""

from __future__ import annotations

import random
import threading
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, insert_for

# The share of new windows whose first hit also deletes the windows no estimate reads.
PRUNE_SHARE = 0.05


class RateCount(Base):
    __tablename__ = "rate_count"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    # The window's start, in whole seconds since the epoch.
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class LocalCount:
    """What this process alone has counted per key in the current window: a lower bound
    of the shared count. Once it is past the limit the answer is no without a write, so a
    flood costs the database at most `limit` writes per process and window."""

    def __init__(self) -> None:
        self.window, self.counts = -1, {}
        self.lock = threading.Lock()

    def over(self, key: str, limit: int, now: datetime, seconds: int = 60) -> bool:
        window = int(now.timestamp() // seconds)
        with self.lock:
            if window != self.window or len(self.counts) > 100_000:
                self.window, self.counts = window, {}
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key] > limit


def hit(session: Session, key: str, limit: int, now: datetime, seconds: int = 60) -> bool:
    """Count one hit of `key` and say whether it is within `limit` per `seconds`; commits.

    Refused hits count too, so a client hammering past the limit stays refused."""
    stamp = now.timestamp()
    window = int(stamp // seconds) * seconds
    insert = insert_for(session)
    upsert = insert(RateCount).values(key=key[:96], window=window, hits=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[RateCount.key, RateCount.window],
        set_={"hits": RateCount.hits + 1},
    ).returning(RateCount.hits)
    current = session.scalar(upsert)
    previous = session.scalar(
        select(RateCount.hits).where(
            RateCount.key == key[:96], RateCount.window == window - seconds
        )
    )
    if current == 1 and random.random() < PRUNE_SHARE:
        prune(session, now, seconds)
    session.commit()
    covered = 1 - (stamp - window) / seconds
    return (previous or 0) * covered + current <= limit


def prune(session: Session, now: datetime, seconds: int = 60) -> int:
    """Forget windows that no estimate reads any more; returns how many rows went."""
    oldest = int(now.timestamp() // seconds) * seconds - seconds
    return session.execute(delete(RateCount).where(RateCount.window < oldest)).rowcount
