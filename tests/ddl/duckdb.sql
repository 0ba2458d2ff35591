BEGIN;
-- end of statement
DROP TABLE IF EXISTS staging_events;
-- end of statement
DROP TABLE IF EXISTS staging_songs;
-- end of statement
DROP TABLE IF EXISTS load_errors;
-- end of statement
DROP TABLE IF EXISTS songplays;
-- end of statement
DROP TABLE IF EXISTS users;
-- end of statement
DROP TABLE IF EXISTS songs;
-- end of statement
DROP TABLE IF EXISTS artists;
-- end of statement
DROP TABLE IF EXISTS time;
-- end of statement
DROP TABLE IF EXISTS staging_users;
-- end of statement
DROP TABLE IF EXISTS song_catalog;
-- end of statement
DROP TABLE IF EXISTS user_latest;
-- end of statement
DROP TABLE IF EXISTS songplay_tracks;
-- end of statement
DROP TABLE IF EXISTS loaded_files;
-- end of statement

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
    user_id          VARCHAR(32),     -- as in the logs: text, NULL when logged out
    source_file      VARCHAR(1024)    -- the file it came from (local engines; NULL after COPY)
);
-- end of statement

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
    year              INTEGER,         -- year 0 in the source means unknown
    source_file       VARCHAR(1024)    -- the file it came from (local engines)
);
-- end of statement

CREATE TABLE load_errors (
    table_name   VARCHAR(32),
    source_file  VARCHAR(1024),
    line_number  BIGINT,
    column_name  VARCHAR(128),
    reason       VARCHAR(1024),
    raw_line     VARCHAR(65535)
);
-- end of statement

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
);
-- end of statement

CREATE TABLE users (
    user_id     INTEGER NOT NULL,
    first_name  VARCHAR(256),
    last_name   VARCHAR(256),
    gender      VARCHAR(16),
    level       VARCHAR(16)
);
-- end of statement

CREATE TABLE songs (
    song_id    VARCHAR(32) NOT NULL,
    title      VARCHAR(1024),
    artist_id  VARCHAR(32),
    year       INTEGER,               -- NULL when unknown
    duration   DOUBLE PRECISION
);
-- end of statement

CREATE TABLE artists (
    artist_id  VARCHAR(32) NOT NULL,
    name       VARCHAR(1024),
    location   VARCHAR(1024),
    latitude   DOUBLE PRECISION,
    longitude  DOUBLE PRECISION
);
-- end of statement

CREATE TABLE time (
    start_time  TIMESTAMP NOT NULL,
    hour        INTEGER,
    day         INTEGER,
    week        INTEGER,              -- ISO week
    month       INTEGER,
    year        INTEGER,
    weekday     INTEGER               -- 0 = Sunday .. 6 = Saturday
);
-- end of statement

CREATE TABLE staging_users (
    user_id          INTEGER NOT NULL,
    ts               BIGINT,
    session_id       BIGINT,
    item_in_session  INTEGER,
    level            VARCHAR(16),
    first_name       VARCHAR(256),
    last_name        VARCHAR(256),
    gender           VARCHAR(16)
);
-- end of statement

CREATE TABLE song_catalog (
    num_songs         INTEGER,
    artist_id         VARCHAR(32),
    artist_latitude   DOUBLE PRECISION,
    artist_longitude  DOUBLE PRECISION,
    artist_location   VARCHAR(1024),
    artist_name       VARCHAR(1024),
    song_id           VARCHAR(32),
    title             VARCHAR(1024),
    duration          DOUBLE PRECISION,
    year              INTEGER
);
-- end of statement

CREATE TABLE user_latest (
    user_id          INTEGER NOT NULL,
    ts               BIGINT,
    session_id       BIGINT,
    item_in_session  INTEGER,
    level            VARCHAR(16),
    first_name       VARCHAR(256),
    last_name        VARCHAR(256),
    gender           VARCHAR(16)
);
-- end of statement

CREATE TABLE songplay_tracks (
    songplay_id  BIGINT NOT NULL,
    song         VARCHAR(1024),
    artist       VARCHAR(1024),
    length       DOUBLE PRECISION
);
-- end of statement

CREATE TABLE loaded_files (
    source        VARCHAR(16) NOT NULL,    -- LOG_DATA or SONG_DATA
    file_name     VARCHAR(1024) NOT NULL,  -- relative to the input's folder or s3:// prefix
    size_bytes    BIGINT,
    version       VARCHAR(128),            -- local: modification time (ns); S3: the ETag
    row_count     BIGINT,                  -- records staged (NULL when COPY does not say)
    reject_count  BIGINT,                  -- records rejected into load_errors
    run_id        VARCHAR(36),
    loaded_at     TIMESTAMP
);
-- end of statement
COMMIT;
-- end of statement
