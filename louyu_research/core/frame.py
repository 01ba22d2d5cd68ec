"""The one frame contract: every frame the package produces is a Pandera model on `FrameModel`.

One `DataFrameModel` per frame, named after what a row is; each column's meaning is its
`description` (`Field`), appended to the model's docstring by `document` so `help(Model)`
shows it. `validate` is the only way a frame is checked: it raises `FrameValidationError`,
a readable report of the failed checks and offending rows. `json_schema` is the only
exporter: a real JSON Schema (draft 2020-12) of an array of rows, with each column's
Chinese and English name from the glossary where it has one (`schemas/frames/`).
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl

from . import glossary

__all__ = [
    "Field",
    "FrameModel",
    "FrameValidationError",
    "columns",
    "document",
    "json_schema",
    "validate",
]


def Field(description: str, **kwargs: Any) -> Any:
    """A column with its meaning (`description`) and checks (Pandera's keyword arguments)."""
    return pa.Field(description=description, **kwargs)


class FrameModel(pa.DataFrameModel):
    """Base of every frame model: strict columns, no silent type coercion."""

    class Config:
        strict = True
        coerce = False


class FrameValidationError(ValueError):
    """A frame that breaks its model: names the frame, each failed check and the offending rows."""

    def __init__(self, model: str, report: str, failure_cases: pl.DataFrame):
        super().__init__(f"{model}: frame fails validation\n{report}")
        self.model = model
        self.failure_cases = failure_cases


def validate(model: type[FrameModel], frame: pl.DataFrame, *, max_rows: int = 20) -> pl.DataFrame:
    """Validate `frame` against `model`; on failure raise a readable report of offending rows."""
    try:
        model.validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError) as err:
        cases = getattr(err, "failure_cases", None)
        if not isinstance(cases, pl.DataFrame) or "index" not in cases.columns:
            raise FrameValidationError(model.__name__, f"  {err}", pl.DataFrame()) from None
        lines = []
        for (column, check), group in cases.group_by(["column", "check"], maintain_order=True):
            idx = [i for i in group["index"].to_list() if i is not None]
            values = group["failure_case"].head(5).to_list()
            where = f"rows {idx[:10]}{' …' if len(idx) > 10 else ''}" if idx else "the frame"
            lines.append(
                f"  column {column}: check {check} fails at {where} ({len(group)} case(s)); e.g. {values}"
            )
        rows = sorted({i for i in cases["index"].to_list() if i is not None})
        if rows:
            shown = frame.with_row_index("row").filter(pl.col("row").is_in(rows[:max_rows]))
            with pl.Config(tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=30, tbl_rows=max_rows):
                lines.append(
                    f"offending rows ({len(rows)}; first {min(len(rows), max_rows)}):\n{shown}"
                )
        raise FrameValidationError(model.__name__, "\n".join(lines), cases) from None
    return frame


def columns(model: type[FrameModel]) -> list[str]:
    """The model's column names, in order."""
    return list(model.to_schema().columns)


def document(model: type[FrameModel]) -> type[FrameModel]:
    """Append each column's meaning to the model's docstring (`help(Model)` lists them)."""
    lines = [f"    {n}: {c.description}" for n, c in model.to_schema().columns.items()]
    model.__doc__ = (model.__doc__ or "").rstrip() + "\n\n    Columns:\n" + "\n".join(lines) + "\n"
    return model


_JSON_TYPES = {
    "String": "string",
    "Float64": "number",
    "Int64": "integer",
    "Int32": "integer",
    "UInt32": "integer",
    "Boolean": "boolean",
    "Date": "string",
}


def json_schema(model: type[FrameModel]) -> dict[str, Any]:
    """A JSON Schema of the frame: an array of rows (columns, types, nullability, checks, meaning)."""
    schema = model.to_schema()
    names = glossary.names()
    props: dict[str, Any] = {}
    for name, col in schema.columns.items():
        base = _JSON_TYPES.get(str(col.dtype), "string")
        prop: dict[str, Any] = {
            "type": [base, "null"] if col.nullable else base,
            "description": col.description,
        }
        if name in names:
            prop["title"] = glossary.label(name, "en")
            prop["x-name-zh"] = glossary.label(name, "zh")
        if str(col.dtype) == "Date":
            prop["format"] = "date"
        for check in col.checks:
            stats = dict(check.statistics or {})
            if check.name == "isin":
                prop["enum"] = sorted(stats["allowed_values"]) + ([None] if col.nullable else [])
            elif check.name == "str_matches":
                prop["pattern"] = str(stats["pattern"])
            elif check.name == "greater_than_or_equal_to":
                prop["minimum"] = stats["min_value"]
            elif check.name == "greater_than":
                prop["exclusiveMinimum"] = stats["min_value"]
            elif check.name == "less_than_or_equal_to":
                prop["maximum"] = stats["max_value"]
            elif check.name == "in_range":
                prop["minimum"] = stats["min_value"]
                prop["maximum"] = stats["max_value"]
        if col.unique:
            prop["x-unique"] = True
        props[name] = prop
    doc = (model.__doc__ or "").strip().split("\n\n")[0]
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": model.__name__,
        "description": " ".join(doc.split()),
        "type": "array",
        "items": {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        },
    }
    if schema.unique:
        out["x-unique-key"] = list(schema.unique)
    checks = [c.name for c in schema.checks]
    if checks:
        out["x-frame-checks"] = checks
    return out
