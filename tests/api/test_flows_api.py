"""The v1 API on the embedded defaults: analysis, storage, tenancy, problems and limits."""

from __future__ import annotations

import json
import logging
import time

from securenet.store.tenants import KEY_PREFIX
from tests.api.conftest import admin, bearer
from tests.netsec.test_readers import sample_flows, zeek_labelled

PROBLEM = "application/problem+json"


def scan(source: str = "10.0.0.66", ports: int = 80) -> list[dict]:
    return [
        {
            "ts": 1000.0 + i * 0.01,
            "orig_h": source,
            "orig_p": 40000,
            "resp_h": "10.0.0.9",
            "resp_p": i + 1,
            "proto": "tcp",
            "conn_state": "REJ",
            "orig_bytes": 0,
            "resp_bytes": 0,
        }
        for i in range(ports)
    ]


def normal(n: int = 5) -> list[dict]:
    return [
        {
            "ts": 2000.0 + i,
            "orig_h": "10.0.0.2",
            "resp_h": "10.0.0.3",
            "resp_p": 443,
            "proto": "tcp",
            "service": "ssl",
            "conn_state": "SF",
            "duration": 0.5,
            "orig_bytes": 900,
            "resp_bytes": 4000,
        }
        for i in range(n)
    ]


def test_docs_health_and_ready(api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "queue": "ok"}
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/flows:analyze",
        "/v1/flows",
        "/v1/detections",
        "/v1/detections/{detection_id}",
        "/v1/incidents",
        "/v1/models:train",
        "/v1/models",
    ):
        assert path in paths
    assert api.client.get("/docs").status_code == 200


def test_analyze_stores_detections_with_their_trace(api, telemetry) -> None:
    t = telemetry()
    acme = api.tenant("acme")
    assert acme["api_key"].startswith(KEY_PREFIX)
    flows = normal(3) + scan()
    response = api.client.post("/v1/flows:analyze", json=flows, headers=bearer(acme))
    assert response.status_code == 200, response.text
    body = response.json()
    trace_id = response.headers["x-trace-id"]
    assert response.headers["traceresponse"].split("-")[1] == trace_id
    assert body["trace_id"] == trace_id
    assert [v["index"] for v in body["verdicts"]] == list(range(len(flows)))
    assert [v["is_threat"] for v in body["verdicts"][:3]] == [False] * 3
    assert all("port_scan" in v["detectors"] for v in body["verdicts"][3:])
    assert body["model"] == "rules_only"
    assert body["incidents"][0]["source"] == "10.0.0.66"

    listed = api.client.get("/v1/detections", headers=bearer(acme)).json()
    assert len(listed["items"]) == 80
    detection = listed["items"][0]
    assert detection["trace_id"] == trace_id
    assert detection["detectors"] == ["port_scan"]
    # From the stored verdict to the spans that explain it.
    spans = [s for s in t.finished() if format(s.context.trace_id, "032x") == detection["trace_id"]]
    names = {s.name for s in spans}
    assert {"orchestrator.analyze_flows", "threat_detection.analyze_network_data", "ml_inference"} <= names
    server = next(s for s in spans if s.kind.name == "SERVER")
    assert server.attributes["tenant.id"] == acme["id"]
    assert server.attributes["http.route"] == "/v1/flows:analyze"
    assert server.attributes["http.request.body.size"] > 0
    assert server.attributes["http.response.body.size"] == len(response.content)
    assert "user_agent.original" in server.attributes
    assert acme["api_key"] not in str([dict(s.attributes) for s in spans])


