"""ひきこもりサポーター: training, register and dispatch of hikikomori supporters."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import Config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class: type[Config] = Config) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_class())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from supporters import web
    from supporters.core.time import TOKYO
    from supporters.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        timezone_selector=lambda: TOKYO.key,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from supporters.db import configure_sqlite

            configure_sqlite(db.engine)

    _import_models()
    _import_jobs()
    web.init_web(app)
    _register_blueprints(app)

    from supporters.cli import register_cli

    register_cli(app)
    return app


def _import_models() -> None:
    """Every model module, so that metadata (and so migrations) see every table."""
    from supporters.accounts import models as _accounts  # noqa: F401
    from supporters.audit import models as _audit  # noqa: F401
    from supporters.certificates import models as _certificates  # noqa: F401
    from supporters.dispatch import models as _dispatch  # noqa: F401
    from supporters.mail import links as _links  # noqa: F401
    from supporters.mail import models as _mail  # noqa: F401
    from supporters.people import models as _people  # noqa: F401
    from supporters.programs import models as _programs  # noqa: F401
    from supporters.registry import models as _registry  # noqa: F401
    from supporters.reminders import models as _reminders  # noqa: F401
    from supporters.submissions import FormSubmission as _submissions  # noqa: F401
    from supporters.training import models as _training  # noqa: F401


def _import_jobs() -> None:
    """Every feature's jobs module, so that its reminder rules are registered (reminders.jobs)."""
    from supporters.dispatch import jobs as _dispatch  # noqa: F401
    from supporters.registry import jobs as _registry  # noqa: F401
    from supporters.training import jobs as _training  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from supporters.accounts.views import admin_bp
    from supporters.accounts.views import bp as accounts_bp
    from supporters.administration.views import bp as administration_bp
    from supporters.answers.views import bp as answers_bp
    from supporters.certificates.views import bp as certificates_bp
    from supporters.certificates.views import verify_bp
    from supporters.dispatch.views import bp as dispatch_bp
    from supporters.main.audit_log import bp as audit_bp
    from supporters.main.views import bp as main_bp
    from supporters.programs.views import bp as programs_bp
    from supporters.registry.views import bp as registry_bp
    from supporters.reminders.views import bp as reminders_bp
    from supporters.reminders.views import notifications_bp
    from supporters.reports.views import bp as reports_bp
    from supporters.training.views import bp as training_bp

    for blueprint in (
        main_bp,
        accounts_bp,
        admin_bp,
        programs_bp,
        administration_bp,
        training_bp,
        registry_bp,
        dispatch_bp,
        audit_bp,
        reminders_bp,
        notifications_bp,
        certificates_bp,
        verify_bp,
        reports_bp,
        answers_bp,
    ):
        app.register_blueprint(blueprint)
