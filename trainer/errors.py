"""The one base class of the trainer's expected failures."""


class TrainerError(Exception):
    """A request the trainer cannot carry out. `str()` is one line naming the file or store and
    the problem; the command line prints it as `error: ...` and exits with `exit_code`."""

    exit_code = 2
