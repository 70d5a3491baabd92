/**
 * Saved servers and their admin tokens. Tokens are encrypted with the operating system's
 * keyring through Electron's safeStorage and never leave the main process. Where the system
 * offers no keyring, a token is kept in memory for this session only (never written in
 * clear), and the renderer is told so.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SavedServer, ServerInput } from '../../shared/bridge';
import { BridgeError } from '../../shared/bridge';

/** The part of Electron's safeStorage we use (a fake in tests). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /**
   * Linux only: which store safeStorage uses. Without a keyring it is `basic_text`, a key
   * built into Chromium, while isEncryptionAvailable() still says true: no protection at all.
   */
  getSelectedStorageBackend?(): string;
}

/** Backends that protect nothing: a fixed key (`basic_text`), or none chosen yet (`unknown`). */
const NO_KEYRING_BACKENDS = new Set(['basic_text', 'unknown']);

interface StoredServer {
  id: string;
  name: string;
  url: string;
  /** base64 of safeStorage's ciphertext */
  token?: string;
}

export class ServerStore {
  private readonly file: string;
  private readonly sessionTokens = new Map<string, string>();

  constructor(
    userDataDir: string,
    private readonly safeStorage: SafeStorageLike,
  ) {
    this.file = path.join(userDataDir, 'servers.json');
  }

  private read(): StoredServer[] {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as StoredServer[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new BridgeError('storage', `Cannot read the saved servers (${this.file}): ${(err as Error).message}`);
    }
  }

  private write(servers: StoredServer[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(servers, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  private view(s: StoredServer): SavedServer {
    return { id: s.id, name: s.name, url: s.url, hasToken: Boolean(s.token) || this.sessionTokens.has(s.id), sessionOnly: this.sessionTokens.has(s.id) };
  }

  list(): SavedServer[] {
    return this.read().map((s) => this.view(s));
  }

  /** Adds a server, or updates the one with the same URL; a new token replaces the old. */
  save(input: ServerInput): SavedServer {
    const servers = this.read();
    const url = input.url.replace(/\/+$/, '');
    let s = servers.find((x) => x.url === url);
    if (!s) {
      s = { id: randomUUID(), name: input.name, url };
      servers.push(s);
    }
    s.name = input.name;
    if (input.token) {
      if (this.keyringAvailable()) {
        s.token = this.safeStorage.encryptString(input.token).toString('base64');
        this.sessionTokens.delete(s.id);
      } else {
        delete s.token;
        this.sessionTokens.set(s.id, input.token);
      }
    }
    this.write(servers);
    return this.view(s);
  }

  remove(id: string): void {
    this.sessionTokens.delete(id);
    this.write(this.read().filter((s) => s.id !== id));
  }

  get(id: string): SavedServer {
    const s = this.read().find((x) => x.id === id);
    if (!s) throw new BridgeError('not_found', 'This server is not saved (any more)');
    return this.view(s);
  }

  /** The token in clear, for the API client only. */
  token(id: string): string | undefined {
    const session = this.sessionTokens.get(id);
    if (session) return session;
    const servers = this.read();
    const s = servers.find((x) => x.id === id);
    if (!s?.token) return undefined;
    let token: string;
    try {
      token = this.safeStorage.decryptString(Buffer.from(s.token, 'base64'));
    } catch {
      throw new BridgeError('storage', 'The saved token cannot be decrypted on this system (was the keyring reset?); enter it again');
    }
    if (!this.keyringAvailable()) {
      // Saved under a fixed key (no keyring): keep it for this session only and take it off the disk.
      this.sessionTokens.set(s.id, token);
      delete s.token;
      this.write(servers);
    }
    return token;
  }

  /** A real keyring: encryption available, and on Linux a backend other than `basic_text`. */
  keyringAvailable(): boolean {
    if (!this.safeStorage.isEncryptionAvailable()) return false;
    const backend = this.safeStorage.getSelectedStorageBackend?.();
    return backend === undefined || !NO_KEYRING_BACKENDS.has(backend);
  }
}
