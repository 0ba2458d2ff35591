"""Input folders and records as found in the wild: links, loops, FIFOs, unreadable files, huge or deep records, NULs.

Every case ends in one line naming the path, or in a rejected record in
load_errors with its file and line: never a traceback, a hang, or a whole
failed run when one bad record was promised to be rejected.

Unreadable files: the tests run as root, which chmod 000 does not stop. Those
cases run etl.py in a child process without the capabilities that let root
read anything (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so
the kernel refuses the read exactly as it would for any other user.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, build, event, fetch, loaded_rows, play, run, song, write_config

import create_tables
import etl

TS = 1541105830796
SONG_A = song("SOAAA", "Song A", "ARA", "Artist A", 200.0)
BIG = 17 * 1024 * 1024  # over the 16 MB a record may hold
FIX = "make it readable by this user, or move it out of the input folder"


@pytest.fixture
def config(inputs, tmp_path) -> Path:
    """A DuckDB warehouse on the crafted inputs: for cases decided before any engine is involved."""
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })


def run_etl(config, capsys, *args) -> tuple[int, str, str]:
    """create_tables.py, then etl.py -q in this process: (exit code, stdout, stderr)."""
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    capsys.readouterr()
    code = run(etl, "--config", config, "-q", *args)
    out, err = capsys.readouterr()
    return code, out, err


def etl_process(config, *args, as_user: bool = False) -> subprocess.CompletedProcess:
    """etl.py in a child process (tables created first), killed if it has not finished in a minute.

    as_user: without root's power to read any file, so that chmod 000 stops it.
    """
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    prefix: list[str] = []
    if as_user and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and setpriv (util-linux) is missing: chmod 000 would not stop the reads")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    try:
        return subprocess.run(
            [*prefix, sys.executable, str(REPO / "etl.py"), "--config", str(config), "-q", *args],
            cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("etl.py was still running after 60 s: it waits on something that never ends")


def rejected(config) -> list[tuple]:
    return fetch(config, "SELECT source_file, line_number, column_name, reason FROM load_errors ORDER BY 1, 2")


def count(config, name: str) -> int:
    [(rows,)] = fetch(config, f"SELECT COUNT(*) FROM {name}")
    return rows


def song_file(inputs, folder: str, name: str, record: dict) -> Path:
    path = inputs.song_data / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


# ----------------------------------------------------------------- part 2: folders as found in the wild


def test_symlink_loop_among_song_folders_reads_each_song_once(inputs, config, capsys):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A, song("SOBBB", "Song B", "ARB", "Artist B", 100.0)])
    (inputs.song_data / "A" / "loop").symlink_to("..")  # song_data/A/loop -> song_data

    code, out, err = run_etl(config, capsys)

    assert (code, err) == (0, "")
    assert "staging_songs              2 rows from 2 new files" in out
    assert loaded_rows(config, "SONG_DATA") == 2


def test_links_to_one_folder_read_it_once(inputs, config, capsys):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    (inputs.song_data / "X").symlink_to("A")  # two links to one folder
    (inputs.song_data / "Y").symlink_to(inputs.song_data / "A")
    (inputs.song_data / "A" / "B" / "up").symlink_to("../..")  # a link to an ancestor
    elsewhere = inputs.root / "more_songs"  # a link out of the folder is followed, once
    song_file(inputs, "../more_songs", "TRMORE.json", song("SOBBB", "Song B", "ARB", "Artist B", 100.0))
    (inputs.song_data / "M1").symlink_to(elsewhere)
    (inputs.song_data / "M2").symlink_to(elsewhere)
    # a link into a subfolder of a linked folder, followed first (L0 < M1): its song still once
    song_file(inputs, "../more_songs/sub", "TRSUB.json", song("SOCCC", "Song C", "ARC", "Artist C", 120.0))
    (inputs.song_data / "L0").symlink_to(elsewhere / "sub")

    code, out, err = run_etl(config, capsys)

    assert (code, err) == (0, "")
    assert sorted(fetch(config, "SELECT song_id FROM songs")) == [("SOAAA",), ("SOBBB",), ("SOCCC",)]
    assert loaded_rows(config, "SONG_DATA") == 3


def test_links_to_one_file_read_it_once(inputs, config, capsys):
    path = inputs.events([play("Song A", "Artist A", 200.0)])
    (inputs.log_data / "latest.json").symlink_to(path)
    os.link(path, path.with_name("hard-link.json"))
    inputs.songs([SONG_A])

    code, out, err = run_etl(config, capsys)

    assert (code, err) == (0, "")
    assert loaded_rows(config, "LOG_DATA") == 1
    assert count(config, "songplays") == 1


def test_a_hard_link_alone_is_read_once(inputs, config, capsys):
    """No symbolic link anywhere: a file's second name is found by its link count."""
    inputs.events([play("Song A", "Artist A", 200.0)])
    path = song_file(inputs, "A", "TRAAA.json", SONG_A)
    os.link(path, inputs.song_data / "TRAAA-again.json")

    code, out, err = run_etl(config, capsys)

    assert (code, err) == (0, "")
    assert loaded_rows(config, "SONG_DATA") == 1


