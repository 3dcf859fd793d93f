"""The kit's CheckCellMetadata accepts and rejects exactly what nbgrader's does."""

import copy

import nbformat
import pytest
from conftest import PART1, SOURCE
from nbgrader.nbgraderformat import MetadataValidator

from gradekit.metadata import CompiledMetadataValidator

CORRUPTIONS = {
    "points not a number": lambda meta: meta.update(points="ten"),
    "locked not a boolean": lambda meta: meta.update(locked="yes"),
    "unknown key": lambda meta: meta.update(hint="x"),
    "no grade id": lambda meta: meta.pop("grade_id"),
    "empty grade id": lambda meta: meta.update(grade_id=""),
    "no points": lambda meta: meta.pop("points"),
    "old schema": lambda meta: meta.update(schema_version=1),
    "future schema": lambda meta: meta.update(schema_version=9),
}


def outcome(validator, nb) -> str:
    try:
        validator().validate_nb(nb)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "valid"


@pytest.mark.parametrize("path", sorted(SOURCE.glob("*.ipynb")), ids=lambda p: p.name)
def test_source_notebooks_are_valid(path):
    assert outcome(CompiledMetadataValidator, nbformat.read(path, as_version=4)) == "valid"


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupted_metadata_fails_as_in_nbgrader(corruption):
    nb = nbformat.read(SOURCE / PART1, as_version=4)
    grade_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    CORRUPTIONS[corruption](grade_cell.metadata["nbgrader"])
    expected = outcome(MetadataValidator, copy.deepcopy(nb))
    assert expected != "valid"
    assert outcome(CompiledMetadataValidator, nb) == expected


def test_duplicate_grade_ids_fail_as_in_nbgrader():
    nb = nbformat.read(SOURCE / PART1, as_version=4)
    grade_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    grade_cells[1].metadata.nbgrader.grade_id = grade_cells[0].metadata.nbgrader.grade_id
    expected = outcome(MetadataValidator, copy.deepcopy(nb))
    assert expected.startswith("ValidationError: Duplicate grade id")
    assert outcome(CompiledMetadataValidator, nb) == expected
