/**
 * The REST calls of the security settings (auth's `/api/auth/me/two-factor`, `/me/identities`,
 * `/me/security-events`, `/oidc/providers`, and the administrators' two-factor reset), typed
 * from the gateway's OpenAPI document like the rest of `rest.ts`.
 */

import type { components } from "@/rest/schema";
import { type AccountView, api, required } from "./rest";

type Schemas = components["schemas"];
export type TwoFactorStatusView = Schemas["AuthTwoFactorStatusView"];
export type IdentityView = Schemas["AuthIdentityView"];
export type ProviderView = Schemas["AuthOidcProviderView"];
export type SecurityEventPageView = Schemas["AuthSecurityEventPageView"];

export const securityApi = {
  twoFactor: async (): Promise<TwoFactorStatusView> =>
    required(await api().GET("/api/auth/me/two-factor")),
  /** A pending secret, answered this once (`otpauth_uri` for the QR code). */
  enrolTwoFactor: async (password: string) =>
    required(await api().POST("/api/auth/me/two-factor", { body: { password } })),
  /** Two-factor sign-in is on: the ten recovery codes, answered this once. A wrong code (401
   * `invalid_code`) is about what was typed: `http.ts` does not end the session for it. */
  confirmTwoFactor: async (code: string) =>
    required(await api().POST("/api/auth/me/two-factor/confirm", { body: { code } })),
  disableTwoFactor: async (proof: { code: string } | { password: string }): Promise<void> => {
    await api().DELETE("/api/auth/me/two-factor", { body: proof });
  },
  identities: async (): Promise<IdentityView[]> =>
    required(await api().GET("/api/auth/me/identities")),
  /** Where to send the browser to link a provider (the answer also sets the flow cookie). */
  startLink: async (provider: string, next: string): Promise<string> =>
    required(
      await api().POST("/api/auth/me/identities/link/{provider}", {
        params: { path: { provider } },
        body: { next },
      }),
    ).authorization_url,
  unlink: async (id: string): Promise<void> => {
    await api().DELETE("/api/auth/me/identities/{identity_id}", {
      params: { path: { identity_id: id } },
    });
  },
  providers: async (): Promise<ProviderView[]> =>
    required(await api().GET("/api/auth/oidc/providers")).providers,
  events: async (first: number, after: string | null): Promise<SecurityEventPageView> =>
    required(
      await api().GET("/api/auth/me/security-events", {
        params: { query: { first, after: after ?? undefined } },
      }),
    ),
  /** Administrators: remove an account's second factor (a lost device). */
  resetTwoFactor: async (accountId: string): Promise<void> => {
    await api().POST("/api/auth/accounts/{account_id}/two-factor/reset", {
      params: { path: { account_id: accountId } },
    });
  },
};

export interface Provider {
  name: string;
  displayName: string;
}

export interface LinkedIdentity {
  id: string;
  provider: string;
  email: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface SecurityOverview {
  twoFactorEnabled: boolean;
  /** Unused recovery codes (REST tells; GraphQL does not: null). */
  recoveryCodesLeft: number | null;
  hasPassword: boolean;
  identities: LinkedIdentity[];
  providers: Provider[];
}

export interface SecurityEvent {
  id: string;
  kind: string;
  occurredAt: string;
  clientAddress: string | null;
  userAgent: string | null;
}

export interface SecurityEventsPage {
  events: SecurityEvent[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Enrolment {
  secret: string;
  otpauthUri: string;
}

export type DisableProof = { code: string } | { password: string };

/** REST's answers for the security page in the screens' shape (GraphQL's is mapped alike). */
export function overviewFromRest(
  status: TwoFactorStatusView,
  account: AccountView,
  identities: IdentityView[],
  providers: ProviderView[],
): SecurityOverview {
  return {
    twoFactorEnabled: status.enabled,
    recoveryCodesLeft: status.enabled ? status.recovery_codes_left : null,
    hasPassword: account.has_password,
    identities: identities.map((row) => ({
      id: row.id,
      provider: row.provider,
      email: row.email,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
    })),
    providers: providers.map((row) => ({ name: row.name, displayName: row.display_name })),
  };
}

export function eventsFromRest(page: SecurityEventPageView): SecurityEventsPage {
  return {
    events: page.edges.map(({ node }) => ({
      id: node.id,
      kind: node.kind,
      occurredAt: node.occurred_at,
      clientAddress: node.client_address,
      userAgent: node.user_agent,
    })),
    hasNextPage: page.page_info.has_next_page,
    endCursor: page.page_info.end_cursor,
  };
}
