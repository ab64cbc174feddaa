"""The closed loop's rules: what a scan means (docs/architecture.md, "The hot path"),
how a trip replays from its scans, and which anomalies a sweep raises. Pure standard
library.

Over 300 lines on purpose: the decision table, the offline judgment, replay and the sweep's
rules are one set the table tests read together."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.errors import N_

CLOCK_SKEW = timedelta(minutes=5)
ANNUL_WINDOW = timedelta(minutes=10)


class Kind(StrEnum):
    GATE = "gate"  # 卡口: entry to and exit from the jurisdiction
    SITE = "site"  # a destination enterprise's own gate


class Event(StrEnum):
    ENTRY = "entry"
    ARRIVAL = "arrival"
    EXIT = "exit"


class TripState(StrEnum):
    ENTERED = "entered"
    ARRIVED = "arrived"
    EXITED = "exited"
    VOID = "void"  # every scan of it was annulled


OPEN_STATES = (TripState.ENTERED, TripState.ARRIVED)


class AnomalyKind(StrEnum):
    NO_ENTRY = "no_entry"
    NO_ARRIVAL = "no_arrival"
    NO_EXIT = "no_exit"
    OVERSTAY = "overstay"
    NO_ARRIVAL_YET = "no_arrival_yet"
    EXPIRED_OPEN = "expired_open"
    OFFLINE_CONFLICT = "offline_conflict"  # a phone offline decided otherwise than the server


OFFICER_DENIALS = ("plate_mismatch", "driver_mismatch")


@dataclass(frozen=True)
class LivePass:
    id: int
    status: str
    valid_from: datetime
    valid_until: datetime
    max_trips: int
    trips_used: int
    destination_enterprise_id: int
    route: tuple[int, ...] = ()
    enterprise_suspended: bool = False  # the applicant is suspended: no entry, exit allowed


@dataclass(frozen=True)
class OpenTrip:
    id: int
    seq: int
    arrived: bool


@dataclass(frozen=True)
class Place:
    id: int
    kind: str
    enterprise_id: int | None


@dataclass(frozen=True)
class Outcome:
    decision: str  # allow | deny
    event: str | None
    reasons: tuple[str, ...] = ()
    opens_trip: bool = False  # a new trip begins with this scan
    counts_trip: bool = True  # ...and uses one of the pass's trips (False: an exit-only record)
    closes_previous: bool = False  # an override entry closes the open trip first
    anomalies: tuple[str, ...] = ()
    stamps: bool = True  # the event is written on the trip (False: the scan only joins it)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


def deny(*reasons: str) -> Outcome:
    return Outcome("deny", None, tuple(reasons))


def status_problems(live: LivePass, now: datetime) -> tuple[str, ...]:
    """Why the pass itself does not permit travel now (revocation beats a valid signature)."""
    if live.status == "revoked":
        return ("revoked",)
    if live.status != "approved":
        return ("not_approved",)
    if live.enterprise_suspended:
        return ("enterprise_suspended",)
    if now > live.valid_until + CLOCK_SKEW:
        return ("expired",)
    if now < live.valid_from - CLOCK_SKEW:
        return ("not_yet_valid",)
    return ()


def decide(
    *,
    token_reason: str | None,
    live: LivePass | None,
    open_trip: OpenTrip | None,
    place: Place,
    now: datetime,
    assigned: bool = True,
    direction: str | None = None,
    deny_reason: str | None = None,
) -> Outcome:
    """The one decision for a scan: parse -> signature -> live status -> window -> place."""
    if not assigned:
        return deny("wrong_checkpoint")
    if token_reason:
        return deny(token_reason)
    if live is None:
        return deny("not_found")
    if deny_reason in OFFICER_DENIALS:
        return deny(deny_reason)  # the officer looked and it does not match
    problems = status_problems(live, now)
    if place.kind == Kind.GATE:
        leaving = direction == Event.EXIT or (open_trip is not None and direction != Event.ENTRY)
        if leaving:
            # Exit is allowed even late or revoked, so trucks can leave; reasons inform.
            if open_trip is None:
                return _exit_without_entry(live, problems)
            missing = () if open_trip.arrived else (AnomalyKind.NO_ARRIVAL,)
            return Outcome("allow", Event.EXIT, problems, anomalies=missing)
        if problems:
            return deny(*problems)
        if live.trips_used >= live.max_trips:
            return deny("no_trips_left")
        if live.route and place.id not in live.route:
            return deny("not_on_route")
        return Outcome("allow", Event.ENTRY, opens_trip=True, closes_previous=open_trip is not None)
    if problems:
        return deny(*problems)
    if place.enterprise_id != live.destination_enterprise_id:
        return deny("wrong_destination")
    if open_trip is None:
        if live.trips_used >= live.max_trips:
            return deny("no_trips_left")
        return Outcome("allow", Event.ARRIVAL, opens_trip=True, anomalies=(AnomalyKind.NO_ENTRY,))
    if open_trip.arrived:
        return Outcome("allow", None, ("already_arrived",))
    return Outcome("allow", Event.ARRIVAL)


def _exit_without_entry(live: LivePass, problems: tuple[str, ...]) -> Outcome:
    """A truck leaving with no recorded entry. A pass that was never approved is no pass.
    One that could have entered pays the trip it made; one that could not (revoked,
    expired, used up) gets an exit-only record that uses no trip, so trips_used never
    passes max_trips. Either way the missing entry is an anomaly."""
    if live.status not in ("approved", "revoked"):
        return deny("not_approved")
    if not problems and live.trips_used >= live.max_trips:
        problems = ("no_trips_left",)
    return Outcome(
        "allow",
        Event.EXIT,
        problems,
        opens_trip=True,
        counts_trip=not problems,
        anomalies=(AnomalyKind.NO_ENTRY,),
    )


def offline_outcome(
    server: Outcome,
    *,
    device_decision: str,
    device_event: str | None,
    live: LivePass | None,
    open_trip: OpenTrip | None,
) -> Outcome:
    """An offline scan as it happened. The phone's verdict stands (the truck went through,
    or was turned away); where the server, deciding now at the scan's device time, would
    have decided otherwise (revoked meanwhile, no trips left, another gate already let it
    in), the scan is recorded all the same and raises `offline_conflict`. A forced scan
    never opens a second trip, and uses a trip only when the pass had one to give."""
    if device_decision != "allow":
        return Outcome("deny", None, server.reasons if not server.allowed else ())
    if server.allowed and server.event == device_event and device_event is not None:
        return server
    conflict = server.reasons or ("offline_conflict",)
    counts = live is not None and live.status == "approved" and live.trips_used < live.max_trips
    anomalies: tuple[str, ...] = (AnomalyKind.OFFLINE_CONFLICT,)
    if open_trip is not None:
        stamps = device_event == Event.EXIT or (
            device_event == Event.ARRIVAL and not open_trip.arrived
        )
        return Outcome("allow", device_event, conflict, anomalies=anomalies, stamps=stamps)
    if device_event != Event.ENTRY:
        anomalies = (AnomalyKind.NO_ENTRY, AnomalyKind.OFFLINE_CONFLICT)
    return Outcome(
        "allow",
        device_event or Event.ENTRY,
        conflict,
        opens_trip=True,
        counts_trip=counts,
        anomalies=anomalies,
    )


# A device time this far ahead of the server's, or this far behind (longer than a phone
# plausibly holds a queue), is kept but flagged on the scan.
CLOCK_FLAG = timedelta(minutes=5)
QUEUE_FLAG = timedelta(days=7)


def judge_offline(
    outcome: Outcome,
    *,
    found: bool,
    token_reason: str | None,
    device_at: datetime,
    now: datetime,
) -> tuple[Outcome, tuple[str, ...]]:
    """The server's last word on a synced offline scan (after `offline_outcome`), and the
    reasons to record: a phone that let through what the server cannot find is overruled
    (`offline_conflict`, nothing stamped), and a device clock far off the server's is
    flagged (`device_clock`)."""
    reasons = outcome.reasons
    if not found and outcome.allowed:
        outcome = replace(outcome, decision="deny", event=None, anomalies=())
        reasons = (token_reason or "not_found", "offline_conflict")
    if device_at - now > CLOCK_FLAG or now - device_at > QUEUE_FLAG:
        reasons = (*reasons, "device_clock")
    return outcome, reasons


SHORTEST_TAIL = 6  # a plate without its province: a letter and five more


def same_plate(actual: str, typed: str, *, manual: bool) -> bool:
    """A signed code must carry the pass's plate exactly; a plate typed by hand may leave
    out the province character when the rest is the pass's."""
    return typed == actual or (manual and typed == actual[1:])


