"""The page's server side: one document built at import, served as is, needing nothing from elsewhere."""

import re

import pytest

from chalicelib import page as web_page


def test_the_page_is_built_once_and_served_without_reading_anything(client):
    first, second = client.http.get("/"), client.http.get("/")
    assert first.status_code == 200 and first.headers["Content-Type"] == "text/html; charset=utf-8"
    assert first.body == second.body == web_page.DOCUMENT.encode()
    assert web_page.page().body is web_page.DOCUMENT


def test_the_page_fetches_nothing_from_another_host():
    document = web_page.DOCUMENT
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document)
    assert "@import" not in document and "url(" not in document
    assert "<style>" in document and "<script>" in document and "<!-- page." not in document


def test_the_content_security_policy_allows_exactly_the_inline_script_and_style():
    policy = web_page.HEADERS["Content-Security-Policy"]
    script = re.search(r"<script>(.*)</script>", web_page.DOCUMENT, re.S)[1]
    style = re.search(r"<style>(.*)</style>", web_page.DOCUMENT, re.S)[1]
    assert f"script-src {web_page._source_hash(script)};" in policy
    assert f"style-src {web_page._source_hash(style)};" in policy
    assert "default-src 'none'" in policy


def test_a_page_template_without_its_markers_is_refused_at_build():
    with pytest.raises(ValueError, match="page.js"):
        web_page.build_page("<html><!-- page.css --></html>", "", "")
    with pytest.raises(ValueError, match="must not close"):
        web_page.build_page("<!-- page.css --><!-- page.js -->", "", "</script><script>alert(1)")
