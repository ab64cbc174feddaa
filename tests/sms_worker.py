"""Runs `flask sms work` in its own process against the Twilio stub (used by the outbox
crash and concurrency tests): python -m tests.sms_worker DATABASE_URL STUB_URL LEASE."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from app import create_app
from tests.support import app_config
from tests.twilio_stub import LocalTwilioHttpClient


def main() -> None:
    database_url, stub_url, lease = sys.argv[1], sys.argv[2], sys.argv[3]
    app = create_app(
        app_config(
            database_url,
            Path(tempfile.mkdtemp()),
            SMS_BACKEND="twilio",
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="test-auth-token",
            TWILIO_FROM="+15005550006",
        )
    )
    app.extensions["twilio_http"] = LocalTwilioHttpClient(stub_url)
    result = app.test_cli_runner().invoke(
        args=["sms", "work", "--batch", "5", "--idle", "0.1", "--lease", lease]
    )
    print(result.output, file=sys.stderr)


if __name__ == "__main__":
    main()
