"use client";

import { buttonClass } from "@/components/ui";
import { useProviders } from "@/lib/security";
import { markSignInPending } from "@/lib/session-clock";

/**
 * "Sign in with …" for each provider the backend is configured with (none: nothing at all).
 * Each is a plain navigation to the gateway's start route: the provider sends the browser back
 * to the gateway's callback, which sets the same httpOnly session cookies as a password sign-in
 * (or, for an account with two-factor sign-in, comes back here for the code).
 */
export function ProviderSignIn({ next }: { next: string }) {
  const providers = useProviders();
  if (providers.length === 0) return null;
  const query = new URLSearchParams({ next }).toString();
  return (
    <section aria-labelledby="provider-sign-in" className="stack">
      <h2 id="provider-sign-in" className="muted" style={{ fontSize: "1rem", margin: 0 }}>
        Or sign in with
      </h2>
      <ul className="row" style={{ listStyle: "none", padding: 0, margin: 0 }}>
        {providers.map((provider) => (
          <li key={provider.name}>
            <a
              className={buttonClass("secondary")}
              href={`/api/auth/oidc/${encodeURIComponent(provider.name)}/authorize?${query}`}
              onClick={markSignInPending}
            >
              Sign in with {provider.displayName}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
