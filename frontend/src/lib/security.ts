"use client";

/**
 * The security settings' data: the second factor, the linked identities, the providers and the
 * activity log. Like `users.ts`, each hook works over GraphQL (Apollo) or REST (TanStack Query)
 * as `useDataSource()` says and answers one shape either way. Starting to link a provider is a
 * browser navigation that sets a cookie, so it is REST in both modes (ADR 0017).
 */

import { useApolloClient, useMutation, useQuery } from "@apollo/client/react";
import { keepPreviousData, useQueryClient, useQuery as useRestQuery } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import {
  ConfirmTwoFactorMutation,
  DisableTwoFactorMutation,
  EnrollTwoFactorMutation,
  IdentityProvidersQuery,
  ResetTwoFactorMutation,
  SecurityEventsQuery,
  SecurityOverviewQuery,
  UnlinkIdentityMutation,
} from "@/graphql/operations";
import { apolloError } from "./apollo";
import { useDataSource } from "./data-source";
import { securityKeys } from "./query-keys";
import { authApi } from "./rest";
import {
  type DisableProof,
  type Enrolment,
  eventsFromRest,
  overviewFromRest,
  type Provider,
  type SecurityEventsPage,
  type SecurityOverview,
  securityApi,
} from "./security-api";
import { graphqlSeedKey } from "./server-data";
import { useServerSeeded } from "./server-view";
import {
  graphqlLoaded,
  type Loaded,
  restLoaded,
  useRevalidateOnShow,
  useServerFirst,
} from "./users";

export type {
  DisableProof,
  Enrolment,
  LinkedIdentity,
  Provider,
  SecurityEvent,
  SecurityEventsPage,
  SecurityOverview,
} from "./security-api";
export { securityKeys };

