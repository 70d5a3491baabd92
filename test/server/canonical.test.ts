/**
 * shared/canonical.ts's fast JCS writer against the `canonicalize` package (the reference
 * RFC 8785 implementation it replaces on the hot path): the same text for every real Ledger
 * bill and for 20,000 seeded random JSON values with the awkward parts (keys that are array
 * indexes, a toJSON key, unicode and lone surrogates, -0, exponents, deep nesting). A single
 * difference would make `archive verify` call an untouched bill tampered.
 */
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../shared/canonical';
import { fixtureBills } from '../helpers/fixtures';

function random(seed: number) {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const keys = ['a', 'b', 'B', 'é', 'ä', '€', '\u{1F600}', '0', '1', '10', '9', '01', '-1', '4294967295', '4294967294', 'toJSON', '__proto__', '', ' ', '\ud800', 'line_items', 'aa', 'a\u0000'];
  const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.12345679, 14.996999999963627, Number.MAX_SAFE_INTEGER, 5e-324, 2 ** 53, 89.99 * 1.07];
  const strings = ['', 'x', 'Zoë', '"quoted"', 'back\\slash', 'tab\t', '\u2028', '\ud83d', 'emoji \u{1F600}', 'ctrl \u0001'];
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 4 || r < 0.3) return pick<unknown>([...numbers, ...strings, true, false, null]);
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    // As JSON.parse makes them: `__proto__` an own member, not the prototype.
    for (let i = Math.floor(next() * 6); i > 0; i--) Object.defineProperty(o, pick(keys), { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  };
  return value;
}

describe('canonicalJson', () => {
  it('writes every real Ledger bill as canonicalize does', () => {
    const bills = fixtureBills();
    expect(bills.length).toBeGreaterThan(20);
    for (const b of bills) expect(canonicalJson(b.body)).toBe(canonicalize(b.body));
  });

  it('keeps a __proto__ member, and refuses what JSON cannot say, as canonicalize does', () => {
    const parsed = JSON.parse('{"x":{"b":1,"__proto__":{"y":1},"a":2}}');
    expect(canonicalJson(parsed)).toBe(canonicalize(parsed));
    expect(canonicalJson(parsed)).toBe('{"x":{"__proto__":{"y":1},"a":2,"b":1}}');
    expect(() => canonicalJson(JSON.parse('{"a":1e400}'))).toThrow();
  });

  it('writes 20,000 random values as canonicalize does', () => {
    const value = random(20261202);
    for (let i = 0; i < 20_000; i++) {
      const v = value(0);
      expect(canonicalJson(v), JSON.stringify(v)).toBe(canonicalize(v));
    }
  });
});
