import type { StorybookConfig } from "@storybook/nextjs-vite";

/**
 * Storybook for the design system and the feature components, on Vite with Next's module
 * mocks (`next/navigation`, `next/link`). Every story is also a test: `npm run test:story:run`
 * renders each one in Debian's Chromium through Vitest (vitest.config.ts, project `storybook`),
 * runs its `play` function and its accessibility checks.
 *
 * Nothing is fetched from the network: the fonts are the system's, the API is answered by Mock
 * Service Worker (its worker script is served from ./public), and telemetry is off.
 */
const config: StorybookConfig = {
  stories: ["../src/**/*.stories.tsx"],
  addons: ["@storybook/addon-a11y", "@storybook/addon-vitest"],
  framework: { name: "@storybook/nextjs-vite", options: {} },
  staticDirs: ["./public"],
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  // Dependencies only some stories import are bundled up front: Vite would otherwise find one
  // mid-run (the first story that draws a QR code) and reload the page under a running test.
  viteFinal: (vite) => ({
    ...vite,
    optimizeDeps: {
      ...vite.optimizeDeps,
      include: [...(vite.optimizeDeps?.include ?? []), "qrcode"],
    },
  }),
};

export default config;
