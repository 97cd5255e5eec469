#!/usr/bin/env python
import gc
import os
import stat
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Start-up makes half a million objects and none of them garbage: the cycle collector
    # would scan them again and again as they pile up (about 40 ms, a tenth of a CI job's
    # one-file import). It is off until Django is set up; then what start-up made is frozen
    # out of later collections, the interpreter's last one at exit included.
    gc.disable()
    import django
    from django.core.management import execute_from_command_line

    setup = django.setup

    def setup_then_collect(*args, **kwargs):
        try:
            setup(*args, **kwargs)
        finally:
            gc.freeze()
            gc.enable()

    django.setup = setup_then_collect  # management calls django.setup() as it needs
    try:
        execute_from_command_line(sys.argv)
        if sys.stdout is not None:  # None when the command ran with stdout closed
            sys.stdout.flush()  # a reader gone away is found here, not by the flush at exit
    except BrokenPipeError:
        if not _stdout_is_a_pipe():
            raise  # another pipe or socket broke: not a reader that stopped reading
        # `manage.py jobs | head`: the reader took what it wanted. As Python's documentation
        # advises, stdout goes to /dev/null so that the flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        gc.enable()  # if set-up was never reached (bad settings), it is still off
        gc.freeze()  # the command is over: the exit need not scan what it made either


def _stdout_is_a_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


if __name__ == "__main__":
    main()
