"use client";

/**
 * Who is signed in, for the whole app. The session itself is the gateway's httpOnly cookies;
 * this provider only knows the account (from `GET /api/auth/me`) and when the access token
 * expires, refreshes it silently a little before, and follows the other tabs.
 */

import { useApolloClient } from "@apollo/client/react";
import { useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from "react";
import { type Account, accountFromRest, isAdmin } from "./account";
import { ApiError } from "./errors";
import { refreshSession } from "./http";
import { authApi, type SessionResponse } from "./rest";
import {
  clearExpiresAt,
  EXPIRES_AT_KEY,
  mayHaveSession,
  readExpiresAt,
  recordSession,
  refreshDelay,
  takeSignInPending,
} from "./session-clock";

export type SessionStatus = "loading" | "authenticated" | "anonymous" | "unavailable";

export interface Session {
  status: SessionStatus;
  account: Account | null;
  isAdmin: boolean;
  /** Why the session ended in this page's lifetime (for the login page's notice). */
  endReason: "expired" | "signed-out" | "password-changed" | null;
  /** After register/login/change-password: remember the account and the token lifetime. */
  signedIn: (response: SessionResponse) => void;
  /** End this session (`logout`) or every session of the account (`logout-all`). */
  signOut: (scope?: "this" | "all") => Promise<void>;
  /** Ask the gateway again who is signed in. */
  reload: () => Promise<void>;
  /** The session ended elsewhere (a password change ends every session): forget it here. */
  ended: (reason: Exclude<Session["endReason"], null>) => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession must be used inside <SessionProvider>");
  return session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useApolloClient();
  const queryClient = useQueryClient();
  /** Drop every cached answer of the ended session: Apollo's and TanStack Query's. */
  const forget = useCallback(async () => {
    queryClient.clear();
    await client.clearStore();
  }, [client, queryClient]);
  const [status, setStatus] = useState<SessionStatus>("loading");
  const [account, setAccount] = useState<Account | null>(null);
  const [expiresAt, setExpiresAt] = useState<number | null>(null);
  const [endReason, setEndReason] = useState<Session["endReason"]>(null);

  const reload = useCallback(async () => {
    const signedOut = () => {
      clearExpiresAt();
      setAccount(null);
      setStatus((previous) => {
        if (previous === "authenticated") setEndReason((reason) => reason ?? "expired");
        return "anonymous";
      });
    };
    // No session was started in this browser, or it is over: asking could only answer 401. A
    // provider sign-in lands here with cookies nothing recorded (except on the login page,
    // where its second step, when the account has one, records the session as a password's).
    const fromProvider =
      !mayHaveSession() && window.location.pathname !== "/login" && takeSignInPending();
    if (!mayHaveSession() && !fromProvider) return signedOut();
    try {
      const expiresAt = readExpiresAt();
      // An access token known to have expired is refreshed first rather than refused first.
      if (expiresAt !== null && expiresAt <= Date.now() && !(await refreshSession())) {
        return signedOut();
      }
      const view = await authApi.me({ probe: true });
      // The session's lifetimes are learnt the way a refresh learns them.
      if (fromProvider) await refreshSession();
      setAccount(accountFromRest(view));
      setStatus("authenticated");
      setExpiresAt(readExpiresAt());
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        signedOut();
      } else {
        setAccount(null);
        setStatus("unavailable");
      }
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  // Other tabs: a refresh moves the expiry; a sign-out removes it.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key !== EXPIRES_AT_KEY && event.key !== null) return;
      if (event.newValue === null) {
        void forget();
        void reload();
      } else {
        setExpiresAt(readExpiresAt());
      }
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [forget, reload]);

  // Silent refresh a little before the access token expires.
  useEffect(() => {
    if (status !== "authenticated" || expiresAt === null) return;
    const timer = window.setTimeout(async () => {
      if (await refreshSession()) {
        setExpiresAt(readExpiresAt());
      } else {
        await forget();
        setAccount(null);
        setEndReason("expired");
        setStatus("anonymous");
      }
    }, refreshDelay(expiresAt));
    return () => window.clearTimeout(timer);
  }, [status, expiresAt, forget]);

  const signedIn = useCallback((response: SessionResponse) => {
    takeSignInPending(); // a provider's second step ends here, like a password's
    setExpiresAt(recordSession(response.expires_in, response.refresh_expires_in));
    setAccount(accountFromRest(response.account));
    setEndReason(null);
    setStatus("authenticated");
  }, []);

  const signOut = useCallback(
    async (scope: "this" | "all" = "this") => {
      try {
        if (scope === "all") await authApi.logoutAll();
        else await authApi.logout();
      } finally {
        clearExpiresAt();
        await forget();
        setAccount(null);
        setEndReason("signed-out");
        setStatus("anonymous");
      }
    },
    [forget],
  );

  const ended = useCallback(
    async (reason: Exclude<Session["endReason"], null>) => {
      clearExpiresAt();
      await forget();
      setAccount(null);
      setEndReason(reason);
      setStatus("anonymous");
    },
    [forget],
  );

  const value = useMemo<Session>(
    () => ({
      status,
      account,
      isAdmin: isAdmin(account?.roles),
      endReason,
      signedIn,
      signOut,
      reload,
      ended,
    }),
    [status, account, endReason, signedIn, signOut, reload, ended],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
