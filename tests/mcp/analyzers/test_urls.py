"""SSRF rules: URLs and host references in tool arguments judged by where they point once parsed."""

from __future__ import annotations

import json

import pytest

from securenet.mcp.analyzers import ArgumentInjectionAnalyzer, analyze_text
from securenet.mcp.analyzers._urls import classify_host, find_ssrf
from securenet.mcp.inspector import InspectionContext, MessageInspector
from securenet.mcp.policy import Policy


def args(**kwargs: object) -> str:
    return json.dumps(kwargs)


def ssrf(text: str) -> list[tuple[str, str]]:
    return [(f.rule_id, f.severity) for f in ArgumentInjectionAnalyzer().analyze(text, "tool_arguments")
            if f.category == "ssrf"]  # fmt: skip


CAUGHT = [
    # cloud metadata, however the address is spelt
    ("http://169.254.169.254/latest/meta-data/", "SSRF001", "critical"),
    ("http://2852039166/latest/meta-data/", "SSRF001", "critical"),
    ("http://0xA9FEA9FE/", "SSRF001", "critical"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "SSRF001", "critical"),
    ("http://0251.0376.0251.0376/", "SSRF001", "critical"),
    ("http://169.254.43518/", "SSRF001", "critical"),
    ("http://[::ffff:169.254.169.254]/", "SSRF001", "critical"),
    ("http://[::ffff:a9fe:a9fe]/", "SSRF001", "critical"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "SSRF001", "critical"),
    ("http://good.example@169.254.169.254/", "SSRF001", "critical"),
    ("http://good.example:pw@169.254.169.254:80/", "SSRF001", "critical"),
    ("http://169.254.169.254./latest", "SSRF001", "critical"),
    ("http://169.254.169.254\\@good.example/", "SSRF001", "critical"),
    ("http://metadata.google.internal/computeMetadata/v1/", "SSRF001", "critical"),
    ("http://METADATA.google.internal./computeMetadata/v1/", "SSRF001", "critical"),
    ("http://metadata/computeMetadata/v1/", "SSRF001", "critical"),
    ("http://100.100.100.200/latest/meta-data/", "SSRF001", "critical"),
    ("http://169.254.170.2/v2/credentials/x", "SSRF001", "critical"),
    ("http://%31%36%39.254.169.254/", "SSRF001", "critical"),
    # other link-local
    ("http://169.254.10.1:8080/", "SSRF002", "high"),
    ("http://[fe80::1%25eth0]/", "SSRF002", "high"),
    # schemes past HTTP
    ("file:///tmp/report.txt", "SSRF003", "high"),
    ("gopher://127.0.0.1:6379/_SET%20x", "SSRF003", "high"),
    ("dict://cache.internal:11211/stats", "SSRF003", "high"),
    ("ldap://directory.example.org/dc=example", "SSRF003", "high"),
    ("jar:http://example.org/lib.jar!/META-INF/MANIFEST.MF", "SSRF003", "high"),
    ("file:///etc/passwd", "SSRF004", "critical"),
    ("file:///home/alice/.ssh/id_rsa", "SSRF004", "critical"),
    ("netdoc:///etc/shadow", "SSRF004", "critical"),
    # loopback and private ranges: internal, medium
    ("http://localhost:8080/admin", "SSRF005", "medium"),
    ("http://127.0.0.1/", "SSRF005", "medium"),
    ("http://127.1/", "SSRF005", "medium"),
    ("http://2130706433/", "SSRF005", "medium"),
    ("http://[::1]:8000/", "SSRF005", "medium"),
    ("http://10.0.0.5/api", "SSRF005", "medium"),
    ("http://172.20.1.1/", "SSRF005", "medium"),
    ("http://192.168.1.1/login", "SSRF005", "medium"),
    ("http://[fd12:3456::1]/", "SSRF005", "medium"),
    ("http://0.0.0.0:8000/", "SSRF005", "medium"),
]


@pytest.mark.parametrize(("url", "rule_id", "severity"), CAUGHT)
def test_urls_are_classified_by_their_host(url: str, rule_id: str, severity: str) -> None:
    assert ssrf(args(url=url)) == [(rule_id, severity)]


BARE = [
    (args(host="169.254.169.254"), "SSRF001", "critical"),
    (args(host="metadata.google.internal", path="/computeMetadata/v1/"), "SSRF001", "critical"),
    (args(host="fd00:ec2::254"), "SSRF001", "critical"),
    (args(target="redis at 10.1.2.3:6379"), "SSRF005", "medium"),
    (args(target="localhost:5432"), "SSRF005", "medium"),
    (args(target="[::1]:8080"), "SSRF005", "medium"),
]


@pytest.mark.parametrize(("text", "rule_id", "severity"), BARE)
def test_bare_host_references(text: str, rule_id: str, severity: str) -> None:
    assert ssrf(text) == [(rule_id, severity)]


def test_json_escaped_slashes_are_read() -> None:
    assert ssrf(r'{"url": "http:\/\/169.254.169.254\/latest\/meta-data\/"}') == [("SSRF001", "critical")]


NOT_CAUGHT = [
    args(url="https://api.github.com/repos/org/repo/issues?state=open&per_page=50"),
    args(url="https://example.org/docs"),
    args(url="https://[2001:db8::1]/status"),
    args(url="http://8.8.8.8/"),
    args(url="https://user@example.org/x"),
    args(url="https://metadata.example.com/items"),
    args(text="Version 1.2.3.4.5 ships today; build 10.0.0"),
    args(text="See the docs (https://example.org/a_(b)) for more."),
    args(text="the metadata of the file and localhost in prose"),
    args(path="/srv/app/169.254.169.254.log"),
    args(ratio="3.14159", ts="12:30:45"),
]


@pytest.mark.parametrize("text", NOT_CAUGHT)
def test_public_urls_and_plain_text_pass(text: str) -> None:
    assert ssrf(text) == []


def test_evidence_masks_userinfo_and_offsets_are_original() -> None:
    text = args(note="fetch\u200b it", url="http://admin:hunter2@169.254.169.254/latest/")
    (finding,) = [f for f in analyze_text(text, "tool_arguments") if f.category == "ssrf"]
    assert finding.evidence == "http://***@169.254.169.254/latest/"
    assert "hunter2" not in finding.evidence
    assert text[finding.start : finding.end] == "http://admin:hunter2@169.254.169.254/latest/"


def test_classify_host_directly() -> None:
    assert classify_host("[::ffff:127.0.0.1]") == ("SSRF005", "medium", "reaches an internal address")
    assert classify_host("example.org") is None
    assert classify_host("") is None
    assert find_ssrf("") == []


def test_only_the_arguments_channel() -> None:
    assert ArgumentInjectionAnalyzer().analyze("http://169.254.169.254/", "tool_output") == []


def call(name: str, **arguments: str) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def test_metadata_url_in_a_call_is_blocked_by_the_default_policy() -> None:
    verdict = MessageInspector().inspect(
        call("fetch", url="http://169.254.169.254/latest/meta-data/"), InspectionContext("t", Policy())
    )
    assert verdict.decision == "block"
    assert any(a.finding.rule_id == "SSRF001" and a.action == "block" for a in verdict.findings)


def test_localhost_url_in_a_call_only_warns_by_default() -> None:
    verdict = MessageInspector().inspect(
        call("fetch", url="http://localhost:3000/health"), InspectionContext("t", Policy())
    )
    assert verdict.decision == "warn"
