/**
 * The administrators' REST calls on accounts (auth's `/api/auth/accounts/*`), typed from the
 * gateway's OpenAPI document like the rest of `rest.ts`.
 */

import { api, required } from "@/lib/rest";
import type { components } from "@/rest/schema";
import type { RoleFilter, StateFilter } from "./filters";

type Schemas = components["schemas"];
export type AccountPageView = Schemas["AuthAccountPageView"];
export type AccountSessionView = Schemas["AuthAccountSessionView"];
export type AdminSecurityEventPageView = Schemas["AuthSecurityEventPageView"];

export interface ListAccountsParams {
  first: number;
  after: string | null;
  search: string;
  role: RoleFilter;
  state: StateFilter;
}

const path = (id: string) => ({ params: { path: { account_id: id } } });

export const accountsApi = {
  list: async (params: ListAccountsParams): Promise<AccountPageView> =>
    required(
      await api().GET("/api/auth/accounts", {
        params: {
          query: {
            first: params.first,
            after: params.after || undefined,
            search: params.search || undefined,
            role: params.role || undefined,
            status: params.state || undefined,
          },
        },
      }),
    ),
  get: async (id: string) => required(await api().GET("/api/auth/accounts/{account_id}", path(id))),
  sessions: async (id: string): Promise<AccountSessionView[]> =>
    required(await api().GET("/api/auth/accounts/{account_id}/sessions", path(id))),
  events: async (id: string, first: number): Promise<AdminSecurityEventPageView> =>
    required(
      await api().GET("/api/auth/accounts/{account_id}/security-events", {
        params: { path: { account_id: id }, query: { first } },
      }),
    ),
  disable: async (id: string) =>
    required(
      await api().POST("/api/auth/accounts/{account_id}/disable", { ...path(id), body: null }),
    ),
  enable: async (id: string) =>
    required(await api().POST("/api/auth/accounts/{account_id}/enable", path(id))),
};
