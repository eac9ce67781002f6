"""The notebooks are documentation: they must run, top to bottom, on the installed package."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from blankspot.cli import PlanOptions
from blankspot.prioritise import rank_sites

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_your_own_data.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: strip outputs before committing"
            assert cell.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    # executed, the notebook stays small: the web map is a file, not an embedded page
    size = len(nbformat.writes(nb).encode("utf-8"))
    assert size < 3e6, f"{path.name} executed is {size / 1e6:.1f} MB"
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    if path.stem == "01_quickstart":
        # the static map renders inline as a picture, not as "<Figure size ...>"
        assert any("image/png" in out.get("data", {}) for out in outputs)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors


def test_quickstart_tells_the_plan_as_the_cli_does():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # no hand-written bound statement: the plan's own summary, with the default bound,
    # which is the CLI's
    assert "plan.summary()" in code
    assert "can exceed" not in code
    assert "bound=" not in code
    default = inspect.signature(rank_sites).parameters["bound"].default
    assert PlanOptions().bound == default
    # the figure is shown inline and the web map is written to a file, not embedded
    assert "%matplotlib inline" in code
    assert "explore_plan(plan, path=" in code
