"""The warehouse's tables as data: each column once, with its type, width and source.

Like SQLAlchemy's ``Table(..., Column(...))`` or dbt's ``schema.yml``: the CREATE
TABLE statements and Redshift's attributes (``sql_queries.py``), the staging
columns and JSON keys, the reader's types (``sparkify/reader.py``), the width
rules (``sparkify/rules.py``), which input fills which staging table, and the
table of columns in docs/schema.md are all derived from what is declared here,
so none of them can drift. Nothing here reads configuration or SQL text.

No PRIMARY KEY constraints: Redshift does not enforce them, and keeping an
index up to date would cost DuckDB more than the whole load. Uniqueness of
every key is checked inside the load's transaction instead (sql_queries.CHECKS).

``python -m sparkify.schema`` prints docs/schema.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INTEGER = "INTEGER"
BIGINT = "BIGINT"
DOUBLE = "DOUBLE PRECISION"
TIMESTAMP = "TIMESTAMP"
VARCHAR = "VARCHAR"  # with a width: VARCHAR(n), n in bytes as on Redshift


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    width: int | None = None  # VARCHAR(n): the most bytes a value may have
    nullable: bool = True
    comment: str = ""  # written beside the column in the DDL and in docs/schema.md
    key: str | None = None  # staging: the JSON key it is read from (None: not from the input)

    def __post_init__(self):
        if (self.type == VARCHAR) != (self.width is not None):
            raise ValueError(f"column {self.name}: a width is given for VARCHAR and only for VARCHAR")

    @property
    def sql_type(self) -> str:
        return f"{self.type}({self.width})" if self.width else self.type


@dataclass(frozen=True)
class Table:
    name: str
    purpose: str
    columns: tuple[Column, ...]
    # Redshift's distribution style: EVEN, ALL or KEY (on distkey), the sort key, and why
    # (https://docs.aws.amazon.com/redshift/latest/dg/t_Distributing_data.html).
    distribution: str
    reason: str
    distkey: str | None = None
    sortkey: tuple[str, ...] = ()
    source: str | None = None  # staging: the input that fills it (a [S3] key: LOG_DATA, SONG_DATA)
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "column_names", tuple(column.name for column in self.columns))
        keyed = self.distribution == "KEY"
        if self.distribution not in ("EVEN", "ALL", "KEY") or keyed != (self.distkey is not None):
            raise ValueError(f"table {self.name}: DISTSTYLE is EVEN, ALL, or KEY with a distkey")
        for name in (self.distkey, *self.sortkey):
            if name is not None and name not in self.column_names:
                raise ValueError(f"table {self.name}: key {name} is not one of its columns")

    @property
    def input_columns(self) -> tuple[Column, ...]:
        """The columns read from the input (staging), in the order COPY maps a jsonpaths file."""
        return tuple(column for column in self.columns if column.key is not None)

    @property
    def redshift_attributes(self) -> str:
        """DISTSTYLE / DISTKEY / SORTKEY, as written after the column list of Redshift's CREATE TABLE."""
        distribution = f"DISTKEY ({self.distkey})" if self.distkey else f"DISTSTYLE {self.distribution}"
        return f"{distribution} SORTKEY ({', '.join(self.sortkey)})" if self.sortkey else distribution

    def text_widths(self) -> dict[str, int]:
        """The declared VARCHAR(n) width of each text column."""
        return {column.name: column.width for column in self.columns if column.width is not None}


def _song_record(from_json: bool = False, year_comment: str = "") -> tuple[Column, ...]:
    """A song file's record: staging_songs reads it by key (COPY's 'auto ignorecase': keys are the names)."""

    def column(name: str, kind: str, width: int | None = None, comment: str = "") -> Column:
        return Column(name, kind, width, comment=comment, key=name if from_json else None)

    return (
        column("num_songs", INTEGER),
        column("artist_id", VARCHAR, 32),
        column("artist_latitude", DOUBLE),
        column("artist_longitude", DOUBLE),
        column("artist_location", VARCHAR, 1024),
        column("artist_name", VARCHAR, 1024),
        column("song_id", VARCHAR, 32),
        column("title", VARCHAR, 1024),
        column("duration", DOUBLE),
        column("year", INTEGER, comment=year_comment),
    )


# A user's latest event with what orders it (staging_users, user_latest).
_USER_EVENT = (
    Column("user_id", INTEGER, nullable=False),
    Column("ts", BIGINT),
    Column("session_id", BIGINT),
    Column("item_in_session", INTEGER),
    Column("level", VARCHAR, 16),
    Column("first_name", VARCHAR, 256),
    Column("last_name", VARCHAR, 256),
    Column("gender", VARCHAR, 16),
)

_SMALL_DIMENSION = (
    "small dimensions (thousands of users; at most a few million songs and artists in the whole Million "
    "Song Dataset): a copy on every node makes every join with songplays local; sorted on the key for lookups"
)
_STAGED = (
    "loaded in bulk and scanned whole once per run: EVEN spreads the COPY over every slice; no sort key, "
    "nothing range-filters it"
)

