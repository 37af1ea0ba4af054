// Installs the direct dependencies of a package.json as the files of their own npm tarballs,
// nothing else: for packages whose prebuilt browser bundles are all that is used (the dev
// explorers' GraphiQL, React UMD builds and Scalar's standalone API reference), so their hundreds
// of build-time dependencies are never downloaded. The layout is node_modules/<name>/..., as
// npm ci would make it; each tarball is checked against the integrity in package-lock.json.
//
//   node scripts/unpack-npm-assets.mjs libs/nova-kit/dev-assets
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const directory = process.argv[2];
if (!directory) {
  console.error("usage: node scripts/unpack-npm-assets.mjs <directory with package-lock.json>");
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(directory, "package-lock.json"), "utf8"));
const names = Object.keys(lock.packages[""].dependencies ?? {});
const locked = new Map(names.map((name) => [name, lock.packages[`node_modules/${name}`]]));
const scratch = mkdtempSync(join(tmpdir(), "nova-assets-"));
try {
  const specs = names.map((name) => `${name}@${locked.get(name).version}`);
  const packed = JSON.parse(
    execFileSync(
      "npm",
      ["pack", ...specs, "--json", "--pack-destination", scratch, "--loglevel=error"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    ),
  );
  const modules = join(directory, "node_modules");
  rmSync(modules, { recursive: true, force: true });
  for (const entry of packed) {
    const expected = locked.get(entry.name)?.integrity;
    const file = join(scratch, entry.filename);
    const actual = `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
    if (!expected || actual !== expected) {
      throw new Error(`${entry.name}@${entry.version}: integrity ${actual} is not the locked ${expected}`);
    }
    const target = join(modules, entry.name);
    mkdirSync(target, { recursive: true });
    execFileSync("tar", ["-xzf", file, "-C", target, "--strip-components=1", "--no-same-owner"]);
  }
  console.log(`unpacked ${packed.length} packages into ${modules}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
