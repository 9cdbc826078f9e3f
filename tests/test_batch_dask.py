"""The reviewers' batch on Dask: the mixed folder of tests/test_batch.py checked by a distributed.LocalCluster and by
a `dask scheduler` with `dask worker` subprocesses (one killed mid-run); each 审核汇总 must hold the same cells as
the process pool's. Skipped as a whole without the cluster extra (the other batch tests do not need it)."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time

import pytest

from xlperf.batch.files import collect

from .test_batch import batch_args, local_run, mixed, run, same_cells  # noqa: F401 - fixtures used by name

distributed = pytest.importorskip("distributed")


def test_a_local_cluster_gives_the_same_summary_as_the_pool(mixed, local_run, tmp_path):
    from distributed import LocalCluster

    report = tmp_path / "审核汇总.xlsx"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = run(*batch_args(mixed, report, "--scheduler", cluster.scheduler_address))
    assert result.exit_code == 1, result.stdout
    assert same_cells(report, local_run[1]) == []


@pytest.mark.slow
def test_dask_scheduler_and_workers_as_processes_with_one_killed_mid_run(mixed, local_run, tmp_path):
    """`dask scheduler` and three `dask worker`s on 127.0.0.1, files sent as bytes; one worker is killed
    once results come in: its files run elsewhere and every file is reported once, as the pool did."""
    dask = shutil.which("dask") or pytest.skip("dask command not installed")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                     "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(3)]
        procs += workers
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(3, timeout=60)
        cache = tmp_path / "cache"
        report = tmp_path / "审核汇总.xlsx"

        def kill_when_results_come():
            for _ in range(1200):
                if cache.is_dir() and sum(1 for _ in cache.rglob("*.json")) >= 20:
                    workers[0].send_signal(signal.SIGKILL)
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_results_come, daemon=True)
        killer.start()
        args = [a for a in batch_args(mixed, report, "--scheduler", address, "--send-files", "--json-lines",
                                      "--cache", cache) if a != "--no-cache"]
        result = run(*args)
        killer.join(5)
        assert workers[0].poll() is not None, "the worker was not killed mid-run"
        assert result.exit_code == 1
        lines = [json.loads(line)["file"] for line in result.stdout.splitlines()]
        assert sorted(lines) == sorted(str(f) for f in collect([mixed]).files)  # every file exactly once
        assert same_cells(report, local_run[1]) == []
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
