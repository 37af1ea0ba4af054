"use client";

import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useEffect } from "react";
import { Alert, Button, Spinner } from "@/components/ui";
import { isAdmin } from "@/lib/account";
import { loginUrl } from "@/lib/next-path";
import { useServerAccount } from "@/lib/server-view";
import { useSession } from "@/lib/session";
import { Forbidden } from "./Forbidden";

/**
 * Renders its children for a signed-in user (an administrator with `admin`); otherwise a
 * loading state while the session is checked, a redirect to the login page, or a 403 page.
 * A server-rendered page's account (`ServerData`) stands for the session until the check
 * answers, so such a page shows its content at once.
 */
export function RequireSession({
  children,
  admin = false,
}: {
  children: ReactNode;
  admin?: boolean;
}) {
  const session = useSession();
  const router = useRouter();
  const pathname = usePathname();
  const rendered = useServerAccount();
  const status = session.status === "loading" && rendered ? "authenticated" : session.status;

  useEffect(() => {
    if (session.status !== "anonymous") return;
    if (session.endReason === "signed-out" || session.endReason === "password-changed") {
      router.replace(`/login?reason=${session.endReason}`);
      return;
    }
    const here = `${pathname}${window.location.search}`;
    router.replace(loginUrl(here, session.endReason === "expired" ? "expired" : undefined));
  }, [session.status, session.endReason, router, pathname]);

  if (status === "loading") return <Spinner label="Checking your session…" />;
  if (status === "anonymous") return <Spinner label="Redirecting to the login page…" />;
  if (status === "unavailable") {
    return (
      <Alert
        tone="error"
        title="The service is unavailable"
        action={
          <Button variant="secondary" size="small" onClick={() => void session.reload()}>
            Try again
          </Button>
        }
      >
        Your session could not be checked. Try again in a moment.
      </Alert>
    );
  }
  if (admin && !isAdmin((session.account ?? rendered)?.roles)) return <Forbidden />;
  return <>{children}</>;
}