def may_compare_plate(*, role: str, place: Place, destination_enterprise_id: int) -> bool:
    """Who learns a pass's plate from its number alone: an officer at a gate, or the
    pass's own destination. Anyone else trying numbers would read others' plates."""
    if role == "officer":
        return True
    return place.enterprise_id is not None and place.enterprise_id == destination_enterprise_id


def shows_everything(
    outcome: Outcome, *, role: str, place: Place, destination_enterprise_id: int
) -> bool:
    """An allowed scan shows the whole pass; a denial shows the scanner no more than the
    public status page, unless an officer denies it at the pass's own destination. So a
    rival enterprise with a site of its own learns nothing by scanning others' passes."""
    if outcome.allowed:
        return True
    if role == "enterprise":
        return False
    return place.enterprise_id == destination_enterprise_id


@dataclass
class Replayed:
    state: TripState = TripState.VOID
    entered: tuple[datetime, int] | None = None
    arrived: tuple[datetime, int] | None = None
    exited: tuple[datetime, int] | None = None
    events: list[str] = field(default_factory=list)


def replay(events: Iterable[tuple[str, datetime, int]]) -> Replayed:
    """A trip's fields from its standing (not annulled) allowed events, oldest first."""
    result = Replayed()
    for event, at, checkpoint_id in events:
        result.events.append(event)
        if event == Event.ENTRY and result.entered is None:
            result.entered = (at, checkpoint_id)
        elif event == Event.ARRIVAL and result.arrived is None:
            result.arrived = (at, checkpoint_id)
        elif event == Event.EXIT and result.exited is None:
            result.exited = (at, checkpoint_id)
    if result.exited:
        result.state = TripState.EXITED
    elif result.arrived:
        result.state = TripState.ARRIVED
    elif result.entered:
        result.state = TripState.ENTERED
    return result


