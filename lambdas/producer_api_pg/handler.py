"""Producer API for Aurora PostgreSQL: through RDS Proxy (PgBouncer locally), with auto-start.

Lambda handler: lambdas.producer_api_pg.handler.handler
"""

from cdc_ops.producer.connections import postgres_database
from lambdas.producer_api.app import ProducerApi, make_service, settings_factory


def create_api() -> ProducerApi:
    """One per Lambda container; `cdc-ops api serve` makes several to act as concurrent ones."""
    return ProducerApi(
        "producer-api-pg",
        lambda: make_service(settings_factory(), postgres_database, auto_start=True),
    )


api = create_api()
handler = api.handler
