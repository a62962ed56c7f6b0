"""Take the wallboard screenshots in docs/images/ with headless Chromium.

    python -m tests.screenshots [--out docs/images]

The normal and TV views come from the demo (a simulated center: 60 agents, 3 campaigns,
4 queues); the stale view from an exporter polling a simulator that answers HTTP 500.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.browser import Browser, Page
from tests.support import ROOT, free_port, process, simulator_process, wait_http

TOKEN = "screenshots"


def shoot(browser: Browser, url: str, path: Path, width: int, height: int, ready: str) -> None:
    page: Page = browser.new_page(width, height)
    page.goto(url)
    page.wait_for(ready, timeout=30)
    time.sleep(0.3)
    page.screenshot(path)
    print(f"{path} ({path.stat().st_size // 1024} KiB)")


def demo_views(browser: Browser, out: Path) -> None:
    port = free_port()
    with process(["--web.listen-address", f"127.0.0.1:{port}"]) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc)
        # Discovered campaigns and queues are polled after the first account answer.
        deadline = time.monotonic() + 20
        while len(httpx.get(f"{url}/api/v1/snapshot").json()["targets"]) < 8 and time.monotonic() < deadline:
            time.sleep(0.5)
        rendered = "Number(document.body.dataset.renders) >= 1 && document.querySelectorAll('nav a').length > 1"
        shoot(browser, f"{url}/wallboard", out / "wallboard.png", 1600, 1000, rendered)
        shoot(browser, f"{url}/wallboard?tv=1", out / "wallboard-tv.png", 1920, 1080, "Number(document.body.dataset.renders) >= 1")


def stale_view(browser: Browser, out: Path, tmp: Path) -> None:
    with simulator_process("--agents", "24", "--seed", "4", token=TOKEN) as (_, base_url):
        (tmp / "token").write_text(TOKEN)
        (tmp / "token").chmod(0o600)
        (tmp / "config.yaml").write_text(
            f"convoso:\n  base_url: {base_url}\n  auth_token_file: token\n  timeout: 1s\n  max_backoff: 1s\n"
            "poll_interval: 1s\ntargets:\n  - name: spanish-speakers\n    skills: [spanish]\n"
        )
        port = free_port()
        with process(["--config.file", str(tmp / "config.yaml"), "--web.listen-address", f"127.0.0.1:{port}"]) as proc:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/-/ready", proc=proc)
            control = base_url.removesuffix("/v1") + "/_sim/fault?auth_token=" + quote(TOKEN)
            httpx.post(control, json={"fault": "500"}).raise_for_status()
            shoot(browser, f"{url}/wallboard", out / "wallboard-stale.png", 1600, 700,
                  "document.body.dataset.stale === '1' && /STALE/.test(document.getElementById('alarm').textContent)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="convoso-shots-"))
    with Browser() as browser:
        demo_views(browser, args.out)
        stale_view(browser, args.out, tmp)


if __name__ == "__main__":
    main()
