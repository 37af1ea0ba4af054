import { json, scriptFetch } from "../../../test/fetch";
import { ApiError } from "../errors";
import { apiFetch, onSessionEnded, refreshSession } from "../http";
import { authApi, usersApi } from "../rest";
import { EXPIRES_AT_KEY, readExpiresAt } from "../session-clock";

describe("apiFetch", () => {
  it("sends reads with cookies only and no CSRF header", async () => {
    const { requests } = scriptFetch(json({ id: "u1" }));
    await apiFetch("/api/users/me");
    expect(requests[0]?.credentials).toBe("same-origin");
    expect(requests[0]?.headers.get("X-Nova-CSRF")).toBeNull();
    expect(requests[0]?.headers.get("Accept")).toBe("application/json");
  });

  it("sends writes as JSON with the CSRF header", async () => {
    const { requests } = scriptFetch(json({ id: "u1" }));
    await usersApi.updateMe({ display_name: "Ada" });
    const request = requests[0];
    expect(request?.method).toBe("PATCH");
    expect(request?.headers.get("Content-Type")).toBe("application/json");
    expect(request?.headers.get("X-Nova-CSRF")).toBe("1");
    expect(JSON.parse(request?.body ?? "")).toEqual({ display_name: "Ada" });
  });

  it("asks for a cookie session on login and keeps no token", async () => {
    const { requests } = scriptFetch(
      json({ expires_in: 900, account: { id: "u1", email: "a@example.com", roles: [] } }),
    );
    const response = await authApi.login({ email: "a@example.com", password: "pw" });
    expect(requests[0]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(requests[0]?.headers.get("X-Nova-CSRF")).toBe("1");
    expect(response).toMatchObject({ kind: "session", session: { expires_in: 900 } });
    expect(Object.values(window.localStorage).join(" ")).not.toMatch(/token/i);
  });

  it("refreshes once on 401 and retries the call", async () => {
    const { requests } = scriptFetch(
      json({ code: "unauthenticated", message: "expired" }, 401),
      json({ expires_in: 600, account: { id: "u1" } }),
      json({ id: "u1", display_name: "Ada" }),
    );
    const profile = await usersApi.me();
    expect(profile.display_name).toBe("Ada");
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /api/users/me",
      "POST /api/auth/refresh",
      "GET /api/users/me",
    ]);
    expect(requests[1]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(requests[1]?.headers.get("X-Nova-CSRF")).toBe("1");
    expect(requests[1]?.body).toBeUndefined();
    expect(readExpiresAt()).toBeGreaterThan(Date.now() + 500_000);
  });

  it("sends the user to the login page, with the page to come back to, when refresh fails", async () => {
    window.history.replaceState(null, "", "/admin/users?search=ada");
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 1000));
    const ended = vi.fn();
    const restore = onSessionEnded(ended);
    scriptFetch(
      json({ code: "unauthenticated", message: "expired" }, 401),
      json({ code: "refresh_token_expired", message: "sign in again" }, 401),
    );
    await expect(usersApi.list()).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalledWith("/admin/users?search=ada");
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBeNull();
    restore();
  });

  it("does not redirect for a probe", async () => {
    const ended = vi.fn();
    const restore = onSessionEnded(ended);
    scriptFetch(json({ code: "unauthenticated" }, 401), json({ code: "unauthenticated" }, 401));
    await expect(authApi.me({ probe: true })).rejects.toBeInstanceOf(ApiError);
    expect(ended).not.toHaveBeenCalled();
    restore();
  });

  it("never refreshes for a refused login", async () => {
    const { requests } = scriptFetch(
      json({ code: "invalid_credentials", message: "wrong e-mail or password" }, 401),
    );
    await expect(authApi.login({ email: "a@example.com", password: "x" })).rejects.toMatchObject({
      code: "invalid_credentials",
      message: "wrong e-mail or password",
    });
    expect(requests).toHaveLength(1);
  });

  it("shares one refresh between concurrent calls", async () => {
    const { requests } = scriptFetch(json({ expires_in: 600, account: { id: "u1" } }));
    const [a, b] = await Promise.all([refreshSession(), refreshSession()]);
    expect(a && b).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it("treats a token another tab just rotated (409) as refreshed", async () => {
    scriptFetch(json({ code: "refresh_token_rotated", message: "rotated" }, 409));
    await expect(refreshSession()).resolves.toBe(true);
  });

  it("skips the refresh when another tab refreshed while this one waited", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 1000));
    const lock = {
      request: async <T>(_name: string, callback: () => Promise<T>) => {
        // The other tab held the lock and refreshed meanwhile.
        window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 600_000));
        return callback();
      },
    };
    vi.stubGlobal("navigator", { ...navigator, locks: lock });
    const { requests } = scriptFetch();
    await expect(refreshSession()).resolves.toBe(true);
    expect(requests).toHaveLength(0);
  });
});

describe("REST client errors", () => {
  it("turns a 422 into field errors keyed like the form", async () => {
    scriptFetch(
      json(
        {
          code: "validation_error",
          message: "avatar_url: must be an https:// URL",
          details: [{ field: "avatar_url", message: "must be an https:// URL" }],
        },
        422,
      ),
    );
    const error = await usersApi.updateMe({ avatar_url: "http://x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).fieldErrors).toEqual({ avatarUrl: "must be an https:// URL" });
  });

  it("answers a friendly message for a gateway error page", async () => {
    scriptFetch(new Response("<html>bad gateway</html>", { status: 502 }));
    await expect(usersApi.me()).rejects.toMatchObject({
      status: 502,
      message: expect.stringMatching(/temporarily unavailable|went wrong/),
    });
  });

  it("reports an unreachable server as a network error", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    await expect(usersApi.me()).rejects.toMatchObject({ code: "network_error" });
  });
});
