"""A real OpenID provider for tests: panva's certified ``oidc-provider`` (npm) on loopback.

The Node package that runs it lives with the auth tests (``services/auth/tests/oidc_provider``,
installed by ``scripts/node-deps.sh``); :func:`run_provider` starts it with one registered
client, and :func:`sign_in_at_provider` does what a person does on its development login and
consent pages, answering where the provider sends the browser back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from nova_kit.embedded import free_port

CLIENT_ID = "nova-test"
CLIENT_SECRET = "nova-test-client-secret-0123456789"  # noqa: S105 - a test client's
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


@dataclass(frozen=True, slots=True)
class RunningProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


@contextmanager
def run_provider(package: Path, redirect_uris: list[str]) -> Iterator[RunningProvider]:
    """Start the provider of the Node ``package`` (a directory with ``provider.mjs`` and
    ``oidc-provider`` installed) with one client allowed to return to ``redirect_uris``."""
    if not (package / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"{package / 'node_modules'} is missing: run `make setup`")
    port = free_port()
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "NODE_ENV": "development",
    }
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node (>= 20) is required to run the OpenID provider")
    process = subprocess.Popen(  # noqa: S603 - a test-controlled command
        [node, str(package / "provider.mjs")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        issuer = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"the OpenID provider exited: {output}")
            try:
                httpx.get(
                    f"{issuer}/.well-known/openid-configuration", timeout=1
                ).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the OpenID provider did not start in 30 s")
        yield RunningProvider(issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


async def sign_in_at_provider(authorization_url: str, login: str, return_to: str) -> str:
    """Do what a person does at the provider: sign in as ``login`` (the development login
    form takes any password) and consent; answers the URL it sends the browser back to."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            if url.startswith(return_to):
                return url
            response = await browser.get(url)
            while response.status_code in (302, 303):
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(return_to):
                    return url
                response = await browser.get(url)
            action, prompt = _FORM_ACTION.search(response.text), _PROMPT.search(response.text)
            assert response.status_code == 200, response.text[:500]
            assert action is not None, response.text[:500]
            assert prompt is not None, response.text[:500]
            form = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                form |= {"login": login, "password": "any password"}
            posted = await browser.post(action.group(1), data=form)
            assert posted.status_code in (302, 303), posted.text[:500]
            url = str(posted.url.join(posted.headers["location"]))
        raise AssertionError("the provider never sent the browser back")
