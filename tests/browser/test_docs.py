"""/docs and /redoc in a real browser, offline: every asset comes from this server (any request elsewhere
fails the test, as would a console error or a failed request), and the pages render the API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def block_other_hosts(page, server: str, elsewhere: list[str]) -> None:
    """No internet: any request that leaves this server is recorded and aborted."""
    def route(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()
    page.route("**/*", route)


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "h1")])
def test_api_docs_render_with_nothing_from_another_host(browser, server, artifacts, path, ready):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    block_other_hosts(page, server, elsewhere)
    try:
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible(timeout=20_000)
        assert "POST" in page.locator("body").inner_text().upper()
        page.screenshot(path=artifacts / f"docs{path.replace('/', '-')}.png")
    finally:
        context.close()
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    assert not problems, problems