def test_dangling_link_named_json_is_skipped_with_one_warning(inputs, config, capsys):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    event_link = inputs.log_data / "2018" / "11" / "gone.json"
    event_link.symlink_to("no-such-file.json")
    song_link = inputs.song_data / "A" / "gone.json"
    song_link.symlink_to("gone.json")  # a link to itself: as dangling
    (inputs.song_data / "A" / ".#TRABC.json.lock").symlink_to("nothing")  # not *.json: not input, no warning

    code, out, err = run_etl(config, capsys)

    assert code == 0
    assert err.splitlines() == [
        f"warning: {event_link} is a broken symbolic link: skipped",
        f"warning: {song_link} is a broken symbolic link: skipped",
    ]
    assert count(config, "songplays") == 1


def test_fifo_named_json_is_skipped_not_waited_for(inputs, config):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    fifo = inputs.log_data / "2018" / "11" / "pipe.json"
    os.mkfifo(fifo)
    song_fifo = inputs.song_data / "A" / "pipe.json"
    os.mkfifo(song_fifo)

    done = etl_process(config)

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"warning: {fifo} is not a regular file (a FIFO): skipped",
        f"warning: {song_fifo} is not a regular file (a FIFO): skipped",
    ]
    assert count(config, "songplays") == 1


def test_directory_named_json_is_a_folder_whose_files_are_read(inputs, config, capsys):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    song_file(inputs, "odd.json", "TRODD.json", song("SOBBB", "Song B", "ARB", "Artist B", 100.0))

    code, out, err = run_etl(config, capsys)

    assert (code, err) == (0, "")
    assert loaded_rows(config, "SONG_DATA") == 2


def test_unreadable_song_file_is_named(inputs, config):
    inputs.events([play("Song A", "Artist A", 200.0)])
    [path] = inputs.songs([SONG_A])
    path.chmod(0)

    done = etl_process(config, as_user=True)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: cannot read {path}: Permission denied - {FIX}"]


def test_unreadable_event_file_is_named(inputs, config):
    path = inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    path.chmod(0)

    done = etl_process(config, as_user=True)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: cannot read {path}: Permission denied - {FIX}"]


def test_unreadable_song_folder_is_named(inputs, config):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    folder = inputs.song_data / "A" / "B"
    folder.chmod(0)

    try:
        done = etl_process(config, as_user=True)
    finally:
        folder.chmod(0o755)  # so that pytest can clean tmp_path up

    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: cannot read folder {folder}: Permission denied - {FIX}"]


