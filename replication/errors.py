"""User-facing errors: raised for bad input, printed as one line without a traceback."""

from __future__ import annotations

import functools
import sys


class UserError(Exception):
    """Bad input from the user (unknown game, unknown algorithm, bad config value).

    The message names the bad value and what would be accepted. ``cli_main`` prints it as one line
    and exits with status 2.
    """


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
