import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { SessionsPanel } from "./SessionsPanel.client";

export const metadata: Metadata = { title: "Sessions" };

export default function SessionsPage() {
  return (
    <>
      <PageHeader title="Sessions" lead="Where your account is signed in." />
      <RequireSession>
        <SessionsPanel />
      </RequireSession>
    </>
  );
}
