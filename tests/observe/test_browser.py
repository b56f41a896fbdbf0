# -*- test-case-name: tests.observe.test_browser -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The web view in a real browser: headless Chromium through selenium opens
the page of C{twistd vdetutorial --web}, sees the tutorial's ports, sees a
new port appear when a C{vde_plug} joins, and with the token adds a
forward that then carries traffic.  The run saves a screenshot as
C{web-view.png} in the test run's directory (C{_trial_temp}); the README
shows the one in C{docs/web-view.png}, refreshed with
C{VDETWIST_SCREENSHOT=docs/web-view.png}.
"""

import os
import shutil
import subprocess
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.observe.tutorial import Tutorial, freePort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "browser-test-token"


def _driver():
    """
    A headless Chromium driver, or a skip reason.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (pip install selenium)"
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        return None, "chromium and chromium-driver are not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(chromedriver), options=options), None


class BrowserTests(SynchronousTestCase):
    """
    The page in headless Chromium.
    """

    def waitFor(self, predicate, what: str, timeout: float = 20) -> float:
        start = time.monotonic()
        while True:
            try:
                if predicate():
                    return time.monotonic() - start
            except Exception:
                pass
            self.assertLess(time.monotonic() - start, timeout, what)
            time.sleep(0.05)

    def test_page(self) -> None:
        """
        Ports shown; a new one within 2 s of vde_plug joining; a forward
        added with the token carries nc's text.
        """
        if shutil.which("vde_plug") is None or shutil.which("nc") is None:
            raise self.skipTest("vde_plug and nc are needed")
        driver, reason = _driver()
        if driver is None:
            raise self.skipTest(reason)
        self.addCleanup(driver.quit)
        from selenium.webdriver.common.by import By
        port = freePort()
        tokenFile = os.path.join("/tmp", "vt-browser-token-%d" % (os.getpid(),))
        with open(tokenFile, "w") as f:
            f.write(TOKEN + "\n")
        self.addCleanup(os.remove, tokenFile)
        tutorial = Tutorial(self, ["--web", str(port), "--web-token", tokenFile])
        driver.get("http://127.0.0.1:%d/" % (port,))

        def portRows():
            return [row.get_attribute("data-port")
                    for row in driver.find_elements(By.CSS_SELECTOR, "#ports tbody tr")]
        self.waitFor(lambda: portRows() == ["1", "2", "3", "4"], "the tutorial's ports")
        self.assertIn("slirp", driver.find_element(By.CSS_SELECTOR, "#ports tbody").text)
        self.assertTrue(driver.find_elements(By.CSS_SELECTOR, "#lan #port-4"))

        plug = subprocess.Popen(["vde_plug", tutorial.sock], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._stop, plug)
        elapsed = self.waitFor(lambda: "5" in portRows(), "the new port", timeout=10)
        self.assertLess(elapsed, 2.0)
        self.assertTrue(driver.find_elements(By.CSS_SELECTOR, "#lan #port-5"))

        newPort = freePort()
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "fw-spec").send_keys("%d:192.168.77.102:10000" % (newPort,))
        driver.find_element(By.ID, "fw-add").click()
        self.waitFor(lambda: driver.find_elements(
            By.CSS_SELECTOR, '#forwards tr[data-forward="tcp/%d"]' % (newPort,)),
            "the new forward in the table")
        subprocess.run(["nc", "-N", "127.0.0.1", str(newPort)], input=b"via the browser\n",
                       check=True, timeout=20)
        self.waitFor(lambda: any("[192.168.77.102] via the browser" in line
                                 for line in tutorial.output), "nc's text at the host")
        # "via the browser\n" is 16 bytes, relayed to the guest.
        self.waitFor(lambda: "16 B" in driver.find_element(
            By.CSS_SELECTOR, '#forwards tr[data-forward="tcp/%d"]' % (newPort,)).text,
            "the forward's bytes on the page")
        driver.execute_script("window.scrollTo(0, 0)")
        # In the run's own directory (_trial_temp), never over the tracked
        # docs/web-view.png: VDETWIST_SCREENSHOT=docs/web-view.png refreshes
        # that one on purpose.
        path = os.path.abspath(os.environ.get("VDETWIST_SCREENSHOT", "web-view.png"))
        driver.save_screenshot(path)
        self.assertGreater(os.path.getsize(path), 0)

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdin is not None:
            process.stdin.close()
