"""Tests for the streaming flow readers: every format, gzip, chunking and malformed input."""

from __future__ import annotations

import gzip
import inspect
import io
import json
import logging
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from securenet.netsec import readers
from securenet.netsec.flows import FLOW_COLUMNS, FLOW_DTYPES, flows_to_frame
from securenet.netsec.readers import (
    FORMATS,
    NSL_KDD_FEATURES,
    FlowChunk,
    Format,
    MalformedInputError,
    ReadStats,
    RecordError,
    _formats,
    _lines,
    read_all,
    read_flows,
)
from tests.netsec.kdd import kdd_lines, write_kdd

# --------------------------------------------------------------------------------------------
# Writers: render canonical flows in each format, so one table of flows checks every reader.

# conn.log's fields and Zeek types, as Zeek 6 writes them.
ZEEK_SCHEMA = {
    "ts": "time",
    "uid": "string",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    "proto": "enum",
    "service": "string",
    "duration": "interval",
    "orig_bytes": "count",
    "resp_bytes": "count",
    "conn_state": "string",
    "local_orig": "bool",
    "missed_bytes": "count",
    "history": "string",
    "orig_pkts": "count",
    "orig_ip_bytes": "count",
    "resp_pkts": "count",
    "resp_ip_bytes": "count",
    "tunnel_parents": "set[string]",
}
ZEEK_FIELDS = list(ZEEK_SCHEMA)
ZEEK_HEADER = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#open\t2024-01-01-00-00-00",
    "#fields\t" + "\t".join(ZEEK_FIELDS),
    "#types\t" + "\t".join(ZEEK_SCHEMA.values()),
]
CSV_MAP = {"orig_h": "Src IP", "orig_p": "sport", "resp_h": "dst", "resp_p": "dport", "orig_bytes": "bytes_out"}
# 41 NSL-KDD features of a real record (the second line of KDDTrain+_20Percent.txt).
KDD_LINE = (
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,"
    "150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00"
)
KDD_BASE = KDD_LINE.split(",")
KDD_NUMERIC = [f for f in NSL_KDD_FEATURES if f not in ("protocol_type", "service", "flag")]


def sample_flows(n: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "ts": 1_700_000_000.25 + i,
            "uid": f"C{i:04d}",
            "orig_h": f"10.0.0.{i + 1}",
            "orig_p": 40_000 + i,
            "resp_h": "192.168.1.1",
            "resp_p": 443 if i % 2 else 80,
            "proto": "tcp" if i % 3 else "udp",
            "service": "ssl" if i % 2 else "http",
            "duration": i * 0.5,
            "orig_bytes": 100 * i,
            "resp_bytes": 10 * i + 1,
            "conn_state": "SF" if i % 4 else "S0",
            "orig_pkts": i + 1,
            "resp_pkts": i,
        }
        for i in range(n)
    ]


def _zeek(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6f}" if isinstance(value, float) else str(value)


def zeek_row(f: dict[str, Any]) -> str:
    record = {f"id.{k}" if k in ("orig_h", "orig_p", "resp_h", "resp_p") else k: v for k, v in f.items()}
    record |= {"local_orig": "T", "missed_bytes": 0, "history": "ShADadFf", "tunnel_parents": "(empty)"}
    record |= {"orig_ip_bytes": f["orig_bytes"] + 40, "resp_ip_bytes": f["resp_bytes"] + 40}
    return "\t".join(_zeek(record[name]) for name in ZEEK_FIELDS)


def zeek_tsv(flows: list[dict[str, Any]]) -> str:
    rows = [zeek_row(f) for f in flows]
    return "\n".join([*ZEEK_HEADER, *rows, "#close\t2024-01-01-01-00-00"]) + "\n"


def zeek_labelled(flows: list[dict[str, Any]], labels: list[tuple[str, str]], layout: str) -> str:
    """A conn.log.labeled as published: Stratosphere's two extra tab columns, or IoT-23's three-space ones.

    IoT-23 joins tunnel_parents, label and detailed-label with three spaces, in #fields, #types,
    every row and even the #close trailer.
    """
    if layout == "stratosphere":
        header = [*ZEEK_HEADER[:-2], ZEEK_HEADER[-2] + "\tlabel\tdetailedlabel", ZEEK_HEADER[-1] + "\tstring\tstring"]
        rows = [f"{zeek_row(f)}\t{label}\t{detail}" for f, (label, detail) in zip(flows, labels, strict=True)]
        return "\n".join([*header, *rows]) + "\n"  # Stratosphere's files stop without #close
    fields, types = ZEEK_HEADER[-2].split("\t"), ZEEK_HEADER[-1].split("\t")
    fields[-1] += "   label   detailed-label"
    types[-1] += "   string   string"
    header = [*ZEEK_HEADER[:-2], "\t".join(fields), "\t".join(types)]
    rows = [f"{zeek_row(f)}   {label}   {detail}" for f, (label, detail) in zip(flows, labels, strict=True)]
    return "\n".join([*header, *rows, "#close\t2019-01-03-20-02-05   benign   -"]) + "\n"


