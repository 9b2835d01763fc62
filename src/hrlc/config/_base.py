"""Loading and validating YAML configuration, once, at the edge of the system."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hrlc.errors import ConfigError


class StageConfig(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


M = TypeVar("M", bound=BaseModel)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (sub-)model that contains the offending key."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def format_validation_error(
    error: ValidationError, model: type[BaseModel], source: str
) -> str:
    """One line per problem: where, what was received, what is allowed."""
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            problems.append(
                f"unknown key '{where}'"
                + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
            )
        elif item["type"] == "missing":
            problems.append(f"missing required key '{where}'")
        else:
            problems.append(f"'{where}': {item['msg']} (got {item.get('input')!r})")
    return f"{source}: " + "; ".join(problems)


def validate_config(data: dict[str, Any] | None, model: type[M], *, source: str = "config") -> M:
    """Validate a mapping against ``model``, raising :class:`ConfigError` with a clear message."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, source)) from None


def load_config(path: str | Path, model: type[M], *, overrides: dict | None = None) -> M:
    """Read a YAML file and validate it against ``model``.

    ``overrides`` (top-level key -> value, e.g. ``{"output": ...}`` from ``-o``) replace the
    file's values before validation; None values are ignored.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or does not match the model; the message names
        the file, the key and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found; check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values, got {type(data).__name__}")
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        data = {**(data or {}), **given}
    return validate_config(data, model, source=str(path) + (" and the command line" if given
                                                           else ""))
