import type { NextConfig } from "next";

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
  // `make dev` prints http://127.0.0.1:3000; `next dev` serves its scripts to localhost only
  // unless other hosts are listed (and then the page never hydrates).
  allowedDevOrigins: ["127.0.0.1", "localhost"],
  // The API paths are rewritten to the gateway by src/proxy.ts, at run time.
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
