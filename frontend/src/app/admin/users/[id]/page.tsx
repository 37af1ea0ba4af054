import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { Forbidden } from "@/components/Forbidden";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { AdminUserDetailView } from "@/features/admin/AdminUserDetail.client";
import { adminUserSeed } from "@/lib/server/seeds";
import { loadSignedIn } from "@/lib/server/session";

export const metadata: Metadata = { title: "User" };

const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function AdminUserPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!USER_ID.test(id)) notFound();
  const view = await loadSignedIn(`/admin/users/${id}`, adminUserSeed(id), { admin: true });
  if (view === "forbidden") return <Forbidden />;
  return (
    <ServerData view={view}>
      <RequireSession admin>
        <PageHeader title="User" lead="Profile, account, sessions and security activity." />
        <AdminUserDetailView id={id} />
      </RequireSession>
    </ServerData>
  );
}
