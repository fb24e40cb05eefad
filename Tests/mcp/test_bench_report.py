"""The HTML report of `edgeauth bench` in headless Chromium (Debian's, through Selenium): it loads
from the file alone — nothing requested from anywhere else, no console error (its Content Security
Policy forbids loading anything) — and shows a table and two charts per measurement."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from test_browser_login import CHROMEDRIVER, CHROMIUM, HEADLESS, PAGE_TIMEOUT
from test_mcp_clients import REPO_ROOT, edgeauth_binary

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

MEASUREMENTS = ["parse", "uncached", "l1", "lmdb", "signature"]


def write_report(directory: Path) -> Path:
    report = directory / "report.html"
    token = (REPO_ROOT / "bench-data/tokens/keycloak-es256.jwt").read_text().strip()
    completed = subprocess.run(
        [str(edgeauth_binary()), "bench", token, "--jwks", str(REPO_ROOT / "bench-data/jwks.json"), "--any-issuer", "--any-audience",
         "--now", "1764003600", "--duration", "0.1", "--threads", "2", "--html", str(report)],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return report


def test_html_report_loads_from_the_file_alone(tmp_path: Path) -> None:
    report = write_report(tmp_path)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in HEADLESS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        driver.get(report.as_uri())
        assert driver.title == "edgeauth bench"
        requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                     for entry in driver.get_log("performance")
                     if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"]
        assert requested == [report.as_uri()], f"requests beyond the report itself: {requested}"
        console = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert console == [], console
        rows = [row.text.split()[0] for row in driver.find_elements(By.CSS_SELECTOR, "section table tr")[1:]]
        assert rows[:len(MEASUREMENTS)] == MEASUREMENTS
        charts = driver.find_elements(By.CSS_SELECTOR, "figure svg")
        assert len(charts) == 2 * len(MEASUREMENTS)
        assert all(chart.size["width"] > 100 and chart.size["height"] > 100 for chart in charts)
        labels = [chart.get_attribute("aria-label") for chart in charts]
        assert labels[:2] == ["latency histogram of parse", "latency by percentile of parse"]
        assert "2 threads" in driver.find_element(By.TAG_NAME, "body").text
    finally:
        driver.quit()
