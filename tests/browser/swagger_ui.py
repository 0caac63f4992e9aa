"""Swagger UI in a real browser (Debian's chromium, driven through chromium-driver): /docs
renders every operation of the spec; Authorize with a dev token; Try it out on getToken with the
default example answers 201, then 200. Screenshots land in $SCREENSHOTS when set.

Usage: ACS_AUTH_URL=http://127.0.0.1:8080 ACS_AUTH_TOKEN=<dev token> python swagger_ui.py
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BASE = os.environ["ACS_AUTH_URL"]
TOKEN = os.environ["ACS_AUTH_TOKEN"]
SHOTS = os.environ.get("SCREENSHOTS")


def browser() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,2400"):
        options.add_argument(arg)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def shot(driver: WebDriver, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def live_status(block: WebElement) -> str:
    cells = block.find_elements(By.CSS_SELECTOR, ".live-responses-table tbody td.response-col_status")
    return cells[0].text.strip() if cells else ""


def main() -> int:
    with urllib.request.urlopen(f"{BASE}/openapi.json") as resp:
        spec = json.load(resp)
    operations = {
        (method.upper(), path) for path, item in spec["paths"].items() for method in item
    }
    driver = browser()
    wait = WebDriverWait(driver, 30)
    try:
        driver.get(f"{BASE}/docs")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(operations))
        rendered = set()
        for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
            method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip()
            path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
                "data-path"
            )
            rendered.add((method.upper(), path))
        missing = operations - rendered
        assert not missing, f"operations not rendered: {sorted(missing)}"
        tags = [t.text.split("\n")[0] for t in driver.find_elements(By.CSS_SELECTOR, ".opblock-tag")]
        assert tags and tags[0].startswith("Tokens"), f"Tokens first: {tags}"
        shot(driver, "1-operations")

        # Authorize with the user's bearer token.
        driver.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container"))
        bearer = next(
            c for c in driver.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container")
            if "BearerAuth" in c.text
        )
        bearer.find_element(By.CSS_SELECTOR, "input").send_keys(TOKEN)
        bearer.find_element(By.CSS_SELECTOR, "button.authorize").click()
        wait.until(lambda d: "Logout" in bearer.text)
        shot(driver, "2-authorized")
        driver.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

        # Try it out on getToken with the default example body.
        block = driver.find_element(By.ID, "operations-Tokens-getToken")
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        tenant = wait.until(lambda d: block.find_element(By.CSS_SELECTOR, "input[placeholder='tenant']"))
        tenant.send_keys("dev")
        body = block.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
        example = json.loads(body.get_attribute("value") or "{}")
        assert example == spec["components"]["schemas"]["GetTokenRequest"]["example"], example
        block.find_element(By.CSS_SELECTOR, ".execute").click()
        wait.until(lambda d: live_status(block) == "201")
        shot(driver, "3-get-token-201")
        block.find_element(By.CSS_SELECTOR, ".execute").click()
        wait.until(lambda d: live_status(block) == "200")
        shot(driver, "4-get-token-200")
    except Exception:
        shot(driver, "failure")
        raise
    finally:
        driver.quit()
    print(f"swagger ui: {len(operations)} operations rendered; getToken 201 then 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
