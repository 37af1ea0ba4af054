import "server-only";

/**
 * The gateway as the Next server reaches it, for a signed-in page's first view: the request's
 * access cookie forwarded (and nothing else of the browser's), the gateway's internal address
 * (`NOVA_GATEWAY_URL`), a time limit, and the same answers read the same way as the browser's
 * calls — a 401 (or GraphQL's `unauthenticated`) is an ended session, a 403 a refusal, anything
 * else a gateway that could not answer now.
 */

import { addTypenameToDocument } from "@apollo/client/utilities";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { apiErrorFromGraphQL, type GraphQLErrorLike, isUnauthenticated } from "../errors";
import { ACCESS_COOKIE, gatewayUrl, REFRESH_COOKIE } from "./config";

const DEFAULT_TIMEOUT_MS = 5_000;

/** How long a server-side call may take (`NOVA_GATEWAY_TIMEOUT_MS`, default 5 s). */
export function gatewayTimeoutMs(): number {
  const configured = Number(process.env.NOVA_GATEWAY_TIMEOUT_MS);
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_TIMEOUT_MS;
}

export type GatewayFailure = "unauthenticated" | "forbidden" | "unavailable";

export class GatewayError extends Error {
  readonly kind: GatewayFailure;
  readonly status: number;

  constructor(kind: GatewayFailure, message: string, status: number) {
    super(message);
    this.name = "GatewayError";
    this.kind = kind;
    this.status = status;
  }
}

function failure(status: number): GatewayError {
  if (status === 401) return new GatewayError("unauthenticated", "the session has ended", 401);
  if (status === 403) return new GatewayError("forbidden", "the gateway refused the request", 403);
  return new GatewayError("unavailable", `the gateway answered ${status}`, status);
}

export interface GatewayOptions {
  baseUrl?: string;
  timeoutMs?: number;
  /** The browser's `X-Forwarded-For`, passed on as the same-origin rewrite does. */
  forwardedFor?: string | null;
  fetch?: typeof fetch;
}

/** One signed-in browser's calls to the gateway, authenticated by its access cookie. */
export class Gateway {
  readonly #accessToken: string;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #forwardedFor: string | null;
  readonly #fetch: typeof fetch;

  constructor(accessToken: string, options: GatewayOptions = {}) {
    this.#accessToken = accessToken;
    this.#baseUrl = (options.baseUrl ?? gatewayUrl()).replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? gatewayTimeoutMs();
    this.#forwardedFor = options.forwardedFor ?? null;
    this.#fetch = options.fetch ?? fetch;
  }

  async #send(path: string, body?: unknown): Promise<Response> {
    const headers = new Headers({
      Accept: "application/json",
      Cookie: `${ACCESS_COOKIE}=${this.#accessToken}`,
    });
    if (body !== undefined) headers.set("Content-Type", "application/json");
    if (this.#forwardedFor) headers.set("X-Forwarded-For", this.#forwardedFor);
    let response: Response;
    try {
      response = await this.#fetch(`${this.#baseUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch {
      throw new GatewayError("unavailable", "the gateway could not be reached in time", 0);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw failure(response.status);
    }
    return response;
  }

  async #json(response: Response): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      throw new GatewayError("unavailable", "the gateway answered without JSON", response.status);
    }
  }

  /** `GET` a REST path; the parsed JSON answer (typed by the caller from the OpenAPI types). */
  async get<T>(path: string): Promise<T> {
    return (await this.#json(await this.#send(path))) as T;
  }

  /**
   * A GraphQL query, with `__typename` on every selection as Apollo's cache adds it, so the
   * answer can be written into the browser's cache as is.
   */
  async query<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData> {
    const body = (await this.#json(
      await this.#send("/graphql", { query: print(addTypenameToDocument(document)), variables }),
    )) as { data?: TData | null; errors?: GraphQLErrorLike[] };
    if (body.errors?.length) {
      if (isUnauthenticated(body.errors)) throw failure(401);
      const error = apiErrorFromGraphQL(body.errors);
      throw error.status === 403 ? failure(403) : failure(error.status || 500);
    }
    if (body.data == null) throw new GatewayError("unavailable", "no data in the answer", 200);
    return body.data;
  }
}

/**
 * When an access token expires, from its `exp` claim, read without verifying it: only a hint for
 * the browser's refresh timer (the gateway verifies every token it is sent).
 */
export function accessExpiresAt(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const exp =
      typeof claims === "object" && claims !== null ? Reflect.get(claims, "exp") : undefined;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export interface RefreshAnswer {
  status: number;
  /** The gateway's `Set-Cookie` headers: the rotated session cookies, or the cleared ones. */
  cookies: string[];
}

/**
 * The refresh exchange the browser makes (`POST /api/auth/refresh` in cookie mode, the refresh
 * cookie forwarded), made from the server; null when the gateway could not be reached in time.
 */
export async function refreshSession(
  refreshToken: string,
  options: GatewayOptions = {},
): Promise<RefreshAnswer | null> {
  const headers = new Headers({
    Accept: "application/json",
    "Content-Type": "application/json",
    Cookie: `${REFRESH_COOKIE}=${refreshToken}`,
    "X-Nova-Session": "cookie",
    "X-Nova-CSRF": "1",
  });
  if (options.forwardedFor) headers.set("X-Forwarded-For", options.forwardedFor);
  try {
    const response = await (options.fetch ?? fetch)(
      `${(options.baseUrl ?? gatewayUrl()).replace(/\/+$/, "")}/api/auth/refresh`,
      {
        method: "POST",
        headers,
        body: "{}",
        cache: "no-store",
        redirect: "manual",
        signal: AbortSignal.timeout(options.timeoutMs ?? gatewayTimeoutMs()),
      },
    );
    await response.body?.cancel();
    return { status: response.status, cookies: response.headers.getSetCookie() };
  } catch {
    return null;
  }
}
