"""User-facing errors: raised for bad input, printed as one line without a traceback.

Also: ``check_fields``, which checks a config dataclass's values against the type and range declared on each
field (pydantic's ``PositiveInt`` and the like, ``Probability`` below, ``Annotated[float, Field(gt=0, lt=1)]``,
``Literal`` for names), so one declaration per key gives its type, range and default, and its comment the source;
``ArgumentParser``, whose usage errors are one line too; and ``check_output`` for ``--out`` paths.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import tempfile
import typing
from pathlib import Path

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError


class UserError(Exception):
    """Bad input from the user (unknown game, unknown algorithm, bad config value).

    The message names the bad value and what would be accepted. ``cli_main`` prints it as one line
    and exits with status 2.
    """


class ConfigValueError(UserError):
    """A config value out of range or of the wrong type: ``key`` of dataclass ``owner`` holds ``value``, and
    ``accepted`` says what would be. ``at(where)`` is the same message under the config's own path of the key."""

    def __init__(self, owner: str, key: str, value, accepted: str, *, wrong_type: bool = False):
        self.key, self.value, self.accepted, self.wrong_type = key, value, accepted, wrong_type
        super().__init__(self.at(owner))

    def at(self, where: str) -> str:
        """The message with the key written as ``{where}.{key}``."""
        shown = f"{self.value!r} has type {type(self.value).__name__}" if self.wrong_type else repr(self.value)
        return f"{where}.{self.key} = {shown}; accepted: {self.accepted}"


Probability = typing.Annotated[float, Field(ge=0, le=1)]  # a config field's type: a probability, or a discount

# pydantic error types that mean "the right type, out of range"; any other type means "the wrong type"
_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "literal_error")
_KINDS = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}


def check_fields(obj) -> None:
    """Check every field of dataclass instance ``obj`` against its declared type and range.

    A field declares its range with pydantic metadata, e.g. ``frame_stack: PositiveInt = 4`` or ``rmsprop_alpha:
    Annotated[float, Field(gt=0, lt=1)] = 0.99``, or its choices with ``Literal``; a plain ``bool`` field is
    checked for its type. Checks are strict: no ``"4"`` for 4, no ``1`` for true, an int is a float, and floats
    must be finite. Called from the dataclasses' ``__post_init__``.

    Raises:
        ConfigValueError: the first bad field, naming it, its value and what is accepted.
    """
    for name, (adapter, type_and_range, range_only) in _field_checks(type(obj)).items():
        value = getattr(obj, name)
        try:
            adapter.validate_python(value)
        except ValidationError as e:
            kind = e.errors()[0]["type"]
            in_range = kind in _RANGE_ERRORS
            raise ConfigValueError(type(obj).__name__, name, value, range_only if in_range else type_and_range,
                                   wrong_type=not in_range and kind != "finite_number") from None


@functools.cache
def _field_checks(cls) -> dict:
    """Field name -> (strict pydantic ``TypeAdapter`` of its annotation, what it accepts with and without its type
    named, see ``_accepted``) for dataclass ``cls``."""
    hints = typing.get_type_hints(cls, include_extras=True)
    config = ConfigDict(strict=True, allow_inf_nan=False)
    return {f.name: (TypeAdapter(hints[f.name], config=config), *_accepted(hints[f.name]))
            for f in dataclasses.fields(cls)}


def _accepted(hint) -> tuple[str, str]:
    """What a field's annotation accepts, as (its type and range, its range alone): e.g. ``("an integer, >= 1",
    ">= 1")``, ``("a finite number, 0 <= value <= 1", "0 <= value <= 1")`` or ``("nips, nature", "nips, nature")``."""
    base, *meta = typing.get_args(hint) if typing.get_origin(hint) is typing.Annotated else (hint,)
    if typing.get_origin(base) is typing.Literal:
        choices = ", ".join(str(c).lower() if isinstance(c, bool) else str(c) for c in typing.get_args(base))
        return choices, choices
    limits = {}  # "ge", "gt", "le", "lt" -> bound: annotated_types' Ge, Gt, ..., also inside a pydantic FieldInfo
    for m in meta:
        for constraint in getattr(m, "metadata", [m]):
            limits.update({op: getattr(constraint, op) for op in ("gt", "ge", "lt", "le")
                           if getattr(constraint, op, None) is not None})
    if base is int and "gt" in limits:  # an integer's "> 0" reads ">= 1"
        limits["ge"] = limits.pop("gt") + 1
    low = next((f"{limits[op]:g} {sign}" for op, sign in (("ge", "<="), ("gt", "<")) if op in limits), "")
    high = next((f"{sign} {limits[op]:g}" for op, sign in (("le", "<="), ("lt", "<")) if op in limits), "")
    if low and high:
        text = f"{low} value {high}"
    elif low:  # "1 <=" reads ">= 1"
        bound, sign = low.split()
        text = f"{sign.replace('<', '>')} {bound}"
    else:
        text = high
    kind = _KINDS.get(base, getattr(base, "__name__", str(base)))
    return (f"{kind}, {text}" if text else kind), (text or kind)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors (an unknown option, ``--seed abc``) raise ``UserError``, so
    ``cli_main`` prints them as one line ``error: ...`` with exit status 2, like every other bad input."""

    def error(self, message: str):
        """Raise ``UserError`` with argparse's message and a pointer to ``--help``."""
        raise UserError(f"{message} (see {self.prog} --help)")


def check_output(path: str | Path, *, directory: bool, option: str = "--out") -> Path:
    """Check that the ``option`` (``--out`` unless said) ``path`` (a folder when ``directory``, else a file) can be
    written, before any work.

    The path may not exist yet; the nearest folder that does must be writable (tried with a nameless temporary
    file, so nothing is left behind and root on a read-only mount is refused too).

    Raises:
        UserError: ``path`` is a file where a folder is asked for (or the reverse), lies under a file, or is not
            writable; the message names the path and the reason.
    """
    path = Path(path)
    if path.exists() and path.is_dir() != directory:
        what, wanted = ("a file", "a directory (new or existing)") if directory else ("a directory", "a file path")
        raise UserError(f"{option} {str(path)!r} is {what}; accepted: {wanted}")
    folder = path if directory else path.parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())  # "." or "/" at the latest
    if not existing.is_dir():
        raise UserError(f"{option} {str(path)!r} is under the file {str(existing)!r}; accepted: a path whose "
                        "folders are directories")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as e:
        raise UserError(f"{option} {str(path)!r} is not writable ({e.strerror} in {str(existing)!r}); accepted: a "
                        "folder this user can write") from None
    return path


def cli_main(fn):
    """Decorate a ``main(argv)`` so a ``UserError`` becomes ``error: <message>`` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapper
