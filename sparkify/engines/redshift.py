"""Amazon Redshift: psycopg2 over SSL, staging with COPY from S3, distribution and sort keys.

Only what differs from PostgreSQL is here: the connection's sslmode, the table
attributes, and the staging load (COPY ... FROM 's3://...' IAM_ROLE ..., with
rejected rows read back from stl_load_errors into load_errors).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import sql_queries as sql
from sparkify.engines.postgres import PostgresEngine
from sparkify.errors import InputError, WarehouseError
from sparkify.staging import SAMPLE_ERRORS, StagingResult

log = logging.getLogger(__name__)

_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

# stl_load_errors rows of this session newer than a marker taken before a COPY:
# exactly that COPY's rejected rows, whether it succeeded or failed
# (pg_last_copy_id() is not updated by a COPY that fails before loading).
LOAD_ERRORS_MARKER = "SELECT COALESCE(MAX(query), 0) FROM stl_load_errors WHERE session = pg_backend_pid()"
LOAD_ERRORS_SINCE = """
SELECT TRIM(filename), line_number, TRIM(colname), TRIM(err_reason), TRIM(raw_line)
FROM stl_load_errors
WHERE session = pg_backend_pid()
  AND query > %s
ORDER BY filename, line_number
"""
_INSERT_BATCH = 500


def quote_literal(value: str) -> str:
    """A SQL string literal: the one way a value is put into a COPY statement."""
    if "\\" in value or "\n" in value:
        raise WarehouseError(f"{value!r} cannot go into a COPY statement (backslash or newline)")
    return "'" + value.replace("'", "''") + "'"


def copy_statement(
    table: str,
    source: str,
    *,
    iam_role: str,
    region: str,
    json_format: str,
    max_errors: int,
    columns: tuple[str, ...] | None = None,
) -> str:
    """The COPY for one staging table, in one place (like Airflow's S3ToRedshiftOperator).

    Authorises with the cluster's IAM role, never access keys, so the statement
    carries no secret; it is still not logged (log copy_description instead).
    ``json_format`` is a jsonpaths file's s3:// URI or 'auto ignorecase'.
    """
    if not source.startswith("s3://"):
        raise WarehouseError(f"COPY {table}: {source} is not an s3:// URI")
    if not _IAM_ROLE_ARN.match(iam_role):
        raise WarehouseError(f"[IAM_ROLE] ARN {iam_role!r} is not an IAM role ARN - run setup_cluster.py or fix it")
    if not _REGION.match(region):
        raise WarehouseError(f"[S3] REGION {region!r} is not an AWS region like us-west-2")
    column_list = f" ({', '.join(columns)})" if columns else ""
    return "\n".join(
        [
            f"COPY {table}{column_list}",
            f"FROM {quote_literal(source)}",
            f"IAM_ROLE {quote_literal(iam_role)}",
            f"REGION {quote_literal(region)}",
            f"FORMAT AS JSON {quote_literal(json_format)}",
            "TIMEFORMAT 'epochmillisecs'",
            "BLANKSASNULL EMPTYASNULL",
            "COMPUPDATE OFF STATUPDATE OFF",
            f"MAXERROR {int(max_errors)}",
        ]
    )


class RedshiftEngine(PostgresEngine):
    name = "redshift"
    sslmode = "require"

    def table_attributes(self, table: str) -> str:
        return sql.REDSHIFT_ATTRIBUTES[table]

    def copies(self, max_errors: int) -> list[tuple[str, str, str]]:
        """(table, source, statement) for each staging table."""
        inputs = self.config.inputs
        common = dict(iam_role=self.config.iam_role_arn, region=inputs.region, max_errors=max_errors)
        return [
            (
                "staging_events",
                inputs.log_data,
                copy_statement(
                    "staging_events", inputs.log_data, json_format=inputs.log_jsonpath,
                    columns=sql.STAGING_EVENTS_COLUMNS, **common,
                ),
            ),
            (
                "staging_songs",
                inputs.song_data,
                copy_statement("staging_songs", inputs.song_data, json_format="auto ignorecase", **common),
            ),
        ]

    def load_staging(self, workdir: Path, max_errors: int) -> StagingResult:
        """COPY both staging tables from S3 in one transaction; rejected rows go to load_errors."""
        result = StagingResult()
        errors: list[tuple] = []
        failure: tuple[str, str, WarehouseError, int] | None = None
        self.execute("BEGIN")
        try:
            for table in sql.STAGING_TABLES + ("load_errors",):
                self.execute(f"DELETE FROM {table}")
            for table, source, statement in self.copies(max_errors):
                log.info("  COPY %s from %s ...", table, source)
                marker = self.query(LOAD_ERRORS_MARKER)[0][0]
                try:
                    self.execute(statement)
                except WarehouseError as exc:
                    failure = (table, source, exc, marker)
                    break
                errors.extend((table, *row) for row in self.query(LOAD_ERRORS_SINCE, [marker]))
            if failure is None:
                self._insert_load_errors(errors)
                # COPY cannot apply the input rules: move the rows that break them now
                for statement in sql.reject_staged_rows():
                    self.execute(statement)
                self.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        if failure is not None:
            # The failed COPY aborted the transaction: staging is as it was.
            # Its rejected rows are read now and kept in load_errors.
            self.rollback()
            table, source, exc, marker = failure
            rows = [(table, *row) for row in self.query(LOAD_ERRORS_SINCE, [marker])]
            with self.transaction():
                self.execute("DELETE FROM load_errors")
                self._insert_load_errors(rows)
            if not rows:
                raise WarehouseError(
                    f"COPY {table} from {source} failed: {exc} - check that the IAM role can read it "
                    f"and that [S3] REGION is the bucket's region"
                ) from None
            first = "; ".join(f"{file}:{line} {column}: {reason}" for _, file, line, column, reason, _ in rows[:SAMPLE_ERRORS])
            raise InputError(
                f"COPY {table} from {source} rejected {len(rows):,} records (MAX_ERRORS is "
                f"{max_errors}): {first} - details in table load_errors; the star schema was not changed"
            )
        result.rows = {table: self.count(table) for table in sql.STAGING_TABLES}
        result.rejected = self.count("load_errors")
        result.first_errors = self.query(
            "SELECT table_name, source_file, line_number, reason FROM load_errors "
            f"ORDER BY source_file, line_number LIMIT {SAMPLE_ERRORS}"
        )
        return result

    def _insert_load_errors(self, rows: list[tuple]) -> None:
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = rows[start : start + _INSERT_BATCH]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
            self.execute(
                "INSERT INTO load_errors (table_name, source_file, line_number, column_name, reason, raw_line) "
                f"VALUES {placeholders}",
                [value for row in batch for value in row],
            )
