// The scanner's one way to the network: JSON in, JSON out, same-origin credentials, the
// page's CSRF token on writes, and a time limit on every request that covers the whole
// answer, its body included (a link that stalls after the headers must still time out, so
// the phone decides offline instead of waiting). Everything the scanner and its offline
// queue send or fetch goes through here.
"use strict";

(() => {
  // The answer, read whole within `timeout` ms (0: no limit): { status, ok, headers,
  // json() } (json() throws on a body that is not JSON); throws when unreachable or late.
  async function limited(url, init, timeout) {
    const abort = new AbortController();
    const timer = timeout ? setTimeout(() => abort.abort(), timeout) : null;
    try {
      const response = await fetch(url, { credentials: "same-origin", ...init, signal: abort.signal });
      const text = await response.text();
      return {
        status: response.status,
        ok: response.ok,
        headers: response.headers,
        json: () => JSON.parse(text),
      };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  // GET: { body, date } (the server's clock from its Date header); throws on any failure.
  async function getJson(url, timeout = 8000) {
    const response = await limited(url, {}, timeout);
    if (!response.ok) throw new Error(String(response.status));
    return { body: response.json(), date: Date.parse(response.headers.get("Date")) };
  }

  // GET, the caller looking at the status (no limit unless one is given).
  const get = (url, timeout = 0) => limited(url, {}, timeout);

  // POST a JSON body (no limit unless one is given).
  function postJson(url, body, csrf, timeout = 0) {
    return limited(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }, timeout);
  }

  window.ScannerNet = { getJson, get, postJson };
})();
