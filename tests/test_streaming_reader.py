"""The reader streams a large file: the same records, line numbers and errors as a whole read, in bounded memory,
no further than the size the file was listed with, its content hashed on the way."""

from __future__ import annotations

import codecs
import hashlib
import io

import pytest

from sparkify import reader


def chunked(data: bytes, size: int):
    return (data[start:start + size] for start in range(0, len(data), size))


LINES = [
    codecs.BOM_UTF8 + b'{"a": 1}\n',
    b"\n",
    b'{"b": "two"}\r\n',
    b"   \n",
    b'{"c": "' + b"x" * 150 + b'"}\n',  # over the (lowered) record limit
    b" " * 150 + b"\n",  # a blank line longer than the limit: not a record
    b'{"d": "\xff"}\n',  # invalid UTF-8
    b'{"e": 5}',  # no newline at the end
]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 100_000])
def test_a_streamed_file_gives_what_a_whole_read_gives(chunk, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 100)
    monkeypatch.setattr(reader, "RAW_LINE_CHARS", 20)
    data = b"".join(LINES)

    streamed = list(reader._streamed_records(chunked(data, chunk)))

    assert streamed == list(reader._records(data))
    assert [number for number, *_ in streamed] == [1, 3, 5, 7, 8]
    assert streamed[2] == (5, '{"c": "' + "x" * 13, reader._TOO_LARGE)


def test_framing_reads_no_further_than_the_listed_size_and_hashes_what_it_read(tmp_path):
    path = tmp_path / "day.json"
    first = b'{"n": 1}\n{"n": 2}\n'
    path.write_bytes(first + b'{"n": 3}\n')  # a line appended after the listing
    out, fingerprints = io.StringIO(), {}

    reader.frame_files([str(path)], out, sizes={str(path): len(first)}, fingerprints=fingerprints)

    assert [line for line in out.getvalue().splitlines()] == [
        f'{{"f": "{path}", "n": 1, "e": null, "t": "{{\\"n\\": 1}}"}}',
        f'{{"f": "{path}", "n": 2, "e": null, "t": "{{\\"n\\": 2}}"}}',
    ]
    assert fingerprints == {str(path): "sha256:" + hashlib.sha256(first).hexdigest()}


def test_a_large_file_is_streamed_in_bounded_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(reader, "_CHUNK_BYTES", 256)
    path = tmp_path / "big.json"
    data = b"".join(b'{"n": %d}\n' % n for n in range(2000))  # 20 times the record limit
    path.write_bytes(data)
    reads = []
    original = reader._chunks

    def recording(fh, limit, digest):
        for chunk in original(fh, limit, digest):
            reads.append(len(chunk))
            yield chunk

    monkeypatch.setattr(reader, "_chunks", recording)
    out, fingerprints = io.StringIO(), {}

    reader.frame_files([str(path)], out, fingerprints=fingerprints)

    assert len(out.getvalue().splitlines()) == 2000
    assert max(reads) == 256 and sum(reads) == len(data)  # never the whole file at once
    assert fingerprints[str(path)] == "sha256:" + hashlib.sha256(data).hexdigest()
