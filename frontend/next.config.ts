import type { NextConfig } from "next";

/** Where the gateway listens; every API call of the browser goes through these rewrites. */
const gateway = (process.env.NOVA_GATEWAY_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
];

const nextConfig: NextConfig = {
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // Rewrites are read when the server starts: NOVA_GATEWAY_URL is a run-time setting of
  // `next start` / `node server.js` as well as of `next dev`.
  async rewrites() {
    return {
      beforeFiles: [],
      afterFiles: [
        { source: "/api/auth/:path*", destination: `${gateway}/api/auth/:path*` },
        { source: "/api/users", destination: `${gateway}/api/users` },
        { source: "/api/users/:path*", destination: `${gateway}/api/users/:path*` },
        { source: "/graphql", destination: `${gateway}/graphql` },
      ],
      fallback: [],
    };
  },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
