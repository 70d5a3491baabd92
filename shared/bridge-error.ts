/** The bridge's error, without dependencies (the sandboxed preload can load nothing else). */
/** The typed errors every call may reject with (`code` is what the UI switches on). */
export interface BridgeErrorShape {
  code: 'not_connected' | 'unreachable' | 'unauthorized' | 'forbidden' | 'invalid_arguments' | 'server_error' | 'cancelled' | string;
  message: string;
  status?: number;
  details?: Record<string, unknown>;
}

export class BridgeError extends Error implements BridgeErrorShape {
  constructor(
    readonly code: BridgeErrorShape['code'],
    message: string,
    readonly status?: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

/** A server's error answer as a BridgeError: its message and code (401/403 by status), status and details. */
export async function errorFromResponse(res: Response): Promise<BridgeError> {
  let body: { error?: string; code?: string; details?: Record<string, unknown> } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  const message = body.error ?? `The server answered ${res.status} ${res.statusText}`.trim();
  const code = res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : (body.code ?? (res.status >= 500 ? 'server_error' : 'http_error'));
  return new BridgeError(code, message, res.status, body.details);
}
