/** What a bill's PDF says beyond the bill: the currency and the issuer (from the configuration). */
import type { Issuer } from '../config';

export interface PdfSettings {
  currency: string;
  issuer: Issuer;
}

export const DEFAULT_PDF_SETTINGS: PdfSettings = { currency: 'USD', issuer: { name: null, addressLines: [], taxId: null, logoFile: null, paymentTerms: null } };
