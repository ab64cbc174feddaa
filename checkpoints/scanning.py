"""Recording a scan: the hot path's use case and the answer it gives.

One short write transaction per scan (see `record`). The rules are domain.py's (`decide`,
`offline_outcome`, `judge_offline`, who sees what); the statements and the unit of work
they run in are scan_store.py's; corrections (annulment, replay) are corrections.py's.

Over 300 lines on purpose: the use case is one transaction, read top to bottom, with the
answer it gives."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from checkpoints import events, scan_writes
from checkpoints import scan_answer as answer
from checkpoints import scan_store as store
from checkpoints.domain import (
    SHORTEST_TAIL,
    OpenTrip,
    decide,
    judge_offline,
    may_compare_plate,
    offline_outcome,
    offline_refusal,
    same_plate,
    shows_everything,
    status_problems,
)
from checkpoints.schemas import ScanIn
from core.errors import N_, Conflict, Forbidden, ValidationFailed
from core.privacy import mask_plate
from fleet.domain import clean_plate
from trust import tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceVerdict:
    """What a phone offline decided, and when by its clock."""

    decision: str  # allow | deny
    event: str | None
    at: datetime


@dataclass(frozen=True)
class ScanSettings:
    """The scan path's settings: a read of a pass again at the same checkpoint within
    `repeat` of an allowed scan is its repeat (REPEAT_SCAN_SECONDS); an offline scan older
    than `offline_age` is backdated (OFFLINE_SCAN_MAX_AGE_HOURS)."""

    repeat: timedelta = timedelta(seconds=120)
    offline_age: timedelta = timedelta(hours=24)
    crews_listed: bool = False  # CREW_WHITELIST_REQUIRED (fleet/crews.py)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ScanSettings:
        return cls(
            repeat=timedelta(seconds=settings["REPEAT_SCAN_SECONDS"]),
            offline_age=timedelta(hours=settings["OFFLINE_SCAN_MAX_AGE_HOURS"]),
            crews_listed=settings["CREW_WHITELIST_REQUIRED"],
        )


# What a pass read again has become since that its earlier allow must not be shown again.
STOPS_A_REPEAT = frozenset({"revoked", "not_approved", "enterprise_suspended"})

# Why an offline upload is not admitted (domain.offline_refusal), as the phone shows it.
REFUSALS = {
    "wrong_checkpoint": N_("You are not assigned to this checkpoint: the scan was not recorded."),
    "event_not_here": N_(
        "A gate records only entries and exits, a site only arrivals: the scan was not recorded."
    ),
}
NOT_THEIRS = N_(
    "This site could not have let this pass through at that time (not a valid pass bound for "
    "your enterprise): the scan was not recorded."
)


@dataclass(frozen=True)
class Recorded:
    response: dict[str, Any]
    retry: bool  # the scan_id was recorded before: this is its first answer


def record(
    session: Session,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    device: DeviceVerdict | None = None,
    reads: Session | None = None,
    settings: ScanSettings = ScanSettings(),
) -> Recorded:
    """Decide and record one scan, in one short write transaction on `session`.

    `user` needs only id, role and enterprise_id (accounts.domain.Caller). `reads` serves
    what is read before the write transaction begins (on SQLite a read-only session, so
    the database's write lock is taken only once there is something to write); by
    default `session`. `clock` is read once the pass is locked, so the times recorded for
    one pass follow the order its scans commit in.

    With `device` (an offline scan synced later) the decision is the server's at the
    device's time, and the scan is recorded as the phone decided it (domain.offline_outcome):
    trips are stamped with the device's time, conflicts raise `offline_conflict`; what the
    online rules could not have produced there for this caller is refused (Conflict) and
    records nothing."""
    writes = scan_writes.SessionWrites(session, reads or session)
    return _record(writes, user, data, keys=keys, clock=clock, device=device, settings=settings)


def record_on(
    connection: Connection,
    sessions: sessionmaker,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    settings: ScanSettings = ScanSettings(),
) -> Recorded:
    """`record`, on one pooled `connection` that is in no transaction (the hot path:
    checkpoints/scan_views.py). `sessions` makes the session the denial's alerts use."""
    writes = scan_writes.ConnectionWrites(connection, sessions)
    return _record(writes, user, data, keys=keys, clock=clock, device=None, settings=settings)


def _record(
    writes: scan_writes.Writes,
    user: Any,
    data: ScanIn,
    *,
    keys: dict[int, tokens.TrustedKey],
    clock: Callable[[], datetime],
    device: DeviceVerdict | None,
    settings: ScanSettings,
) -> Recorded:
    scan_id = str(data.scan_id)
    if not data.code and not (data.number and data.plate):
        raise ValidationFailed.one("code", N_("Scan a code, or enter the pass number and plate."))
    # A retry is answered from the stored scan before anything is verified, locked or
    # written; two copies racing each other meet at the scan's unique index below.
    try:
        before = store.read_before(writes.read(), user, data.checkpoint_id, scan_id)
    finally:
        writes.done_reading()
    if before.first is not None:
        return Recorded(_answer_retry(before.first, user), retry=True)
    if not before.may_scan:
        raise Forbidden(N_("Your enterprise is not approved (or is suspended): it cannot scan."))
    if before.place is None or not before.active:
        raise ValidationFailed.one("checkpoint_id", N_("No such checkpoint."))
    place = before.place
    # The signature is judged with today's trust list (a phone clock a little behind must
    # not make a fresh key look unknown); validity, with the time the scan happened.
    named, token_reason = _claims(data, keys, clock()) if before.assigned else (None, None)
    row = None
    try:
        connection = writes.begin()  # the write transaction (SQLite: its lock) begins
        typed_wrong = False  # a number typed with another plate: its own is shown masked
        if named is not None:
            by, key, plate, mismatch = named
            around = device.at if device else clock()  # which booking the scan may keep
            row = store.read_pass(connection, by, key, place.id, around)
            if row is not None and by == "number" and answer.untrusted_issuer(row, keys):
                row, token_reason = None, "unknown_issuer"  # a peer no longer federated
            if row is not None and not same_plate(row.plate, plate, manual=by == "number"):
                compare = may_compare_plate(
                    role=user.role,
                    place=place,
                    destination_enterprise_id=row.destination_enterprise_id,
                )
                if by == "number" and compare:
                    # The number matched: say what is wrong, and show the pass's plate,
                    # masked, beside the one typed: enough to see it differs, not to read
                    # every pass's plate off its number (the offline list has the numbers).
                    token_reason, typed_wrong = mismatch, True
                elif by == "number":
                    row, token_reason = None, "not_found"
                else:
                    row, token_reason = None, mismatch
        now = clock()  # after the lock: see the docstring
        at = device.at if device else now  # when it happened
        live = answer.live_of(row, settings.crews_listed and at) if row is not None else None
        repeats = settings.repeat and data.deny_reason is None
        if repeats and row is not None and token_reason is None:
            earlier = store.last_here(connection, row.id, place.id, at, settings.repeat)
            if earlier is not None:
                stopped = tuple(r for r in status_problems(live, at) if r in STOPS_A_REPEAT)
                response = _repeat(
                    writes,
                    connection,
                    earlier,
                    row,
                    scan_id,
                    user,
                    data,
                    before,
                    now,
                    offline=device is not None,
                    stopped=stopped,
                )
                return Recorded(response, retry=False)
        seen_trip = (
            OpenTrip(
                row.trip_id,
                row.trip_seq,
                row.trip_arrived_at is not None,
                row.trip_entered_at,
                row.trip_entry_checkpoint_id,
            )
            if row is not None and row.trip_id is not None
            else None
        )
        outcome = decide(
            token_reason=token_reason,
            live=live,
            open_trip=seen_trip,
            place=place,
            now=at,
            assigned=before.assigned,
            direction=data.direction,
            deny_reason=data.deny_reason,
        )
        reasons, server = outcome.reasons, outcome
        if device is not None:
            refused = offline_refusal(
                role=user.role,
                place=place,
                device_decision=device.decision,
                device_event=device.event,
                server=outcome,
            )
            if refused is not None:
                raise Conflict(REFUSALS.get(refused, NOT_THEIRS))
            outcome = offline_outcome(
                outcome,
                device_decision=device.decision,
                device_event=device.event,
                live=live,
                open_trip=seen_trip,
            )
            outcome, reasons = judge_offline(
                outcome,
                found=row is not None,
                token_reason=token_reason,
                device_at=device.at,
                now=now,
                oldest=now - settings.offline_age,
            )
        trip = store.write_trip(writes, connection, row, outcome, before, at) if row else None
        shown = None
        if row is not None:
            counted = trip is not None and outcome.opens_trip and outcome.counts_trip
            full = shows_everything(
                server,  # an offline verdict shows no more than the online one would
                role=user.role,
                place=place,
                destination_enterprise_id=row.destination_enterprise_id,
            )
            shown = answer.pass_view(row, full, row.trips_used + counted)
            shown["issuer"] = answer.issuer_of(row, keys)
            if typed_wrong:
                shown["plate"] = mask_plate(row.plate)
        recorded_reasons = list(reasons)
        kept = answer.booking_of(row, outcome, at) if row is not None else None
        response = answer.response(
            scan_id,
            outcome,
            recorded_reasons,
            shown,
            trip,
            now,
            device is not None,
            booking=kept,
            lane=answer.lane_of(row, outcome, place, kept),
        )
        scan_pk = store.insert_scan(
            connection,
            scan_id=scan_id,
            pass_id=row.id if row is not None else None,
            trip_id=trip.id if trip else None,
            checkpoint_id=place.id,
            officer_id=user.id,
            event=outcome.event or "none",
            decision=outcome.decision,
            reasons=recorded_reasons,
            direction=data.direction,
            scanned_at=data.scanned_at or now,
            offline=device is not None,
            response=response,
            now=now,
            audited={
                "checkpoint": before.code,
                "event": outcome.event,
                "pass": row.id if row is not None else None,
                "reasons": list(outcome.reasons),
            },
        )
        if row is not None:
            _tell_issuer(connection, scan_pk, row.id, row.issuer_area_code, now)
        writes.commit()
    except IntegrityError:
        # The same scan_id committed meanwhile (the same scan sent twice at once): answer
        # as the first time. Any other clash wrote nothing and is the scanner's to retry.
        writes.rollback()
        try:
            first = store.recorded(writes.read(), scan_id)
        finally:
            writes.done_reading()
        if first is None:
            message = N_("The pass changed while this scan was recorded; scan again.")
            raise Conflict(message) from None
        return Recorded(_answer_retry(first, user), retry=True)
    if outcome.decision == "deny":  # oversight watches for forged codes and repeat refusals
        denial = SimpleNamespace(
            checkpoint_id=place.id,
            checkpoint=before.code,
            pass_id=row.id if row is not None else None,
            number=row.number if row is not None else "",
            plate=row.plate if row is not None else "",
        )
        try:
            with writes.after() as session:
                events.scan_denied.send(denial, session=session, now=now)
        except Exception:  # the scan stands and is answered; its alert is what failed
            log.exception("the alerts after a denied scan failed")
    return Recorded(response, retry=False)


def _repeat(
    writes: scan_writes.Writes,
    connection: Connection,
    earlier: Any,
    row: Any,
    scan_id: str,
    user: Any,
    data: ScanIn,
    before: store.Before,
    now: datetime,
    *,
    offline: bool,
    stopped: tuple[str, ...],
) -> dict[str, Any]:
    """A read again of a pass just let through here: the earlier answer, `repeat_of` it;
    kept as a scan (event none) on the earlier scan's trip, so it joins the timeline. A
    pass revoked (or its enterprise suspended) since is not shown green again: the answer
    is a denial with those reasons, and what was recorded stands."""
    response = {**earlier.response, "scan_id": scan_id, "repeat_of": earlier.scan_id}
    if stopped:
        response.update(decision="deny", event=None, reasons=list(stopped), anomalies=[])
    scan_pk = store.insert_scan(
        connection,
        scan_id=scan_id,
        pass_id=row.id,
        trip_id=earlier.trip_id,
        checkpoint_id=data.checkpoint_id,
        officer_id=user.id,
        event="none",
        decision=response["decision"],
        reasons=[*stopped, "repeat"],
        direction=data.direction,
        scanned_at=data.scanned_at or now,
        offline=offline,
        response=response,
        now=now,
        audited={"checkpoint": before.code, "event": None, "repeat_of": earlier.id},
    )
    _tell_issuer(connection, scan_pk, row.id, row.issuer_area_code, now)
    writes.commit()
    return response


def _tell_issuer(
    connection: Connection, scan_pk: int, pass_id: int, issuer: str | None, now: datetime
) -> None:
    """A peer's pass: the issuer is owed this scan, in this transaction (federation/)."""
    if issuer is not None:
        scanned = SimpleNamespace(scan_pk=scan_pk, pass_id=pass_id, issuer_area_code=issuer)
        events.peer_pass_scanned.send(scanned, connection=connection, now=now)


def _answer_retry(first: tuple[int, dict[str, Any]], user: Any) -> dict[str, Any]:
    officer_id, response = first
    if officer_id != user.id:
        raise Conflict(N_("This scan_id was already used by another scanner."))
    return response


def _claims(
    data: ScanIn, keys: dict[int, tokens.TrustedKey], now: datetime
) -> tuple[Any, str | None]:
    """Which pass the scan names (by "id" or "number", and the key), the plate it must
    carry and the reason to give if it does not; or why the code cannot be trusted."""
    if data.code:
        token = tokens.token_from_text(data.code)
        if token is None:
            return None, "malformed"
        try:
            claims = tokens.verify(token, keys, now)
        except tokens.TokenRejected as exc:
            return None, exc.reason
        if tokens.issued_elsewhere(claims, keys):
            ref = f"{claims.issuer}/{claims.pass_id}"  # a peer's, kept under it (mirror.py)
            return ("peer", ref, claims.plate, "bad_signature"), None
        return ("id", claims.pass_id, claims.plate, "bad_signature"), None
    # Manual entry: the number names the pass; the plate must be its plate, typed with or
    # without the province character (slow to type on a phone).
    typed = clean_plate(data.plate or "")  # as the fleet stores plates
    if len(typed) < SHORTEST_TAIL:
        return None, "not_found"
    number = (data.number or "").strip()
    area, peers = number[:6], getattr(keys, "peers", {})
    if area.isdigit() and area != getattr(keys, "here", area) and area not in peers:
        return None, "unknown_issuer"  # numbered by a jurisdiction we do not federate with
    return ("number", number, typed, "plate_mismatch"), None
