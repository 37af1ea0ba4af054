import type { Metadata } from "next";
import { SecurityPage } from "@/features/account/SecurityPage.server";

export const metadata: Metadata = { title: "Security" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function Page({ searchParams }: { searchParams: SearchParams }) {
  const linked = (await searchParams).linked;
  return <SecurityPage linked={typeof linked === "string" ? linked : null} />;
}
