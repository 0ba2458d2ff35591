"""The Redshift gate (tests/redshift_gate.py) over every distinct statement the Redshift engine can send.

The statements are rendered the way the engine renders them, for each step of
the scenarios a user runs: create_tables.py; etl.py's first load with rejects,
daily run, run with nothing new, dry run (its printed SQL), failing checks and
full refresh; the analytics with every filter. Each is checked as sent directly
(psycopg2: ``%s``) and through the Data API (``:p1`` with NULL and '' written in).
test_redshift.py and the Data API double pass what their tests send through the
same gate; here is the whole set at once, and proof that the gate catches what
Redshift refuses.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import write_config
from redshift_gate import DOCUMENTED, RESERVED_WORDS, check, problems_of

import sql_queries as sql
from sparkify import incremental, rules, transforms
from sparkify.analytics import filters as analytics_filters
from sparkify.analytics import queries
from sparkify.config import load_config
from sparkify.engines.data_api import named_parameters
from sparkify.engines.redshift import LOAD_ERROR_COLUMNS, LOAD_ERRORS_MARKER, LOAD_ERRORS_SINCE, RedshiftEngine
from sparkify.incremental import Batch, SourceFile
from sparkify.report import planned

ARN = "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"
LOG_DATA = "s3://udacity-dend/log_data"
SONG_DATA = "s3://udacity-dend/song_data"


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> RedshiftEngine:
    path = write_config(tmp_path_factory.mktemp("gate") / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift"},
        "CLUSTER": {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439",
                    "DB_NAME": "sparkify", "DB_USER": "sparkify_admin", "IDENTIFIER": "dwh", "REGION": "us-west-2"},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": "s3://udacity-dend/log_json_path.json",
               "REGION": "us-west-2", "MANIFEST_PREFIX": "s3://my-sparkify/manifests"},
    })
    return Recording(load_config(path), None)


class Recording(RedshiftEngine):
    """The Redshift engine with every statement recorded (statement, parameters), answering with plausible rows."""

    sent: list[tuple[str, object]]

    def execute(self, statement, params=None):
        self.sent.append((statement, params))

    def query(self, statement, params=None):
        self.sent.append((statement, params))
        if "matched_plays" in statement:  # the analytics' headline
            return [(10, 2, 3, 3, 4)]
        if "MIN(start_time), MAX(start_time)" in statement:
            return [(dt.datetime(2018, 11, 1), dt.datetime(2018, 11, 30))]
        if statement == sql.LAST_SONGPLAY_ID or statement == LOAD_ERRORS_MARKER:
            return [(0,)]
        if statement == sql.MATCH_RATE:
            return [(10, 4)]
        if statement == "SELECT current_schema()":
            return [("public",)]
        if statement.startswith("SELECT COUNT(*) FROM"):
            return [(0,)]
        return []


BATCH = Batch(
    files={
        "LOG_DATA": [SourceFile("LOG_DATA", "2018/11/2018-11-03-events.json", 4096, "etag-events",
                                f"{LOG_DATA}/2018/11/2018-11-03-events.json")],
        "SONG_DATA": [SourceFile("SONG_DATA", "A/B/C/TRABCEL128F932E5AA.json", 250, "etag-song",
                                 f"{SONG_DATA}/A/B/C/TRABCEL128F932E5AA.json")],
    },
    run_id="run-1",
)

EVERY_FILTER = [
    None,
    analytics_filters.Filters(start=dt.date(2018, 11, 1)),
    analytics_filters.Filters(end=dt.date(2018, 11, 30)),
    analytics_filters.Filters(levels=("paid",)),
    analytics_filters.Filters(genders=("F", "M")),
    analytics_filters.Filters(start=dt.date(2018, 11, 1), end=dt.date(2018, 11, 30), levels=("free", "paid"),
                              genders=("F",)),
]


def sent_by_the_engine(engine: Recording) -> list[tuple[str, object]]:
    """(statement, parameters) for everything the Redshift engine, create_tables.py, etl.py and the analytics send."""
    engine.sent = []
    # create_tables.py: the existing tables, then one locked transaction of DROP + CREATE
    engine.existing_tables()
    engine.create_tables()
    with engine.transaction(writes=sql.ALL_TABLES):
        pass
    # etl.py: the record, the COPYs with their load errors, the staged rejects, the per-file counts
    incremental.read_record(engine)
    for max_errors in (0, 5, 200000):
        engine.sent.extend((statement, None) for statement in engine.staging_sql(BATCH, max_errors))
    for _, _, statement in engine.copies(BATCH, 5):  # as sent (the dry run's hide the role)
        engine.sent.append((statement, None))
    engine.sent.append((LOAD_ERRORS_MARKER, None))
    engine.sent.append((LOAD_ERRORS_SINCE, [0]))
    with engine.transaction(writes=sql.LOADED_TABLES):
        for table in sql.LOADED_TABLES:
            engine.execute(sql.delete_rows(table))
    engine.insert_rows("load_errors", LOAD_ERROR_COLUMNS, [
        ("staging_events", f"{LOG_DATA}/2018/11/2018-11-03-events.json", 3, "ts", "Invalid digit", "ts (int8), position 0"),
        ("staging_events", None, None, "userId", "", None),
    ])
    engine.sent.extend((statement, None) for statement in rules.staged_rejects(quote=engine.literal))
    incremental.per_file_counts(engine, {})
    for table in sql.STAGING_TABLES + ("load_errors",):
        engine.count(table)
    engine.query(sql.FIRST_LOAD_ERRORS)
    # the star schema (daily run, first load) and its checks, the record; then a full refresh
    record = incremental.record_rows(BATCH, None, {f"{LOG_DATA}/2018/11/2018-11-03-events.json": 1})
    transforms.build_star_schema(engine, record)
    transforms.build_star_schema(engine, record, full_refresh=True)
    for query in sql.CHECKS.values():  # a run whose checks fail sends the same statements
        engine.sent.append((engine.render(query), sql.before_parameters(query, 41)))
    # the summary at the end, and the dry run's printed SQL
    for table in sql.STAR_TABLES:
        engine.count(table)
    engine.query(sql.MATCH_RATE)
    for batch in (BATCH, Batch(files={}, run_id="run-2"), Batch(files=BATCH.files, full_refresh=True, run_id="run-3")):
        summary = planned(engine, batch, 5)
        printed = "\n".join(summary.plan or [])
        engine.sent.extend((statement, None) for statement in _printed_statements(printed))
    # the analytics, with every filter
    analytics_filters.filter_options(engine)
    for filters in EVERY_FILTER:
        for question in (queries.headline, queries.by_weekday, queries.by_level, queries.by_gender, queries.by_hour,
                         queries.operating_systems, queries.browsers, queries.daily_plays, queries.conversions):
            question(engine, filters)
        queries.top_songs(engine, filters, limit=10)
        queries.top_artists(engine, filters, limit=25)
    return engine.sent


def _printed_statements(printed: str) -> list[str]:
    """The statements of a dry run's plan: what follows "would load staging", each ending with ';' (not
    the line that stands for the record's INSERT: it is sent with its rows, as insert_rows above)."""
    lines = printed.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("would load staging")]
    statements, current = [], []
    for line in lines[starts[0] + 1 :] if starts else []:
        text = line[2:] if line.startswith("  ") else line
        if line.startswith("then run") or text.startswith("--") or "(one row per file above)" in text:
            continue
        current.append(text)
        if text.endswith(";"):
            statements.append("\n".join(current)[:-1].replace("<[IAM_ROLE] ARN>", ARN))
            current = []
    assert not current, current
    return statements


