/**
 * Named tokens with a scope (`archive tokens create`): stored as SHA-256 hashes only, shown
 * once. A token is revoked by stamping `revoked_at`, never deleted, so who had access stays on
 * record; its name is never reused.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE api_tokens (
    name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$' AND name NOT IN ('service', 'admin')),
    scope text NOT NULL CHECK (scope IN ('read', 'ingest', 'admin')),
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
  )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE api_tokens');
}
