"""All the warehouse SQL, written once for DuckDB, PostgreSQL and Redshift.

Where the dialects differ the statement has a placeholder that the engine fills
(see ``sparkify/engines``, one small class per engine, like dbt's
``default__`` / ``postgres__`` macros):

- ``{attributes}``: what follows a CREATE TABLE's column list. Redshift gives
  DISTSTYLE / DISTKEY / SORTKEY (the reasons are declared with each table in
  ``sparkify/schema.py`` and shown in docs/schema.md); DuckDB and PostgreSQL
  give nothing.
- ``{start_time}``: turns the event's ``ts`` (epoch milliseconds, UTC) into a
  TIMESTAMP keeping the milliseconds.

Nothing here reads configuration or touches a database: this module only holds
text. The tables are declared as data in ``sparkify/schema.py`` and their CREATE
TABLE statements rendered from it below. The input rules are declared in ``sparkify/rules.py``; the staging loads
(COPY from S3, COPY FROM STDIN, DuckDB's JSON reader) live with their engines
and ``sparkify/reader.py``.
"""

from sparkify import schema

# --------------------------------------------------------------------------
# Tables, in creation order, rendered from their declaration in
# sparkify/schema.py (columns, types, widths, JSON keys, Redshift's keys with
# the reason): the table definitions are written there and nowhere else.
# --------------------------------------------------------------------------

# A column's comment starts at this column at least, past a type field as wide as
# "DOUBLE PRECISION," and two spaces past the widest commented line.
_COMMENT_COLUMN = 38
_TYPE_FIELD = len(f"{schema.DOUBLE},")


def create_table(table: schema.Table) -> str:
    """A table's CREATE TABLE, one column per line; ``{attributes}`` is left for the engine."""
    width = max(len(column.name) for column in table.columns) + 2
    lines = []
    for number, column in enumerate(table.columns, 1):
        line = f"    {column.name.ljust(width)}{column.sql_type}"
        if not column.nullable:
            line += " NOT NULL"
        lines.append(line + ("," if number < len(table.columns) else ""))
    commented = [len(line) for line, column in zip(lines, table.columns) if column.comment]
    comment_at = max([_COMMENT_COLUMN, 4 + width + _TYPE_FIELD, *(length + 2 for length in commented)])
    lines = [
        f"{line.ljust(comment_at)}-- {column.comment}" if column.comment else line
        for line, column in zip(lines, table.columns)
    ]
    body = "\n".join(lines)
    return f"\nCREATE TABLE {table.name} (\n{body}\n){{attributes}}"


CREATE_TABLES = {table.name: create_table(table) for table in schema.TABLES}

# Redshift's DISTSTYLE / DISTKEY / SORTKEY, per table (the reasons: sparkify/schema.py, docs/schema.md).
REDSHIFT_ATTRIBUTES = {table.name: table.redshift_attributes for table in schema.TABLES}


def text_widths(table: str) -> dict[str, int]:
    """The declared VARCHAR(n) width of each text column of a table."""
    return schema.table(table).text_widths()


# The columns of a staging table read from the input, in the order of the paths
# in the jsonpaths file (Redshift COPY maps them by position); not source_file.
STAGING_EVENTS_COLUMNS = tuple(column.name for column in schema.table("staging_events").input_columns)
# The key each staging_events column comes from, as in the standard jsonpaths file.
EVENT_JSON_KEYS = tuple(column.key for column in schema.table("staging_events").input_columns)
# Song files are loaded with 'auto ignorecase': columns are named as the keys.
STAGING_SONGS_COLUMNS = tuple(column.name for column in schema.table("staging_songs").input_columns)

STAGING_TABLES = tuple(schema.STAGING_INPUTS.values())  # staging_events, staging_songs
# Kept between runs so that an incremental run gives what one full load would.
STATE_TABLES = ("song_catalog", "user_latest", "songplay_tracks")
RECORD_TABLE = "loaded_files"
STAGING_COLUMNS = {"staging_events": STAGING_EVENTS_COLUMNS, "staging_songs": STAGING_SONGS_COLUMNS}
# What a staging load replaces: the staging tables and the rejected records.
LOADED_TABLES = (*STAGING_TABLES, "load_errors")
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
ALL_TABLES = tuple(CREATE_TABLES)


