/**
 * The one way into the archive for a bill from outside (a post, a run's bill, an import):
 * first what PostgreSQL could not store exactly (unstorableFields), on the decoded body as
 * it came, keys included; then the schema.
 */
import { SnapshotPost } from '../../shared/api';
import type { FieldError } from '../../shared/errors';
import { unstorableFields } from '../../shared/storable';
import { fieldErrorsFromZod } from '../errors';

export type SnapshotPostCheck = { ok: true; post: SnapshotPost } | { ok: false; fields: FieldError[] };

export function checkSnapshotPost(input: unknown): SnapshotPostCheck {
  const unstorable = unstorableFields(input);
  if (unstorable.length > 0) return { ok: false, fields: unstorable };
  const parsed = SnapshotPost.safeParse(input);
  if (!parsed.success) return { ok: false, fields: fieldErrorsFromZod(parsed.error, input) };
  return { ok: true, post: parsed.data };
}
