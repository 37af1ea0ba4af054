"""Benchmark nova-gateway against Hive Gateway, Apollo Gateway and Grafbase on the same graphs.

    python services/gateway/bench/bench_gateway.py
        [--routers nova,nova-nodedupe,hive,hive-nodedupe,apollo,grafbase]
        [--cases fixture,project] [--accounts 16] [--distinct-accounts 1000] [--duration 10]
        [--concurrency 16] [--wide-concurrency 64] [--output results.json]
        [--summary headlines.json]

Two cases, one after the other:

- ``fixture``: the conformance suite's fixture subgraphs, in their own process, one query per
  federation shape (one subgraph, entities over three hops, ``@requires`` on a compound key).
- ``project``: Nova's own ``me`` query (the frontend's ``MyProfile``: profile fields from the
  users subgraph, account fields from the auth subgraph) through the real ``nova-auth`` and
  ``nova-users`` (``scripts/benchstack.py``), migrated, on a dedicated database of the servers
  named by ``NOVA_BENCH_DATABASE_URL`` / ``NOVA_BENCH_REDIS_URL`` or of embedded ones. The
  supergraph is composed from the checked-out subgraphs, routed to them; a registered account's
  ``Authorization: Bearer`` header rides on every request (``--accounts N``: the load rotates
  over N accounts, by default one per connection, as distinct users), and every router passes
  it on to the subgraphs (Hive Gateway with ``node/hive-project.config.mjs``, Apollo Gateway
  with ``--forward-authorization``, Grafbase with a ``forward`` header rule; nova-gateway
  forwards it by default). With one account, concurrent requests ask the subgraphs identical
  queries, which the routers that share in-flight queries send once. ``project-me-distinct`` is
  the same query with ``--distinct-accounts`` more accounts, signed in first, each request
  carrying the next one's token: no two requests in flight are alike, nothing is shared.

Grafbase (its CLI's ``grafbase dev``, a native binary) composes the supergraph itself from the
same subgraphs (``grafbase.toml``: the fixture's SDL files, or introspection of the project's
services); its composer refuses one fixture shape the others accept, adapted without changing
the graph (:data:`GRAFBASE_ADAPTATION`).

Each router runs alone (one at a time) on loopback, gets a warm-up, then ``wrk``
(``scripts/loadgen.py``) holds ``--concurrency`` connections per query for ``--duration`` seconds
(a response carrying GraphQL ``errors`` counts as an error). Every router's responses are
compared with nova-gateway's before the load starts, so a faster wrong answer cannot win; an
answer to a measured query without data or with errors is reported too. Per router and query it
reports req/s, p50/p99, errors, the CPU time and the peak resident memory of the router's process
tree (the subgraphs' are not counted), and the ratios nova / Hive Gateway, nova / Apollo Gateway
and nova / Grafbase; a query a router answers with errors or without data is not timed for it
(the line above the table says so). nova-gateway's ``one-subgraph`` is measured again with
``--wide-concurrency`` connections (``one-subgraph@64``).

Hive Gateway, Apollo Gateway and Grafbase come from ``bench/node`` (``npm ci --prefix
services/gateway/bench/node``); a router whose files are missing is skipped with a message.
Numbers are only comparable between routers of one run on one machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nova_kit.embedded import free_port
from nova_kit.testing.stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import benchstack
import loadgen

BENCH = Path(__file__).resolve().parent
NODE_DIR = BENCH / "node"
FIXTURE_SUPERGRAPH = BENCH.parent / "tests" / "fixtures" / "supergraph.graphql"
FIXTURE_SUBGRAPHS = BENCH.parent / "tests" / "fixtures" / "subgraphs"
GRAFBASE = NODE_DIR / "node_modules" / "@grafbase" / "cli-x86_64-unknown-linux-musl" / "grafbase"
# Grafbase's composer wants a @shareable value type to declare the same fields in every subgraph
# (Apollo's accepts the fixture's Location, whose `country` only products has): inventory's copy
# declares `country` too, as @external, so the composed graph still resolves it from products
# alone, exactly as the fixture's supergraph does.
GRAFBASE_ADAPTATION = (
    "inventory",
    "type Location @shareable {\n  city: String!\n}",
    "type Location @shareable {\n  city: String!\n  country: String! @external\n}",
)
WIDE_QUERY = "one-subgraph"
"""Measured again with ``--wide-concurrency`` connections (the fixture case, nova-gateway)."""

QUERIES = {
    "one-subgraph": "{ me { name username } }",
    "entities-3-hops": "{ topProducts { name reviews { body author { username name } } } }",
    "requires-compound-key": ("{ reviews { body product { name inStock shippingEstimate } } }"),
}


# Compared across routers before any load (not timed): one per federation feature.
CROSS_CHECK = {
    **QUERIES,
    "provides": "{ reviews { id author { username } } }",
    "override": "{ users { nickname } }",
    "unresolvable-key": "{ me { favoriteProduct { upc name } } }",
    "union": '{ search(text: "a") { __typename ... on Product { name inStock } '
    "... on User { username name } } }",
    "interface-object": "{ media { __typename title rating ... on Book { author } "
    "... on Movie { director } } }",
    "fragments-aliases": '{ first: product(upc: "1") { ...P reviews { id } } '
    'second: product(upc: "3") { ... on Product { upc } title: name kind: __typename } } '
    "fragment P on Product { upc title: name }",
    "alias-named-like-key": '{ product(upc: "3") { upc: name sku: brand inStock '
    "reviews { body } } }",
    "non-null-propagation": '{ product(upc: "4") { name inStock } }',
    # renames to the current names: every router sees the same data
    "mutation-order": 'mutation { a: renameUser(id: "2", name: "Alan Turing") { name } '
    'b: renameUser(id: "1", name: "Ada Lovelace") { name reviews { id } } }',
}

# The frontend's MyProfile (frontend/src/graphql/operations.ts): `me` and the profile fields
# come from the users subgraph, the account fields from the auth subgraph (an entity fetch).
PROJECT_QUERIES = {
    "project-me": "query MyProfile { me { ...ProfileFields email emailVerified roles status "
    "lastLoginAt } } fragment ProfileFields on User { id displayName bio avatarUrl locale "
    "timezone createdAt updatedAt deletedAt }",
}
DISTINCT = "project-me-distinct"
"""project-me with a different account's token on every request: nothing in flight is shared."""
PROJECT_DATABASE = "nova_gateway_bench_test"
PROJECT_PASSWORD = "bench password for nova"  # noqa: S105 - the benchmark accounts' password

