"""The audit log in a reader's words: each entry's object by the number or name a person
knows it by (a pass by its number, a vehicle by its plate masked as on every list, a user
by username and role), its details as labelled fields, and the way back: a number typed
into the page's filter as the (type, id) pairs it names.

A page of entries costs one query per kind of object on it, not one per entry. An object
no longer kept (a driver purged after the retention period) is named by its number.

Over 300 lines on purpose: the words for every object, action and detail key the log
holds, kept beside the lookups that name them, so a new kind of entry is named in one
place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, String, cast, or_, select
from sqlalchemy.orm import Session

from accounts.models import Enterprise, User
from checkpoints.models import Anomaly, Booking, Checkpoint, Scan, Trip
from core.audit import AuditEntry
from core.errors import N_
from core.privacy import mask_name, mask_plate
from core.search import as_plate, starts_with
from core.words import label, word
from federation.models import FederationPeer
from fleet.models import Driver, Vehicle
from passes.models import Pass

# Entries store codes ("pass.revoke"); the page shows words for both halves.
OBJECT_WORDS = {
    "alerts": N_("Alert settings"),
    "anomaly": N_("Anomaly"),
    "api_key": N_("Machine key"),
    "booking": N_("Booking"),
    "checkpoint": N_("Checkpoint"),
    "driver": N_("Driver"),
    "enterprise": N_("Enterprise"),
    "export": N_("Export"),
    "fleet": N_("Fleet"),
    "key": N_("Signing key"),
    "peer": N_("Federation peer"),
    "pass": N_("Pass"),
    "retention": N_("Personal data retention"),
    "scan": N_("Scan"),
    "trip": N_("Trip"),
    "user": N_("User"),
    "vehicle": N_("Vehicle"),
}
VERB_WORDS = {
    "activate": N_("activated"),
    "add": N_("added"),
    "remove": N_("removed"),
    "repin": N_("pinned again"),
    "fork": N_("caught forking its log"),
    "allow": N_("allowed"),
    "annul": N_("annulled"),
    "approve": N_("approved"),
    "booking": N_("bookings per hour set"),
    "change": N_("changed"),
    "approved": N_("approved"),
    "archive": N_("archived"),
    "assign_checkpoints": N_("checkpoints assigned"),
    "audit": N_("audit log"),
    "cancel": N_("cancelled"),
    "cancelled": N_("cancelled"),
    "create": N_("created"),
    "deactivate": N_("deactivated"),
    "deny": N_("denied"),
    "edit": N_("edited"),
    "escort": N_("truck received at the gate"),
    "import": N_("imported"),
    "anomalies": N_("anomalies"),
    "passes": N_("passes"),
    "place": N_("placed on the map"),
    "purge": N_("purged"),
    "raise": N_("raised"),
    "rejected": N_("rejected"),
    "resend_sms": N_("SMS sent again"),
    "reset_password": N_("password reset"),
    "resolve": N_("resolved"),
    "scans": N_("scans"),
    "statistics": N_("statistics"),
    "restore": N_("restored"),
    "revoke": N_("revoked"),
    "revoke_tokens": N_("sign-ins ended"),
    "revoke_devices": N_("signed out of kept phones"),
    "revoked": N_("revoked"),
    "rotate": N_("rotated"),
    "sign_up": N_("signed up"),
    "submit": N_("submitted"),
    "suspended": N_("suspended"),
    "trips": N_("trips"),
    "unlist": N_("taken off the whitelist"),
    "update": N_("updated"),
    "whitelist": N_("whitelist changed"),
}


# Object types as stored (signing keys are "signing_key"; fleet imports name their fleet).
OBJECT_TYPES = {
    "anomaly": "anomaly",
    "api_key": "api_key",
    "booking": "booking",
    "checkpoint": "checkpoint",
    "driver": "driver",
    "enterprise": "enterprise",
    "export": "export",
    "pass": "pass",
    "retention": "retention",
    "scan": "scan",
    "signing_key": "key",
    "trip": "trip",
    "user": "user",
    "vehicle": "vehicle",
}


def object_words(code: str) -> str:
    thing = OBJECT_TYPES.get(code)
    return gettext(OBJECT_WORDS[thing]) if thing else code


def action_words(code: str) -> str:
    thing, _, verb = code.partition(".")
    if thing not in OBJECT_WORDS or verb not in VERB_WORDS:
        return code
    return f"{gettext(OBJECT_WORDS[thing])} · {gettext(VERB_WORDS[verb])}"


# The audit page's own filters, as an export of it keeps them.
AUDIT_FILTER_WORDS = {
    "action": N_("What"),
    "actor": N_("Who"),
    "object": N_("Pass number, plate or name"),
    "object_id": N_("Object number"),
}
# Detail keys as a person reads them. A key not listed shows as itself.
FIELD_WORDS = {
    **AUDIT_FILTER_WORDS,
    "object_type": N_("Object type"),
    "anomaly": N_("Anomaly"),
    "auto": N_("Approved automatically"),
    "prefix": N_("Key begins"),
    "scopes": N_("May do"),
    "by": N_("By"),
    "kid": N_("Signing key"),
    "status_before": N_("Status before"),
    "status_after": N_("Status after"),
    "capacity_per_hour": N_("Bookings per hour"),
    "checkpoint": N_("Checkpoint"),
    "checkpoint_id": N_("Checkpoint"),
    "checkpoints": N_("Checkpoints"),
    "code": N_("Code"),
    "count": N_("How many"),
    "daily_summary": N_("Daily summary"),
    "days": N_("Days"),
    "driver": N_("Driver"),
    "drivers": N_("Drivers"),
    "enterprise_id": N_("Enterprise"),
    "event": N_("Event"),
    "fingerprint": N_("Key fingerprint"),
    "from": N_("From"),
    "heartbeats": N_("Heartbeats"),
    "api_tokens": N_("Sign-in tokens"),
    "kept": N_("Kept"),
    "kind": N_("Kind"),
    "kinds": N_("Alert kinds"),
    "login_attempts": N_("Sign-in attempts"),
    "note": N_("With a note"),
    "notes": N_("Notes and reasons"),
    "notifications": N_("Notifications"),
    "number": N_("Number"),
    "open": N_("Open only"),
    "pass": N_("Pass"),
    "placed": N_("On the map"),
    "plate": N_("Plate"),
    "reason": N_("Reason"),
    "reason_kept": N_("Reason"),
    "reasons": N_("Reasons"),
    "role": N_("Role"),
    "shown": N_("Shown"),
    "signed_by": N_("Signed by"),
    "slot_start": N_("Booked hour"),
    "sms": N_("SMS"),
    "sms_messages": N_("SMS messages"),
    "sort": N_("Order"),
    "state": N_("State"),
    "status": N_("Status"),
    "to": N_("To"),
    "trip": N_("Trip"),
    "until": N_("Until"),
    "vehicles": N_("Vehicles"),
    "whitelisted": N_("Whitelisted"),
    "why": N_("Why"),
}
# An enterprise's status change keeps "from" and "to": statuses, not dates.
STATUS_WORDS = {"from": "status_before", "to": "status_after"}
# Keys whose values are the ids of objects: named like the objects themselves.
REFERENCES = {
    "trip": "trip",
    "pass": "pass",
    "checkpoint": "checkpoint",
    "checkpoint_id": "checkpoint",
    "checkpoints": "checkpoint",
    "enterprise_id": "enterprise",
}
FORMATS = {"csv": "CSV", "xlsx": "Excel", "pdf": "PDF"}


def _field_word(key: str) -> str:
    return gettext(FIELD_WORDS[key]) if key in FIELD_WORDS else key


@dataclass(frozen=True)
class Field:
    label: str
    value: str


def _pair(name: str, detail: str) -> str:
    """A name and what tells it apart, in the language's brackets."""
    return gettext("%(name)s (%(detail)s)", name=name, detail=detail)


