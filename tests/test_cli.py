from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

import simlin

DATA = Path(__file__).parent / "data"
TEACUP = str(DATA / "teacup.xmile")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simlin.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def parse_csv(text: str) -> tuple[list[str], list[list[float]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], [[float(x) for x in row] for row in rows[1:]]


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("simlin: error: ") or "\nsimlin: error: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_csv_stdout() -> None:
    proc = run_cli("run", TEACUP)
    assert proc.returncode == 0, proc.stderr
    header, rows = parse_csv(proc.stdout)
    assert header == [
        "time",
        "Teacup Temperature",
        "Heat Loss to Room",
        "Room Temperature",
        "Characteristic Time",
    ]
    assert len(rows) == 241
    assert rows[0][:3] == [0.0, 180.0, 11.0]
    assert rows[-1][0] == pytest.approx(30.0)


def test_run_vars_method_and_times() -> None:
    proc = run_cli(
        "run", TEACUP, "--vars", "teacup temperature", "--method", "rk4",
        "--start", "0", "--stop", "10", "--dt", "0.5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header, rows = parse_csv(proc.stdout)
    assert header == ["time", "Teacup Temperature"]
    assert len(rows) == 21
    assert rows[-1][1] == pytest.approx(70 + 110 * 2.718281828459045**-1, abs=1e-4)


def test_run_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    proc = run_cli("run", TEACUP, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    header, rows = parse_csv(out.read_text())
    assert header[0] == "time" and len(rows) == 241


def test_run_parquet(tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "out.parquet"
    proc = run_cli("run", TEACUP, "--format", "parquet", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pl.read_parquet(out)
    assert df.columns[0] == "time"
    assert df["Teacup Temperature"][0] == 180.0


def test_parquet_needs_output() -> None:
    proc = run_cli("run", TEACUP, "--format", "parquet")
    assert_clean_error(proc, code=2)
    assert "-o" in proc.stderr


def test_parquet_without_libraries(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['polars'] = None; sys.modules['pyarrow'] = None; "
        "sys.modules['pyarrow.parquet'] = None; from simlin.cli import main; "
        f"sys.exit(main(['run', {TEACUP!r}, '--format', 'parquet', '-o', "
        f"{str(tmp_path / 'x.parquet')!r}]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert_clean_error(proc)
    assert "polars or pyarrow" in proc.stderr


def test_check_ok() -> None:
    proc = run_cli("check", TEACUP)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ok"


def test_check_errors() -> None:
    proc = run_cli("check", str(DATA / "circular.xmile"))
    assert proc.returncode == 1
    assert "error:" in proc.stdout
    assert "circular" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("run", str(DATA / "missing.xmile")),
        ("run", str(DATA / "malformed.xmile")),
        ("check", str(DATA / "malformed.xmile")),
        ("run", str(DATA / "unknown_function.xmile")),
        ("run", TEACUP, "--vars", "nope"),
        ("run", TEACUP, "--dt", "-1"),
        ("run", TEACUP, "--format", "parquet", "-o", "/nonexistent-dir/x.parquet"),
        ("run", TEACUP, "-o", str(DATA)),
        ("run", TEACUP, "--set", "nope=1"),
        ("sweep", TEACUP, str(DATA / "missing.csv")),
    ],
)
def test_errors_are_clean(args: tuple[str, ...]) -> None:
    assert_clean_error(run_cli(*args))


@pytest.mark.parametrize(
    "args",
    [
        ("run", TEACUP, "--method", "leapfrog"),
        ("run", TEACUP, "--stop", "soon"),
        ("frobnicate",),
        (),
        ("run", TEACUP, "--vars", ","),
        ("run", TEACUP, "--format", "parquet"),
        ("run", TEACUP, "--set", "room temperature"),
        ("run", TEACUP, "--set", "room temperature=warm"),
        ("sweep", TEACUP, "p.csv", "--reduce", "median"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    assert_clean_error(run_cli(*args), code=2)


def test_csv_values_are_the_runs_bits() -> None:
    # A fine step gives values with 15-17 significant digits; each must read
    # back to the very float the run produced.
    proc = run_cli("run", TEACUP, "--dt", "0.001", "--stop", "3")
    assert proc.returncode == 0, proc.stderr
    header, rows = parse_csv(proc.stdout)
    results = simlin.load(TEACUP).run(dt=0.001, stop=3)
    assert header == ["time", *results.names]
    assert len(rows) == len(results) == 3001
    columns = [results.times, *(results[n] for n in results.names)]
    for j, column in enumerate(columns):
        assert [row[j] for row in rows] == column.tolist()


def test_run_set_overrides() -> None:
    proc = run_cli(
        "run", TEACUP, "--set", "Room Temperature=20", "--set", "characteristic time=5",
        "--outputs", "teacup temperature", "--stop", "2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    header, rows = parse_csv(proc.stdout)
    expected = simlin.load(TEACUP).run({"room temperature": 20, "characteristic time": 5}, stop=2)[
        "teacup temperature"
    ]
    assert header == ["time", "Teacup Temperature"]
    assert [r[1] for r in rows] == expected.tolist()


def test_output_format_from_suffix(tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "out.parquet"
    proc = run_cli("run", TEACUP, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).columns[0] == "time"


def params_csv(tmp_path: Path) -> Path:
    path = tmp_path / "params.csv"
    path.write_text("run,Characteristic Time\na,5\nb,10\nc,20\n")
    return path


def test_sweep_reduce(tmp_path: Path) -> None:
    import polars as pl

    params = params_csv(tmp_path)
    proc = run_cli("sweep", TEACUP, str(params), "--reduce", "final", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    got = pl.read_csv(io.StringIO(proc.stdout))
    want = simlin.load(TEACUP).sweep(pl.read_csv(params), reduce="final")
    assert got.columns == want.columns
    assert got["run"].to_list() == ["a", "b", "c"]
    for column in want.columns[1:]:
        assert got[column].to_list() == want[column].to_list()


def test_sweep_long_parquet_with_set(tmp_path: Path) -> None:
    import polars as pl

    params = params_csv(tmp_path)
    out = tmp_path / "out.parquet"
    proc = run_cli(
        "sweep", TEACUP, str(params), "-o", str(out), "--set", "room temperature=30",
        "--outputs", "teacup temperature", "--stop", "5", "--method", "rk4",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = pl.read_parquet(out)
    frame = pl.read_csv(params).with_columns(pl.lit(30.0).alias("room temperature"))
    want = simlin.load(TEACUP).sweep(frame, outputs=["teacup temperature"], stop=5, method="rk4")
    assert got.columns == ["run", "time", "variable", "value"]
    assert got.height == want.height == 3 * 41  # dt 0.125 to 5
    assert got["value"].to_list() == want["value"].to_list()


def without_polars(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI with Polars unimportable (pyarrow does the tables)."""
    script = (
        "import sys; sys.modules['polars'] = None; from simlin.cli import main; "
        f"sys.exit(main({list(argv)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )


def test_sweep_without_polars(tmp_path: Path) -> None:
    import polars as pl

    pytest.importorskip("pyarrow")
    params = params_csv(tmp_path)
    args = ("sweep", TEACUP, str(params), "--set", "room temperature=30")
    for extra in (("--reduce", "final"), ("--outputs", "teacup temperature", "--stop", "2")):
        with_polars = run_cli(*args, *extra)
        proc = without_polars(*args, *extra)
        assert proc.returncode == 0, proc.stderr
        got, want = (
            pl.read_csv(io.StringIO(proc.stdout)),
            pl.read_csv(io.StringIO(with_polars.stdout)),
        )
        assert got.columns == want.columns and got.height == want.height > 0
        for column in want.columns:
            assert got[column].to_list() == want[column].to_list(), column
    out = tmp_path / "long.parquet"
    proc = without_polars(*args, "--stop", "2", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    got_parquet = pl.read_parquet(out)
    assert got_parquet.columns == ["run", "time", "variable", "value"]
    want_parquet = simlin.load(TEACUP).sweep(
        pl.read_csv(params).with_columns(pl.lit(30.0).alias("room temperature")), stop=2
    )
    assert got_parquet["value"].to_list() == want_parquet["value"].to_list()


def test_help_names_every_format() -> None:
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    for suffix in (".mdl", ".xmile", ".stmx", ".itmx"):
        assert suffix in proc.stdout
    assert "Exit codes" in run_cli("--help").stdout


def test_full_stdout_is_a_clean_error() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "simlin", "run", TEACUP],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("simlin: error:"), proc.stderr


def test_python_dash_m_simlin() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "simlin", "check", TEACUP],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from simlin.cli import main

    assert main(["check", TEACUP]) == 0
    assert capsys.readouterr().out.strip().endswith("ok")
    assert simlin.__version__


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"simlin {simlin.__version__}"