CASES = ("fixture", "project")


CROSS_CHECKED: list[str] = []
"""One line per peer router and case: how many of its responses equal nova-gateway's (and one
per router whose answer to a measured query has errors or no data)."""


NOT_TIMED: list[tuple[str, str]] = []
"""(router, query) of the measured queries a router answered with errors or without data."""


@dataclass(frozen=True)
class Case:
    """A supergraph, its measured queries, the queries compared across routers, the headers of
    the compared requests, and those the load rotates over (default: ``headers``)."""

    name: str
    supergraph: Path
    queries: Mapping[str, str]
    cross_check: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)
    load_headers: Sequence[Mapping[str, str]] = ()
    query_load_headers: Mapping[str, Sequence[Mapping[str, str]]] = field(default_factory=dict)
    """Per measured query, headers the load rotates over instead of ``load_headers``."""
    grafbase_config: Path | None = None
    """``grafbase.toml`` naming the same subgraphs (Grafbase composes them itself)."""

    @property
    def forwards_authorization(self) -> bool:
        """Whether the routers must pass the client's Authorization header to the subgraphs."""
        return any(name.lower() == "authorization" for name in self.headers)


@dataclass
class Result:
    router: str
    query: str
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_request: float
    """CPU time the router's processes spent per request (user + system): the number least
    disturbed by other load on the machine."""
    rss_peak_mib: float
    rss_after_mib: float