def drop_table(table: str) -> str:
    return f"DROP TABLE IF EXISTS {table}"


def delete_rows(table: str) -> str:
    return f"DELETE FROM {table}"


# A successful run empties staging at the end of its star-schema transaction, as AWS's
# merge procedure drops its staging table once merged
# (https://docs.aws.amazon.com/redshift/latest/dg/merge-replacing-existing-rows.html):
# the batch is in the star schema and loaded_files counts its rows per file, so no
# copy of it is kept and the next run has nothing to clear. A refused or failed run
# leaves its batch in staging, to inspect beside load_errors. DELETE, not TRUNCATE:
# on Redshift TRUNCATE commits the transaction it runs in
# (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html).
STAGING_EMPTIED = tuple(delete_rows(table) for table in STAGING_TABLES)


# The first rejected records of a load, in file order, for the one-line error.
FIRST_LOAD_ERRORS = """
SELECT table_name, source_file, line_number, reason
FROM load_errors
ORDER BY source_file, line_number
LIMIT 3
"""


# --------------------------------------------------------------------------
# The star schema, upserted from the run's batch (staging holds only the files
# that are new since the last run; on a first run or --full-refresh that is
# every file, and the same statements build everything). The engine runs them
# in STAR_UPSERTS order inside one transaction, with the record of loaded
# files. ``{p}`` is the driver's parameter marker: the one parameter is the
# highest songplay_id before this run ("before"; 0 on an empty warehouse).
#
# Why the result equals one full load of every file, whatever the order the
# files arrived in: each choice below is the first row of a total order, and
# the first of a union is the first of the firsts. So a key touched by the
# batch is chosen again from everything loaded for it so far: song_catalog
# (every song record), user_latest (each user's best event so far) plus the
# batch. Upserts are delete-then-insert of the touched keys, the pattern AWS
# recommends for Redshift (https://docs.aws.amazon.com/redshift/latest/dg/merge-replacing-existing-rows.html),
# and the same SQL on DuckDB and PostgreSQL.
# --------------------------------------------------------------------------

SONG_CATALOG_INSERT = """
INSERT INTO song_catalog (num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
                          artist_name, song_id, title, duration, year)
SELECT num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
       artist_name, song_id, title, duration, year
FROM staging_songs
"""

def delete_touched(table: str, key: str, batch: str) -> str:
    """The delete of delete-then-insert: the rows of ``table`` whose key the batch touches."""
    return f"\nDELETE FROM {table}\nWHERE {key} IN (SELECT {key} FROM {batch})\n"


SONGS_DELETE = delete_touched("songs", "song_id", "staging_songs")

SONGS_INSERT = """
INSERT INTO songs (song_id, title, artist_id, year, duration)
WITH source AS (
    SELECT
        song_id,
        title,
        artist_id,
        -- the Million Song Dataset writes 0 for an unknown year
        CASE WHEN year = 0 THEN NULL ELSE year END AS year,
        duration,
        ROW_NUMBER() OVER (
            PARTITION BY song_id
            ORDER BY title, artist_id, duration, year
        ) AS copy_number
    FROM song_catalog
    WHERE song_id IN (SELECT song_id FROM staging_songs)
)
SELECT
    song_id,
    title,
    artist_id,
    year,
    duration
FROM source
WHERE copy_number = 1
"""

ARTISTS_DELETE = delete_touched("artists", "artist_id", "staging_songs")

ARTISTS_INSERT = """
INSERT INTO artists (artist_id, name, location, latitude, longitude)
WITH source AS (
    SELECT
        artist_id,
        artist_name AS name,
        artist_location AS location,
        artist_latitude AS latitude,
        artist_longitude AS longitude,
        -- an artist's songs may spell the name or place differently: take all
        -- fields from one song, preferring one that gives a location, then
        -- the smallest song_id
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY
                CASE WHEN artist_location IS NULL THEN 1 ELSE 0 END,
                song_id,
                artist_name,
                artist_location,
                artist_latitude,
                artist_longitude
        ) AS preference
    FROM song_catalog
    WHERE artist_id IN (SELECT artist_id FROM staging_songs)
)
SELECT
    artist_id,
    name,
    location,
    latitude,
    longitude
FROM source
WHERE preference = 1
"""