export function useSecurityOverview(): Loaded<SecurityOverview> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const graphql = useQuery(SecurityOverviewQuery, {
    skip: source !== "graphql",
    ...useServerFirst(source === "graphql", graphqlSeedKey("SecurityOverview", {})),
  });
  const rest = useRestQuery({
    queryKey: securityKeys.overview,
    queryFn: async (): Promise<SecurityOverview> =>
      overviewFromRest(
        ...(await Promise.all([
          securityApi.twoFactor(),
          authApi.me(),
          securityApi.identities(),
          securityApi.providers(),
        ])),
      ),
    enabled: source === "rest",
    refetchOnMount: (query) => !seeded(query.queryHash),
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  if (source === "graphql") {
    const data = graphql.data;
    const overview = data && {
      twoFactorEnabled: data.account.twoFactorEnabled ?? false,
      recoveryCodesLeft: null,
      hasPassword: data.account.hasPassword ?? true,
      identities: data.linkedIdentities.map((row) => ({
        id: row.id,
        provider: row.provider,
        email: row.email ?? null,
        createdAt: row.createdAt,
        lastUsedAt: row.lastUsedAt ?? null,
      })),
      providers: data.identityProviders,
    };
    const loading = graphql.loading && !data;
    return graphqlLoaded(overview, { loading, error: graphql.error }, reloadGraphQL);
  }
  return restLoaded(rest);
}

/** The providers people can sign in with (the login page's buttons); none configured: []. */
export function useProviders(): Provider[] {
  const [source] = useDataSource();
  const graphql = useQuery(IdentityProvidersQuery, { skip: source !== "graphql" });
  const rest = useRestQuery({
    queryKey: securityKeys.providers,
    queryFn: securityApi.providers,
    enabled: source === "rest",
  });
  const rows =
    source === "graphql"
      ? graphql.data?.identityProviders
      : rest.data?.map((row) => ({ name: row.name, displayName: row.display_name }));
  return useMemo(() => rows ?? [], [rows]);
}

export function useSecurityEvents(first: number, after: string | null): Loaded<SecurityEventsPage> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const variables = { first, after };
  const graphql = useQuery(SecurityEventsQuery, {
    skip: source !== "graphql",
    variables,
    ...useServerFirst(source === "graphql", graphqlSeedKey("SecurityEvents", variables)),
  });
  const rest = useRestQuery({
    queryKey: securityKeys.events(first, after),
    queryFn: async (): Promise<SecurityEventsPage> =>
      eventsFromRest(await securityApi.events(first, after)),
    enabled: source === "rest",
    refetchOnMount: (query) => !seeded(query.queryHash),
    placeholderData: keepPreviousData,
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  if (source === "graphql") {
    const connection = graphql.data?.account.securityEvents;
    const page = connection && {
      events: connection.edges.map(({ node }) => ({
        id: node.id,
        kind: node.kind,
        occurredAt: node.occurredAt,
        clientAddress: node.clientAddress ?? null,
        userAgent: node.userAgent ?? null,
      })),
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor ?? null,
    };
    return graphqlLoaded(page ?? undefined, graphql, reloadGraphQL);
  }
  return restLoaded(rest);
}

export interface SecurityActions {
  enrol: (password: string) => Promise<Enrolment>;
  confirm: (code: string) => Promise<string[]>;
  disable: (proof: DisableProof) => Promise<void>;
  unlink: (id: string) => Promise<void>;
  /** Send the browser to the provider; it comes back to `next` with the identity linked. */
  link: (provider: string, next: string) => Promise<void>;
}

/** Each change refreshes what the settings page shows (both caches: the source may change). */
export function useSecurityActions(): SecurityActions {
  const [source] = useDataSource();
  const apollo = useApolloClient();
  const queryClient = useQueryClient();
  const [enrolMutation] = useMutation(EnrollTwoFactorMutation);
  const [confirmMutation] = useMutation(ConfirmTwoFactorMutation);
  const [disableMutation] = useMutation(DisableTwoFactorMutation);
  const [unlinkMutation] = useMutation(UnlinkIdentityMutation);
  return useMemo(() => {
    const changed = async () => {
      await queryClient.invalidateQueries({ queryKey: securityKeys.all });
      await apollo.refetchQueries({ include: ["SecurityOverview", "SecurityEvents"] });
    };
    const graphql = async <T>(run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (error) {
        throw apolloError(error);
      }
    };
    return {
      enrol: async (password) => {
        if (source === "rest") {
          const answer = await securityApi.enrolTwoFactor(password);
          return { secret: answer.secret, otpauthUri: answer.otpauth_uri };
        }
        const result = await graphql(() => enrolMutation({ variables: { password } }));
        const enrolment = result.data?.enrollTwoFactor;
        if (!enrolment) throw new Error("The server answered without data.");
        return enrolment;
      },
      confirm: async (code) => {
        let codes: string[] | undefined;
        if (source === "rest") {
          codes = (await securityApi.confirmTwoFactor(code)).recovery_codes;
        } else {
          const result = await graphql(() => confirmMutation({ variables: { code } }));
          codes = result.data?.confirmTwoFactor?.recoveryCodes;
        }
        if (!codes) throw new Error("The server answered without data.");
        await changed();
        return codes;
      },
      disable: async (proof) => {
        if (source === "rest") await securityApi.disableTwoFactor(proof);
        else await graphql(() => disableMutation({ variables: { input: proof } }));
        await changed();
      },
      unlink: async (id) => {
        if (source === "rest") await securityApi.unlink(id);
        else await graphql(() => unlinkMutation({ variables: { id } }));
        await changed();
      },
      link: async (provider, next) => {
        window.location.assign(await securityApi.startLink(provider, next));
      },
    };
  }, [
    source,
    apollo,
    queryClient,
    enrolMutation,
    confirmMutation,
    disableMutation,
    unlinkMutation,
  ]);
}

/** Administrators: turn off an account's second factor (its owner lost the device). */
export function useResetTwoFactor(): (accountId: string) => Promise<void> {
  const [source] = useDataSource();
  const [mutate] = useMutation(ResetTwoFactorMutation);
  return useCallback(
    async (accountId: string) => {
      if (source === "rest") return securityApi.resetTwoFactor(accountId);
      try {
        await mutate({ variables: { id: accountId } });
      } catch (error) {
        throw apolloError(error);
      }
    },
    [source, mutate],
  );
}