ROUTERS = ("nova", "nova-nodedupe", "hive", "hive-nodedupe", "apollo", "grafbase")
"""``*-nodedupe``: identical in-flight subgraph queries are not shared (both gateways share them
by default; Apollo Gateway does not)."""
PAIRS = (
    ("nova", "hive"),
    ("nova", "apollo"),
    ("nova", "grafbase"),
    ("nova-nodedupe", "hive-nodedupe"),
)
"""Which router is compared with which in the ratio table."""
PEER_NAMES = {
    "hive": "Hive Gateway",
    "hive-nodedupe": "Hive Gateway (no dedupe)",
    "apollo": "Apollo Gateway",
    "grafbase": "Grafbase",
}


def router_command(name: str, case: Case, port: int) -> list[str] | None:
    if name in ("nova", "nova-nodedupe"):
        return [
            str(Path(sys.executable).parent / "nova-gateway"),
            "serve",
            "--supergraph",
            str(case.supergraph),
            "--port",
            str(port),
        ]
    if name == "grafbase":
        if not GRAFBASE.exists():
            print(
                "skipping grafbase: run npm ci --prefix services/gateway/bench/node",
                file=sys.stderr,
            )
            return None
        if case.grafbase_config is None:
            print(f"skipping grafbase: no configuration for the {case.name} case", file=sys.stderr)
            return None
        return [
            str(GRAFBASE),
            "--home",
            str(case.grafbase_config.parent / "grafbase-home"),
            "dev",
            "--config",
            str(case.grafbase_config),
            "--listen-address",
            f"127.0.0.1:{port}",
        ]
    node = shutil.which("node")
    if node is None:
        print(f"skipping {name}: node is not installed", file=sys.stderr)
        return None
    if name in ("hive", "hive-nodedupe"):
        binary = NODE_DIR / "node_modules" / ".bin" / "hive-gateway"
        if not binary.exists():
            print("skipping hive: run npm ci --prefix services/gateway/bench/node", file=sys.stderr)
            return None
        if case.forwards_authorization:
            config = ["--config-path", str(NODE_DIR / "hive-project.config.mjs")]
        elif name == "hive-nodedupe":
            config = ["--config-path", str(NODE_DIR / "hive-nodedupe.config.mjs")]
        else:
            config = []
        return [
            str(binary),
            "supergraph",
            str(case.supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *config,
        ]
    if name == "apollo":
        if not (NODE_DIR / "node_modules" / "@apollo" / "gateway").exists():
            print(
                "skipping apollo: run npm ci --prefix services/gateway/bench/node", file=sys.stderr
            )
            return None
        return [
            node,
            str(NODE_DIR / "apollo_gateway.mjs"),
            str(case.supergraph),
            str(port),
            *(["--forward-authorization"] if case.forwards_authorization else []),
        ]
    raise SystemExit(f"unknown router {name}")


def router_environment(name: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NOVA_")}
    if name == "nova-nodedupe":
        environment["NOVA_GATEWAY_SUBGRAPH_DEDUPLICATE_QUERIES"] = "false"
    if name == "hive-nodedupe":
        environment["HIVE_DEDUPLICATE_INFLIGHT"] = "false"  # read by hive-project.config.mjs
    environment.update(
        {
            "NOVA_GATEWAY_LOG_LEVEL": "WARNING",
            "NOVA_GATEWAY_SUPERGRAPH_POLL_SECONDS": "0",
            "NOVA_GATEWAY_INTROSPECTION": "false",
            "APOLLO_TELEMETRY_DISABLED": "1",
            "NODE_ENV": "production",
        }
    )
    return environment


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"router exited with {process.returncode}")
            try:
                response = client.post(url, json={"query": "{ __typename }"})
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"router at {url} did not start")


def responses(url: str, case: Case) -> dict[str, Any]:
    with httpx.Client(timeout=10, trust_env=False, headers=dict(case.headers)) as client:
        answers: dict[str, Any] = {}
        for name, query in case.cross_check.items():
            response = client.post(url, json={"query": query})
            try:
                answers[name] = response.json()
            except ValueError:
                answers[name] = {"status": response.status_code, "body": response.text[:500]}
        return answers


def faulty(answers: Mapping[str, Any], queries: Iterable[str]) -> list[str]:
    """The measured queries whose answer carries errors or no data."""
    return [
        query
        for query in queries
        if not isinstance(answers.get(query), dict)
        or answers[query].get("errors")
        or not answers[query].get("data")
    ]


