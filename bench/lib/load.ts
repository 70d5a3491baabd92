/** A closed-loop load generator: N workers, each sending its next request when the last returns. */
export interface LoadRequest {
  kind: string;
  path: string;
  init?: RequestInit;
  expect: number[];
}

export interface LoadResult {
  seconds: number;
  byKind: Map<string, number[]>;
  errors: Map<string, number>;
  completed: number;
}

export async function runLoad(opts: {
  baseUrl: string;
  concurrency: number;
  /** Next request, or undefined when there is no more work. */
  next: (worker: number) => LoadRequest | undefined;
  /** Stop after this many ms even with work left. */
  maxMs?: number;
}): Promise<LoadResult> {
  const byKind = new Map<string, number[]>();
  const errors = new Map<string, number>();
  const started = performance.now();
  const deadline = opts.maxMs ? started + opts.maxMs : Number.POSITIVE_INFINITY;
  let completed = 0;
  const worker = async (w: number) => {
    for (;;) {
      if (performance.now() >= deadline) return;
      const req = opts.next(w);
      if (!req) return;
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(opts.baseUrl + req.path, req.init);
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = -1;
      }
      const dt = performance.now() - t0;
      if (!req.expect.includes(status)) {
        const key = `${req.kind}: ${status}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
      let list = byKind.get(req.kind);
      if (!list) byKind.set(req.kind, (list = []));
      list.push(dt);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
  return { seconds: (performance.now() - started) / 1000, byKind, errors, completed };
}
