"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button, Card, FormError } from "@/components/ui";
import { errorMessage } from "@/lib/errors";
import { useSession } from "@/lib/session";

export function SessionsPanel() {
  const session = useSession();
  const router = useRouter();
  const [busy, setBusy] = useState<"this" | "all" | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function signOut(scope: "this" | "all") {
    setBusy(scope);
    setError(null);
    try {
      await session.signOut(scope);
      router.replace("/login?reason=signed-out");
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(null);
    }
  }

  return (
    <>
      {/* Outside the grid: the live region is always there, and would take a column. */}
      <FormError message={error} title="Could not log out" />
      <div className="grid-2">
        <Card title="This device" titleLevel={3}>
          <p>End the session of this browser. Your other devices stay signed in.</p>
          <Button
            variant="secondary"
            busy={busy === "this"}
            disabled={busy !== null}
            onClick={() => signOut("this")}
          >
            Log out here
          </Button>
        </Card>
        <Card title="Every device" titleLevel={3}>
          <p>
            End every session of your account, on every device — for example after losing a phone.
            You will need to log in again everywhere.
          </p>
          <Button
            variant="danger"
            busy={busy === "all"}
            disabled={busy !== null}
            onClick={() => signOut("all")}
          >
            Log out everywhere
          </Button>
        </Card>
      </div>
    </>
  );
}
