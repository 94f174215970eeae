"""The one exception the CLI turns into a one-line reason and a non-zero exit."""


class UserError(Exception):
    """A problem the user can fix: printed as 'looptrace: <message>', exit status `status`."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status
