"""The onboarding portal in a real browser (Debian's chromium, driven through chromium-driver).

The operator makes a setup link (admin API); the customer opens it, picks "Another OpenID
Connect provider", sees the live field-named messages, enters the issuer of a test IdP, tests the
connection (every check passes), pastes a token of that IdP into the sign-in test (every check
passes), and submits; the operator activates it (admin API), and getToken with a user token of
that IdP answers 201. The spent link then shows that the provider is connected. Every form
control has a label, and the page fits a phone's width. Screenshots land in $SCREENSHOTS.

Usage: ACS_AUTH_URL=… ACS_AUTH_ADMIN_KEY=… IDP_ISSUER=… IDP_AUDIENCE=… IDP_TOKEN=…
       IDP_USER_TOKEN=… python onboarding_portal.py
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BASE = os.environ["ACS_AUTH_URL"]
ADMIN_KEY = os.environ["ACS_AUTH_ADMIN_KEY"]
ISSUER = os.environ["IDP_ISSUER"]
AUDIENCE = os.environ["IDP_AUDIENCE"]
TOKEN = os.environ["IDP_TOKEN"]
USER_TOKEN = os.environ["IDP_USER_TOKEN"]
SHOTS = os.environ.get("SCREENSHOTS")
TENANT = "contoso"


def call(method: str, path: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{BASE}{path}", data=data, method=method)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def admin(method: str, path: str, body: dict | None = None):
    return call(method, f"/admin{path}", body, {"X-Admin-Key": ADMIN_KEY})


def browser() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1500", "--hide-scrollbars"):
        options.add_argument(arg)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def shot(driver: WebDriver, name: str, anchor: str | None = None) -> None:
    """A screenshot of the viewport, scrolled to `anchor` (an element id) when given."""
    if not SHOTS:
        return
    os.makedirs(SHOTS, exist_ok=True)
    if anchor:
        driver.execute_script(
            "document.getElementById(arguments[0]).scrollIntoView({block: 'start'})", anchor
        )
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def verdicts(driver: WebDriver, section: str) -> list[tuple[str, str]]:
    items = driver.find_elements(By.CSS_SELECTOR, f"#{section} li[data-check]")
    return [(i.get_attribute("data-check"), i.get_attribute("data-verdict")) for i in items]


def assert_labelled(driver: WebDriver) -> None:
    """Every visible form control has a label naming it (keyboard and screen-reader users)."""
    unlabelled = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('input, select, textarea'))
          .filter(e => e.type !== 'hidden')
          .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]')))
          .map(e => e.name);
        """
    )
    assert not unlabelled, f"controls without a label: {unlabelled}"


