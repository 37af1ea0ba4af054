import type { Metadata } from "next";
import { ButtonLink } from "@/components/ui";

export const metadata: Metadata = { title: "Page not found" };

export default function NotFound() {
  return (
    <section className="stack" aria-labelledby="not-found-title">
      <p className="muted">Error 404</p>
      <h1 id="not-found-title">This page does not exist</h1>
      <p>The address may be mistyped, or the page has moved.</p>
      <div className="row">
        <ButtonLink href="/">Go to the home page</ButtonLink>
      </div>
    </section>
  );
}
