// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MyProfileQuery } from "@/graphql/operations";

vi.mock("server-only", () => ({}));

const jar = new Map<string, string>();
const requestHeaders = new Headers();
vi.mock("next/headers", () => ({
  cookies: async () => ({
    get: (name: string) => (jar.has(name) ? { name, value: jar.get(name) } : undefined),
    has: (name: string) => jar.has(name),
  }),
  headers: async () => requestHeaders,
}));

class Redirected extends Error {
  constructor(readonly location: string) {
    super(`redirect to ${location}`);
  }
}
vi.mock("next/navigation", () => ({
  redirect: (location: string) => {
    throw new Redirected(location);
  },
  useRouter: () => ({}),
  usePathname: () => "/",
  useSearchParams: () => new URLSearchParams(),
}));

const { accessExpiresAt, Gateway, GatewayError, refreshSession } = await import("../gateway");
const { loadSignedIn, resumeUrl } = await import("../session");
const { GET: resume } = await import("@/app/api/auth/resume/route");
const { NextRequest } = await import("next/server");

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** A `fetch` answering the given responses in turn, recording what was sent. */
function script(...answers: (Response | Error)[]) {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : undefined,
      signal: init?.signal ?? undefined,
    });
    const answer = answers.shift();
    if (answer === undefined) throw new Error("no answer scripted");
    if (answer instanceof Error) throw answer;
    return answer;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, sent };
}

const json = (body: unknown, status = 200, headers: HeadersInit = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...Object.fromEntries(new Headers(headers)) },
  });

const ACCOUNT = {
  id: "u1",
  email: "ada@example.com",
  email_verified: true,
  roles: ["user"],
  status: "active",
  created_at: "2026-01-01T00:00:00Z",
  last_login_at: null,
};

