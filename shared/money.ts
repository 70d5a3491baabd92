/**
 * The one money rule of Archive. Ledger sends unrounded binary floats and prints its
 * invoice with Python's `format(x, '.2f')`, which rounds the *exact* binary value of the
 * float to the nearest cent, ties to even (400.125 -> "400.12"). We apply the same rule
 * at the boundary so our numbers equal Ledger's invoice; past that point money is an
 * exact decimal string ("1906.22") and never a float again.
 */
import Decimal from 'decimal.js';

/** A Decimal constructor with enough precision for sums of many cents; never a float. */
export const Money = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN });
export type MoneyValue = InstanceType<typeof Money>;

/** A decimal number as text: optional minus, digits, optional fraction; no exponent. */
export const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
const AT_MOST_TWO_DECIMALS = /^-?\d+(?:\.(\d{1,2}))?$/;

/** Whole cents, exactly: a number while it is a safe integer (nearly always), a bigint past that. */
type Cents = number | bigint;

/** Digits before the point a number of cents holds exactly: below 10^15, under 2^53. */
const EXACT_INTEGER_DIGITS = 13;

/**
 * A decimal text with at most two decimals (what every amount is once past the boundary) as
 * whole cents, exactly; undefined for any other text (`-?\d+(\.\d{1,2})?` is all it takes),
 * which takes the Decimal path. Read by hand, digit by digit: a bill's checks read hundreds of
 * amounts, and sums and comparisons of cents are exact and far cheaper than Decimal's.
 */
function centsOf(value: string): Cents | undefined {
  const n = value.length;
  let i = value.charCodeAt(0) === 45 ? 1 : 0; // '-'
  const start = i;
  let cents = 0;
  for (; i < n; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    cents = cents * 10 + d;
  }
  const intDigits = i - start;
  if (intDigits === 0) return undefined;
  let decimals = 0;
  if (i < n) {
    if (value.charCodeAt(i) !== 46) return undefined; // '.'
    for (i++; i < n; i++, decimals++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9 || decimals === 2) return undefined;
      cents = cents * 10 + d;
    }
    if (decimals === 0) return undefined;
  }
  if (decimals < 2) cents *= decimals === 0 ? 100 : 10;
  if (intDigits > EXACT_INTEGER_DIGITS) return BigInt(value.slice(0, i - decimals - (decimals ? 1 : 0)) + value.slice(i - decimals).padEnd(2, '0'));
  return start === 1 && cents !== 0 ? -cents : cents;
}

/** Whole cents as text with two decimals; zero is "0.00", never "-0.00". */
function centsText(cents: Cents): string {
  const negative = cents < 0;
  const digits = (negative ? -cents : cents).toString().padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** a + b (or a - b), exactly: in numbers while the result is a safe integer, else in bigints. */
function addCents(a: Cents, b: Cents, sign: 1 | -1 = 1): Cents {
  if (typeof a === 'number' && typeof b === 'number') {
    // Both safe integers: a result within ±(2^53 - 1) is exact, and one beyond is not safe (rounding keeps it beyond).
    const r = sign === 1 ? a + b : a - b;
    if (Number.isSafeInteger(r)) return r;
  }
  return sign === 1 ? BigInt(a) + BigInt(b) : BigInt(a) - BigInt(b);
}

const absCents = (c: Cents): Cents => (c < 0 ? -c : c);

/**
 * The exact decimal expansion of a double. `toPrecision(100)` is exact for every double
 * whose expansion has at most 100 significant digits, which covers every amount that can
 * be a tie at the cent; anything smaller rounds to 0.00 either way.
 */
function exactDecimalOf(value: number): MoneyValue {
  return new Money(value.toPrecision(100));
}

/**
 * Round a value from Ledger to `places` decimals with Ledger's rule.
 * Numbers are taken at their exact binary value; decimal strings at their written value.
 */
export function roundLedger(value: number | string, places = 2): string {
  let exact: MoneyValue;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    if (places === 2) {
      // Fast path for the common case (89.99, 450, 0.5): when the shortest form of the double
      // has at most two decimals, the exact binary value lies within half an ulp of that
      // cent value, far from any tie below 1e12, so rounding it gives that value.
      const shortest = String(value);
      const m = AT_MOST_TWO_DECIMALS.exec(shortest);
      if (m && Math.abs(value) < 1e12) {
        const [int] = shortest.split('.');
        const cents = (m[1] ?? '').padEnd(2, '0');
        return value === 0 || (int === '-0' && cents === '00') ? '0.00' : `${int}.${cents}`;
      }
    }
    exact = exactDecimalOf(value);
  } else {
    if (places === 2) {
      // A text with at most two decimals is its own rounding.
      const cents = centsOf(value);
      if (cents !== undefined) return centsText(cents);
    }
    if (!DECIMAL_TEXT.test(value)) throw new RangeError(`not a decimal number: ${value}`);
    exact = new Money(value);
  }
  const rounded = exact.toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN);
  // "-0.00" is not a sum anybody wants to read.
  return (rounded.isZero() ? new Money(0) : rounded).toFixed(places);
}

/** Exact sum of decimal strings, as a string with two decimals. */
export function sumMoney(values: Iterable<string>): string {
  const list = [...values];
  let cents: Cents = 0;
  for (const v of list) {
    const c = centsOf(v);
    if (c === undefined) return sumDecimal(list);
    cents = addCents(cents, c);
  }
  return centsText(cents);
}

function sumDecimal(values: string[]): string {
  let total = new Money(0);
  for (const v of values) total = total.plus(v);
  return total.toFixed(2);
}

/** a - b, exactly, with two decimals. */
export function subtractMoney(a: string, b: string): string {
  const ca = centsOf(a);
  const cb = centsOf(b);
  if (ca !== undefined && cb !== undefined) return centsText(addCents(ca, cb, -1));
  const d = new Money(a).minus(b);
  return (d.isZero() ? new Money(0) : d).toFixed(2);
}

/** |a| > |b| for decimal strings. */
export function absGreaterThan(a: string, b: string): boolean {
  const ca = centsOf(a);
  const cb = centsOf(b);
  if (ca !== undefined && cb !== undefined) return absCents(ca) > absCents(cb);
  return new Money(a).abs().greaterThan(new Money(b).abs());
}

export function isDecimalText(value: string): boolean {
  return DECIMAL_TEXT.test(value);
}

/** "1234567.50" as "1,234,567.50" for people; empty for no value. Works on the text, never through a float. */
export function formatMoney(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const negative = value.startsWith('-');
  const [int, frac = '00'] = (negative ? value.slice(1) : value).split('.');
  return `${negative ? '−' : ''}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac.padEnd(2, '0')}`;
}
