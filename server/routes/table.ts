/**
 * The one route table. Every route names its method, its exact path and who may call it,
 * right where it is declared; the app registers the table on one case-sensitive, strict
 * router, and the route-table test walks the same list. There is no prefix-level guard:
 * a route without a declared scope cannot be written.
 */
import type Koa from 'koa';
import type { Scope } from '../http/auth';

/** `public`: no token (only `/health`); otherwise the scope a token must hold. */
export type Access = Scope | 'public';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  access: Access;
  handle: Koa.Middleware[];
}

export const get = (path: string, access: Access, ...handle: Koa.Middleware[]): Route => ({ method: 'GET', path, access, handle });
export const post = (path: string, access: Access, ...handle: Koa.Middleware[]): Route => ({ method: 'POST', path, access, handle });
