"""Secret detectors: each flags its own kind, skips placeholders, and never lets the secret into a finding."""

from __future__ import annotations

import json

import pytest

from securenet.mcp.analyzers import FILTERS, SecretAnalyzer, analyze_text, luhn_valid, mask_secret, register_filter
from securenet.mcp.analyzers._filters import first_skipping_filter

# Made-up values of the right shape, built here so no scanner mistakes this file for a leak.
AWS_ID = "AKIA" + "Q3EGVP7XKZLR2N4M"
AWS_SECRET = "wJ9rXtUtnFEMI/K7MDENG/" + "bPxRfiCYzQx8Wm3K2d"
GITHUB = "ghp_" + "R7mK2pQ9xV4tL8nW3zY6bC1dF5gH0jS2aE4u"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0xY7rT5q2LmN8_pQ4wZ9vK3jH6sD1fA0gB5nC8xM2kL7pR4tY"
GITLAB = "glpat-" + "x9Kq2LmZx7Rt1Vb4Nc8H"
SLACK = "xoxb-" + "2210987654321-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_" + "51JxYzQ8mT3vR6pL2nW9kF4h"
GOOGLE = "AIza" + "SyD3x9Kq2LmZx7Rt1Vb4Nc8Hw0Pq5Sd8Ue2"
OPENAI = "sk-proj-" + "4fJ8kLm2Qx9Rt7Vb1Nc3Zy6Hw0Pq5Sd8Ue2Ga"
ANTHROPIC = "sk-ant-" + "api03-Zx8Kq2LmN7Rt1Vb4Nc8Hw0Pq5Sd8Ue2GaYt"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0.Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMw"
)
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu8p3Jq9z0rJk2Y1Qe7m0a3l5\n-----END RSA PRIVATE KEY-----"
CARD = "4539 1488 0343 6467"

