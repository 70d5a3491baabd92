/**
 * The schedule row's NOTIFY trigger goes: nothing ever listened to it. A change of the
 * schedule is seen by the server that made it at once (it re-arms), and by every other
 * server within its poll of `updated_at` (15 s), which the touch trigger keeps moving.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS scheduled_snapshots_notify ON scheduled_snapshots');
  await knex.raw('DROP FUNCTION IF EXISTS archive_schedule_changed()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE FUNCTION archive_schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('archive_schedule', NEW.id::text);
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER scheduled_snapshots_notify AFTER INSERT OR UPDATE ON scheduled_snapshots
    FOR EACH ROW EXECUTE FUNCTION archive_schedule_changed()`);
}