def _listed(values: Iterable[str]) -> str:
    return gettext(", ").join(values)


def _trip(number: str, seq: int) -> str:
    return gettext("%(number)s, trip %(seq)d", number=number, seq=seq)


def _scan(number: str | None, gate: str, event: str) -> str:
    """A scan by its pass, gate and event; a refused one (no event) as refused."""
    what = word("decision", "deny") if event == "none" else word("event", event)
    return " · ".join(x for x in (number, gate, what) if x)


# Each kind of object: the statement naming it (its id first) and how its row reads.
LOOKUPS: dict[str, tuple[Select[Any], Any]] = {
    "pass": (
        select(Pass.id, Pass.number, Vehicle.plate).join(Vehicle, Vehicle.id == Pass.vehicle_id),
        lambda number, plate: _pair(number, mask_plate(plate)),
    ),
    "trip": (select(Trip.id, Pass.number, Trip.seq).join(Pass, Pass.id == Trip.pass_id), _trip),
    "scan": (
        select(Scan.id, Pass.number, Checkpoint.name, Scan.event)
        .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
        .outerjoin(Pass, Pass.id == Scan.pass_id),
        _scan,
    ),
    "anomaly": (
        select(Anomaly.id, Pass.number, Anomaly.kind).join(Pass, Pass.id == Anomaly.pass_id),
        lambda number, kind: f"{number} · {label('anomaly_kind', kind)}",
    ),
    "booking": (
        select(Booking.id, Pass.number, Checkpoint.name)
        .join(Pass, Pass.id == Booking.pass_id)
        .join(Checkpoint, Checkpoint.id == Booking.checkpoint_id),
        lambda number, gate: f"{number} · {gate}",
    ),
    "vehicle": (select(Vehicle.id, Vehicle.plate), mask_plate),
    "driver": (select(Driver.id, Driver.name), mask_name),
    "enterprise": (select(Enterprise.id, Enterprise.name), str),
    "user": (
        select(User.id, User.username, User.role),
        lambda name, role: _pair(name, word("role", role)),
    ),
    "checkpoint": (
        select(Checkpoint.id, Checkpoint.name, Checkpoint.code),
        lambda name, code: _pair(name, code),
    ),
}


