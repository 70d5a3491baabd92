/** `archive doctor [--json] [--no-peers]`: the installation checked, a line a finding; exit 0 OK, 1 a warning, 2 a failure. */
import { ConfigError, loadConfig } from '../config';
import { exitCodeOf, runDoctor, type Finding } from '../ops/doctor';

type Out = (line: string) => void;

export async function doctorCommand(opts: { json?: boolean; peers?: boolean; env?: NodeJS.ProcessEnv; cwd?: string }, out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  let findings: Finding[];
  try {
    const config = loadConfig(opts.env ?? process.env, opts.cwd ?? process.cwd());
    findings = await runDoctor(config, { peers: opts.peers, cwd: opts.cwd });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    findings = [{ status: 'FAIL', area: 'configuration', message: err.message.replace(/\n\s*/g, ' '), action: 'fix .env (see README "Configuration")' }];
  }
  const code = exitCodeOf(findings);
  if (opts.json) out(JSON.stringify({ status: ['OK', 'WARN', 'FAIL'][code], findings }, null, 2));
  else {
    const width = Math.max(...findings.map((f) => f.area.length));
    for (const f of findings) out(`${f.status.padEnd(4)}  ${f.area.padEnd(width)}  ${f.message}${f.action ? `\n      ${' '.repeat(width)}  -> ${f.action}` : ''}`);
    const n = (s: string) => findings.filter((f) => f.status === s).length;
    out(`\n${n('OK')} OK, ${n('WARN')} WARN, ${n('FAIL')} FAIL`);
  }
  return code;
}