# In creation order.
TABLES: tuple[Table, ...] = (
    Table(
        "staging_events",
        "The event records of the run's batch; emptied when the run succeeds.",
        (
            # In the order of the paths in the jsonpaths file: Redshift COPY maps them by position.
            Column("artist", VARCHAR, 1024, key="artist"),
            Column("auth", VARCHAR, 32, key="auth"),
            Column("first_name", VARCHAR, 256, key="firstName"),
            Column("gender", VARCHAR, 16, key="gender"),
            Column("item_in_session", INTEGER, key="itemInSession"),
            Column("last_name", VARCHAR, 256, key="lastName"),
            Column("length", DOUBLE, key="length"),
            Column("level", VARCHAR, 16, key="level"),
            Column("location", VARCHAR, 1024, key="location"),
            Column("method", VARCHAR, 16, key="method"),
            Column("page", VARCHAR, 64, key="page"),
            Column("registration", DOUBLE, key="registration"),
            Column("session_id", BIGINT, key="sessionId"),
            Column("song", VARCHAR, 1024, key="song"),
            Column("status", INTEGER, key="status"),
            Column("ts", BIGINT, comment="epoch milliseconds, UTC", key="ts"),
            Column("user_agent", VARCHAR, 1024, key="userAgent"),
            Column("user_id", VARCHAR, 32, comment="as in the logs: text, NULL when logged out", key="userId"),
            Column("source_file", VARCHAR, 1024, comment="the file it came from (local engines; NULL after COPY)"),
        ),
        "EVEN",
        _STAGED,
        source="LOG_DATA",
    ),
    Table(
        "staging_songs",
        "The song records of the run's batch; emptied when the run succeeds.",
        (
            *_song_record(from_json=True, year_comment="year 0 in the source means unknown"),
            Column("source_file", VARCHAR, 1024, comment="the file it came from (local engines)"),
        ),
        "EVEN",
        _STAGED,
        source="SONG_DATA",
    ),
    Table(
        "load_errors",
        "Rejected input records of the latest run (replaced at every run).",
        (
            Column("table_name", VARCHAR, 32),
            Column("source_file", VARCHAR, 1024),
            Column("line_number", BIGINT),
            Column("column_name", VARCHAR, 128),
            Column("reason", VARCHAR, 1024),
            Column("raw_line", VARCHAR, 65535),
        ),
        "ALL",
        "a handful of rows",
    ),
    Table(
        "songplays",
        "The fact table: one row per NextSong event.",
        (
            Column("songplay_id", BIGINT, nullable=False),
            Column("start_time", TIMESTAMP, nullable=False),
            Column("user_id", INTEGER),
            Column("level", VARCHAR, 16),
            Column("song_id", VARCHAR, 32),
            Column("artist_id", VARCHAR, 32),
            Column("session_id", BIGINT),
            Column("location", VARCHAR, 1024),
            Column("user_agent", VARCHAR, 1024),
        ),
        "KEY",
        "the largest table. start_time is near unique, so rows spread evenly over the slices; song_id would "
        "put every unmatched play (most of them, on real data) on one slice and user_id would skew towards "
        "heavy listeners. Co-located with time, and analysts filter by date range, which the sort key turns "
        "into block skipping",
        distkey="start_time",
        sortkey=("start_time",),
    ),
    Table(
        "users",
        "One row per user, as of their latest event.",
        (
            Column("user_id", INTEGER, nullable=False),
            Column("first_name", VARCHAR, 256),
            Column("last_name", VARCHAR, 256),
            Column("gender", VARCHAR, 16),
            Column("level", VARCHAR, 16),
        ),
        "ALL",
        _SMALL_DIMENSION,
        sortkey=("user_id",),
    ),
    Table(
        "songs",
        "One row per song of the song files.",
        (
            Column("song_id", VARCHAR, 32, nullable=False),
            Column("title", VARCHAR, 1024),
            Column("artist_id", VARCHAR, 32),
            Column("year", INTEGER, comment="NULL when unknown"),
            Column("duration", DOUBLE),
        ),
        "ALL",
        _SMALL_DIMENSION,
        sortkey=("song_id",),
    ),
    Table(
        "artists",
        "One row per artist of the song files.",
        (
            Column("artist_id", VARCHAR, 32, nullable=False),
            Column("name", VARCHAR, 1024),
            Column("location", VARCHAR, 1024),
            Column("latitude", DOUBLE),
            Column("longitude", DOUBLE),
        ),
        "ALL",
        _SMALL_DIMENSION,
        sortkey=("artist_id",),
    ),
    Table(
        "time",
        "One row per songplays start time, broken into its parts.",
        (
            Column("start_time", TIMESTAMP, nullable=False),
            Column("hour", INTEGER),
            Column("day", INTEGER),
            Column("week", INTEGER, comment="ISO week"),
            Column("month", INTEGER),
            Column("year", INTEGER),
            Column("weekday", INTEGER, comment="0 = Sunday .. 6 = Saturday"),
        ),
        "KEY",
        "as many rows as distinct play times, so as large as the fact: distributed and sorted like it, so "
        "their join stays on each slice",
        distkey="start_time",
        sortkey=("start_time",),
    ),
    Table(
        "staging_users",
        "Each batch user's latest event, among the batch and what was chosen before (a work table of the "
        "users upsert, replaced at every run).",
        _USER_EVENT,
        "ALL",
        "one row per user of the batch, joined with user_latest and users: a copy per node, like users",
    ),
    Table(
        "song_catalog",
        "Every valid song record loaded so far: songs, artists and the songplay match are chosen from it "
        "(kept so that an incremental run gives what one full load would).",
        _song_record(),
        "ALL",
        "joined with plays on title and artist name, like songs: a copy per node",
        sortkey=("title",),
    ),
    Table(
        "user_latest",
        "Each user's latest event so far, with what orders it (users shows its choice).",
        _USER_EVENT,
        "ALL",
        "one row per user, like users",
        sortkey=("user_id",),
    ),
    Table(
        "songplay_tracks",
        "What each songplay was a play of, to match it again when songs arrive.",
        (
            Column("songplay_id", BIGINT, nullable=False),
            Column("song", VARCHAR, 1024),
            Column("artist", VARCHAR, 1024),
            Column("length", DOUBLE),
        ),
        "KEY",
        "joined with songplays on songplay_id, only for the few plays a batch re-matches",
        distkey="songplay_id",
        sortkey=("songplay_id",),
    ),
    Table(
        "loaded_files",
        "The record of loaded files: one row per input file loaded, written in the same transaction as the "
        "star schema (a failed run leaves no trace).",
        (
            Column("source", VARCHAR, 16, nullable=False, comment="LOG_DATA or SONG_DATA"),
            Column("file_name", VARCHAR, 1024, nullable=False,
                   comment="relative to the input's folder or s3:// prefix"),
            Column("size_bytes", BIGINT),
            Column("version", VARCHAR, 128, comment="local: modification time (ns); S3: the ETag"),
            Column("row_count", BIGINT, comment="records staged (NULL when COPY does not say)"),
            Column("reject_count", BIGINT, comment="records rejected into load_errors"),
            Column("run_id", VARCHAR, 36),
            Column("loaded_at", TIMESTAMP),
        ),
        "ALL",
        "one row per input file, read whole by each run to find the new files: a copy per node, sorted on "
        "what a run looks up",
        sortkey=("source", "file_name"),
    ),
)

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}

