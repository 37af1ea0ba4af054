"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { Forbidden } from "@/components/Forbidden";
import { LoadError } from "@/components/LoadError";
import { Alert, Button, type Column, Form, Input, Select, Spinner, Table } from "@/components/ui";
import type { UserProfile } from "@/lib/account";
import { errorMessage } from "@/lib/errors";
import { USERS_PAGE_SIZE } from "@/lib/query-keys";
import { useResetTwoFactor } from "@/lib/security";
import { useAdminUsers, useRestoreUser } from "@/lib/users";
import { useAdminAccounts } from "./admin-data";
import {
  filtersFromQuery,
  filtersToQuery,
  listsAccounts,
  ROLES,
  type RoleFilter,
  STATES,
  type StateFilter,
  type UserFilters,
} from "./filters";

export const PAGE_SIZE = USERS_PAGE_SIZE;

function formatDate(value: string | null): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleDateString(undefined, { dateStyle: "medium" });
}

const STATE_LABEL: Record<string, string> = {
  active: "Active",
  disabled: "Disabled",
  deleted: "Deleted",
};

const ROLE_OPTIONS = ROLES.map((role) => ({
  value: role,
  label: role === "admin" ? "Administrator" : "User",
}));
const STATE_OPTIONS = STATES.map((state) => ({ value: state, label: STATE_LABEL[state] ?? state }));

function stateOf(user: UserProfile): string {
  if (user.status && user.status !== "active") return STATE_LABEL[user.status] ?? user.status;
  return user.deletedAt ? `Deleted ${formatDate(user.deletedAt)}` : "Active";
}