def main() -> int:
    status, created = admin("POST", f"/tenants/{TENANT}/setupLinks",
                            {"display_name": "Contoso Ltd", "expires_in_hours": 72})
    assert status == 201, (status, created)
    link_id = created["id"]
    driver = browser()
    # A button posts the form: the page is replaced, and elements of the old one go stale.
    wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
    try:
        # The customer opens the link and picks their kind of IdP.
        driver.get(created["url"])
        wait.until(lambda d: d.find_elements(By.ID, "kind-oidc"))
        assert "Contoso Ltd" in driver.page_source
        assert_labelled(driver)
        shot(driver, "1-open")
        driver.find_element(By.ID, "kind-oidc").click()
        driver.find_element(By.CSS_SELECTOR, "button[value=choose]").click()
        wait.until(lambda d: d.find_elements(By.ID, "f-issuer"))
        assert_labelled(driver)
        shot(driver, "2-guidance", "step-register")

        # Live validation: the audience first, and the issuer is reported missing; then a value
        # that is not an https URL (this server allows http for tests, so: not a URL at all).
        driver.find_element(By.ID, "f-audiences").send_keys(AUDIENCE)
        wait.until(lambda d: d.find_element(By.ID, "e-issuer").text == "is required")
        issuer = driver.find_element(By.ID, "f-issuer")
        issuer.send_keys("login.contoso")
        wait.until(lambda d: d.find_element(By.ID, "e-issuer").text not in ("", "is required"))
        assert issuer.get_attribute("aria-invalid") == "true"
        shot(driver, "3-live-validation", "step-values")
        issuer.clear()
        issuer.send_keys(ISSUER)
        wait.until(lambda d: d.find_element(By.ID, "e-issuer").text == "")

        # Test connection: discovery and key set.
        driver.find_element(By.ID, "test-connection").click()
        wait.until(lambda d: d.find_elements(By.ID, "connection-result"))
        checks = verdicts(driver, "connection-result")
        assert checks and all(v == "pass" for _, v in checks), checks
        assert driver.find_element(By.ID, "connection-result").get_attribute("data-ok") == "true"
        shot(driver, "4-test-connection", "step-values")

        # Test a sign-in with a token of that IdP: every check passes, nothing is issued.
        token = driver.find_element(By.ID, "f-token")
        token.send_keys(TOKEN)
        driver.find_element(By.ID, "test-sign-in").click()
        wait.until(lambda d: d.find_elements(By.ID, "sign-in-result"))
        checks = verdicts(driver, "sign-in-result")
        assert len(checks) >= 14 and all(v == "pass" for _, v in checks), checks
        assert TOKEN not in driver.page_source, "the token is not put back into the page"
        shot(driver, "5-test-sign-in", "step-sign-in")

        # Submit: pending until the operator activates it.
        driver.find_element(By.ID, "submit").click()
        wait.until(lambda d: "Submitted" in d.find_element(By.ID, "state").text)
        shot(driver, "6-submitted")
        status, link = admin("GET", f"/tenants/{TENANT}/setupLinks/{link_id}")
        assert status == 200 and link["state"] == "submitted", link
        assert link["pending_provider"]["issuer"] == ISSUER, link
        status, _ = call("POST", f"/tenants/{TENANT}/getToken",
                         headers={"Authorization": f"Bearer {USER_TOKEN}"})
        assert status == 404, f"not served before activation: {status}"

        # The operator activates it; the IdP's users get ACS tokens.
        status, tenant = admin("POST", f"/tenants/{TENANT}/setupLinks/{link_id}/activate")
        assert status == 200 and tenant["provider"]["issuer"] == ISSUER, (status, tenant)
        status, issued = call("POST", f"/tenants/{TENANT}/getToken",
                              headers={"Authorization": f"Bearer {USER_TOKEN}"})
        assert status == 201, (status, issued)
        assert issued["user"]["communicationUserId"].startswith("8:acs:"), issued

        # The link is spent.
        driver.get(created["url"])
        wait.until(lambda d: "connected" in d.find_element(By.TAG_NAME, "h1").text)
        shot(driver, "7-connected")

        # Readable on a phone: a new link, at a phone's width, without sideways scrolling.
        status, phone = admin("POST", f"/tenants/{TENANT}/setupLinks", {})
        assert status == 201, phone
        driver.set_window_size(390, 1100)
        driver.get(phone["url"])
        wait.until(lambda d: d.find_elements(By.ID, "kind-oidc"))
        driver.find_element(By.ID, "kind-aad_b2c").send_keys(Keys.SPACE)
        driver.find_element(By.CSS_SELECTOR, "button[value=choose]").send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.ID, "f-tenant_name"))
        # The submission of the first link prefills nothing here: another kind, another link.
        assert driver.find_element(By.ID, "f-tenant_name").get_attribute("value") == ""
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        shot(driver, "8-phone-b2c", "step-register")
    except Exception:
        shot(driver, "failure")
        raise
    finally:
        driver.quit()
    print("onboarding portal: link opened, connection and sign-in tested, submitted, "
          "activated; getToken 201")
    return 0


if __name__ == "__main__":
    sys.exit(main())
