import type { Metadata } from "next";
import { Suspense } from "react";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { SecuritySettings } from "./SecuritySettings.client";

export const metadata: Metadata = { title: "Security" };

export default function SecurityPage() {
  return (
    <>
      <PageHeader
        title="Security"
        lead="Two-factor sign-in, the ways you sign in, your sessions and recent activity."
      />
      <RequireSession>
        <Suspense>
          <SecuritySettings />
        </Suspense>
      </RequireSession>
    </>
  );
}