# Which input fills which staging table, in load order: {"LOG_DATA": "staging_events", ...}.
STAGING_INPUTS: dict[str, str] = {table.source: table.name for table in TABLES if table.source}
INPUTS: tuple[str, ...] = tuple(STAGING_INPUTS)


def table(name: str) -> Table:
    return BY_NAME[name]


def input_of(table_name: str) -> str:
    """The input (LOG_DATA, SONG_DATA) a staging table is loaded from."""
    return BY_NAME[table_name].source


# ---------------------------------------------------------------- docs/schema.md


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """docs/schema.md: every table's purpose, Redshift layout and columns."""
    lines = [
        "# Schema",
        "",
        "<!-- Generated from sparkify/schema.py by `python -m sparkify.schema > docs/schema.md`;",
        "     tests/test_schema.py fails when this page differs. Edit the schema, not this page. -->",
        "",
        "Every table of the warehouse, in creation order. The staging tables are loaded",
        "from the input named beside them, each column from the JSON key given (the",
        "events' keys are those of the standard jsonpaths file; `[S3] LOG_JSONPATH` may",
        "name others). Widths are in bytes, as on Redshift; text wider than its staging",
        "column is rejected (docs/data-rules.md). Redshift's distribution and sort keys",
        "are chosen as the reason says; DuckDB and PostgreSQL ignore them.",
        "",
    ]
    for entry in TABLES:
        lines += [f"## {entry.name}", "", entry.purpose, ""]
        if entry.source:
            lines += [f"Loaded from `{entry.source}`.", ""]
        lines += [f"Redshift: `{entry.redshift_attributes}`: {entry.reason}.", ""]
        keyed = any(column.key for column in entry.columns)
        header = ["column", "type", "NULL allowed"] + (["JSON key"] if keyed else []) + ["note"]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for column in entry.columns:
            cells = [f"`{column.name}`", column.sql_type, "yes" if column.nullable else "no"]
            if keyed:
                cells.append(f"`{column.key}`" if column.key else "")
            cells.append(_cell(column.comment))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)



if __name__ == "__main__":
    print(markdown(), end="")
