import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { ProfileScreen } from "./ProfileScreen.client";

export const metadata: Metadata = { title: "Your profile" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function ProfilePage({ searchParams }: { searchParams: SearchParams }) {
  const { welcome } = await searchParams;
  return (
    <>
      <PageHeader title="Your profile" lead="What other Nova users see about you." />
      <RequireSession>
        <ProfileScreen welcome={welcome === "1"} />
      </RequireSession>
    </>
  );
}
