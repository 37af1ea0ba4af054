import { Suspense } from "react";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { loadSignedIn } from "@/lib/server/session";
import { SecuritySettings } from "./SecuritySettings.client";
import { securitySeed } from "./security-seed";

/**
 * The security page, its first view rendered on the server (ADR 0021): the second factor, the
 * linked identities and the activity log's first page come with the HTML, over the data source
 * of the `nova.dataSource` cookie. `linked` is the provider just linked (the link flow's way
 * back), kept through a refresh of the session.
 */
export async function SecurityPage({ linked }: { linked: string | null }) {
  const here = linked
    ? `/account/security?${new URLSearchParams({ linked })}`
    : "/account/security";
  const view = await loadSignedIn(here, securitySeed);
  return (
    <>
      <PageHeader
        title="Security"
        lead="Two-factor sign-in, the ways you sign in, your sessions and recent activity."
      />
      <ServerData view={view === "forbidden" ? null : view}>
        <RequireSession>
          <Suspense>
            <SecuritySettings />
          </Suspense>
        </RequireSession>
      </ServerData>
    </>
  );
}
