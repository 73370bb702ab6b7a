"""The one word for "not there at all", in each of the two vocabularies the parts keep.

The cluster's statuses follow RDS (lower case: available, stopped, ...) and the slot's states
follow them; the connector's states follow Kafka Connect and the statements' phases Flink (upper
case: RUNNING, FAILED, ...). Each part keeps its source's case, so the UI shows what an operator
reads in the RDS console or Connect's REST API; "absent" is spelled here once for each.
"""

ABSENT = "absent"  # a cluster status, a slot state
ABSENT_PHASE = "ABSENT"  # a connector state, a statement phase
