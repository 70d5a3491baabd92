/**
 * The scheduler's configuration row and the record of snapshot runs (jobs).
 * Same table names and fields as the earlier Archive, with real types.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scheduled_snapshots', (t) => {
    t.integer('id').primary();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.string('day_of_month', 4).notNullable().defaultTo('1');
    t.integer('hour').notNullable().defaultTo(2);
    t.string('timezone', 64);
    t.boolean('snapshot_previous_month').notNullable().defaultTo(true);
    t.boolean('snapshot_all_companies').notNullable().defaultTo(true);
    t.jsonb('account_numbers').notNullable().defaultTo('[]');
    t.timestamp('last_run_at', { useTz: true });
    t.string('last_run_status', 20);
    t.integer('last_run_count');
    t.text('last_run_log');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE scheduled_snapshots
    ADD CONSTRAINT scheduled_snapshots_single_row CHECK (id = 1),
    ADD CONSTRAINT scheduled_snapshots_day CHECK (day_of_month = 'last' OR day_of_month ~ '^([1-9]|1[0-9]|2[0-8])$'),
    ADD CONSTRAINT scheduled_snapshots_hour CHECK (hour BETWEEN 0 AND 23),
    ADD CONSTRAINT scheduled_snapshots_status CHECK (last_run_status IS NULL OR last_run_status IN ('success', 'partial', 'failed')),
    ADD CONSTRAINT scheduled_snapshots_accounts_array CHECK (jsonb_typeof(account_numbers) = 'array')`);

  await knex.schema.createTable('snapshot_jobs', (t) => {
    t.uuid('id').primary();
    t.string('job_type', 20).notNullable();
    t.boolean('dry_run').notNullable().defaultTo(false);
    t.string('status', 20).notNullable();
    t.integer('target_year').notNullable();
    t.integer('target_month').notNullable();
    t.jsonb('target_account_numbers');
    t.integer('total_companies').notNullable().defaultTo(0);
    t.integer('completed_companies').notNullable().defaultTo(0);
    t.integer('failed_companies').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.jsonb('output');
    t.text('error');
    t.boolean('success');
    t.string('triggered_by', 100);
  });
  await knex.raw(`ALTER TABLE snapshot_jobs
    ADD CONSTRAINT snapshot_jobs_month CHECK (target_month BETWEEN 1 AND 12),
    ADD CONSTRAINT snapshot_jobs_year CHECK (target_year BETWEEN 2000 AND 2100)`);
  await knex.raw(`CREATE INDEX idx_jobs_created ON snapshot_jobs (created_at DESC)`);
  await knex.raw(`CREATE INDEX idx_jobs_period ON snapshot_jobs (target_year, target_month)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('snapshot_jobs');
  await knex.schema.dropTable('scheduled_snapshots');
}
