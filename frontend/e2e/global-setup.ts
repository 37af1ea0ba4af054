/**
 * Starts what the end-to-end tests need, unless it already answers:
 *
 * - the frontend: by default a production build (`next build`, then `next start`), the code
 *   users get — pages hydrate as fast as they will in production and nothing is compiled or
 *   hot-reloaded while a test runs; NOVA_E2E_FRONTEND=dev runs the Next dev server instead;
 * - the backend through `python ../scripts/devstack.py up` in its own process group
 *   (embedded PostgreSQL/Redis on NOVA_DEV_POSTGRES_PORT/NOVA_DEV_REDIS_PORT, default 15532 and
 *   16479 so a developer's `make dev` data is not touched; like `make dev`'s, below the ports
 *   the kernel gives outgoing connections, which could hold them at start);
 * - an administrator for the admin tests (`nova-auth create-admin`), unless NOVA_E2E_ADMIN_EMAIL
 *   and NOVA_E2E_ADMIN_PASSWORD name one;
 * - with the backend, a real OpenID provider (panva's `oidc-provider`,
 *   services/auth/tests/oidc_provider, installed by scripts/node-deps.sh) on a free loopback
 *   port in its own process group, and auth configured to offer it (NOVA_AUTH_OIDC_PROVIDERS)
 *   with callbacks through the frontend's origin, as a browser sees the site.
 *
 * NOVA_E2E_FRONTEND_ONLY=1 starts only the frontend, for the `frontend` project. Every wait is
 * bounded; the output of what was started goes to test-results/e2e-stack.log.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type { FullConfig } from "@playwright/test";
import globalTeardown from "./global-teardown";
import { STATE_FILE, type StackState } from "./stack";

const FRONTEND = resolve(import.meta.dirname, "..");
const ROOT = resolve(FRONTEND, "..");
const RESULTS = join(FRONTEND, "test-results");
const START_TIMEOUT_MS = Number(process.env.NOVA_E2E_START_TIMEOUT_MS ?? 240_000);
const FRONTEND_MODE = process.env.NOVA_E2E_FRONTEND ?? "production";
if (FRONTEND_MODE !== "production" && FRONTEND_MODE !== "dev") {
  throw new Error(`NOVA_E2E_FRONTEND must be "production" or "dev", not ${FRONTEND_MODE}`);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function waitFor(url: string, deadline: number, what: string): Promise<void> {
  while (Date.now() < deadline) {
    if (await answers(url)) return;
    await new Promise((done) => setTimeout(done, 1_000));
  }
  throw new Error(`${what} did not answer ${url} in time; see test-results/e2e-stack.log`);
}

function startDetached(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  mkdirSync(RESULTS, { recursive: true });
  const log = openSync(join(RESULTS, "e2e-stack.log"), "a");
  // detached: a new process group (setsid), stopped as a group by the teardown.
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", log, log] });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${command}`);
  return child.pid;
}

/** NOVA_DEV_SKIP with one more process name. */
function skipping(current: string | undefined, name: string): string {
  return [...(current ?? "").split(","), name].filter(Boolean).join(",");
}

/**
 * The frontend in its own process group: a fresh production build served by `next start`
 * (a build left from earlier code is never tested), or `next dev` with NOVA_E2E_FRONTEND=dev.
 */
function startFrontend(baseURL: string, env: NodeJS.ProcessEnv): number {
  const url = new URL(baseURL);
  const where = ["--hostname", url.hostname, "--port", url.port || "3000"];
  if (FRONTEND_MODE === "dev")
    return startDetached("npx", ["next", "dev", ...where], env, FRONTEND);
  execFileSync("npx", ["next", "build"], {
    cwd: FRONTEND,
    env,
    stdio: "inherit",
    timeout: 600_000,
  });
  return startDetached("npx", ["next", "start", ...where], env, FRONTEND);
}

const OIDC_PACKAGE = join(ROOT, "services", "auth", "tests", "oidc_provider");
const OIDC_PROVIDER = { name: "dev", label: "Dev ID" };

/** A port the kernel says is free on loopback now. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

/**
 * The OpenID provider in its own process group (stopped by the teardown), with one client that
 * returns to the site's callback; answers its issuer once its discovery document answers.
 */
async function startOidcProvider(baseURL: string, state: StackState, deadline: number) {
  if (!existsSync(join(OIDC_PACKAGE, "node_modules", "oidc-provider"))) {
    throw new Error(`${OIDC_PACKAGE}/node_modules is missing: run \`make setup\``);
  }
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const client = { id: "nova-e2e", secret: `e2e-${randomBytes(18).toString("base64url")}` };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OIDC_PORT: String(port),
    OIDC_CLIENT_ID: client.id,
    OIDC_CLIENT_SECRET: client.secret,
    OIDC_REDIRECT_URIS: `${baseURL}/api/auth/oidc/${OIDC_PROVIDER.name}/callback`,
    NODE_ENV: "development",
  };
  state.pgids.push(startDetached("node", [join(OIDC_PACKAGE, "provider.mjs")], env, OIDC_PACKAGE));
  writeFileSync(STATE_FILE, JSON.stringify(state));
  await waitFor(`${issuer}/.well-known/openid-configuration`, deadline, "the OpenID provider");
  state.oidc = { ...OIDC_PROVIDER, issuer };
  return JSON.stringify([
    {
      name: OIDC_PROVIDER.name,
      issuer,
      client_id: client.id,
      client_secret: client.secret,
      display_name: OIDC_PROVIDER.label,
    },
  ]);
}

