"""``python -m weakcache``: print the versions and how this copy was built."""
import platform
import sys

from . import build_info


def main() -> int:
    info = build_info()
    print(f"weakcache {info['package']}")
    print(f"libweakcache (C core) {info['core']}")
    print(f"build flags: {info['build_flags']}")
    print(f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