def _lookups(session: Session, kind: str, ids: set[int]) -> dict[int, str]:
    if kind not in LOOKUPS:
        return {}
    stmt, shown = LOOKUPS[kind]
    rows = session.execute(stmt.where(stmt.selected_columns[0].in_(ids)))
    return {row[0]: shown(*row[1:]) for row in rows}


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, str) and value.isdigit():
        return [int(value)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


class Names:
    """What one page (or export batch) of entries refers to, looked up once."""

    def __init__(self, session: Session, entries: Iterable[AuditEntry]) -> None:
        wanted: dict[str, set[int]] = defaultdict(set)
        peers: set[str] = set()
        for entry in entries:
            if entry.object_type == "peer":
                peers.add(entry.object_id or "")
            else:
                wanted[entry.object_type].update(_ids(entry.object_id))
            for key, value in (entry.data or {}).items():
                if key in REFERENCES:
                    wanted[REFERENCES[key]].update(_ids(value))
        self.known = {kind: _lookups(session, kind, ids) for kind, ids in wanted.items() if ids}
        self.peers: dict[str, str] = dict(
            session.execute(
                select(FederationPeer.area_code, FederationPeer.name).where(
                    FederationPeer.area_code.in_(peers)
                )
            ).all()
        )

    def _one(self, kind: str, id_: int) -> str:
        return self.known.get(kind, {}).get(id_) or gettext("No. %(id)d", id=id_)

    def object(self, entry: AuditEntry) -> str:
        """The entry's object as a person knows it ("" when the entry has none)."""
        raw, kind = entry.object_id or "", entry.object_type
        if kind == "peer":
            name = self.peers.get(raw)
            return _pair(name, raw) if name else raw
        if kind == "export":
            return FORMATS.get(raw, raw)
        ids = _ids(raw)
        return self._one(kind, ids[0]) if ids and kind in self.known else raw

    def value(self, entry: AuditEntry, key: str, value: Any) -> str:
        thing = entry.action.partition(".")[0]
        if key in REFERENCES and _ids(value):
            return _listed(self._one(REFERENCES[key], i) for i in _ids(value))
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        if value is None or value == "":
            return "—"
        if isinstance(value, list):
            kinds = {"kinds": "anomaly_kind", "reasons": "reason"}.get(key)
            return _listed(label(kinds, str(v)) if kinds else str(v) for v in value) or "—"
        if isinstance(value, dict):
            return gettext("; ").join(f"{k}: {v}" for k, v in value.items()) or "—"
        code = str(value)
        vocabulary: str | None = {
            "role": "role",
            "state": "trip_state",
            "anomaly": "anomaly_kind",
            "event": "event",
            "reason": "annul_reason" if thing in ("scan", "trip") else None,
            "kind": {"anomaly": "anomaly_kind", "checkpoint": "checkpoint_kind"}.get(thing),
            "from": "enterprise_status" if thing == "enterprise" else None,
            "to": "enterprise_status" if thing == "enterprise" else None,
            "status": "pass_status",
        }.get(key)
        if key == "action":
            return action_words(code)
        if key == "object_type":
            return object_words(code)
        if key == "reason_kept":
            return gettext("Kept with the pass, not in the log")
        return label(vocabulary, code) if vocabulary else code

    def fields(self, entry: AuditEntry) -> list[Field]:
        """The entry's details as labelled fields, in a stable order."""
        status = entry.action.startswith("enterprise.")  # "from" and "to" are statuses
        return [
            Field(
                _field_word(STATUS_WORDS.get(key, key) if status else key),
                self.value(entry, key, v),
            )
            for key, v in sorted((entry.data or {}).items())
        ]

    def details(self, entry: AuditEntry) -> str:
        """The fields on one line, for an export's cell."""
        return gettext("; ").join(
            gettext("%(label)s: %(value)s", label=f.label, value=f.value)
            for f in self.fields(entry)
        )


PLATES_AT_MOST = 500  # vehicles a plate's beginning stands for: a filter, not an export


def _vehicles(session: Session, text: str) -> list[int]:
    """浙F67890, 浙f 678 or 浙F6***0 as the entries show it."""
    plate = as_plate(text)
    head, star, _ = plate.partition("*")
    if len(head) < 2:
        return []
    rows = session.execute(
        select(Vehicle.id, Vehicle.plate)
        .where(starts_with(Vehicle.plate, head))
        .order_by(Vehicle.plate)
        .limit(PLATES_AT_MOST)
    )
    return [i for i, p in rows if not star or mask_plate(p) == plate]


def matching(session: Session, text: str) -> ColumnElement[bool]:
    """The entries whose object a number or name typed into the filter stands for: a pass
    number (the pass, its trips, scans, anomalies and bookings), a plate, its beginning or
    the plate masked as the lists show it (the vehicles and their passes, likewise), a
    username, an enterprise's name, a checkpoint's name or code, a peer's area code, or the
    object's number as the log stores it."""
    text = text.strip()
    vehicles = _vehicles(session, text)
    passes = list(
        session.scalars(
            select(Pass.id).where(or_(Pass.number == text, Pass.vehicle_id.in_(vehicles)))
        )
    )

    def among(kind: str, ids: Any) -> ColumnElement[bool]:
        return (AuditEntry.object_type == kind) & AuditEntry.object_id.in_(ids)

    def ids_of(column: Any, *where: Any) -> Select[Any]:
        return select(cast(column, String)).where(*where)

    kinds = [
        among("vehicle", [str(i) for i in vehicles]),
        among("pass", [str(i) for i in passes]),
        among("user", ids_of(User.id, User.username == text)),
        among("enterprise", ids_of(Enterprise.id, Enterprise.name == text)),
        among(
            "checkpoint",
            ids_of(Checkpoint.id, or_(Checkpoint.code == text, Checkpoint.name == text)),
        ),
        AuditEntry.object_id == text,  # a peer's area code, or the number the log stores
    ]
    if passes:
        for kind, model in (
            ("trip", Trip),
            ("scan", Scan),
            ("anomaly", Anomaly),
            ("booking", Booking),
        ):
            kinds.append(among(kind, ids_of(model.id, model.pass_id.in_(passes))))
    return or_(*kinds)
