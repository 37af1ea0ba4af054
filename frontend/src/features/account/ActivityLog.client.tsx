"use client";

import { useRef, useState } from "react";
import { LoadError } from "@/components/LoadError";
import { Button, type Column, Spinner, Table } from "@/components/ui";
import { ACTIVITY_PAGE_SIZE } from "@/lib/query-keys";
import { type SecurityEvent, useSecurityEvents } from "@/lib/security";
import { describeEvent, formatDateTime } from "./format";

const COLUMNS: Column<SecurityEvent>[] = [
  { key: "what", header: "What", cell: (event) => describeEvent(event.kind) },
  { key: "when", header: "When", cell: (event) => formatDateTime(event.occurredAt) },
  {
    key: "address",
    header: "Address",
    cell: (event) => event.clientAddress ?? <span className="muted">—</span>,
  },
  {
    key: "client",
    header: "Browser or app",
    cell: (event) => event.userAgent ?? <span className="muted">—</span>,
  },
];

/** The account's security log, newest first, a page at a time. */
export function ActivityLog() {
  // Cursors of the pages before the current one: "Older" pushes, "Newer" pops.
  const [cursors, setCursors] = useState<(string | null)[]>([]);
  const [after, setAfter] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const { data, loading, error, reload } = useSecurityEvents(ACTIVITY_PAGE_SIZE, after);

  function older() {
    if (!data?.endCursor) return;
    setCursors((stack) => [...stack, after]);
    setAfter(data.endCursor);
    heading.current?.focus();
  }

  function newer() {
    const copy = [...cursors];
    setAfter(copy.pop() ?? null);
    setCursors(copy);
    heading.current?.focus();
  }

  return (
    <section className="stack" aria-labelledby="activity-heading">
      <h2 id="activity-heading" ref={heading} tabIndex={-1} style={{ margin: 0 }}>
        Recent activity
      </h2>
      <p className="muted" style={{ margin: 0 }}>
        Sign-ins and changes to how your account signs in. Something you do not recognise? Change
        your password and log out everywhere.
      </p>
      {error ? (
        <LoadError title="The activity could not be loaded" error={error} onRetry={reload} />
      ) : !data ? (
        <Spinner label="Loading the activity…" />
      ) : data.events.length === 0 ? (
        <p>Nothing yet.</p>
      ) : (
        <div aria-busy={loading || undefined}>
          <Table
            caption="Security activity, newest first"
            captionHidden
            columns={COLUMNS}
            rows={data.events}
            rowKey={(event) => event.id}
          />
        </div>
      )}
      {cursors.length > 0 || data?.hasNextPage ? (
        <nav aria-label="Activity pages" className="row">
          <Button variant="secondary" onClick={newer} disabled={cursors.length === 0 || loading}>
            Newer
          </Button>
          <Button variant="secondary" onClick={older} disabled={!data?.hasNextPage || loading}>
            Older
          </Button>
        </nav>
      ) : null}
    </section>
  );
}
