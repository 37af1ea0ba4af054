import type { Metadata } from "next";
import { PageHeader } from "@/components/PageHeader.server";
import { Card } from "@/components/ui";
import { VerifyEmail } from "@/features/auth/VerifyEmail.client";

// The token is in the address: no page this one links to learns it through the Referer.
export const metadata: Metadata = { title: "Verify your e-mail address", referrer: "no-referrer" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function VerifyEmailPage({ searchParams }: { searchParams: SearchParams }) {
  const { token } = await searchParams;
  return (
    <div className="page-narrow" style={{ margin: "0 auto" }}>
      <PageHeader title="Verify your e-mail address" />
      <Card>
        <VerifyEmail token={(Array.isArray(token) ? token[0] : token) || null} />
      </Card>
    </div>
  );
}
