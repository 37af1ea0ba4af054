"use client";

import Link from "next/link";
import { type ReactNode, useState } from "react";
import { LoadError } from "@/components/LoadError";
import { Alert, Button, Card, type Column, Spinner, Table } from "@/components/ui";
import { errorMessage } from "@/lib/errors";
import { useResetTwoFactor } from "@/lib/security";
import { useRestoreUser } from "@/lib/users";
import { useAccountActions, useAdminUser } from "./admin-data";
import type { AdminSecurityEvent, AdminSession, AdminUserDetail } from "./admin-shapes";

type Action = "disable" | "enable" | "reset" | "restore";

function when(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const muted = (text: string) => <span className="muted">{text}</span>;

/** `account_disabled` → "Account disabled": the log's kinds read as words. */
export function kindLabel(kind: string): string {
  const words = kind.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const SESSION_COLUMNS: Column<AdminSession>[] = [
  { key: "started", header: "Signed in", cell: (row) => when(row.createdAt) },
  { key: "used", header: "Last used", cell: (row) => when(row.lastUsedAt) },
  { key: "from", header: "From", cell: (row) => row.clientAddress ?? muted("—") },
  {
    key: "state",
    header: "State",
    cell: (row) =>
      row.revokedAt
        ? `Ended ${when(row.revokedAt)}${row.revokedReason ? ` (${row.revokedReason})` : ""}`
        : new Date(row.expiresAt) < new Date()
          ? "Expired"
          : "Live",
  },
];

const EVENT_COLUMNS: Column<AdminSecurityEvent>[] = [
  { key: "when", header: "When", cell: (row) => when(row.occurredAt) },
  { key: "what", header: "What", cell: (row) => kindLabel(row.kind) },
  { key: "from", header: "From", cell: (row) => row.clientAddress ?? muted("—") },
  {
    key: "by",
    header: "By",
    cell: (row) => (row.actor ? <code>{row.actor}</code> : muted("the owner")),
  },
];

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {rows.map(([term, value]) => (
        <div key={term} className="row" style={{ gap: "0.5rem" }}>
          <dt style={{ fontWeight: 600 }}>{term}</dt>
          <dd style={{ margin: 0 }}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** One user for administrators: profile, account, sessions, security log and the actions. */
export function AdminUserDetailView({ id }: { id: string }) {
  const { data, loading, error, reload, source } = useAdminUser(id);
  const actions = useAccountActions();
  const resetTwoFactor = useResetTwoFactor();
  const restore = useRestoreUser();
  const [busy, setBusy] = useState<Action | null>(null);
  const [notice, setNotice] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  async function act(action: Action, detail: AdminUserDetail) {
    const name = detail.user.displayName;
    setBusy(action);
    setNotice(null);
    try {
      if (action === "disable") await actions.disable(id);
      if (action === "enable") await actions.enable(id);
      if (action === "reset") await resetTwoFactor(id);
      if (action === "restore") await restore(id);
      const done: Record<Action, string> = {
        disable: `${name} is disabled: their sessions ended and they cannot sign in.`,
        enable: `${name} can sign in again.`,
        reset: `Two-factor sign-in of ${name} is off.`,
        restore: `The profile of ${name} was restored.`,
      };
      setNotice({ tone: "success", text: done[action] });
      reload();
    } catch (caught) {
      setNotice({ tone: "error", text: `That did not work: ${errorMessage(caught)}` });
    } finally {
      setBusy(null);
    }
  }

  const back = <Link href="/admin/users">← All users</Link>;
  if (error) {
    return (
      <div className="stack">
        {back}
        <LoadError title="This user could not be loaded" error={error} onRetry={reload} />
      </div>
    );
  }
  if (data === undefined || (loading && !data)) return <Spinner label="Loading the user…" />;
  if (data === null) {
    return (
      <div className="stack">
        {back}
        <Alert tone="info" title="No such user">
          There is no user with the id <code>{id}</code>.
        </Alert>
      </div>
    );
  }

  const { user, sessions, events } = data;
  const status = user.status ?? "active";
  const button = (action: Action, label: string, variant: "secondary" | "danger" = "secondary") => (
    <Button
      size="small"
      variant={variant}
      busy={busy === action}
      disabled={busy !== null}
      onClick={() => act(action, data)}
    >
      {label}
    </Button>
  );
  return (
    <div className="stack" aria-busy={loading || undefined}>
      {back}
      <div aria-live="polite">
        {notice ? <Alert tone={notice.tone}>{notice.text}</Alert> : null}
      </div>
      <Card title="Profile">
        <Facts
          rows={[
            ["Name", user.displayName],
            ["User id", <code key="id">{user.id}</code>],
            ["Locale", user.locale ?? muted("—")],
            ["Time zone", user.timezone ?? muted("—")],
            ["Profile", user.deletedAt ? `Deleted ${when(user.deletedAt)}` : "Live"],
          ]}
        />
        {user.deletedAt ? <div className="row">{button("restore", "Restore profile")}</div> : null}
      </Card>
      <Card title="Account">
        <Facts
          rows={[
            ["E-mail", user.email ?? muted("—")],
            ["E-mail verified", user.emailVerified ? "Yes" : "No"],
            ["Roles", (user.roles ?? []).join(", ") || muted("—")],
            ["State", <strong key="state">{status[0]?.toUpperCase() + status.slice(1)}</strong>],
            ["Created", when(user.createdAt)],
            ["Last sign-in", when(user.lastLoginAt)],
            [
              "Two-factor",
              user.twoFactorEnabled == null ? muted("—") : user.twoFactorEnabled ? "On" : "Off",
            ],
          ]}
        />
        <div className="row">
          {status === "active" ? button("disable", "Disable account", "danger") : null}
          {status === "disabled" ? button("enable", "Enable account") : null}
          {status !== "deleted" && user.twoFactorEnabled !== false
            ? button("reset", "Reset two-factor sign-in")
            : null}
        </div>
      </Card>
      <Card title="Sessions">
        {sessions.length === 0 ? (
          <p className="muted">No sessions.</p>
        ) : (
          <Table
            caption={`Sessions (${source === "graphql" ? "GraphQL" : "REST"})`}
            captionHidden
            columns={SESSION_COLUMNS}
            rows={sessions}
            rowKey={(row) => row.id}
          />
        )}
      </Card>
      <Card title="Recent security events">
        {events.length === 0 ? (
          <p className="muted">Nothing recorded.</p>
        ) : (
          <Table
            caption="Recent security events"
            captionHidden
            columns={EVENT_COLUMNS}
            rows={events}
            rowKey={(row) => row.id}
          />
        )}
      </Card>
    </div>
  );
}
