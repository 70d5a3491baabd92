/** The bridge for React: its context, the connected server's settings, and the hooks that load data through it (useAsync, useDebounced). */
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { About } from '../../../shared/api';
import type { ArchiveBridge } from '../../../shared/bridge';

export const BridgeContext = createContext<ArchiveBridge | null>(null);

/** The connected server's settings (`GET /api/about`), once loaded. */
export const AboutContext = createContext<About | null>(null);

/** Whether the connected token may do this (`read`, `ingest`, `admin`); false until known. */
export function useCan(scope: 'read' | 'ingest' | 'admin'): boolean {
  return useContext(AboutContext)?.token.scopes.includes(scope) ?? false;
}

/** The currency every amount is in (ARCHIVE_CURRENCY), or '' until known. */
export function useCurrency(): string {
  return useContext(AboutContext)?.currency ?? '';
}

export function useBridge(): ArchiveBridge {
  const b = useContext(BridgeContext);
  if (!b) throw new Error('no bridge');
  return b;
}

/** Loads data, with its error and a reload; stale answers of earlier calls are dropped. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: Error | undefined; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    // A new call clears the last one's error: a stale error never stands beside fresh results.
    setState((s) => ({ data: s.data, loading: true }));
    fn().then(
      (data) => n === seq.current && setState({ data, loading: false }),
      (error: Error) => n === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    // The caller's dependency list, as with useEffect (callers are checked: additionalHooks in eslint.config.js).
    // eslint-disable-next-line react-hooks/exhaustive-deps, react-hooks/use-memo
  }, deps);
  useEffect(run, [run]);
  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
