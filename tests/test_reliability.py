"""Hostile and careless use: every failure is a typed SimlinError, nothing
crashes, hangs or answers wrongly (the reproducers of ``shared/reliability``)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simlin
from simlin import ErrorCode, SimlinError

SIR_MDL = """{UTF-8}
population = 1000 ~~|
susceptible = INTEG(-infection, population - 10) ~~|
infected = INTEG(infection, 10) ~~|
infection = susceptible * infected / population * 0.5 ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 10 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
"""


def _xmile_sum(terms: int) -> str:
    eqn = "+".join(["1"] * terms)
    return (
        '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">'
        "<sim_specs><start>0</start><stop>1</stop><dt>1</dt></sim_specs><model><variables>"
        f'<aux name="a"><eqn>{eqn}</eqn></aux></variables></model></xmile>'
    )


@pytest.mark.parametrize(
    ("label", "call"),
    [
        ("override 10**400", lambda m: m.run({"Room Temperature": 10**400})),
        ("stop=10**400", lambda m: m.run(stop=10**400)),
        ("threads=2**70", lambda m: m.sweep({"Room Temperature": [1.0]}, threads=2**70)),
        ("from_xmile lone surrogate", lambda m: simlin.Project.from_xmile("<a>\udcff</a>")),
        ("from_mdl lone surrogate", lambda m: simlin.Project.from_mdl("a = 1 ~~|\udcff")),
        (
            "sweep pandas duplicate columns",
            lambda m: m.sweep(
                __import__("pandas").DataFrame([[1.0, 2.0]], columns=["Room Temperature"] * 2)
            ),
        ),
        (
            "complex array override",
            lambda m: simlin.load(Path(__file__).parent / "data" / "arrays.xmile").run(
                {"base": np.full(6, 1 + 5j)}
            ),
        ),
    ],
)
def test_failures_at_the_python_boundary_are_typed(
    teacup: simlin.Model, label: str, call: Any
) -> None:
    with pytest.raises(SimlinError):
        call(teacup)


def test_set_value_at_the_start_reinitializes_like_an_override() -> None:
    model = simlin.Project.from_mdl(SIR_MDL).main_model
    want = model.run({"population": 5000})["susceptible"]
    assert want[0] == 4990
    with model.simulate() as sim:
        sim.reset()
        sim.set_value("population", 5000)
        sim.run_to_end()
        assert list(sim.results()["susceptible"]) == list(want)
    with model.simulate() as sim:
        sim.set_value("population", 5000)
        sim.reset()
        sim.run_to_end()
        assert list(sim.results()["susceptible"]) == list(want)


def test_time_step_zero_is_an_error_not_a_default() -> None:
    text = SIR_MDL.replace("TIME STEP = 1", "TIME STEP = 0")
    with pytest.raises(simlin.SimlinImportError) as info:
        simlin.Project.from_mdl(text)
    assert info.value.code is ErrorCode.BAD_SIM_SPECS


def test_hundred_thousand_term_sum_on_a_small_thread_stack() -> None:
    model = simlin.Project.from_xmile(_xmile_sum(100_000)).main_model
    got: list[float] = []
    threading.stack_size(256 * 1024)
    try:
        t = threading.Thread(target=lambda: got.append(float(model.run()["a"][-1])))
        t.start()
        t.join()
    finally:
        threading.stack_size(0)
    assert got == [100_000.0]


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_stops_a_long_run_and_the_model_stays_usable(teacup: simlin.Model) -> None:
    timer = _interrupt_after(0.5)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        teacup.run(stop=4e8, dt=1, save_step=1e8)
    timer.cancel()
    assert time.monotonic() - t0 < 10
    assert teacup.run()["Teacup Temperature"][0] == 180


def test_ctrl_c_stops_sim_run_to_end(teacup: simlin.Model) -> None:
    with teacup.simulate(stop=4e8, dt=1, save_step=1e8) as sim:
        timer = _interrupt_after(0.5)
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sim.run_to_end()
        timer.cancel()
        assert time.monotonic() - t0 < 10
        # The simulation can go on from where it stopped.
        sim.run_to(sim.time + 5)


def _child_sweep(path: str, queue: Any) -> None:
    m = simlin.load(path)
    out = m.sweep({"Room Temperature": [float(i) for i in range(1000)]}, reduce="final")
    queue.put(out.height)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_can_sweep_after_the_parent_did(teacup_path: Path) -> None:
    m = simlin.load(teacup_path)
    m.sweep({"Room Temperature": [1.0, 2.0]}, reduce="final")
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_sweep, args=(str(teacup_path), queue))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child's sweep hung"
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 1000


def test_results_that_do_not_fit_raise_memory_error(teacup_path: Path) -> None:
    # In a child with 2 GB of address space: 2e8 saved rows do not fit.
    code = textwrap.dedent(
        f"""
        import resource, simlin
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        m = simlin.load({str(teacup_path)!r})
        try:
            m.run(stop=2e8, dt=1)
        except MemoryError as e:
            print("typed", type(e).__name__, e.code.name)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "typed SimlinMemoryError OUT_OF_MEMORY"


def test_sixteen_threads_on_one_model_agree_with_serial_runs() -> None:
    from concurrent.futures import ThreadPoolExecutor

    # A stochastic model: every thread's run, stepwise sim and sweep must
    # give exactly the numbers of the same call made serially.
    noisy = simlin.Project.from_mdl(
        "{UTF-8}\nlevel = INTEG(change, 5) ~~|\nchange = RANDOM NORMAL(-3, 3, drift, 1, 0) ~~|\n"
        "drift = 0 ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 50 ~~|\nTIME STEP = 0.25 ~~|\n"
        "SAVEPER = 1 ~~|\n"
    ).main_model

    def work(i: int) -> list[float]:
        drift = 0.01 * i
        a = noisy.run({"drift": drift}, seed=i)["level"]
        sim = noisy.simulate({"drift": drift}, seed=i)
        sim.run_to(20)
        sim.run_to_end()
        b = sim.results()["level"]
        c = noisy.sweep({"drift": [drift]}, reduce="final", seed=i, threads=1)["level"][0]
        return [*a, *b, c]

    serial = [work(i) for i in range(64)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        threaded = list(pool.map(work, range(64)))
    assert threaded == serial
    assert len({tuple(r) for r in serial}) == 64
