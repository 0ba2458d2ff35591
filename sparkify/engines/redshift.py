"""Amazon Redshift: psycopg2 over SSL, staging with COPY from S3, distribution and sort keys.

Only what differs from PostgreSQL is here: the connection's SSL (verify-full) and login
(AUTH = iam: temporary credentials from AWS) and TCP keepalives, the table
attributes, string literals (a backslash is an escape), one run at a time (a
run-lock table only writers LOCK, in one transaction per run), and how staging
gets its records (small files packed, then COPY ... FROM 's3://...' IAM_ROLE ...,
with the rejected rows read back from SYS_LOAD_ERROR_DETAIL); sparkify.staging
owns the transaction and the input rules COPY cannot apply.
The whole engine runs on a PostgreSQL-backed double in tests/redshift_double.py.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic

import sql_queries as sql
from sparkify import schema  # which input fills which staging table
from sparkify.config import Config, Connection, is_region
from sparkify.engines.base import CopyFailed, wait_for
from sparkify.engines.postgres import PostgresEngine
from sparkify.errors import ConfigError, InputError, SparkifyError, WarehouseError, first_line
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
# By the COPY's own query id: PG_LAST_COPY_ID() "returns the query ID of the most
# recently completed COPY command in the current session", -1 before any
# (https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html). After a
# successful COPY that is its id. After a failed one the page leaves open what a
# rollback does to it, so a failed COPY's rows are this session's newer than the id
# taken before it. The view keeps no raw line: raw_line says which column and type.
LOAD_ERRORS_MARKER = "SELECT pg_last_copy_id()"
_LOAD_ERRORS = """
SELECT
    TRIM(file_name),
    line_number,
    TRIM(column_name),
    TRIM(error_message),
    TRIM(column_name) || ' (' || TRIM(column_type) || '), position ' || CAST(position AS VARCHAR(12))
FROM sys_load_error_detail
WHERE {where}
ORDER BY file_name, line_number
"""
LOAD_ERRORS_OF_LAST_COPY = _LOAD_ERRORS.format(where="query_id = pg_last_copy_id()")
LOAD_ERRORS_SINCE = _LOAD_ERRORS.format(where="session_id = pg_backend_pid()\n  AND query_id > %s")
# While packing, a statement at least this often: half the Data API session's SessionKeepAliveSeconds
# (sparkify/engines/data_api.py), so a run's session never ends between two of its statements.
KEEP_ALIVE_SECONDS = 60.0

# SYS_LOAD_ERROR_DETAIL.file_name is CHAR(256): a longer s3:// URI comes back cut to 256 bytes.
FILE_NAME_BYTES = 256
LOAD_ERROR_COLUMNS = schema.table("load_errors").column_names  # what the rows read back fill

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


# A database user who does not own the tables (AUTH = iam logs in as DB_USER, often not the user who
# ran create_tables.py) can run etl.py with these privileges: COPY needs INSERT ("To grant or revoke
# privilege to load data into a table using a COPY command, grant or revoke the INSERT privilege":
# https://docs.aws.amazon.com/redshift/latest/dg/t_Loading_tables_with_the_COPY_command.html), the
# upserts SELECT, INSERT, UPDATE and DELETE, and LOCK of the run-lock table one of them. COPY's
# COMPUPDATE OFF and STATUPDATE OFF keep it from what only an owner may do: automatic compression
# re-creates the table ("Only the owner has permission to modify or destroy an object":
# https://docs.aws.amazon.com/redshift/latest/dg/r_Privileges.html;
# https://docs.aws.amazon.com/redshift/latest/dg/c_Loading_tables_auto_compress.html) and
# STATUPDATE runs ANALYZE. create_tables.py (DROP, CREATE) needs the owner.
_DENIED = re.compile(r"permission denied for (?:relation|table) (\w+)")
GRANT_HINT = (
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user} (as the tables' owner), "
    "or run as the user who ran create_tables.py"
)


@contextmanager
def _grant_hint(user: str) -> Iterator[None]:
    """A privilege the database user lacks: the error says what to grant, in one line."""
    try:
        yield
    except WarehouseError as exc:
        found = _DENIED.search(str(exc))
        if not found:
            raise
        raise WarehouseError(
            f"redshift: {user} may not use table {found.group(1)} - " + GRANT_HINT.format(user=user)
        ) from None


def _files(count: int) -> str:
    return f"{count:,} file{'s' if count != 1 else ''}"


def maxerror(max_errors: int) -> int:
    """COPY's MAXERROR for a run that allows max_errors rejected records."""
    return min(max_errors + 1, MAXERROR_LIMIT)


