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
# A pass that entered at one gate and is read at another gate sooner than this, with no
# arrival between, is either a very short crossing or a copy of its code on a second truck:
# the officer confirms the exit (direction "exit") after checking plate and driver.
SHORTEST_CROSSING = timedelta(minutes=30)


class Kind(StrEnum):
    GATE = "gate"  # 卡口: entry to and exit from the jurisdiction
    SITE = "site"  # a destination enterprise's own gate
    # 司机专用点/隔离点/司机之家: the crew's designated stop inside the jurisdiction, the
    # third point of 三点往返 (gate, consignee, station)
    STATION = "station"


class Event(StrEnum):
    ENTRY = "entry"
    ARRIVAL = "arrival"
    EXIT = "exit"
    STOP = "stop"  # at a station, inside an open trip: counted, the trip's state unchanged


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
    NOT_DESIGNATED = "not_designated"  # the crew stopped at a station its pass does not name


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
    crew_unlisted: bool = False  # the whitelist is required and the crew is off it: the same
    stations: tuple[int, ...] = ()  # the crew's designated stations (none named: any)


@dataclass(frozen=True)
class OpenTrip:
    id: int
    seq: int | None
    arrived: bool
    entered_at: datetime | None = None
    entry_checkpoint_id: int | None = None


class AnnulReason(StrEnum):
    """Why a scan is annulled: the officer picks one (the supervisor too)."""

    WRONG_DIRECTION = "wrong_direction"  # annulled, and the other direction recorded
    READ_TWICE = "read_twice"
    WRONG_VEHICLE = "wrong_vehicle"
    OTHER = "other"  # a note says why


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
    if place.kind == Kind.STATION:
        return _stop(live, open_trip, place, problems)
    if place.kind == Kind.GATE:
        leaving = direction == Event.EXIT or (open_trip is not None and direction != Event.ENTRY)
        if leaving:
            # Exit is allowed even late or revoked, so trucks can leave; reasons inform.
            if open_trip is None:
                return _exit_without_entry(live, problems)
            if direction is None and _inside_elsewhere(open_trip, place, now):
                return deny("inside_elsewhere")
            missing = () if open_trip.arrived else (AnomalyKind.NO_ARRIVAL,)
            return Outcome("allow", Event.EXIT, problems, anomalies=missing)
        if problems:
            return deny(*problems)
        if live.crew_unlisted:
            return deny("driver_not_whitelisted")
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


def _stop(
    live: LivePass, open_trip: OpenTrip | None, place: Place, problems: tuple[str, ...]
) -> Outcome:
    """A crew at a station: a stop of the trip it is on. A crew is not turned away from its
    rest point because its pass lapsed or was revoked meanwhile (the reasons tell the
    officer); a station the pass does not name is refused and raised on the trip."""
    if live.status not in ("approved", "revoked"):
        return deny("not_approved")
    if open_trip is None:
        return deny("not_inside")
    if live.stations and place.id not in live.stations:
        return replace(deny("not_designated"), anomalies=(AnomalyKind.NOT_DESIGNATED,))
    return Outcome("allow", Event.STOP, problems)


