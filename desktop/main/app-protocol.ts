/**
 * The window loads the app from `app://archive/`, a scheme of our own, instead of file://:
 * responses of a file:// load carry no headers, so the Content-Security-Policy would be only
 * the page's meta tag. Every file served here carries the strict policy as a header, and
 * nothing outside the renderer's folder can be read through it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export const APP_SCHEME = 'app';
export const APP_ENTRY = 'app://archive/index.html';

/** The window's policy: only our own scripts and styles, no network (the bridge does that), no frames, no plugins. */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The answer to one `app://` request: a file of `rootDir` with the policy, or 404. */
export async function serveRendererFile(rootDir: string, requestUrl: string): Promise<Response> {
  const headers = { 'Content-Security-Policy': RENDERER_CSP, 'X-Content-Type-Options': 'nosniff' };
  const notFound = () => new Response('not found', { status: 404, headers: { ...headers, 'Content-Type': 'text/plain' } });
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return notFound();
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== 'archive') return notFound();
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return notFound();
  }
  // No way out of the folder: no `..` segment, no backslash (a separator on Windows), no NUL,
  // whatever the URL parser left of them; and the resolved file must lie inside the folder.
  if (rel.split('/').includes('..') || rel.includes('\\') || rel.includes('\u0000')) return notFound();
  const root = path.resolve(rootDir);
  const file = path.resolve(root, `.${path.posix.normalize(rel === '/' ? '/index.html' : rel)}`);
  if (file !== root && !file.startsWith(root + path.sep)) return notFound();
  try {
    const data = await fs.readFile(file);
    return new Response(data, { status: 200, headers: { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' } });
  } catch {
    return notFound();
  }
}
