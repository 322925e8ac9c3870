"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_the_login_page_is_in_chinese_by_default(client: Any, personas: Any) -> None:
    html = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "用户名" in html
    assert "密码" in html
    assert '<label for="id_username">' in html
    assert 'id="id_username"' in html


def test_a_rep_signs_in_and_lands_on_today(client: Any, personas: Any) -> None:
    # when
    response = client.post("/login/", {"username": "alice", "password": "pw-alice"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "今日" in client.get("/").content.decode()


def test_a_wrong_password_is_refused_with_a_message(client: Any, personas: Any) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_signed_out_visitors_are_sent_to_the_login_page(client: Any, personas: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_sign_out_ends_the_session(client: Any, personas: Any) -> None:
    client.force_login(personas.alice)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_the_language_switch_turns_the_login_page_into_english(client: Any, personas: Any) -> None:
    # when
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    # then
    assert response.status_code == 302
    html = client.get("/login/").content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Username" in html
    assert "简体中文" in html  # the way back


def test_login_page_stays_within_its_query_budget(
    client: Any, personas: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        assert client.get("/login/").status_code == 200


def test_pages_stay_chinese_for_an_english_browser_until_the_person_switches(client: Any, personas: Any) -> None:
    # given a phone whose browser asks for English
    english = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
    # when / then pages answer in Chinese, while the API follows the header
    assert '<html lang="zh-hans">' in client.get("/login/", **english).content.decode()
    client.force_login(personas.alice)
    rules = client.get("/api/v1/rules", **english).json()
    assert rules[0]["message"] == "Choose the key action of this contact"
    # and after the switch, pages are English
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/", **english).content.decode()
