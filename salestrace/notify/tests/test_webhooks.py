"""Outgoing webhooks: signed JSON POSTs of our events, queued with the change that made them,
retried with backoff, never to a private address nor through a redirect, configured by admins."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command

from salestrace.actions.tests.factories import make_customer, valid_price_negotiation
from salestrace.catalog.models import SettingChange
from salestrace.core.errors import PermissionDenied, RuleViolation
from salestrace.customers.jobs import sweep_dormant
from salestrace.customers.models import Customer
from salestrace.notify import crypto, webhooks
from salestrace.notify.hosts import parse_allowed
from salestrace.notify.jobs import deliver_webhooks_due
from salestrace.notify.models import WebhookDelivery, WebhookEndpoint
from salestrace.notify.webhook_services import webhook_endpoint_create, webhook_redeliver
from salestrace.notify.webhooks import UrlProblem, signature, signature_valid, url_problem

pytestmark = pytest.mark.django_db


class Receiver:
    """Another company's system on 127.0.0.1: records every POST, answers the statuses it is told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes, str]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((dict(self.headers.items()), body, self.path))
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "21")
                self.end_headers()
                self.wfile.write(b'{"secret":"internal"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body, _path in self.received]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    settings.WEBHOOK_ALLOWED_HOSTS = [r.base]
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def endpoint_for(personas: Any, url: str, events: list[str], now: datetime) -> tuple[WebhookEndpoint, str]:
    return webhook_endpoint_create(user=personas.admin, name="ERP", url=url, events=events, now=now)


# --- the wire: where a receiver may be, how a body is signed --------------------------------------


def _resolves_to(monkeypatch: Any, *addresses: str) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", (ip, 443)) for ip in addresses])


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("203.0.113.7", False),  # documentation range: not global either
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.10", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("8.8.8.8", True),
        ("2400:3200::1", True),
    ],
)
def test_a_receiver_must_resolve_to_public_addresses_only(monkeypatch, address, allowed):
    _resolves_to(monkeypatch, address)
    found = url_problem("https://erp.example.com/hooks/salestrace")
    assert (found is None) is allowed, found
    if not allowed:
        assert found == UrlProblem.PRIVATE


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch):
    # a name that round-robins onto an internal host is refused (rebinding to it later is refused
    # too: the check runs again before every call)
    _resolves_to(monkeypatch, "8.8.8.8", "10.0.0.5")
    assert url_problem("https://erp.example.com/h") == UrlProblem.PRIVATE


def test_scheme_user_info_and_allowed_hosts(monkeypatch):
    _resolves_to(monkeypatch, "8.8.8.8")
    assert url_problem("http://erp.example.com/h") == UrlProblem.SCHEME
    assert url_problem("https://user:pw@erp.example.com/h") == UrlProblem.USERINFO
    assert url_problem("ftp://erp.example.com/h") == UrlProblem.MALFORMED
    assert url_problem("https://erp.example.com/h\nHost: x") == UrlProblem.MALFORMED
    # the operator may let a LAN receiver through, plain http only when written so
    assert url_problem("http://10.0.0.5:8080/h", allowed=parse_allowed(["http://10.0.0.5:8080"])) is None
    assert url_problem("http://10.0.0.5:8080/h", allowed=parse_allowed(["10.0.0.5:8080"])) == UrlProblem.SCHEME
    assert url_problem("https://10.0.0.5:9090/h", allowed=parse_allowed(["10.0.0.5:8080"])) == UrlProblem.PRIVATE


def test_an_unknown_host_is_named_as_such(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(socket.gaierror("no")))
    assert url_problem("https://erp.example.invalid/h") == UrlProblem.UNRESOLVED


def _certificate_for(name: str, folder: Any) -> tuple[str, str]:
    """A self-signed certificate for `name` (its own CA): (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def _tls_receiver(name: str, folder: Any, monkeypatch: Any) -> Receiver:
    """A receiver serving https with a certificate for `name`, which this test's clients trust."""
    cert_file, key_file = _certificate_for(name, folder)
    receiver = Receiver()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    receiver.server.socket = tls.wrap_socket(receiver.server.socket, server_side=True)
    receiver.thread.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert_file)
    return receiver


