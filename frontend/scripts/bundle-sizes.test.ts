// @vitest-environment node
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  budgetsFor,
  checkBudgets,
  formatCheck,
  measureRoutes,
  type RouteSize,
} from "./bundle-sizes.mjs";

/** A route whose first load is `kb` kB gzip. */
const route = (path: string, kb: number): RouteSize => ({
  route: path,
  own: { raw: 0, gzip: 0 },
  first: { raw: kb * 3 * 1024, gzip: kb * 1024 },
});

describe("checkBudgets", () => {
  it("passes when every route is within its budget", () => {
    const result = checkBudgets([route("/", 150), route("/login", 170)], {
      "/": 160,
      "/login": 170,
    });
    expect(result.ok).toBe(true);
    expect(result.rows.map((row) => row.status)).toEqual(["within budget", "within budget"]);
  });

  it("fails a route over its budget, and says by how much in the table", () => {
    const result = checkBudgets([route("/", 150), route("/profile", 181.5)], {
      "/": 160,
      "/profile": 180,
    });
    expect(result.ok).toBe(false);
    expect(result.rows).toContainEqual({
      route: "/profile",
      size: 181.5,
      budget: 180,
      status: "over budget",
    });
    const table = formatCheck(result);
    expect(table).toMatch(/\/profile\s+181\.5 kB\s+180\.0 kB\s+over budget/);
    expect(table).toContain("bundle budget check failed");
  });

  it("fails a route that has no budget", () => {
    const result = checkBudgets([route("/", 150), route("/account/new", 120)], { "/": 160 });
    expect(result.ok).toBe(false);
    expect(result.rows).toContainEqual({
      route: "/account/new",
      size: 120,
      budget: null,
      status: "no budget",
    });
  });

  it("fails a budget whose route the build no longer has", () => {
    const result = checkBudgets([route("/", 150)], { "/": 160, "/gone": 100 });
    expect(result.ok).toBe(false);
    expect(result.rows).toContainEqual({
      route: "/gone",
      size: null,
      budget: 100,
      status: "no such route",
    });
    expect(formatCheck(result)).toMatch(/\/gone\s+–\s+100\.0 kB\s+no such route/);
  });
});

it("sets budgets to today's size plus the headroom, rounded up to a whole kB", () => {
  expect(budgetsFor([route("/", 150), route("/login", 100.2)], 0.1)).toEqual({
    "/": 165,
    "/login": 111,
  });
});

describe("measureRoutes", () => {
  let next: string;
  beforeEach(() => {
    next = mkdtempSync(join(tmpdir(), "nova-next-"));
  });
  afterEach(() => rmSync(next, { recursive: true, force: true }));

  function file(path: string, content: string) {
    mkdirSync(join(next, path, ".."), { recursive: true });
    writeFileSync(join(next, path), content);
  }

  it("adds the root chunks, the layout's and the page's own chunks", () => {
    const framework = "a".repeat(4000);
    const layout = "const layout = 1;".repeat(50);
    const page = "export const login = () => 'log in';".repeat(20);
    file("BUILD_ID", "build");
    file("build-manifest.json", JSON.stringify({ rootMainFiles: ["static/chunks/main.js"] }));
    file("static/chunks/main.js", framework);
    file("static/chunks/layout.js", layout);
    file("static/chunks/login.js", page);
    file("static/chunks/other.js", "never loaded by /login");
    const manifest = {
      "/login/page": {
        entryJSFiles: {
          "[project]/src/app/layout": ["static/chunks/layout.js"],
          "[project]/src/app/login/page": ["static/chunks/login.js"],
          "[project]/src/app/register/page": ["static/chunks/other.js"],
        },
      },
    };
    file(
      "server/app/login/page_client-reference-manifest.js",
      `globalThis.__RSC_MANIFEST = globalThis.__RSC_MANIFEST || {};
       globalThis.__RSC_MANIFEST["/login/page"] = ${JSON.stringify(manifest["/login/page"])};`,
    );

    const gzip = (text: string) => gzipSync(text, { level: 9 }).length;
    const { shared, routes } = measureRoutes(next);
    expect(shared).toEqual({ raw: framework.length, gzip: gzip(framework) });
    expect(routes).toEqual([
      {
        route: "/login",
        own: { raw: layout.length + page.length, gzip: gzip(layout) + gzip(page) },
        first: {
          raw: framework.length + layout.length + page.length,
          gzip: gzip(framework) + gzip(layout) + gzip(page),
        },
      },
    ]);
  });

  it("refuses a directory without a production build", () => {
    expect(() => measureRoutes(next)).toThrow(/no production build/);
  });
});
