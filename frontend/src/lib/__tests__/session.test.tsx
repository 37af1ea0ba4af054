import { ApolloProvider } from "@apollo/client/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor } from "@testing-library/react";
import { json, scriptFetch } from "../../../test/fetch";
import { account } from "../../../test/render";
import { createApolloClient } from "../apollo";
import { createQueryClient } from "../query";
import { SessionProvider, useSession } from "../session";
import {
  EXPIRES_AT_KEY,
  markSignInPending,
  readExpiresAt,
  recordExpiresAt,
  recordExpiresIn,
  SESSION_UNTIL_KEY,
  SIGN_IN_PENDING_KEY,
} from "../session-clock";

function Status() {
  const session = useSession();
  return (
    <p>
      {session.status}
      {session.endReason ? ` (${session.endReason})` : ""}
    </p>
  );
}

function renderSession() {
  return render(
    <ApolloProvider client={createApolloClient()}>
      <QueryClientProvider client={createQueryClient()}>
        <SessionProvider>
          <Status />
        </SessionProvider>
      </QueryClientProvider>
    </ApolloProvider>,
  );
}

describe("the session clock", () => {
  afterEach(() => window.localStorage.clear());

  it("stores the server's expiry exactly, however late it is recorded", () => {
    expect(recordExpiresAt(1_796_637_169_808, 1_796_637_000_001)).toBe(1_796_637_169_808);
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBe("1796637169808");
    expect(readExpiresAt()).toBe(1_796_637_169_808);
  });

  it("reads an expiry already past as now, never as a time before it", () => {
    expect(recordExpiresAt(1_000, 5_000)).toBe(5_000);
    expect(recordExpiresIn(-30, 5_000)).toBe(5_000);
    expect(recordExpiresIn(900, 5_000)).toBe(905_000);
    expect(readExpiresAt()).toBe(905_000);
  });
});

describe("SessionProvider", () => {
  afterEach(() => vi.useRealTimers());

  it("refreshes silently before the access token expires", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 600_000));
    const { requests } = scriptFetch(
      json(account()),
      json({ expires_in: 900, account: account() }),
    );
    renderSession();
    await screen.findByText("authenticated");
    expect(requests).toHaveLength(1);
    // A minute before expiry the refresh goes out, once.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(538_000);
    });
    expect(requests).toHaveLength(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_000);
    });
    await waitFor(() => expect(requests).toHaveLength(2));
    expect(requests[1]?.url).toBe("/api/auth/refresh");
    expect(Number(window.localStorage.getItem(EXPIRES_AT_KEY))).toBeGreaterThan(
      Date.now() + 800_000,
    );
    expect(screen.getByText("authenticated")).toBeInTheDocument();
  });

  it("ends the session when the silent refresh is refused", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 10_000));
    scriptFetch(json(account()), json({ code: "session_expired", message: "no session" }, 401));
    renderSession();
    await screen.findByText("authenticated");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    expect(await screen.findByText("anonymous (expired)")).toBeInTheDocument();
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBeNull();
  });

  it("follows a log-out in another tab", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 600_000));
    const { requests } = scriptFetch(json(account()));
    renderSession();
    await screen.findByText("authenticated");
    act(() => {
      window.localStorage.removeItem(EXPIRES_AT_KEY);
      window.dispatchEvent(new StorageEvent("storage", { key: EXPIRES_AT_KEY, newValue: null }));
    });
    expect(await screen.findByText("anonymous (expired)")).toBeInTheDocument();
    // The other tab ended the session: nothing is left to ask the gateway about.
    expect(requests).toHaveLength(1);
  });

  it("asks nothing for a visitor who never signed in in this browser", async () => {
    const { requests } = scriptFetch();
    renderSession();
    expect(await screen.findByText("anonymous")).toBeInTheDocument();
    expect(requests).toHaveLength(0);
  });

  it("asks nothing once the session has run out, and forgets it", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() - 600_000));
    window.localStorage.setItem(SESSION_UNTIL_KEY, String(Date.now() - 1_000));
    const { requests } = scriptFetch();
    renderSession();
    expect(await screen.findByText("anonymous")).toBeInTheDocument();
    expect(requests).toHaveLength(0);
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBeNull();
    expect(window.localStorage.getItem(SESSION_UNTIL_KEY)).toBeNull();
  });

  it("refreshes an expired access token before asking who is signed in", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() - 1_000));
    window.localStorage.setItem(SESSION_UNTIL_KEY, String(Date.now() + 86_400_000));
    const { requests } = scriptFetch(
      json({ expires_in: 900, refresh_expires_in: 86_400, account: account() }),
      json(account()),
    );
    renderSession();
    expect(await screen.findByText("authenticated")).toBeInTheDocument();
    expect(requests.map((request) => request.url)).toEqual(["/api/auth/refresh", "/api/auth/me"]);
  });

  it("does not ask who is signed in when the refresh of an expired token is refused", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() - 1_000));
    const { requests } = scriptFetch(json({ code: "session_expired" }, 401));
    renderSession();
    expect(await screen.findByText("anonymous")).toBeInTheDocument();
    expect(requests.map((request) => request.url)).toEqual(["/api/auth/refresh"]);
  });

  it("tells an unreachable service from a signed-out visitor", async () => {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 600_000));
    scriptFetch(json({ code: "bad_gateway", message: "upstream down" }, 502));
    renderSession();
    expect(await screen.findByText("unavailable")).toBeInTheDocument();
  });
});

describe("SessionProvider after a sign-in at an identity provider", () => {
  afterEach(() => window.sessionStorage.clear());

  it("asks who is signed in once and learns the session's lifetimes", async () => {
    markSignInPending();
    const { requests } = scriptFetch(
      json(account()),
      json({ expires_in: 900, refresh_expires_in: 86_400, account: account() }),
    );
    renderSession();
    await screen.findByText("authenticated");
    expect(requests.map((request) => request.url)).toEqual(["/api/auth/me", "/api/auth/refresh"]);
    expect(Number(window.localStorage.getItem(SESSION_UNTIL_KEY))).toBeGreaterThan(
      Date.now() + 80_000_000,
    );
    expect(window.sessionStorage.getItem(SIGN_IN_PENDING_KEY)).toBeNull();
  });

  it("asks nothing on the login page, where a second step records the session itself", async () => {
    markSignInPending();
    window.history.replaceState(null, "", "/login?step=two-factor");
    const { requests } = scriptFetch();
    try {
      renderSession();
      await screen.findByText("anonymous");
      expect(requests).toHaveLength(0);
    } finally {
      window.history.replaceState(null, "", "/");
    }
  });
});
