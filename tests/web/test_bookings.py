"""Bookings at gates (预约制): an admin gives a gate its hours' capacity; the pass's owner
books an hour within the validity (a full hour is 409 slot_full), moves or cancels it until
the hour starts; the officer reads the gate's day (booked, arrived, missed); the entry
keeps its booking and says whether it came in its hour, and the lane: priority for the
green channel and booked trucks."""

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from checkpoints.models import Booking
from tests.support import api_token, login, now, post_form


def scan(client, headers, checkpoint, code, **extra):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code, **extra}
    return client.post("/api/v1/scans", json=body, headers=headers).get_json()


def hour(delta_hours=0):
    start = now().replace(minute=0, second=0, microsecond=0)
    return start + timedelta(hours=delta_hours)


def iso(moment):
    return moment.isoformat()


def local_day(moment):
    """The day of `moment` where the jurisdiction is (the gate's day list's date)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def book(client, world, hours, p=None):
    """The world's owner books the hour `hours` from now at the world's gate."""
    return client.post(
        f"/api/v1/passes/{(p or world['pass']).id}/bookings",
        json={"checkpoint_id": world["gate"].id, "slot_start": iso(hour(hours))},
        headers=world["owner"],
    )


@pytest.fixture
def world(app, client, make):
    app.config["REPEAT_SCAN_SECONDS"] = 0
    gate = make.checkpoint("gate")
    admin = api_token(client, make.user("admin").username)
    put = client.put(
        f"/api/v1/checkpoints/{gate.id}/booking", json={"capacity_per_hour": 1}, headers=admin
    )
    assert put.status_code == 200, put.get_json()
    p = make.pass_(status="approved")
    return {
        "gate": gate,
        "admin": admin,
        "pass": p,
        "owner": api_token(client, make.enterprise_user(p.enterprise).username),
        "officer": api_token(client, make.officer(gate).username),
    }


def test_a_booked_truck_entering_in_its_hour_keeps_it_and_takes_the_priority_lane(
    client, make, world
):
    gate, p = world["gate"], world["pass"]
    booked = client.post(
        f"/api/v1/passes/{p.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(0))},
        headers=world["owner"],
    )
    assert booked.status_code == 422  # this hour has begun
    booked = client.post(
        f"/api/v1/passes/{p.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(2))},
        headers=world["owner"],
    )
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    assert body["status"] == "booked"
    assert body["slot_end"] > body["slot_start"]

    # the hour is full for anyone else
    other = make.pass_(status="approved")
    owner2 = api_token(client, make.enterprise_user(other.enterprise).username)
    full = client.post(
        f"/api/v1/passes/{other.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(2))},
        headers=owner2,
    )
    assert full.status_code == 409
    assert full.get_json()["code"] == "slot_full"
    # and a second booking of the same pass is a change, not another booking
    again = client.post(
        f"/api/v1/passes/{p.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(3))},
        headers=world["owner"],
    )
    assert again.get_json()["code"] == "already_booked"

    day = client.get(
        f"/api/v1/checkpoints/{gate.id}/bookings?date={local_day(hour(2))}",
        headers=world["officer"],
    )
    assert day.status_code == 200, day.get_json()
    [item] = [i for i in day.get_json()["items"] if i["pass"]["number"] == p.number]
    assert (item["status"], item["pass"]["plate"]) == ("booked", p.vehicle.plate)

    entry = scan(client, world["officer"], gate, p.code)
    assert entry["event"] == "entry"
    assert entry["booking"]["id"] == body["id"]
    assert entry["booking"]["timing"] == "early"  # over an hour ahead of its hour
    assert entry["lane"] == "priority"
    day = client.get(
        f"/api/v1/checkpoints/{gate.id}/bookings?date={local_day(hour(2))}",
        headers=world["officer"],
    )
    [item] = [i for i in day.get_json()["items"] if i["pass"]["number"] == p.number]
    assert item["status"] == "arrived"

    unbooked = scan(client, world["officer"], gate, other.code)
    assert (unbooked["booking"], unbooked["lane"]) == (None, "normal")


def test_the_green_channel_takes_the_priority_lane_without_a_booking(client, make, world):
    p = make.pass_(status="approved", category="emergency")
    entry = scan(client, world["officer"], world["gate"], p.code)
    assert (entry["event"], entry["lane"]) == ("entry", "priority")
    site = make.checkpoint("site", p.destination)
    receiver = api_token(client, make.enterprise_user(p.destination).username)
    assert scan(client, receiver, site, p.code)["lane"] is None  # lanes are the gates'


def test_a_booking_moves_or_cancels_until_its_hour_and_a_missed_one_shows_missed(
    app, client, make, world
):
    gate, p = world["gate"], world["pass"]
    made = client.post(
        f"/api/v1/passes/{p.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(3))},
        headers=world["owner"],
    ).get_json()
    moved = client.patch(
        f"/api/v1/bookings/{made['id']}",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(4))},
        headers=world["owner"],
    )
    assert moved.status_code == 200, moved.get_json()
    assert datetime.fromisoformat(moved.get_json()["slot_start"]) == hour(4)
    outside = client.patch(
        f"/api/v1/bookings/{made['id']}",
        json={"checkpoint_id": gate.id, "slot_start": iso(p.valid_until + timedelta(hours=2))},
        headers=world["owner"],
    )
    assert outside.status_code == 422  # outside the pass's validity
    odd = client.patch(
        f"/api/v1/bookings/{made['id']}",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(5) + timedelta(minutes=30))},
        headers=world["owner"],
    )
    assert odd.status_code == 422  # on the hour only
    # nobody else's to move
    rival = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert client.delete(f"/api/v1/bookings/{made['id']}", headers=rival).status_code == 404
    cancelled = client.delete(f"/api/v1/bookings/{made['id']}", headers=world["owner"])
    assert cancelled.get_json()["status"] == "cancelled"
    assert (
        client.delete(f"/api/v1/bookings/{made['id']}", headers=world["owner"]).status_code == 409
    )

    # a booking whose hour went by without the truck reads missed
    with make.session() as session:
        booking = session.get(Booking, made["id"])
        booking.status, booking.slot_start = "booked", hour(-3)
        session.commit()
    day = client.get(
        f"/api/v1/checkpoints/{gate.id}/bookings?date={local_day(hour(-3))}",
        headers=world["officer"],
    )
    statuses = {i["id"]: i["status"] for i in day.get_json()["items"]}
    assert statuses[made["id"]] == "missed"
    # the truck coming hours late is let in on it, told late (and takes the priority lane)
    late = scan(client, world["officer"], gate, p.code)
    assert (late["booking"]["id"], late["booking"]["timing"]) == (made["id"], "late")
    day = client.get(
        f"/api/v1/checkpoints/{gate.id}/bookings?date={local_day(hour(-3))}",
        headers=world["officer"],
    )
    assert {i["id"]: i["status"] for i in day.get_json()["items"]}[made["id"]] == "arrived"


def test_only_gates_take_bookings_and_only_assigned_officers_read_the_day(client, make, world):
    station = make.checkpoint("station")
    refused = client.put(
        f"/api/v1/checkpoints/{station.id}/booking",
        json={"capacity_per_hour": 5},
        headers=world["admin"],
    )
    assert refused.status_code == 422
    stranger = api_token(client, make.officer(make.checkpoint("gate")).username)
    day = client.get(f"/api/v1/checkpoints/{world['gate'].id}/bookings", headers=stranger)
    assert day.status_code == 403
    closed = client.put(
        f"/api/v1/checkpoints/{world['gate'].id}/booking",
        json={"capacity_per_hour": None},
        headers=world["admin"],
    )
    assert closed.get_json()["capacity_per_hour"] is None
    none_taken = client.post(
        f"/api/v1/passes/{world['pass'].id}/bookings",
        json={"checkpoint_id": world["gate"].id, "slot_start": iso(hour(2))},
        headers=world["owner"],
    )
    assert none_taken.status_code == 422


def test_the_pages_book_an_hour_and_list_the_gates_day(client, make, world):
    gate, p = world["gate"], world["pass"]
    login(client, make.user("admin").username)
    bad = post_form(client, f"/admin/checkpoints/{gate.id}/booking", {"capacity_per_hour": "x"})
    assert bad.status_code == 302
    told = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert f"{gate.name} 的每小时预约数" in told  # which gate, and what it takes
    assert "退出（" in told  # full-width brackets in Chinese
    assert (
        post_form(
            client, f"/admin/checkpoints/{gate.id}/booking", {"capacity_per_hour": "2"}
        ).status_code
        == 302
    )
    with make.session() as session:
        assert session.get(type(gate), gate.id).capacity_per_hour == 2
    post_form(client, "/logout")
    owner = make.enterprise_user(p.enterprise)
    login(client, owner.username)
    page = client.get(f"/passes/{p.id}/booking")
    assert page.status_code == 200
    assert gate.name in page.get_data(as_text=True)
    slot = hour(2).isoformat()
    made = post_form(
        client, f"/passes/{p.id}/booking", {"checkpoint_id": gate.id, "slot_start": slot}
    )
    assert made.status_code == 302
    with make.session() as session:
        [booking] = session.scalars(select(Booking).where(Booking.pass_id == p.id)).all()
    assert booking.status == "booked"
    same = post_form(
        client,
        f"/passes/{p.id}/booking",
        {"checkpoint_id": gate.id, "slot_start": slot, "booking_id": booking.id},
    )
    with make.session() as session:
        assert session.get(Booking, booking.id).changed_at is None  # nothing to move
    told = client.get(same.headers["Location"]).get_data(as_text=True)
    assert "预约已是该卡口和时段" in told
    # an hour another pass filled shows full, and a truck inside is told what a booking is for
    other = make.pass_(status="approved", enterprise=p.enterprise)
    for taker in (other, make.pass_(status="approved", enterprise=p.enterprise)):
        taken = post_form(
            client,
            f"/passes/{taker.id}/booking",
            {"checkpoint_id": gate.id, "slot_start": iso(hour(4))},
        )
        assert taken.status_code == 302
    scan(client, world["officer"], gate, p.code)
    page = client.get(f"/passes/{p.id}/booking").get_data(as_text=True)
    shown = hour(4).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()  # as the page offers it
    option = page.split(f'value="{shown}"')[1].split("</option>")[0]
    assert "disabled" in option
    assert "已满" in option
    assert 'id="booking-inside"' in page
    post_form(client, "/logout")
    officer = make.officer(gate)
    login(client, officer.username)
    day = client.get(f"/gate/{gate.id}/bookings?date={local_day(hour(2))}").get_data(as_text=True)
    assert p.vehicle.plate in day
    assert 'id="back-to-scanner"' in day
    assert "已入辖区" in day  # the truck that came in on its booking
    tomorrow = client.get(f"/gate/{gate.id}/bookings?date={local_day(hour(26))}")
    assert 'id="day-today"' in tomorrow.get_data(as_text=True)


def test_the_consignee_board_shows_the_booked_hour(client, make, world):
    gate = world["gate"]
    consignee = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=consignee.id)
    owner = api_token(client, make.enterprise_user(p.enterprise).username)
    client.post(
        f"/api/v1/passes/{p.id}/bookings",
        json={"checkpoint_id": gate.id, "slot_start": iso(hour(2))},
        headers=owner,
    )
    receiver = make.enterprise_user(consignee)
    board = client.get("/api/v1/arrivals", headers=api_token(client, receiver.username))
    [item] = board.get_json()["items"]
    assert item["booking"]["checkpoint"] == gate.name
    assert item["booking"]["status"] == "booked"
    assert datetime.fromisoformat(item["booking"]["slot_start"]) == hour(2)
    login(client, receiver.username)
    assert gate.name in client.get("/arrivals").get_data(as_text=True)


def test_an_hour_is_an_hour_in_any_offset(client, make, world):
    """21:00+05:30 is 15:30 UTC: not a whole hour, so it cannot slip past the capacity."""
    start = hour(3).astimezone(timezone(timedelta(hours=5, minutes=30)))
    odd = client.post(
        f"/api/v1/passes/{world['pass'].id}/bookings",
        json={"checkpoint_id": world["gate"].id, "slot_start": start.replace(minute=0).isoformat()},
        headers=world["owner"],
    )
    assert odd.status_code == 422


def test_the_entry_keeps_the_booking_nearest_it_not_an_old_missed_one(client, make, world):
    gate, p = world["gate"], world["pass"]
    old = book(client, world, 3).get_json()
    with make.session() as session:  # its hour went by unkept
        session.get(Booking, old["id"]).slot_start = hour(-5)
        session.commit()
    new = book(client, world, 2)
    assert new.status_code == 201, new.get_json()
    entry = scan(client, world["officer"], gate, p.code)
    assert (entry["booking"]["id"], entry["booking"]["timing"]) == (new.get_json()["id"], "early")
    with make.session() as session:
        statuses = {b.id: b.status for b in session.scalars(select(Booking))}
    assert (statuses[old["id"]], statuses[new.get_json()["id"]]) == ("booked", "arrived")


def test_an_entry_annulled_gives_its_booking_back(client, make, world):
    gate, p = world["gate"], world["pass"]
    made = book(client, world, 2).get_json()
    entry = scan(client, world["officer"], gate, p.code)
    assert entry["booking"]["id"] == made["id"]
    annulled = client.post(
        f"/api/v1/scans/{entry['scan_id']}/annul",
        json={"reason": "wrong_vehicle"},
        headers=world["officer"],
    )
    assert annulled.status_code == 200, annulled.get_json()
    with make.session() as session:
        booking = session.get(Booking, made["id"])
        assert (booking.status, booking.arrived_at, booking.trip_id) == ("booked", None, None)
        assert booking.changed_at is not None  # the statistics timer counts its day again
    again = scan(client, world["officer"], gate, p.code)
    assert (again["event"], again["booking"]["id"]) == ("entry", made["id"])
    with make.session() as session:
        assert session.get(Booking, made["id"]).status == "arrived"


def test_a_day_out_of_any_calendar_is_a_clear_error(client, make, world):
    gate = world["gate"]
    login(client, make.officer(gate).username)
    for day in ("0001-01-01", "9999-12-31", "2026-13-01"):
        api = client.get(
            f"/api/v1/checkpoints/{gate.id}/bookings?date={day}", headers=world["officer"]
        )
        assert api.status_code == 422, (day, api.status_code)
        assert "date" in api.get_json()["errors"]
        page = client.get(f"/gate/{gate.id}/bookings?date={day}", follow_redirects=True)
        assert page.status_code == 200, (day, page.status_code)
        assert "2026-11-22" in page.get_data(as_text=True)  # the example of a date


def test_one_pass_booked_at_two_gates_at_once_is_booked_once(app, make, world):
    import threading

    from checkpoints import bookings

    gates = [world["gate"], make.checkpoint("gate")]
    with make.session() as session:
        for gate in gates:
            session.get(type(gate), gate.id).capacity_per_hour = 10
        session.commit()
    owner = make.enterprise_user(world["pass"].enterprise)
    for _ in range(8):  # each round a fresh pass, booked from two threads at once
        p = make.pass_(status="approved", enterprise=world["pass"].enterprise)
        start, outcomes = threading.Barrier(2, timeout=20), []

        def book(gate, p=p, start=start, outcomes=outcomes):
            start.wait()
            with app.extensions["sessions"]() as session:
                try:
                    bookings.book(
                        session, owner, p.id, bookings.Wanted(gate.id, hour(2)), now=now()
                    )
                    outcomes.append("booked")
                except bookings.AlreadyBooked:
                    outcomes.append("already_booked")

        threads = [threading.Thread(target=book, args=(gate,)) for gate in gates]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["already_booked", "booked"]
        with make.session() as session:
            assert len(session.scalars(select(Booking).where(Booking.pass_id == p.id)).all()) == 1


def test_an_offline_entry_of_a_truck_already_inside_reports_no_booking(client, make, world):
    gate, p = world["gate"], world["pass"]
    made = book(client, world, 2).get_json()
    elsewhere = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate, elsewhere).username)
    assert scan(client, officer, elsewhere, p.code)["booking"] is None  # in by another gate
    item = {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": gate.id,
        "code": p.code,
        "offline": True,
        "decision": "allow",
        "event": "entry",
        "scanned_at": now().isoformat(),
    }
    answer = client.post("/api/v1/scans/batch", json={"items": [item]}, headers=officer)
    [result] = answer.get_json()["items"]
    assert result["status"] != "error", result
    assert result["result"]["booking"] is None
    with make.session() as session:
        assert session.get(Booking, made["id"]).status == "booked"
