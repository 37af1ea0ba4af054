/**
 * The admin list's filters, kept in the page's URL query (`?q=…&role=…&state=…&deleted=1`) so a
 * reload or a shared link shows the same list.
 *
 * Profiles (names) live in the users service, accounts (e-mail, roles, state) in auth: a search
 * by name or id pages over profiles; a search by e-mail (a term with “@”), or any role or state
 * filter, pages over accounts — each list is filtered and paged by the service that owns it.
 */

export const ROLES = ["user", "admin"] as const;
export const STATES = ["active", "disabled", "deleted"] as const;
export type RoleFilter = (typeof ROLES)[number] | "";
export type StateFilter = (typeof STATES)[number] | "";

export interface UserFilters {
  search: string;
  role: RoleFilter;
  state: StateFilter;
  /** Profiles only: show soft-deleted profiles too. */
  includeDeleted: boolean;
}

export const NO_FILTERS: UserFilters = { search: "", role: "", state: "", includeDeleted: false };

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | "" {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : "";
}

export function filtersFromQuery(query: URLSearchParams): UserFilters {
  return {
    search: (query.get("q") ?? "").trim().slice(0, 200),
    role: oneOf(query.get("role"), ROLES),
    state: oneOf(query.get("state"), STATES),
    includeDeleted: query.get("deleted") === "1",
  };
}

export function filtersToQuery(filters: UserFilters): string {
  const query = new URLSearchParams();
  if (filters.search) query.set("q", filters.search);
  if (filters.role) query.set("role", filters.role);
  if (filters.state) query.set("state", filters.state);
  if (filters.includeDeleted && !listsAccounts(filters)) query.set("deleted", "1");
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** Whether these filters list accounts (auth) rather than profiles (users). */
export function listsAccounts(filters: UserFilters): boolean {
  return Boolean(filters.role || filters.state || filters.search.includes("@"));
}