def measure(
    name: str,
    case: Case,
    query_name: str,
    *,
    process: subprocess.Popen[bytes],
    url: str,
    args: argparse.Namespace,
    connections: int | None = None,
    label: str | None = None,
) -> Result:
    body = json.dumps({"query": case.queries[query_name]})
    rotation = case.query_load_headers.get(query_name) or case.load_headers or [case.headers]
    requests = [
        loadgen.Request("POST", "/graphql", body, {"Content-Type": "application/json", **headers})
        for headers in rotation
    ]
    options: dict[str, Any] = {
        "connections": connections or args.concurrency,
        "threads": args.threads,
        "timeout": args.timeout,
        "fail_pattern": '"errors"%s*:',
    }
    loadgen.run_wrk(url, requests, duration=min(2.0, args.duration), **options)  # warm-up
    with loadgen.UsageSampler(process.pid) as usage:
        load = loadgen.run_wrk(url, requests, duration=args.duration, **options)
    return Result(
        router=name,
        query=label or query_name,
        requests=load.requests,
        errors=load.errors,
        seconds=load.seconds,
        requests_per_second=load.requests_per_second,
        p50_ms=round(load.p50_ms, 2),
        p99_ms=round(load.p99_ms, 2),
        max_ms=round(load.max_ms, 2),
        cpu_ms_per_request=usage.cpu_ms_per_request(load.requests),
        rss_peak_mib=usage.peak_rss_mib,
        rss_after_mib=usage.rss_after_mib,
    )


def compare(
    name: str, case: Case, answers: Mapping[str, Any], reference: Mapping[str, Any]
) -> None:
    """Record how many of ``answers`` equal nova-gateway's ``reference``; print the differences."""
    same = [query for query, expected in reference.items() if answers[query] == expected]
    differing = [query for query in reference if query not in same]
    CROSS_CHECKED.append(
        f"{name} ({case.name}): {len(same)}/{len(reference)} responses identical to "
        "nova-gateway's" + (f" (differs on {', '.join(differing)})" if differing else "")
    )
    for query in differing:
        print(
            f"{name} differs from nova on {query}:\n  nova: {reference[query]}\n"
            f"  {name}: {answers[query]}",
            file=sys.stderr,
        )


