"""Producer API for Aurora DSQL: IAM token auth; DSQL has no stop/start, so no auto-start.

Lambda handler: lambdas.producer_api_dsql.handler.handler
"""

from cdc_ops.producer.connections import dsql_database
from lambdas.producer_api.app import ProducerApi, make_service, settings_factory


def create_api() -> ProducerApi:
    """One per Lambda container; `cdc-ops api serve` makes several to act as concurrent ones."""
    return ProducerApi(
        "producer-api-dsql",
        lambda: make_service(settings_factory(), dsql_database, auto_start=False),
    )


api = create_api()
handler = api.handler
