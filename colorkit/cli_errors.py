"""What a ``colorkit`` command does with a user's mistake: :class:`CommandError`, printed as one line
without a traceback, and the exit code :data:`USAGE_ERROR`.

Apart from :mod:`colorkit.cli`, so that commands in modules of their own (:mod:`colorkit.cli_prepare`,
:mod:`colorkit.cli_presets`) raise it without importing the command line that imports them.
"""

USAGE_ERROR = 2


class CommandError(Exception):
    """A user-facing failure: the message is printed, no traceback."""

    def __init__(self, message, code=USAGE_ERROR):
        super().__init__(message)
        self.code = code
