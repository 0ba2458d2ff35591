"""Amazon Redshift: psycopg2 over SSL, staging with COPY from S3, distribution and sort keys.

Only what differs from PostgreSQL is here: the connection's SSL (verify-full) and login
(AUTH = iam: temporary credentials from AWS), the table
attributes, string literals (a backslash is an escape), and the staging load
(COPY ... FROM 's3://...' IAM_ROLE ..., with rejected rows read back from
SYS_LOAD_ERROR_DETAIL into load_errors, then the input rules COPY cannot apply).
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import sql_queries as sql
from sparkify import rules
from sparkify import schema  # which input fills which staging table
from sparkify.config import Connection, is_region
from sparkify.engines.postgres import PostgresEngine
from sparkify.errors import ConfigError, InputError, SparkifyError, WarehouseError
from sparkify.incremental import Batch

log = logging.getLogger(__name__)

_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")

# COPY's MAXERROR: "If the load returns the error_count number of errors or
# greater, the load fails", up to 100000
# (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html#copy-maxerror).
# The local engines fail only past MAX_ERRORS, so COPY is given MAX_ERRORS + 1
# and the pipeline's own count of load_errors decides, the same for every engine.
MAXERROR_LIMIT = 100000

# The rows a COPY rejected, from SYS_LOAD_ERROR_DETAIL: AWS recommends it over
# STL_LOAD_ERRORS, which "contains only queries run on main clusters" (not
# concurrency scaling) and does not exist on Redshift Serverless
# (https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html,
# https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html).
# Scoped to one COPY: this session's rows newer than a marker taken before it,
# whether the COPY succeeded or failed. The view keeps no raw line: raw_line
# says which column and type instead.
LOAD_ERRORS_MARKER = "SELECT COALESCE(MAX(query_id), 0) FROM sys_load_error_detail WHERE session_id = pg_backend_pid()"
LOAD_ERRORS_SINCE = """
SELECT
    TRIM(file_name),
    line_number,
    TRIM(column_name),
    TRIM(error_message),
    TRIM(column_name) || ' (' || TRIM(column_type) || '), position ' || CAST(position AS VARCHAR(12))
FROM sys_load_error_detail
WHERE session_id = pg_backend_pid()
  AND query_id > %s
ORDER BY file_name, line_number
"""
LOAD_ERROR_COLUMNS = ("table_name", "source_file", "line_number", "column_name", "reason", "raw_line")

# Redshift's certificates are issued by ACM, which "are publicly trusted by most operating
# systems, web browsers, and clients"
# (https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html), so
# verify-full checks them against the system's CA certificates. Not with libpq's
# sslrootcert=system, although psycopg2-binary's libpq (17) knows it: the OpenSSL in that
# wheel looks for the system's certificates where the wheel was built
# (X509_get_default_cert_file() is /host/tmp/libpq.build/cert.pem), so the file is named.
NO_CA_BUNDLE = (
    "no CA certificates found to verify Redshift's certificate - set SSL_CERT_FILE to a CA bundle "
    "(e.g. /etc/ssl/certs/ca-certificates.crt), pip install certifi, or set [CLUSTER] SSLMODE = require"
)


def system_ca_bundle() -> str:
    """The system's CA certificates as one file: the one Python's ssl module uses ($SSL_CERT_FILE
    wins), else certifi's bundle if it is installed."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile:
        return cafile
    try:
        import certifi
    except ImportError:
        raise ConfigError(NO_CA_BUNDLE) from None
    return certifi.where()


def _files(count: int) -> str:
    return f"{count:,} file{'s' if count != 1 else ''}"


def maxerror(max_errors: int) -> int:
    """COPY's MAXERROR for a run that allows max_errors rejected records."""
    return min(max_errors + 1, MAXERROR_LIMIT)


class _CopyFailed(Exception):
    """A COPY failed; its transaction must be rolled back before its rejected rows can be read."""

    def __init__(self, table: str, source: str, error: WarehouseError, marker: int, original=None):
        self.table, self.source, self.error, self.marker = table, source, error, marker
        self.original = original or (lambda file, line: (file, line))  # a packed part's line -> the original file's