def test_ndjson_body(api) -> None:
    acme = api.tenant("acme")
    body = "\n".join(json.dumps(f) for f in normal(2)) + "\n"
    response = api.client.post(
        "/v1/flows:analyze", content=body, headers={**bearer(acme), "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200
    assert response.json()["flows"] == 2


def test_tenant_isolation_on_every_route(api) -> None:
    acme, other = api.tenant("acme"), api.tenant("other")
    api.client.post("/v1/flows:analyze", json=scan(), headers=bearer(acme))
    acme_items = api.client.get("/v1/detections", headers=bearer(acme)).json()["items"]
    detection_id = acme_items[0]["id"]
    assert api.client.get(f"/v1/detections/{detection_id}", headers=bearer(acme)).status_code == 200
    foreign = api.client.get(f"/v1/detections/{detection_id}", headers=bearer(other))
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == PROBLEM
    assert api.client.get("/v1/detections", headers=bearer(other)).json()["items"] == []
    assert api.client.get("/v1/incidents", headers=bearer(other)).json()["items"] == []
    assert api.client.get("/v1/models", headers=bearer(other)).json() == []
    keys = api.client.get("/v1/keys", headers=bearer(other)).json()
    assert [k["prefix"] for k in keys] == [other["key_prefix"]]
    assert api.client.delete(f"/v1/keys/{acme['key_prefix']}", headers=bearer(other)).status_code == 404
    assert api.client.get("/v1/tenants", headers=bearer(acme)).status_code == 401  # not an admin key


def test_filters_and_cursor_pagination(api) -> None:
    acme = api.tenant("acme")
    api.client.post("/v1/flows:analyze", json=scan("10.0.0.66", 60) + scan("10.0.0.77", 60), headers=bearer(acme))
    by_source = api.client.get("/v1/detections", params={"source": "10.0.0.77"}, headers=bearer(acme)).json()
    assert {d["source"] for d in by_source["items"]} == {"10.0.0.77"}
    by_detector = api.client.get("/v1/detections", params={"detector": "port_scan"}, headers=bearer(acme)).json()
    assert len(by_detector["items"]) == 100
    none = api.client.get("/v1/detections", params={"detector": "brute_force"}, headers=bearer(acme)).json()
    assert none["items"] == []
    seen, cursor = [], None
    while True:
        params = {"limit": 25, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/detections", params=params, headers=bearer(acme)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 120
    assert seen == sorted(seen, reverse=True)
    bad = api.client.get("/v1/detections", params={"cursor": "nonsense"}, headers=bearer(acme))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/query/cursor"
    assert api.client.get("/v1/detections", params={"level": "severe"}, headers=bearer(acme)).status_code == 422


def test_validation_problems_point_at_fields_without_echoing_values(api) -> None:
    acme = api.tenant("acme")
    flows = normal(2)
    flows[1]["resp_p"] = 70000
    flows[1]["secret_field"] = "AKIAIOSFODNN7EXAMPLE"
    response = api.client.post("/v1/flows:analyze", json=flows, headers=bearer(acme))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"] == "Validation failed"
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointers == {"/1/resp_p", "/1/secret_field"}
    assert "AKIAIOSFODNN7EXAMPLE" not in response.text
    malformed = api.client.post(
        "/v1/flows:analyze",
        content='{"ts": 1}\n{oops\n',
        headers={**bearer(acme), "Content-Type": "application/x-ndjson"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["line"] == 2
    not_array = api.client.post("/v1/flows:analyze", json={"ts": 1}, headers=bearer(acme))
    assert not_array.status_code == 422
    wrong_type = api.client.post(
        "/v1/flows:analyze", content="a,b", headers={**bearer(acme), "Content-Type": "text/csv"}
    )
    assert wrong_type.status_code == 415
    unknown = api.client.get("/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM


def test_unauthorized_requests_are_logged_without_the_key(api, caplog) -> None:
    api.tenant("acme")
    with caplog.at_level(logging.WARNING, logger="securenet.security"):
        missing = api.client.get("/v1/detections")
        wrong = api.client.get("/v1/detections", headers={"X-API-Key": "snk_not-a-real-key-123456"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")
    text = " ".join(str(r.msg) for r in caplog.records)
    assert "security.auth_failed" in text
    assert "snk_not-a-real-key" not in text


def test_key_revocation(api) -> None:
    acme = api.tenant("acme")
    assert api.client.get("/v1/keys", headers={"X-API-Key": acme["api_key"]}).status_code == 200
    assert api.client.delete(f"/v1/keys/{acme['key_prefix']}", headers=bearer(acme)).status_code == 204
    assert api.client.get("/v1/keys", headers=bearer(acme)).status_code == 401


def test_body_limit_413(make_api) -> None:
    api = make_api(max_body_bytes=4096, max_flows_per_request=10)
    acme = api.tenant("acme")
    big = api.client.post("/v1/flows:analyze", json=normal(200), headers=bearer(acme))
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM
    too_many = api.client.post("/v1/flows:analyze", json=[{}] * 11, headers=bearer(acme))
    assert too_many.status_code == 413


def test_rate_limit_429(api) -> None:
    limited = api.tenant("limited", rate_limit_per_minute=3)
    other = api.tenant("other")
    codes = [api.client.get("/v1/detections", headers=bearer(limited)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = api.client.get("/v1/detections", headers=bearer(limited))
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == 429
    assert api.client.get("/v1/detections", headers=bearer(other)).status_code == 200


def test_full_ingest_stream_503(make_api) -> None:
    from fastapi.testclient import TestClient

    from securenet.api import create_app
    from securenet.runtime import Services

    api = make_api(stream_max_len=1)
    acme = api.tenant("acme")
    # A second app on the same database and no worker: nothing drains its queue.
    services = Services.build(api.settings)
    with TestClient(create_app(api.settings, services=services)) as client:
        first = client.post("/v1/flows", json=normal(2), headers=bearer(acme))
        assert first.status_code == 202
        assert len(first.json()["message_ids"]) >= 1
        full = client.post("/v1/flows", json=normal(2), headers=bearer(acme))
        assert full.status_code == 503
        assert int(full.headers["retry-after"]) >= 1
    services.close()


def test_ingest_is_analysed_by_the_embedded_worker(api, telemetry) -> None:
    t = telemetry()
    acme = api.tenant("acme")
    response = api.client.post("/v1/flows", json=scan(ports=70), headers=bearer(acme))
    assert response.status_code == 202
    deadline = time.monotonic() + 15
    items: list = []
    while time.monotonic() < deadline and len(items) < 70:
        items = api.client.get("/v1/detections", params={"limit": 1000}, headers=bearer(acme)).json()["items"]
        time.sleep(0.1)
    assert len(items) == 70
    trace_id = items[0]["trace_id"]
    consumer = next(s for s in t.finished() if s.kind.name == "CONSUMER")
    producer = next(s for s in t.finished() if s.kind.name == "PRODUCER")
    assert format(consumer.context.trace_id, "032x") == trace_id
    assert any(link.context.span_id == producer.context.span_id for link in consumer.links)


def test_train_model_then_analyze_with_it(api) -> None:
    acme = api.tenant("acme")
    baseline = [
        {
            "ts": 3000.0 + i,
            "orig_h": f"10.0.1.{i % 50}",
            "resp_h": "10.0.0.3",
            "resp_p": 443,
            "proto": "tcp",
            "service": "ssl",
            "conn_state": "SF",
            "duration": 0.2 + (i % 7) / 10,
            "orig_bytes": 800 + i % 300,
            "resp_bytes": 3000 + (i * 7) % 900,
            "orig_pkts": 6,
            "resp_pkts": 8,
        }
        for i in range(400)
    ]
    trained = api.client.post("/v1/models:train", json=baseline, headers=bearer(acme))
    assert trained.status_code == 201, trained.text
    model = trained.json()
    assert model["n_training_rows"] == 400
    assert model["active"] is True
    assert [m["id"] for m in api.client.get("/v1/models", headers=bearer(acme)).json()] == [model["id"]]
    odd = dict(baseline[0], orig_bytes=9_000_000_000, resp_p=31337, service=None, conn_state="S0")
    result = api.client.post("/v1/flows:analyze", json=[baseline[1], odd], headers=bearer(acme)).json()
    assert result["model"] == "knn+iforest"
    assert result["verdicts"][1]["is_threat"]
    assert "anomaly_model" in result["verdicts"][1]["detectors"]
    assert result["verdicts"][1]["score"] > result["verdicts"][0]["score"]
    upload = api.client.post(
        "/v1/models:train",
        params={"format": "nsl-kdd", "normal_only": "true"},
        content="bad,row\n",
        headers=bearer(acme),
    )
    assert upload.status_code == 422


def test_train_normal_only_on_a_labelled_zeek_upload_keeps_benign_rows(api) -> None:
    acme = api.tenant("acme")
    spellings = ["Benign", "benign", "Malicious", "Unknown"]
    labels = [(spellings[i % 4], "(empty)") for i in range(200)]

    trained = api.client.post(
        "/v1/models:train",
        params={"format": "zeek", "normal_only": "true"},
        content=zeek_labelled(sample_flows(200), labels, "stratosphere"),
        headers=bearer(acme),
    )

    assert trained.status_code == 201, trained.text
    assert trained.json()["n_training_rows"] == 100


def test_admin_endpoints_need_the_admin_key(api) -> None:
    assert api.client.post("/v1/tenants", json={"name": "x"}).status_code == 401
    assert (
        api.client.post("/v1/tenants", json={"name": "x"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    created = api.client.post("/v1/tenants", json={"name": "x"}, headers=admin())
    assert created.status_code == 201
    duplicate = api.client.post("/v1/tenants", json={"name": "x"}, headers=admin())
    assert duplicate.status_code == 409
    invalid = api.client.post("/v1/tenants", json={"name": ""}, headers=admin())
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["pointer"] == "/body/name"
