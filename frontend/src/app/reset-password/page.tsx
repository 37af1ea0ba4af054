import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { Card } from "@/components/ui";
import { ResetPasswordForm } from "@/features/auth/ResetPasswordForm.client";

// The token is in the address: no page this one links to learns it through the Referer.
export const metadata: Metadata = { title: "Choose a new password", referrer: "no-referrer" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function ResetPasswordPage({ searchParams }: { searchParams: SearchParams }) {
  const { token } = await searchParams;
  return (
    <div className="page-narrow" style={{ margin: "0 auto" }}>
      <PageHeader
        title="Choose a new password"
        lead="Setting it logs your account out everywhere, on every device."
      />
      <Card>
        <ResetPasswordForm token={(Array.isArray(token) ? token[0] : token) || null} />
      </Card>
    </div>
  );
}
