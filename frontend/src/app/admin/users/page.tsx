import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { AdminUsers } from "./AdminUsers.client";

export const metadata: Metadata = { title: "Users" };

export default function AdminUsersPage() {
  return (
    <RequireSession admin>
      <PageHeader title="Users" lead="Search, page through and restore user profiles." />
      <AdminUsers />
    </RequireSession>
  );
}
