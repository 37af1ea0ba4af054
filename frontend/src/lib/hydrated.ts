import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

/**
 * False while the server's HTML is on screen and React has not taken it over yet (and in the
 * hydrating render itself), true from then on.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
