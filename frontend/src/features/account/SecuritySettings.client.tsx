"use client";

import { useSearchParams } from "next/navigation";
import { LoadError } from "@/components/LoadError";
import { Spinner } from "@/components/ui";
import { useSecurityOverview } from "@/lib/security";
import { useServerAccount } from "@/lib/server-view";
import { useSession } from "@/lib/session";
import { ActivityLog } from "./ActivityLog.client";
import { IdentitiesCard } from "./IdentitiesCard.client";
import { SessionsPanel } from "./SessionsPanel.client";
import { TwoFactorCard } from "./TwoFactorCard.client";

/** The security page: the second factor, sign-in methods, sessions and the activity log. */
export function SecuritySettings() {
  const session = useSession();
  // On a server-rendered page the account it was rendered for stands in until the session is known.
  const rendered = useServerAccount();
  const account = session.account ?? rendered;
  const linked = useSearchParams().get("linked");
  const { data, error, reload } = useSecurityOverview();
  return (
    <div className="stack">
      {error ? (
        <LoadError
          title="The security settings could not be loaded"
          error={error}
          onRetry={reload}
        />
      ) : !data ? (
        <Spinner label="Loading the security settings…" />
      ) : (
        <div className="grid-2">
          <TwoFactorCard overview={data} email={account?.email ?? null} />
          <IdentitiesCard overview={data} linked={linked} />
        </div>
      )}
      <section className="stack" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading" style={{ margin: 0 }}>
          Sessions
        </h2>
        <SessionsPanel />
      </section>
      <ActivityLog />
    </div>
  );
}
