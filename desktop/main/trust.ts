/**
 * What the app trusted of each server's log (shared/monitor.ts): the verifier key it saw first
 * and the last checkpoint it verified, in trust.json in the app's data folder. Not secret, but
 * written whole (a temporary file, then renamed), so a crash never leaves half a record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BridgeError } from '../../shared/bridge-error';
import type { TrustRecord, TrustStore } from '../../shared/monitor';

export class FileTrustStore implements TrustStore {
  private readonly file: string;

  constructor(userDataDir: string) {
    this.file = path.join(userDataDir, 'trust.json');
  }

  private read(): Record<string, TrustRecord> {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, TrustRecord>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new BridgeError('storage', `Cannot read what this computer trusted of the servers' logs (${this.file}): ${(err as Error).message}`);
    }
  }

  private write(all: Record<string, TrustRecord>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  get(serverId: string): TrustRecord | null {
    return this.read()[serverId] ?? null;
  }

  set(serverId: string, record: TrustRecord): void {
    this.write({ ...this.read(), [serverId]: record });
  }

  remove(serverId: string): void {
    const all = this.read();
    delete all[serverId];
    this.write(all);
  }
}