function createAdmin(env: NodeJS.ProcessEnv): { email: string; password: string } {
  const email = `e2e-admin-${Date.now()}@example.com`;
  const password = `Adm-${randomBytes(12).toString("base64url")}`;
  execFileSync(
    join(ROOT, ".venv", "bin", "nova-auth"),
    ["create-admin", "--email", email, "--password", password],
    { env, cwd: ROOT, stdio: "pipe", timeout: 60_000 },
  );
  return { email, password };
}

export default async function globalSetup(config: FullConfig): Promise<void> {
  try {
    await setUp(config);
  } catch (error) {
    // Playwright skips the teardown when the setup fails: stop what was started here.
    await globalTeardown();
    throw error;
  }
}

async function setUp(config: FullConfig): Promise<void> {
  const baseURL = String(config.projects[0]?.use.baseURL ?? "http://127.0.0.1:3000");
  const gatewayURL = process.env.NOVA_E2E_GATEWAY_URL ?? "http://127.0.0.1:8000";
  const frontendOnly = process.env.NOVA_E2E_FRONTEND_ONLY === "1";
  const deadline = Date.now() + START_TIMEOUT_MS;
  const state: StackState = { baseURL, gatewayURL, backend: false, pgids: [] };
  mkdirSync(RESULTS, { recursive: true });
  rmSync(STATE_FILE, { force: true });

  const postgresPort = process.env.NOVA_DEV_POSTGRES_PORT ?? "15532";
  const redisPort = process.env.NOVA_DEV_REDIS_PORT ?? "16479";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NOVA_DEV_POSTGRES_PORT: postgresPort,
    NOVA_DEV_REDIS_PORT: redisPort,
    NOVA_DEV_SMTP_PORT: process.env.NOVA_DEV_SMTP_PORT ?? "1125",
    // A data directory of its own, so a `make dev` running beside it keeps its data.
    NOVA_DEV_STATE_DIR: process.env.NOVA_DEV_STATE_DIR ?? join(ROOT, ".nova", "e2e"),
    // Every account of a run registers from the same address: lift the abuse brakes.
    NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT: process.env.NOVA_AUTH_REGISTER_LIMIT_PER_CLIENT ?? "1000",
    NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT: process.env.NOVA_AUTH_LOGIN_LIMIT_PER_CLIENT ?? "1000",
    NOVA_AUTH_FORGOT_PASSWORD_LIMIT_PER_CLIENT:
      process.env.NOVA_AUTH_FORGOT_PASSWORD_LIMIT_PER_CLIENT ?? "1000",
    NOVA_AUTH_EMAIL_TOKEN_LIMIT_PER_CLIENT:
      process.env.NOVA_AUTH_EMAIL_TOKEN_LIMIT_PER_CLIENT ?? "1000",
    NOVA_AUTH_VERIFICATION_RESEND_LIMIT_PER_CLIENT:
      process.env.NOVA_AUTH_VERIFICATION_RESEND_LIMIT_PER_CLIENT ?? "1000",
    // The links of the mails the worker sends open the frontend under test.
    NOVA_WORKER_PUBLIC_URL: baseURL,
    NEXT_TELEMETRY_DISABLED: "1",
    PYTHONUNBUFFERED: "1",
  };

  // Where the dev stack's SMTP sink keeps the mails (e2e/mail.ts reads them).
  state.maildir = join(String(env.NOVA_DEV_STATE_DIR), "mail");
  const frontendRunning = await answers(`${baseURL}/api/health`);
  if (frontendOnly) {
    if (!frontendRunning) state.pgids.push(startFrontend(baseURL, env));
    writeFileSync(STATE_FILE, JSON.stringify(state));
    await waitFor(`${baseURL}/api/health`, deadline, "the frontend");
  } else {
    if (!(await answers(`${gatewayURL}/ready`))) {
      env.NOVA_AUTH_OIDC_PROVIDERS = await startOidcProvider(baseURL, state, deadline);
      env.NOVA_AUTH_OIDC_REDIRECT_BASE_URL = baseURL;
      // The backend without devstack's own `next dev`: the frontend is started below, its way.
      const skip = skipping(env.NOVA_DEV_SKIP, "frontend");
      state.pgids.push(
        startDetached(
          join(ROOT, ".venv", "bin", "python"),
          [join(ROOT, "scripts", "devstack.py"), "up"],
          { ...env, NOVA_DEV_SKIP: skip },
          ROOT,
        ),
      );
      writeFileSync(STATE_FILE, JSON.stringify(state));
    }
    if (!frontendRunning) state.pgids.push(startFrontend(baseURL, env));
    writeFileSync(STATE_FILE, JSON.stringify(state));
    await waitFor(`${baseURL}/api/health`, deadline, "the frontend");
    await waitFor(
      `${gatewayURL}/ready`,
      deadline,
      "the gateway (is deploy/supergraph.graphql there?)",
    );
    state.backend = true;
    const email = process.env.NOVA_E2E_ADMIN_EMAIL;
    const password = process.env.NOVA_E2E_ADMIN_PASSWORD;
    state.admin =
      email && password
        ? { email, password }
        : createAdmin({
            ...env,
            NOVA_ENVIRONMENT: "dev",
            DATABASE_URL:
              process.env.DATABASE_URL ?? `postgresql://postgres@127.0.0.1:${postgresPort}/nova`,
            REDIS_URL: process.env.REDIS_URL ?? `redis://127.0.0.1:${redisPort}/0`,
          });
  }
  // Warm the pages up (the dev server compiles a route on its first request).
  for (const path of [
    "/",
    "/login",
    "/register",
    "/profile",
    "/admin/users",
    "/account/password",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
  ]) {
    await fetch(`${baseURL}${path}`, { signal: AbortSignal.timeout(120_000) }).catch(
      () => undefined,
    );
  }
  writeFileSync(STATE_FILE, JSON.stringify(state));
}
