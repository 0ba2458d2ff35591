"""A file is loaded once whatever its name: renamed, copied, linked or found under another root, its
records are never counted twice; a file that changes while it is read is never recorded as loaded.

Every outcome is compared with one fresh full load of the same final files, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
from helpers import build, event, fetch, play, run, song
from test_incremental import differences, etl_run, everything, star, ts

import etl
from sparkify import staging

RENAMED = "2018/11/0-renamed.json"  # before the original by name: a link is listed by this name


@pytest.fixture
def loaded(warehouse, inputs):
    """One day of three plays and two songs loaded; returns the config."""
    inputs.events([event(ts=ts(1, 0)), play("Song A", "Artist A", 200.0, ts=ts(1, 1)),
                   play("Song B", "Artist B", 100.0, ts=ts(1, 2), userId="11"),
                   play("Song A", "Artist A", 200.0, ts=ts(1, 3), userId="12")])
    inputs.songs([song("SOA", "Song A", "ARA", "Artist A", 200.0), song("SOB", "Song B", "ARB", "Artist B", 99.0)])
    assert build(warehouse) == 0
    return warehouse


def day1(inputs):
    return inputs.log_data / "2018" / "11" / "2018-11-01-events.json"


def same_content_warning(name: str, other: str = "2018/11/2018-11-01-events.json") -> str:
    return (f"warning: LOG_DATA file {name} has the same content as {other}: recorded, not loaded again "
            "(python etl.py --full-refresh to load every name)")


def full_load_of(new_config) -> dict:
    """The star schema of one create_tables.py + etl.py over the same files."""
    assert build(new_config) == 0
    return star(new_config)


@pytest.fixture
def full_config(new_warehouse, inputs, tmp_path):
    """A second, empty warehouse of the same engine on the same input, for the full load to compare with."""
    return new_warehouse(tmp_path / "full", input_dir=inputs.root)


@pytest.mark.parametrize("how", ["rename", "copy", "hard link", "symbolic link"])
def test_a_file_under_another_name_is_never_loaded_twice(how, loaded, inputs, full_config, capsys):
    original = day1(inputs)
    renamed = inputs.log_data / RENAMED
    {"rename": os.rename, "copy": shutil.copy2, "hard link": os.link,
     "symbolic link": lambda src, dst: os.symlink(src.name, dst)}[how](original, renamed)
    plays = fetch(loaded, "SELECT COUNT(*) FROM songplays")

    code, _, err = etl_run(loaded, capsys)

    assert code == 0
    assert err.splitlines() == [same_content_warning(RENAMED)]
    assert fetch(loaded, "SELECT COUNT(*) FROM songplays") == plays == [(3,)]
    recorded = fetch(loaded, "SELECT file_name, row_count, content_hash FROM loaded_files WHERE source = 'LOG_DATA' "
                             "ORDER BY file_name")
    digest = "sha256:" + hashlib.sha256(renamed.read_bytes()).hexdigest()
    assert recorded == [(RENAMED, 0, digest), ("2018/11/2018-11-01-events.json", 4, digest)]
    code, out, err = etl_run(loaded, capsys)
    assert (code, err) == (0, "") and "nothing new to load" in out  # known by its new name now
    assert differences(star(loaded), full_load_of(full_config)) == []


def test_a_full_load_reads_a_content_once_whatever_its_names(warehouse, inputs, capsys):
    inputs.events([play("Song A", "Artist A", 200.0, ts=ts(1, 1))])
    shutil.copy(day1(inputs), inputs.log_data / "2018" / "11" / "2018-11-01-events-copy.json")
    inputs.songs([song("SOA", "Song A", "ARA", "Artist A", 200.0)])
    capsys.readouterr()

    assert build(warehouse) == 0

    assert capsys.readouterr().err.splitlines() == [
        same_content_warning("2018/11/2018-11-01-events.json", "2018/11/2018-11-01-events-copy.json")]
    assert fetch(warehouse, "SELECT COUNT(*) FROM songplays") == [(1,)]


def test_two_new_names_of_one_content_in_one_run_load_it_once(loaded, inputs, full_config, capsys):
    day2 = inputs.events([play("Song B", "Artist B", 100.0, ts=ts(2, 1))], name="2018-11-02-events.json")
    shutil.copy(day2, inputs.log_data / "2018" / "11" / "2018-11-02-copy.json")

    code, _, err = etl_run(loaded, capsys)

    assert code == 0
    assert err.splitlines() == [same_content_warning("2018/11/2018-11-02-events.json", "2018/11/2018-11-02-copy.json")]
    assert fetch(loaded, "SELECT COUNT(*) FROM songplays") == [(4,)]
    assert differences(star(loaded), full_load_of(full_config)) == []


@pytest.mark.parametrize("root", ["log_data/2018", "log_data/2018/11/2018-11-01-events.json"], ids=["folder", "file"])
def test_another_input_root_stops_the_run_naming_both_roots(root, loaded, inputs, capsys):
    before = everything(loaded)
    loaded.write_text(loaded.read_text().replace("LOG_DATA = input/log_data", f"LOG_DATA = input/{root}"))

    assert etl_run(loaded, capsys) == (1, "", (
        f"error: LOG_DATA is {inputs.root / root}, but the files loaded so far were found under {inputs.log_data} - "
        "every file would look new and be loaded twice: set LOG_DATA back, or python etl.py --full-refresh "
        "rebuilds from the new one\n"))
    assert everything(loaded) == before

    assert etl_run(loaded, capsys, "--full-refresh")[0] == 0  # what the message offers
    assert fetch(loaded, "SELECT COUNT(*) FROM songplays") == [(3,)]
    assert fetch(loaded, "SELECT DISTINCT input_root FROM loaded_files WHERE source = 'LOG_DATA'") == [
        (str(inputs.root / root),)]


def test_a_file_that_grows_while_it_is_read_stops_the_run_naming_it(loaded, inputs, monkeypatch, capsys):
    day2 = inputs.events([play("Song B", "Artist B", 100.0, ts=ts(2, 1))], name="2018-11-02-events.json")
    before = {**star(loaded), "loaded_files": fetch(loaded, "SELECT * FROM loaded_files ORDER BY file_name")}
    read = staging.LocalJsonReader.load

    def appended_while_read(self, files):
        report = read(self, files)
        with day2.open("a", encoding="utf-8") as out:  # the writer appends a play as the reader finishes
            out.write(json.dumps(play("Song A", "Artist A", 200.0, ts=ts(2, 2))) + "\n")
        return report

    monkeypatch.setattr(staging.LocalJsonReader, "load", appended_while_read)

    assert etl_run(loaded, capsys) == (1, "", (
        "error: LOG_DATA file 2018/11/2018-11-02-events.json changed while it was read (size or modification time) - "
        "nothing was loaded; run again once it is complete\n"))
    assert {**star(loaded), "loaded_files": fetch(loaded, "SELECT * FROM loaded_files ORDER BY file_name")} == before

    monkeypatch.setattr(staging.LocalJsonReader, "load", read)  # the writer is done
    assert etl_run(loaded, capsys)[::2] == (0, "")  # complete now: loaded whole, recorded at the size loaded
    assert fetch(loaded, "SELECT size_bytes, row_count FROM loaded_files WHERE file_name LIKE '%11-02%'") == [
        (day2.stat().st_size, 2)]


def test_a_warehouse_whose_record_lacks_the_identity_columns_is_told_to_run_create_tables(loaded, engine_name,
                                                                                         capsys):
    from sparkify.config import load_config
    from sparkify.engines import connect

    with connect(load_config(str(loaded))) as engine, engine.transaction():  # as an older version made it
        engine.execute("ALTER TABLE loaded_files DROP COLUMN input_root")
        engine.execute("ALTER TABLE loaded_files DROP COLUMN content_hash")
    before = everything(loaded)

    assert etl_run(loaded, capsys) == (1, "", (
        f"error: table loaded_files has no column content_hash in the {engine_name} warehouse (made by an older "
        "version) - run create_tables.py first\n"))
    assert everything(loaded) == before
    assert run(etl, "--config", loaded, "-q", "--dry-run") == 1
