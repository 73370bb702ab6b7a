"""Pipeline health: one verdict per component (pure), and one read of the whole pipeline.

The Dagster checks, the alert sensors and `cdc-ops status` all judge a component through the
verdicts in `verdicts`, so the UI, the pages and the terminal never disagree.
"""