# A staged userId as the text of a user's number: NULL when logged out. The
# logs write "" for a logged-out event; COPY's BLANKSASNULL and EMPTYASNULL
# are documented for delimited fields, not for JSON
# (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html),
# so a blank id is turned into NULL here, in documented SQL
# (https://docs.aws.amazon.com/redshift/latest/dg/r_NULLIF_function.html), whatever staging kept.
USER_ID = "NULLIF(TRIM(user_id), '')"

STAGING_USERS_DELETE = "DELETE FROM staging_users"

STAGING_USERS_INSERT = """
INSERT INTO staging_users (user_id, ts, session_id, item_in_session, level, first_name, last_name, gender)
WITH batch AS (
    SELECT
        CAST({user_id} AS INTEGER) AS user_id,
        ts,
        session_id,
        item_in_session,
        level,
        first_name,
        last_name,
        gender
    FROM staging_events
    WHERE {user_id} IS NOT NULL
),
candidates AS (
    SELECT * FROM batch
    UNION ALL
    -- what was chosen before for the same users competes with the batch
    SELECT user_id, ts, session_id, item_in_session, level, first_name, last_name, gender
    FROM user_latest
    WHERE user_id IN (SELECT user_id FROM batch)
),
-- Only the events at a user's latest ts can win, so only those are ranked
-- (a streaming MAX per user, then a window over about one row per user
-- instead of one over every event). ts is never NULL here: a record without
-- one is rejected (sparkify/rules.py).
latest AS (
    SELECT
        user_id,
        MAX(ts) AS ts
    FROM candidates
    GROUP BY user_id
),
ranked AS (
    SELECT
        candidates.*,
        -- the latest event wins: users switch free <-> paid over time. The
        -- user is the number ("7", "07" and "+7" are one user). NULLS LAST is
        -- spelled out: engines differ on where NULLs go in a DESC order.
        ROW_NUMBER() OVER (
            PARTITION BY candidates.user_id
            ORDER BY
                candidates.session_id DESC NULLS LAST,
                candidates.item_in_session DESC NULLS LAST,
                candidates.level,
                candidates.first_name,
                candidates.last_name,
                candidates.gender
        ) AS recency
    FROM candidates
    JOIN latest
        ON latest.user_id = candidates.user_id
        AND latest.ts = candidates.ts
)
SELECT user_id, ts, session_id, item_in_session, level, first_name, last_name, gender
FROM ranked
WHERE recency = 1
""".replace("{user_id}", USER_ID)

USER_LATEST_DELETE = delete_touched("user_latest", "user_id", "staging_users")

USER_LATEST_INSERT = """
INSERT INTO user_latest (user_id, ts, session_id, item_in_session, level, first_name, last_name, gender)
SELECT user_id, ts, session_id, item_in_session, level, first_name, last_name, gender
FROM staging_users
"""

USERS_DELETE = delete_touched("users", "user_id", "staging_users")

USERS_INSERT = """
INSERT INTO users (user_id, first_name, last_name, gender, level)
SELECT user_id, first_name, last_name, gender, level
FROM staging_users
"""

# The batch's plays, numbered after the highest id so far in a stable order
# (ids are never reused and never change; a late file's plays get new ids):
# by ts, then session, item, user, length, song, artist. The numbering is
# done per hour of start_time, each hour's numbers offset by the plays of the
# hours before it, which gives the same ids as one ROW_NUMBER() over all the
# plays without its single sort: DuckDB sorts the hours apart and in parallel
# (one sort of 7.7 million plays: 34 s against 20 s for the two statements
# that number them), and Redshift spreads the partitions over its slices (a
# window with no PARTITION BY runs on one slice). Only the running sum over
# the hours' counts (one row per hour) is ordered as a whole. Redshift
# requires the frame clause with ORDER BY in an aggregate window function:
# https://docs.aws.amazon.com/redshift/latest/dg/r_Window_function_synopsis.html
_NEW_PLAYS = """
    SELECT
        CAST({p} AS BIGINT) + hours.plays_before + ROW_NUMBER() OVER (
            PARTITION BY events.hour
            ORDER BY events.ts, events.session_id, events.item_in_session, events.user_id,
                events.length, events.song, events.artist
        ) AS songplay_id,
        events.start_time,
        CAST(events.user_id AS INTEGER) AS user_id,
        events.level,
        events.song,
        events.artist,
        events.length,
        events.session_id,
        events.location,
        events.user_agent
    FROM (
        SELECT
            ts,
            {start_time} AS start_time,
            DATE_TRUNC('hour', {start_time}) AS hour,
            {user_id} AS user_id,
            level,
            song,
            artist,
            length,
            session_id,
            item_in_session,
            location,
            user_agent
        FROM staging_events
        WHERE page = 'NextSong'
    ) AS events
    JOIN (
        SELECT
            hour,
            SUM(plays) OVER (ORDER BY hour ROWS UNBOUNDED PRECEDING) - plays AS plays_before
        FROM (
            SELECT
                hour,
                COUNT(*) AS plays
            FROM (
                SELECT DATE_TRUNC('hour', {start_time}) AS hour
                FROM staging_events
                WHERE page = 'NextSong'
            ) AS played
            GROUP BY hour
        ) AS counts
    ) AS hours
        ON hours.hour = events.hour
""".replace("{user_id}", USER_ID)