def both_connections(sent) -> list[str]:
    """Each statement as psycopg2 sends it and as the Data API does (named parameters, NULL and '' written in)."""
    statements = []
    for statement, params in sent:
        statements.append(statement)
        statements.append(named_parameters(statement, params, backslash_escapes=True)[0])
    return list(dict.fromkeys(statement.strip() for statement in statements))


def test_every_statement_the_redshift_engine_sends_passes_the_gate(engine):
    statements = both_connections(sent_by_the_engine(engine))
    assert len(statements) > 150  # every scenario's statements, both connections
    failures = [str(error) for error in _failures(statements)]
    assert not failures, f"{len(failures)} of {len(statements)} statements fail the Redshift gate:\n" + "\n".join(failures)


def _failures(statements):
    for statement in statements:
        try:
            check(statement)
        except AssertionError as error:
            yield error


# ----------------------------------------------------------------- what the gate catches


def test_an_alias_that_is_a_reserved_word_fails():
    with pytest.raises(AssertionError) as caught:
        check("SELECT DISTINCT old.song\nFROM songplay_tracks AS old\nWHERE old.songplay_id <= %s")
    assert str(caught.value).startswith("Redshift gate: SELECT DISTINCT old.song\n")
    assert "reserved word OLD used as an identifier" in str(caught.value)
    check('SELECT DISTINCT "old".song FROM songplay_tracks AS "old"')  # quoted, it is a name


def test_substring_with_two_arguments_on_text_fails():
    with pytest.raises(AssertionError, match=r"not in redshift_documented.txt: SUBSTRING/2"):
        check("SELECT SUBSTRING(user_id, 2) FROM staging_events")
    check("SELECT SUBSTRING(user_id FROM 2) FROM staging_events")
    check("SELECT SUBSTRING(user_id, 2, 9) FROM staging_events")


def test_an_undocumented_function_fails():
    with pytest.raises(AssertionError, match=r"not in redshift_documented.txt: REGEXP_FULL_MATCH/2"):
        check("SELECT regexp_full_match(user_id, '[0-9]+') FROM staging_events")
    with pytest.raises(AssertionError, match=r"not in redshift_documented.txt: relation stl_load_errors"):
        check("SELECT filename FROM stl_load_errors")


@pytest.mark.parametrize("marker", ["%s", ":p1"])
def test_a_parameter_in_limit_fails_on_either_connection(marker):
    with pytest.raises(AssertionError, match="not in redshift_documented.txt: LIMIT parameter"):
        check(f"SELECT song_id FROM songplays ORDER BY song_id LIMIT {marker}")
    check("SELECT song_id FROM songplays ORDER BY song_id LIMIT 10")
    check(f"SELECT song_id FROM songplays WHERE level = {marker} ORDER BY song_id LIMIT 10")


def test_what_does_not_parse_as_redshift_fails():
    with pytest.raises(AssertionError, match=r"does not parse as Redshift SQL \(sqlfluff\)"):
        check("SELECT a FROM t WHERE a = ANY %s ,")


def test_the_gate_names_every_problem_of_a_statement():
    problems = problems_of("SELECT SUBSTRING(x, 2), epoch_ms(ts) FROM t LIMIT %s")
    assert [p.split(": ", 1)[1] for p in problems] == ["EPOCH_MS/1", "LIMIT parameter", "SUBSTRING/2"]


def test_the_tables_are_data_with_their_pages():
    assert {"OLD", "NEW", "TIMESTAMP", "LIMIT", "USER"} <= RESERVED_WORDS and "TIME" not in RESERVED_WORDS
    assert len(RESERVED_WORDS) == 156
    assert all(url.startswith("https://docs.aws.amazon.com/redshift") for url in DOCUMENTED.values())
    assert "SUBSTRING/2" not in DOCUMENTED and "LIMIT parameter" not in DOCUMENTED