def zeek_json(flows: list[dict[str, Any]]) -> str:
    lines = []
    for f in flows:
        record = {f"id.{k}" if k in ("orig_h", "orig_p", "resp_h", "resp_p") else k: v for k, v in f.items()}
        record |= {"local_orig": True, "missed_bytes": 0, "history": "ShADadFf", "tunnel_parents": []}
        lines.append(json.dumps({k: v for k, v in record.items() if v is not None}))
    return "\n".join(lines) + "\n"


def csv_text(flows: list[dict[str, Any]]) -> str:
    names = {canonical: CSV_MAP.get(canonical, canonical) for canonical in flows[0]}
    rows = [",".join(names.values()) + ",note"]
    rows += [",".join("" if v is None else str(v) for v in f.values()) + ",ok" for f in flows]
    return "\n".join(rows) + "\n"


def ndjson(flows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(f) + "\n" for f in flows)


def kdd_row(*, label: str | None = "normal", difficulty: str | None = "20", **features: object) -> str:
    values = dict(zip(NSL_KDD_FEATURES, KDD_BASE, strict=True))
    values.update({k: str(v) for k, v in features.items()})
    extra = [v for v in (label, difficulty) if v is not None]
    return ",".join([*values.values(), *extra])


def nsl_kdd(flows: list[dict[str, Any]]) -> str:
    rows = [
        kdd_row(
            duration=int(f["duration"]),
            protocol_type=f["proto"],
            service=f["service"],
            flag=f["conn_state"],
            src_bytes=f["orig_bytes"],
            dst_bytes=f["resp_bytes"],
        )
        for f in flows
    ]
    return "\n".join(rows) + "\n"


# format name -> (writer, read_flows kwargs, canonical columns the format carries)
NSL_COLUMNS = ("proto", "service", "conn_state", "orig_bytes", "resp_bytes")
WRITERS: dict[str, tuple[Callable[[list[dict[str, Any]]], str], dict[str, Any], tuple[str, ...]]] = {
    "zeek-tsv": (zeek_tsv, {"fmt": "zeek"}, FLOW_COLUMNS),
    "zeek-json": (zeek_json, {"fmt": "zeek"}, FLOW_COLUMNS),
    "csv": (csv_text, {"fmt": "csv", "column_map": CSV_MAP}, FLOW_COLUMNS),
    "ndjson": (ndjson, {"fmt": "ndjson"}, FLOW_COLUMNS),
    "nsl-kdd": (nsl_kdd, {"fmt": "nsl-kdd"}, NSL_COLUMNS),
}


