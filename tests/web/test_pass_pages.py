"""Pass pages: apply and copy, the enterprise dashboard, the reviewer queue and decisions."""

import re
from datetime import timedelta

from sqlalchemy import select

from passes.models import Pass
from tests.support import login, now, post_form


def local(moment):
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_enterprise_applies_through_the_page(client, make, db):
    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    login(client, owner.username)
    form = client.get("/passes/new").get_data(as_text=True)
    assert vehicle.plate in form
    start = now() + timedelta(hours=1)
    response = post_form(
        client,
        "/passes/new",
        {
            "vehicle_id": vehicle.id,
            "driver_id": driver.id,
            "co_driver_id": "",
            "destination_enterprise_id": enterprise.id,
            "origin": "平湖",
            "cargo": "大米",
            "category": "emergency",
            "valid_from": local(start),
            "valid_until": local(start + timedelta(days=2)),
            "max_trips": "2",
        },
    )
    assert response.status_code == 302
    p = db.scalars(select(Pass)).one()
    assert p.max_trips == 2
    assert abs((p.valid_from - start).total_seconds()) < 60  # local time understood as +08:00
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert p.number in detail
    assert "待审核" in detail


def test_bad_form_keeps_input_and_explains(client, make):
    owner = make.enterprise_user(make.enterprise())
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    login(client, owner.username)
    response = post_form(
        client,
        "/passes/new",
        {
            "vehicle_id": vehicle.id,
            "driver_id": driver.id,
            "origin": "平湖",
            "cargo": "大米",
            "category": "products",
            "valid_from": local(now()),
            "valid_until": local(now()),
            "max_trips": "1",
        },
    )
    assert response.status_code == 422
    assert "有效期结束时间须晚于开始时间" in response.get_data(as_text=True)
    assert "请选择目的地企业" in response.get_data(as_text=True)  # no silent default to itself


def test_pending_enterprise_sees_why_it_cannot_apply(client, make):
    owner = make.enterprise_user(make.enterprise(status="pending"))
    login(client, owner.username)
    page = client.get("/passes/new").get_data(as_text=True)
    assert 'id="filing-blocked"' in page
    assert '<form method="post" novalidate>' not in page


def test_copy_prefills_everything_but_the_dates(client, make):
    p = make.pass_(cargo="冷冻肉")
    login(client, make.enterprise_user(p.enterprise).username)
    page = client.get(f"/passes/new?copy={p.id}").get_data(as_text=True)
    assert 'value="冷冻肉"' in page
    assert f'<option selected value="{p.vehicle_id}">' in page


def test_dashboard_counts_and_sms_status(client, make):
    enterprise = make.enterprise()
    make.pass_(enterprise=enterprise, status="approved")
    make.pass_(enterprise=enterprise)
    login(client, make.enterprise_user(enterprise).username)
    page = client.get("/passes").get_data(as_text=True)
    assert re.search(r'id="count-approved"[^>]*>[^<]*<b>1</b>', page)
    assert re.search(r'id="count-submitted"[^>]*>[^<]*<b>1</b>', page)
    assert "短信排队中" in page  # approved outside a request: no inline delivery yet
    assert "已等待" in page


def test_queue_puts_the_green_channel_first_then_the_oldest(client, make):
    older = make.pass_(category="products")
    emergency = make.pass_(category="emergency")
    newer = make.pass_(category="raw_materials")
    login(client, make.user("reviewer").username)
    page = client.get("/review").get_data(as_text=True)
    order = [int(i) for i in re.findall(r'<tr id="pass-(\d+)"', page)]
    assert order == [emergency.id, older.id, newer.id]
    assert "绿色通道" in page


def test_reviewer_approves_rejects_and_bulk_approves_from_pages(client, make, db):
    a, b, c, d = (make.pass_() for _ in range(4))
    login(client, make.user("reviewer").username)
    post_form(client, f"/passes/{a.id}/approve")
    post_form(client, f"/passes/{b.id}/reject", {"reason": ""})  # refused: no reason
    post_form(client, f"/passes/{c.id}/reject", {"reason": "车辆信息有误"})
    response = client.post(
        "/review/bulk", data={"ids": [b.id, d.id, a.id], "csrf_token": _token(client)}
    )
    assert response.status_code == 302
    db.rollback()
    statuses = {p.id: p.status for p in db.scalars(select(Pass))}
    assert statuses == {a.id: "approved", b.id: "approved", c.id: "rejected", d.id: "approved"}


def _token(client):
    from tests.support import csrf_token

    return csrf_token(client)


def test_printable_pass_shows_the_qr_and_masked_driver(client, make):
    p = make.pass_(status="approved")
    login(client, make.enterprise_user(p.enterprise).username)
    page = client.get(f"/passes/{p.id}/print").get_data(as_text=True)
    assert f"/api/v1/passes/{p.id}/qr.svg" in page
    assert p.driver.name_masked in page
    assert p.driver.id_number not in page


