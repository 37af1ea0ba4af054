"use client";

import { useEffect } from "react";
import { Alert, Button } from "@/components/ui";

/** An unexpected error while rendering a page: say so, and offer to try again. */
export default function PageError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <div className="stack">
      <h1>Something went wrong</h1>
      <Alert tone="error" title="This page could not be shown">
        {error.digest ? `Reference: ${error.digest}. ` : null}Try again; if it keeps happening,
        reload the page.
      </Alert>
      <div className="row">
        <Button onClick={reset}>Try again</Button>
      </div>
    </div>
  );
}
