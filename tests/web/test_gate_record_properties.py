"""A property of the gate's record: any sequence of scans (online, read again, offline
uploads) and annulments (the officer's, the supervisor's, wrong direction) at random
checkpoints and times leaves its invariants. At most one open trip per pass;
`trips_used` is the count of the pass's counted trips, never past `max_trips`; every
trip is what its standing scans replay to, so every annulled event is undone; every
scan is in the audit log."""

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from checkpoints.domain import OPEN_STATES, Event, TripState, replay
from checkpoints.models import SCAN_MOMENT, Scan, Trip
from passes.models import Pass
from tests.support import api_token, audit_log_verifies, now

actions = st.lists(
    st.one_of(
        st.tuples(st.just("scan"), st.integers(0, 1), st.sampled_from([None, "entry", "exit"])),
        st.tuples(st.just("site"), st.just(0), st.just(None)),
        st.tuples(st.just("again"), st.integers(0, 1), st.just(None)),  # the code still in view
        st.tuples(
            st.just("undo"),
            st.just(0),
            st.sampled_from(["read_twice", "wrong_direction", "wrong_vehicle"]),
        ),
        st.tuples(st.just("annul"), st.integers(0, 5), st.just("wrong_vehicle")),
        st.tuples(
            st.just("offline"),
            st.integers(0, 2),
            st.sampled_from(["entry", "exit", "arrival"]),
        ),
    ),
    min_size=1,
    max_size=12,
)
# Up to 50 minutes each: a sequence stays within the API tokens' lifetime.
pauses = st.lists(st.integers(0, 3000), min_size=12, max_size=12)


def test_any_sequence_of_scans_and_corrections_keeps_the_invariants(app, client, make):
    app.config["REPEAT_SCAN_SECONDS"] = 120
    destination = make.enterprise()
    g1, g2 = make.checkpoint("gate"), make.checkpoint("gate")
    site = make.checkpoint("site", destination)
    officer, receiver = make.officer(g1, g2), make.enterprise_user(destination)
    supervisor = make.user("supervisor")
    places = [g1, g2, site]

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(actions=actions, pauses=pauses, max_trips=st.integers(1, 3))
    def run(actions, pauses, max_trips):
        clock = {"at": now() + timedelta(minutes=1)}
        app.extensions["clock"] = lambda: clock["at"]
        p = make.pass_(
            status="approved", destination_enterprise_id=destination.id, max_trips=max_trips
        )
        who = {
            "officer": api_token(client, officer.username),
            "receiver": api_token(client, receiver.username),
            "supervisor": api_token(client, supervisor.username),
        }
        mine: list[str] = []  # the officer's allowed scans, newest last
        for (kind, n, arg), pause in zip(actions, pauses, strict=False):
            clock["at"] += timedelta(seconds=pause)
            if kind in ("scan", "again", "site"):
                place = site if kind == "site" else places[n]
                headers = who["receiver"] if kind == "site" else who["officer"]
                body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": place.id, "code": p.code}
                if kind == "scan" and arg:
                    body["direction"] = arg
                if kind == "again":
                    clock["at"] -= timedelta(seconds=pause)  # at once, as the camera does
                answer = client.post("/api/v1/scans", json=body, headers=headers)
                assert answer.status_code == 200, answer.get_json()
                if headers is who["officer"] and answer.get_json()["decision"] == "allow":
                    mine.append(body["scan_id"])
            elif kind == "undo" and mine:
                response = client.post(
                    f"/api/v1/scans/{mine[-1]}/annul", json={"reason": arg}, headers=who["officer"]
                )
                assert response.status_code in (200, 403, 409), response.get_json()
            elif kind == "annul":
                with app.extensions["sessions"]() as session:
                    ids = session.scalars(
                        select(Scan.scan_id)
                        .where(Scan.pass_id == p.id, Scan.event != "annul")
                        .order_by(Scan.id)
                    ).all()
                if ids:
                    response = client.post(
                        f"/api/v1/scans/{ids[n % len(ids)]}/annul",
                        json={"reason": arg},
                        headers=who["supervisor"],
                    )
                    assert response.status_code in (200, 409), response.get_json()
            elif kind == "offline":
                place = places[n]
                headers = who["receiver"] if place is site else who["officer"]
                at = clock["at"] - timedelta(minutes=pause % 50)
                item = {
                    "scan_id": str(uuid.uuid4()),
                    "checkpoint_id": place.id,
                    "code": p.code,
                    "offline": True,
                    "decision": "allow",
                    "event": arg,
                    "scanned_at": at.isoformat(),
                }
                response = client.post(
                    "/api/v1/scans/batch", json={"items": [item]}, headers=headers
                )
                assert response.status_code == 200, response.get_json()
                assert response.get_json()["items"][0]["status"] != "error" or (
                    response.get_json()["items"][0]["problem"]["status"] in (403, 409)
                )
        check_invariants(app, p.id)

    run()
    assert audit_log_verifies(app).ok


def check_invariants(app, pass_id):
    with app.extensions["sessions"]() as session:
        p = session.get(Pass, pass_id)
        trips = session.scalars(select(Trip).where(Trip.pass_id == pass_id).order_by(Trip.id)).all()
        assert sum(t.state in OPEN_STATES for t in trips) <= 1
        counted = [t for t in trips if t.seq is not None and t.state != TripState.VOID]
        assert p.trips_used == len(counted) <= p.max_trips
        assert sorted(t.seq for t in counted) == list(range(1, len(counted) + 1))
        annulled = select(Scan.annuls_id).where(Scan.annuls_id.is_not(None))
        for index, trip in enumerate(trips):
            standing = session.execute(
                select(Scan.event, SCAN_MOMENT, Scan.checkpoint_id)
                .where(
                    Scan.trip_id == trip.id,
                    Scan.decision == "allow",
                    Scan.event.in_([e.value for e in Event]),
                    Scan.id.not_in(annulled),
                )
                .order_by(Scan.id)
            ).all()
            later = [t.id for t in trips[index + 1 :]]
            followed = bool(later) and bool(
                session.scalar(
                    select(func.count()).where(
                        Scan.trip_id.in_(later),
                        Scan.decision == "allow",
                        Scan.event.in_([e.value for e in Event]),
                        Scan.id.not_in(annulled),
                    )
                )
            )
            expected = replay(standing, followed=followed)
            assert trip.state == expected.state, (trip.id, [s[0] for s in standing])
            stamps = (trip.entry_checkpoint_id, trip.arrival_checkpoint_id, trip.exit_checkpoint_id)
            assert stamps == tuple(
                s[1] if s else None for s in (expected.entered, expected.arrived, expected.exited)
            )
