"""nbgrader's cell-metadata check, with its JSON schema checked once per process.

nbgrader's `CheckCellMetadata` runs in both passes of `nbgrader autograde` and validates
every nbgrader cell with `jsonschema.validate`, which first checks the schema itself against
the JSON Schema meta-schema, again for every cell: a quarter of nbgrader's own time per
notebook. The `CheckCellMetadata` here checks the same metadata against the same schema and
raises the same errors, with the schema checked and compiled once.
"""

import functools
import traceback

import jsonschema
from nbformat import NotebookNode
from nbgrader import preprocessors
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import (
    BaseMetadataValidator,
    SchemaTooNewError,
    SchemaTooOldError,
)


@functools.cache
def compiled_schema() -> jsonschema.protocols.Validator:
    """A validator for nbgrader's cell-metadata schema, the schema itself checked once."""
    schema = MetadataValidator().schema
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's base validation of one cell (schema version, then the JSON schema)."""

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        meta = cell.metadata["nbgrader"]
        version = meta.get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(
                f"Outdated schema version: {version} (expected {self.schema_version})",
                version,
                self.schema_version,
            )
        if version > self.schema_version:
            raise SchemaTooNewError(
                f"Schema version is too new: {version} (expected {self.schema_version})",
                version,
                self.schema_version,
            )
        error = jsonschema.exceptions.best_match(compiled_schema().iter_errors(meta))
        if error is not None:
            raise error


class CompiledMetadataValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's metadata validator: its own checks of a cell and of a notebook (grade ids,
    points, cell types), on top of `_SchemaCheckedOnce` in place of the per-cell schema check
    (Python's method order puts it between nbgrader's validator and nbgrader's base)."""


class CheckCellMetadata(preprocessors.CheckCellMetadata):
    """nbgrader's CheckCellMetadata, with the JSON schema checked once per process."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        try:
            CompiledMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources
