"""helm test: the gateway answers /ready and a GraphQL ping ({ __typename }) through its Service.

Runs in the gateway image (its Python, no other image). Arguments: the gateway's base URL and,
optionally, how many attempts (default 10, 3 s apart), so a pod that is just rolling does not
fail the test.
"""

import json
import sys
import time
import urllib.error
import urllib.request

ATTEMPTS = 10
PAUSE_SECONDS = 3.0
TIMEOUT_SECONDS = 5.0


def ready(base: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=TIMEOUT_SECONDS) as response:
            return None if response.status == 200 else f"/ready answered {response.status}"
    except urllib.error.HTTPError as error:
        return f"/ready answered {error.code}: {error.read()[:300]!r}"
    except OSError as error:
        return f"/ready: {error}"


def graphql_ping(base: str) -> str | None:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": "{ __typename }"}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return f"/graphql answered {error.code}: {error.read()[:300]!r}"
    except (OSError, ValueError) as error:
        return f"/graphql: {error}"
    typename = (body.get("data") or {}).get("__typename") if isinstance(body, dict) else None
    if typename != "Query" or body.get("errors"):
        return f"/graphql answered {json.dumps(body)[:300]}"
    return None


def main(argv: list[str]) -> int:
    base = argv[1].rstrip("/")
    attempts = int(argv[2]) if len(argv) > 2 else ATTEMPTS
    problem: str | None = None
    for attempt in range(1, attempts + 1):
        problem = ready(base) or graphql_ping(base)
        if problem is None:
            print(f"helm test: {base} is ready and answers {{ __typename }}")
            return 0
        print(f"helm test: attempt {attempt}/{attempts}: {problem}", file=sys.stderr)
        if attempt < attempts:
            time.sleep(PAUSE_SECONDS)
    print(f"helm test: the gateway at {base} failed: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
