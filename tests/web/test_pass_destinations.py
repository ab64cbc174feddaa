"""A pass names its consignee as the national pass did: by unified social credit code,
name and county, one registered here or one in a neighbouring jurisdiction; and every pass
records the counties it starts and ends in (6-digit area codes, county level)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accounts.models import Enterprise
from passes.domain import normalise_area_code
from passes.models import Pass
from tests.support import credit_code, login, post_form
from tests.web.test_passes_api import apply
from tests.web.test_passes_api import shipper as _shipper

shipper = _shipper  # the fixture

JINSHAN_CONSIGNEE = {"credit_code": credit_code(9001), "name": "金山化工有限公司"}


@pytest.mark.parametrize("code", ["330482", "310116", "110101", "469001"])
def test_county_codes_are_taken(code):
    assert normalise_area_code(f" {code} ") == code


@pytest.mark.parametrize("code", ["33048", "3304821", "33O482", "990482", "330000", "330400"])
def test_what_is_not_a_county_code_is_refused(code):
    with pytest.raises(ValueError, match="area code"):
        normalise_area_code(code)


def test_a_pass_bound_for_a_neighbours_consignee(client, shipper):
    answer = apply(client, shipper, destination={**JINSHAN_CONSIGNEE, "area_code": "310116"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["destination_credit_code"], body["destination_area_code"]) == (
        JINSHAN_CONSIGNEE["credit_code"],
        "310116",
    )
    assert body["destination_name"] == "金山化工有限公司"
    assert body["origin_area_code"] == "330482"  # starts here unless it says otherwise
    # No site here receives it: its destination here is Jinshan's stand-in.
    assert body["destination_enterprise_id"] != shipper["enterprise"].id
    again = apply(client, shipper, destination={**JINSHAN_CONSIGNEE, "area_code": "310116"})
    assert again.get_json()["destination_enterprise_id"] == body["destination_enterprise_id"]


def test_a_consignee_here_is_matched_by_its_credit_code(client, shipper, make):
    consignee = make.enterprise()
    named = {"credit_code": consignee.credit_code, "name": "随便", "area_code": "330482"}
    answer = apply(client, shipper, destination=named, origin_area_code="310116")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["destination_enterprise_id"] == consignee.id
    assert body["origin_area_code"] == "310116"
    # By enterprise, as before: the pass names it all the same.
    plain = apply(client, shipper, destination_enterprise_id=consignee.id).get_json()
    assert (plain["destination_credit_code"], plain["destination_area_code"]) == (
        consignee.credit_code,
        "330482",
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"destination": {**JINSHAN_CONSIGNEE, "area_code": "3101"}}, "destination.area_code"),
        ({"destination": {**JINSHAN_CONSIGNEE, "area_code": "310100"}}, "destination.area_code"),
        (
            {"destination": {**JINSHAN_CONSIGNEE, "credit_code": "X", "area_code": "310116"}},
            "destination.credit_code",
        ),
        ({"destination": {**JINSHAN_CONSIGNEE, "area_code": "330482"}}, "destination"),
        ({"origin_area_code": "12"}, "origin_area_code"),
    ],
)
def test_a_wrong_destination_or_county_is_422_and_files_nothing(client, shipper, extra, field):
    with client.application.extensions["sessions"]() as session:
        before = session.scalar(select(func.count()).select_from(Pass))
    answer = apply(client, shipper, **extra)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"], answer.get_json()
    with client.application.extensions["sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(Pass)) == before
        assert (
            session.scalar(select(Enterprise.id).where(Enterprise.credit_code == "~310100")) is None
        )


def test_naming_the_destination_two_ways_is_422(client, shipper, make):
    consignee = make.enterprise()
    answer = apply(
        client,
        shipper,
        destination_enterprise_id=consignee.id,
        destination={**JINSHAN_CONSIGNEE, "area_code": "310116"},
    )
    assert answer.status_code == 422
    assert "destination" in answer.get_json()["errors"]


def test_the_form_files_for_a_consignee_elsewhere_and_shows_its_errors(client, shipper, make):
    login(client, shipper["user"].username)
    form = {
        "vehicle_id": shipper["vehicle"].id,
        "driver_id": shipper["driver"].id,
        "origin": "平湖市当湖街道",
        "cargo": "化工原料",
        "category": "raw_materials",
        "valid_from": "2030-01-01T08:00",
        "valid_until": "2030-01-02T08:00",
        "max_trips": 1,
        "elsewhere_credit_code": JINSHAN_CONSIGNEE["credit_code"],
        "elsewhere_name": JINSHAN_CONSIGNEE["name"],
        "elsewhere_area_code": "3101",
    }
    wrong = post_form(client, "/passes/new", form)
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert 'id="elsewhere" open' in page
    assert "330482" in page  # the error's example, beside the county field
    done = post_form(client, "/passes/new", {**form, "elsewhere_area_code": "310116"})
    body = done.get_data(as_text=True)
    assert done.status_code == 302, body[body.find('<form method="post" novalidate') :][:4000]
    with client.application.extensions["sessions"]() as session:
        p = session.scalars(select(Pass).order_by(Pass.id.desc())).first()
        assert (p.destination_area_code, p.destination_name) == ("310116", "金山化工有限公司")
        detail = client.get(f"/passes/{p.id}").get_data(as_text=True)
    assert "金山化工有限公司" in detail
    assert "310116" in detail
    # Everywhere the pass is listed it names its consignee, not the jurisdiction's stand-in.
    assert "金山化工有限公司" in client.get("/passes").get_data(as_text=True)


def test_the_national_format_pdf_carries_the_number_route_counties_and_the_code(client, make):
    import io

    from pypdf import PdfReader

    from tests.web.test_driver_pass import pdf_codes

    p = make.pass_(status="approved")
    with make.session() as session:
        row = session.get(Pass, p.id)
        row.origin_area_code, row.destination_area_code = "330482", "310116"
        row.destination_name = "金山化工有限公司"
        session.commit()
    login(client, make.enterprise_user(p.enterprise).username)
    page = client.get(f"/passes/{p.id}").get_data(as_text=True)
    assert "size=national" in page
    answer = client.get(f"/passes/{p.id}/pass.pdf?size=national")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert pdf_codes(answer.data) == [p.code]  # the same signed text as every copy
    (sheet,) = PdfReader(io.BytesIO(answer.data)).pages
    assert [round(float(v)) for v in sheet.mediabox[2:]] == [595, 842]  # A4
    text = sheet.extract_text()
    for expected in (p.number, p.vehicle.plate, "330482", "310116", "金山化工有限公司"):
        assert expected in text, expected
    drawn = sheet.get_contents().get_data()
    assert b".86 .95 .88 rg" in drawn.replace(b"0.", b".")  # the green ground, filled first


@pytest.mark.parametrize("size", ["a4", "phone", "national"])
def test_every_pass_pdf_embeds_its_chinese_font(client, make, size):
    import io

    from pypdf import PdfReader

    p = make.pass_(status="approved")
    login(client, make.enterprise_user(p.enterprise).username)
    answer = client.get(f"/passes/{p.id}/pass.pdf?size={size}")
    assert answer.status_code == 200
    (sheet,) = PdfReader(io.BytesIO(answer.data)).pages
    fonts = [f.get_object() for f in sheet["/Resources"]["/Font"].values()]
    chinese = [f for f in fonts if "WenQuanYi" in str(f["/BaseFont"])]
    assert chinese, [str(f["/BaseFont"]) for f in fonts]  # not a name left to the viewer
    for font in chinese:  # each with its glyphs inside the file
        assert "/FontFile2" in font["/FontDescriptor"].get_object()
    assert p.vehicle.plate in sheet.extract_text()
    assert len(answer.data) < 200_000  # the glyphs used, not the whole font


def test_the_pass_page_names_the_destinations_county_and_lists_only_the_drivers_sms(
    client, shipper, make
):
    """The county code reads as one (not a bare number beside the consignee), and "SMS
    to the driver" leaves out the consignee's and the contact's texts about the pass."""
    from core.db import utcnow
    from sms import outbox

    answer = apply(client, shipper, destination={**JINSHAN_CONSIGNEE, "area_code": "310116"})
    pass_id = answer.get_json()["id"]
    p = make.pass_(status="approved")
    with make.session() as session:
        outbox.enqueue(
            session,
            dedupe_key=f"consignee:{p.id}:1",
            to="+8613700000001",
            body="您的来车已进入",
            now=utcnow(),
            pass_id=p.id,
        )
        session.commit()
    login(client, make.user("reviewer").username)
    page = client.get(f"/passes/{pass_id}").get_data(as_text=True)
    assert 'id="destination-area">区划代码 310116<' in page
    page = client.get(f"/passes/{p.id}").get_data(as_text=True)
    section = page.split('id="messages"')[1].split("</section>")[0]
    assert "您的来车已进入" not in section
    assert section.count('class="message"') == 1  # the code sent on approval
    assert "其企业今天还可重发" in section  # a reviewer is not the enterprise
    assert "贵企业" not in section