class RedshiftEngine(PostgresEngine):
    name = "redshift"
    sslmode = "verify-full"  # encrypted, and the certificate names this cluster
    backslash_escapes = True  # https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html
    reads_local_files = False  # COPY reads S3 itself
    # SET default_transaction_read_only is not among Redshift's documented configuration
    # parameters (https://docs.aws.amazon.com/redshift/latest/dg/cm_chap_ConfigurationRef.html):
    # the notebook and dashboard only run SELECTs; give them a read-only database user to enforce it
    read_only_session = False

    @classmethod
    def login(cls, c: Connection) -> tuple[str, str]:
        """AUTH = iam: a database user and a temporary password from AWS, asked for now (see
        sparkify/aws/credentials.py) and never stored or logged; AUTH = password: as PostgreSQL."""
        if c.iam is None:
            return super().login(c)
        from sparkify.aws import credentials  # boto3: only AUTH = iam asks AWS to connect

        given = credentials.temporary_credentials(c)
        log.info("logging in as %s with temporary credentials (%s)", given.user, given.action)
        return given.user, given.password

    @classmethod
    def ssl_options(cls, c: Connection) -> dict[str, str]:
        options = super().ssl_options(c)
        if options["sslmode"].startswith("verify-"):
            options["sslrootcert"] = system_ca_bundle()
        return options

    def existing_tables(self) -> set[str]:
        # information_schema is not among Redshift's documented system views; SVV_TABLES is
        # (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLES.html). current_schema() is a
        # leader-node function, which fails in a query of a system view
        # (https://docs.aws.amazon.com/redshift/latest/dg/r_CURRENT_SCHEMA.html): it is asked on its own.
        schema = self.query("SELECT current_schema()")[0][0]
        rows = self.query(f"SELECT table_name FROM svv_tables WHERE table_schema = {self.placeholder}", [schema])
        return {name for (name,) in rows}

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Redshift has no advisory lock: each writing transaction LOCKs its tables instead."""
        yield

    def lock_tables(self, tables) -> None:
        # "LOCK ... Restricts access to a database table. This command is only meaningful
        # when it is run inside a transaction block"; it avoids the serializable isolation
        # error (1023) two overlapping runs would otherwise meet, by making the second wait
        # (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html).
        self.execute(f"LOCK {', '.join(sorted(set(tables)))}")  # one order: no deadlock between runs

    def table_attributes(self, table: str) -> str:
        return sql.REDSHIFT_ATTRIBUTES[table]

    def manifest_uri(self, batch: Batch, table: str, packed: bool = False) -> str:
        """Where this run's manifest for one staging table goes: [S3] MANIFEST_PREFIX/<run id>/<table>.manifest
        (<table>.packed.manifest: its packed parts)."""
        kind = ".packed" if packed else ""
        return f"{self.config.inputs.manifest_prefix.rstrip('/')}/{batch.run_id}/{table}{kind}.manifest"

    def copies(self, batch: Batch, max_errors: int, packing: dict | None = None) -> list[tuple[str, str, str]]:
        """(table, what it reads, statement) for each staging table with new files: COPY ... MANIFEST.

        A daily run COPYs one manifest of the day's new files per table, never
        the whole prefix (https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html).
        ``packing`` (table -> TablePlan, see sparkify/aws/packing.py): the files
        COPY'd as they are, then a second COPY of the packed parts with GZIP, in
        the same transaction: GZIP is a parameter of the whole COPY ("the input
        file or files are in compressed gzip format"), so one COPY cannot read
        a gzip part and a plain file
        (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html).
        """
        inputs = self.config.inputs
        common = dict(iam_role=self.config.iam_role_arn, region=inputs.region, max_errors=max_errors, manifest=True)
        formats = {"staging_events": (inputs.log_jsonpath, sql.STAGING_EVENTS_COLUMNS), "staging_songs": ("auto ignorecase", None)}
        statements = []
        for source, table in schema.STAGING_INPUTS.items():
            files = batch.files.get(source, [])
            if not files:
                continue
            json_format, columns = formats[table]
            plan = (packing or {}).get(table)
            as_they_are = plan.as_they_are if plan else files
            prefix = inputs.location(source)
            if as_they_are:
                uri = self.manifest_uri(batch, table)
                statements.append((
                    table,
                    f"{prefix} ({len(as_they_are):,} new file{'s' if len(as_they_are) != 1 else ''}"
                    f"{' not packed' if plan else ''}, manifest {uri})",
                    copy_statement(table, uri, json_format=json_format, columns=columns, **common),
                ))
            if plan and plan.groups:
                uri = self.manifest_uri(batch, table, packed=True)
                statements.append((
                    table,
                    f"{prefix} ({plan.packed_files:,} new files packed into {len(plan.groups):,} parts, manifest {uri})",
                    copy_statement(table, uri, json_format=json_format, columns=columns, gzip=True, **common),
                ))
        return statements

    # --- packing (sparkify/aws/packing.py): the batch's small files into a few gzip parts

    def slices(self) -> int | None:
        """The cluster's slices (parts are at least as many), or None where the view cannot be read.

        STV_SLICES "is visible to all users. Superusers can see all rows; regular users can
        see only their own data" (https://docs.aws.amazon.com/redshift/latest/dg/r_STV_SLICES.html):
        no rows, or no view (Serverless, the double), and parts are by size alone.
        """
        try:
            rows = self.query("SELECT COUNT(*) FROM stv_slices")
        except WarehouseError:
            return None
        return int(rows[0][0]) if rows and rows[0][0] else None

    def pack_plan(self, batch: Batch) -> dict:
        """Per staging table, which new files would be packed into which parts (nothing is read)."""
        from sparkify.aws import packing  # boto3: only the Redshift engine packs

        inputs = self.config.inputs
        settings = packing.Settings(inputs.pack_threshold, inputs.pack_part_size, inputs.pack_workers)
        if settings.threshold <= 0:
            return {}
        tables = [(table, source) for source, table in schema.STAGING_INPUTS.items()]
        plans = {table: packing.group(batch.files.get(source, []), settings, None) for table, source in tables}
        if not any(plan.groups for plan in plans.values()):
            return {}  # more parts (one a slice) would not make it worth it either: the cluster is not asked
        slices = self.slices()
        plans = {table: packing.group(batch.files.get(source, []), settings, slices) for table, source in tables}
        return {table: plan for table, plan in plans.items() if plan.groups}

    def packing(self, batch: Batch) -> dict | None:
        """What packing this batch would do (etl.py --dry-run): files, parts, bytes; None if nothing."""
        plans = self.pack_plan(batch)
        if not plans:
            return None
        return {
            "files": sum(plan.packed_files for plan in plans.values()),
            "parts": sum(len(plan.groups) for plan in plans.values()),
            "bytes": sum(plan.packed_bytes for plan in plans.values()),
        }

    def loaded(self, batch: Batch) -> None:
        """After a successful run: delete its packed parts and any a failed or refused run left."""
        from sparkify.aws import packing

        prefix = self.config.inputs.manifest_prefix
        try:
            deleted = packing.delete_parts(packing.client(self.config.inputs.region, 1), prefix)
        except SparkifyError as exc:  # the load is committed: a part left is removed by the next run
            log.warning("warning: packed parts under %s were not deleted: %s", prefix, exc)
            return
        if deleted:
            log.info("  deleted %s packed part%s under %s", f"{deleted:,}", "s" if deleted != 1 else "", prefix)

    def staging_sql(self, batch: Batch, max_errors: int) -> list[str]:
        arn = self.config.iam_role_arn or ""
        plans = self.pack_plan(batch)
        notes = [
            f"-- pack {_files(plan.packed_files)} ({plan.packed_bytes / 1e6:,.1f} MB) smaller than "
            f"{self.config.inputs.pack_threshold:,} bytes into {len(plan.groups):,} gzip parts for {table}, "
            f"under {self.config.inputs.manifest_prefix.rstrip('/')}/{batch.run_id}/packed/"
            for table, plan in plans.items()
        ]
        return notes + [statement.replace(arn, "<[IAM_ROLE] ARN>") for _, _, statement in self.copies(batch, max_errors, plans)]

    def copy_staging(self, batch: Batch, max_errors: int) -> dict | None:
        """COPY the batch's files into the staging tables in one transaction; rejected rows go to load_errors.

        The small files are packed first, then the manifests are written
        (boto3). A COPY that fails on bad records leaves staging as it was and
        keeps those records in load_errors, for the pipeline's MAX_ERRORS
        decision. Returns what packing did (files, parts, bytes, seconds), or None.
        """
        from sparkify import aws  # boto3: only the Redshift engine writes to S3

        packed = self._pack(batch)
        plans = packed.tables if packed else {}
        for source, table in schema.STAGING_INPUTS.items():
            files = batch.files.get(source, [])
            plan = plans.get(table)
            as_they_are = plan.as_they_are if plan else files
            if as_they_are:
                aws.write_manifest(self.manifest_uri(batch, table), [(file.location, file.size) for file in as_they_are])
            if plan and plan.groups:
                aws.write_manifest(
                    self.manifest_uri(batch, table, packed=True), [(part.uri, part.size) for part in packed.parts[table]]
                )
        original = packed.original if packed else (lambda file, line: (file, line))
        try:
            with self.transaction(writes=sql.LOADED_TABLES):
                for table in sql.LOADED_TABLES:
                    self.execute(sql.delete_rows(table))
                errors: list[tuple] = []
                for table, source, statement in self.copies(batch, max_errors, plans):
                    log.info("  COPY %s from %s ...", table, source)
                    marker = self.query(LOAD_ERRORS_MARKER)[0][0]
                    try:
                        self.execute(statement)
                    except WarehouseError as exc:
                        raise _CopyFailed(table, source, exc, marker, original) from None
                    errors.extend((table, *original(file, line), *rest) for file, line, *rest in self.query(LOAD_ERRORS_SINCE, [marker]))
                self._insert_load_errors(errors)
                # COPY cannot apply every input rule: move the rows that break the others now
                for statement in rules.staged_rejects(quote=self.literal):
                    self.execute(statement)
        except _CopyFailed as failed:
            self._keep_rejects(failed, max_errors)
        return packed.counts() if packed else None

    def _pack(self, batch: Batch):
        """Pack the batch's small files (sparkify/aws/packing.py); None when nothing is worth packing."""
        from sparkify.aws import packing

        plans = self.pack_plan(batch)
        if not plans:
            return None
        inputs = self.config.inputs
        files = sum(plan.packed_files for plan in plans.values())
        log.info("  packing %s smaller than %s bytes ...", _files(files), f"{inputs.pack_threshold:,}")
        packed = packing.pack(plans, inputs.manifest_prefix, batch.run_id, region=inputs.region, workers=inputs.pack_workers)
        log.info(
            "  packed %s (%.1f MB) into %s parts in %.1f s",
            _files(packed.files), packed.bytes / 1e6, f"{packed.part_count:,}", packed.seconds,
        )
        return packed

    def _keep_rejects(self, failed: _CopyFailed, max_errors: int) -> None:
        """After a failed COPY (rolled back): its rejected rows into load_errors, or the error."""
        rows = [
            (failed.table, *failed.original(file, line), *rest)
            for file, line, *rest in self.query(LOAD_ERRORS_SINCE, [failed.marker])
        ]
        if not rows:
            raise WarehouseError(
                f"COPY {failed.table} from {failed.source} failed: {failed.error} - check that the IAM role "
                "can read it and that [S3] REGION is the bucket's region"
            ) from None
        with self.transaction(writes=["load_errors"]):
            self.execute(sql.delete_rows("load_errors"))
            self._insert_load_errors(rows)
        if len(rows) > max_errors:
            return  # the pipeline's MAX_ERRORS decision fails the run, in its usual words
        if len(rows) >= MAXERROR_LIMIT:
            raise InputError(
                f"COPY {failed.table} from {failed.source} stopped at {len(rows):,} rejected records, the most "
                "Redshift allows one COPY - fix the input (details in table load_errors); the star schema was not changed"
            )
        raise WarehouseError(
            f"COPY {failed.table} from {failed.source} failed after {len(rows):,} rejected records: {failed.error} "
            "(details in table load_errors); the star schema was not changed"
        )

    def _insert_load_errors(self, rows: list[tuple]) -> None:
        self.insert_rows("load_errors", LOAD_ERROR_COLUMNS, rows)


def copy_statement(
    table: str,
    source: str,
    *,
    iam_role: str,
    region: str,
    json_format: str,
    max_errors: int,
    columns: tuple[str, ...] | None = None,
    manifest: bool = False,
    gzip: bool = False,
) -> str:
    """The COPY for one staging table, in one place (like Airflow's S3ToRedshiftOperator).

    Authorises with the cluster's IAM role, never access keys, so the statement
    carries no secret; it is still not logged (log copy_description instead).
    ``json_format`` is a jsonpaths file's s3:// URI or 'auto ignorecase'.
    ``manifest``: ``source`` is a manifest listing the files to load.
    ``gzip``: they are gzip-compressed (the packed parts).
    """
    if not source.startswith("s3://"):
        raise WarehouseError(f"COPY {table}: {source} is not an s3:// URI")
    if not _IAM_ROLE_ARN.match(iam_role):
        raise WarehouseError(f"[IAM_ROLE] ARN {iam_role!r} is not an IAM role ARN - run setup_cluster.py or fix it")
    if not is_region(region):  # checked at load_config too; COPY is built from nothing unchecked
        raise WarehouseError(f"[S3] REGION {region!r} is not an AWS region like us-west-2")
    column_list = f" ({', '.join(columns)})" if columns else ""
    return "\n".join(
        [
            f"COPY {table}{column_list}",
            f"FROM {RedshiftEngine.literal(source)}",
            f"IAM_ROLE {RedshiftEngine.literal(iam_role)}",
            f"REGION {RedshiftEngine.literal(region)}",
            f"FORMAT AS JSON {RedshiftEngine.literal(json_format)}",
            "TIMEFORMAT 'epochmillisecs'",
            "BLANKSASNULL EMPTYASNULL",
            "COMPUPDATE OFF STATUPDATE OFF",
            f"MAXERROR {maxerror(int(max_errors))}",
            *(["MANIFEST"] if manifest else []),
            *(["GZIP"] if gzip else []),
        ]
    )
