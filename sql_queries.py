"""All the warehouse SQL, written once for DuckDB, PostgreSQL and Redshift.

Where the dialects differ the statement has a placeholder that the engine fills
(see ``sparkify/engines``, one small class per engine, like dbt's
``default__`` / ``postgres__`` macros):

- ``{attributes}``: what follows a CREATE TABLE's column list. Redshift gives
  DISTSTYLE / DISTKEY / SORTKEY (reasoning beside each table below and in the
  README); DuckDB and PostgreSQL give nothing.
- ``{start_time}``: turns the event's ``ts`` (epoch milliseconds, UTC) into a
  TIMESTAMP keeping the milliseconds.

Nothing here reads configuration or touches a database: this module only holds
text. The input rules are declared in ``sparkify/rules.py``; the staging loads
(COPY from S3, COPY FROM STDIN, DuckDB's JSON reader) live with their engines
and ``sparkify/reader.py``.
"""

import re

# --------------------------------------------------------------------------
# Tables, in creation order. Column order of staging_events is the order of the
# paths in the jsonpaths file (Redshift COPY maps them by position).
# --------------------------------------------------------------------------

STAGING_EVENTS_COLUMNS = (
    "artist",
    "auth",
    "first_name",
    "gender",
    "item_in_session",
    "last_name",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "session_id",
    "song",
    "status",
    "ts",
    "user_agent",
    "user_id",
)

# The key each staging_events column comes from, as in the jsonpaths file.
EVENT_JSON_KEYS = (
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
)

# Song files are loaded with 'auto ignorecase': columns are named as the keys.
STAGING_SONGS_COLUMNS = (
    "num_songs",
    "artist_id",
    "artist_latitude",
    "artist_longitude",
    "artist_location",
    "artist_name",
    "song_id",
    "title",
    "duration",
    "year",
)

# No PRIMARY KEY constraints: Redshift does not enforce them, and keeping an
# index up to date would cost DuckDB more than the whole load. Uniqueness of
# every key is checked inside the load's transaction instead (CHECKS below).
CREATE_TABLES = {
    # Staging: loaded whole and scanned whole once per run -> EVEN spreads the
    # COPY over every slice; no sort key (nothing is range-filtered).
    "staging_events": """
CREATE TABLE staging_events (
    artist           VARCHAR(1024),
    auth             VARCHAR(32),
    first_name       VARCHAR(256),
    gender           VARCHAR(16),
    item_in_session  INTEGER,
    last_name        VARCHAR(256),
    length           DOUBLE PRECISION,
    level            VARCHAR(16),
    location         VARCHAR(1024),
    method           VARCHAR(16),
    page             VARCHAR(64),
    registration     DOUBLE PRECISION,
    session_id       BIGINT,
    song             VARCHAR(1024),
    status           INTEGER,
    ts               BIGINT,          -- epoch milliseconds, UTC
    user_agent       VARCHAR(1024),
    user_id          VARCHAR(32)      -- as in the logs: text, NULL when logged out
){attributes}""",
    "staging_songs": """
CREATE TABLE staging_songs (
    num_songs         INTEGER,
    artist_id         VARCHAR(32),
    artist_latitude   DOUBLE PRECISION,
    artist_longitude  DOUBLE PRECISION,
    artist_location   VARCHAR(1024),
    artist_name       VARCHAR(1024),
    song_id           VARCHAR(32),
    title             VARCHAR(1024),
    duration          DOUBLE PRECISION,
    year              INTEGER          -- 0 in the source means unknown
){attributes}""",
    # Rejected input records of the latest run (replaced at every run).
    "load_errors": """
CREATE TABLE load_errors (
    table_name   VARCHAR(32),
    source_file  VARCHAR(1024),
    line_number  BIGINT,
    column_name  VARCHAR(128),
    reason       VARCHAR(1024),
    raw_line     VARCHAR(65535)
){attributes}""",
    # The fact table: the largest. Distributed on start_time: values are near
    # unique, so rows spread evenly (song_id and user_id would skew: most plays
    # match no song, a few users play most), and its join with time is local.
    # Sorted on start_time: analysts filter by date range.
    "songplays": """
CREATE TABLE songplays (
    songplay_id  BIGINT NOT NULL,
    start_time   TIMESTAMP NOT NULL,
    user_id      INTEGER,
    level        VARCHAR(16),
    song_id      VARCHAR(32),
    artist_id    VARCHAR(32),
    session_id   BIGINT,
    location     VARCHAR(1024),
    user_agent   VARCHAR(1024)
){attributes}""",
    # Small dimensions (thousands of users, at most a few million songs and
    # artists in the whole Million Song Dataset): a copy on every node (ALL)
    # makes every join with songplays local. Sorted on the key for lookups.
    "users": """
CREATE TABLE users (
    user_id     INTEGER NOT NULL,
    first_name  VARCHAR(256),
    last_name   VARCHAR(256),
    gender      VARCHAR(16),
    level       VARCHAR(16)
){attributes}""",
    "songs": """
CREATE TABLE songs (
    song_id    VARCHAR(32) NOT NULL,
    title      VARCHAR(1024),
    artist_id  VARCHAR(32),
    year       INTEGER,               -- NULL when unknown
    duration   DOUBLE PRECISION
){attributes}""",
    "artists": """
CREATE TABLE artists (
    artist_id  VARCHAR(32) NOT NULL,
    name       VARCHAR(1024),
    location   VARCHAR(1024),
    latitude   DOUBLE PRECISION,
    longitude  DOUBLE PRECISION
){attributes}""",
    # As many rows as distinct songplays start times, so as large as the fact:
    # distributed and sorted like songplays, so their join stays on each slice.
    "time": """
CREATE TABLE time (
    start_time  TIMESTAMP NOT NULL,
    hour        INTEGER,
    day         INTEGER,
    week        INTEGER,              -- ISO week
    month       INTEGER,
    year        INTEGER,
    weekday     INTEGER               -- 0 = Sunday .. 6 = Saturday
){attributes}""",
}

