"""Loaded by every Python process of a benchmarked run (PYTHONPATH): counts how often the
settings are read (each Settings model built from env and YAML), and at exit appends this
process's count to $BENCH_SETTINGS_READS."""

import atexit
import json
import os

count = 0


def _install() -> None:
    from cdc_ops import settings

    original = settings.Settings.__init__

    def counted(self, *args, **kwargs):
        global count
        count += 1
        original(self, *args, **kwargs)

    settings.Settings.__init__ = counted


def _write() -> None:
    with open(os.environ["BENCH_SETTINGS_READS"], "a") as out:
        out.write(json.dumps({"pid": os.getpid(), "reads": count}) + "\n")


if os.environ.get("BENCH_SETTINGS_READS"):
    _install()
    atexit.register(_write)