def test_the_call_goes_to_the_address_that_was_checked_not_to_a_second_lookup(monkeypatch, tmp_path):
    # given an https receiver for hooks.example.test (its certificate trusted here) on this machine,
    # and a name that answers the check with that address and any later lookup with another (DNS
    # rebinding: here an unroutable address, in an attack the cloud metadata service)
    name = "hooks.example.test"
    receiver = _tls_receiver(name, tmp_path, monkeypatch)
    monkeypatch.setattr(webhooks, "_public", lambda address: address == "127.0.0.1")  # stands in for a public one
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return real(host, port, *args, **kwargs)  # the address literal the call connects to
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "203.0.113.9"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        # when an event is posted to it
        sent = webhooks.post(
            f"https://{name}:{receiver.port}/in?token=abc",
            b"{}",
            secret="whsec_x",
            event="ping",
            event_id="e1",
            timestamp=1,
            timeout=2,
        )
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    # then the name was looked up once, and the receiver at the checked address got the call for
    # its name, over TLS checked against that name's certificate
    assert sent.status == 200
    assert lookups == [name]
    [(headers, _body, path)] = receiver.received
    assert headers["Host"] == f"{name}:{receiver.port}"
    assert path == "/in?token=abc"


def test_a_certificate_for_another_name_is_refused(monkeypatch, tmp_path):
    receiver = _tls_receiver("other.example.test", tmp_path, monkeypatch)
    monkeypatch.setattr(webhooks, "_public", lambda address: True)
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [(2, 1, 6, "", ("127.0.0.1", port))])
    try:
        with pytest.raises(webhooks.WebhookFailed, match="network error: SSLError"):
            webhooks.post(
                f"https://hooks.example.test:{receiver.port}/in", b"{}", secret="s", event="ping", event_id="e",
                timestamp=1, timeout=2,
            )  # fmt: skip
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert receiver.received == []


def test_the_signature_is_an_hmac_of_the_timestamp_and_the_body():
    body = b'{"event":"ping"}'
    header = signature("whsec_abc", 1_764_800_000, body)
    assert header.startswith("t=1764800000,v1=")
    assert signature_valid("whsec_abc", header, body)
    assert not signature_valid("whsec_abc", header, body + b" ")
    assert not signature_valid("whsec_other", header, body)
    assert not signature_valid("whsec_abc", header.replace("t=1764800000", "t=1764800001"), body)
    assert not signature_valid("whsec_abc", "garbage", body)


# --- configuring: admins only, URL checked, the secret shown once and stored encrypted -----------


def test_only_admins_configure_webhooks(personas, now, receiver):
    for who in (personas.diana, personas.sam, personas.alice, personas.fay):
        with pytest.raises(PermissionDenied):
            webhook_endpoint_create(user=who, name="x", url=receiver.base, events=["action.logged"], now=now)
    endpoint, secret = endpoint_for(personas, receiver.base + "/hook", ["action.logged"], now)
    assert secret.startswith("whsec_")
    assert secret not in endpoint.secret_enc
    assert crypto.decrypt(endpoint.secret_enc) == secret
    change = SettingChange.objects.get(area="webhook", key=f"{endpoint.pk}.url")
    assert change.after == crypto.mask(endpoint.url)