# Redshift's DISTSTYLE / DISTKEY / SORTKEY, per table (reasons above).
REDSHIFT_ATTRIBUTES = {
    "staging_events": "DISTSTYLE EVEN",
    "staging_songs": "DISTSTYLE EVEN",
    "load_errors": "DISTSTYLE ALL",
    "songplays": "DISTKEY (start_time) SORTKEY (start_time)",
    "users": "DISTSTYLE ALL SORTKEY (user_id)",
    "songs": "DISTSTYLE ALL SORTKEY (song_id)",
    "artists": "DISTSTYLE ALL SORTKEY (artist_id)",
    "time": "DISTKEY (start_time) SORTKEY (start_time)",
}

def text_widths(table: str) -> dict[str, int]:
    """The declared VARCHAR(n) width of each text column of a table, from its DDL."""
    return {name: int(width) for name, width in re.findall(r"^\s+(\w+)\s+VARCHAR\((\d+)\)", CREATE_TABLES[table], re.M)}


STAGING_TABLES = ("staging_events", "staging_songs")
STAGING_COLUMNS = {"staging_events": STAGING_EVENTS_COLUMNS, "staging_songs": STAGING_SONGS_COLUMNS}
# What a staging load replaces: the staging tables and the rejected records.
LOADED_TABLES = (*STAGING_TABLES, "load_errors")
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
ALL_TABLES = tuple(CREATE_TABLES)


def drop_table(table: str) -> str:
    return f"DROP TABLE IF EXISTS {table}"


def delete_rows(table: str) -> str:
    return f"DELETE FROM {table}"


# The first rejected records of a load, in file order, for the one-line error.
FIRST_LOAD_ERRORS = """
SELECT table_name, source_file, line_number, reason
FROM load_errors
ORDER BY source_file, line_number
LIMIT 3
"""


# --------------------------------------------------------------------------
# The star schema, built from staging with INSERT ... SELECT. The engine runs
# them in this order inside one transaction after emptying the five tables.
# --------------------------------------------------------------------------

