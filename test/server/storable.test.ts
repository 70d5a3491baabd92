/** What Archive could not store exactly, named by its path in the body (shared/storable.ts). */
import { describe, expect, it } from 'vitest';
import { unstorableFields } from '../../shared/storable';

describe('unstorableFields', () => {
  it('names each finding by its path: keys, indexes, a key itself, the body', () => {
    const body = JSON.parse('{"a":{"b":[1,{"c":"x\\u0000y"}]},"d\\ud800":1,"e":[[0,"\\udc00"]],"f":{"__proto__":{}},"g":1e300,"h":{"i\\u0000":2}}');
    expect(unstorableFields(body)).toEqual([
      { field: 'a.b[1].c', reason: 'must not contain the NUL character (at position 1)' },
      { field: '(a key)', reason: 'must be valid Unicode text (a lone surrogate at position 1)' },
      { field: 'e[0][1]', reason: 'must be valid Unicode text (a lone surrogate at position 0)' },
      { field: 'f.__proto__', reason: 'is a reserved name and cannot be a key' },
      { field: 'g', reason: `must be at most ${Number.MAX_SAFE_INTEGER} in magnitude` },
      { field: 'h (a key)', reason: 'must not contain the NUL character (at position 1)' },
    ]);
    expect(unstorableFields('a\u0000')).toEqual([{ field: '(body)', reason: 'must not contain the NUL character (at position 1)' }]);
  });
  it('stops at the limit, and finds nothing in a clean bill', () => {
    expect(
      unstorableFields(
        Array.from({ length: 30 }, () => '\u0000'),
        5,
      ),
    ).toHaveLength(5);
    expect(unstorableFields({ a: [1, 'two', { three: null }] })).toEqual([]);
  });
  it('refuses nesting past the bound at the place it goes too deep', () => {
    let v: unknown = 1;
    for (let i = 0; i < 40; i++) v = [v];
    expect(unstorableFields(v)).toEqual([{ field: '[0]'.repeat(32), reason: 'nests deeper than 32 levels' }]);
  });
});
