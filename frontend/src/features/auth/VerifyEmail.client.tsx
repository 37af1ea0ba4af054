"use client";

import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { Alert, Button, ButtonLink, Spinner } from "@/components/ui";
import { ResendVerification } from "@/features/profile/EmailVerification.client";
import { isInvalidLink, useVerifyEmail } from "@/lib/account-mail";
import { errorMessage } from "@/lib/errors";
import { useHydrated } from "@/lib/hydrated";
import { useSession } from "@/lib/session";

type Outcome =
  | { kind: "verifying" }
  | { kind: "verified" }
  | { kind: "invalid" }
  | { kind: "failed"; message: string };

/**
 * Each token is sent once per page load, whatever React does: a Strict Mode double effect, a
 * re-render or a remount gets the same answer. A token is single-use, so a second request could
 * only say "invalid" about a link that just worked; for the same reason a reload of the page
 * remembers (for this tab) the token that worked. A failure that did not spend the token (no
 * connection, the service unavailable) is forgotten, so "Try again" asks again.
 */
const attempts = new Map<string, Promise<void>>();
const VERIFIED_KEY = "nova.verifiedLink";

function remembered(token: string): boolean {
  try {
    return window.sessionStorage.getItem(VERIFIED_KEY) === token;
  } catch {
    return false;
  }
}

function remember(token: string): void {
  try {
    window.sessionStorage.setItem(VERIFIED_KEY, token);
  } catch {
    // Storage refused: a reload would ask again and be told the link was used.
  }
}

function verifyOnce(token: string, verify: (token: string) => Promise<void>): Promise<void> {
  let attempt = attempts.get(token);
  if (!attempt) {
    attempt = remembered(token) ? Promise.resolve() : verify(token).then(() => remember(token));
    attempts.set(token, attempt);
    attempt.catch((error: unknown) => {
      if (!isInvalidLink(error)) attempts.delete(token);
    });
  }
  return attempt;
}

/** Spends the link's token on arrival and says what came of it; signed in or not. */
export function VerifyEmail({ token }: { token: string | null }) {
  const verify = useVerifyEmail();
  const session = useSession();
  // The data-source choice is the browser's: known once React has taken the page over.
  const hydrated = useHydrated();
  const [outcome, setOutcome] = useState<Outcome>(
    token ? { kind: "verifying" } : { kind: "invalid" },
  );
  const latest = useRef({ verify, reload: session.reload });
  latest.current = { verify, reload: session.reload };
  const resultRef = useRef<HTMLDivElement>(null);

  /** Verify, and show the outcome while `isCurrent()` (the effect that asked is still on). */
  const run = useCallback((token: string, isCurrent: () => boolean) => {
    setOutcome({ kind: "verifying" });
    verifyOnce(token, latest.current.verify).then(
      () => {
        if (!isCurrent()) return;
        setOutcome({ kind: "verified" });
        // A signed-in account's `emailVerified` changed: the header and pages read it anew.
        void latest.current.reload();
      },
      (error: unknown) => {
        if (!isCurrent()) return;
        setOutcome(
          isInvalidLink(error)
            ? { kind: "invalid" }
            : { kind: "failed", message: errorMessage(error) },
        );
      },
    );
  }, []);

  useEffect(() => {
    if (!token || !hydrated) return;
    let current = true;
    run(token, () => current);
    return () => {
      current = false;
    };
  }, [token, hydrated, run]);

  useEffect(() => {
    if (outcome.kind !== "verifying") resultRef.current?.focus();
  }, [outcome.kind]);

  const signedIn = session.status === "authenticated";
  return (
    <div ref={resultRef} tabIndex={-1} className="stack">
      {outcome.kind === "verifying" ? <Spinner label="Verifying your e-mail address…" /> : null}
      {outcome.kind === "verified" ? (
        <>
          <Alert tone="success" title="Your e-mail address is verified">
            Thank you. You can use it to get back into your account if you forget your password.
          </Alert>
          <div>
            {signedIn ? (
              <ButtonLink href="/profile">Go to your profile</ButtonLink>
            ) : (
              <ButtonLink href="/login">Log in</ButtonLink>
            )}
          </div>
        </>
      ) : null}
      {outcome.kind === "failed" ? (
        <Alert
          tone="error"
          title="Your address could not be verified yet"
          action={
            <Button
              variant="secondary"
              size="small"
              onClick={() => token && run(token, () => true)}
            >
              Try again
            </Button>
          }
        >
          {outcome.message}
        </Alert>
      ) : null}
      {outcome.kind === "invalid" ? <InvalidLink missing={!token} /> : null}
    </div>
  );
}

function InvalidLink({ missing }: { missing: boolean }) {
  const session = useSession();
  const account = session.status === "authenticated" ? session.account : null;
  if (account?.emailVerified) {
    return (
      <>
        <Alert tone="success" title="Your e-mail address is already verified">
          This link is no longer needed.
        </Alert>
        <div>
          <ButtonLink href="/profile">Go to your profile</ButtonLink>
        </div>
      </>
    );
  }
  return (
    <>
      <Alert tone="error" title="This verification link does not work">
        {missing
          ? "The link is incomplete. Open it from the e-mail again, or copy the whole address."
          : "It was already used, has expired, or a newer e-mail replaced it."}
      </Alert>
      {account ? (
        <ResendVerification email={account.email} onVerified={() => void session.reload()} />
      ) : session.status === "loading" ? null : (
        <p style={{ margin: 0 }}>
          <Link href="/login?next=%2Fprofile">Log in</Link> to ask for a new verification e-mail
          from your profile. A password reset verifies the address too.
        </p>
      )}
    </>
  );
}
