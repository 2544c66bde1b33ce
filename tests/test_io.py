import os
import stat

import pytest

from regcat.errors import RegcatError
from regcat.io import AtomicBatch, dump_yaml, parse_yaml, read_yaml, write_text_atomic


def test_canonical_yaml_drops_empty_values_and_keeps_order():
    text = dump_yaml({"id": "x", "b": None, "a": [], "label": {"nb": "Å", "en": ""}, "z": 1})
    assert text == "id: x\nlabel:\n  nb: Å\nz: 1\n"


def test_canonical_yaml_round_trips_hostile_strings(tmp_path):
    hostile = 'Ja "daglig" </script> {{ 7*7 }} \'; DROP TABLE x; --\nline two'
    text = dump_yaml({"label": hostile, "no": "no", "tab": "a\tb", "trail": "x \ny"})
    doc = parse_yaml(text.encode(), tmp_path / "x.yaml")
    assert doc.data == {"label": hostile, "no": "no", "tab": "a\tb", "trail": "x \ny"}


def test_yaml_words_stay_words_and_dates_stay_strings(tmp_path):
    doc = parse_yaml(b"a: no\nb: 2020-01-01\nc: true\nd: NO\n", tmp_path / "x.yaml")
    assert doc.data == {"a": "no", "b": "2020-01-01", "c": True, "d": "NO"}


def test_line_of_finds_ids(tmp_path):
    doc = parse_yaml(b"id: r\nvariables:\n- id: r:A\n  label: x\n- id: 'r:B'\n", tmp_path / "x")
    assert (doc.line_of("r"), doc.line_of("r:A"), doc.line_of("r:B"), doc.line_of("r:C")) == (
        1,
        3,
        5,
        None,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: [\n  b: c\n", "x.yaml:3: malformed YAML"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"label: \xff\xfe bad", "not valid UTF-8"),
    ],
)
def test_bad_yaml_gives_one_line_error(tmp_path, raw, expected):
    with pytest.raises(RegcatError) as info:
        parse_yaml(raw, tmp_path / "x.yaml")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(RegcatError, match="file not found"):
        read_yaml(tmp_path / "nope.yaml")


def test_atomic_write_leaves_no_temp_files_and_normal_mode(tmp_path):
    target = tmp_path / "d" / "f.yaml"
    write_text_atomic(target, "a: 1\n")
    assert target.read_text() == "a: 1\n"
    assert [p.name for p in target.parent.iterdir()] == ["f.yaml"]
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & 0o044, oct(mode)  # readable by others, like any file the user makes


def test_atomic_batch_writes_nothing_if_rendering_fails(tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text("old\n")
    batch = AtomicBatch()
    batch.add(first, "new\n")
    with pytest.raises(ZeroDivisionError):
        batch.add(tmp_path / "b.yaml", str(1 / 0))
    assert first.read_text() == "old\n"
    assert not (tmp_path / "b.yaml").exists()
    assert os.listdir(tmp_path) == ["a.yaml"]


@pytest.mark.parametrize(
    "value",
    [
        "0937",
        "08",
        "1",
        "-2",
        "1.5",
        "1e3",
        "0o17",
        "0x1F",
        ".inf",
        "null",
        "~",
        "True",
        "no",
        "2020-01-01",
    ],
)
def test_strings_that_look_like_other_types_stay_strings(tmp_path, value):
    doc = parse_yaml(dump_yaml({"code": value}).encode(), tmp_path / "x.yaml")
    assert doc.data == {"code": value}
