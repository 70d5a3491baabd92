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

