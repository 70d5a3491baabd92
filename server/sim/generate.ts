/**
 * Deterministic companies and bills in the shapes Codex and Ledger use (docs/contract.md
 * section 2 and the real answers in test/fixtures/ledger): the same seed, account and
 * month always give the same bill, byte for byte. Money is computed as Ledger computes it,
 * in binary floats that are never rounded (hours x rate, TB overage x fee), so the bills
 * carry the same fractional cents real ones do.
 * Over 300 lines on purpose: the generator is one piece of deterministic data (companies,
 * plans, users, assets, backup, tickets, custom items); splitting it would scatter its seeds.
 */
import type { BillingAnswer, BilledItem, BillingReceipt } from '../peers/ledger-bill';
import type { CodexCompany } from '../peers/clients';
import { periodText } from '../../shared/period';

/** mulberry32: small, fast, good enough for test data; seeded from a string. */
export function rng(seed: string): () => number {
  let a = fnv1a(seed);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const between = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

export interface Plan {
  plan_name: string;
  term_length: string;
  support_level: string;
  per_user_cost: number;
  per_workstation_cost: number;
  per_server_cost: number;
  per_vm_cost: number;
  per_switch_cost: number;
  per_firewall_cost: number;
  per_hour_ticket_cost: number;
  backup_base_fee_workstation: number;
  backup_base_fee_server: number;
  backup_included_tb: number;
  backup_per_tb_fee: number;
  features: Record<string, string>;
}

/** Modelled on the real plan list (codex/billing-plans.json). */
export const PLANS: Plan[] = [
  {
    plan_name: '[PLAN-A]',
    term_length: 'Month to Month',
    support_level: 'All Inclusive',
    per_user_cost: 125,
    per_workstation_cost: 45,
    per_server_cost: 175,
    per_vm_cost: 95,
    per_switch_cost: 25,
    per_firewall_cost: 45,
    per_hour_ticket_cost: 0,
    backup_base_fee_workstation: 25,
    backup_base_fee_server: 75,
    backup_included_tb: 1,
    backup_per_tb_fee: 50,
    features: { antivirus: 'SentinelOne', email_security: 'Included', network_management: 'Included', password_manager: 'Keeper', sat: 'Included', soc: 'Included' },
  },
  {
    plan_name: '[PLAN-B]',
    term_length: 'Month to Month',
    support_level: 'Billed Hourly',
    per_user_cost: 0,
    per_workstation_cost: 35,
    per_server_cost: 125,
    per_vm_cost: 75,
    per_switch_cost: 20,
    per_firewall_cost: 35,
    per_hour_ticket_cost: 150,
    backup_base_fee_workstation: 20,
    backup_base_fee_server: 60,
    backup_included_tb: 0.5,
    backup_per_tb_fee: 45,
    features: { antivirus: 'Defender', email_security: 'Not Included', network_management: 'Not Included', password_manager: 'Not Included', sat: 'Not Included', soc: 'Not Included' },
  },
  {
    plan_name: 'Essentials',
    term_length: 'Month to Month',
    support_level: 'Remote Only',
    per_user_cost: 89.99,
    per_workstation_cost: 29.99,
    per_server_cost: 149.99,
    per_vm_cost: 79.95,
    per_switch_cost: 12.5,
    per_firewall_cost: 39.95,
    per_hour_ticket_cost: 135,
    backup_base_fee_workstation: 15,
    backup_base_fee_server: 59.99,
    backup_included_tb: 0.25,
    backup_per_tb_fee: 49.99,
    features: { antivirus: 'Defender', email_security: 'Included', network_management: 'Not Included', password_manager: 'Keeper', sat: 'Not Included', soc: 'Not Included' },
  },
  {
    plan_name: 'Non-Profit',
    term_length: '1 Year',
    support_level: 'All Inclusive',
    per_user_cost: 59.5,
    per_workstation_cost: 22.25,
    per_server_cost: 99,
    per_vm_cost: 49.5,
    per_switch_cost: 10,
    per_firewall_cost: 25,
    per_hour_ticket_cost: 95,
    backup_base_fee_workstation: 10,
    backup_base_fee_server: 45,
    backup_included_tb: 1,
    backup_per_tb_fee: 30,
    features: { antivirus: 'SentinelOne', email_security: 'Included', network_management: 'Included', password_manager: 'Keeper', sat: 'Included', soc: 'Not Included' },
  },
];
const DEFAULT_PLAN = PLANS[0];

const FIRST = [
  'Ana',
  'Bea',
  'Carla',
  'David',
  'Elif',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jürgen',
  'Kofi',
  'Lena',
  'Marta',
  'Nils',
  'Olga',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Yusuf',
  'Zoë',
];
const LAST = [
  'Adams',
  'Berg',
  'Chen',
  'Dubois',
  'Eriksen',
  'García',
  'Hansen',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Müller',
  'Nguyen',
  'Okafor',
  'Patel',
  'Quint',
  'Rossi',
  'Sato',
  'Tanaka',
  'Vargas',
  'Weber',
];
const NAME_A = [
  'Acme',
  'Northwind',
  'Harbor',
  'Blue Ridge',
  'Summit',
  'Cedar',
  'Lakeside',
  'Granite',
  'Evergreen',
  'Pioneer',
  'Müller & Söhne',
  'Østergaard',
  'Silver Creek',
  'Redwood',
  'Bayview',
  'Crescent',
  'Ironwood',
  'Maple',
  'Orchard',
  'Sterling',
];
const NAME_B = [
  'Dental Group',
  'Logistics LLC',
  'Legal Partners',
  'Health Clinic',
  'Architects',
  'Accounting',
  'Veterinary',
  'Builders Inc.',
  'Family Practice',
  'Engineering GmbH',
  'Realty',
  'Insurance',
  'Foundation',
  'Labs',
  'Consulting',
];
const CUSTOM_ITEMS = ['Microsoft 365 Licences', 'Domain Renewal', 'Firewall Licence', 'Project: Office Move', 'Onsite Visit', 'Compliance Audit', 'Hardware Refresh'];

export interface SimCompany {
  codex: CodexCompany;
  /** null: Ledger has no billing plan for it and answers 404 ("no bill"). */
  plan: Plan | null;
  users: { name: string; type: 'Paid' | 'Free' | 'Custom'; cost?: number }[];
  assets: { name: string; type: 'Workstation' | 'Server' | 'VM' | 'Switch' | 'Firewall' | 'Custom' | 'No Charge'; cost?: number }[];
  customItems: { name: string; type: 'Recurring' | 'One-Off' | 'Yearly'; cost: number; month?: number; year?: number }[];
  backupTbMean: number;
  backupBaseWorkstations: number;
  backupBaseServers: number;
  prepaidHoursMonthly: number;
  hoursMean: number;
  hourRateOverride?: number;
}

export function accountNumber(index: number): string {
  return String(610000 + index * 131);
}

/**
 * Company `index` of a simulated Codex. Index 3 has no plan in Codex but is billed on the
 * default plan (as real Ledger does, `billing_plan: ""`); index 4 has a plan Ledger does not
 * know, so Ledger answers 404 for it.
 */
export function simCompany(seed: string, index: number): SimCompany {
  const r = rng(`${seed}/company/${index}`);
  const account = accountNumber(index);
  const name = `${pick(r, NAME_A)} ${pick(r, NAME_B)}${index >= NAME_A.length * NAME_B.length ? ` ${index}` : ''}`;
  const plan = index === 4 ? null : pick(r, PLANS);
  const codexPlan = index === 3 ? null : index === 4 ? 'Legacy (retired)' : plan!.plan_name;
  const userCount = between(r, 3, 40);
  const users: SimCompany['users'] = [];
  for (let i = 0; i < userCount; i++) {
    const roll = r();
    const type = roll < 0.1 ? 'Free' : roll < 0.18 ? 'Custom' : 'Paid';
    users.push({ name: `${pick(r, FIRST)} ${pick(r, LAST)}`, type, cost: type === 'Custom' ? pick(r, [29.75, 45, 99.99, 64.5]) : undefined });
  }
  const assets: SimCompany['assets'] = [];
  const prefix =
    name
      .replace(/[^A-Za-z]/g, '')
      .slice(0, 4)
      .toUpperCase() || 'HOST';
  const ws = between(r, 2, Math.max(3, userCount + 2));
  for (let i = 0; i < ws; i++) assets.push({ name: `${prefix}-WS${String(i + 1).padStart(3, '0')}`, type: 'Workstation' });
  const extras: [SimCompany['assets'][number]['type'], number][] = [
    ['Server', between(r, 0, 3)],
    ['VM', between(r, 0, 4)],
    ['Switch', between(r, 0, 2)],
    ['Firewall', between(r, 0, 1)],
    ['No Charge', between(r, 0, 2)],
    ['Custom', between(r, 0, 1)],
  ];
  for (const [type, n] of extras) {
    for (let i = 0; i < n; i++) assets.push({ name: `${prefix}-${type.replace(/\s/g, '').toUpperCase().slice(0, 3)}${i + 1}`, type, cost: type === 'Custom' ? 49.5 : undefined });
  }
  const customItems: SimCompany['customItems'] = [];
  const nCustom = r() < 0.4 ? between(r, 1, 3) : 0;
  for (let i = 0; i < nCustom; i++) {
    const type = pick(r, ['Recurring', 'Recurring', 'One-Off', 'Yearly'] as const);
    customItems.push({ name: pick(r, CUSTOM_ITEMS), type, cost: pick(r, [15, 120.5, 431.2, 1250, 89.995, 33.333]), month: between(r, 1, 12), year: 2020 + between(r, 4, 7) });
  }
  const hasBackup = r() < 0.6;
  return {
    codex: {
      account_number: account,
      billing_plan: codexPlan,
      company_main_number: `+1 555 ${between(r, 100, 999)} ${between(r, 1000, 9999)}`,
      company_start_date: `${between(r, 2012, 2024)}-${String(between(r, 1, 12)).padStart(2, '0')}-${String(between(r, 1, 28)).padStart(2, '0')}`,
      description: pick(r, ['Dental practice', 'Freight forwarding', 'Law firm', 'Community clinic', 'Architecture studio', 'Accounting firm', 'Manufacturing']),
      domains: JSON.stringify([`${prefix.toLowerCase()}${index}.example`]),
      email_system: pick(r, ['Microsoft 365', 'Google Workspace']),
      name,
      phone_system: r() < 0.5 ? null : 'Teams Phone',
      profit_or_non_profit: plan?.plan_name === 'Non-Profit' ? 'Non-Profit' : 'Profit',
    },
    plan: plan ?? null,
    users,
    assets,
    customItems,
    backupTbMean: hasBackup ? 0.2 + r() * 4 : 0,
    backupBaseWorkstations: hasBackup && r() < 0.3 ? between(r, 1, ws) : 0,
    backupBaseServers: hasBackup && r() < 0.2 ? 1 : 0,
    prepaidHoursMonthly: r() < 0.25 ? pick(r, [2, 5, 10]) : 0,
    hoursMean: r() * 8,
    hourRateOverride: r() < 0.1 ? 137.5 : undefined,
  };
}

const ASSET_RATE: Record<string, keyof Plan> = { Workstation: 'per_workstation_cost', Server: 'per_server_cost', VM: 'per_vm_cost', Switch: 'per_switch_cost', Firewall: 'per_firewall_cost' };
const TB = 1024 ** 4;

/**
 * Ledger's `GET /api/billing/<account>?year&month` answer for a simulated company, or null
 * when Ledger has no plan for it. `adjustment` adds a late one-off charge: the bill of a
 * company that changed after it was archived.
 */
export function simBilling(seed: string, company: SimCompany, year: number, month: number, adjustment = 0): BillingAnswer | null {
  if (!company.plan) return null;
  const plan = company.plan;
  const r = rng(`${seed}/bill/${company.codex.account_number}/${year}-${month}`);
  const billedUsers: BilledItem[] = company.users.map((u) => ({ name: u.name, type: u.type, cost: u.type === 'Free' ? 0.0 : u.type === 'Custom' ? u.cost! : plan.per_user_cost }));
  const billedAssets: BilledItem[] = company.assets.map((a) => ({
    name: a.name,
    type: a.type,
    cost: a.type === 'No Charge' ? 0.0 : a.type === 'Custom' ? a.cost! : (plan[ASSET_RATE[a.type]] as number),
  }));
  const items: BilledItem[] = [];
  for (const c of company.customItems) {
    if (c.type === 'Recurring' || (c.type === 'Yearly' && c.month === month) || (c.type === 'One-Off' && c.month === month && c.year === year)) {
      items.push({ name: c.name, type: c.type, cost: c.cost });
    }
  }
  if (adjustment) items.push({ name: 'Late adjustment', type: 'One-Off', cost: adjustment });

  // Hours in quarter hours, sometimes in minutes (2.17 h), as tickets log them.
  const steps = r() < 0.3 ? 100 : 4;
  const hours = r() < 0.2 ? 0 : Math.round(company.hoursMean * (0.5 + r()) * steps) / steps;
  const billableHours = Math.max(0, hours - company.prepaidHoursMonthly);
  const hourRate = company.hourRateOverride ?? plan.per_hour_ticket_cost;
  const ticketCharge = billableHours * hourRate;

  let overageTb: number = 0;
  let overageCharge = 0.0;
  let baseWs = 0.0;
  let baseServer = 0.0;
  let includedTb = 0.0;
  if (company.backupTbMean > 0) {
    const usedBytes = Math.round(company.backupTbMean * (0.8 + r() * 0.4) * TB);
    baseWs = company.backupBaseWorkstations * plan.backup_base_fee_workstation;
    baseServer = company.backupBaseServers * plan.backup_base_fee_server;
    includedTb = (company.backupBaseWorkstations + company.backupBaseServers) * plan.backup_included_tb;
    const over = usedBytes / TB - includedTb;
    if (over > 0) {
      overageTb = over;
      overageCharge = over * plan.backup_per_tb_fee;
    }
  }
  const backupCharge = baseWs + baseServer + overageCharge;
  const sum = (xs: BilledItem[]) => xs.reduce((s, x) => s + x.cost, 0.0);
  const totalUsers = sum(billedUsers);
  const totalAssets = sum(billedAssets);
  const totalItems = sum(items);
  const receipt: BillingReceipt = {
    backup_base_server: baseServer,
    backup_base_workstation: baseWs,
    backup_charge: backupCharge,
    billable_hours: billableHours,
    billed_assets: billedAssets,
    billed_line_items: items,
    billed_users: billedUsers,
    hours_for_billing_period: hours,
    overage_charge: overageCharge,
    overage_tb: overageTb,
    prepaid_hours_monthly: company.prepaidHoursMonthly,
    ticket_charge: ticketCharge,
    total: totalUsers + totalAssets + totalItems + ticketCharge + backupCharge,
    total_asset_charges: totalAssets,
    total_included_tb: includedTb,
    total_line_item_charges: totalItems,
    total_user_charges: totalUsers,
  };
  const quantities: Record<string, number> = {};
  const bump = (k: string) => (quantities[k] = (quantities[k] ?? 0) + 1);
  for (const u of company.users) bump(u.type === 'Free' ? 'free_users' : 'regular_users');
  for (const a of company.assets) bump(a.type.toLowerCase());
  const { features, plan_name: _n, term_length: _t, ...rates } = plan;
  return {
    account_number: company.codex.account_number!,
    billing_period: periodText(year, month),
    company_name: company.codex.name!,
    effective_rates: { ...rates, per_hour_ticket_cost: hourRate },
    feature_override_status: {},
    plan_features: features,
    quantities,
    receipt,
  };
}

export { DEFAULT_PLAN };
