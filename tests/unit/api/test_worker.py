"""convoso_exporter.api.worker: one daemon thread runs parses in order; exit never waits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from convoso_exporter.api.worker import ParseWorker


def test_jobs_run_in_order_on_one_daemon_thread_and_return_or_raise():
    async def scenario():
        worker = ParseWorker()
        threads = []

        def job(value):
            threads.append(threading.current_thread())
            if value == "boom":
                raise ValueError(value)
            return value * 2

        results = await asyncio.gather(worker.run(job, 1), worker.run(job, "boom"), worker.run(job, 3),
                                       return_exceptions=True)
        worker.close()
        return results, threads

    results, threads = asyncio.run(scenario())
    assert results[0] == 2 and results[2] == 6 and isinstance(results[1], ValueError)
    assert len(set(threads)) == 1 and threads[0].daemon and threads[0] is not threading.main_thread()


def test_a_cancelled_job_that_has_not_started_is_skipped():
    async def scenario():
        worker = ParseWorker()
        ran = []
        blocker = asyncio.ensure_future(worker.run(time.sleep, 0.2))
        await asyncio.sleep(0.01)
        later = asyncio.ensure_future(worker.run(ran.append, "later"))
        await asyncio.sleep(0.01)
        later.cancel()
        await blocker
        await worker.run(ran.append, "last")
        worker.close()
        return ran

    assert asyncio.run(scenario()) == ["last"]


def test_exit_does_not_wait_for_a_parse_in_progress():
    """A ThreadPoolExecutor's thread is joined at exit: a long parse delayed SIGTERM."""
    code = (
        "import asyncio, time\n"
        "from convoso_exporter.api.worker import ParseWorker\n"
        "async def main():\n"
        "    worker = ParseWorker()\n"
        "    task = asyncio.ensure_future(worker.run(time.sleep, 30))\n"
        "    await asyncio.sleep(0.2)\n"
        "    task.cancel()\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
    assert time.monotonic() - started < 5


def test_a_closed_worker_refuses_jobs():
    async def scenario():
        worker = ParseWorker()
        worker.close()
        with pytest.raises(RuntimeError, match="closed"):
            await worker.run(print)

    asyncio.run(scenario())