def write(tmp_path: Path, text: str, name: str = "flows.log", *, compress: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --------------------------------------------------------------------------------------------
# Every format


def test_public_names_live_in_private_modules() -> None:
    # The surface itself is listed in tests/test_public_api.py.
    for name in readers.__all__:  # classes and functions live in the private modules
        value = getattr(readers, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("securenet.netsec.readers._")
    assert len(NSL_KDD_FEATURES) == 41
    assert set(FORMATS) == {"zeek", "csv", "ndjson", "nsl-kdd"}
    assert list(_formats.READERS) == list(FORMATS)  # every format has its reader, and only those


@pytest.mark.parametrize("variant", sorted(WRITERS))
def test_every_format_reads_the_same_flows(tmp_path: Path, variant: str) -> None:
    writer, kwargs, columns = WRITERS[variant]
    flows = sample_flows()
    stats = ReadStats()

    chunk = read_all(write(tmp_path, writer(flows)), stats=stats, **kwargs)

    expected = flows_to_frame(flows)
    pd.testing.assert_frame_equal(chunk.frame[list(columns)], expected[list(columns)])
    assert list(chunk.frame.columns[: len(FLOW_COLUMNS)]) == list(FLOW_COLUMNS)
    assert chunk.frame.dtypes[list(FLOW_COLUMNS)].astype(str).to_dict() == FLOW_DTYPES
    assert isinstance(chunk.frame.index, pd.RangeIndex)
    assert (stats.rows, stats.skipped, stats.errors) == (10, 0, [])


@pytest.mark.parametrize("variant", sorted(WRITERS))
def test_gzip_is_detected_by_magic_bytes(tmp_path: Path, variant: str) -> None:
    writer, kwargs, _ = WRITERS[variant]
    text = writer(sample_flows())
    plain = read_all(write(tmp_path, text, "plain.log"), **kwargs)

    # No .gz suffix: only the magic bytes can tell.
    zipped = read_all(write(tmp_path, text, "zipped.log", compress=True), **kwargs)

    pd.testing.assert_frame_equal(zipped.frame, plain.frame)


@pytest.mark.parametrize("variant", sorted(WRITERS))
def test_chunks_cover_the_stream_in_order(tmp_path: Path, variant: str) -> None:
    writer, kwargs, _ = WRITERS[variant]
    path = write(tmp_path, writer(sample_flows(10)))

    chunks = list(read_flows(path, chunk_size=3, **kwargs))

    assert [c.first_index for c in chunks] == [0, 3, 6, 9]
    assert [len(c.frame) for c in chunks] == [3, 3, 3, 1]
    assert all(isinstance(c.frame.index, pd.RangeIndex) for c in chunks)
    whole = pd.concat([c.frame for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(whole, read_all(path, **kwargs).frame)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_file_without_records_yields_nothing(tmp_path: Path, fmt: Format, text: str) -> None:
    stats = ReadStats()
    path = write(tmp_path, text)

    assert list(read_flows(path, fmt, stats=stats)) == []
    chunk = read_all(path, fmt)
    assert list(chunk.frame.columns) == list(FLOW_COLUMNS)
    assert len(chunk.frame) == 0
    assert (stats.rows, stats.skipped) == (0, 0)


@pytest.mark.parametrize("text", ["src,dst\n", "\n".join(ZEEK_HEADER) + "\n#close\tx\n"], ids=["csv", "zeek"])
def test_headers_without_records_yield_nothing(tmp_path: Path, text: str) -> None:
    fmt: Format = "csv" if text.startswith("src") else "zeek"
    assert list(read_flows(write(tmp_path, text), fmt)) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_file_raises_at_call_time(tmp_path: Path, fmt: Format) -> None:
    with pytest.raises(FileNotFoundError):
        read_flows(tmp_path / "nope.log", fmt)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmt": "pcap"}, "unknown format"),
        ({"fmt": "csv", "chunk_size": 0}, "chunk_size"),
        ({"fmt": "csv", "on_error": "ignore"}, "on_error"),
        ({"fmt": "zeek", "column_map": {"orig_h": "src"}}, "column_map applies"),
        ({"fmt": "csv", "column_map": {"source": "src"}}, "not a flow column"),
        ({"fmt": "csv", "column_map": {"orig_h": "a", "resp_h": "a"}}, "same source column"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_flows(write(tmp_path, "a\n1\n"), **kwargs)


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(ndjson(sample_flows(4)).encode())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))

    chunk = read_all("-", "ndjson")

    assert list(chunk.frame["uid"]) == ["C0000", "C0001", "C0002", "C0003"]
    assert not sys.stdin.closed


def test_closing_the_iterator_early_closes_the_file(tmp_path: Path) -> None:
    stream = read_flows(write(tmp_path, ndjson(sample_flows(10))), "ndjson", chunk_size=2)
    assert len(next(stream).frame) == 2
    stream.close()  # would leak a ResourceWarning (an error here) if the file stayed open


# --------------------------------------------------------------------------------------------
# Format details


def test_zeek_tsv_values_are_normalised(tmp_path: Path) -> None:
    row = "1331901001.5\tC3\t10.0.0.1\t3\t10.0.0.2\t0\tICMP\t-\t-\t-\t(empty)\toth\tF\t7\t-\t1\t28\t0\t0\t(empty)"
    path = write(tmp_path, "\n".join([*ZEEK_HEADER, row]) + "\n")

    frame = read_all(path, "zeek").frame

    record = frame.iloc[0]
    assert record["ts"] == 1331901001.5
    assert (record["proto"], record["service"], record["conn_state"]) == ("icmp", None, "OTH")
    assert np.isnan(record["duration"]) and np.isnan(record["orig_bytes"]) and np.isnan(record["resp_bytes"])
    # Numeric Zeek fields outside the canonical schema become extras; bool/string/set fields do not.
    assert [c for c in frame.columns if c.startswith("x_")] == ["x_missed_bytes", "x_orig_ip_bytes", "x_resp_ip_bytes"]
    assert record["x_missed_bytes"] == 7


def test_zeek_tsv_with_a_new_header_block_switches_schema(tmp_path: Path) -> None:
    first = zeek_tsv(sample_flows(2))
    second = "\n".join(["#separator \\x09", "#fields\tid.orig_h\tproto\torig_bytes", "#types\taddr\tenum\tcount"])
    path = write(tmp_path, first + second + "\n10.9.9.9\tUDP\t5\n")

    frame = read_all(path, "zeek").frame

    assert list(frame["orig_h"]) == ["10.0.0.1", "10.0.0.2", "10.9.9.9"]
    assert list(frame["proto"]) == ["udp", "tcp", "udp"]
    assert frame["orig_bytes"].iloc[2] == 5


def test_zeek_tsv_other_separator(tmp_path: Path) -> None:
    text = "#separator \\x2c\n#fields,id.orig_h,id.resp_p,proto\n#types,addr,port,enum\n1.2.3.4,53,udp\n"
    frame = read_all(write(tmp_path, text), "zeek").frame
    assert (frame["orig_h"].iloc[0], frame["resp_p"].iloc[0]) == ("1.2.3.4", 53.0)


def test_zeek_tsv_without_fields_header_names_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "#separator \\x09\n#path\tconn\n1.0\tC1\t10.0.0.1\n")

    with pytest.raises(MalformedInputError) as caught:
        list(read_flows(path, "zeek"))

    assert (caught.value.error.line, caught.value.error.field) == (1, None)
    assert "#fields" in str(caught.value)


LABELS = [("Malicious", "PartOfAHorizontalPortScan"), ("benign", "-"), ("Background", "(empty)"), ("-", "-")]


@pytest.mark.parametrize("layout", ["iot23", "stratosphere"])
def test_zeek_tsv_label_columns_are_labels(tmp_path: Path, layout: str) -> None:
    flows = sample_flows(4)
    stats = ReadStats()

    chunk = read_all(write(tmp_path, zeek_labelled(flows, LABELS, layout)), "zeek", stats=stats)

    assert chunk.labels is not None and list(chunk.labels) == ["Malicious", "benign", "Background", None]
    pd.testing.assert_frame_equal(chunk.frame, read_all(write(tmp_path, zeek_tsv(flows), "plain.log"), "zeek").frame)
    assert (stats.rows, stats.skipped) == (4, 0)


def test_zeek_json_label_is_a_label(tmp_path: Path) -> None:
    lines = [
        {"ts": 1.0, "id.orig_h": "10.0.0.1", "proto": "tcp", "label": "Benign", "detailed-label": "-"},
        {"ts": 2.0, "id.orig_h": "10.0.0.2", "proto": "tcp", "label": "Malicious", "detailed-label": "C&C"},
    ]
    chunk = read_all(write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines)), "zeek")
    assert chunk.labels is not None and list(chunk.labels) == ["Benign", "Malicious"]
    assert list(chunk.frame.columns) == list(FLOW_COLUMNS)


