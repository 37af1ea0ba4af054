#!/usr/bin/env node
// First-load JavaScript of every page of the last `next build`: the framework's root chunks
// plus the chunks of the page's layout and page entries, raw and gzip-compressed.
//
//   node scripts/bundle-sizes.mjs        (after npm run build)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";

const next = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".next");
const build = JSON.parse(readFileSync(join(next, "build-manifest.json"), "utf8"));
const shared = [...(build.rootMainFiles ?? [])];

function manifests(directory) {
  const found = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) found.push(...manifests(path));
    else if (entry === "page_client-reference-manifest.js") found.push(path);
  }
  return found;
}

const sizes = new Map();
function size(file) {
  if (!sizes.has(file)) {
    const content = readFileSync(join(next, file));
    sizes.set(file, { raw: content.length, gzip: gzipSync(content, { level: 9 }).length });
  }
  return sizes.get(file);
}
const total = (files) =>
  [...files].reduce(
    (sum, file) => {
      const { raw, gzip } = size(file);
      return { raw: sum.raw + raw, gzip: sum.gzip + gzip };
    },
    { raw: 0, gzip: 0 },
  );
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

const rows = [];
for (const path of manifests(join(next, "server", "app"))) {
  const sandbox = { globalThis: {} };
  sandbox.globalThis = sandbox;
  runInNewContext(readFileSync(path, "utf8"), sandbox);
  for (const [name, manifest] of Object.entries(sandbox.__RSC_MANIFEST ?? {})) {
    const route = `/${name.replace(/\/?page$/, "")}`.replace(/^\/+/, "/");
    const files = new Set(shared);
    const entries = manifest.entryJSFiles ?? {};
    for (const [entry, chunks] of Object.entries(entries)) {
      if (entry.endsWith("/layout") || entry.endsWith(`/src/app${name}`)) {
        for (const chunk of chunks) files.add(chunk);
      }
    }
    const own = new Set([...files].filter((file) => !shared.includes(file)));
    rows.push({ route, own: total(own), first: total(files) });
  }
}
rows.sort((a, b) => a.route.localeCompare(b.route));
const sharedSize = total(shared);
console.log(`shared by all pages: ${kb(sharedSize.raw)} (${kb(sharedSize.gzip)} gzip)`);
console.log(
  `${"route".padEnd(22)}${"route JS (gzip)".padStart(18)}${"first load (gzip)".padStart(20)}`,
);
for (const row of rows) {
  console.log(
    `${row.route.padEnd(22)}${kb(row.own.gzip).padStart(18)}${kb(row.first.gzip).padStart(20)}`,
  );
}
