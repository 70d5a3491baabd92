/**
 * The schedule's time zone is checked by the database too: an empty or unknown zone written
 * with plain SQL is refused, instead of breaking every reading of the schedule later.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`UPDATE scheduled_snapshots SET timezone = NULL WHERE timezone IS NOT NULL AND btrim(timezone) = ''`);
  await knex.raw(`CREATE FUNCTION archive_check_schedule_zone() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.timezone IS NOT NULL THEN
        IF NEW.timezone = '' OR NEW.timezone <> btrim(NEW.timezone) THEN
          RAISE EXCEPTION 'scheduled_snapshots.timezone must be an IANA time zone such as Europe/Berlin, or NULL for the server''s zone (got %)', quote_literal(NEW.timezone)
            USING ERRCODE = 'check_violation';
        END IF;
        BEGIN
          PERFORM now() AT TIME ZONE NEW.timezone;
        EXCEPTION WHEN invalid_parameter_value THEN
          RAISE EXCEPTION 'scheduled_snapshots.timezone % is not a time zone PostgreSQL knows; use an IANA name such as Europe/Berlin, or NULL', quote_literal(NEW.timezone)
            USING ERRCODE = 'check_violation';
        END;
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER scheduled_snapshots_zone BEFORE INSERT OR UPDATE OF timezone ON scheduled_snapshots
    FOR EACH ROW EXECUTE FUNCTION archive_check_schedule_zone()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS scheduled_snapshots_zone ON scheduled_snapshots');
  await knex.raw('DROP FUNCTION IF EXISTS archive_check_schedule_zone()');
}
