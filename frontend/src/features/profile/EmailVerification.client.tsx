"use client";

import { useRef, useState } from "react";
import { Button, Card } from "@/components/ui";
import { retryWhen, useResendVerification } from "@/lib/account-mail";
import { ApiError, errorMessage } from "@/lib/errors";

/** "Verified" or "Not verified", next to the address it is about. */
export function VerifiedBadge({ verified }: { verified: boolean }) {
  return (
    <span
      className={`badge ${verified ? "badge-success" : "badge-warning"}`}
      data-testid="email-verified"
    >
      {verified ? "Verified" : "Not verified"}
    </span>
  );
}

type Sent = { tone: "success" | "error"; text: string } | null;

/**
 * "Send the verification e-mail again", with what came of it in a live region: sent, asked too
 * often (the service's limit, with when to try again), or already verified (`onVerified`).
 */
export function ResendVerification({
  email,
  onVerified,
}: {
  email: string | null | undefined;
  onVerified: () => void;
}) {
  const resend = useResendVerification();
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<Sent>(null);
  const onVerifiedRef = useRef(onVerified);
  onVerifiedRef.current = onVerified;

  const send = async () => {
    setBusy(true);
    setSent(null);
    try {
      await resend();
      setSent({
        tone: "success",
        text: `We sent a new link to ${email ?? "your address"}. Links in earlier e-mails no longer work.`,
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === "email_already_verified") {
        onVerifiedRef.current();
      } else if (error instanceof ApiError && error.code === "rate_limited") {
        setSent({
          tone: "error",
          text: `You asked for several e-mails in a short time. Check your inbox and spam folder for the latest one, or try again ${retryWhen(error)}.`,
        });
      } else {
        setSent({ tone: "error", text: errorMessage(error) });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="stack">
      <div>
        <Button variant="secondary" busy={busy} onClick={() => void send()}>
          Send the verification e-mail again
        </Button>
      </div>
      <p role="status" aria-live="polite" className="resend-status" data-tone={sent?.tone}>
        {sent?.tone === "success" ? sent.text : null}
      </p>
      <p role="alert" className="resend-status" data-tone="error">
        {sent?.tone === "error" ? sent.text : null}
      </p>
    </div>
  );
}

/** The profile's notice for an address not verified yet, with the way to a new mail. */
export function VerificationNotice({
  email,
  onVerified,
}: {
  email: string | null;
  onVerified: () => void;
}) {
  return (
    <Card title="Verify your e-mail address" className="notice-warning">
      <div className="stack">
        <p style={{ margin: 0 }}>
          We sent a link to {email ?? "your address"} when you signed up. Open it to confirm the
          address is yours: it is how you get your account back if you forget your password.
        </p>
        <ResendVerification email={email} onVerified={onVerified} />
      </div>
    </Card>
  );
}