def may_annul(*, role: str, is_scanner: bool, recorded_at: datetime, now: datetime) -> bool:
    """Supervisors always; the officer who scanned, within ten minutes."""
    return role == "supervisor" or (is_scanner and now - recorded_at <= ANNUL_WINDOW)


@dataclass(frozen=True)
class SweepPolicy:
    max_stay: timedelta = timedelta(hours=24)
    arrival_within: timedelta = timedelta(hours=6)


def due_anomalies(
    *,
    state: str,
    opened_at: datetime,
    valid_until: datetime,
    now: datetime,
    policy: SweepPolicy,
) -> set[str]:
    """Anomalies an open trip has earned by `now` (the sweep adds only new ones)."""
    if state not in OPEN_STATES:
        return set()
    found: set[str] = set()
    if now > opened_at + policy.max_stay:
        found.add(AnomalyKind.OVERSTAY)
    if state == TripState.ENTERED and now > opened_at + policy.arrival_within:
        found.add(AnomalyKind.NO_ARRIVAL_YET)
    if now > valid_until:
        found.add(AnomalyKind.EXPIRED_OPEN)
    return found


def normalise_checkpoint_code(raw: str) -> str:
    code = raw.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_\-]{1,31}", code):
        raise ValueError(N_("Use 2-32 letters, digits, dashes or underscores for the code."))
    return code
