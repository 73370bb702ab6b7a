"""The database password: configured (`database.password`), or read from the Secrets Manager
secret RDS manages for the cluster (`database.password_secret_arn`), so that a deployed Lambda
or container holds no password in its environment and follows the secret's rotation."""

from __future__ import annotations

import json
from collections.abc import Callable

from cdc_ops.settings import Settings


def secret_password(settings: Settings) -> Callable[[], str]:
    """Reads the password from the database secret: JSON with a "password" key, as RDS writes it."""
    from cdc_ops.clients.aws import client  # boto3 is imported only when the secret is read

    arn = settings.database.password_secret_arn
    secrets = client("secretsmanager", settings)

    def read() -> str:
        value = secrets.get_secret_value(SecretId=arn)["SecretString"]
        try:
            return str(json.loads(value)["password"])
        except (ValueError, KeyError, TypeError) as exc:
            # never echo the value: it is the secret
            raise ValueError(
                f"secret {arn} (database.password_secret_arn) is not JSON with a 'password' key"
            ) from exc

    return read


def password_keys(settings: Settings) -> tuple[str, ...]:
    """The setting a caller must require for the password: none when it comes from the secret."""
    return () if settings.database.password_secret_arn else ("database.password",)


def database_password(settings: Settings) -> str | None:
    """The configured password, else the secret's current one (read now), else None."""
    db = settings.database
    if db.password:
        return db.password.get_secret_value()
    if db.password_secret_arn:
        return secret_password(settings)()
    return None
