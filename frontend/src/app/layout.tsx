import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { SiteFooter } from "@/components/SiteFooter.server";
import { SiteHeader } from "@/components/SiteHeader.client";
import { Providers } from "./providers.client";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Nova", template: "%s · Nova" },
  description: "Nova: accounts, profiles and administration on Python microservices.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Providers>
          <SiteHeader />
          <main id="main" className="page" tabIndex={-1}>
            {children}
          </main>
          <SiteFooter />
        </Providers>
      </body>
    </html>
  );
}