def bench_router(
    name: str, case: Case, args: argparse.Namespace, reference: dict[str, Any] | None
) -> tuple[list[Result], dict[str, Any] | None]:
    port = free_port()
    command = router_command(name, case, port)
    if command is None:
        return [], None
    log = case.supergraph.parent / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed commands
            command,
            env=router_environment(name),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/graphql"
    results: list[Result] = []
    answers: dict[str, Any] | None = None
    try:
        try:
            wait_ready(url, process)
        except RuntimeError as error:  # reported, and the other routers still run
            CROSS_CHECKED.append(f"{name} ({case.name}): **not measured**, {error}")
            tail = log.read_text(errors="replace")[-3000:]
            print(f"{name} did not start: {error}\n{tail}", file=sys.stderr)
            return [], None
        answers = responses(url, case)
        if reference is not None:
            compare(name, case, answers, reference)
        wrong = faulty(answers, [query for query in case.queries if query in case.cross_check])
        if wrong:
            CROSS_CHECKED.append(
                f"{name} ({case.name}): errors or no data in the answer to {', '.join(wrong)}"
            )
            for query in wrong:
                print(f"{name} answers {query} with {answers[query]}", file=sys.stderr)
        base_url = f"http://127.0.0.1:{port}"
        for query_name in case.queries:
            if query_name in wrong:  # a wrong answer is not timed: a row of the table says so
                NOT_TIMED.append((name, query_name))
                continue
            results.append(
                measure(name, case, query_name, process=process, url=base_url, args=args)
            )
        if name == "nova" and WIDE_QUERY in case.queries and WIDE_QUERY not in wrong:
            results.append(
                measure(
                    name,
                    case,
                    WIDE_QUERY,
                    process=process,
                    url=base_url,
                    args=args,
                    connections=args.wide_concurrency,
                    label=f"{WIDE_QUERY}@{args.wide_concurrency}",
                )
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    return results, answers


@contextlib.contextmanager
def fixture_case(workdir: Path) -> Iterator[Case]:
    """The conformance suite's fixture subgraphs, served by ``subgraphs.py`` in its own process."""
    subgraphs = subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, str(BENCH / "subgraphs.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert subgraphs.stdout is not None
        urls: dict[str, str] = json.loads(subgraphs.stdout.readline())
        text = FIXTURE_SUPERGRAPH.read_text()
        for name, url in urls.items():
            text = text.replace(f'url: "http://{name}/graphql"', f'url: "{url}"')
        supergraph = workdir / "fixture-supergraph.graphql"
        supergraph.write_text(text)
        yield Case(
            "fixture",
            supergraph,
            QUERIES,
            CROSS_CHECK,
            grafbase_config=fixture_grafbase_config(workdir / "grafbase", urls),
        )
    finally:
        if subgraphs.stdin is not None:
            subgraphs.stdin.close()
        subgraphs.wait(timeout=15)


def grafbase_toml(subgraphs: Mapping[str, Mapping[str, str]], forward: Sequence[str] = ()) -> str:
    """A ``grafbase.toml``: one ``[subgraphs.NAME]`` table per subgraph (its keys as given),
    and a rule forwarding each header of ``forward`` from the client to every subgraph."""
    lines: list[str] = []
    for name, settings in subgraphs.items():
        lines.append(f"[subgraphs.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        lines.append("")
    for header in forward:
        lines += ["[[headers]]", 'rule = "forward"', f"name = {json.dumps(header)}", ""]
    return "\n".join(lines)


def fixture_grafbase_config(directory: Path, urls: Mapping[str, str]) -> Path:
    """The fixture's subgraph SDLs (adapted as :data:`GRAFBASE_ADAPTATION` says) and routes."""
    directory.mkdir(parents=True, exist_ok=True)
    subgraphs: dict[str, dict[str, str]] = {}
    adapted, before, after = GRAFBASE_ADAPTATION
    for name, url in urls.items():
        sdl = (FIXTURE_SUBGRAPHS / f"{name}.graphql").read_text()
        if name == adapted:
            if before not in sdl:
                raise RuntimeError(f"the {name} fixture changed: update GRAFBASE_ADAPTATION")
            sdl = sdl.replace(before, after)
        path = directory / f"{name}.graphql"
        path.write_text(sdl)
        subgraphs[name] = {"url": url, "schema_path": str(path)}
    config = directory / "grafbase.toml"
    config.write_text(grafbase_toml(subgraphs))
    return config


def sign_in_accounts(
    services: Stack, prefix: str, count: int, parallel: int = 4
) -> list[dict[str, str]]:
    """``count`` new accounts, signed in, each profile created (on its first read, before any
    router, so all see the same); their Authorization headers."""

    def one(number: int) -> dict[str, str]:
        email = f"{prefix}.{number}@example.com"
        headers = {
            "Authorization": f"Bearer {benchstack.register(services, email, PROJECT_PASSWORD)}"
        }
        first = httpx.post(
            services.graphql_url("users"),
            json={"query": "{ me { id } }"},
            headers=headers,
            timeout=30,
            trust_env=False,
        ).json()
        if first.get("errors") or not first.get("data"):
            raise RuntimeError(f"the users service answers me with {first}")
        return headers

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, range(count)))


@contextlib.contextmanager
def project_case(workdir: Path, accounts: int, distinct: int) -> Iterator[Case]:
    """Nova's auth and users services on a fresh database, ``accounts`` accounts signed in
    (and ``distinct`` more, one per request of ``project-me-distinct``)."""
    with (
        benchstack.data_services(workdir, PROJECT_DATABASE) as (database_url, redis_url),
        benchstack.running_services(database_url, redis_url, workdir) as services,
    ):
        supergraph = benchstack.compose_supergraph(workdir / "project-supergraph.graphql", services)
        signed_in = sign_in_accounts(services, "bench.me", accounts)
        queries = dict(PROJECT_QUERIES)
        per_query: dict[str, list[dict[str, str]]] = {}
        if distinct:
            started = time.monotonic()
            per_query[DISTINCT] = sign_in_accounts(services, "bench.distinct", distinct)
            print(
                f"{distinct} accounts signed in for {DISTINCT} in "
                f"{time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
            queries[DISTINCT] = PROJECT_QUERIES["project-me"]
        grafbase = workdir / "grafbase" / "grafbase.toml"
        grafbase.parent.mkdir()
        grafbase.write_text(
            grafbase_toml(
                {
                    name: {
                        "url": services.graphql_url(name),
                        "introspection_url": services.graphql_url(name),
                    }
                    for name in benchstack.SERVICES
                },
                forward=["authorization"],
            )
        )
        yield Case(
            "project",
            supergraph,
            queries,
            PROJECT_QUERIES,
            signed_in[0],
            signed_in,
            per_query,
            grafbase_config=grafbase,
        )


def case_setup(
    name: str, workdir: Path, args: argparse.Namespace
) -> contextlib.AbstractContextManager[Case]:
    if name == "fixture":
        return fixture_case(workdir)
    return project_case(workdir, args.accounts, args.distinct_accounts)


def ratio(numerator: float, denominator: float) -> float:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    return round(numerator / denominator, 2)


def report(results: list[Result], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Print the tables (Markdown); return the headline rows."""
    f = loadgen.fmt
    print(
        f"wrk: {args.concurrency} connections, {args.threads} thread(s), "
        f"{args.duration:g} s per query after a warm-up; errors are socket errors, 4xx/5xx and "
        "GraphQL `errors`; CPU and RSS are the router's process tree."
    )
    if any(r.query in PROJECT_QUERIES for r in results):
        accounts = "one account" if args.accounts == 1 else f"one of {args.accounts} accounts"
        print(
            "project-me: Nova's own `me` through the real auth and users services (sharing the "
            f"machine's cores), every request with the Bearer token of {accounts}."
        )
    if any(r.query == DISTINCT for r in results):
        print(
            f"{DISTINCT}: the same query, every request with the token of the next of "
            f"{args.distinct_accounts} other accounts (no two requests in flight alike, so "
            "nothing for deduplication to share)."
        )
    if any(r.query.startswith(f"{WIDE_QUERY}@") for r in results):
        print(
            f"{WIDE_QUERY}@{args.wide_concurrency}: {WIDE_QUERY} again with "
            f"{args.wide_concurrency} connections."
        )
    print()
    if CROSS_CHECKED:
        print("Responses compared before the load (details on stderr):\n")
        for line in CROSS_CHECKED:
            print(f"- {line}")
        print()
    print("| router | query | req/s | p50 ms | p99 ms | errors | CPU ms/req | RSS peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.router} | {r.query} | {f(r.requests_per_second)} | {f(r.p50_ms, 2)} | "
            f"{f(r.p99_ms, 2)} | {r.errors} | {f(r.cpu_ms_per_request, 3)} | "
            f"{f(r.rss_peak_mib)} |"
        )
    for router, query in NOT_TIMED:
        print(f"| {router} | {query} | not timed: errors or no data in its answer | | | | | |")
    by_key = {(r.router, r.query): r for r in results}
    routers = {r.router for r in results}
    pairs = [(mine, peer) for mine, peer in PAIRS if mine in routers and peer in routers]
    rows: list[dict[str, Any]] = []
    if pairs:
        print("\nnova-gateway / peer (req/s: above 1 is better; p99, CPU/req, RSS: below 1)\n")
        print("| query | nova | peer | req/s | p99 | CPU/req | RSS peak |")
        print("|---|---|---|---:|---:|---:|---:|")
    for query in dict.fromkeys(r.query for r in results):
        ratios: dict[str, list[str]] = {}
        for mine, peer in pairs:
            nova, other = by_key.get((mine, query)), by_key.get((peer, query))
            if nova is None or other is None:
                continue
            rps = ratio(nova.requests_per_second, other.requests_per_second)
            cpu = ratio(nova.cpu_ms_per_request, other.cpu_ms_per_request)
            p99 = ratio(nova.p99_ms, other.p99_ms)
            ratios.setdefault(mine, []).append(
                f"vs {peer}: req/s x{f(rps, 2)}, p99 x{f(p99, 2)}, CPU/req x{f(cpu, 2)}"
            )
            print(
                f"| {query} | {mine} | {PEER_NAMES[peer]} | {f(rps, 2)} | {f(p99, 2)} | "
                f"{f(cpu, 2)} | {f(ratio(nova.rss_peak_mib, other.rss_peak_mib), 2)} |"
            )
        for mine in ("nova", "nova-nodedupe"):
            nova = by_key.get((mine, query))
            if nova is None:
                continue
            rows.append(
                {
                    "benchmark": "gateway",
                    "figure": f"{mine} {query}",
                    "rps": nova.requests_per_second,
                    "p50_ms": nova.p50_ms,
                    "p99_ms": nova.p99_ms,
                    "errors": nova.errors,
                    "rss_mib": nova.rss_peak_mib,
                    "note": "; ".join(ratios.get(mine, [])) or None,
                }
            )
    return rows


def figures(results: Sequence[Result]) -> dict[str, float]:
    """The measured figures by name (``gateway.CASE.ROUTER.QUERY.cpu_ms``), for the targets."""
    metrics: dict[str, float] = {}
    for r in results:
        case = "project" if r.query.startswith("project-") else "fixture"
        key = f"gateway.{case}.{r.router}.{r.query}"
        metrics |= {
            f"{key}.rps": r.requests_per_second,
            f"{key}.cpu_ms": r.cpu_ms_per_request,
            f"{key}.p50_ms": r.p50_ms,
            f"{key}.p99_ms": r.p99_ms,
            f"{key}.errors": r.errors,
            f"{key}.rss_mib": r.rss_peak_mib,
        }
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routers", default=",".join(ROUTERS))
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"which supergraphs ({', '.join(CASES)})"
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=None,
        help="project case: signed-in accounts the requests rotate over (max 256; default: one "
        "per connection); with one, concurrent requests ask the subgraphs identical queries, "
        "which deduplication shares",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per query (max 120)")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (max 256)")
    parser.add_argument(
        "--wide-concurrency",
        type=int,
        default=64,
        help=f"fixture case: {WIDE_QUERY} measured again on nova-gateway with this many "
        "connections (max 256)",
    )
    parser.add_argument(
        "--distinct-accounts",
        type=int,
        default=1000,
        help=f"project case: accounts signed in for {DISTINCT}, whose requests each carry the "
        "next account's token (max 10000; 0 skips it)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk's request timeout, s")
    parser.add_argument("--output", type=Path, default=None, help="write results as JSON")
    parser.add_argument("--summary", type=Path, default=None, help="write headline rows as JSON")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 1.0), 120.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    args.accounts = min(max(args.accounts or args.concurrency, 1), 256)
    args.wide_concurrency = min(max(args.wide_concurrency, 1), 256)
    args.distinct_accounts = min(max(args.distinct_accounts, 0), 10_000)
    cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown or not cases:
        parser.error(f"--cases: expected some of {', '.join(CASES)}, got {args.cases!r}")
    loadgen.wrk_binary()  # fails early, with the install hint, when wrk is missing

    all_results: list[Result] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nova-bench-gateway-") as directory:
        for case_name in cases:
            workdir = Path(directory) / case_name
            workdir.mkdir()
            try:
                with case_setup(case_name, workdir, args) as case:
                    reference: dict[str, Any] | None = None
                    for router in args.routers.split(","):
                        results, answers = bench_router(router, case, args, reference)
                        if router == "nova":
                            reference = answers
                        all_results += results
            except Exception as error:  # the other case's figures are still reported
                print(f"the {case_name} case failed: {error}", file=sys.stderr)
                failed.append(case_name)

    loadgen.write_summary(args.summary, report(all_results, args), figures(all_results))
    if args.output is not None:
        args.output.write_text(json.dumps([asdict(r) for r in all_results], indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
