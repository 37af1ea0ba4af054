#!/usr/bin/env node
// First-load JavaScript of every page of the last `next build`: the framework's root chunks
// plus the chunks of the page's layout and page entries, raw and gzip-compressed; with --check,
// each route's first load against its budget in bundle-budgets.json.
//
//   node scripts/bundle-sizes.mjs            the sizes (after npm run build)
//   node scripts/bundle-sizes.mjs --check    fail when a route exceeds its budget or has none
//   node scripts/bundle-sizes.mjs --update   set every budget to today's size + 10 %
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BUDGETS_FILE = join(FRONTEND, "bundle-budgets.json");
/** The room a budget leaves above the size it was set from. */
export const HEADROOM = 0.1;

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

function manifests(directory) {
  const found = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) found.push(...manifests(path));
    else if (entry === "page_client-reference-manifest.js") found.push(path);
  }
  return found;
}

/**
 * The pages of the production build in `next` (a `.next` directory): each route's own chunks
 * and its first load (shared chunks included), raw and gzip bytes, sorted by route.
 */
export function measureRoutes(next) {
  if (!existsSync(join(next, "BUILD_ID"))) {
    throw new Error(`no production build in ${next}: run \`npm run build\` first`);
  }
  const build = JSON.parse(readFileSync(join(next, "build-manifest.json"), "utf8"));
  const shared = [...(build.rootMainFiles ?? [])];
  const sizes = new Map();
  const size = (file) => {
    if (!sizes.has(file)) {
      const content = readFileSync(join(next, file));
      sizes.set(file, { raw: content.length, gzip: gzipSync(content, { level: 9 }).length });
    }
    return sizes.get(file);
  };
  const total = (files) =>
    [...files].reduce(
      (sum, file) => {
        const { raw, gzip } = size(file);
        return { raw: sum.raw + raw, gzip: sum.gzip + gzip };
      },
      { raw: 0, gzip: 0 },
    );

  const rows = [];
  for (const path of manifests(join(next, "server", "app"))) {
    const sandbox = { globalThis: {} };
    sandbox.globalThis = sandbox;
    runInNewContext(readFileSync(path, "utf8"), sandbox);
    for (const [name, manifest] of Object.entries(sandbox.__RSC_MANIFEST ?? {})) {
      const route = `/${name.replace(/\/?page$/, "")}`.replace(/^\/+/, "/");
      const files = new Set(shared);
      for (const [entry, chunks] of Object.entries(manifest.entryJSFiles ?? {})) {
        if (entry.endsWith("/layout") || entry.endsWith(`/src/app${name}`)) {
          for (const chunk of chunks) files.add(chunk);
        }
      }
      const own = new Set([...files].filter((file) => !shared.includes(file)));
      rows.push({ route, own: total(own), first: total(files) });
    }
  }
  rows.sort((a, b) => a.route.localeCompare(b.route));
  return { shared: total(shared), routes: rows };
}

/**
 * Each route's first load (gzip) against `budgets` (route → kB). A route over its budget, a
 * route without one and a budget for a route the build no longer has all fail the check.
 */
export function checkBudgets(routes, budgets) {
  const rows = routes.map(({ route, first }) => {
    const size = first.gzip / 1024;
    const budget = budgets[route];
    const status =
      budget === undefined ? "no budget" : size > budget ? "over budget" : "within budget";
    return { route, size, budget: budget ?? null, status };
  });
  const built = new Set(routes.map(({ route }) => route));
  for (const [route, budget] of Object.entries(budgets)) {
    if (!built.has(route)) rows.push({ route, size: null, budget, status: "no such route" });
  }
  rows.sort((a, b) => a.route.localeCompare(b.route));
  return { ok: rows.every((row) => row.status === "within budget"), rows };
}

/** The check as a table, one route a line. */
export function formatCheck({ ok, rows }) {
  const cell = (value) => (value === null ? "–" : `${value.toFixed(1)} kB`);
  const lines = [
    `${"route".padEnd(22)}${"first load (gzip)".padStart(19)}${"budget".padStart(12)}  status`,
    ...rows.map(
      (row) =>
        `${row.route.padEnd(22)}${cell(row.size).padStart(19)}${cell(row.budget).padStart(12)}  ${row.status}`,
    ),
  ];
  lines.push(
    ok
      ? "every route is within its first-load JavaScript budget"
      : "bundle budget check failed: make the route smaller, or change its budget in bundle-budgets.json (npm run size:update sets today's sizes + 10 %)",
  );
  return lines.join("\n");
}

/** Budgets from today's sizes: first load (gzip) + HEADROOM, rounded up to a whole kB. */
export function budgetsFor(routes, headroom = HEADROOM) {
  return Object.fromEntries(
    routes.map(({ route, first }) => [route, Math.ceil((first.gzip / 1024) * (1 + headroom))]),
  );
}

function main(argv) {
  const { shared, routes } = measureRoutes(join(FRONTEND, ".next"));
  if (argv.includes("--update")) {
    const file = { unit: "kB of first-load JavaScript, gzip", routes: budgetsFor(routes) };
    writeFileSync(BUDGETS_FILE, `${JSON.stringify(file, null, 2)}\n`);
    console.log(`wrote ${Object.keys(file.routes).length} budgets to bundle-budgets.json`);
    return 0;
  }
  if (argv.includes("--check")) {
    if (!existsSync(BUDGETS_FILE)) {
      throw new Error("no bundle-budgets.json: `npm run size:update` writes today's sizes + 10 %");
    }
    const { routes: budgets } = JSON.parse(readFileSync(BUDGETS_FILE, "utf8"));
    const result = checkBudgets(routes, budgets);
    console.log(formatCheck(result));
    return result.ok ? 0 : 1;
  }
  console.log(`shared by all pages: ${kb(shared.raw)} (${kb(shared.gzip)} gzip)`);
  console.log(
    `${"route".padEnd(22)}${"route JS (gzip)".padStart(18)}${"first load (gzip)".padStart(20)}`,
  );
  for (const row of routes) {
    console.log(
      `${row.route.padEnd(22)}${kb(row.own.gzip).padStart(18)}${kb(row.first.gzip).padStart(20)}`,
    );
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
