/**
 * The ordered list of migrations, as a knex migration source: no directory scanning,
 * so the same list runs under tsx, vitest and a bundled build.
 */
import type { Knex } from 'knex';
import * as m001 from './20261128_001_archive_tables';
import * as m002 from './20261128_002_scheduler_and_jobs';
import * as m003 from './20261128_003_runs';
import * as m004 from './20261201_004_schedule_zone';
import * as m005 from './20261201_005_run_refusals';
import * as m006 from './20261201_006_drop_schedule_notify';
import * as m007 from './20261202_007_api_tokens';
import * as m008 from './20261202_008_integrity_log';
import * as m009 from './20261202_009_audit_trail';
import * as m010 from './20261202_010_corrections';
import * as m011 from './20261202_011_canonical_billing_data';
import * as m012 from './20261203_012_billing_data_lz4';
import * as m013 from './20261204_013_superseding_index';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: [string, Migration][] = [
  ['20261128_001_archive_tables', m001],
  ['20261128_002_scheduler_and_jobs', m002],
  ['20261128_003_runs', m003],
  ['20261201_004_schedule_zone', m004],
  ['20261201_005_run_refusals', m005],
  ['20261201_006_drop_schedule_notify', m006],
  ['20261202_007_api_tokens', m007],
  ['20261202_008_integrity_log', m008],
  ['20261202_009_audit_trail', m009],
  ['20261202_010_corrections', m010],
  ['20261202_011_canonical_billing_data', m011],
  ['20261203_012_billing_data_lz4', m012],
  ['20261204_013_superseding_index', m013],
];

export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => MIGRATIONS,
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
