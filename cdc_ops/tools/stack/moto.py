"""moto in server mode: the AWS APIs (RDS, CloudWatch, SNS, Secrets Manager, DSQL) on loopback.

`up` seeds an aurora-postgresql cluster with the configured identifier, so the control plane's
AWS code paths run against it unchanged.
"""

from __future__ import annotations

import sys

import httpx

from cdc_ops.clients.aws import client
from cdc_ops.tools.stack.component import Component

ENGINE = "aurora-postgresql"
ENGINE_VERSION = "15.4"


class MotoComponent(Component):
    name = "moto"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://{self.address}/moto-api/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def after_ready(self) -> None:
        names, db = self.settings.names, self.settings.database
        rds = client("rds", self.settings)
        found = rds.describe_db_clusters(
            Filters=[{"Name": "db-cluster-id", "Values": [names.cluster_id]}]
        )
        if found["DBClusters"]:
            return
        tags = [
            {"Key": "project", "Value": names.project},
            {"Key": "environment", "Value": names.environment},
        ]
        rds.create_db_cluster(
            DBClusterIdentifier=names.cluster_id,
            Engine=ENGINE,
            EngineVersion=ENGINE_VERSION,
            DatabaseName=db.name,
            MasterUsername=db.user,
            MasterUserPassword=db.password.get_secret_value() if db.password else "unused-locally",
            Port=5432,
            Tags=tags,
        )
        rds.create_db_instance(
            DBInstanceIdentifier=f"{names.cluster_id}-1",
            DBClusterIdentifier=names.cluster_id,
            Engine=ENGINE,
            DBInstanceClass="db.serverless",
            Tags=tags,
        )

    def detail(self) -> str:
        cluster_id = self.settings.names.cluster_id
        found = client("rds", self.settings).describe_db_clusters(
            Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}]
        )["DBClusters"]
        if not found:
            return f"RDS cluster {cluster_id} not seeded"
        return f"RDS cluster {cluster_id}: {found[0]['Status']} ({found[0]['Engine']})"
