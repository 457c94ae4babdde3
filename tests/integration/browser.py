"""A real browser for the dashboard's tests: Playwright driving Debian's Chromium
(scripts/chromium.sh installs it), headless, with screenshots kept as artifacts. The
fixtures (`chromium`, one for the whole run, and `page`) are in conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = os.environ.get("WHARF_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("WHARF_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, url: str, email: str, password: str, tenant: str) -> None:
    page.goto(url)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Tenant").fill(tenant)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator("[data-who]").wait_for()