def _inside_elsewhere(trip: OpenTrip, place: Place, now: datetime) -> bool:
    """Entered at another gate moments ago and not arrived anywhere: see SHORTEST_CROSSING."""
    return (
        not trip.arrived
        and trip.entered_at is not None
        and trip.entry_checkpoint_id not in (None, place.id)
        and now - trip.entered_at < SHORTEST_CROSSING
    )


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
        if server.allowed:
            return Outcome("deny", None)
        return Outcome("deny", None, server.reasons, anomalies=server.anomalies)
    if server.allowed and server.event == device_event and device_event is not None:
        return server
    conflict = server.reasons or ("offline_conflict",)
    counts = live is not None and live.status == "approved" and live.trips_used < live.max_trips
    # a stop the server refuses (not designated) is still raised as such
    refused = () if server.allowed else server.anomalies
    anomalies: tuple[str, ...] = (*refused, AnomalyKind.OFFLINE_CONFLICT)
    if device_event == Event.STOP:
        # a stop opens no trip: outside one it is recorded (the conflict on the scan) alone
        return Outcome("allow", Event.STOP, conflict, anomalies=anomalies if open_trip else ())
    if open_trip is not None:
        stamps = (
            device_event == Event.EXIT
            or (device_event == Event.ARRIVAL and not open_trip.arrived)
            # a trip opened by its arrival: the entry it lacked
            or (device_event == Event.ENTRY and open_trip.entered_at is None)
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


# A device time this far ahead of the server's is kept but flagged on the scan; one older
# than the caller's offline window (setting OFFLINE_SCAN_MAX_AGE_HOURS) or the caller's
# account is a backdated scan: flagged, and an allow becomes a conflict for a supervisor.
CLOCK_FLAG = timedelta(minutes=5)

# What a phone may upload as let through offline at each kind of checkpoint.
OFFLINE_EVENTS = {
    Kind.GATE: (Event.ENTRY, Event.EXIT),
    Kind.SITE: (Event.ARRIVAL,),
    Kind.STATION: (Event.STOP,),
}
# Server reasons that say the phone's caller could not have let this pass through here at
# all (not a pass, not theirs to receive). An enterprise's phone is refused on any denial
# the server would give; an officer's "allow" of a pass the server cannot find is recorded
# as overruled instead, as the truck did go through a public gate.
NOT_THEIRS = frozenset(
    {
        "malformed",
        "bad_signature",
        "unknown_key",
        "unknown_issuer",
        "not_found",
        "not_approved",
        "wrong_destination",
        "plate_mismatch",
    }
)


def offline_refusal(
    *, role: str, place: Place, device_decision: str, device_event: str | None, server: Outcome
) -> str | None:
    """Why an offline verdict is not admitted as evidence, or None. A phone's upload is
    recorded only as the online rules could have produced it at this checkpoint for this
    caller: a gate's allows are entries and exits, a site's are arrivals of passes bound
    for its own enterprise; an unassigned caller records nothing."""
    if "wrong_checkpoint" in server.reasons:
        return "wrong_checkpoint"
    if device_decision != "allow":
        return None
    if device_event not in OFFLINE_EVENTS[Kind(place.kind)]:
        return "event_not_here"
    if role == "enterprise" and not server.allowed:
        # Whatever the reason: a site's phone chooses its device time, so a status reason
        # (not valid yet, expired at that time) must not carry a rival's pass through.
        return next((r for r in server.reasons if r in NOT_THEIRS), "wrong_destination")
    return None


def judge_offline(
    outcome: Outcome,
    *,
    found: bool,
    token_reason: str | None,
    device_at: datetime,
    now: datetime,
    oldest: datetime,
) -> tuple[Outcome, tuple[str, ...]]:
    """The server's last word on a synced offline scan (after `offline_outcome`), and the
    reasons to record: a phone that let through what the server cannot find is overruled
    (`offline_conflict`, nothing stamped); a device time ahead of the server's or before
    `oldest` is flagged (`device_clock`), and an allow so timed is a conflict."""
    reasons = outcome.reasons
    if not found and outcome.allowed:
        outcome = replace(outcome, decision="deny", event=None, anomalies=())
        reasons = (token_reason or "not_found", "offline_conflict")
    if device_at - now > CLOCK_FLAG or device_at < oldest:
        reasons = (*reasons, "device_clock")
        if outcome.allowed and AnomalyKind.OFFLINE_CONFLICT not in outcome.anomalies:
            outcome = replace(outcome, anomalies=(*outcome.anomalies, AnomalyKind.OFFLINE_CONFLICT))
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
    if outcome.reasons == ("inside_elsewhere",):
        return True  # the officer is asked to compare the driver before confirming
    return place.enterprise_id == destination_enterprise_id


@dataclass
class Replayed:
    state: TripState = TripState.VOID
    entered: tuple[datetime, int] | None = None
    arrived: tuple[datetime, int] | None = None
    exited: tuple[datetime, int] | None = None
    events: list[str] = field(default_factory=list)
    closed: bool = False  # left open, and closed by the pass's next trip (no exit scan)

    @property
    def stops(self) -> int:
        """The standing stops at stations (they change no state)."""
        return self.events.count(Event.STOP)


def replay(events: Iterable[tuple[str, datetime, int]], *, followed: bool = False) -> Replayed:
    """A trip's fields from its standing (not annulled) allowed events, oldest first.
    `followed`: a later trip of the pass stands, so this one cannot be open."""
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
    if followed and result.state in OPEN_STATES:
        result.state, result.closed = TripState.EXITED, True
    return result


# Anomalies a trip's own scans raise: a replay owns them, raising those its standing scans
# imply and resolving (as the system, note AUTO_RESOLVED) those whose cause was annulled.
REPLAYED_KINDS = frozenset({AnomalyKind.NO_ENTRY, AnomalyKind.NO_ARRIVAL, AnomalyKind.NO_EXIT})
AUTO_RESOLVED = "cause_annulled"


def owed_anomalies(result: Replayed) -> set[str]:
    """The REPLAYED_KINDS a replayed trip has earned (a void trip has none at all)."""
    owed: set[str] = set()
    if result.state == TripState.VOID:
        return owed
    if result.entered is None:
        owed.add(AnomalyKind.NO_ENTRY)
    if result.exited and result.entered and not result.arrived:
        owed.add(AnomalyKind.NO_ARRIVAL)
    if result.closed:
        owed.add(AnomalyKind.NO_EXIT)
    return owed


def may_annul(*, role: str, is_scanner: bool, recorded_at: datetime, now: datetime) -> bool:
    """Supervisors always; the one who scanned, within ten minutes."""
    return role == "supervisor" or (is_scanner and now - recorded_at <= ANNUL_WINDOW)


def redo_direction(event: str) -> str | None:
    """The direction a "wrong direction" correction records instead (gates only)."""
    return {Event.ENTRY: Event.EXIT, Event.EXIT: Event.ENTRY}.get(Event(event))


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
