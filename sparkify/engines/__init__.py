"""One small class per warehouse engine; each dialect difference lives in one of them.

- ``base.Engine``: the shared behaviour and the default SQL fragments.
- ``duckdb.DuckDBEngine``: embedded, the default; staging with DuckDB's JSON reader.
- ``postgres.PostgresEngine``: psycopg2; staging parsed locally, sent with COPY FROM STDIN.
- ``redshift.RedshiftEngine``: psycopg2 over SSL; staging with COPY from S3;
  DISTSTYLE / DISTKEY / SORTKEY.
- ``data_api.DataApiConnection``: not an engine but a transport: with
  [DWH] CONNECTION = data-api the Redshift engine's statements go through the
  Redshift Data API instead of psycopg2.
"""

from __future__ import annotations

from sparkify.config import Config
from sparkify.engines.base import Engine


def connect(config: Config, read_only: bool = False) -> Engine:
    """Open the engine the config names. Raises a one-line SparkifyError when it cannot.

    read_only (the notebook, the dashboard): a DuckDB file is opened read-only
    and must exist; a server session refuses writes.
    """
    if config.engine == "duckdb":
        from sparkify.engines.duckdb import DuckDBEngine

        return DuckDBEngine.open(config, read_only=read_only)
    if config.engine == "postgres":
        from sparkify.engines.postgres import PostgresEngine

        return PostgresEngine.open(config, read_only=read_only)
    from sparkify.engines.redshift import RedshiftEngine

    return RedshiftEngine.open(config, read_only=read_only)


__all__ = ["Engine", "connect"]
