/**
 * `archive tokens create --name NAME --scope read|ingest|admin [--expires YYYY-MM-DD]`,
 * `archive tokens list`, `archive tokens revoke NAME`: named tokens for the people and
 * services that call Archive (finance staff get `read`). A new token is printed once; only
 * its hash is kept. Works on PostgreSQL (DATABASE_URL) and on the embedded database.
 */
import type { Config } from '../config';
import { createToken, listTokens, revokeToken } from '../api-tokens';
import { openForCommand } from '../boot';
import { cliContext, recordAudit } from '../audit/trail';
import { ArchiveError } from '../errors';
import { formatTable } from './table';

type Out = (line: string) => void;

export interface TokensCommand {
  action: 'create' | 'list' | 'revoke';
  name?: string;
  scope?: string;
  expires?: string;
}

export async function tokensCommand(config: Config, cmd: TokensCommand, out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const db = await openForCommand(config, config.databaseUrl ? 2 : 1);
  try {
    if (cmd.action === 'create') {
      const expiresAt = cmd.expires ? endOfDay(cmd.expires) : undefined;
      const { token, info } = await createToken(db.knex, { name: cmd.name ?? '', scope: cmd.scope ?? '', expiresAt });
      await recordAudit(db.knex, { ...cliContext(), action: 'token.created', subject: info.name, details: { scope: info.scope, expires_at: info.expires_at } });
      out(`Token ${info.name} (${info.scope}${info.expires_at ? `, expires ${info.expires_at}` : ''}) — shown once, keep it safe:`);
      out(`  ${token}`);
      return 0;
    }
    if (cmd.action === 'revoke') {
      const info = await revokeToken(db.knex, cmd.name ?? '');
      await recordAudit(db.knex, { ...cliContext(), action: 'token.revoked', subject: info.name });
      out(`Token ${info.name} revoked at ${info.revoked_at}; requests with it are refused within a few seconds.`);
      return 0;
    }
    const list = await listTokens(db.knex);
    out('Built-in: service (SERVICE_TOKEN, ingest: posts and reads back), admin (ADMIN_TOKEN, admin: everything).');
    if (list.length === 0) out('No named tokens yet: archive tokens create --name NAME --scope read|ingest|admin');
    else
      out(
        formatTable(
          ['name', 'scope', 'created', 'expires', 'last used', 'state'],
          list.map((t) => [
            t.name,
            t.scope,
            t.created_at,
            t.expires_at ?? '—',
            t.last_used_at ?? 'never',
            t.revoked_at ? `revoked ${t.revoked_at}` : t.expires_at && Date.parse(t.expires_at) <= Date.now() ? 'expired' : 'active',
          ]),
        ),
      );
    return 0;
  } catch (err) {
    if (!(err instanceof ArchiveError)) throw err;
    const fields = (err.details?.fields as { field: string; reason: string }[] | undefined) ?? [];
    out(`archive tokens: ${fields.length ? fields.map((f) => `--${f.field} ${f.reason}`).join('; ') : err.message}`);
    return err.code === 'validation_failed' ? 2 : 1;
  } finally {
    await db.close();
  }
}

/** `YYYY-MM-DD` as the end of that day in UTC; anything else is an invalid date (refused as such). */
function endOfDay(date: string): Date {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? new Date(`${date}T23:59:59.999Z`) : new Date(NaN);
}
