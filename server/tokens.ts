/**
 * Tokens for the zero-setup embedded mode: when none are configured, strong ones are made
 * once, kept in the data folder with mode 0600, and printed once.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MIN_TOKEN_LENGTH, type Config } from './config';
import type { Tokens } from './http/auth';

export interface EmbeddedTokens extends Tokens {
  file: string;
  created: boolean;
}

export function embeddedTokens(config: Config): EmbeddedTokens {
  const file = path.join(config.dataDir, 'tokens.json');
  let stored: Partial<Record<'service_token' | 'admin_token', string>> = {};
  let created = false;
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!valid(stored.service_token) || !valid(stored.admin_token)) {
    stored = { service_token: newToken(), admin_token: newToken() };
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify({ ...stored, created_at: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    created = true;
  }
  return {
    // Tokens set in the environment or .env win over the generated ones.
    serviceToken: valid(config.serviceToken) ? config.serviceToken! : stored.service_token!,
    adminToken: valid(config.adminToken) ? config.adminToken! : stored.admin_token!,
    file,
    created,
  };
}

function valid(t: string | undefined): boolean {
  return typeof t === 'string' && t.length >= MIN_TOKEN_LENGTH;
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}
