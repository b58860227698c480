from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import simlin
from simlin import ErrorCode, SimlinRuntimeError

NAMES = ["Teacup Temperature", "Heat Loss to Room", "Room Temperature", "Characteristic Time"]


@pytest.fixture
def results(teacup: simlin.Model) -> simlin.Results:
    return teacup.run()


def test_names_and_shape(results: simlin.Results) -> None:
    assert results.names == NAMES
    assert len(results) == 241
    assert list(results) == NAMES
    assert results.times.shape == (241,)
    assert results.times.dtype == np.float64
    np.testing.assert_allclose(np.diff(results.times), 0.125)


def test_getitem_any_spelling(results: simlin.Results) -> None:
    a = results["Teacup Temperature"]
    for spelling in ("teacup temperature", "teacup_temperature", "TEACUP TEMPERATURE"):
        np.testing.assert_array_equal(results[spelling], a)
    assert a[0] == 180.0
    assert results["heat loss to room"][0] == pytest.approx(11.0)


def test_arrays_are_read_only_views(results: simlin.Results) -> None:
    a = results["teacup temperature"]
    b = results["teacup temperature"]
    assert not a.flags.writeable
    assert a.ctypes.data == b.ctypes.data  # same native buffer, no copy
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_contains(results: simlin.Results) -> None:
    assert "room temperature" in results
    assert "nope" not in results
    assert 3 not in results


def test_unknown_column(results: simlin.Results) -> None:
    with pytest.raises(SimlinRuntimeError) as info:
        results["nope"]
    assert info.value.code is ErrorCode.UNKNOWN_OUTPUT
    assert info.value.variable == "nope"


def test_to_pandas(results: simlin.Results) -> None:
    df = results.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert df.index.name == "time"
    assert list(df.columns) == NAMES
    assert df.shape == (241, 4)
    assert df["Teacup Temperature"].iloc[0] == 180.0
    assert df.index[8] == 1.0
    for name in NAMES:
        np.testing.assert_array_equal(df[name].to_numpy(), results[name])
    # One float64 block: a wide frame stays as fast as a narrow one.
    assert all(t == np.float64 for t in df.dtypes)
    assert np.shares_memory(df.to_numpy(), df[NAMES[0]].to_numpy())


def test_to_pandas_frame_is_its_own_writable_copy(results: simlin.Results) -> None:
    df = results.to_pandas()
    first = results["teacup temperature"][0]
    # pandas frames can be written to in place; the block is the frame's
    # own, so the results (read-only views) do not change.
    df.iloc[0, 0] = -1.0
    df.iat[8, 2] = -2.0
    df.fillna(0.0, inplace=True)
    assert df.iloc[0, 0] == -1.0
    assert df["Room Temperature"].iloc[8] == -2.0
    assert results["teacup temperature"][0] == first
    # Two frames never share a block, and a frame outlives the results.
    other = results.to_pandas()
    assert not np.shares_memory(df.to_numpy(), other.to_numpy())
    results.close()
    assert other["Teacup Temperature"].iloc[0] == first
    assert float(other.to_numpy().sum()) == pytest.approx(float(other.sum().sum()))


def test_to_pandas_of_no_outputs(teacup: simlin.Model) -> None:
    df = teacup.run(outputs=[]).to_pandas()
    assert df.shape == (241, 0)
    assert df.index.name == "time"


def test_to_polars(results: simlin.Results) -> None:
    df = results.to_polars()
    assert isinstance(df, pl.DataFrame)
    assert df.columns == ["time", *NAMES]
    assert df.shape == (241, 5)
    assert df["Heat Loss to Room"][0] == pytest.approx(11.0)


def test_arrow_stream_pyarrow(results: simlin.Results) -> None:
    table = pa.table(results)
    assert table.column_names == ["time", *NAMES]
    assert table.schema.field("time").type == pa.float64()
    assert table.num_rows == 241
    column = table.column("Teacup Temperature")
    assert column.to_pylist()[0] == 180.0
    # zero-copy: the Arrow buffer is the very memory the NumPy view uses
    address = column.chunks[0].buffers()[1].address
    assert address == results["teacup temperature"].ctypes.data


def test_arrow_stream_polars_and_pandas(results: simlin.Results) -> None:
    df = pl.DataFrame(results)
    assert df.columns[0] == "time"
    df2 = pl.from_arrow(pa.table(results))
    assert isinstance(df2, pl.DataFrame)
    assert df2.shape == (241, 5)
    pdf = pa.table(results).to_pandas()
    assert list(pdf.columns) == ["time", *NAMES]


def test_arrow_stream_is_repeatable(results: simlin.Results) -> None:
    first = pa.table(results)
    second = pa.table(results)
    assert first.equals(second)
    reader = pa.RecordBatchReader.from_stream(results)
    assert reader.read_all().num_rows == 241


