/**
 * The data source as a cookie, so the server renders a page's first view over the API the
 * browser chose. The choice itself lives in localStorage (`data-source.ts`, followed by every
 * tab); each write is mirrored into this cookie, which the server reads and nothing else.
 */

export type DataSource = "graphql" | "rest";
export const DATA_SOURCES: readonly DataSource[] = ["graphql", "rest"];
export const DEFAULT_DATA_SOURCE: DataSource = "graphql";
/** The cookie's name; the same as the localStorage key. */
export const DATA_SOURCE_COOKIE = "nova.dataSource";
const ONE_YEAR_SECONDS = 365 * 24 * 3600;

export function isDataSource(value: unknown): value is DataSource {
  return value === "graphql" || value === "rest";
}

/** The cookie's value as a data source (the default when absent or unknown). */
export function dataSourceFromCookie(value: string | undefined | null): DataSource {
  return isDataSource(value) ? value : DEFAULT_DATA_SOURCE;
}

/** `document.cookie` assignment for a choice: readable by the server only as a preference. */
export function dataSourceCookie(source: DataSource, secure: boolean): string {
  const parts = [
    `${DATA_SOURCE_COOKIE}=${source}`,
    "Path=/",
    `Max-Age=${ONE_YEAR_SECONDS}`,
    "SameSite=Lax",
  ];
  if (secure) parts.push("Secure");
  return parts.join("; ");
}

/** The source a `Cookie` string (`document.cookie`) names, or null if it names none. */
export function dataSourceInCookies(cookies: string): DataSource | null {
  for (const pair of cookies.split(";")) {
    const [name, value] = pair.trim().split("=", 2);
    if (name === DATA_SOURCE_COOKIE && isDataSource(value)) return value;
  }
  return null;
}
