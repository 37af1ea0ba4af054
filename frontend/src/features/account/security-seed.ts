import "server-only";

/**
 * `/account/security`'s first view, loaded on the server over the browser's data source: the
 * overview (second factor, linked identities, providers) and the activity log's first page, as
 * `useSecurityOverview` and `useSecurityEvents` load them.
 */

import { SecurityEventsQuery, SecurityOverviewQuery } from "@/graphql/operations";
import { ACTIVITY_PAGE_SIZE, securityKeys } from "@/lib/query-keys";
import {
  eventsFromRest,
  type IdentityView,
  overviewFromRest,
  type ProviderView,
  type SecurityEventPageView,
  type TwoFactorStatusView,
} from "@/lib/security-api";
import { restSeed } from "@/lib/server/seeds";
import type { SignedInContext } from "@/lib/server/session";
import type { ServerSeed } from "@/lib/server-data";

export async function securitySeed({
  gateway,
  source,
  accountView,
}: SignedInContext): Promise<ServerSeed[]> {
  if (source === "graphql") {
    const events = { first: ACTIVITY_PAGE_SIZE, after: null };
    const [overviewData, eventsData] = await Promise.all([
      gateway.query(SecurityOverviewQuery, {}),
      gateway.query(SecurityEventsQuery, events),
    ]);
    return [
      { api: "graphql", operation: "SecurityOverview", variables: {}, data: overviewData },
      { api: "graphql", operation: "SecurityEvents", variables: events, data: eventsData },
    ];
  }
  const [status, identities, providers, page] = await Promise.all([
    gateway.get<TwoFactorStatusView>("/api/auth/me/two-factor"),
    gateway.get<IdentityView[]>("/api/auth/me/identities"),
    gateway.get<{ providers: ProviderView[] }>("/api/auth/oidc/providers"),
    gateway.get<SecurityEventPageView>(`/api/auth/me/security-events?first=${ACTIVITY_PAGE_SIZE}`),
  ]);
  return [
    restSeed(
      securityKeys.overview,
      overviewFromRest(status, accountView, identities, providers.providers),
    ),
    restSeed(securityKeys.events(ACTIVITY_PAGE_SIZE, null), eventsFromRest(page)),
  ];
}
