"""Sparkify warehouse: raw song and event JSON into a star schema.

The flow, one module a step: config -> inputs (and incremental: which files
are new) -> engines -> staging (the rules in rules, the local reader in
reader) -> transforms (SQL in sql_queries.py) -> checks -> report, driven by
pipeline for the scripts. Beside it: schema (the tables as data: the DDL,
the staging columns and the input -> staging table map are derived from it),
quoting (the one way values and names go into SQL), aws (boto3 helpers shared
by setup_cluster.py and clean_redshift.py), analytics (the analysts' queries), sample_data (the
generator), and cli, errors, progress (what every script shares).
"""
