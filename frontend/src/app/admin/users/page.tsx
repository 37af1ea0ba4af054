import type { Metadata } from "next";
import { Forbidden } from "@/components/Forbidden";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { AdminUsers } from "@/features/admin/AdminUsers.client";
import { usersPageSeed } from "@/lib/server/seeds";
import { loadSignedIn } from "@/lib/server/session";

export const metadata: Metadata = { title: "Users" };

export default async function AdminUsersPage() {
  const view = await loadSignedIn("/admin/users", usersPageSeed, { admin: true });
  if (view === "forbidden") return <Forbidden />;
  return (
    <ServerData view={view}>
      <RequireSession admin>
        <PageHeader title="Users" lead="Search, page through and restore user profiles." />
        <AdminUsers />
      </RequireSession>
    </ServerData>
  );
}
