/**
 * Debian's Chromium (`apt-get install chromium`), as every browser test launches it: the
 * Playwright end-to-end tests and the Storybook story tests. Never a downloaded browser, and no
 * host but this machine resolves.
 */
export const CHROMIUM = process.env.NOVA_E2E_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  '--host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"',
];
