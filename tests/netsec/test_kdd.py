"""The synthetic NSL-KDD generator the model, service and CLI tests train and score on."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from pathlib import Path

from securenet.netsec.readers import NSL_KDD_FEATURES
from tests.netsec.kdd import kdd_lines, write_kdd


def test_records_have_the_nsl_kdd_layout() -> None:
    for line in kdd_lines(500):
        fields = line.rstrip("\n").split(",")
        assert line.endswith("\n")
        assert len(fields) == len(NSL_KDD_FEATURES) + 2  # 41 features, label, difficulty
        assert fields[1] in ("tcp", "udp", "icmp")
        assert 0 <= int(fields[42]) <= 21
        rates = [float(v) for name, v in zip(NSL_KDD_FEATURES, fields, strict=False) if name.endswith("_rate")]
        assert all(0.0 <= r <= 1.0 for r in rates)


def test_a_seeded_mix_of_normal_traffic_and_attack_families() -> None:
    lines = kdd_lines(5000)
    assert kdd_lines(5000) == lines
    assert kdd_lines(5000, seed=1) != lines
    labels = Counter(line.rstrip("\n").split(",")[41] for line in lines)
    assert 0.42 < 1 - labels["normal"] / len(lines) < 0.52
    assert {"neptune", "smurf", "portsweep", "ipsweep", "satan", "back", "teardrop", "guess_passwd"} <= set(labels)
    # Attacks are interleaved with normal traffic, not grouped.
    is_attack = [line.rstrip("\n").split(",")[41] != "normal" for line in lines]
    assert sum(a != b for a, b in itertools.pairwise(is_attack)) > 2000


def test_attack_families_keep_their_signatures() -> None:
    rows = [line.rstrip("\n").split(",") for line in kdd_lines(5000)]
    column = {name: i for i, name in enumerate(NSL_KDD_FEATURES)}

    def of(label: str, feature: str) -> list[str]:
        return [r[column[feature]] for r in rows if r[41] == label]

    assert set(of("smurf", "service")) == {"ecr_i"} and set(of("smurf", "src_bytes")) == {"1032", "520"}
    assert Counter(of("neptune", "flag")).most_common(1)[0][0] == "S0"
    assert set(of("teardrop", "wrong_fragment")) == {"3"}
    assert set(of("back", "src_bytes")) == {"54540"}
    assert set(of("guess_passwd", "num_failed_logins")) == {"1"}


def test_gzip_by_suffix(tmp_path: Path) -> None:
    lines = kdd_lines(10)
    assert write_kdd(tmp_path / "plain.txt", lines).read_text() == "".join(lines)
    assert gzip.decompress((write_kdd(tmp_path / "packed.txt.gz", lines)).read_bytes()).decode() == "".join(lines)