FLAG = [
    pytest.param(f"aws_access_key_id={AWS_ID}", "SEC001", AWS_ID, id="aws-id"),
    pytest.param(f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', "SEC002", AWS_SECRET, id="aws-secret"),
    pytest.param(f"token {GITHUB}", "SEC003", GITHUB, id="github-classic"),
    pytest.param(f"pat={GITHUB_PAT}", "SEC003", GITHUB_PAT, id="github-fine-grained"),
    pytest.param(f"gitlab {GITLAB}", "SEC004", GITLAB, id="gitlab"),
    pytest.param(f'{{"text": "use {SLACK}"}}', "SEC005", SLACK, id="slack"),
    pytest.param(f"stripe: {STRIPE}", "SEC007", STRIPE, id="stripe"),
    pytest.param(f"maps key {GOOGLE}", "SEC008", GOOGLE, id="google"),
    pytest.param(f"OPENAI_API_KEY={OPENAI}", "SEC009", OPENAI, id="openai"),
    pytest.param(f"key: {ANTHROPIC}", "SEC010", ANTHROPIC, id="anthropic"),
    pytest.param(PRIVATE_KEY, "SEC011", PRIVATE_KEY, id="private-key"),
    pytest.param(json.dumps({"key.pem": PRIVATE_KEY}), "SEC011", "MIIEowIBAAKCAQEAu8p3Jq9z0rJk2Y1Qe7m0a3l5",
                 id="private-key-json-escaped"),
    pytest.param(f"Authorization: Bearer {JWT}", "SEC012", JWT, id="jwt"),
    pytest.param(f"card {CARD} exp 09/27", "SEC013", CARD, id="card-spaced"),
    pytest.param("pay with 378282246310005 today", "SEC013", "378282246310005", id="amex"),
    pytest.param("DB_PASSWORD=Zq8vLp2xR4t\nAPI_TOKEN=f8Kq2LmZx7Rt1Vb4Nc\nDEBUG=false", "SEC014", "Zq8vLp2xR4t",
                 id="dotenv-dump"),
    pytest.param('{"username": "alice", "password": "Tr0ub4dor&3x!"}', "SEC015", "Tr0ub4dor&3x!", id="password"),
    pytest.param('client_secret: "Qm9ndXNUb2tlblZhbHVlMTIzNDU2"', "SEC015", "Qm9ndXNUb2tlblZhbHVlMTIzNDU2",
                 id="client-secret"),
    pytest.param("curl -H 'Authorization: Bearer f8Kq2LmZx7Rt1Vb4Nc8Hw0Pq5Sd'", "SEC016", "f8Kq2LmZx7Rt1Vb4Nc8Hw0Pq5Sd",
                 id="bearer"),
    pytest.param("postgres://admin:S3cr3tPa55w0rd@db.internal:5432/prod", "SEC017", "S3cr3tPa55w0rd",
                 id="url-credentials"),
]  # fmt: skip

NO_FLAG = [
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    '{"password": "${DB_PASSWORD}"}',
    '{"api_key": "<your-api-key>"}',
    '{"token": "xxxxxxxxxxxxxxxxxxxxxxxx"}',
    "password: {{ secrets.DB_PASSWORD }}",
    "api_key = settings.OPENAI_API_KEY",
    '{"token_type": "bearer", "expires_in": 3600}',
    '{"sha": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}',
    '{"request_id": "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"}',
    '{"order_id": "4111111111111111"}',
    "card 4539 1488 0343 6468 fails Luhn",
    "call me at +1 415 555 0134",
    "timestamp 1718123456789 build 20240611123456",
    "Set OPENAI_API_KEY in your environment; never paste it into issues.",
    "NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info",
    "eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz",
    "password field for the login form",
    "sk-your-openai-key-here",
    "postgres://user:password@localhost/db",
]


@pytest.mark.parametrize(("text", "rule_id", "secret"), FLAG)
def test_flags_each_secret_kind(text: str, rule_id: str, secret: str) -> None:
    findings = analyze_text(text, "tool_arguments")
    assert rule_id in {f.rule_id for f in findings}, findings
    finding = next(f for f in findings if f.rule_id == rule_id)
    assert (finding.severity, finding.category, finding.analyzer) == ("critical", "secret", "secrets")


@pytest.mark.parametrize(("text", "rule_id", "secret"), FLAG)
def test_the_secret_never_leaves_in_a_finding(text: str, rule_id: str, secret: str) -> None:
    for finding in analyze_text(text, "tool_arguments"):
        if finding.category != "secret":
            continue
        for shown in (finding.evidence, finding.message, json.dumps(finding.to_dict()), repr(finding)):
            assert secret not in shown
            assert secret[5:17] not in shown


@pytest.mark.parametrize("text", NO_FLAG)
def test_skips_placeholders_references_and_non_secrets(text: str) -> None:
    assert [f for f in analyze_text(text, "tool_arguments") if f.category == "secret"] == []


def test_offsets_cover_the_secret_and_evidence_is_masked() -> None:
    text = f'{{"body": "repro with {GITHUB} thanks"}}'
    (finding,) = analyze_text(text, "tool_arguments")
    assert text[finding.start : finding.end] == GITHUB
    assert finding.evidence == mask_secret(GITHUB) == f"ghp_…({len(GITHUB)} chars)"


def test_mask_secret_shows_less_of_short_values() -> None:
    assert mask_secret("hunter22") == "hu…(8 chars)"
    assert mask_secret("abc") == "…(3 chars)"


def test_dotenv_evidence_names_variables_not_values() -> None:
    text = "DB_PASSWORD=Zq8vLp2xR4t\nAPI_TOKEN=f8Kq2LmZx7Rt1Vb4Nc\nDEBUG=false"
    finding = next(f for f in analyze_text(text, "tool_arguments") if f.rule_id == "SEC014")
    assert finding.evidence == ".env dump: DB_PASSWORD,API_TOKEN"
    assert (finding.start, finding.end) == (0, len(text))


def test_secrets_in_tool_output_are_medium_for_redaction() -> None:
    (finding,) = analyze_text(f"config: {GITHUB}", "tool_output")
    assert (finding.rule_id, finding.severity) == ("SEC003", "medium")


def test_only_argument_and_output_channels() -> None:
    assert SecretAnalyzer().analyze(GITHUB, "user_input") == []


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4539148803436467", True),
        ("4111111111111111", True),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("6011111111111117", True),
        ("4539148803436468", False),
        ("1234567812345678", False),
        ("0", False),
        ("", False),
        ("12a4", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    "text",
    [
        "4539-1488-0343-6467",
        "4539148803436467",
        "5555 5555 5555 4444",
        "3782 822463 10005",
    ],
)
def test_cards_in_common_layouts(text: str) -> None:
    assert any(f.rule_id == "SEC013" for f in analyze_text(f"card: {text}.", "tool_arguments"))


@pytest.mark.parametrize(
    "text",
    [
        "4539 1488-0343 6467",  # mixed separators
        "45391 48803 43646 7",  # not a card grouping
        "9999999999999995",  # Luhn-valid, no card brand starts with 9
        "1111111111111111111",
    ],
)
def test_card_lookalikes_are_not_cards(text: str) -> None:
    assert not any(f.rule_id == "SEC013" for f in analyze_text(f"value {text}", "tool_arguments"))


def test_filters_are_registered_by_name_and_get_only_what_they_declare() -> None:
    assert {"is_placeholder", "is_templated", "is_low_entropy", "is_quoted_mention"} <= set(FILTERS)
    seen: list[str] = []

    @register_filter("test_only_sees_value")
    def only_value(value: str) -> bool:
        seen.append(value)
        return value == "drop me"

    try:
        assert first_skipping_filter(("test_only_sees_value",), "X", {"value": "drop me", "before": "b"}) == (
            "test_only_sees_value"
        )
        assert first_skipping_filter(("test_only_sees_value",), "X", {"value": "keep", "before": "b"}) is None
        assert seen == ["drop me", "keep"]
        with pytest.raises(ValueError, match="already registered"):
            register_filter("test_only_sees_value")(only_value)
    finally:
        del FILTERS["test_only_sees_value"]
