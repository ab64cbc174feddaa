"""Typed settings read from the environment (docs/api.md, Configuration)."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENVIRONMENTS = ("development", "production", "testing")
SMS_BACKENDS = ("console", "twilio", "aliyun")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message says what to set."""


# A production secret is refused when it is a placeholder (deploy/env.example's CHANGE-ME
# values and the like), shorter than 32 characters, or made of few distinct characters.
PLACEHOLDERS = ("change", "example", "placeholder", "secret", "password", "xxxx")
SHORTEST_SECRET = 32


def weak_secret(value: str) -> str | None:
    """Why `value` will not do as a production secret, or None."""
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDERS):
        return "is a placeholder"
    if len(value) < SHORTEST_SECRET:
        return f"is shorter than {SHORTEST_SECRET} characters"
    if len(set(value)) < 10 or _repeats(value):
        return "has too few distinct characters"
    return None


def _repeats(value: str) -> bool:
    """A short run repeated (12345678901234567890..., abcabc...): little entropy however
    long, though it may hold ten distinct characters."""
    return any(
        all(value[i] == value[i + period] for i in range(len(value) - period))
        for period in range(1, len(value) // 2 + 1)
    )


def _aliyun(env: Mapping[str, str]) -> dict[str, Any]:
    """Alibaba Cloud SMS's settings: the access key, the registered signature, and the
    registered template code of each message (JSON: {"approval": "SMS_123", ...})."""
    missing = [
        name
        for name in ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME")
        if not env.get(name)
    ]
    if missing:
        raise ConfigError(f"SMS_BACKEND=aliyun needs {', '.join(missing)}")
    try:
        templates = json.loads(env.get("ALIYUN_SMS_TEMPLATES") or "")
    except ValueError:
        templates = None
    if not isinstance(templates, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in templates.items()
    ):
        raise ConfigError(
            "ALIYUN_SMS_TEMPLATES must be JSON naming each message's template code, e.g. "
            '{"approval": "SMS_123456789"} (docs/deploy.md lists the templates)'
        )
    return {
        "ALIYUN_ACCESS_KEY_ID": env["ALIYUN_ACCESS_KEY_ID"],
        "ALIYUN_ACCESS_KEY_SECRET": env["ALIYUN_ACCESS_KEY_SECRET"],
        "ALIYUN_SMS_SIGN_NAME": env["ALIYUN_SMS_SIGN_NAME"],
        "ALIYUN_SMS_TEMPLATES": templates,
        # Where the SDK's requests go instead of dysmsapi.aliyuncs.com (a stand-in, a proxy).
        "ALIYUN_SMS_ENDPOINT": env.get("ALIYUN_SMS_ENDPOINT") or None,
    }


def _strong(name: str, value: str) -> str:
    if (why := weak_secret(value)) is not None:
        raise ConfigError(
            f"{name} {why}. In production it must be a random value, e.g. "
            f"{name}=$(openssl rand -hex 32)"
        )
    return value


def _secret_key(instance_path: Path, env: Mapping[str, str], app_env: str) -> str:
    if env.get("SECRET_KEY"):
        if app_env == "production":
            return _strong("SECRET_KEY", env["SECRET_KEY"])
        return env["SECRET_KEY"]
    if app_env == "production":
        raise ConfigError(
            "SECRET_KEY is not set. In production the session key must come from the "
            "environment, e.g. SECRET_KEY=$(openssl rand -hex 32)"
        )
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _yes_no(env: Mapping[str, str], name: str, default: str = "false") -> bool:
    value = env.get(name, default).strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"{name} must be true or false")
    return value == "true"


def _at_least_one(env: Mapping[str, str], name: str, default: str) -> int:
    try:
        value = int(env.get(name, default))
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number") from exc
    if value < 1:
        raise ConfigError(f"{name} must be at least 1")
    return value