def test_zeek_tsv_header_lines_may_start_with_whitespace(tmp_path: Path) -> None:
    flows = sample_flows(3)
    lines = zeek_tsv(flows).splitlines()
    indented = [
        (" " * (i % 3) + "\t" * (i % 2)) + line if line.startswith("#") else line for i, line in enumerate(lines)
    ]
    assert any(line.startswith(" #") for line in indented) and any(line.startswith("\t#") for line in indented)

    chunk = read_all(write(tmp_path, "\n".join(indented) + "\n"), "zeek", on_error="fail")

    pd.testing.assert_frame_equal(chunk.frame, read_all(write(tmp_path, zeek_tsv(flows), "plain.log"), "zeek").frame)


def test_zeek_json_iso_timestamps_and_ignored_keys(tmp_path: Path) -> None:
    lines = [
        {"ts": "2024-01-01T00:00:01.5Z", "uid": "C1", "id.orig_h": "10.0.0.1", "proto": "tcp", "note": "x"},
        {"ts": 1704067202, "uid": "C2", "id.orig_h": "10.0.0.2", "proto": "udp", "tunnel_parents": ["a"]},
    ]
    path = write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines))

    frame = read_all(path, "zeek").frame

    assert list(frame["ts"]) == [1704067201.5, 1704067202.0]
    assert list(frame.columns) == list(FLOW_COLUMNS)  # text and list values are not features


def test_csv_column_map_direct_names_and_extras(tmp_path: Path) -> None:
    text = (
        "Src IP,sport,dst,dport,proto,service,bytes_out,resp_bytes,duration,conn_state,Fwd Pkts/s,note,x_score\n"
        "10.0.0.1,1234,10.0.0.2,80,TCP,http,100,200,1.5,sf,2.5,first,0.9\n"
        "10.0.0.3,1235,10.0.0.4,53,udp,-,50,,0,S0,,second,\n"
    )
    column_map = {"orig_h": "Src IP", "orig_p": "sport", "resp_h": "dst", "resp_p": "dport", "orig_bytes": "bytes_out"}

    frame = read_all(write(tmp_path, text, "flows.csv"), "csv", column_map=column_map).frame

    assert list(frame["orig_h"]) == ["10.0.0.1", "10.0.0.3"]
    assert list(frame["resp_p"]) == [80.0, 53.0]
    assert list(frame["proto"]) == ["tcp", "udp"]
    assert list(frame["service"]) == ["http", None]
    assert list(frame["conn_state"]) == ["SF", "S0"]
    assert frame["resp_bytes"].iloc[0] == 200 and np.isnan(frame["resp_bytes"].iloc[1])
    # Unknown numeric columns are kept as extras; unknown text columns are ignored.
    assert [c for c in frame.columns if c.startswith("x_")] == ["x_fwd_pkts_s", "x_score"]
    assert frame["x_fwd_pkts_s"].iloc[0] == 2.5


