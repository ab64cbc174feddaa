"""The signed revocation list verifies in the browser's own WebCrypto with the keys of
/api/v1/trust, as the offline scanner checks it; a tampered copy does not."""

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

VERIFY = """
async () => {
  const canonical = (value) => Array.isArray(value)
    ? `[${value.map(canonical).join(",")}]`
    : value && typeof value === "object"
      ? `{${Object.keys(value).sort()
          .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`
      : JSON.stringify(value);
  const b64url = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - text.length % 4) % 4)),
    (c) => c.charCodeAt(0));
  const trust = await (await fetch("/api/v1/trust")).json();
  const list = await (await fetch("/api/v1/revocations")).json();
  const check = async (body) => {
    const { signature, ...unsigned } = body;
    const jwk = trust.keys.find((k) => k.kid === body.kid).jwk;
    const key = await crypto.subtle.importKey(
      "jwk", { ...jwk, ext: true }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64url(signature),
      new TextEncoder().encode(canonical(unsigned)));
  };
  const tampered = { ...list, revoked: [] };
  return { ok: await check(list), tampered: await check(tampered), count: list.revoked.length };
}
"""


def test_the_list_verifies_in_webcrypto(live_server, screen, make):
    make.pass_(status="revoked")
    s = screen(PHONE)
    s.page.goto(f"{live_server}/login")
    result = s.page.evaluate(VERIFY)
    assert result == {"ok": True, "tampered": False, "count": 1}
