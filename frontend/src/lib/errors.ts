/** Errors of the gateway's two APIs, as one shape the screens can show. */

/** Field name → message, keyed by the form's field names (camelCase, as in GraphQL). */
export type FieldErrors = Partial<Record<string, string>>;

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fieldErrors: FieldErrors;
  readonly requestId: string | undefined;
  /** Seconds to wait before trying again (a 429's `Retry-After`), when the server said. */
  readonly retryAfter: number | undefined;

  constructor(
    message: string,
    options: {
      code: string;
      status: number;
      fieldErrors?: FieldErrors;
      requestId?: string;
      retryAfter?: number;
    },
  ) {
    super(message);
    this.name = "ApiError";
    this.code = options.code;
    this.status = options.status;
    this.fieldErrors = options.fieldErrors ?? {};
    this.requestId = options.requestId;
    this.retryAfter = options.retryAfter;
  }
}

/** `display_name` / `body.display_name` / `input.displayName` → `displayName`. */
export function fieldKey(field: string): string {
  const last = field.split(".").at(-1) ?? field;
  return last.replace(/_([a-z0-9])/g, (_match, char: string) => char.toUpperCase());
}

/** `details: [{field, message}]` (also Litestar's `{key, message}`) → field errors. */
export function fieldErrorsFrom(details: unknown): FieldErrors {
  const errors: FieldErrors = {};
  if (!Array.isArray(details)) return errors;
  for (const item of details) {
    if (typeof item !== "object" || item === null) continue;
    const entry = item as Record<string, unknown>;
    const field = entry.field ?? entry.key;
    const message = entry.message;
    if (typeof field !== "string" || typeof message !== "string") continue;
    const key = fieldKey(field);
    errors[key] = errors[key] ? `${errors[key]}; ${message}` : message;
  }
  return errors;
}

const FRIENDLY: Record<string, string> = {
  network_error: "The server could not be reached. Check your connection and try again.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  internal_error: "Something went wrong on our side. Try again in a moment.",
  server_error: "Something went wrong on our side. Try again in a moment.",
  service_unavailable: "The service is temporarily unavailable. Try again in a moment.",
  bad_gateway: "The service is temporarily unavailable. Try again in a moment.",
  gateway_timeout: "The service took too long to answer. Try again in a moment.",
};

/** A REST error response → ApiError (body `{code, message, details?, request_id?}`). */
export async function apiErrorFromResponse(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = await response.json();
    if (typeof parsed === "object" && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML error page): fall back to the status.
  }
  const code =
    typeof body.code === "string" ? body.code : response.status >= 500 ? "server_error" : "error";
  const message =
    typeof body.message === "string" && response.status < 500
      ? body.message
      : (FRIENDLY[code] ?? FRIENDLY.server_error ?? "Request failed");
  return new ApiError(message, {
    code,
    status: response.status,
    fieldErrors: fieldErrorsFrom(body.details),
    requestId: typeof body.request_id === "string" ? body.request_id : undefined,
    retryAfter: seconds(response.headers.get("Retry-After")),
  });
}

/** A `Retry-After` of delay-seconds (the services never send an HTTP date). */
function seconds(value: unknown): number | undefined {
  const number = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) && number >= 0 ? number : undefined;
}

export interface GraphQLErrorLike {
  message: string;
  extensions?: Record<string, unknown> | null;
}

/** The first GraphQL error → ApiError, using `extensions.code` (and `details`, if any). */
export function apiErrorFromGraphQL(errors: readonly GraphQLErrorLike[]): ApiError {
  const first = errors[0];
  const extensions = first?.extensions ?? {};
  const code = typeof extensions.code === "string" ? extensions.code : "graphql_error";
  const status =
    typeof extensions.status === "number" ? extensions.status : statusForCode(code.toLowerCase());
  const fieldErrors: FieldErrors = {};
  for (const error of errors)
    Object.assign(fieldErrors, fieldErrorsFrom(error.extensions?.details));
  const message =
    code === "internal_error" ? (FRIENDLY.internal_error as string) : (first?.message ?? code);
  return new ApiError(message, {
    code,
    status,
    fieldErrors,
    retryAfter: seconds(extensions.retryAfter),
  });
}

function statusForCode(code: string): number {
  if (code === "unauthenticated" || code === "unauthorized") return 401;
  if (code === "forbidden" || code === "admin_required") return 403;
  if (code === "not_found") return 404;
  if (code === "validation_error") return 422;
  return 400;
}

/** Whether a GraphQL error list says the caller is not signed in. */
export function isUnauthenticated(errors: readonly GraphQLErrorLike[] | undefined): boolean {
  return (errors ?? []).some((error) => {
    const code = error.extensions?.code;
    return (
      (typeof code === "string" &&
        ["unauthenticated", "unauthorized"].includes(code.toLowerCase())) ||
      error.extensions?.status === 401
    );
  });
}

/** A message for anything thrown by a data call. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return FRIENDLY.network_error as string;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

/**
 * Blame a form field for an error the API reports by code only (`weak_password` →
 * `newPassword`), so the message shows next to the field and focus goes there.
 */
export function blameField(error: unknown, fields: Record<string, string>): unknown {
  if (!(error instanceof ApiError)) return error;
  const field = fields[error.code];
  if (!field || error.fieldErrors[field]) return error;
  const message = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  return new ApiError(message, {
    code: error.code,
    status: error.status,
    fieldErrors: { ...error.fieldErrors, [field]: message },
    requestId: error.requestId,
    retryAfter: error.retryAfter,
  });
}