def test_close(results: simlin.Results) -> None:
    a = results["teacup temperature"]
    times = results.times
    with results as r:
        assert r is results
    assert results.closed
    # arrays taken before close keep their memory alive
    assert a[0] == 180.0
    assert times[-1] == pytest.approx(30.0)
    for call in (
        lambda: results["teacup temperature"],
        lambda: results.times,
        lambda: len(results),
        lambda: results.names,
        lambda: pa.table(results),
    ):
        with pytest.raises(SimlinRuntimeError) as info:
            call()
        assert info.value.code is ErrorCode.CLOSED
    assert "closed" in repr(results)


def test_repr(results: simlin.Results) -> None:
    assert "241" in repr(results)


def test_unknown_name_is_a_key_error_with_suggestions(results: simlin.Results) -> None:
    with pytest.raises(KeyError) as info:
        results["teacup temprature"]
    err = info.value
    assert isinstance(err, simlin.SimlinKeyError)
    assert isinstance(err, simlin.SimlinRuntimeError)
    assert err.code is simlin.ErrorCode.UNKNOWN_OUTPUT
    assert err.variable == "teacup temprature"
    assert "did you mean 'Teacup Temperature'" in str(err)
    with pytest.raises(simlin.SimlinKeyError, match="no variable named 'zzz'"):
        results["zzz"]


def test_reads_like_a_dict(results: simlin.Results) -> None:
    assert results.keys() == NAMES
    as_dict = dict(results)
    assert list(as_dict) == NAMES
    for (name, series), value in zip(results.items(), results.values(), strict=True):
        np.testing.assert_array_equal(as_dict[name], series)
        np.testing.assert_array_equal(series, value)
    np.testing.assert_array_equal(results.get("teacup_temperature"), results[NAMES[0]])
    assert results.get("nope") is None
    marker = object()
    assert results.get("nope", marker) is marker
    # Not a registered Mapping, so frame constructors take the Arrow stream
    # (time first, zero-copy) rather than a dict of values.
    assert pl.DataFrame(results).columns == ["time", *NAMES]


def wide_xmile(n: int) -> str:
    """A model of ``n`` auxiliaries, the last with a ``<`` in its equation."""
    auxs = "".join(f'<aux name="v{i}"><eqn>{i} * TIME</eqn></aux>' for i in range(n - 1))
    auxs += f'<aux name="v{n - 1}"><eqn>IF TIME &lt; 2 THEN 1 ELSE 0</eqn></aux>'
    return (
        '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">'
        "<sim_specs><start>0</start><stop>100</stop><dt>0.5</dt></sim_specs><model><variables>"
        f"{auxs}</variables></model></xmile>"
    )


def test_html_display_is_bounded(results: simlin.Results) -> None:
    html = results._repr_html_()
    assert "241 time points x 4 variables" in html
    assert html.count("<tr>") == 1 + 2 * 5 + 1  # header, head, "...", tail
    assert ">180<" in html and ">30<" in html  # first value, last time
    results.close()
    assert "closed" in results._repr_html_()
    wide = simlin.Project.from_xmile(wide_xmile(60)).main_model
    html = wide.run()._repr_html_()
    assert "201 time points x 60 variables" in html
    assert "... and 48 more variables" in html
    assert html.count("<th>") == 1 + 12


def test_model_html(teacup: simlin.Model) -> None:
    html = teacup._repr_html_()
    assert "1 stocks" in html and "1 flows" in html and "2 auxs" in html
    assert "dt 0.125" in html and "euler" in html
    assert html.count("<tr>") == 1 + 4
    assert "Teacup Temperature" in html and "<code>180</code>" in html
    wide = simlin.Project.from_xmile(wide_xmile(60)).main_model._repr_html_()
    assert wide.count("<tr>") == 1 + 40
    assert "... and 20 more variables" in wide
    # Equations are escaped: the comparison shows as text, not as a tag.
    small = simlin.Project.from_xmile(wide_xmile(3)).main_model._repr_html_()
    assert "TIME &lt; 2" in small and "TIME < 2" not in small


def test_native_column_gathers_check_their_indices(results: simlin.Results) -> None:
    from simlin.errors import SimlinArgumentError

    block = np.asarray(results._native.stacked([[2, 0], [1]]))
    assert block.shape == (241 * 3,)
    pair = block[: 241 * 2].reshape(241, 2)
    np.testing.assert_array_equal(pair[:, 1], results[NAMES[0]])
    np.testing.assert_array_equal(pair[:, 0], results[NAMES[2]])
    np.testing.assert_array_equal(block[241 * 2 :], results[NAMES[1]])
    assert len(results._native.stacked([])) == 0
    with pytest.raises(SimlinArgumentError, match="out of range"):
        results._native.stacked([[0], [4]])
