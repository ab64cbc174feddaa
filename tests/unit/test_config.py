"""Settings from the environment: defaults, the generated secret, fail-fast production."""

import pytest

from core import config
from core.config import ConfigError


def test_defaults_use_sqlite_in_the_instance_folder(tmp_path):
    cfg = config.load(tmp_path, {})
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'trafficpass.db'}"
    assert cfg["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert cfg["SMS_BACKEND"] == "console"
    assert cfg["AREA_CODE"] == "330482"
    assert cfg["TIMEZONE"] == "Asia/Shanghai"
    assert cfg["BABEL_DEFAULT_LOCALE"] == "zh_CN"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = config.load(tmp_path, {})["SECRET_KEY"]
    second = config.load(tmp_path, {})["SECRET_KEY"]
    assert first == second
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


STRONG = "3f9c2a7b1e8d4c6a9b0f2e7d5c1a8b4e6f3d2c9a7b5e1f0d"


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("SECRET_KEY", "CHANGE-ME-openssl-rand-hex-32", "placeholder"),  # deploy/env.example's
        ("SECRET_KEY", "short-but-random-7f3a", "shorter than 32"),
        ("SECRET_KEY", "ab" * 20, "too few distinct"),
        ("SECRET_KEY", "12345678901234567890123456789012", "too few distinct"),
        ("METRICS_TOKEN", "CHANGE-ME-openssl-rand-hex-32", "placeholder"),
        ("BACKUP_PASSPHRASE", "CHANGE-ME-a-long-passphrase", "placeholder"),
        ("BACKUP_PASSPHRASE", "correct horse battery", "shorter than 32"),
    ],
)
def test_production_refuses_a_weak_or_placeholder_secret(tmp_path, name, value, why):
    env = {"APP_ENV": "production", "SECRET_KEY": STRONG, name: value}
    with pytest.raises(ConfigError, match=f"{name} .*{why}.*openssl rand"):
        config.load(tmp_path, env)
    assert config.load(tmp_path, {**env, name: STRONG})  # a random one starts


def test_production_without_secret_key_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        config.load(tmp_path, {"APP_ENV": "production"})
    assert not (tmp_path / "secret_key").exists()


def test_production_cookies_are_secure(tmp_path):
    cfg = config.load(tmp_path, {"APP_ENV": "production", "SECRET_KEY": STRONG})
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AREA_CODE": "33048"}, "AREA_CODE"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
    ],
)
def test_bad_settings_fail_fast_naming_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        config.load(tmp_path, env)


def test_public_base_url_loses_its_trailing_slash(tmp_path):
    cfg = config.load(tmp_path, {"PUBLIC_BASE_URL": "https://pass.example.cn/"})
    assert cfg["PUBLIC_BASE_URL"] == "https://pass.example.cn"


def test_a_process_refuses_past_the_limit_without_asking_the_database():
    from datetime import UTC, datetime, timedelta

    from core.ratelimit import LocalCount

    local, at = LocalCount(), datetime(2026, 11, 24, 8, 0, 5, tzinfo=UTC)
    assert [local.over("status:10.0.0.1", 3, at) for _ in range(5)] == [False] * 3 + [True] * 2
    assert local.over("status:10.0.0.2", 3, at) is False
    assert local.over("status:10.0.0.1", 3, at + timedelta(minutes=1)) is False  # a new window
