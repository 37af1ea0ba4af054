import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { RequireSession } from "@/components/RequireSession.client";
import { Card } from "@/components/ui";
import { DeleteAccountForm } from "@/features/account/DeleteAccountForm.client";

export const metadata: Metadata = { title: "Delete account" };

export default function DeleteAccountPage() {
  return (
    <div className="page-narrow">
      <PageHeader title="Delete account" lead="This ends every session and removes your profile." />
      <RequireSession>
        <Card>
          <DeleteAccountForm />
        </Card>
      </RequireSession>
    </div>
  );
}
