"use client";

import { useState } from "react";
import { Alert, Button, Card } from "@/components/ui";
import { ApiError, errorMessage } from "@/lib/errors";
import { type SecurityOverview, useSecurityActions } from "@/lib/security";
import { formatDateTime } from "./format";

/** Why an unlink was refused, in the user's words. */
function unlinkError(error: unknown): string {
  if (error instanceof ApiError && error.code === "last_sign_in_method") {
    return "This is the only way to sign in to your account. Set a password or link another provider before unlinking it.";
  }
  return errorMessage(error);
}

/** The providers that sign in to this account: link one (through the provider), unlink one. */
export function IdentitiesCard({
  overview,
  linked,
}: {
  overview: SecurityOverview;
  /** The provider just linked (the page it came back to says so). */
  linked: string | null;
}) {
  const actions = useSecurityActions();
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const label = (name: string) =>
    overview.providers.find((provider) => provider.name === name)?.displayName ?? name;
  const linkedNames = new Set(overview.identities.map((identity) => identity.provider));
  const linkable = overview.providers.filter((provider) => !linkedNames.has(provider.name));
  if (overview.providers.length === 0 && overview.identities.length === 0) return null;

  async function run(key: string, action: () => Promise<void>, done?: string) {
    setBusy(key);
    setNotice(null);
    try {
      await action();
      if (done) setNotice({ tone: "success", text: done });
    } catch (error) {
      setNotice({ tone: "error", text: unlinkError(error) });
    } finally {
      setBusy(null);
    }
  }

  return (
    <Card title="Sign-in methods">
      <div aria-live="polite">
        {notice ? (
          <Alert tone={notice.tone}>{notice.text}</Alert>
        ) : linked && linkedNames.has(linked) ? (
          <Alert tone="success">{label(linked)} is linked: you can sign in with it.</Alert>
        ) : null}
      </div>
      <p>
        {overview.hasPassword ? "Your password, and:" : "You have no password; you sign in with:"}
      </p>
      {overview.identities.length === 0 ? (
        <p className="muted">No provider is linked.</p>
      ) : (
        <ul className="stack" style={{ paddingLeft: "1.25rem" }}>
          {overview.identities.map((identity) => (
            <li key={identity.id}>
              <div className="row">
                <span>
                  <strong>{label(identity.provider)}</strong>
                  {identity.email ? ` (${identity.email})` : null} · linked{" "}
                  {formatDateTime(identity.createdAt)}
                  {identity.lastUsedAt
                    ? ` · last used ${formatDateTime(identity.lastUsedAt)}`
                    : null}
                </span>
                <Button
                  size="small"
                  variant="secondary"
                  busy={busy === identity.id}
                  disabled={busy !== null}
                  onClick={() =>
                    run(
                      identity.id,
                      () => actions.unlink(identity.id),
                      `${label(identity.provider)} is unlinked.`,
                    )
                  }
                  aria-label={`Unlink ${label(identity.provider)}`}
                >
                  Unlink
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {linkable.length > 0 ? (
        <div className="row">
          {linkable.map((provider) => (
            <Button
              key={provider.name}
              variant="secondary"
              busy={busy === provider.name}
              disabled={busy !== null}
              onClick={() =>
                run(provider.name, () =>
                  actions.link(
                    provider.name,
                    `/account/security?linked=${encodeURIComponent(provider.name)}`,
                  ),
                )
              }
            >
              Link {provider.displayName}
            </Button>
          ))}
        </div>
      ) : null}
    </Card>
  );
}
