/**
 * Runs say more about what they could not do: a company named in a run that Codex does not
 * know is `not_found` (counted on the job), and a real run of a month that has not ended
 * records why it was allowed (`open_period_reason`).
 */
import type { Knex } from 'knex';
import { ITEM_OUTCOMES } from '../shared/runs';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_jobs', (t) => {
    t.integer('not_found_count').notNullable().defaultTo(0);
    t.text('open_period_reason');
  });
  await knex.raw(`ALTER TABLE snapshot_job_items DROP CONSTRAINT snapshot_job_items_outcome,
    ADD CONSTRAINT snapshot_job_items_outcome CHECK (outcome IS NULL OR outcome IN (${ITEM_OUTCOMES.map((s) => `'${s}'`).join(', ')}))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_jobs', (t) => {
    t.dropColumn('not_found_count');
    t.dropColumn('open_period_reason');
  });
}