class _CopyFailed(CopyFailed):
    """A COPY failed; its transaction must be rolled back before its rejected rows can be read."""

    def __init__(self, table: str, source: str, error: WarehouseError, marker: int, original=None):
        super().__init__(table, source)
        self.table, self.source, self.error_text, self.marker = table, source, error, marker
        self.original = original or (lambda file, line: (file, line))  # a packed part's line -> the original file's

    def error(self, rejected: int) -> SparkifyError:
        if not rejected:
            return WarehouseError(
                f"COPY {self.table} from {self.source} failed: {self.error_text} - check that the IAM role "
                "can read it and that [S3] REGION is the bucket's region"
            )
        if rejected >= MAXERROR_LIMIT:
            return InputError(
                f"COPY {self.table} from {self.source} stopped at {rejected:,} rejected records, the most "
                "Redshift allows one COPY - fix the input (details in table load_errors); the star schema was not changed"
            )
        return WarehouseError(
            f"COPY {self.table} from {self.source} failed after {rejected:,} rejected records: {self.error_text} "
            "(details in table load_errors); the star schema was not changed"
        )


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
    def open(cls, config: Config, read_only: bool = False) -> RedshiftEngine:
        """psycopg2 over SSL, or with [DWH] CONNECTION = data-api the Redshift Data API."""
        if config.data_api is not None:
            return cls.open_data_api(config, read_only)
        return super().open(config, read_only)

    @classmethod
    def open_data_api(cls, config: Config, read_only: bool = False) -> RedshiftEngine:
        """CONNECTION = data-api: statements through the Redshift Data API (sparkify/engines/data_api.py).

        The first statement opens the session, so a refused identity or a wrong
        cluster, workgroup or database shows here, in one line.
        """
        from sparkify.engines import data_api  # boto3: only CONNECTION = data-api needs it

        target = config.data_api
        try:
            connection = data_api.connect(target, backslash_escapes=cls.backslash_escapes)
            if read_only and cls.read_only_session:
                connection.set_session(readonly=True)
            else:
                connection.run("SELECT 1", None)
        except data_api.DataApiError as exc:
            raise WarehouseError(
                f"cannot reach {cls.name} through the Data API ({target.describe()}): {first_line(exc)} "
                "- check [CLUSTER] IDENTIFIER or WORKGROUP, DB_NAME, DB_USER or SECRET_ARN, and the IAM "
                "permissions (docs/redshift.md)"
            ) from None
        return cls(config, connection)

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
    def keepalive_options(cls) -> dict[str, int]:
        """TCP keepalives, so that a connection whose other end is gone (a crashed machine, a dropped
        NAT mapping) is noticed in about two minutes, not hours, and its transaction and locks go
        with it (https://docs.aws.amazon.com/redshift/latest/mgmt/troubleshooting-connections.html,
        "Connection is refused or fails"; libpq: https://www.postgresql.org/docs/current/libpq-connect.html)."""
        return {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 15, "keepalives_count": 4}

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

    def table_columns(self, table: str) -> set[str]:
        # SVV_COLUMNS, not information_schema.columns, for the same reason as SVV_TABLES above
        # (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html)
        schema = self.query("SELECT current_schema()")[0][0]
        rows = self.query(
            f"SELECT column_name FROM svv_columns WHERE table_schema = {self.placeholder} AND table_name = {self.placeholder}",
            [schema, table],
        )
        return {name for (name,) in rows}

    # One run at a time, without blocking readers. Redshift has no advisory lock and no SAVEPOINT,
    # and "LOCK ... obtains a table-level lock in ACCESS EXCLUSIVE mode" that blocks reads of the
    # locked table and is released only when the transaction ends
    # (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html). So a run is one transaction from
    # before the record of loaded files is read until the star schema commits, and it LOCKs only
    # this table, which only writers (etl.py, create_tables.py) ever touch: a second run waits at
    # its LOCK, then reads the first run's files in the record; readers of the star schema meet no
    # lock and see it as of the last commit. A crashed run's transaction, and its lock, end with its
    # session: at once when the process dies, after the TCP keepalives or the Data API's
    # SessionKeepAliveSeconds when the machine does.
    run_lock_table = "sparkify_run_lock"
    # How long one LOCK attempt waits before the run says it waits (statement_timeout, in ms:
    # https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html).
    lock_attempt_ms = 1000
    _in_run = False

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The run's transaction, holding the run lock; committed when the run ends well, else rolled back."""
        if self.run_lock_table not in self.existing_tables():  # made once, by the first run (a user who may create tables)
            # "IF NOT EXISTS": https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html
            self.execute(f"CREATE TABLE IF NOT EXISTS {self.run_lock_table} (held BOOLEAN)")
        config = getattr(self, "config", None)
        if config is not None and config.inputs.pack_threshold > 0:
            self.slices()  # before BEGIN: packing may need it, and it may fail (see slices)
        wait_for(self._try_run_lock, self.name)
        self._in_run = True
        try:
            yield
        except BaseException:
            self._end_run("ROLLBACK")
            raise
        self._end_run("COMMIT")

    def _try_run_lock(self) -> bool | None:
        """BEGIN and LOCK the run lock within lock_attempt_ms: True, or None (rolled back) when another run holds it."""
        self.execute("BEGIN")
        # SET LOCAL: for this transaction only (https://docs.aws.amazon.com/redshift/latest/dg/r_SET.html)
        self.execute(f"SET LOCAL statement_timeout TO {int(self.lock_attempt_ms)}")
        try:
            self.execute(f"LOCK {self.run_lock_table}")
        except WarehouseError as exc:
            self.rollback()
            if "timeout" in str(exc).lower() or "cancel" in str(exc).lower():
                return None
            raise
        self.execute("SET LOCAL statement_timeout TO DEFAULT")
        return True

    def _end_run(self, how: str) -> None:
        if self._in_run:
            self._in_run = False
            if how == "COMMIT":
                self.execute("COMMIT")
            else:
                self.rollback()

    @contextmanager
    def transaction(self, writes=()) -> Iterator[None]:
        """Inside a run, part of the run's transaction (Redshift has no nested transaction): a failure
        rolls the whole run back. Outside one, a transaction of its own behind the run lock."""
        if not self._in_run:
            with super().transaction(writes=writes):
                yield
            return
        try:
            yield
        except BaseException:
            self._end_run("ROLLBACK")
            raise

    def lock_tables(self, tables) -> None:
        # Writers wait for each other on the run lock alone; the tables they write stay readable.
        self.execute(f"LOCK {self.run_lock_table}")

    def execute(self, statement: str, params=None) -> None:
        with _grant_hint(self._database_user()):
            super().execute(statement, params)

    def query(self, statement: str, params=None) -> list[tuple]:
        with _grant_hint(self._database_user()):
            return super().query(statement, params)

    def require_tables(self, tables=sql.ALL_TABLES) -> None:
        """information_schema shows only the tables the user may use: one it may not is named with its grant."""
        missing = [table for table in tables if table not in self.existing_tables()]
        if missing:
            # PG_CLASS lists every table ("Querying the catalog tables":
            # https://docs.aws.amazon.com/redshift/latest/dg/c_join_PG.html)
            hidden = self.query(
                "SELECT COUNT(*) FROM pg_class JOIN pg_namespace ON pg_namespace.oid = pg_class.relnamespace "
                "WHERE pg_namespace.nspname = current_schema() AND pg_class.relname = %s", [missing[0]])[0][0]
            if hidden:
                user = self._database_user()
                raise WarehouseError(f"redshift: {user} may not use table {missing[0]} - " + GRANT_HINT.format(user=user))
        super().require_tables(tables)

    def _database_user(self) -> str:
        config = getattr(self, "config", None)
        via = (config.data_api if config and config.data_api else config.connection) if config else None
        return getattr(via, "db_user", None) or getattr(via, "user", None) or "the database user"

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
        formats = {
            "staging_events": (inputs.log_jsonpath, sql.STAGING_EVENTS_COLUMNS),
            "staging_songs": ("auto ignorecase", None),
        }
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

    def _check_manifest_region(self, region: str | None) -> None:
        """COPY carries REGION [S3] REGION (the input's region, which may not be the cluster's), and
        "if the REGION parameter is specified, all resources, including a manifest file or multiple
        Amazon S3 buckets, must be located in the specified Region"
        (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html#copy-region).
        Without REGION, COPY takes every bucket to be in the cluster's region: either way the manifest
        must be in the input's region, so a MANIFEST_PREFIX elsewhere is refused before anything runs."""
        inputs = self.config.inputs
        if region is not None and region != inputs.region:
            raise ConfigError(
                f"[S3] MANIFEST_PREFIX {inputs.manifest_prefix} is in {region}, but COPY reads the input in "
                f"{inputs.region} ([S3] REGION) and needs its manifest in that region too - use a bucket in "
                f"{inputs.region} for MANIFEST_PREFIX"
            )

    # --- packing (sparkify/aws/packing.py): the batch's small files into a few gzip parts

    _slices: int | None = None
    _slices_asked = False

    def slices(self) -> int | None:
        """The cluster's slices (parts are at least as many), or None where there are none to ask about.

        STV_SLICES "is visible to all users. Superusers can see all rows; regular users can
        see only their own data" (https://docs.aws.amazon.com/redshift/latest/dg/r_STV_SLICES.html):
        no rows, or no view (Serverless, the double), and parts are by size alone.
        Asked once, never inside the run's transaction (exclusive() asks before BEGIN): a
        statement that fails there aborts the whole transaction, and Redshift has no SAVEPOINT.
        """
        if self.config.serverless:
            return None  # Serverless has no slices to ask about
        if not self._slices_asked:
            if self._in_run:
                return None
            self._slices_asked = True
            try:
                rows = self.query("SELECT COUNT(*) FROM stv_slices")
            except WarehouseError:
                rows = None
            self._slices = int(rows[0][0]) if rows and rows[0][0] else None
        return self._slices

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

    def prepare_copy(self, batch: Batch):
        """Before staging's transaction: the batch's small files packed into gzip parts, and the manifests
        written (boto3). Returns the packing (sparkify/aws/packing.py), or None when nothing was packed."""
        from sparkify import aws  # boto3: only the Redshift engine writes to S3

        self._check_manifest_region(aws.bucket_region(self.config.inputs.manifest_prefix))
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
        return packed

    def copy_in(self, batch: Batch, max_errors: int, packed) -> list[tuple]:
        """COPY the batch's files into the emptied staging tables (in the staging step's transaction,
        sparkify.staging.replacing); the rows each COPY rejected, read back from SYS_LOAD_ERROR_DETAIL, as
        load_errors rows. A COPY that fails raises _CopyFailed: its rows are read after the rollback."""
        plans = packed.tables if packed else {}
        original = packed.original if packed else (lambda file, line: (file, line))
        errors: list[tuple] = []
        for table, source, statement in self.copies(batch, max_errors, plans):
            log.info("  COPY %s from %s ...", table, source)
            marker = self.query(LOAD_ERRORS_MARKER)[0][0]
            try:
                self.execute(statement)
            except WarehouseError as exc:
                raise _CopyFailed(table, source, exc, marker, original) from None
            errors.extend(
                (table, *original(file, line), *rest) for file, line, *rest in self.query(LOAD_ERRORS_OF_LAST_COPY)
            )
        return full_file_names(errors, batch)

    def rejects_of_failed_copy(self, failed: _CopyFailed, batch: Batch) -> list[tuple]:
        """After a failed COPY (rolled back): the rows it rejected, this session's newer than the marker."""
        return full_file_names([
            (failed.table, *failed.original(file, line), *rest)
            for file, line, *rest in self.query(LOAD_ERRORS_SINCE, [failed.marker])
        ], batch)

    def keep_staging(self) -> None:
        """The run will be refused: its staging and load_errors are kept, as on every engine (the run's
        transaction commits now, and the star schema is not touched: the run ends here)."""
        self._end_run("COMMIT")

    def _pack(self, batch: Batch):
        """Pack the batch's small files (sparkify/aws/packing.py); None when nothing is worth packing."""
        from sparkify.aws import packing

        plans = self.pack_plan(batch)
        if not plans:
            return None
        inputs = self.config.inputs
        files = sum(plan.packed_files for plan in plans.values())
        log.info("  packing %s smaller than %s bytes ...", _files(files), f"{inputs.pack_threshold:,}")
        packed = packing.pack(plans, inputs.manifest_prefix, batch.run_id, region=inputs.region,
                              workers=inputs.pack_workers, keepalive=self._keep_alive())
        log.info(
            "  packed %s (%.1f MB) into %s parts in %.1f s",
            _files(packed.files), packed.bytes / 1e6, f"{packed.part_count:,}", packed.seconds,
        )
        return packed

    def _keep_alive(self) -> Callable[[], None]:
        """A cheap statement at most every KEEP_ALIVE_SECONDS while packing sends none: over the Data API
        a session ends SessionKeepAliveSeconds (120 s) after its last statement, and the run's transaction
        and lock with it (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html);
        packing hundreds of thousands of files takes longer than that."""
        last = [monotonic()]

        def keep_alive() -> None:
            if monotonic() - last[0] >= KEEP_ALIVE_SECONDS:
                self.query("SELECT 1")
                last[0] = monotonic()

        return keep_alive


def full_file_names(rows: list[tuple], batch: Batch) -> list[tuple]:
    """load_errors rows (table, file, ...) with each file's full s3:// URI: SYS_LOAD_ERROR_DETAIL cuts
    file_name to CHAR(256), so a longer URI is found again among the batch's files by its first 256
    bytes, and the rejects count against the right file. Two URIs alike in their first 256 bytes
    cannot be told apart: their rejects keep the cut name."""
    cut: dict[str, list[str]] = {}
    for files in batch.files.values():
        for file in files:
            if len(file.location.encode("utf-8")) > FILE_NAME_BYTES:
                name = file.location.encode("utf-8")[:FILE_NAME_BYTES].decode("utf-8", "ignore").rstrip()
                cut.setdefault(name, []).append(file.location)
    if not cut:
        return rows
    return [(table, cut[name][0] if len(cut.get(name, ())) == 1 else name, *rest) for table, name, *rest in rows]


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