export function AdminUsers() {
  const query = useSearchParams();
  // The filters live in the URL (they survive a reload); the page keeps its own copy.
  const [filters, setFilters] = useState<UserFilters>(() => filtersFromQuery(query));
  const [searchInput, setSearchInput] = useState(filters.search);
  const { search, includeDeleted } = filters;
  const accountsListed = listsAccounts(filters);
  const roleId = useId();
  const stateId = useId();
  // Cursors of the pages before the current one: "Previous" pops, "Next" pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([]);
  const [after, setAfter] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [restoring, setRestoring] = useState<string | null>(null);
  // The user whose second factor an administrator is about to reset (asked to confirm first).
  const [confirmReset, setConfirmReset] = useState<UserProfile | null>(null);
  const [resetting, setResetting] = useState(false);
  const searchId = useId();
  const resultsHeading = useRef<HTMLHeadingElement>(null);

  const profiles = useAdminUsers(
    { first: PAGE_SIZE, after, search, includeDeleted },
    !accountsListed,
  );
  const accounts = useAdminAccounts(
    { first: PAGE_SIZE, after, search, role: filters.role, state: filters.state },
    accountsListed,
  );
  const { data, loading, error, reload, source } = accountsListed ? accounts : profiles;
  const restore = useRestoreUser();
  const resetTwoFactor = useResetTwoFactor();

  // The data source changed in this tab or another: start again from the first page.
  const previousSource = useRef(source);
  useEffect(() => {
    if (previousSource.current !== source) {
      previousSource.current = source;
      setCursors([]);
      setAfter(null);
    }
  }, [source]);

  function firstPage() {
    setCursors([]);
    setAfter(null);
  }

  function applyFilters(changes: Partial<UserFilters>) {
    const next = { ...filters, ...changes };
    setFilters(next);
    setNotice(null);
    firstPage();
    // Next.js syncs its router with the History API: the query is the filters' home.
    window.history.replaceState(null, "", `${window.location.pathname}${filtersToQuery(next)}`);
  }

  function onSearch(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    applyFilters({ search: searchInput.trim() });
  }

  function goNext() {
    if (!data?.endCursor) return;
    setCursors((stack) => [...stack, after]);
    setAfter(data.endCursor);
    resultsHeading.current?.focus();
  }

  function goPrevious() {
    setCursors((stack) => {
      const copy = [...stack];
      setAfter(copy.pop() ?? null);
      return copy;
    });
    resultsHeading.current?.focus();
  }

  async function onRestore(user: UserProfile) {
    setRestoring(user.id);
    setNotice(null);
    try {
      const restored = await restore(user.id);
      setNotice({ tone: "success", text: `${restored.displayName} was restored.` });
      reload();
    } catch (caught) {
      setNotice({
        tone: "error",
        text: `${user.displayName} could not be restored: ${errorMessage(caught)}`,
      });
    } finally {
      setRestoring(null);
    }
  }

  async function onResetTwoFactor(user: UserProfile) {
    setResetting(true);
    try {
      await resetTwoFactor(user.id);
      setNotice({
        tone: "success",
        text: `Two-factor sign-in of ${user.displayName} is off: the password alone signs in until they turn it on again.`,
      });
      reload();
    } catch (caught) {
      setNotice({
        tone: "error",
        text: `The two-factor sign-in of ${user.displayName} could not be reset: ${errorMessage(caught)}`,
      });
    } finally {
      setResetting(false);
      setConfirmReset(null);
    }
  }

  if (error?.status === 403) return <Forbidden />;

  const columns: Column<UserProfile>[] = [
    {
      key: "name",
      header: "Name",
      cell: (user) => <Link href={`/admin/users/${user.id}`}>{user.displayName}</Link>,
    },
    {
      key: "email",
      header: "E-mail",
      cell: (user) => user.email ?? <span className="muted">—</span>,
    },
    {
      key: "id",
      header: "User id",
      cell: (user) => <code style={{ fontSize: "0.8rem" }}>{user.id}</code>,
    },
    { key: "created", header: "Created", cell: (user) => formatDate(user.createdAt) },
    {
      key: "state",
      header: "State",
      cell: stateOf,
    },
    {
      key: "two-factor",
      header: "Two-factor",
      // GraphQL tells administrators; the REST listing does not (users owns it, auth the factor).
      cell: (user) =>
        user.twoFactorEnabled == null ? (
          <span className="muted">—</span>
        ) : user.twoFactorEnabled ? (
          "On"
        ) : (
          "Off"
        ),
    },
    {
      key: "actions",
      header: <span className="sr-only">Actions</span>,
      cell: (user) =>
        user.deletedAt ? (
          <Button
            size="small"
            variant="secondary"
            busy={restoring === user.id}
            disabled={restoring !== null}
            onClick={() => onRestore(user)}
            aria-label={`Restore ${user.displayName}`}
          >
            Restore
          </Button>
        ) : user.twoFactorEnabled !== false ? (
          <Button
            size="small"
            variant="secondary"
            disabled={resetting}
            onClick={() => {
              setNotice(null);
              setConfirmReset(user);
            }}
            aria-label={`Reset two-factor sign-in of ${user.displayName}`}
          >
            Reset 2FA
          </Button>
        ) : null,
    },
  ];

  const pageNumber = cursors.length + 1;
  return (
    <div className="stack">
      <search>
        <Form onSubmit={onSearch} className="row" aria-label="Search users">
          <label htmlFor={searchId} className="sr-only">
            Search by name, e-mail or user id
          </label>
          <div style={{ flex: "1 1 16rem" }}>
            <Input
              id={searchId}
              type="search"
              name="search"
              placeholder="Search by name, e-mail or user id"
              value={searchInput}
              onChange={(event) => setSearchInput(event.target.value)}
            />
          </div>
          <Button type="submit" variant="secondary">
            Search
          </Button>
          <label htmlFor={roleId}>Role</label>
          <Select
            id={roleId}
            value={filters.role}
            placeholder="Any role"
            options={ROLE_OPTIONS}
            onChange={(event) => applyFilters({ role: event.target.value as RoleFilter })}
          />
          <label htmlFor={stateId}>State</label>
          <Select
            id={stateId}
            value={filters.state}
            placeholder="Any state"
            options={STATE_OPTIONS}
            onChange={(event) => applyFilters({ state: event.target.value as StateFilter })}
          />
          {accountsListed ? null : (
            <label className="row" style={{ gap: "0.4rem" }}>
              <input
                type="checkbox"
                checked={includeDeleted}
                onChange={(event) => applyFilters({ includeDeleted: event.target.checked })}
              />
              Include deleted users
            </label>
          )}
        </Form>
        <p className="muted" style={{ margin: "0.4rem 0 0" }}>
          {accountsListed
            ? "Listing accounts: the search matches part of an e-mail address or a whole user id."
            : "Listing profiles: the search matches part of a name or a whole user id."}
        </p>
      </search>

      <div aria-live="polite">
        {notice ? <Alert tone={notice.tone}>{notice.text}</Alert> : null}
        {confirmReset ? (
          <Alert
            tone="warning"
            title={`Reset the two-factor sign-in of ${confirmReset.displayName}?`}
            action={
              <div className="row">
                <Button
                  size="small"
                  variant="danger"
                  busy={resetting}
                  onClick={() => onResetTwoFactor(confirmReset)}
                >
                  Reset two-factor sign-in
                </Button>
                <Button
                  size="small"
                  variant="secondary"
                  disabled={resetting}
                  onClick={() => setConfirmReset(null)}
                >
                  Cancel
                </Button>
              </div>
            }
          >
            For a lost authenticator: the password alone will sign in to{" "}
            {confirmReset.email ?? "this account"} until its owner turns two-factor sign-in on
            again. Their sessions stay, and they are told by e-mail.
          </Alert>
        ) : null}
      </div>

      <h2 ref={resultsHeading} tabIndex={-1} style={{ fontSize: "1.1rem", margin: 0 }}>
        {search ? `Results for “${search}”` : "All users"} · page {pageNumber}
      </h2>

      {error ? (
        <LoadError title="The users could not be loaded" error={error} onRetry={reload} />
      ) : loading && !data ? (
        <Spinner label="Loading users…" />
      ) : data && data.users.length === 0 ? (
        <Alert tone="info" title="No users found">
          {search || accountsListed
            ? "Nobody matches these filters. Try part of a name or an e-mail address, or a full user id."
            : "There are no users yet."}
          {!includeDeleted && !accountsListed
            ? " Deleted users are hidden; tick “Include deleted users” to see them."
            : null}
        </Alert>
      ) : data ? (
        <div aria-busy={loading || undefined} className="stack">
          <Table
            caption={`Users, page ${pageNumber} (${source === "graphql" ? "GraphQL" : "REST"})`}
            captionHidden
            columns={columns}
            rows={data.users}
            rowKey={(user) => user.id}
          />
          {loading ? <Spinner label="Updating…" /> : null}
        </div>
      ) : null}

      <nav aria-label="Pages" className="row">
        <Button variant="secondary" onClick={goPrevious} disabled={cursors.length === 0 || loading}>
          Previous page
        </Button>
        <Button variant="secondary" onClick={goNext} disabled={!data?.hasNextPage || loading}>
          Next page
        </Button>
      </nav>
    </div>
  );
}
