"""Settings of nova-worker (environment variables prefixed ``NOVA_WORKER_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from celery.schedules import crontab
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from nova_kit.events import EVENTS_QUEUE, VISIBILITY_TIMEOUT_SECONDS
from nova_kit.settings import ServiceSettings

DEV_SERVICE_CLIENT_SECRET = "nova-dev-worker-secret"  # noqa: S105 - accepted in dev/test only


def parse_crontab(expression: str) -> crontab:
    """A Celery ``crontab`` from a five-field cron expression (``"30 3 * * *"``)."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected five cron fields (minute hour day month weekday): {expression!r}"
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


class WorkerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOVA_WORKER_", extra="ignore")

    service_name: str = "worker"
    port: int = Field(default=9808, ge=1, le=65535)
    database_schema: str = "worker"
    jwks_url: str | None = "http://127.0.0.1:8001/.well-known/jwks.json"
    db_pool_size: int = Field(default=2, ge=1, le=50)
    db_max_overflow: int = Field(default=2, ge=0, le=50)

    # the services the worker calls
    auth_url: str = "http://127.0.0.1:8001"
    users_url: str = "http://127.0.0.1:8002"
    service_client_id: str = "worker"
    service_client_secret: SecretStr = SecretStr(DEV_SERVICE_CLIENT_SECRET)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    service_token_refresh_margin_seconds: float = Field(default=60.0, ge=0)

    # e-mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # One connection per process carries many messages; replaced after this many, or when idle
    # this long (servers close idle connections: Postfix after 300 s, many services sooner).
    smtp_max_messages_per_connection: int = Field(default=100, ge=1, le=100_000)
    smtp_idle_seconds: float = Field(default=30.0, ge=0, le=3600)
    mail_from: str = "Nova <no-reply@nova.localhost>"
    product_name: str = "Nova"
    public_url: str = Field(default="http://localhost:3000", pattern=r"^https?://[^\s]+$")
    """The frontend's public base URL, which the links in e-mails point to (verify-email,
    reset-password pages)."""

    # scheduled work
    inactive_days: int = Field(default=90, ge=1)
    deactivate_schedule: str = "30 3 * * *"
    beat_schedule_file: Path = Path("/tmp/nova-worker/celerybeat-schedule")  # noqa: S108
    beat_heartbeat_file: Path = Path("/tmp/nova-worker/beat-heartbeat")  # noqa: S108
    beat_max_loop_seconds: float = Field(default=30.0, gt=0, le=300)
    beat_heartbeat_max_age_seconds: float = Field(default=120.0, gt=0)

    # the Celery worker
    queues: list[str] = Field(default_factory=lambda: [EVENTS_QUEUE, "default"])
    default_queue: str = "default"
    concurrency: int = Field(default=2, ge=1, le=64)
    pool: Literal["threads", "prefork", "solo"] = "threads"
    """``threads``: tasks run in threads of one process and share its event loop (ADR 0033);
    ``prefork``: one child process per slot; ``solo``: in the consumer itself (debugging)."""
    max_tasks_per_child: int = Field(default=1000, ge=1)
    """Prefork only: a child is replaced after this many tasks."""
    # Messages reserved per pool process. Reserved messages are unacknowledged in Redis like
    # running ones (recovered if the worker is killed, requeued on a warm shutdown); more than
    # one saves the broker round trip between a task and the next.
    prefetch_multiplier: int = Field(default=4, ge=1, le=64)
    task_soft_time_limit_seconds: int = Field(default=60, ge=1)
    task_time_limit_seconds: int = Field(default=90, ge=2)
    deactivate_time_limit_seconds: int = Field(default=600, ge=2)
    max_retries: int = Field(default=10, ge=0, le=100)
    retry_backoff_max_seconds: int = Field(default=600, ge=1)
    result_backend: SecretStr | None = None
    """Celery result backend URL; unset, results are not stored (outcomes live in job_runs)."""
    result_expires_seconds: int = Field(default=86_400, ge=60)
    in_progress_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    """How long a duplicate waits before looking again at a key another process is running."""
    task_modules: list[str] = Field(default_factory=list)
    """Extra modules whose ``register_tasks(app, settings)`` adds tasks of your own."""

    # operations
    heartbeat_file: Path = Path("/tmp/nova-worker/worker-heartbeat")  # noqa: S108
    heartbeat_interval_seconds: float = Field(default=5.0, gt=0, le=60)
    heartbeat_max_age_seconds: float = Field(default=60.0, gt=0)
    startup_grace_seconds: float = Field(default=120.0, ge=0)
    metrics_port: int = Field(default=9808, ge=0, le=65535)
    metrics_host: str | None = None
    """Bind address of the :9808 endpoint; unset, the service's ``NOVA_WORKER_HOST``."""
    metrics_dir: Path | None = None
    recovery_interval_seconds: float = Field(default=10.0, gt=0)
    recovery_grace_seconds: float = Field(default=10.0, ge=0)
    incarnation_ttl_seconds: int = Field(default=20, ge=3)

    flower_port: int = Field(default=5555, ge=1, le=65535)
    flower_address: str = "127.0.0.1"

    @field_validator("deactivate_schedule")
    @classmethod
    def _valid_crontab(cls, value: str) -> str:
        parse_crontab(value)
        return value

    @model_validator(mode="after")
    def _limits_fit_visibility(self) -> WorkerSettings:
        if self.task_soft_time_limit_seconds >= self.task_time_limit_seconds:
            raise ValueError(
                "NOVA_WORKER_TASK_SOFT_TIME_LIMIT_SECONDS must be below "
                "NOVA_WORKER_TASK_TIME_LIMIT_SECONDS"
            )
        longest = max(self.task_time_limit_seconds, self.deactivate_time_limit_seconds)
        if longest >= VISIBILITY_TIMEOUT_SECONDS:
            raise ValueError(
                f"task time limits must stay below the broker visibility timeout "
                f"({VISIBILITY_TIMEOUT_SECONDS}s), or Redis redelivers running tasks"
            )
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("NOVA_WORKER_SMTP_TLS and NOVA_WORKER_SMTP_STARTTLS are exclusive")
        return self

    @property
    def deactivate_crontab(self) -> crontab:
        return parse_crontab(self.deactivate_schedule)

    def require_redis_url(self) -> str:
        if self.redis_url is None:
            raise ValueError(f"{self.env_name('redis_url')} is not set")
        return self.redis_url.get_secret_value()

    def check_production(self) -> list[str]:
        problems = super().check_production()
        problems += self.require_secret("service_client_secret", self.service_client_secret)
        if self.service_client_secret.get_secret_value() == DEV_SERVICE_CLIENT_SECRET:
            problems.append(
                f"{self.env_name('service_client_secret')}: the development secret is not "
                "allowed outside dev/test"
            )
        if self.redis_url is None:
            problems.append(f"{self.env_name('redis_url')}: must be set (the Celery broker)")
        if self.database_url is None:
            problems.append(f"{self.env_name('database_url')}: must be set (job records)")
        if self.smtp_username and self.smtp_password is None:
            problems.append(f"{self.env_name('smtp_password')}: must be set with a username")
        return problems
