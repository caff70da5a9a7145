"""The one error pfactl reports: a one-line message, printed by :func:`pfactl.cli.main` without a traceback."""


class PfactlError(Exception):
    """A failure the user can act on. ``str(error)`` is the one line shown; ``exit_code`` the process status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(" ".join(message.split()))
        self.exit_code = exit_code
