import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { AdminUsers } from "@/features/admin/AdminUsers.client";
import { filtersFromQuery, filtersToQuery } from "@/features/admin/filters";
import { usersPageSeed } from "@/lib/server/seeds";
import { loadSignedIn } from "@/lib/server/session";

export const metadata: Metadata = { title: "Users" };

export default async function AdminUsersPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(await searchParams)) {
    if (typeof value === "string") query.set(name, value);
  }
  const filters = filtersFromQuery(query);
  const here = `/admin/users${filtersToQuery(filters)}`;
  const view = await loadSignedIn(here, usersPageSeed(filters), { admin: true });
  if (view === "forbidden") return <Forbidden />;
  return (
    <ServerData view={view}>
      <RequireSession admin>
        <PageHeader
          title="Users"
          lead="Find users by name, e-mail, role or state; open one to act on the account."
        />
        <AdminUsers />
      </RequireSession>
    </ServerData>
  );
}
