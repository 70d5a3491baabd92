/**
 * File names of a bill's exports, as Ledger names its CSV download: `<Company_Name>_<YYYY>-<MM>.<ext>`
 * (spaces to `_`, only letters, digits, `_` and `-` kept; the account number when nothing is left).
 */
export function billFileName(companyName: string | null, accountNumber: string, year: number, month: number, ext: 'csv' | 'pdf'): string {
  const base = (companyName ?? '').replace(/ /g, '_').replace(/[^\p{L}\p{N}_-]/gu, '');
  return `${base || accountNumber}_${year}-${String(month).padStart(2, '0')}.${ext}`;
}

/** The file name from Content-Disposition, preferring the exact UTF-8 `filename*`. */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : null;
}
