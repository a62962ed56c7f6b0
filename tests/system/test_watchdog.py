"""The watchdog in real time (poll/watchdog.py, app.py): the poller is blocked (the client
never answers, past its own deadline: a bug), and within the bound (3 × poll_interval +
timeout) scrapes stop serving the old numbers as live and /-/healthy fails; stuck for a
second bound, the exporter exits with status 1 for its supervisor to restart it."""

from __future__ import annotations

import asyncio
import time

import httpx

from convoso_exporter.app import App, RunOptions
from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings
from convoso_exporter.simulator import ContactCenter, Simulator

TOKEN = "watchdog-test-token-0123456789"


def test_a_blocked_poller_is_never_served_as_live_and_the_exporter_exits_for_a_restart():
    seen: dict = {}

    async def main() -> int:
        sim = Simulator(ContactCenter(agents=8, campaigns=1, queues=1, seed=4), token=TOKEN)
        await sim.start()
        config = Config(convoso=ConvosoSettings(base_url=sim.base_url, auth_token=TOKEN, timeout=0.5),
                        poll_interval=1.0, discovery=DiscoverySettings(enabled=False))
        app = App(config, RunOptions(listen_addresses=("127.0.0.1:0",)))
        task = asyncio.create_task(app.run())
        try:
            while not app.ready():
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{app.server.port}"
            async with httpx.AsyncClient(base_url=url, trust_env=False) as web:
                seen["live"] = (await web.get("/metrics")).status_code

                async def never(*_: object, **__: object):
                    await asyncio.Event().wait()

                # Every call blocks: the searches and the optional endpoints' calls beside them.
                for call in ("search", "user_activity", "performance"):
                    setattr(app.client, call, never)
                blocked = time.monotonic()
                while (answer := await web.get("/metrics")).status_code == 200:
                    assert time.monotonic() - blocked < 3 * app.watchdog.bound, "still served as live"
                    await asyncio.sleep(0.1)
                seen["after"] = time.monotonic() - blocked
                seen["metrics"] = answer
                seen["healthy"] = await web.get("/-/healthy")
            status = await asyncio.wait_for(task, 4 * app.watchdog.bound)
            seen["exited"] = time.monotonic() - blocked
            seen["bound"] = app.watchdog.bound
            return status
        finally:
            if not task.done():
                task.cancel()
            await sim.close()

    status = asyncio.run(main())
    print(f"\nwatchdog: bound {seen['bound']:g}s; /metrics 503 after {seen['after']:.1f}s; exited 1 after "
          f"{seen['exited']:.1f}s")
    assert seen["live"] == 200
    # Within the bound (plus the second the watch loop and the last poll's interval take).
    assert seen["after"] <= seen["bound"] + 2.5
    assert seen["metrics"].status_code == 503 and "stuck: no poll has finished for" in seen["metrics"].text
    assert seen["healthy"].status_code == 503
    assert status == 1 and seen["exited"] >= seen["after"]
