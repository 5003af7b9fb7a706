"""The README's main job (``bash scripts/run``): for now, the variant summary measured on this machine."""

from __future__ import annotations

import sys

from mnas.__main__ import main as mnas_main


def main(argv: list[str] | None = None) -> int:
    return mnas_main(["summary", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
