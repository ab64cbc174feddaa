// The scanner's one way to the network: JSON in, JSON out, same-origin credentials, the
// page's CSRF token on writes, and a time limit on every request. Everything the scanner
// and its offline queue send or fetch goes through here.
"use strict";

(() => {
  async function limited(url, init, timeout) {
    const abort = new AbortController();
    const timer = timeout ? setTimeout(() => abort.abort(), timeout) : null;
    try {
      return await fetch(url, { credentials: "same-origin", ...init, signal: abort.signal });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  // GET: { body, date } (the server's clock from its Date header); throws on any failure.
  async function getJson(url, timeout = 8000) {
    const response = await limited(url, {}, timeout);
    if (!response.ok) throw new Error(String(response.status));
    return { body: await response.json(), date: Date.parse(response.headers.get("Date")) };
  }

  // GET as a plain response (the caller looks at its status); throws when unreachable.
  const get = (url, timeout = 8000) => limited(url, {}, timeout);

  // POST a JSON body; the response, or a thrown error when unreachable or too slow.
  function postJson(url, body, csrf, timeout = 0) {
    return limited(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }, timeout);
  }

  window.ScannerNet = { getJson, get, postJson };
})();
