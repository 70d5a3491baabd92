/**
 * The app's screens as routes, the function a screen calls to go to another, and the route as
 * the page's address (`#/snapshots?company=Acme&sort=total_amount`), so a search can be
 * bookmarked, back and forward work, and the app opens where it was left (the last route and
 * the last search are kept in localStorage across restarts).
 */
export type Route =
  | { name: 'dashboard' }
  | { name: 'snapshots'; params?: Record<string, string> }
  | { name: 'bill'; invoice: string; revision?: number }
  | { name: 'company'; account: string }
  | { name: 'jobs' }
  | { name: 'job'; id: string }
  | { name: 'runs'; year?: number; month?: number }
  | { name: 'schedule' }
  | { name: 'audit' }
  | { name: 'connect' };

export type Go = (r: Route) => void;

const enc = encodeURIComponent;

/** The route as a hash: `#/<screen>[/<id>][?query]`. */
export function routeToHash(r: Route): string {
  switch (r.name) {
    case 'snapshots': {
      const q = new URLSearchParams(Object.entries(r.params ?? {}).filter(([, v]) => v !== '')).toString();
      return `#/snapshots${q ? `?${q}` : ''}`;
    }
    case 'bill':
      return `#/bill/${enc(r.invoice)}${r.revision ? `?revision=${r.revision}` : ''}`;
    case 'company':
      return `#/company/${enc(r.account)}`;
    case 'job':
      return `#/job/${enc(r.id)}`;
    case 'runs':
      return r.year && r.month ? `#/runs?year=${r.year}&month=${r.month}` : '#/runs';
    default:
      return `#/${r.name}`;
  }
}

/** A hash back to its route; null for anything that is not one. */
export function hashToRoute(hash: string): Route | null {
  const m = /^#\/([a-z]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const [, name, id, query] = m;
  const q = new URLSearchParams(query ?? '');
  let arg: string | undefined;
  try {
    arg = id === undefined ? undefined : decodeURIComponent(id);
  } catch {
    return null;
  }
  switch (name) {
    case 'snapshots':
      return { name, params: Object.fromEntries(q) };
    case 'bill': {
      if (!arg) return null;
      const revision = Number(q.get('revision'));
      return Number.isInteger(revision) && revision >= 1 ? { name, invoice: arg, revision } : { name, invoice: arg };
    }
    case 'company':
      return arg ? { name, account: arg } : null;
    case 'job':
      return arg ? { name, id: arg } : null;
    case 'runs':
      return q.get('year') && q.get('month') ? { name, year: Number(q.get('year')), month: Number(q.get('month')) } : { name };
    case 'dashboard':
    case 'jobs':
    case 'schedule':
    case 'audit':
    case 'connect':
      return { name };
    default:
      return null;
  }
}

const LAST_ROUTE = 'archive.lastRoute';
const LAST_SEARCH = 'archive.lastSearch';
const SAVED_SEARCHES = 'archive.savedSearches';

const read = <T>(key: string, fallback: T): T => {
  try {
    return (JSON.parse(localStorage.getItem(key) ?? 'null') as T | null) ?? fallback;
  } catch {
    return fallback;
  }
};

/** Where the app opens: the address it was opened at, else where it was left. */
export function startRoute(): Route | null {
  const here = hashToRoute(location.hash);
  return here && here.name !== 'connect' ? here : hashToRoute(read<string>(LAST_ROUTE, ''));
}

export function rememberRoute(r: Route): void {
  if (r.name !== 'connect') localStorage.setItem(LAST_ROUTE, JSON.stringify(routeToHash(r)));
}

/** The last search (filters, order, page), kept for going back to it and across restarts. */
export function lastSearch(): Record<string, string> {
  return read<Record<string, string>>(LAST_SEARCH, {});
}

export function rememberSearch(params: Record<string, string>): void {
  localStorage.setItem(LAST_SEARCH, JSON.stringify(params));
}

/** A search kept under a name. */
export interface SavedSearch {
  name: string;
  params: Record<string, string>;
}

export function savedSearches(): SavedSearch[] {
  return read<SavedSearch[]>(SAVED_SEARCHES, []);
}

/** Saves (or replaces, by name) a search; returns the new list. */
export function saveSearch(s: SavedSearch): SavedSearch[] {
  const list = [...savedSearches().filter((x) => x.name !== s.name), s].sort((a, b) => a.name.localeCompare(b.name));
  localStorage.setItem(SAVED_SEARCHES, JSON.stringify(list));
  return list;
}

export function removeSavedSearch(name: string): SavedSearch[] {
  const list = savedSearches().filter((x) => x.name !== name);
  localStorage.setItem(SAVED_SEARCHES, JSON.stringify(list));
  return list;
}