def test_an_approved_pass_shows_used_up_or_expired_where_its_status_is_shown(client, make, db):
    """A pass whose trips were all used still read 已通过."""
    from datetime import timedelta

    from sqlalchemy import update

    from passes.models import Pass
    from tests.support import now

    enterprise = make.enterprise()
    used = make.pass_(enterprise, status="approved", max_trips=1)
    ended = make.pass_(enterprise, status="approved")
    live = make.pass_(enterprise, status="approved")
    db.execute(update(Pass).where(Pass.id == used.id).values(trips_used=1))
    db.execute(
        update(Pass).where(Pass.id == ended.id).values(valid_until=now() - timedelta(hours=1))
    )
    db.commit()
    login(client, make.enterprise_user(enterprise).username)
    index = client.get("/passes").get_data(as_text=True)

    def row(p):
        start = index.index(f'id="pass-{p.id}"')
        return index[start : index.index("</tr>", start)]

    assert "趟次已用完" in row(used)
    assert "已过期" in row(ended)
    assert "已通过" in row(live)
    assert "趟次已用完" in client.get(f"/passes/{used.id}").get_data(as_text=True)


def test_a_new_application_starts_a_day_from_this_hour_and_names_no_destination(client, make):
    import re as re_
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from tests.support import now

    enterprise = make.enterprise()
    make.enterprise()  # a destination to choose
    owner = make.enterprise_user(enterprise)
    make.vehicle(owner), make.driver(owner)
    login(client, owner.username)
    page = client.get("/passes/new").get_data(as_text=True)
    start = now().astimezone(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0)
    assert f'value="{start:%Y-%m-%dT%H:%M}"' in page
    assert f'value="{start + timedelta(days=1):%Y-%m-%dT%H:%M}"' in page
    block = re_.search(
        r'<select[^>]*id="destination_enterprise_id"[^>]*>(.*?)</select>', page, re_.S
    )
    assert block is not None
    assert "selected" not in block.group(1)  # not the applicant itself, nor any other


def test_the_passes_list_searches_number_plate_driver_and_enterprise(client, make):
    enterprise = make.enterprise()
    found, other = make.pass_(enterprise=enterprise), make.pass_(enterprise=enterprise)
    login(client, make.user("reviewer").username)

    def listed(q, **extra):
        page = client.get("/passes", query_string={"q": q, **extra}).get_data(as_text=True)
        return {p for p in (found, other) if f'id="pass-{p.id}"' in page}, page

    assert listed(found.number)[0] == {found}
    assert listed(found.vehicle.plate.lower())[0] == {found}  # as typed, lower case
    assert listed(found.vehicle.plate[1:])[0] == {found}  # without the province
    assert listed(found.driver.name)[0] >= {found}
    assert listed(enterprise.name[:4])[0] == {found, other}
    assert listed(found.number, status="approved")[0] == set()  # within its tab
    nothing, page = listed("不存在的企业")
    assert nothing == set()
    assert "不存在的企业" in page


def test_a_reviewers_decision_opens_the_next_application_waiting(client, make):
    from tests.support import post_form

    first, second = make.pass_(), make.pass_()
    login(client, make.user("reviewer").username)
    approved = post_form(client, f"/passes/{first.id}/approve")
    assert approved.headers["Location"] == f"/passes/{second.id}"  # the queue's next
    rejected = post_form(client, f"/passes/{second.id}/reject", {"reason": "资料不全"})
    assert rejected.headers["Location"] == "/review"  # none left: the (empty) queue
    again = post_form(client, f"/passes/{first.id}/approve")  # refused: it stays put
    assert again.headers["Location"] == f"/passes/{first.id}"


def test_the_queue_rejects_the_selected_applications_with_one_reason(client, make):
    from passes.models import Pass
    from tests.support import post_form

    waiting, other, decided = make.pass_(), make.pass_(), make.pass_(status="approved")
    login(client, make.user("reviewer").username)
    page = client.get("/review").get_data(as_text=True)
    assert 'id="bulk-reject"' in page
    ids = [str(waiting.id), str(decided.id)]
    nothing = post_form(client, "/review/bulk", {"ids": ids, "action": "reject", "reason": ""})
    assert nothing.status_code == 302
    with make.session() as session:
        assert session.get(Pass, waiting.id).status == "submitted"  # no reason, no decision
    done = post_form(client, "/review/bulk", {"ids": ids, "action": "reject", "reason": "资料不全"})
    told = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已驳回 1 件。" in told
    with make.session() as session:
        assert session.get(Pass, waiting.id).status == "rejected"
        assert session.get(Pass, waiting.id).decision_reason == "资料不全"
        assert session.get(Pass, decided.id).status == "approved"  # skipped, not waiting
        assert session.get(Pass, other.id).status == "submitted"  # not selected
