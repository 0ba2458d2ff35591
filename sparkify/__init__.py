"""Sparkify warehouse: raw song and event JSON into a star schema.

The flow, one module a step: config -> engines -> staging -> transforms
(SQL in sql_queries.py) -> checks -> report. aws holds the boto3 helpers
shared by setup_cluster.py and clean_redshift.py.
"""
