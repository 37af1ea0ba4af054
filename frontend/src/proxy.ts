import { type NextRequest, NextResponse } from "next/server";
import { gatewayUrl, RESUME_PATH } from "@/lib/server/config";

/**
 * Same-origin API: `/api/auth/*`, `/api/users/*` and `/graphql` are rewritten to the gateway.
 *
 * A rewrite here rather than in next.config's `rewrites()`: those are resolved by `next build`
 * and frozen into the build output, while the gateway's address is a run-time setting
 * (`NOVA_GATEWAY_URL`, default http://127.0.0.1:8000) that differs between `make dev`, the
 * container image and each Kubernetes install. The server components' own calls use the same
 * address (`src/lib/server/gateway.ts`).
 */
export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  // Next's own route under the auth prefix (the refresh cookie's path): a page's refresh.
  if (pathname === RESUME_PATH) return NextResponse.next();
  return NextResponse.rewrite(new URL(`${gatewayUrl()}${pathname}${search}`));
}

export const config = {
  matcher: ["/api/auth/:path*", "/api/users", "/api/users/:path*", "/graphql"],
};
