"""The CLI end to end: train and analyze on synthetic NSL-KDD records; errors exit non-zero with a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from securenet.cli import app
from tests.netsec.kdd import kdd_lines, write_kdd
from tests.netsec.test_readers import ZEEK_HEADER, ndjson, sample_flows, truncated_gzip, zeek_labelled
from tests.netsec.traffic import background_and_scan

runner = CliRunner()


@pytest.fixture(scope="module")
def kdd_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("cli")
    lines = kdd_lines(5000)
    train = write_kdd(root / "train.txt", lines[:3000])
    test = write_kdd(root / "test.txt.gz", lines[3000:])
    labels = [line.rstrip("\n").split(",")[41] for line in lines[3000:]]
    return train, test, labels


@pytest.fixture(scope="module")
def model(kdd_files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    train, _, _ = kdd_files
    path = tmp_path_factory.mktemp("models") / "tenant.model"
    result = runner.invoke(app, ["train", "--format", "nsl-kdd", str(train), "--model", str(path), "--normal-only"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["training_rows"] < 3000  # only the normal rows
    assert path.exists()
    return path


def test_analyze_ndjson_is_in_input_order_and_separates_attacks(kdd_files, model) -> None:
    _, test, labels = kdd_files
    result = runner.invoke(
        app, ["analyze", "--format", "nsl-kdd", str(test), "--model", str(model), "--output", "ndjson"]
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["index"] for r in records] == list(range(len(labels)))
    for record in records:
        assert {"index", "score", "level", "is_threat", "detectors"} <= set(record)
        assert 0.0 <= record["score"] <= 1.0
        assert record["is_threat"] == (record["level"] != "low")
    auc = roc_auc_score([label != "normal" for label in labels], [r["score"] for r in records])
    assert auc > 0.85


def test_analyze_table_ends_with_a_summary(kdd_files, model) -> None:
    _, test, _ = kdd_files
    result = runner.invoke(app, ["analyze", "--format", "nsl-kdd", str(test), "--model", str(model)])
    assert result.exit_code == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("Summary: 2000 flows")
    assert "critical:" in last
    assert "Top incidents" in result.stdout


def test_analyze_json_document(kdd_files, model) -> None:
    _, test, _ = kdd_files
    result = runner.invoke(app, ["analyze", "-f", "nsl-kdd", str(test), "--model", str(model), "-o", "json"])
    document = json.loads(result.stdout)
    assert len(document["verdicts"]) == 2000
    assert document["summary"]["flows"] == 2000
    assert document["incidents"][0]["source"] == "unknown"  # NSL-KDD has no addresses


def test_rules_only_analysis_of_zeek_json(tmp_path: Path) -> None:
    flows = tmp_path / "conn.log"
    flows.write_text(
        "".join(
            json.dumps(
                {
                    "ts": 1.0 + i / 100,
                    "id.orig_h": "10.9.9.9",
                    "id.orig_p": 40000,
                    "id.resp_h": "10.0.0.5",
                    "id.resp_p": i + 1,
                    "proto": "tcp",
                    "conn_state": "REJ",
                }
            )
            + "\n"
            for i in range(100)
        )
    )
    result = runner.invoke(app, ["analyze", "--format", "zeek", str(flows), "--output", "ndjson"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("port_scan" in r["detectors"] for r in records)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "--format", "nsl-kdd", "/nonexistent/flows.txt"], "flows.txt"),
        (["analyze", "--format", "bogus", "x"], "--format must be one of"),
        (["analyze", "--format", "nsl-kdd", "FILE", "--output", "xml"], "--output must be one of"),
    ],
)
def test_usage_errors_exit_non_zero(args, message, kdd_files) -> None:
    args = [str(kdd_files[0]) if a == "FILE" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_malformed_record_names_file_line_and_field(tmp_path: Path, kdd_files, model) -> None:
    bad = tmp_path / "bad.txt"
    good = kdd_files[0].read_text().splitlines(keepends=True)[:5]
    fields = good[2].split(",")
    fields[4] = "lots"  # src_bytes
    bad.write_text("".join([*good[:2], ",".join(fields), *good[3:]]))
    result = runner.invoke(app, ["analyze", "-f", "nsl-kdd", str(bad), "--model", str(model), "-o", "ndjson"])
    assert result.exit_code == 2
    assert "bad.txt:3" in result.stderr
    assert "src_bytes" in result.stderr
    skipped = runner.invoke(
        app, ["analyze", "-f", "nsl-kdd", str(bad), "--model", str(model), "-o", "ndjson", "--on-error", "skip"]
    )
    assert skipped.exit_code == 0
    # One line per input record, in order: the skipped one is an error object at its index.
    lines = [json.loads(line) for line in skipped.stdout.splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2, 3, 4]
    assert "score" not in lines[2]
    assert "bad.txt:3" in lines[2]["error"] and "src_bytes" in lines[2]["error"]
    assert all("score" in line for i, line in enumerate(lines) if i != 2)
    assert "1 malformed record(s) skipped" in skipped.stderr


def test_tampered_model_is_refused(tmp_path: Path, kdd_files, model) -> None:
    tampered = tmp_path / "tampered.model"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    tampered.write_bytes(bytes(data))
    result = runner.invoke(app, ["analyze", "-f", "nsl-kdd", str(kdd_files[0]), "--model", str(tampered)])
    assert result.exit_code == 2
    assert "error:" in result.stderr
    assert result.stdout == ""


def test_normal_only_needs_labels(tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text("ts,orig_h,resp_h,resp_p,proto\n" + "".join(f"{i},10.0.0.1,10.0.0.2,80,tcp\n" for i in range(50)))
    result = runner.invoke(app, ["train", "-f", "csv", str(flows), "--model", str(tmp_path / "m"), "--normal-only"])
    assert result.exit_code == 2
    assert "no labels" in result.stderr


def test_train_normal_only_on_a_labelled_iot23_zeek_log(tmp_path: Path) -> None:
    # IoT-23's conn.log.labeled: label columns joined by three spaces; labels in any case.
    spellings = ["benign", "Benign", "BENIGN", "Malicious", "Background", "-"]
    labels = [(spellings[i % 6], "-" if i % 6 != 3 else "PartOfAHorizontalPortScan") for i in range(240)]
    flows = tmp_path / "conn.log.labeled"
    flows.write_text(zeek_labelled(sample_flows(240), labels, "iot23"))
    model = tmp_path / "m.model"

    result = runner.invoke(app, ["train", "-f", "zeek", str(flows), "--model", str(model), "--normal-only"])

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)  # the summary is the command's output, as analyze's verdicts are
    assert summary["training_rows"] == 120  # benign, Benign and BENIGN: half of the rows
    assert summary["model"] == str(model) and model.exists()


def test_analyze_a_truncated_gzip_reports_the_cut_at_its_line(tmp_path: Path) -> None:
    path, line = truncated_gzip(tmp_path, ndjson(sample_flows(400)))

    skipped = runner.invoke(app, ["analyze", "-f", "ndjson", str(path), "-o", "ndjson", "--on-error", "skip"])

    assert skipped.exit_code == 0, skipped.stderr
    records = [json.loads(text) for text in skipped.stdout.splitlines()]
    assert [r["index"] for r in records] == list(range(line))  # every record before the cut, then the cut
    assert all("score" in r for r in records[:-1])
    assert records[-1]["error"].startswith(f"{path}:{line}: ") and "gzip" in records[-1]["error"]
    assert "1 malformed record(s) skipped" in skipped.stderr

    failed = runner.invoke(app, ["analyze", "-f", "ndjson", str(path), "-o", "ndjson"])

    assert failed.exit_code == 2
    assert failed.stderr.startswith(f"error: {path}:{line}: ") and "gzip" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_zeek_header_lines_may_be_indented(tmp_path: Path) -> None:
    labels = [("Benign", "-")] * 30
    text = zeek_labelled(sample_flows(30), labels, "stratosphere")
    flows = tmp_path / "conn.log"
    flows.write_text("".join("  " + line if line.startswith("#") else line for line in text.splitlines(True)))
    assert text.count("\n#") == len(ZEEK_HEADER) - 1

    result = runner.invoke(app, ["analyze", "-f", "zeek", str(flows), "-o", "ndjson"])

    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 30


def write_ndjson(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_relative_model_paths_work_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    normal, scan = background_and_scan()
    write_ndjson(tmp_path / "baseline.ndjson", normal)
    write_ndjson(tmp_path / "flows.ndjson", normal[:20] + scan[:20])
    monkeypatch.chdir(tmp_path)
    for model in ("dir/x.model", "y.model"):
        trained = runner.invoke(app, ["train", "-f", "ndjson", "baseline.ndjson", "--model", model])
        assert trained.exit_code == 0, trained.stderr
        assert (tmp_path / model).exists()
    sub = tmp_path / "sub"
    sub.mkdir()
    cases = [
        (tmp_path, "dir/x.model"),
        (tmp_path, "./dir/../dir/x.model"),
        (sub, "../dir/x.model"),
        (sub, "../y.model"),
    ]
    for cwd, model in cases:
        monkeypatch.chdir(cwd)
        flows = "flows.ndjson" if cwd == tmp_path else "../flows.ndjson"
        result = runner.invoke(app, ["analyze", "-f", "ndjson", flows, "--model", model, "-o", "json"])
        assert result.exit_code == 0, f"{model} from {cwd}: {result.stderr}"
        assert json.loads(result.stdout)["summary"]["flows"] == 40


def test_model_dir_still_confines_models_named_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    normal, _ = background_and_scan()
    write_ndjson(tmp_path / "baseline.ndjson", normal)
    monkeypatch.chdir(tmp_path)
    for model in ("models/inside.model", "outside.model"):
        assert runner.invoke(app, ["train", "-f", "ndjson", "baseline.ndjson", "--model", model]).exit_code == 0
    monkeypatch.setenv("SECURENET_MODEL_DIR", "models")
    inside = runner.invoke(app, ["analyze", "-f", "ndjson", "baseline.ndjson", "--model", "models/inside.model"])
    assert inside.exit_code == 0, inside.stderr
    outside = runner.invoke(app, ["analyze", "-f", "ndjson", "baseline.ndjson", "--model", "outside.model"])
    assert outside.exit_code == 2
    assert "outside the model directory" in outside.stderr
