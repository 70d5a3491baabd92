import { periodText } from './period';
/**
 * File names of a bill's exports, as Ledger names its CSV download: `<Company_Name>_<YYYY>-<MM>.<ext>`
 * (spaces to `_`, only letters, digits, `_` and `-` kept; the account number when nothing is left).
 * Browser-safe; the desktop app's exports and the server's downloads share them.
 */

/** Longest base name kept, in characters: far below every file system's 255-byte limit even in UTF-8. */
const MAX_BASE = 80;

/** A bill's exports: its CSV, its PDF, its evidence bundle; each one's path under the bill, file extension and type. */
export const BILL_EXPORTS = {
  csv: { ext: 'csv', type: 'text/csv', label: 'CSV' },
  pdf: { ext: 'pdf', type: 'application/pdf', label: 'PDF' },
  bundle: { ext: 'evidence.json', type: 'application/json', label: 'evidence bundle' },
} as const;
export type BillExport = keyof typeof BILL_EXPORTS;
export type BillFileKind = (typeof BILL_EXPORTS)[BillExport]['ext'];

export function billFileName(companyName: string | null, accountNumber: string, year: number, month: number, ext: BillFileKind, opts: { withAccount?: boolean; revision?: number } = {}): string {
  const base = (companyName ?? '')
    .replace(/ /g, '_')
    .replace(/[^\p{L}\p{N}_-]/gu, '')
    .slice(0, MAX_BASE);
  // Companies that share a name get their account number in it too, so their files stay apart.
  const who = base ? (opts.withAccount ? `${base}_${accountNumber}` : base) : accountNumber;
  // A correction's files are apart from the bill it corrects: `_rev2`.
  const rev = opts.revision && opts.revision > 1 ? `_rev${opts.revision}` : '';
  return `${who}_${periodText(year, month)}${rev}.${ext}`;
}

/** Company names (case folded) that more than one account uses among these bills. */
export function sharedNames(bills: { company_name: string | null; company_account_number: string }[]): Set<string> {
  const accounts = new Map<string, Set<string>>();
  for (const b of bills) {
    if (!b.company_name) continue;
    const name = b.company_name.toLowerCase();
    if (!accounts.has(name)) accounts.set(name, new Set());
    accounts.get(name)!.add(b.company_account_number);
  }
  return new Set([...accounts].filter(([, a]) => a.size > 1).map(([name]) => name));
}

/** Letters that do not decompose into a base letter and marks, spelled in ASCII. */
const SPELLED: Record<string, string> = {
  ø: 'o',
  Ø: 'O',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ß: 'ss',
  ẞ: 'SS',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
};

/**
 * A name in ASCII for old clients (Content-Disposition's `filename=`): accents dropped from
 * their letters (ö -> o), other letters spelled out (ø -> o, ß -> ss), anything else left out.
 */
export function asciiFileName(name: string): string {
  const ext = /\.[a-z0-9]{1,10}$/i.exec(name)?.[0] ?? '';
  const stem = name
    .slice(0, name.length - ext.length)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]/g, (c) => SPELLED[c] ?? '')
    .replace(/^[_\s.]+/, '');
  return `${stem || 'invoice'}${ext}`;
}

/** The file name from Content-Disposition, preferring the exact UTF-8 `filename*`; made safe (safeFileName). */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  let name: string | null = null;
  if (star) {
    try {
      name = decodeURIComponent(star[1]);
    } catch {
      name = null;
    }
  }
  if (name === null) name = /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? null;
  return name === null ? null : safeFileName(name);
}

/** Names Windows reserves for devices, with any extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * A name someone else suggested (a server's Content-Disposition) reduced to a plain base name
 * that is safe on Windows, macOS and Linux: no folders (`../`, `C:\`), no control or reserved
 * characters, no trailing dots or spaces, no device names, at most 120 characters. Empty
 * when nothing is left.
 */
export function safeFileName(name: string): string {
  let s = name.split(/[/\\]/).pop() ?? '';
  s = s.normalize('NFC').replace(/[\u0000-\u001f\u007f<>:"|?*\u202a-\u202e\u2066-\u2069]/g, '_');
  s = s.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (RESERVED.test(s)) s = `_${s}`;
  if ([...s].length > 120) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    s = [...s.slice(0, s.length - ext.length)].slice(0, 120 - ext.length).join('') + ext;
  }
  return s;
}

/**
 * A name as a case-insensitive file system compares it: Windows folds to upper case (so `ı`
 * and `I`, `ſ` and `S` are one name there), macOS and most others to lower case; both folds together.
 */
function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/**
 * Picks names that stay distinct on every OS (case-insensitive file systems included): the
 * first use of a name keeps it, later ones get `_<tag>` and then a counter before the extension.
 */
export class UniqueNames {
  private readonly used = new Set<string>();

  take(name: string, tag?: string): string {
    const dot = name.lastIndexOf('.');
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
    const tagged = tag ? `${stem}_${safeFileName(tag)}` : stem;
    const free = (n: string) => !this.used.has(foldName(n));
    let pick = free(name) ? name : tag && free(`${tagged}${ext}`) ? `${tagged}${ext}` : undefined;
    for (let i = 2; pick === undefined; i++) if (free(`${tagged}_${i}${ext}`)) pick = `${tagged}_${i}${ext}`;
    this.used.add(foldName(pick));
    return pick;
  }

  /** Names already taken (e.g. the files already in the target folder). */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.used.add(foldName(n));
  }
}