def test_csv_extra_decided_numeric_rejects_text_later(tmp_path: Path) -> None:
    text = "orig_h,rate\n10.0.0.1,1.5\n10.0.0.2,2\n10.0.0.3,fast\n"
    stats = ReadStats()

    chunks = list(read_flows(write(tmp_path, text), "csv", chunk_size=2, stats=stats))

    assert [list(c.frame["x_rate"]) for c in chunks] == [[1.5, 2.0], []]
    assert [(e.line, e.field) for e in stats.errors] == [(4, "rate")]


def test_csv_quoted_fields(tmp_path: Path) -> None:
    text = (
        'orig_h,service,orig_bytes\n"10.0.0.1","http, proxied","15"\n10.0.0.2,"dns",7\n'
        '"10.0.0.3,x,1\n10.0.0.4,ssh,"1,5"\n'
    )
    stats = ReadStats()

    frame = read_all(write(tmp_path, text), "csv", stats=stats).frame

    assert list(frame["service"]) == ["http, proxied", "dns"]
    assert list(frame["orig_bytes"]) == [15.0, 7.0]
    assert [(e.line, e.field) for e in stats.errors] == [(4, None), (5, "orig_bytes")]
    assert stats.errors[0].message == "unbalanced quotes"
    assert stats.errors[1].message == "not a number: '1,5'"


def test_csv_label_column_is_a_label_not_a_feature(tmp_path: Path) -> None:
    text = "orig_h,orig_bytes,Label\n10.0.0.1,5,BENIGN\n10.0.0.2,6,DDoS\n"
    chunk = read_all(write(tmp_path, text), "csv")
    assert chunk.labels is not None and list(chunk.labels) == ["BENIGN", "DDoS"]
    assert not [c for c in chunk.frame.columns if c.startswith("x_")]


def test_csv_column_map_naming_a_missing_column_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "\nsrc,dst\n10.0.0.1,10.0.0.2\n")

    with pytest.raises(MalformedInputError) as caught:
        list(read_flows(path, "csv", column_map={"orig_h": "source"}, on_error="skip"))

    assert (caught.value.error.line, caught.value.error.field) == (2, "source")


def test_ndjson_accepts_zeek_dotted_names(tmp_path: Path) -> None:
    lines = [
        {"id.orig_h": "10.0.0.1", "id.orig_p": 1, "resp_h": "10.0.0.2", "resp_p": 22, "proto": "TCP", "x_rate": 3},
        {"orig_h": "10.0.0.3", "orig_p": 2, "id.resp_h": "10.0.0.4", "id.resp_p": 23, "service": ""},
    ]

    frame = read_all(write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines)), "ndjson").frame

    assert list(frame["orig_h"]) == ["10.0.0.1", "10.0.0.3"]
    assert list(frame["resp_p"]) == [22.0, 23.0]
    assert list(frame["proto"]) == ["tcp", None]
    assert frame["service"].iloc[1] is None
    assert frame["x_rate"].iloc[0] == 3 and np.isnan(frame["x_rate"].iloc[1])


def test_ndjson_key_appearing_in_a_later_chunk(tmp_path: Path) -> None:
    lines = [{"orig_h": "a"}, {"orig_h": "b"}, {"orig_h": "c", "score": 0.5}]
    path = write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines))

    chunk = read_all(path, "ndjson", chunk_size=2)

    assert chunk.frame["x_score"].isna().tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("label", "difficulty", "expected_labels"),
    [("normal", "20", ["normal", "neptune"]), ("normal.", None, ["normal", "neptune"]), (None, None, None)],
    ids=["nsl-kdd-43", "kdd99-42", "features-41"],
)
def test_nsl_kdd_widths(
    tmp_path: Path, label: str | None, difficulty: str | None, expected_labels: list[str] | None
) -> None:
    rows = [
        kdd_row(label=label, difficulty=difficulty),
        kdd_row(
            protocol_type="TCP",
            service="private",
            flag="s0",
            src_bytes=0,
            wrong_fragment=3,
            label=None if label is None else "neptune",
            difficulty=difficulty,
        ),
    ]

    chunk = read_all(write(tmp_path, "\n".join(rows) + "\n"), "nsl-kdd")

    frame = chunk.frame
    assert list(frame["proto"]) == ["tcp", "tcp"]
    assert list(frame["conn_state"]) == ["SF", "S0"]
    assert list(frame["orig_bytes"]) == [491.0, 0.0]
    # All 38 numeric features are extras (duration and bytes too); difficulty and label are not.
    assert [c for c in frame.columns if c.startswith("x_")] == [f"x_{f}" for f in KDD_NUMERIC]
    assert list(frame["x_wrong_fragment"]) == [0.0, 3.0]
    assert frame["x_dst_host_srv_rerror_rate"].iloc[0] == 0.0
    if expected_labels is None:
        assert chunk.labels is None
    else:
        assert chunk.labels is not None and list(chunk.labels) == expected_labels


