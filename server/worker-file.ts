/** Where a worker thread's entry is: the bundle's `<name>.js` beside the calling chunk in dist/, or, from the TypeScript sources, `<name>-tsx.mjs` (which registers tsx's loader first). */
export function workerFile(callerUrl: string, name: string): string {
  const here = new URL(callerUrl);
  return here.pathname.endsWith('.ts') ? new URL(`./${name}-tsx.mjs`, here).href : new URL(`./${name}.js`, here).href;
}
