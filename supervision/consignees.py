"""The consignee is told of its truck (货主接引): when a trip bound for it enters, its users
get a `truck_entered` notification and its contact an SMS with the plate and the gate, so
someone goes to receive it; a truck inside too long without arriving (`no_arrival_yet`)
is its users' notice too, as well as the supervisors'.

Both run inside the transaction that caused them (the scan's, the sweep's): nothing is
told of an entry that did not commit, and a retried scan tells nothing twice (a key per
trip and user)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, String, cast, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from accounts.domain import EnterpriseStatus, Role
from accounts.models import Enterprise, User
from checkpoints import events
from checkpoints.domain import AnomalyKind
from checkpoints.models import Anomaly, Trip
from passes.models import Pass
from sms import outbox
from sms.domain import SmsStatus
from sms.models import SmsMessage
from sms.text import anomaly_text, truck_entered_text
from supervision.models import Notification

TRUCK_ENTERED = "truck_entered"

_user, _notification = User.__table__, Notification.__table__


def _staff_told(connection: Connection, *, key: str, values: dict[str, Any]) -> None:
    """One notification to each active user of `values["enterprise_id"]`, keyed
    `<key>:<user id>` (a second time adds nothing), by one INSERT ... SELECT: the scan's
    write transaction reads nothing more for it."""
    enterprise_id = values.pop("enterprise_id")
    columns = ["key", "user_id", *values]
    chosen = select(
        (literal(f"{key}:") + cast(_user.c.id, String)).label("key"),
        _user.c.id,
        *(literal(v, type_=_notification.c[k].type).label(k) for k, v in values.items()),
    ).where(
        _user.c.enterprise_id == enterprise_id,
        _user.c.role == str(Role.ENTERPRISE),
        _user.c.active.is_(True),
    )
    dialect = connection.dialect.name
    connection.execute(
        _once(_notification, dialect, "key").from_select(columns, chosen)  # type: ignore[attr-defined]
    )


def _text(
    connection: Connection,
    *,
    key: str,
    to: str,
    body: str,
    pass_id: int,
    enterprise_id: int,
    now: datetime,
) -> None:
    """One SMS through the outbox, in the caller's transaction (once per key)."""
    connection.execute(
        _once(SmsMessage.__table__, connection.dialect.name, "dedupe_key").values(
            dedupe_key=key,
            to=to,
            body=str(body),
            **outbox.made_from(body),
            status=str(SmsStatus.PENDING),
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            pass_id=pass_id,
            enterprise_id=enterprise_id,
        )
    )


def _once(table: Any, dialect: str, key: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[key])


@dataclass(frozen=True)
class Telling:
    """How the consignee is told: the SMS language and the local clock it reads."""

    locale: str = "zh_CN"
    tz: str = "Asia/Shanghai"


def tell_entered(connection: Connection, entered: Any, *, telling: Telling, now: datetime) -> None:
    """Notify the consignee's users and text its contact (a stand-in for a neighbour, or an
    enterprise not approved now, is told nothing)."""
    if entered.destination_status != EnterpriseStatus.APPROVED:
        return
    shown = {"plate": entered.plate, "number": entered.number, "gate": entered.gate}
    _staff_told(
        connection,
        key=f"entered:{entered.trip_id}",
        values={
            "enterprise_id": entered.destination_enterprise_id,
            "kind": TRUCK_ENTERED,
            "trip_id": entered.trip_id,
            "data": shown,
            "created_at": now,
        },
    )
    if entered.destination_phone:
        local = entered.at.astimezone(ZoneInfo(telling.tz)).strftime("%H:%M")
        body = truck_entered_text(
            telling.locale, plate=entered.plate, gate=entered.gate, code=entered.code, time=local
        )
        _text(
            connection,
            key=f"entered:{entered.trip_id}",
            to=entered.destination_phone,
            body=body,
            pass_id=entered.pass_id,
            enterprise_id=entered.destination_enterprise_id,
            now=now,
        )


def tell_not_arrived(
    connection: Connection, anomaly: Any, *, telling: Telling, now: datetime
) -> None:
    """`no_arrival_yet` of a trip bound for an enterprise here: its users and contact hear
    of it (the applicant's contact is told by the sweep itself)."""
    trip = connection.execute(
        select(Trip.destination_enterprise_id, Trip.plate, Trip.enterprise_id, Pass.number)
        .join(Pass, Pass.id == Trip.pass_id)
        .where(Trip.id == anomaly.trip_id)
    ).first()
    if trip is None or trip.destination_enterprise_id in (None, trip.enterprise_id):
        return
    contact = connection.execute(
        select(Enterprise.contact_phone).where(
            Enterprise.id == trip.destination_enterprise_id,
            Enterprise.status == str(EnterpriseStatus.APPROVED),
        )
    ).scalar()
    if contact is None:
        return
    _staff_told(
        connection,
        key=f"consignee:{anomaly.id}",
        values={
            "enterprise_id": trip.destination_enterprise_id,
            "kind": anomaly.kind,
            "anomaly_id": anomaly.id,
            "trip_id": anomaly.trip_id,
            "data": {"plate": trip.plate, "number": trip.number},
            "created_at": now,
        },
    )
    if contact:
        body = anomaly_text(telling.locale, number=trip.number, plate=trip.plate, kind=anomaly.kind)
        _text(
            connection,
            key=f"consignee:{anomaly.id}",
            to=contact,
            body=body,
            pass_id=anomaly.pass_id,
            enterprise_id=trip.destination_enterprise_id,
            now=now,
        )


class _Entered:
    def __init__(self, telling: Telling):
        self.telling = telling

    def __call__(self, entered: Any, *, connection: Connection, now: datetime) -> None:
        tell_entered(connection, entered, telling=self.telling, now=now)


class _NotArrived:
    def __init__(self, telling: Telling):
        self.telling = telling

    def __call__(self, anomaly: Anomaly, *, session: Any, now: datetime) -> None:
        if anomaly.kind == AnomalyKind.NO_ARRIVAL_YET:
            tell_not_arrived(session.connection(), anomaly, telling=self.telling, now=now)


_connected: list[tuple[Any, Any]] = []


def connect_receivers(telling: Telling) -> None:
    """Connect this process's receivers (a second app replaces the first's)."""
    while _connected:
        signal, receiver = _connected.pop()
        signal.disconnect(receiver)
    for signal, receiver in (
        (events.truck_entered, _Entered(telling)),
        (events.anomaly_raised, _NotArrived(telling)),
    ):
        signal.connect(receiver)
        _connected.append((signal, receiver))