def test_nsl_kdd_labelled_file_gzipped_in_chunks(tmp_path: Path) -> None:
    lines = kdd_lines(200)
    fields = [line.rstrip("\n").split(",") for line in lines]
    stats = ReadStats()

    chunk = read_all(write_kdd(tmp_path / "train.txt.gz", lines), "nsl-kdd", chunk_size=64, stats=stats)

    assert (stats.rows, stats.skipped) == (200, 0)
    assert chunk.labels is not None
    assert list(chunk.labels) == [f[41] for f in fields]
    assert set(chunk.frame["proto"]) == {"tcp", "udp", "icmp"}
    assert list(chunk.frame["orig_bytes"]) == [float(f[4]) for f in fields]
    assert list(chunk.frame["x_dst_host_srv_rerror_rate"]) == [float(f[40]) for f in fields]
    assert len([c for c in chunk.frame.columns if c.startswith("x_")]) == 38


# --------------------------------------------------------------------------------------------
# Malformed input

ZEEK_MINI = "#separator \\x09\n#fields\tid.orig_p\tproto\torig_bytes\tduration\n#types\tport\tenum\tcount\tinterval\n"
CSV_HEADER = "orig_p,proto,orig_bytes,duration\n"


def _json(**record: object) -> str:
    return json.dumps(record) + "\n"


# variant -> (format, file text, [(line, field)] of the bad records, rows kept)
MALFORMED: dict[str, tuple[Format, str, list[tuple[int, str | None]], int]] = {
    "zeek-tsv": (
        "zeek",
        ZEEK_MINI
        + "80\ttcp\t10\t1.0\n"  # 4: good
        + "80\ttcp\t10\n"  # 5: wrong field count
        + "80\ttcp\tabc\t1.0\n"  # 6: not a number
        + "80\ttcp\t-5\t1.0\n"  # 7: negative bytes
        + "70000\ttcp\t10\t1.0\n"  # 8: port out of range
        + "-\t-\t-\t-\n"  # 9: all unset: fine
        + "\n"  # 10: blank
        + "80\ttcp\t10\t-0.5\n",  # 11: negative duration
        [(5, None), (6, "orig_bytes"), (7, "orig_bytes"), (8, "id.orig_p"), (11, "duration")],
        2,
    ),
    "zeek-json": (
        "zeek",
        _json(**{"id.orig_p": 80, "proto": "tcp"})  # 1: good
        + '{"id.orig_p": 80,\n'  # 2: invalid JSON
        + "[1, 2]\n"  # 3: not an object
        + _json(**{"id.orig_p": -1})  # 4: port out of range
        + _json(orig_bytes="12kB")  # 5: not a number
        + _json(duration=True)  # 6: a boolean is not a number
        + _json(orig_bytes=None, duration="-", service="-"),  # 7: missing values: fine
        [(2, None), (3, None), (4, "id.orig_p"), (5, "orig_bytes"), (6, "duration")],
        2,
    ),
    "csv": (
        "csv",
        CSV_HEADER
        + "80,tcp,10,1.0\n"  # 2: good
        + "80,tcp,10,1.0,extra\n"  # 3: wrong field count
        + "eighty,tcp,10,1.0\n"  # 4: not a number
        + "80,tcp,10,-1\n"  # 5: negative duration
        + "80,tcp,inf,1\n"  # 6: not finite
        + ",,,\n",  # 7: all empty: fine
        [(3, None), (4, "orig_p"), (5, "duration"), (6, "orig_bytes")],
        2,
    ),
    "ndjson": (
        "ndjson",
        _json(orig_p=80, ts=1.5)  # 1: good
        + "not json\n"  # 2: invalid JSON
        + _json(resp_p=65536)  # 3: port out of range
        + _json(ts="yesterday")  # 4: not a timestamp
        + _json(resp_bytes=-3),  # 5: negative bytes
        [(2, None), (3, "resp_p"), (4, "ts"), (5, "resp_bytes")],
        1,
    ),
    "nsl-kdd": (
        "nsl-kdd",
        kdd_row()
        + "\n"  # 1: good
        + kdd_row()[:-3]
        + "\n"  # 2: 42 fields in a 43-field file
        + kdd_row(src_bytes="x")
        + "\n"  # 3: not a number
        + kdd_row(dst_bytes=-1)
        + "\n"  # 4: negative bytes
        + kdd_row(count="many", duration=-1)
        + "\n",  # 5: two problems: the first field in file order is reported
        [(2, None), (3, "src_bytes"), (4, "dst_bytes"), (5, "duration")],
        1,
    ),
}