def test_unreadable_jsonpaths_file_is_a_config_error(inputs, config):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    paths = shutil.copy(REPO / "data" / "sample" / "log_json_path.json", inputs.root / "paths.json")
    Path(paths).chmod(0)
    config.write_text(config.read_text() + "LOG_JSONPATH = input/paths.json\n")

    done = etl_process(config, as_user=True)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: cannot read LOG_JSONPATH file {paths}: Permission denied - check [S3] LOG_JSONPATH in the config"
    ]


@pytest.mark.parametrize("kind", ["folder", "FIFO"])
def test_jsonpaths_that_is_not_a_file_is_a_config_error(kind, inputs, config):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    paths = inputs.root / "paths.json"
    if kind == "folder":
        paths.mkdir()
    else:
        os.mkfifo(paths)
    config.write_text(config.read_text() + "LOG_JSONPATH = input/paths.json\n")

    done = etl_process(config)

    reason = "Is a directory" if kind == "folder" else "not a regular file (a FIFO)"
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: cannot read LOG_JSONPATH file {paths}: {reason} - check [S3] LOG_JSONPATH in the config"
    ]


# ----------------------------------------------------------------- part 3: records the reader cannot take


def test_record_over_16_mb_at_the_end_of_a_file_is_rejected_by_line(inputs, warehouse):
    path = inputs.events([
        json.dumps(play("Song A", "Artist A", 200.0)) + "\n",
        json.dumps(play("Song A", "Artist A", 200.0, ts=TS + 1, location="x" * BIG)),  # no newline after it
    ])
    inputs.songs([SONG_A])

    assert build(warehouse, "--max-errors", "10") == 0
    assert rejected(warehouse) == [(str(path), 2, None, "record larger than 16 MB")]
    assert count(warehouse, "songplays") == 1


def test_record_over_16_mb_is_rejected_even_when_no_rule_looks_at_it(inputs, warehouse):
    # the big value is in a key no column reads: DuckDB's own reader would take the record whole
    path = inputs.events([play("Song A", "Artist A", 200.0), play("Song A", "Artist A", 200.0, ts=TS + 1, extra="x" * BIG)])
    [_, big_song] = inputs.songs([SONG_A, song("SOBBB", "Song B", "ARB", "Artist B", 100.0, extra="x" * BIG)])

    assert build(warehouse, "--max-errors", "10") == 0
    assert rejected(warehouse) == sorted([
        (str(path), 2, None, "record larger than 16 MB"),
        (str(big_song), 1, None, "record larger than 16 MB"),
    ])
    assert count(warehouse, "songplays") == 1
    assert fetch(warehouse, "SELECT song_id FROM songs") == [("SOAAA",)]
    assert (loaded_rows(warehouse, "LOG_DATA"), loaded_rows(warehouse, "SONG_DATA")) == (1, 1)


def test_json_nested_100000_deep_is_a_rejected_record_and_the_rest_of_its_file_loads(inputs, warehouse):
    deep = "[" * 100_000 + "]" * 100_000
    path = inputs.events([
        deep + "\n",
        json.dumps(play("Song A", "Artist A", 200.0)) + "\n",
        "[" * 100_000 + "\n" + "]" * 100_000 + "\n",  # one deep document over two lines
        json.dumps(event(ts=TS + 1, deep=json.loads("[" * 500 + "]" * 500))) + "\n",  # deep but an object: valid
    ])
    songs = inputs.songs([SONG_A, deep, "[" * 100_000 + "\n" + "]" * 100_000])

    assert build(warehouse, "--max-errors", "6") == 0
    assert rejected(warehouse) == [
        (str(path), 1, None, "not a JSON object"),
        (str(path), 3, None, "malformed JSON"),
        (str(path), 4, None, "malformed JSON"),
        (str(songs[1]), 1, None, "not a JSON object"),
        (str(songs[2]), 1, None, "malformed JSON"),
        (str(songs[2]), 2, None, "malformed JSON"),
    ]
    assert loaded_rows(warehouse, "LOG_DATA") == 2
    assert fetch(warehouse, "SELECT song_id FROM songs") == [("SOAAA",)]
    assert loaded_rows(warehouse, "SONG_DATA") == 1