SONGPLAY_TRACKS_INSERT = f"""
INSERT INTO songplay_tracks (songplay_id, song, artist, length)
WITH plays AS ({_NEW_PLAYS})
SELECT songplay_id, song, artist, length
FROM plays
"""


def _best_match(tracks: str) -> str:
    """The song each track (song, artist, length) of ``tracks`` is a play of: the
    catalogue songs whose title and artist name equal the play's, the closest
    duration first, then the smallest song_id."""
    return f"""
    SELECT
        song,
        artist,
        length_key,
        song_id,
        artist_id
    FROM (
        SELECT
            tracks.song,
            tracks.artist,
            COALESCE(tracks.length, -1) AS length_key,  -- lengths are positive: -1 stands for NULL
            catalog.song_id,
            catalog.artist_id,
            ROW_NUMBER() OVER (
                PARTITION BY tracks.song, tracks.artist, tracks.length
                ORDER BY ABS(catalog.duration - tracks.length) NULLS LAST, catalog.song_id, catalog.artist_id
            ) AS closeness
        FROM ({tracks}) AS tracks
        JOIN song_catalog AS catalog
            ON catalog.title = tracks.song
            AND catalog.artist_name = tracks.artist
        WHERE catalog.song_id IS NOT NULL
    ) AS candidates
    WHERE closeness = 1"""


SONGPLAYS_INSERT = f"""
INSERT INTO songplays (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
WITH plays AS ({_NEW_PLAYS}),
best_match AS ({_best_match("SELECT DISTINCT song, artist, length FROM plays")}
)
SELECT
    plays.songplay_id,
    plays.start_time,
    plays.user_id,
    plays.level,
    best_match.song_id,
    best_match.artist_id,
    plays.session_id,
    plays.location,
    plays.user_agent
FROM plays
LEFT JOIN best_match
    ON best_match.song = plays.song
    AND best_match.artist = plays.artist
    AND best_match.length_key = COALESCE(plays.length, -1)
"""

# Plays loaded before a song of the batch arrived may now match it (or match a
# closer one): their tracks are matched again against the whole catalogue.
# Adding songs never takes a match away, so only these plays can change.
# (Not "old" for the earlier tracks: OLD is a Redshift reserved word, which
# an unquoted alias must not be: https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html)
SONGPLAYS_REMATCH = f"""
UPDATE songplays
SET
    song_id = rematch.song_id,
    artist_id = rematch.artist_id
FROM (
    SELECT
        tracks.songplay_id,
        best_match.song_id,
        best_match.artist_id
    FROM songplay_tracks AS tracks
    JOIN ({_best_match('''
        SELECT DISTINCT earlier.song, earlier.artist, earlier.length
        FROM songplay_tracks AS earlier
        JOIN staging_songs AS arrived
            ON arrived.title = earlier.song
            AND arrived.artist_name = earlier.artist
        WHERE earlier.songplay_id <= {p}''')}
    ) AS best_match
        ON best_match.song = tracks.song
        AND best_match.artist = tracks.artist
        AND best_match.length_key = COALESCE(tracks.length, -1)
    WHERE tracks.songplay_id <= {{p}}
) AS rematch
WHERE songplays.songplay_id = rematch.songplay_id
"""

