import { ButtonLink } from "@/components/ui";

/** The 403 page: shown in place of a page the signed-in user may not see. */
export function Forbidden() {
  return (
    <section aria-labelledby="forbidden-title" className="stack">
      <p className="muted">Error 403</p>
      <h1 id="forbidden-title">You do not have access to this page</h1>
      <p>This page is for administrators. If you think you should see it, ask one of them.</p>
      <div className="row">
        <ButtonLink href="/profile" variant="secondary">
          Go to your profile
        </ButtonLink>
      </div>
    </section>
  );
}