@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_malformed_records_are_skipped_and_reported(
    tmp_path: Path, variant: str, caplog: pytest.LogCaptureFixture
) -> None:
    fmt, text, bad, kept = MALFORMED[variant]
    stats = ReadStats()

    with caplog.at_level(logging.WARNING, logger="securenet.netsec.readers"):
        chunk = read_all(write(tmp_path, text), fmt, stats=stats)

    assert [(e.line, e.field) for e in stats.errors] == bad
    assert (stats.rows, stats.skipped, len(chunk.frame)) == (kept, len(bad), kept)
    assert all(e.path.endswith("flows.log") and e.message for e in stats.errors)
    warned = [r.getMessage() for r in caplog.records if r.name == "securenet.netsec.readers"]
    assert warned == [f"skipping malformed record: {e}" for e in stats.errors]


@pytest.mark.parametrize("chunk_size", [1, 2, 65536])
@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_fail_raises_at_the_first_bad_record(tmp_path: Path, variant: str, chunk_size: int) -> None:
    fmt, text, bad, _ = MALFORMED[variant]

    with pytest.raises(MalformedInputError) as caught:
        list(read_flows(write(tmp_path, text), fmt, on_error="fail", chunk_size=chunk_size))

    assert (caught.value.error.line, caught.value.error.field) == bad[0]
    assert str(caught.value).startswith(f"{tmp_path / 'flows.log'}:{bad[0][0]}: ")


def test_skipped_records_do_not_shift_first_index(tmp_path: Path) -> None:
    text = CSV_HEADER + "".join("80,tcp,x,1\n" if i in (1, 4) else f"{i},tcp,1,1\n" for i in range(8))

    chunks = list(read_flows(write(tmp_path, text), "csv", chunk_size=3))

    assert [(c.first_index, list(c.frame["orig_p"])) for c in chunks] == [
        (0, [0.0, 2.0]),
        (2, [3.0, 5.0]),
        (4, [6.0, 7.0]),
    ]


def test_skipped_records_keep_their_place_among_all_records(tmp_path: Path) -> None:
    bad = (1, 4, 6, 7, 8)
    text = CSV_HEADER + "".join("80,tcp,x,1\n" if i in bad else f"{i},tcp,1,1\n" for i in range(10))

    chunks = list(read_flows(write(tmp_path, text), "csv", chunk_size=3))

    # Every record has one position, kept or skipped; a chunk of only bad records still comes out.
    assert [c.record_positions().tolist() for c in chunks] == [[0, 2], [3, 5], [], [9]]
    assert [[i for i, _ in c.skipped] for c in chunks] == [[1], [4], [6, 7, 8], []]
    assert [e.line for c in chunks for _, e in c.skipped] == [i + 2 for i in bad]  # after the header
    assert all(c.frame["orig_p"].tolist() == c.record_positions().astype(float).tolist() for c in chunks)


def test_error_list_is_capped_but_every_skip_is_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = CSV_HEADER + "80,tcp,1,1\n" + "80,tcp,-1,1\n" * 250
    stats = ReadStats()

    with caplog.at_level(logging.WARNING, logger="securenet.netsec.readers"):
        chunk = read_all(write(tmp_path, text), "csv", chunk_size=64, stats=stats)

    assert (len(chunk.frame), stats.skipped, len(stats.errors)) == (1, 250, 100)
    assert [e.line for e in stats.errors] == list(range(3, 103))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 6  # the first five one by one, then a summary
    assert "skipped 250 malformed records" in messages[-1]


def test_stats_accumulate_across_reads(tmp_path: Path) -> None:
    stats = ReadStats()
    path = write(tmp_path, CSV_HEADER + "80,tcp,1,1\n80,tcp,-1,1\n")
    read_all(path, "csv", stats=stats)
    read_all(path, "csv", stats=stats)
    assert (stats.rows, stats.skipped, len(stats.errors)) == (2, 2, 2)


