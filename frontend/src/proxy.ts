import { type NextRequest, NextResponse } from "next/server";

/**
 * Same-origin API: `/api/auth/*`, `/api/users/*` and `/graphql` are rewritten to the gateway.
 *
 * A rewrite here rather than in next.config's `rewrites()`: those are resolved by `next build`
 * and frozen into the build output, while the gateway's address is a run-time setting
 * (`NOVA_GATEWAY_URL`, default http://127.0.0.1:8000) that differs between `make dev`, the
 * container image and each Kubernetes install.
 */
export function gatewayUrl(): string {
  return (process.env.NOVA_GATEWAY_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
}

export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  return NextResponse.rewrite(new URL(`${gatewayUrl()}${pathname}${search}`));
}

export const config = {
  matcher: ["/api/auth/:path*", "/api/users", "/api/users/:path*", "/graphql"],
};
