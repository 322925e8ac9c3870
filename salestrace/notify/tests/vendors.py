"""A local stand-in for the vendors' servers (http.server in a thread on 127.0.0.1).

It checks each request the way the vendor documents it (URL, JSON shape, signature, timestamp
window, token) and answers with the vendor's documented success or error bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
CORP_ID = "ww0123456789abcdef"
CORP_SECRET = "corp-secret-0123456789"
DINGTALK_TOKEN = "dt-access-token"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef"
FEISHU_HOOK = "2b9e7c1a-feishu-hook"
FEISHU_SECRET = "feishu-secret-xyz"


@dataclass
class Vendors:
    """What the fake vendors received, and knobs to make them answer errors."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    wecom_group_per_minute: int = 20
    wecom_group_sent: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    feishu_secret: str = FEISHU_SECRET
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""
    # Every request's path and query, as sent (to see what a redirect or a refused URL reached).
    requests: list[str] = field(default_factory=list)
    # Knobs for misbehaving servers: answer every request with (status, raw body), or a 302 to a URL.
    broken: tuple[int, str] | None = None
    redirect_to: str = ""

    def bodies(self, vendor: str) -> list[dict[str, Any]]:
        return [body for name, body in self.received if name == vendor]

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()


def _wecom_group(v: Vendors, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    key = query.get("key", "")
    if key != WECOM_KEY:
        return {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"}
    if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown", {}).get("content"), str):
        return {"errcode": 40008, "errmsg": "invalid message type"}
    if len(body["markdown"]["content"].encode()) > 4096:
        return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
    now = time.time()
    sent = [t for t in v.wecom_group_sent[key] if t > now - 60]
    if len(sent) >= v.wecom_group_per_minute:
        return {"errcode": 45009, "errmsg": "api freq out of limit"}
    v.wecom_group_sent[key] = [*sent, now]
    v.received.append(("wecom_group", body))
    return {"errcode": 0, "errmsg": "ok"}


def _gettoken(v: Vendors, query: dict[str, str]) -> dict[str, Any]:
    if query.get("corpid") != CORP_ID:
        return {"errcode": 40013, "errmsg": "invalid corpid"}
    if query.get("corpsecret") != CORP_SECRET:
        return {"errcode": 40001, "errmsg": "invalid credential"}
    v.tokens_issued += 1
    token = f"token-{v.tokens_issued}"
    v.tokens.add(token)
    return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}


def _wecom_send(v: Vendors, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    token = query.get("access_token", "")
    if not token:
        return {"errcode": 41001, "errmsg": "access_token missing"}
    if token not in v.tokens:
        return {"errcode": 42001, "errmsg": "access_token expired"}
    if not isinstance(body.get("agentid"), int) or body.get("msgtype") != "markdown" or not body.get("touser"):
        return {"errcode": 40008, "errmsg": "invalid message type"}
    if body["touser"] == "nobody":
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "nobody", "msgid": "x"}
    v.received.append(("wecom_app", body))
    return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "msg-1"}


def _dingtalk(v: Vendors, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if query.get("access_token") != DINGTALK_TOKEN:
        return {"errcode": 300001, "errmsg": "token is not exist"}
    timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
        return {"errcode": 310000, "errmsg": "sign not match, more: [timestamp is invalid]"}
    expected = base64.b64encode(
        hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    if sign != expected:
        return {"errcode": 310000, "errmsg": "sign not match"}
    md = body.get("markdown") or {}
    if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
        return {"errcode": 40035, "errmsg": "缺少参数 markdown"}
    v.received.append(("dingtalk", body))
    return {"errcode": 0, "errmsg": "ok"}


def _feishu(v: Vendors, hook: str, body: dict[str, Any]) -> dict[str, Any]:
    if hook != FEISHU_HOOK:
        return {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
    if v.feishu_secret:
        timestamp = str(body.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        key = f"{timestamp}\n{v.feishu_secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != expected:
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
    post = (body.get("content") or {}).get("post") or {}
    if body.get("msg_type") != "post" or not any(isinstance(p.get("content"), list) for p in post.values()):
        return {"code": 9499, "msg": "Bad Request", "data": {}}
    v.received.append(("feishu", body))
    return {"code": 0, "msg": "success", "data": {}}


def make_handler(v: Vendors) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, data: dict[str, Any], status: int = 200) -> None:
            raw = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _misbehave(self) -> bool:
            with v.lock:
                v.requests.append(self.path)
            if v.redirect_to:
                self.send_response(302)
                self.send_header("Location", v.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            if v.broken:
                status, text = v.broken
                raw = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return True
            return False

        def do_GET(self) -> None:
            if self._misbehave():
                return None
            url = urlsplit(self.path)
            query = {k: vals[0] for k, vals in parse_qs(url.query).items()}
            with v.lock:
                if url.path == "/cgi-bin/gettoken":
                    return self._answer(_gettoken(v, query))
            self._answer({"errcode": 404, "errmsg": "not found"}, 404)

        def do_POST(self) -> None:
            if self._misbehave():
                return None
            url = urlsplit(self.path)
            query = {k: vals[0] for k, vals in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length", 0))
            if "application/json" not in self.headers.get("Content-Type", ""):
                return self._answer({"errcode": 40035, "errmsg": "content type must be json"}, 400)
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                return self._answer({"errcode": 40035, "errmsg": "invalid json"}, 400)
            with v.lock:
                if url.path == "/cgi-bin/webhook/send":
                    return self._answer(_wecom_group(v, query, body))
                if url.path == "/cgi-bin/message/send":
                    return self._answer(_wecom_send(v, query, body))
                if url.path == "/robot/send":
                    return self._answer(_dingtalk(v, query, body))
                if url.path.startswith("/open-apis/bot/v2/hook/"):
                    return self._answer(_feishu(v, url.path.rsplit("/", 1)[1], body))
            self._answer({"errcode": 404, "errmsg": "not found"}, 404)

    return Handler


class VendorServer:
    def __init__(self) -> None:
        self.vendors = Vendors()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.vendors))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.vendors.base = self.base
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> VendorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def wecom_webhook(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_webhook(self) -> str:
        return f"{self.base}/robot/send?access_token={DINGTALK_TOKEN}"

    @property
    def feishu_webhook(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{FEISHU_HOOK}"
