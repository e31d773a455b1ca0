#!/usr/bin/env python3
"""Screenshots for the README: the dashboard during an MNIST CNN training, and the playground
solving spirals. A maintainer's tool (needs `pip install selenium` and Debian's chromium-driver);
the tests take their own screenshots without Python.

    MYELIN=.build/release/myelin python3 scripts/readme-screenshots.py --out docs/images
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("MYELIN_CHROMIUM", "/usr/lib/chromium/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(os.environ.get("MYELIN_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.set_window_size(1400, 1000)
    return driver


def serve(args):
    """Starts a myelin command and returns it with the URL it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        m = re.search(r"(http://\S+)$", line.strip())
        if m:
            return proc, m.group(1)
    raise SystemExit("no URL printed: " + " ".join(args))


def dashboard(myelin, out_dir):
    work = tempfile.mkdtemp(prefix="myelin-shots-")
    proc, url = serve([myelin, "train", "--data", "mnist", "--model", "cnn", "--epochs", "4", "--quiet",
                       "--dashboard", "--port", "0", "--histogram-every", "25", "--out", os.path.join(work, "mnist-cnn")])
    d = browser()
    try:
        d.get(url)
        # Into the third epoch, so the per-epoch curves have two points.
        deadline = time.time() + 400
        while time.time() < deadline and int(d.find_element(By.ID, "status-epoch").text or 0) < 3:
            time.sleep(2)
        time.sleep(15)
        d.save_screenshot(os.path.join(out_dir, "dashboard-mnist-cnn.png"))
        d.find_element(By.CSS_SELECTOR, "button[data-tab=inside]").click()
        time.sleep(3)
        d.save_screenshot(os.path.join(out_dir, "dashboard-mnist-cnn-inside.png"))
        d.find_element(By.ID, "pause").click()
        time.sleep(1.5)
        d.find_element(By.CSS_SELECTOR, "button[data-tab=inspect]").click()
        time.sleep(2)
        Select(d.find_element(By.ID, "inspect-layer")).select_by_index(0)
        time.sleep(2)
        d.save_screenshot(os.path.join(out_dir, "dashboard-mnist-cnn-inspect.png"))
        d.find_element(By.ID, "resume").click()
    finally:
        d.quit()
        proc.terminate()


def playground(myelin, out_dir):
    proc, url = serve([myelin, "playground", "--port", "0"])
    d = browser()
    try:
        d.get(url)
        time.sleep(1)
        Select(d.find_element(By.ID, "dataset")).select_by_value("spirals")
        time.sleep(0.5)
        for value in ("x2", "y2", "sinx", "siny"):
            d.find_element(By.CSS_SELECTOR, f".feature[value={value}]").click()
            time.sleep(0.3)
        Select(d.find_element(By.ID, "lr")).select_by_visible_text("0.1")
        time.sleep(0.5)
        for _ in range(2):
            for i in range(2):
                # The network is drawn anew after each change: find the button again each time.
                d.find_elements(By.CSS_SELECTOR, "button[data-d='1']")[i].click()
                time.sleep(0.6)
        d.find_element(By.ID, "play").click()
        deadline = time.time() + 240
        while time.time() < deadline:
            loss = d.execute_script("return pg.picture ? pg.picture.testLoss : null;")
            epoch = int(d.find_element(By.ID, "epoch").text)
            if loss is not None and loss < 0.1 and epoch > 50:
                break
            time.sleep(1)
        d.find_element(By.ID, "play").click()
        time.sleep(1)
        print("playground: epoch", d.find_element(By.ID, "epoch").text, "test loss", d.find_element(By.ID, "test-loss").text)
        d.save_screenshot(os.path.join(out_dir, "playground-spirals.png"))
    finally:
        d.quit()
        proc.terminate()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/images")
    a = parser.parse_args()
    os.makedirs(a.out, exist_ok=True)
    myelin = os.environ.get("MYELIN", ".build/release/myelin")
    dashboard(myelin, a.out)
    playground(myelin, a.out)


if __name__ == "__main__":
    main()