def truncated_gzip(tmp_path: Path, text: str) -> tuple[Path, int]:
    """``text`` gzipped and cut mid-stream; also the 1-based line the cut falls in."""
    data = gzip.compress(text.encode())
    cut = data[: len(data) // 2]
    path = tmp_path / "cut.log.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(wbits=31).decompress(cut)  # what the cut stream still holds
    assert 0 < len(readable) < len(text) and not readable.endswith(b"\n")  # the cut is mid-line
    return path, readable.count(b"\n") + 1


@pytest.mark.parametrize("chunk_size", [7, 65536])
def test_truncated_gzip_is_an_error_at_its_line_and_the_lines_before_it_are_kept(
    tmp_path: Path, chunk_size: int
) -> None:
    text = zeek_labelled(sample_flows(400), [("Benign", "-")] * 400, "iot23")
    path, line = truncated_gzip(tmp_path, text)
    complete = line - 1 - len(ZEEK_HEADER)  # records on the lines before the cut one
    stats = ReadStats()

    chunks = list(read_flows(path, "zeek", chunk_size=chunk_size, stats=stats))

    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert list(frame["uid"]) == [f"C{i:04d}" for i in range(complete)]  # the cut line is not a record
    assert sum(len(c.labels) for c in chunks if c.labels is not None) == complete
    assert [(i, e.line, e.field) for c in chunks for i, e in c.skipped] == [(complete, line, None)]
    assert (stats.rows, stats.skipped, [e.line for e in stats.errors]) == (complete, 1, [line])
    assert str(stats.errors[0]).startswith(f"{path}:{line}: ") and "gzip" in str(stats.errors[0])


def test_truncated_gzip_with_fail_raises_at_its_line_after_the_lines_before_it(tmp_path: Path) -> None:
    path, line = truncated_gzip(tmp_path, ndjson(sample_flows(400)))
    read: list[FlowChunk] = []

    with pytest.raises(MalformedInputError) as caught:
        read.extend(read_flows(path, "ndjson", on_error="fail", chunk_size=50))

    assert (caught.value.error.line, caught.value.error.field) == (line, None)
    assert str(caught.value).startswith(f"{path}:{line}: ") and "gzip" in str(caught.value)
    assert sum(len(c.frame) for c in read) == line - 1  # every record before the cut came out first


def test_corrupt_gzip_is_a_file_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(ndjson(sample_flows(200)).encode()))
    data[-8] ^= 0xFF  # the CRC: the data cannot be trusted
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(data))

    with pytest.raises(MalformedInputError, match="gzip"):
        list(read_flows(path, "ndjson"))


def test_invalid_utf8_is_reported_in_its_field(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_bytes(CSV_HEADER.encode() + b"80,tcp,1\xff,1\n81,udp,2,2\n")
    stats = ReadStats()

    frame = read_all(path, "csv", stats=stats).frame

    assert list(frame["orig_p"]) == [81.0]
    assert [(e.line, e.field) for e in stats.errors] == [(2, "orig_bytes")]


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (RecordError("a.log", 3, "orig_p", "not a number: 'x'"), "a.log:3: field 'orig_p': not a number: 'x'"),
        (RecordError("a.log", 4, None, "invalid JSON"), "a.log:4: invalid JSON"),
    ],
)
def test_record_error_text(error: RecordError, text: str) -> None:
    assert str(error) == text
    assert str(MalformedInputError(error)) == text
    assert MalformedInputError(error).error is error


def test_read_all_of_chunks_is_a_flow_chunk(tmp_path: Path) -> None:
    chunk = read_all(write(tmp_path, ndjson(sample_flows(3))), "ndjson")
    assert isinstance(chunk, FlowChunk)
    assert (chunk.first_index, chunk.labels) == (0, None)


@pytest.mark.parametrize("chunk_size", [1, 7, 100_000])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_large_zeek_logs_keep_line_numbers_and_chunk_sizes_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_size: int, newline: str
) -> None:
    """Text is read in blocks; records, headers and bad lines may straddle block edges."""
    monkeypatch.setattr(_lines, "READ_CHARS", 997)  # many blocks, cut mid-line
    first, second = zeek_tsv(sample_flows(40)).splitlines(), zeek_tsv(sample_flows(25)).splitlines()
    lines = [*first[:20], "", "   ", "bad\trecord", *first[20:], *second]
    bad_line = lines.index("bad\trecord") + 1
    path = write(tmp_path, newline.join(lines))  # and no newline at the end
    stats = ReadStats()

    chunks = list(read_flows(path, "zeek", chunk_size=chunk_size, stats=stats))

    def sizes(records: int) -> list[int]:
        return [min(chunk_size, records - start) for start in range(0, records, chunk_size)]

    # Chunks of chunk_size candidate records, cut short where the second log's header
    # starts; the bad record (the 13th candidate, after 8 header lines) is one of them.
    expected = sizes(41)
    expected[12 // chunk_size] -= 1
    # A chunk whose every record was bad still comes out (empty), carrying its errors.
    assert [len(c.frame) for c in chunks] == expected + sizes(25)
    assert [e.line for c in chunks for _, e in c.skipped] == [bad_line]
    assert [e.line for e in stats.errors] == [bad_line]
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert list(frame["uid"]) == [f"C{i:04d}" for i in range(40)] + [f"C{i:04d}" for i in range(25)]
