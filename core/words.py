"""Stored codes in the user's words: the one place pages and exports turn a trip state, a
pass status, a scan's event, decision and reasons, an anomaly's kind, a cargo category or
an SMS status into language. Templates use the `word` filter (`{{ t.state|word("trip_state") }}`);
exports call `word()` and keep the code in a column of its own for machines.

tests/unit/test_words.py holds every code the domain defines to having words here; a code
found in the database without words is shown as itself, never dropped."""

from __future__ import annotations

from flask_babel import gettext

from core.errors import N_

WORDS: dict[str, dict[str, str]] = {
    "trip_state": {
        "entered": N_("Inside, on the way"),
        "arrived": N_("Arrived, not left yet"),
        "exited": N_("Left the jurisdiction"),
        "void": N_("Annulled"),
    },
    # The consignee's board (checkpoints.arrivals.Arrival)
    "arrival": {
        "expected": N_("Expected"),
        "inside": N_("Inside, on its way to you"),
        "arrived": N_("Arrived"),
        "left": N_("Left"),
    },
    "checkpoint_kind": {
        "gate": N_("Gate"),
        "site": N_("Site"),
        "station": N_("Station"),
    },
    "booking_status": {
        "booked": N_("Booked"),
        "arrived": N_("Came in"),
        "cancelled": N_("Called off"),
        "missed": N_("Missed"),
    },
    "booking_timing": {
        "on_time": N_("On time for its booking"),
        "early": N_("Before its booked hour"),
        "late": N_("After its booked hour"),
    },
    "lane": {
        "priority": N_("Priority lane"),
        "normal": N_("Normal lane"),
    },
    "pass_status": {
        "submitted": N_("Waiting for review"),
        "approved": N_("Approved"),
        "rejected": N_("Rejected"),
        "revoked": N_("Revoked"),
        "cancelled": N_("Cancelled"),
        "used_up": N_("All trips used"),  # approved, shown as it stands (passes.domain)
        "expired": N_("Expired"),
    },
    "event": {
        "entry": N_("Entry"),
        "arrival": N_("Arrival"),
        "exit": N_("Exit"),
        "stop": N_("Stop at a station"),
        "annul": N_("Annulment"),
        "none": N_("No event"),
    },
    "decision": {"allow": N_("Allowed"), "deny": N_("Denied")},
    "anomaly_kind": {
        "no_entry": N_("Arrived without an entry scan"),
        "no_arrival": N_("Left without arriving"),
        "no_exit": N_("No exit recorded"),
        "overstay": N_("Stayed too long"),
        "offline_conflict": N_("Offline scan against the record"),
        "no_arrival_yet": N_("Not arrived in time"),
        "expired_open": N_("Pass expired during the trip"),
        "not_designated": N_("Stopped at a station the pass does not name"),
        # and what supervisors may be alerted about besides (supervision.alerts.ScanAlert)
        "forged_codes": N_("Forged or invalid codes, again and again at one checkpoint"),
        "repeated_denials": N_("One pass denied again and again"),
    },
    "reason": {
        "valid": N_("Valid"),
        "malformed": N_("This is not a pass code."),
        "bad_signature": N_("Forged or altered code: the signature does not match."),
        "unknown_key": N_("Signed by an unknown key."),
        "unknown_issuer": N_(
            "Issued by a jurisdiction this system does not exchange passes with: "
            "check the paper pass or phone its issuer."
        ),
        "not_found": N_("No such pass."),
        "not_approved": N_("The pass is not approved."),
        "revoked": N_("The pass has been revoked."),
        "expired": N_("The pass has expired."),
        "not_yet_valid": N_("The pass is not valid yet."),
        "no_trips_left": N_("All trips of this pass are used."),
        "not_on_route": N_("This checkpoint is not on the pass's route."),
        "wrong_destination": N_("This is not the pass's destination."),
        "wrong_checkpoint": N_("You are not assigned to this checkpoint."),
        "plate_mismatch": N_("The plate does not match the pass."),
        "offline_conflict": N_("Decided offline against what the record shows."),
        "device_clock": N_("The scanning phone's clock was far off."),
        "enterprise_suspended": N_(
            "The applicant enterprise is suspended: entry refused, leaving is allowed."
        ),
        "driver_mismatch": N_("The driver does not match."),
        "driver_not_whitelisted": N_(
            "The crew is not on the whitelist: entry refused, leaving is allowed."
        ),
        "inside_elsewhere": N_(
            "This pass entered at another gate minutes ago and has not arrived anywhere: "
            "check the plate and the driver, then confirm the exit."
        ),
        "repeat": N_("Read again: already recorded."),
        "not_designated": N_("This station is not one the pass names for its crew."),
        "not_inside": N_("No trip is open on this pass: a stop is recorded only inside one."),
    },
    # An anomaly's note is the supervisor's own words, or the system's, stored as a code
    "anomaly_note": {
        "cause_annulled": N_("Resolved by the system: the scan behind it was annulled."),
    },
    "annul_reason": {
        "wrong_direction": N_("Wrong direction"),
        "read_twice": N_("Read twice"),
        "wrong_vehicle": N_("Wrong vehicle"),
        "other": N_("Other (see the note)"),
    },
    "category": {
        "emergency": N_("Emergency supplies (green channel)"),
        "daily_necessities": N_("Daily necessities"),
        "raw_materials": N_("Raw materials"),
        "products": N_("Finished products"),
        "other": N_("Other"),
    },
    "role": {
        "admin": N_("Administrator"),
        "reviewer": N_("Reviewer"),
        "supervisor": N_("Supervisor"),
        "officer": N_("Checkpoint officer"),
        "enterprise": N_("Enterprise staff"),
    },
    "enterprise_status": {
        "pending": N_("Pending"),
        "approved": N_("Approved"),
        "suspended": N_("Suspended"),
        "rejected": N_("Not approved"),
        "peer": N_("Federated jurisdiction"),
    },
    "scope": {
        "read": N_("Read passes, trips, vehicles, drivers and figures"),
        "passes:write": N_("File and cancel passes, send their SMS again"),
        "fleet:write": N_("Register and change vehicles and drivers"),
        "bookings:write": N_("Book, move and cancel hours at gates"),
    },
    "sms_status": {
        "pending": N_("SMS queued"),
        "sending": N_("SMS sending"),
        "sent": N_("SMS sent"),
        "delivered": N_("SMS delivered"),
        "undelivered": N_("SMS not delivered"),
        "failed": N_("SMS failed"),
    },
}


def word(kind: str, code: str | None) -> str:
    """`code` of `kind` in the current language; an unknown code as itself, None as ""."""
    if code is None:
        return ""
    text = WORDS[kind].get(str(code))
    return gettext(text) if text is not None else str(code)


def label(kind: str, code: str | None) -> str:
    """`word` as a list's label: a reason is a sentence on the verdict, but a name beside
    its count ("车牌与通行证不符 3", not "车牌与通行证不符。: 3")."""
    return word(kind, code).rstrip("。.")
