import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { Card } from "@/components/ui";
import { ChangePasswordForm } from "@/features/account/ChangePasswordForm.client";

export const metadata: Metadata = { title: "Change password" };

export default function ChangePasswordPage() {
  return (
    <div className="page-narrow">
      <PageHeader
        title="Change password"
        lead="Changing it logs out every other device; this one stays signed in."
      />
      <RequireSession>
        <Card>
          <ChangePasswordForm />
        </Card>
      </RequireSession>
    </div>
  );
}
