"""Application factory and `flask --app app` entry point: wiring only.

Over 300 lines on purpose: the factory's table of contents and each register_* step it
names."""

from __future__ import annotations

import logging
import mimetypes
import os
import traceback
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import Babel, format_datetime, gettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from accounts.services import TokenCache
from core import config as settings
from core import i18n, inputs, logs, web, words
from core.db import make_engine, make_session_factory
from core.errors import DomainError, Throttled, ValidationFailed
from core.privacy import mask_target
from federation.peer_keys import peer_keys, peer_trust_list
from federation.views import journey_steps
from supervision.dashboard import WindowCache
from trust.audit_checkpoints import AuditLog
from trust.context import sequencer as audit_sequencer
from trust.keys import TrustCache

log = logging.getLogger(__name__)


mimetypes.add_type("application/wasm", ".wasm")  # the scanner's decoder streams it


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    overrides = dict(config or {})
    instance = overrides.pop("INSTANCE_PATH", None) or os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance)
    app.url_map.converters["int"] = inputs.IdConverter
    app.config.update(settings.load(Path(app.instance_path)))
    app.config.update(overrides)
    if not app.config.get("TESTING") or "LOG_FORMAT" in overrides:
        logs.configure(app.config["LOG_FORMAT"])
    app.before_request(web.begin_request)
    register_extensions(app)
    register_receivers(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security_headers(app)
    register_inline_sms(app)
    if app.config["AUDIT_SEQUENCER"] == "thread":
        from trust.context import start_sequencer_with_requests

        start_sequencer_with_requests(app)
    app.before_request(refuse_control_in_queries_and_forms)
    if app.config.get("SCAN_FAST_PATH", True):
        from checkpoints.scan_views import ScanFastPath

        app.wsgi_app = ScanFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PROXY_HOPS"]:
        # Behind nginx: the client's address and scheme from exactly that many proxies.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)  # type: ignore[method-assign]
    logs.install()  # the development server's request log masks tokens and queries
    return app


def refuse_control_in_queries_and_forms() -> None:
    """JSON bodies are checked in `inputs.validate`; query strings and forms here."""
    inputs.reject_control(request.args.to_dict(flat=False))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        inputs.reject_control(request.form.to_dict(flat=False))


def register_extensions(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["engine"] = engine
    app.extensions["sessions"] = make_session_factory(engine)
    app.extensions["read_sessions"] = make_session_factory(engine, read_only=True)
    app.extensions["audit_log"] = AuditLog.from_config(Path(app.instance_path), app.config)
    # The audit sequencer as the command line needs one (a restore's check of its history).
    app.extensions["audit_sequencer"] = lambda: audit_sequencer(app)
    app.extensions["token_cache"] = TokenCache(app.config["API_TOKEN_CACHE_SECONDS"])
    app.extensions["dashboard_windows"] = WindowCache()  # counts of hours and days now over
    # The keys codes are checked with: ours (for our area code) and each peer's.
    app.extensions["trust_cache"] = TrustCache(
        here=app.config["AREA_CODE"], here_name=app.config["JURISDICTION_NAME"], peers=peer_keys
    )
    app.extensions["peer_trust_list"] = peer_trust_list  # and for the offline scanner
    app.extensions["ask_issuer"] = _ask_issuer  # a peer's number typed at our gate
    app.teardown_appcontext(web.close_db)
    app.teardown_request(web.end_request)

    app.extensions["csrf"] = csrf = CSRFProtect(app)
    # A short moment reads the same in both languages, day first to last and on a 24-hour
    # clock ("2026-12-02 03:05"): English's own short form ("12/2/26, 3:05 AM") is a puzzle.
    dates = {**Babel.default_date_formats, "datetime.short": "yyyy-MM-dd HH:mm"}
    Babel(app, locale_selector=i18n.select_locale, date_formats=dates)

    login = LoginManager(app)
    login.login_view = "accounts.login"
    login.login_message = ""  # the login page explains itself; no extra flash
    login.session_protection = "basic"

    @login.user_loader
    def load_user(user_key: str) -> Any:
        from accounts.models import User

        user_id, _, version = user_key.partition(":")
        if not user_id.isdigit():
            return None
        user = web.db().get(User, int(user_id))
        if user is None or not user.active or str(user.session_version) != version:
            return None
        return user

    from api.core import bp as api_bp

    csrf.exempt(api_bp)  # bearer calls need no CSRF; session calls are checked in api_user


@pass_context
def _word_filter(_context: Any, code: str | None, kind: str) -> str:
    """`word` for templates. Taking the context keeps Jinja from folding it over a literal
    code when the template compiles, which would fix the first request's language."""
    return words.word(kind, code)


@pass_context
def _label_filter(_context: Any, code: str | None, kind: str) -> str:
    return words.label(kind, code)


def _ask_issuer(number: str, plate: str) -> str | None:
    from federation import context as federation_context
    from federation import lookup

    return lookup.ask(
        web.db(),
        number,
        plate,
        here=federation_context.here(),
        key=federation_context.key(),
        now=web.now(),
    )


def register_receivers(app: Flask) -> None:
    """Who hears what another package announces (each package's events.py states its
    signals' contracts): connected here, not as a side effect of an import. A receiver's
    settings are passed in; a second app in the process replaces the first's."""
    from checkpoints.services import connect_receivers as loop_hears
    from federation.outbox import connect_receivers as federation_hears
    from passes.services import connect_receivers as passes_hear
    from supervision.alerts import DenialLimits
    from supervision.alerts import connect_receivers as oversight_hears
    from supervision.applicants import connect_receivers as applicants_hear
    from supervision.consignees import Telling
    from supervision.consignees import connect_receivers as consignees_hear

    loop_hears()
    passes_hear()
    federation_hears()
    oversight_hears(DenialLimits.from_settings(app.config))
    applicants_hear()
    consignees_hear(Telling(locale=app.config["SMS_LOCALE"], tz=app.config["TIMEZONE"]))


def register_blueprints(app: Flask) -> None:
    # Importing an `api` module registers its JSON endpoints on the one API blueprint.
    import accounts.admin
    import accounts.api  # noqa: F401
    import accounts.key_views
    import accounts.views
    import api.openapi  # noqa: F401 - GET /api/v1/openapi.json
    import checkpoints.api  # noqa: F401
    import checkpoints.booking_views
    import checkpoints.consignee_views
    import checkpoints.views
    import federation.api  # noqa: F401
    import federation.views
    import fleet.api  # noqa: F401
    import fleet.crew_views
    import fleet.import_views
    import fleet.views
    import operations.views
    import passes.api  # noqa: F401
    import passes.key_views
    import passes.message_views  # noqa: F401 - a pass's SMS
    import passes.public
    import passes.views
    import sms.views
    import supervision.alert_views
    import supervision.audit_views
    import supervision.map_views
    import supervision.views
    import trust.api  # noqa: F401
    from api.core import bp as api_bp
    from core.privacy import mask_mobile
    from passes.domain import shown_status
    from supervision.alerts import unread_count

    app.register_blueprint(accounts.views.bp)
    app.register_blueprint(accounts.admin.bp)
    app.register_blueprint(fleet.views.bp)
    app.register_blueprint(fleet.import_views.bp)
    app.register_blueprint(fleet.crew_views.bp)
    app.register_blueprint(passes.views.bp)
    app.register_blueprint(passes.public.bp)
    app.register_blueprint(passes.key_views.bp)
    app.register_blueprint(federation.views.bp)
    app.register_blueprint(sms.views.bp)
    app.register_blueprint(checkpoints.views.bp)
    app.register_blueprint(accounts.key_views.bp)
    app.register_blueprint(checkpoints.consignee_views.bp)
    app.register_blueprint(checkpoints.booking_views.bp)
    app.register_blueprint(supervision.views.bp)
    app.register_blueprint(supervision.alert_views.bp)
    app.register_blueprint(supervision.audit_views.bp)
    app.register_blueprint(supervision.map_views.bp)
    app.register_blueprint(operations.views.bp)
    app.register_blueprint(api_bp)
    app.extensions["csrf"].exempt(sms.views.sms_status)  # signed by Twilio instead
    app.extensions["csrf"].exempt(sms.views.aliyun_report)  # its token in the address instead
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.globals["journey_steps"] = journey_steps  # the pass page's journey
    # Long names cut with an ellipsis where a list is narrow; the whole name on hover.
    app.jinja_env.filters["clip"] = lambda text: Markup(
        '<span class="clip" title="{0}">{0}</span>'
    ).format(text)
    app.jinja_env.filters["word"] = _word_filter
    app.jinja_env.filters["label"] = _label_filter
    app.jinja_env.filters["pass_state"] = lambda p: shown_status(
        p.status, p.trips_used, p.max_trips, p.valid_until, web.now()
    )
    # Moments that reach a template as ISO text (JSON-shaped figures) shown like the rest.
    app.jinja_env.filters["isotime"] = lambda text, fmt="short": format_datetime(
        datetime.fromisoformat(text), fmt
    )

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        context = {"locales": i18n.LOCALES, "current_locale": i18n.select_locale()}
        if current_user.is_authenticated and (
            current_user.is_oversight or current_user.role == "enterprise"
        ):
            context["unread_notifications"] = unread_count(web.db(), current_user)
        return context


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/sms/status"


def _page(status: int, title: str, detail: str | None = None) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def register_errorhandlers(app: Flask) -> None:
    from api.core import MalformedJson, Unauthorized, problem

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        errors = exc.errors if isinstance(exc, ValidationFailed) else None
        detail = gettext(exc.detail, **exc.params) if exc.detail else None
        if _wants_json():
            response = problem(exc.status, gettext(exc.title), detail, errors, exc.code)
        else:
            messages = [gettext(m) for msgs in (errors or {}).values() for m in msgs]
            detail = "; ".join(filter(None, [detail, *messages])) or None
            response = app.make_response(_page(exc.status, gettext(exc.title), detail))
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(Unauthorized)
    def unauthorized(_exc: Unauthorized) -> Any:
        response = problem(401, gettext("Sign in first"), gettext("Send a valid bearer token."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @app.errorhandler(MalformedJson)
    def malformed(exc: MalformedJson) -> Any:
        if exc.too_deep:
            detail = gettext("The body nests arrays or objects too deeply.")
        else:
            detail = gettext("The body is not valid JSON.")
        return problem(400, gettext("Malformed JSON"), detail)

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> Any:
        title = gettext("The form has expired")
        detail = gettext("Reload the page and submit the form again.")
        return problem(400, title, detail) if _wants_json() else _page(400, title, detail)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        titles = {
            403: gettext("You do not have access to this page"),
            404: gettext("Page not found"),
            405: gettext("Method not allowed"),
            413: gettext("The upload is too large"),
            415: gettext("Send the body as application/json"),
            429: gettext("Too many requests; please wait a moment"),
        }
        title = titles.get(status, gettext("Something went wrong"))
        if _wants_json():
            response = problem(status, title)
            if exc.response is None and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return _page(status, title)

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        # Type and stack only: exception messages (SQL parameters) may carry personal data.
        log.error(
            "unhandled %s at %s %s\n%s",
            type(exc).__name__,
            request.method,
            mask_target(request.path),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return http_error(InternalServerError())


def register_commands(app: Flask) -> None:
    import commands
    import demo
    from accounts.cli import users
    from checkpoints.cli import loop
    from federation.cli import federation_cli
    from operations.cli import backup_cli, retention_cli
    from passes.cli import keys_cli
    from sms.cli import sms
    from supervision.cli import alerts_cli, statistics_cli

    app.cli.add_command(loop)
    app.cli.add_command(backup_cli)
    app.cli.add_command(federation_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(statistics_cli)
    app.cli.add_command(sms)
    app.cli.add_command(keys_cli)
    app.cli.add_command(commands.db_cli)
    app.cli.add_command(commands.audit_cli)
    app.cli.add_command(users)
    app.cli.add_command(demo.demo)


def register_inline_sms(app: Flask) -> None:
    """With the console backend, deliver right after each write: the demo needs no worker."""
    if app.config["SMS_BACKEND"] != "console" or not app.config.get("SMS_DELIVER_INLINE", True):
        return
    from sms import context, outbox

    @app.teardown_request
    def deliver_console_sms(_exc: BaseException | None) -> None:
        session = g.get("db_session")
        if session is None or not session.info.get("sms_queued"):
            return
        web.close_db()  # release the request's SQLite write lock first
        with app.extensions["sessions"]() as worker:
            outbox.work_once(worker, context.sms_backend(), "inline", now=web.now, limit=50)


def register_security_headers(app: Flask) -> None:
    production = app.config["APP_ENV"] == "production"

    app.after_request(web.finish_request)
    fixed = web.security_headers(production)

    @app.after_request
    def headers(response: Any) -> Any:
        for name, value in fixed:
            if name == "Content-Security-Policy":
                response.headers.setdefault(name, value)  # the scanner page sets its own
            else:
                response.headers[name] = value
        return response
