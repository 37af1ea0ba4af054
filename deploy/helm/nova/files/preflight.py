"""Nova preflight: every Secret the release reads exists and holds the keys it reads.

Runs as the first pre-install/pre-upgrade hook Job, before the migrations. Each Secret is
mounted as an optional volume, so a missing Secret or key shows up here as a missing file and
is named in the Job's log, instead of as a Pod stuck in CreateContainerConfigError.

Argument: a JSON list of {"secret", "path", "keys", "readers"}: the Secret, where it is
mounted, the keys the release reads from it and the values that name it.
"""

import json
import sys
from pathlib import Path
from typing import Any


def problems(checks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for check in checks:
        secret, path = str(check["secret"]), Path(str(check["path"]))
        keys = [str(key) for key in check["keys"]]
        readers = ", ".join(str(reader) for reader in check["readers"])
        present = {entry.name for entry in path.iterdir()} if path.is_dir() else set()
        if not present:
            found.append(
                f'Secret "{secret}" is missing (read by {readers}): create it with the keys '
                + ", ".join(keys)
            )
            continue
        for key in keys:
            if key not in present:
                found.append(f'Secret "{secret}" has no key "{key}" (read by {readers})')
            elif not (path / key).read_bytes().strip():
                found.append(f'Secret "{secret}" key "{key}" is empty (read by {readers})')
    return found


def main(argv: list[str]) -> int:
    checks = json.loads(argv[1])
    found = problems(checks)
    for line in found:
        print(f"preflight: {line}", file=sys.stderr)
    if found:
        print(f"preflight: {len(found)} problem(s); the release was not changed", file=sys.stderr)
        return 1
    print(f"preflight: {len(checks)} Secret(s) present with every key the release reads")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
