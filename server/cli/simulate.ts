/**
 * `archive simulate` (`npm run sim`): Codex and Ledger simulated on their usual ports
 * (5010 and 5011), for demos, trials of a deployment, and the benchmark.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startSimulator, type SimOptions } from '../sim/server';

export async function simulate(opts: SimOptions, out: (l: string) => void = (l) => process.stdout.write(l + '\n')): Promise<() => Promise<void>> {
  const sim = await startSimulator(opts);
  out(`Codex simulator:  ${sim.codexUrl}   (GET /api/companies, /api/companies/<account>)`);
  out(`Ledger simulator: ${sim.ledgerUrl}   (GET /api/billing/<account>?year=&month=, /api/invoice/<account>/summary)`);
  out(`${sim.accounts().length} companies${opts.fixturesDir ? ` (with the real Ledger fixtures from ${opts.fixturesDir})` : ''}; token: ${opts.token ? 'only the one given' : 'any bearer token'}`);
  out(`Settings (change at run time with POST /_sim/settings on either port): ${JSON.stringify(sim.settings)}`);
  return () => sim.close();
}

/** The real Ledger fixtures of the checkout (test/fixtures/ledger), when they are there. */
export function defaultFixturesDir(): string | undefined {
  const dir = path.resolve(process.cwd(), 'test/fixtures/ledger');
  return fs.existsSync(path.join(dir, 'companies.json')) ? dir : undefined;
}
