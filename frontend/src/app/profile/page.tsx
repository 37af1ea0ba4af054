import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { ProfileScreen } from "@/features/profile/ProfileScreen.client";
import { myProfileSeed } from "@/lib/server/seeds";
import { loadSignedIn } from "@/lib/server/session";

export const metadata: Metadata = { title: "Your profile" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function ProfilePage({ searchParams }: { searchParams: SearchParams }) {
  const welcome = (await searchParams).welcome === "1";
  const view = await loadSignedIn(welcome ? "/profile?welcome=1" : "/profile", myProfileSeed);
  return (
    <>
      <PageHeader title="Your profile" lead="What other Nova users see about you." />
      <ServerData view={view === "forbidden" ? null : view}>
        <RequireSession>
          <ProfileScreen welcome={welcome} />
        </RequireSession>
      </ServerData>
    </>
  );
}