function token(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "EdDSA" })}.${part(claims)}.signature`;
}

describe("Gateway", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("forwards the access cookie alone, with a time limit, to the configured address", async () => {
    const { fetch, sent } = script(json(ACCOUNT));
    const gateway = new Gateway("at-1", {
      baseUrl: "http://gateway.internal:8000/",
      forwardedFor: "203.0.113.9",
      fetch,
    });
    await expect(gateway.get("/api/auth/me")).resolves.toEqual(ACCOUNT);
    expect(sent[0]?.url).toBe("http://gateway.internal:8000/api/auth/me");
    expect(sent[0]?.headers.get("Cookie")).toBe("nova_at=at-1");
    expect(sent[0]?.headers.get("X-Forwarded-For")).toBe("203.0.113.9");
    expect(sent[0]?.headers.get("Authorization")).toBeNull();
    expect(sent[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it("uses NOVA_GATEWAY_URL and NOVA_GATEWAY_TIMEOUT_MS", async () => {
    vi.stubEnv("NOVA_GATEWAY_URL", "http://nova-gateway:8000");
    vi.stubEnv("NOVA_GATEWAY_TIMEOUT_MS", "1");
    const slow = vi.fn(
      (_input: string | URL | Request, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
    );
    const gateway = new Gateway("at-1", { fetch: slow as unknown as typeof fetch });
    const error = await gateway.get("/api/auth/me").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ kind: "unavailable", status: 0 });
    expect(slow.mock.calls[0]?.[0]).toBe("http://nova-gateway:8000/api/auth/me");
  });

  it.each([
    [401, "unauthenticated"],
    [403, "forbidden"],
    [503, "unavailable"],
  ])("reads a %i as %s", async (status, kind) => {
    const { fetch } = script(json({ code: "x", message: "no" }, status));
    await expect(new Gateway("at", { fetch }).get("/api/users/me")).rejects.toMatchObject({
      kind,
      status,
    });
  });

  it("posts GraphQL with __typename selected, as Apollo's cache stores it", async () => {
    const me = { __typename: "User", id: "u1", displayName: "Ada" };
    const { fetch, sent } = script(json({ data: { me } }));
    await expect(new Gateway("at", { fetch }).query(MyProfileQuery, {})).resolves.toEqual({ me });
    expect(sent[0]?.method).toBe("POST");
    expect(sent[0]?.headers.get("Content-Type")).toBe("application/json");
    const body = JSON.parse(sent[0]?.body ?? "{}") as { query: string; variables: unknown };
    expect(body.query).toContain("query MyProfile");
    expect(body.query).toContain("__typename");
    expect(body.query).toContain("fragment ProfileFields on User");
    expect(body.variables).toEqual({});
  });

  it("reads GraphQL's 200-with-errors as the REST status would say", async () => {
    const unauthenticated = json({
      data: null,
      errors: [{ message: "sign in", extensions: { code: "UNAUTHENTICATED" } }],
    });
    const forbidden = json({
      data: null,
      errors: [{ message: "admins only", extensions: { code: "FORBIDDEN" } }],
    });
    const { fetch } = script(unauthenticated, forbidden, json({ data: null }));
    const gateway = new Gateway("at", { fetch });
    await expect(gateway.query(MyProfileQuery, {})).rejects.toMatchObject({
      kind: "unauthenticated",
    });
    await expect(gateway.query(MyProfileQuery, {})).rejects.toMatchObject({ kind: "forbidden" });
    await expect(gateway.query(MyProfileQuery, {})).rejects.toMatchObject({
      kind: "unavailable",
    });
  });
});

describe("refreshSession", () => {
  it("makes the browser's cookie-mode refresh and answers the gateway's cookies", async () => {
    const answer = json({ expires_in: 900 }, 200);
    answer.headers.append("Set-Cookie", "nova_at=new; Path=/; HttpOnly");
    answer.headers.append("Set-Cookie", "nova_rt=next; Path=/api/auth; HttpOnly");
    const { fetch, sent } = script(answer);
    const result = await refreshSession("rt-1", { baseUrl: "http://gw", fetch });
    expect(result).toEqual({
      status: 200,
      cookies: ["nova_at=new; Path=/; HttpOnly", "nova_rt=next; Path=/api/auth; HttpOnly"],
    });
    expect(sent[0]?.url).toBe("http://gw/api/auth/refresh");
    expect(sent[0]?.method).toBe("POST");
    expect(sent[0]?.headers.get("Cookie")).toBe("nova_rt=rt-1");
    expect(sent[0]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(sent[0]?.headers.get("X-Nova-CSRF")).toBe("1");
    expect(sent[0]?.headers.get("Content-Type")).toBe("application/json");
  });

  it("answers null when the gateway cannot be reached", async () => {
    const { fetch } = script(new TypeError("fetch failed"));
    await expect(refreshSession("rt-1", { baseUrl: "http://gw", fetch })).resolves.toBeNull();
  });
});

describe("accessExpiresAt", () => {
  it("reads the exp claim in milliseconds, and nothing from a token that is not a JWT", () => {
    expect(accessExpiresAt(token({ exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
    expect(accessExpiresAt(token({ sub: "u1" }))).toBeNull();
    expect(accessExpiresAt("expired.access.token")).toBeNull();
    expect(accessExpiresAt("opaque")).toBeNull();
  });
});

describe("loadSignedIn", () => {
  const load = vi.fn(async () => "data");

  beforeEach(() => {
    jar.clear();
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("sends a browser without an access cookie through the refresh route", async () => {
    await expect(loadSignedIn("/profile?welcome=1", load)).rejects.toMatchObject({
      location: "/api/auth/resume?next=%2Fprofile%3Fwelcome%3D1",
    });
    requestHeaders.set("Sec-Fetch-Mode", "navigate");
    try {
      await expect(loadSignedIn("/profile", load)).rejects.toBeInstanceOf(Redirected);
    } finally {
      requestHeaders.delete("Sec-Fetch-Mode");
    }
    expect(load).not.toHaveBeenCalled();
  });

  it("leaves the page to the browser right after a refresh (no second one, no loop)", async () => {
    jar.set("nova_resumed", "1");
    await expect(loadSignedIn("/profile", load)).resolves.toBeNull();
  });

  it("leaves an ended session to the running app in its own navigations", async () => {
    requestHeaders.set("Sec-Fetch-Mode", "cors");
    try {
      await expect(loadSignedIn("/profile", load)).resolves.toBeNull();
      jar.set("nova_at", "refused");
      vi.stubGlobal("fetch", script(json({ code: "unauthenticated" }, 401)).fetch);
      await expect(loadSignedIn("/profile", load)).resolves.toBeNull();
    } finally {
      requestHeaders.delete("Sec-Fetch-Mode");
    }
  });

  it("loads with the account and the data source of the cookie", async () => {
    const access = token({ exp: 1_900_000_000 });
    jar.set("nova_at", access);
    jar.set("nova.dataSource", "rest");
    const { fetch, sent } = script(json(ACCOUNT));
    vi.stubGlobal("fetch", fetch);
    const view = await loadSignedIn("/profile", async ({ source, account, accountView }) => ({
      source,
      id: account.id,
      email: accountView.email,
    }));
    expect(view).toEqual({
      account: expect.objectContaining({ id: "u1", email: "ada@example.com", roles: ["user"] }),
      source: "rest",
      expiresAt: 1_900_000_000_000,
      data: { source: "rest", id: "u1", email: "ada@example.com" },
    });
    expect(sent[0]?.headers.get("Cookie")).toBe(`nova_at=${access}`);
  });

  it("refreshes on a refused access token, and answers forbidden or nothing otherwise", async () => {
    jar.set("nova_at", "refused");
    vi.stubGlobal("fetch", script(json({ code: "unauthenticated" }, 401)).fetch);
    await expect(loadSignedIn("/admin/users", load)).rejects.toMatchObject({
      location: resumeUrl("/admin/users"),
    });

    vi.stubGlobal("fetch", script(json(ACCOUNT)).fetch);
    await expect(loadSignedIn("/admin/users", load, { admin: true })).resolves.toBe("forbidden");
    expect(load).not.toHaveBeenCalled();

    vi.stubGlobal("fetch", script(json(ACCOUNT), json({ code: "forbidden" }, 403)).fetch);
    const forbidden = async ({ gateway }: { gateway: InstanceType<typeof Gateway> }) =>
      gateway.get("/api/users");
    await expect(loadSignedIn("/admin/users", forbidden)).resolves.toBe("forbidden");

    vi.stubGlobal("fetch", script(json({ code: "unavailable" }, 503)).fetch);
    await expect(loadSignedIn("/profile", load)).resolves.toBeNull();
  });

  it("never lets the next page leave the site", () => {
    expect(resumeUrl("//evil.example/profile")).toBe("/api/auth/resume?next=%2Fprofile");
  });
});

describe("the refresh route", () => {
  const request = (next: string, cookies: Record<string, string> = {}) =>
    new NextRequest(`http://127.0.0.1:3000/api/auth/resume?next=${encodeURIComponent(next)}`, {
      headers: {
        Cookie: Object.entries(cookies)
          .map(([name, value]) => `${name}=${value}`)
          .join("; "),
      },
    });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("sends a browser with no session to the login page, without a notice", async () => {
    const response = await resume(request("/profile"));
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/login?next=%2Fprofile");
  });

  it("comes back with the rotated cookies after a refresh", async () => {
    const answer = json({ expires_in: 900 });
    answer.headers.append("Set-Cookie", "nova_at=new; Path=/; HttpOnly");
    answer.headers.append("Set-Cookie", "nova_rt=next; Path=/api/auth; HttpOnly");
    const { fetch, sent } = script(answer);
    vi.stubGlobal("fetch", fetch);
    const response = await resume(request("/admin/users", { nova_rt: "rt-1", nova_at: "old" }));
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).toBe("/admin/users");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const cookies = response.headers.getSetCookie();
    expect(cookies).toContain("nova_at=new; Path=/; HttpOnly");
    expect(cookies).toContain("nova_rt=next; Path=/api/auth; HttpOnly");
    expect(cookies.some((cookie) => cookie.startsWith("nova_resumed=1;"))).toBe(true);
    expect(sent[0]?.headers.get("Cookie")).toBe("nova_rt=rt-1");
  });

  it("sends an ended session to the login page with the notice, clearing the cookies", async () => {
    const answer = json({ code: "invalid_refresh_token" }, 401);
    answer.headers.append("Set-Cookie", "nova_rt=; Path=/api/auth; Max-Age=0");
    vi.stubGlobal("fetch", script(answer).fetch);
    const response = await resume(request("https://evil.example/", { nova_rt: "rt-1" }));
    expect(response.headers.get("Location")).toBe("/login?next=%2Fprofile&reason=expired");
    expect(response.headers.getSetCookie()).toEqual(["nova_rt=; Path=/api/auth; Max-Age=0"]);
  });

  it("leaves the session to the browser when the gateway cannot refresh now", async () => {
    vi.stubGlobal("fetch", script(new TypeError("fetch failed")).fetch);
    const response = await resume(request("/profile", { nova_rt: "rt-1" }));
    expect(response.headers.get("Location")).toBe("/profile");
    expect(response.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^nova_resumed=1; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/),
    ]);
  });
});
