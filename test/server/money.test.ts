/** The money rule: Python's format(x, '.2f') on the exact binary value, ties to even. */
import Decimal from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { absGreaterThan, roundLedger, subtractMoney, sumMoney } from '../../shared/money';

// Printed by CPython 3.11: [format(x, '.2f') for x in ...]
const PYTHON: [number, string][] = [
  [400.125, '400.12'],
  [1906.2169999999637, '1906.22'],
  [14.996999999963627, '15.00'],
  [2.675, '2.67'],
  [0.125, '0.12'],
  [0.375, '0.38'],
  [164.99999999999997, '165.00'],
  [3.3499999999999996, '3.35'],
  [0.30000000000000004, '0.30'],
  [41.25000000000001, '41.25'],
  [1e-300, '0.00'],
  [123456789.125, '123456789.12'],
  [9.498099999979996, '9.50'],
  [1189.48309999998, '1189.48'],
  [170.99999999992633, '171.00'],
  [0.005, '0.01'],
  [0.015, '0.01'],
  [1.005, '1.00'],
];

describe('roundLedger', () => {
  it.each(PYTHON)('%s -> %s as Python prints it', (x, expected) => {
    expect(roundLedger(x)).toBe(expected);
  });
  it('differs from toFixed where toFixed is wrong for Ledger', () => {
    expect((400.125).toFixed(2)).toBe('400.13');
    expect(roundLedger(400.125)).toBe('400.12');
  });
  it('takes decimal strings at their written value, ties to even', () => {
    expect(roundLedger('2.675')).toBe('2.68');
    expect(roundLedger('2.665')).toBe('2.66');
    expect(roundLedger('10')).toBe('10.00');
  });
  it('never writes negative zero', () => {
    expect(roundLedger(-0.001)).toBe('0.00');
  });
  it('refuses what is not a number', () => {
    expect(() => roundLedger(Number.NaN)).toThrow();
    expect(() => roundLedger('1e5')).toThrow();
  });
});

describe('exact sums', () => {
  it('0.10 + 0.20 = 0.30', () => {
    expect(sumMoney(['0.10', '0.20'])).toBe('0.30');
    expect(0.1 + 0.2).not.toBe(0.3);
  });
  it('a million cents', () => {
    expect(sumMoney(Array.from({ length: 1_000_000 }, () => '0.01'))).toBe('10000.00');
  });
  it('subtracts exactly', () => {
    expect(subtractMoney('417.79', '417.80')).toBe('-0.01');
    expect(subtractMoney('1.00', '1.00')).toBe('0.00');
  });
});

describe('the fast path agrees with the exact rule', () => {
  it('on a hundred thousand values with up to six decimals, and their float neighbours', () => {
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const mismatches: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const x = (next() % 10_000_000) / 10 ** (next() % 7);
      for (const v of [x, -x, x * (1 + Number.EPSILON), x * 3.3]) {
        const exact = new Decimal(v.toPrecision(100)).toDecimalPlaces(2, 6).toFixed(2);
        const want = exact === '-0.00' ? '0.00' : exact;
        const got = roundLedger(v);
        if (got !== want && mismatches.length < 10) mismatches.push(`${v}: ${got} != ${want}`);
      }
    }
    expect(mismatches).toEqual([]);
  }, 120_000);
});

describe('the cents path agrees with Decimal', () => {
  const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN });
  const plain = (d: Decimal) => (d.isZero() ? '0.00' : d.toFixed(2));
  let seed = 11;
  const next = () => (seed = (seed * 48271) % 2147483647);
  const text = () => {
    const sign = next() % 3 === 0 ? '-' : '';
    const int = String(next() % 10 ** (next() % 12)).padStart(1 + (next() % 3 === 0 ? 2 : 0), '0');
    const places = next() % 3;
    return places === 0 ? `${sign}${int}` : `${sign}${int}.${String(next() % 10 ** places).padStart(places, '0')}`;
  };
  it('on twenty thousand texts with zero to two decimals, leading zeros, minus zero', () => {
    const mismatches: string[] = [];
    const edge = ['0', '-0', '-0.00', '0.0', '-0.5', '007.1', '9999999999.99', '-10000000000.00'];
    for (let i = 0; i < 20_000; i++) {
      const a = i < edge.length ? edge[i] : text();
      const b = text();
      const list = [a, b, text(), text()];
      const want = {
        round: plain(new D(a).toDecimalPlaces(2)),
        sum: list.reduce((t, v) => t.plus(v), new D(0)).toFixed(2),
        diff: plain(new D(a).minus(b)),
        greater: new D(a).abs().greaterThan(new D(b).abs()),
      };
      const got = { round: roundLedger(a), sum: sumMoney(list), diff: subtractMoney(a, b), greater: absGreaterThan(a, b) };
      if (JSON.stringify(got) !== JSON.stringify(want) && mismatches.length < 10) mismatches.push(`${list.join(' ')}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    }
    expect(mismatches).toEqual([]);
  });
  it('stays exact past 2^53 cents, where numbers of cents give way to bigints', () => {
    const big = () =>
      `${next() % 2 ? '-' : ''}${String(next())
        .repeat(1 + (next() % 3))
        .slice(0, 11 + (next() % 12))}.${String(next() % 100).padStart(2, '0')}`;
    const mismatches: string[] = [];
    const edge = ['90071992547409.91', '90071992547409.92', '-90071992547409.91', '9999999999999.99', '10000000000000.00', '45035996273704.96'];
    for (let i = 0; i < 5_000; i++) {
      const list = i < edge.length ? [edge[i], edge[i], '0.01'] : [big(), big(), text(), big()];
      const [a, b] = list;
      const want = { sum: list.reduce((t, v) => t.plus(v), new D(0)).toFixed(2), diff: plain(new D(a).minus(b)), greater: new D(a).abs().greaterThan(new D(b).abs()), round: plain(new D(a)) };
      const got = { sum: sumMoney(list), diff: subtractMoney(a, b), greater: absGreaterThan(a, b), round: roundLedger(a) };
      if (JSON.stringify(got) !== JSON.stringify(want) && mismatches.length < 10) mismatches.push(`${list.join(' ')}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    }
    expect(mismatches).toEqual([]);
  });
  it('reads nothing but digits, one point and up to two decimals as cents', () => {
    for (const bad of ['', '-', '+1', ' 1', '1 ', '1.', '.5', '1e3', '1,00', '١٢']) expect(() => roundLedger(bad), bad).toThrow(/not a decimal number/);
    expect(roundLedger('1.234')).toBe('1.23');
  });
  it('falls back to Decimal for more decimals, in a sum as anywhere', () => {
    expect(sumMoney(['0.10', '0.205'])).toBe('0.30');
    expect(sumMoney(['0.10', '0.215'])).toBe('0.32');
    expect(absGreaterThan('0.011', '0.01')).toBe(true);
    expect(subtractMoney('1.005', '1')).toBe('0.00');
  });
});
