"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorMessage } from "./errors";

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
  /** Replace the loaded value (after a write answered the new one). */
  replace: (update: (current: T | undefined) => T | undefined) => void;
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError
    ? error
    : new ApiError(errorMessage(error), { code: "network_error", status: 0 });
}

/**
 * Loads `load()` whenever `key` changes (nothing while `key` is null); the latest answer wins.
 * The REST side of the data screens — GraphQL's side is Apollo's `useQuery`.
 */
export function useResource<T>(key: string | null, load: () => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ data?: T; error: ApiError | null; loading: boolean }>({
    error: null,
    loading: key !== null,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // A reload is a new key: the effect runs again and an older answer is dropped.
  const requestKey = key === null ? null : `${key}#${generation}`;
  useEffect(() => {
    if (requestKey === null) return;
    let current = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    loadRef.current().then(
      (data) => {
        if (current) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (current)
          setState((previous) => ({ ...previous, error: asApiError(error), loading: false }));
      },
    );
    return () => {
      current = false;
    };
  }, [requestKey]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const replace = useCallback(
    (update: (current: T | undefined) => T | undefined) =>
      setState((previous) => ({ ...previous, data: update(previous.data) })),
    [],
  );
  return { data: state.data, error: state.error, loading: state.loading, reload, replace };
}

/**
 * Call `revalidate` each time the component is shown again after its first showing. The App
 * Router keeps recently visited pages alive while hidden (their effects are torn down and set up
 * again when shown), so a data screen coming back must ask again instead of trusting a cache.
 */
export function useRevalidateOnShow(revalidate: (() => void) | null): void {
  const latest = useRef(revalidate);
  latest.current = revalidate;
  const shownBefore = useRef(false);
  useEffect(() => {
    if (shownBefore.current) latest.current?.();
    shownBefore.current = true;
  }, []);
}