USERS_INSERT = """
INSERT INTO users (user_id, first_name, last_name, gender, level)
WITH source AS (
    SELECT
        CAST(user_id AS INTEGER) AS user_id,
        first_name,
        last_name,
        gender,
        level,
        -- the latest event wins: users switch free <-> paid over time. The
        -- user is the number ("7", "07" and "+7" are one user). NULLS LAST is
        -- spelled out: engines differ on where NULLs go in a DESC order.
        ROW_NUMBER() OVER (
            PARTITION BY CAST(user_id AS INTEGER)
            ORDER BY
                ts DESC NULLS LAST,
                session_id DESC NULLS LAST,
                item_in_session DESC NULLS LAST,
                level,
                first_name,
                last_name,
                gender
        ) AS recency
    FROM staging_events
    WHERE user_id IS NOT NULL
)
SELECT
    user_id,
    first_name,
    last_name,
    gender,
    level
FROM source
WHERE recency = 1
"""

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
    FROM staging_songs
    WHERE song_id IS NOT NULL
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
                artist_location
        ) AS preference
    FROM staging_songs
    WHERE artist_id IS NOT NULL
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

SONGPLAYS_INSERT = """
INSERT INTO songplays (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
WITH played AS (
    -- each played track once: all plays of a (song, artist, length) share
    -- their match, so it is worked out once per track, not once per play
    SELECT DISTINCT
        song,
        artist,
        length
    FROM staging_events
    WHERE page = 'NextSong'
),
candidates AS (
    -- songs whose title and artist name equal the play's: the closest
    -- duration wins, then the smallest song_id
    SELECT
        played.song,
        played.artist,
        played.length,
        songs.song_id,
        songs.artist_id,
        ROW_NUMBER() OVER (
            PARTITION BY played.song, played.artist, played.length
            ORDER BY ABS(songs.duration - played.length) NULLS LAST, songs.song_id, songs.artist_id
        ) AS closeness
    FROM played
    JOIN staging_songs AS songs
        ON songs.title = played.song
        AND songs.artist_name = played.artist
    WHERE songs.song_id IS NOT NULL
),
best_match AS (
    SELECT
        song,
        artist,
        COALESCE(length, -1) AS length_key,  -- lengths are positive: -1 stands for NULL
        song_id,
        artist_id
    FROM candidates
    WHERE closeness = 1
),
plays AS (
    -- every NextSong event is one songplay, numbered in a stable order so a
    -- re-run gives every play the same id (a user plays one song at a time:
    -- these columns tell any two real plays apart)
    SELECT
        ROW_NUMBER() OVER (
            ORDER BY ts, session_id, item_in_session, user_id, length, song, artist
        ) AS songplay_id,
        {start_time} AS start_time,
        CAST(user_id AS INTEGER) AS user_id,
        level,
        song,
        artist,
        length,
        session_id,
        location,
        user_agent
    FROM staging_events
    WHERE page = 'NextSong'
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

TIME_INSERT = """
INSERT INTO time (start_time, hour, day, week, month, year, weekday)
WITH source AS (
    SELECT DISTINCT start_time
    FROM songplays
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

# (table, statement) in dependency order: time is derived from songplays.
STAR_INSERTS = (
    ("users", USERS_INSERT),
    ("songs", SONGS_INSERT),
    ("artists", ARTISTS_INSERT),
    ("songplays", SONGPLAYS_INSERT),
    ("time", TIME_INSERT),
)

# --------------------------------------------------------------------------
# Checks run inside the star-schema transaction, after the inserts. Each
# returns one row (what, found, expected) per problem; any row rolls the load
# back.
# --------------------------------------------------------------------------

CHECKS = {
    "every NextSong event is exactly one songplay": """
SELECT 'songplays' AS what, found, expected
FROM (
    SELECT
        (SELECT COUNT(*) FROM songplays) AS found,
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
    UNION ALL SELECT 'time', COUNT(*), COUNT(DISTINCT start_time) FROM time
    UNION ALL SELECT 'songplays', COUNT(*), COUNT(DISTINCT songplay_id) FROM songplays
) AS keys
WHERE found <> expected
""",
    "a time row for every songplay": """
SELECT 'songplays without a time row' AS what, missing AS found, 0 AS expected
FROM (
    SELECT COUNT(*) AS missing
    FROM songplays
    LEFT JOIN time ON time.start_time = songplays.start_time
    WHERE time.start_time IS NULL
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