def test_a_private_url_is_refused_by_field_with_a_message(personas, now, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(RuleViolation) as refused:
        webhook_endpoint_create(
            user=personas.admin, name="ERP", url="http://169.254.169.254/latest", events=[], now=now
        )
    fields = {e.field: e.code for e in refused.value.errors}
    assert fields == {"url": "scheme", "events": "required"}
    with pytest.raises(RuleViolation) as refused:
        webhook_endpoint_create(
            user=personas.admin, name="ERP", url="https://127.0.0.1/x", events=["ping-nope"], now=now
        )
    assert {e.field: e.code for e in refused.value.errors} == {"url": "private", "events": "invalid_choice"}


# --- events: queued with the change, signed, delivered -----------------------------------------------


def test_a_logged_action_reaches_the_receiver_signed_with_its_stage_move(personas, api_as, now, receiver):
    # given an endpoint for actions and stage moves, and a lead of alice's
    _endpoint, secret = endpoint_for(
        personas, receiver.base + "/hook?token=recv-7f3a", ["action.logged", "customer.stage_changed"], now
    )
    shop = make_customer(owner=personas.alice, name="联华超市(江宁店)")
    # when she logs a price negotiation on it
    response = api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    assert response.status_code == 201, response.content
    # then both events are queued with the action, and the worker sends them
    assert WebhookDelivery.objects.filter(status="pending").count() == 2
    assert deliver_webhooks_due(now=now) == 2
    assert list(WebhookDelivery.objects.values_list("status", "response_status").distinct()) == [("sent", 200)]
    events = {body["event"]: body for body in receiver.bodies()}
    logged = events["action.logged"]["data"]
    assert logged["action"]["id"] == response.json()["id"]
    assert (logged["action"]["stage"], logged["action"]["obstacle"]) == ("price_negotiation", "budget_shortage")
    assert logged["customer"] == {
        "id": shop.pk,
        "name": "联华超市(江宁店)",
        "kind": "store",
        "stage": "price_negotiation",
        "status": "active",
        "owner": "alice",
    }
    assert logged["rep"]["username"] == "alice"
    moved = events["customer.stage_changed"]["data"]
    assert (moved["from_stage"], moved["to_stage"], moved["deal"]) == ("lead", "price_negotiation", None)
    # and every request is signed with the endpoint's secret over the exact body
    for headers, body, path in receiver.received:
        assert path == "/hook?token=recv-7f3a"
        assert headers["Content-Type"] == "application/json"
        assert signature_valid(secret, headers["X-SalesTrace-Signature"], body)
        assert headers["X-SalesTrace-Event-Id"] == json.loads(body)["id"]


def test_a_refused_action_queues_nothing(personas, api_as, now, receiver):
    endpoint_for(personas, receiver.base, ["action.logged"], now)
    shop = make_customer(owner=personas.alice)
    body = valid_price_negotiation(shop.pk, now - timedelta(hours=1), obstacle="")
    assert api_as(personas.alice).post("/actions", body).status_code == 422
    assert not WebhookDelivery.objects.exists()


def test_a_failing_receiver_is_retried_with_backoff_and_the_log_keeps_no_secret(personas, api_as, now, receiver):
    # given a receiver that fails once with its internals in the answer, then recovers
    endpoint_for(personas, receiver.base + "/hook?token=recv-7f3a", ["action.logged"], now)
    shop = make_customer(owner=personas.alice)
    api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    receiver.answers = [(500, {})]
    # when the worker tries it
    deliver_webhooks_due(now=now)
    # then it waits a minute, the log naming the host and the status only
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + timedelta(seconds=60)
    assert delivery.last_error == f"HTTP 500 ({receiver.base})"
    assert "recv-7f3a" not in delivery.last_error
    assert "internal" not in delivery.last_error
    # and it is not sent again before then
    assert deliver_webhooks_due(now=now + timedelta(seconds=30)) == 0
    # when it is due, the same event goes out again and is taken
    assert deliver_webhooks_due(now=now + timedelta(seconds=61)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    first, second = receiver.bodies()
    assert first == second


def test_a_refusal_is_not_retried_nor_a_redirect_followed(personas, api_as, now, receiver):
    endpoint_for(personas, receiver.base, ["action.logged"], now)
    shop = make_customer(owner=personas.alice)
    api = api_as(personas.alice)
    api.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=2)))
    api.post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    receiver.answers = [(400, {}), (302, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    deliver_webhooks_due(now=now)
    assert sorted(WebhookDelivery.objects.values_list("status", "last_error")) == [
        ("failed", f"HTTP 302: redirect not followed ({receiver.base})"),
        ("failed", f"HTTP 400 ({receiver.base})"),
    ]
    assert len(receiver.received) == 2
    # an admin sends one again once the receiver is mended: the same event id
    failed = WebhookDelivery.objects.filter(response_status=400).get()
    webhook_redeliver(user=personas.admin, delivery_id=failed.pk, now=now)
    deliver_webhooks_due(now=now)
    failed.refresh_from_db()
    assert failed.status == "sent"
    assert receiver.bodies()[-1]["id"] == str(failed.event_id)


def test_a_receiver_that_is_down_gives_up_after_the_attempts_allowed(personas, api_as, now, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.WEBHOOK_ALLOWED_HOSTS = [f"http://127.0.0.1:{port}"]
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    endpoint_for(personas, f"http://127.0.0.1:{port}/h", ["action.logged"], now)
    shop = make_customer(owner=personas.alice)
    api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    deliver_webhooks_due(now=now)
    deliver_webhooks_due(now=now + timedelta(hours=1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.last_error == f"network error: ConnectionError (http://127.0.0.1:{port})"


def test_a_deal_won_and_lost_are_events(personas, api_as, now, receiver):
    from salestrace.catalog.services import template_load

    template_load(code="b2b_industrial", now=now)
    endpoint_for(personas, receiver.base, ["deal.won", "deal.lost"], now)
    account = make_customer(owner=personas.alice, name="三一重工(长沙)", kind=Customer.Kind.ACCOUNT)
    alice = api_as(personas.alice)
    press = alice.post("/deals", {"customer_id": account.pk, "title": "冲压线改造", "amount": "1280000.00"}).json()
    body = valid_price_negotiation(account.pk, now - timedelta(hours=2), stage="won", deal_id=press["id"])
    assert alice.post("/actions", body).status_code == 201
    deliver_webhooks_due(now=now)
    (won,) = receiver.bodies()
    assert won["event"] == "deal.won"
    assert (won["data"]["deal"]["title"], won["data"]["deal"]["amount"]) == ("冲压线改造", "1280000.00")
    assert won["data"]["deal"]["outcome"] == "won"
    assert won["data"]["customer"]["name"] == "三一重工(长沙)"


def test_the_night_sweep_sends_one_event_per_batch_of_dormant_leads(personas, now, receiver):
    endpoint_for(personas, receiver.base, ["customer.dormant"], now)
    old = now - timedelta(days=400)
    for i in range(5):
        make_customer(owner=personas.alice, name=f"门店{i}", last_active_at=old, created_at=old)
    assert sweep_dormant(now=now, size=3) == 5
    deliver_webhooks_due(now=now)
    events = receiver.bodies()
    assert [len(e["data"]["customers"]) for e in events] == [3, 2]
    assert {e["data"]["reason"] for e in events} == {"idle"}
    assert {c["status"] for e in events for c in e["data"]["customers"]} == {"dormant"}


def test_an_import_sends_no_events(personas, now, receiver, tmp_path):
    endpoint_for(personas, receiver.base, ["action.logged", "customer.stage_changed"], now)
    customers = tmp_path / "customers.csv"
    customers.write_text("external_id,name,kind,owner\nC1,联华超市,lead,alice\n", encoding="utf-8")
    call_command("import_data", "customers", str(customers), "--as", "root")
    assert Customer.objects.filter(name="联华超市").exists()
    assert not WebhookDelivery.objects.exists()


def test_a_switched_off_endpoint_gets_nothing(personas, api_as, now, receiver):
    endpoint, _secret = endpoint_for(personas, receiver.base, ["action.logged"], now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    shop = make_customer(owner=personas.alice)
    api_as(personas.alice).post("/actions", valid_price_negotiation(shop.pk, now - timedelta(hours=1)))
    assert not WebhookDelivery.objects.exists()


# --- the Settings page ----------------------------------------------------------------------------


def test_the_page_adds_an_endpoint_shows_its_secret_once_and_pings_it(personas, client, now, receiver):
    client.force_login(personas.admin)
    page = client.post(
        "/settings/webhooks/",
        {"name": "金蝶 ERP", "url": receiver.base + "/hook?token=recv-7f3a", "events": ["deal.won"]},
    )
    assert page.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    shown = client.get(page["Location"]).content.decode()
    secret = crypto.decrypt(endpoint.secret_enc)
    assert secret in shown
    assert "recv-7f3a" not in shown  # the URL is shown masked
    again = client.get(page["Location"]).content.decode()
    assert secret not in again
    # a test event goes through the log like any other
    client.post(page["Location"], {"do": "ping"})
    deliver_webhooks_due(now=now)
    assert receiver.bodies()[0]["event"] == "ping"
    assert "ping" in client.get(page["Location"]).content.decode()
    # and the list shows each endpoint's last delivery
    listed = client.get("/settings/webhooks/").content.decode()
    assert "已发送" in listed


def test_the_page_is_for_admins_only(personas, client, settings):
    for who in (personas.diana, personas.sam, personas.alice):
        client.force_login(who)
        assert client.get("/settings/webhooks/").status_code == 403
    client.force_login(personas.admin)
    assert client.get("/settings/webhooks/").status_code == 200
    page = client.post("/settings/webhooks/", {"name": "x", "url": "https://127.0.0.1/", "events": ["deal.won"]})
    assert page.status_code == 422
    assert "私有或本地网络" in page.content.decode()
