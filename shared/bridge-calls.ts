/**
 * Places calls by their channel's name: channel `domain:verb` becomes `calls.domain.verb`, so no
 * call can sit under another name. The preload and the web bridge both build `window.archive`
 * this way. No dependency (the sandboxed preload loads it).
 */
export function placeCalls<N extends string>(names: readonly N[], make: (name: N) => unknown): Record<string, Record<string, unknown>> {
  const calls: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const [domain, verb] = name.split(':');
    (calls[domain] ??= {})[verb] = make(name);
  }
  return calls;
}