def test_jsonpaths_file_nested_too_deep_is_a_config_error(inputs, config, capsys):
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG_A])
    paths = inputs.root / "paths.json"
    paths.write_text("[" * 100_000 + "]" * 100_000)
    config.write_text(config.read_text() + "LOG_JSONPATH = input/paths.json\n")

    code, out, err = run_etl(config, capsys)

    assert code == 1
    assert err.splitlines() == [f'error: LOG_JSONPATH file {paths} is not a jsonpaths file ({{"jsonpaths": [...]}})']


def test_nul_character_in_a_text_field_loads_on_every_engine(inputs, warehouse, engine_name):
    inputs.events([play("Song A", "Artist A", 200.0, firstName="A\u0000da", userId="7")])
    inputs.songs([song("SOAAA", "Song A", "ARA", "Artist A", 200.0, artist_location="Lon\u0000don")])

    assert build(warehouse) == 0
    # PostgreSQL text cannot hold NUL: it is removed on the way there; DuckDB keeps it
    kept = "" if engine_name == "postgres" else "\u0000"
    assert fetch(warehouse, "SELECT user_id, first_name FROM users") == [(7, f"A{kept}da")]
    assert fetch(warehouse, "SELECT location FROM artists") == [(f"Lon{kept}don",)]


def test_gzip_file_named_json_is_rejected_line_by_line_on_every_engine(inputs, warehouse, engine_name):
    records = "".join(json.dumps(play("Song A", "Artist A", 200.0, ts=TS + n)) + "\n" for n in range(200))
    data = gzip.compress(records.encode(), mtime=0)
    path = inputs.events([json.dumps(play("Song A", "Artist A", 200.0)) + "\n"])
    gz = inputs.events([data], name="2018-11-02-events.json")
    inputs.songs([SONG_A])

    lines = [number for number, raw in enumerate(data.split(b"\n"), 1) if raw.strip()]
    assert build(warehouse, "--max-errors", str(len(lines))) == 0

    errors = rejected(warehouse)
    assert [(file, line) for file, line, _, _ in errors] == [(str(gz), number) for number in lines]
    assert {reason for _, _, _, reason in errors} <= {"invalid UTF-8", "malformed JSON", "not a JSON object"}
    if engine_name == "postgres":  # PostgreSQL text cannot hold NUL: removed on the way there
        assert not any("\x00" in text for (text,) in fetch(warehouse, "SELECT raw_line FROM load_errors"))
    assert count(warehouse, "songplays") == 1
    assert str(path) not in {file for file, _, _, _ in errors}


def test_invalid_utf8_with_nul_bytes_in_one_line_is_invalid_utf8_on_every_engine(inputs, warehouse, engine_name):
    bad = b'{"ts": 1541105830797, "userId": "11", "firstName": "Ren\xe9\x00\x00"}\n'
    nul_only = b'{"ts": 1541105830798, "userId": "12", "firstName": "A\x00da"}\n'  # a raw NUL is not valid JSON text
    path = inputs.events([json.dumps(play("Song A", "Artist A", 200.0)) + "\n", bad, nul_only])
    inputs.songs([SONG_A])

    assert build(warehouse, "--max-errors", "2") == 0
    assert rejected(warehouse) == [(str(path), 2, None, "invalid UTF-8"), (str(path), 3, None, "malformed JSON")]
    raw = [text for (text,) in fetch(warehouse, "SELECT raw_line FROM load_errors ORDER BY line_number")]
    if engine_name == "postgres":
        assert not any("\x00" in text for text in raw)
    assert raw[0].replace("\x00", "").startswith('{"ts": 1541105830797, "userId": "11", "firstName": "Ren')
    assert loaded_rows(warehouse, "LOG_DATA") == 1