TIME_INSERT = """
INSERT INTO time (start_time, hour, day, week, month, year, weekday)
WITH source AS (
    -- the new plays' start times that have no time row yet
    SELECT DISTINCT songplays.start_time
    FROM songplays
    LEFT JOIN time ON time.start_time = songplays.start_time
    WHERE songplays.songplay_id > {p}
      AND time.start_time IS NULL
)
SELECT
    start_time,
    CAST(EXTRACT(hour FROM start_time) AS INTEGER) AS hour,
    CAST(EXTRACT(day FROM start_time) AS INTEGER) AS day,
    CAST(EXTRACT(week FROM start_time) AS INTEGER) AS week,
    CAST(EXTRACT(month FROM start_time) AS INTEGER) AS month,
    CAST(EXTRACT(year FROM start_time) AS INTEGER) AS year,
    CAST(EXTRACT(dow FROM start_time) AS INTEGER) AS weekday
FROM source
"""

# (what it builds, statement), in order: songs before plays (plays match the
# catalogue), plays before time.
STAR_UPSERTS = (
    ("song_catalog", SONG_CATALOG_INSERT),
    ("songs", SONGS_DELETE),
    ("songs", SONGS_INSERT),
    ("artists", ARTISTS_DELETE),
    ("artists", ARTISTS_INSERT),
    ("users", STAGING_USERS_DELETE),
    ("users", STAGING_USERS_INSERT),
    ("users", USER_LATEST_DELETE),
    ("users", USER_LATEST_INSERT),
    ("users", USERS_DELETE),
    ("users", USERS_INSERT),
    ("songplays", SONGPLAY_TRACKS_INSERT),
    ("songplays", SONGPLAYS_INSERT),
    ("songplays", SONGPLAYS_REMATCH),
    ("time", TIME_INSERT),
)

LAST_SONGPLAY_ID = "SELECT COALESCE(MAX(songplay_id), 0) FROM songplays"


def before_parameters(statement: str, before: int) -> list[int] | None:
    """A statement's parameters: the highest songplay_id before the run, once per ``{p}`` marker."""
    return [before] * statement.count("{p}") or None

# --------------------------------------------------------------------------
# Checks run inside the star-schema transaction, after the upserts. Each
# returns one row (what, found, expected) per problem; any row rolls the load
# back. They look at what this run added (ids above "before", {p}) and at the
# small tables whole, so a daily run checks what the new day costs.
# --------------------------------------------------------------------------

CHECKS = {
    "every NextSong event is exactly one songplay": """
SELECT 'songplays' AS what, found, expected
FROM (
    SELECT
        (SELECT COUNT(*) FROM songplays WHERE songplay_id > {p}) AS found,
        (SELECT COUNT(*) FROM staging_events WHERE page = 'NextSong') AS expected
) AS counts
WHERE found <> expected
""",
    "one row per key in every table": """
SELECT what, found, expected
FROM (
    SELECT 'users' AS what, COUNT(*) AS found, COUNT(DISTINCT user_id) AS expected FROM users
    UNION ALL SELECT 'songs', COUNT(*), COUNT(DISTINCT song_id) FROM songs
    UNION ALL SELECT 'artists', COUNT(*), COUNT(DISTINCT artist_id) FROM artists
    UNION ALL SELECT 'time', COUNT(*), COUNT(DISTINCT start_time) FROM time WHERE start_time IN (
        SELECT start_time FROM songplays WHERE songplay_id > {p})
    UNION ALL SELECT 'songplays', COUNT(*), COUNT(DISTINCT songplay_id) FROM songplays WHERE songplay_id > {p}
) AS keys
WHERE found <> expected
""",
    "a time row for every songplay": """
SELECT 'songplays without a time row' AS what, missing AS found, 0 AS expected
FROM (
    SELECT COUNT(*) AS missing
    FROM songplays
    LEFT JOIN time ON time.start_time = songplays.start_time
    WHERE songplays.songplay_id > {p}
      AND time.start_time IS NULL
) AS gaps
WHERE missing > 0
""",
}

# --------------------------------------------------------------------------
# The summary at the end of a run.
# --------------------------------------------------------------------------


def count_rows(table: str) -> str:
    return f"SELECT COUNT(*) FROM {table}"


MATCH_RATE = """
SELECT
    COUNT(*) AS plays,
    COUNT(song_id) AS matched
FROM songplays
"""
