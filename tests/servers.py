"""What the tests that start `xlperf serve` as a separate process share."""
from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM (uvicorn shuts down gracefully; SIGINT may be ignored in a pytest worker), SIGKILL after grace s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