def load(instance_path: Path, env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Flask config keys from the environment; raises ConfigError on a bad value."""
    env = os.environ if env is None else env
    app_env = env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'trafficpass.db'}"
    area_code = env.get("AREA_CODE", "330482")
    if not re.fullmatch(r"\d{6}", area_code):
        raise ConfigError(f"AREA_CODE must be 6 digits, not {area_code!r}")
    timezone = env.get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE {timezone!r} is not a known time zone") from exc
    sms_backend = env.get("SMS_BACKEND", "console")
    if sms_backend not in SMS_BACKENDS:
        raise ConfigError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")

    aliyun = _aliyun(env) if sms_backend == "aliyun" else {}

    production = app_env == "production"
    log_format = env.get("LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        raise ConfigError("LOG_FORMAT must be text or json")
    try:
        proxy_hops = int(env.get("PROXY_HOPS", "0"))
        retention_days = int(env.get("RETENTION_DAYS", "180"))
    except ValueError as exc:
        raise ConfigError("PROXY_HOPS and RETENTION_DAYS must be whole numbers") from exc
    if not 0 <= proxy_hops <= 5 or retention_days < 1:
        raise ConfigError("PROXY_HOPS must be 0 to 5 and RETENTION_DAYS at least 1")
    if production and env.get("BACKUP_PASSPHRASE"):
        _strong("BACKUP_PASSPHRASE", env["BACKUP_PASSPHRASE"])  # read by `backup` itself
    audit_sequencer = env.get("AUDIT_SEQUENCER", "off" if app_env == "testing" else "thread")
    if audit_sequencer not in ("thread", "off"):
        raise ConfigError("AUDIT_SEQUENCER must be thread (in each server process) or off")
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": _secret_key(instance_path, env, app_env),
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SMS_BACKEND": sms_backend,
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM": env.get("TWILIO_FROM"),
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID"),
        # Where the twilio library's requests go instead of https://api.twilio.com: an
        # egress proxy, or a stand-in for rehearsals (scripts/cluster.sh).
        "TWILIO_API_BASE": (env.get("TWILIO_API_BASE") or "").rstrip("/") or None,
        **aliyun,
        "ALIYUN_SMS_REPORT_TOKEN": env.get("ALIYUN_SMS_REPORT_TOKEN") or None,
        # Operations: log lines, the proxies in front, metrics, retention (docs/deploy.md).
        "LOG_FORMAT": log_format,
        "PROXY_HOPS": proxy_hops,
        "METRICS_TOKEN": (
            _strong("METRICS_TOKEN", env["METRICS_TOKEN"])
            if production and env.get("METRICS_TOKEN")
            else env.get("METRICS_TOKEN") or None
        ),
        # Personal data (drivers' names, ID numbers, phones; SMS texts) is erased this many
        # days after the last pass that used it ended.
        "RETENTION_DAYS": retention_days,
        # Readiness wants an SMS worker's heartbeat this recent (when SMS go through Twilio).
        "READY_WORKER_SECONDS": int(env.get("READY_WORKER_SECONDS", "120")),
        "AREA_CODE": area_code,
        # This jurisdiction as its federation peers see it; how often `federation sync` runs.
        "JURISDICTION_NAME": env.get("JURISDICTION_NAME", "平湖市"),
        "FEDERATION_SYNC_SECONDS": _at_least_one(env, "FEDERATION_SYNC_SECONDS", "60"),
        "TIMEZONE": timezone,
        # Sign-in failures allowed within the window: per username and address, per address
        # (across usernames), per username (across addresses, but not where the user signed
        # in within LOGIN_KNOWN_ADDRESS_DAYS); and password checks per minute overall.
        # Counted in the database (accounts.throttle); 0 turns a limit off.
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "10")),
        "LOGIN_WINDOW_MINUTES": int(env.get("LOGIN_WINDOW_MINUTES", "15")),
        "LOGIN_ADDRESS_MAX_FAILURES": int(env.get("LOGIN_ADDRESS_MAX_FAILURES", "20")),
        "LOGIN_USER_MAX_FAILURES": int(env.get("LOGIN_USER_MAX_FAILURES", "20")),
        "LOGIN_KNOWN_ADDRESS_DAYS": int(env.get("LOGIN_KNOWN_ADDRESS_DAYS", "30")),
        "LOGIN_MAX_CHECKS_PER_MINUTE": int(env.get("LOGIN_MAX_CHECKS_PER_MINUTE", "300")),
        # Enterprise sign-ups (web and API) per address and overall within the window.
        "SIGNUP_MAX_PER_ADDRESS": int(env.get("SIGNUP_MAX_PER_ADDRESS", "10")),
        "SIGNUP_MAX_TOTAL": int(env.get("SIGNUP_MAX_TOTAL", "60")),
        "SIGNUP_WINDOW_MINUTES": int(env.get("SIGNUP_WINDOW_MINUTES", "60")),
        "API_TOKEN_HOURS": int(env.get("API_TOKEN_HOURS", "12")),
        # How long a process trusts a bearer token it checked, on the scan path: a token
        # revoked by another process stops working there within this many seconds.
        "API_TOKEN_CACHE_SECONDS": float(env.get("API_TOKEN_CACHE_SECONDS", "5")),
        # Calls a minute one machine key may make, counted across every node.
        "API_KEY_PER_MINUTE": int(env.get("API_KEY_PER_MINUTE", "600")),
        "PASS_MAX_DAYS": int(env.get("PASS_MAX_DAYS", "14")),
        # Only crews on the whitelist get passes, and a crew taken off it is refused entry
        # (fleet/crews.py).
        "CREW_WHITELIST_REQUIRED": _yes_no(env, "CREW_WHITELIST_REQUIRED"),
        "SMS_LOCALE": env.get("SMS_LOCALE", "zh_CN"),
        # The sender signature carriers require, before Chinese and before English texts.
        "SMS_SIGNATURE": env.get("SMS_SIGNATURE", "【货运通行码】"),
        "SMS_SIGNATURE_EN": env.get("SMS_SIGNATURE_EN", "[Freight Pass] "),
        "SMS_RESENDS_PER_HOUR": int(env.get("SMS_RESENDS_PER_HOUR", "3")),
        "SMS_RESENDS_PER_DAY": int(env.get("SMS_RESENDS_PER_DAY", "200")),
        # One enterprise's filing: applications waiting (or approved automatically and
        # still valid) at once, and filed per hour and per 24 hours; they keep the pass
        # numbers from running out (passes.domain.pass_number has the arithmetic).
        "PENDING_APPLICATIONS_PER_ENTERPRISE": _at_least_one(
            env, "PENDING_APPLICATIONS_PER_ENTERPRISE", "200"
        ),
        "APPLICATIONS_PER_HOUR": _at_least_one(env, "APPLICATIONS_PER_HOUR", "60"),
        "APPLICATIONS_PER_DAY": _at_least_one(env, "APPLICATIONS_PER_DAY", "500"),
        "DRIVER_PAGE_PER_MINUTE": int(env.get("DRIVER_PAGE_PER_MINUTE", "30")),
        # Offline scanners: lists older than this give amber verdicts, never plain green.
        "SCANNER_LIST_MAX_AGE_HOURS": int(env.get("SCANNER_LIST_MAX_AGE_HOURS", "24")),
        # A pass read again at the same checkpoint this soon after an allowed scan is a
        # repeat of it (a camera reading twice, "next" tapped with the code in view).
        "REPEAT_SCAN_SECONDS": int(env.get("REPEAT_SCAN_SECONDS", "120")),
        # An offline scan uploaded with a device time older than this is backdated: kept,
        # flagged, and an allow becomes a conflict for a supervisor.
        "OFFLINE_SCAN_MAX_AGE_HOURS": int(env.get("OFFLINE_SCAN_MAX_AGE_HOURS", "24")),
        # A phone's sign-in stays this long across browser restarts (a shift), revocable.
        "DEVICE_SESSION_HOURS": int(env.get("DEVICE_SESSION_HOURS", "16")),
        # Alert SMS to one subscriber within ALERT_WINDOW_MINUTES (the in-app notices go on).
        "ALERT_SMS_PER_WINDOW": int(env.get("ALERT_SMS_PER_WINDOW", "5")),
        # Live passes an offline scanner keeps for manual entry (about 200 bytes of JSON each:
        # 20,000 is 3.9 MiB, 0.45 MiB gzipped by the proxy).
        "SCANNER_PASS_LIST_CAP": int(env.get("SCANNER_PASS_LIST_CAP", "20000")),
        "STATUS_PAGE_PER_MINUTE": int(env.get("STATUS_PAGE_PER_MINUTE", "60")),
        # The audit log's sequencer: "off" when `flask audit sequencer` runs beside the app.
        # An entry is in a signed checkpoint within about this many seconds.
        "AUDIT_SEQUENCER": audit_sequencer,
        "AUDIT_INTERVAL_SECONDS": float(env.get("AUDIT_INTERVAL_SECONDS", "1")),
        "AUDIT_WITNESS_FILE": env.get("AUDIT_WITNESS_FILE"),
        # Alerts on denied scans: this many codes that name no trusted pass at one
        # checkpoint, or this many denials of one pass, within the window.
        "ALERT_WINDOW_MINUTES": int(env.get("ALERT_WINDOW_MINUTES", "10")),
        # The map's tiles, `https://host/{z}/{x}/{y}.png` (an intranet's tile server); unset:
        # the map is a schematic of the checkpoints alone.
        "MAP_TILE_URL": env.get("MAP_TILE_URL") or None,
        # Reviewers are told when an application has waited this long (0: never).
        "REVIEW_WAIT_ALERT_MINUTES": int(env.get("REVIEW_WAIT_ALERT_MINUTES", "60")),
        "ALERT_FORGED_PER_CHECKPOINT": int(env.get("ALERT_FORGED_PER_CHECKPOINT", "5")),
        "ALERT_DENIALS_PER_PASS": int(env.get("ALERT_DENIALS_PER_PASS", "3")),
        "LOOP_MAX_STAY_HOURS": int(env.get("LOOP_MAX_STAY_HOURS", "24")),
        "LOOP_ARRIVAL_HOURS": int(env.get("LOOP_ARRIVAL_HOURS", "6")),
        # scrypt by default; tests lower the cost so thousands of logins stay fast.
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": timezone,
    }
