import type { NextRequest } from "next/server";
import { loginUrl, safeNextPath } from "@/lib/next-path";
import { REFRESH_COOKIE, RESUMED_COOKIE, RESUMED_SECONDS } from "@/lib/server/config";
import { refreshSession } from "@/lib/server/gateway";

/**
 * `GET /api/auth/resume?next=/profile`: a server-rendered page found no valid access token. The
 * browser sends the refresh cookie here (its path is the auth prefix); this route makes the
 * browser's refresh exchange with the gateway and answers a redirect that carries the gateway's
 * cookies: back to `next` with the rotated session, or to the login page when the session is
 * over. A gateway that cannot answer sends the browser back too: the page then leaves the
 * session to the browser's own code, which shows the outage.
 */
export const dynamic = "force-dynamic";

function seeOther(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ Location: location, "Cache-Control": "no-store" });
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  return new Response(null, { status: 303, headers });
}

const resumed = `${RESUMED_COOKIE}=1; Path=/; Max-Age=${RESUMED_SECONDS}; HttpOnly; SameSite=Lax`;

export async function GET(request: NextRequest): Promise<Response> {
  const next = safeNextPath(request.nextUrl.searchParams.get("next"));
  const refreshToken = request.cookies.get(REFRESH_COOKIE)?.value;
  // No session in this browser: the login page, without a notice (nothing ended here).
  if (!refreshToken) return seeOther(loginUrl(next));
  const answer = await refreshSession(refreshToken, {
    forwardedFor: request.headers.get("x-forwarded-for"),
  });
  if (answer === null || answer.status >= 500 || answer.status === 409) {
    // Unreachable, or another tab's refresh rotated the token meanwhile (its cookies are set).
    return seeOther(next, [...(answer?.cookies ?? []), resumed]);
  }
  if (answer.status >= 200 && answer.status < 300) {
    return seeOther(next, [...answer.cookies, resumed]);
  }
  // Refused: the gateway's answer clears both cookies.
  return seeOther(loginUrl(next, "expired"), answer.cookies);
}
