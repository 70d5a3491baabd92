import { textProblem } from '../../shared/storable';
import { validationError } from '../errors';

/**
 * Query strings for the schemas: a repeated parameter stays an array so the schema refuses it
 * by name; a name or value no database could compare (NUL, a lone surrogate) is refused here.
 */
export function singleValued(query: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (key === '__proto__') throw validationError([{ field: key, reason: 'is not a known parameter' }], 'query');
    for (const text of [key, ...(Array.isArray(value) ? value : [value])]) {
      const problem = textProblem(text);
      if (problem) throw validationError([{ field: textProblem(key) ? '(a parameter name)' : key, reason: problem }], 'query');
    }
    out[key] = value;
  }
  return out;
}
