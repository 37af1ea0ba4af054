import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/components/PageHeader.server";
import { Card } from "@/components/ui";
import { RegisterForm } from "@/features/auth/RegisterForm.client";

export const metadata: Metadata = { title: "Create an account" };

export default function RegisterPage() {
  return (
    <div className="page-narrow" style={{ margin: "0 auto" }}>
      <PageHeader title="Create an account" lead="It takes a few seconds." />
      <div className="stack">
        <Card>
          <RegisterForm />
        </Card>
        <p>
          Already have an account? <Link href="/login">Log in</Link>.
        </p>
      </div>
    </div>
  );
}
