// Amounts stay integers from end to end: wei strings from main become bigint, never a float, so what is shown and
// what is sent are exactly the amounts the coordinator and the chain use.

const DECIMALS = 18;
const WEI_PER_ETH = 10n ** BigInt(DECIMALS);
/** The largest amount the request schemas accept (78 digits): bounds what a typed amount can become. */
const MAX_WEI_DIGITS = 78;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Exact ETH from wei: every significant decimal is kept, trailing zeros are not. */
export function formatEth(wei: string | bigint, opts: { group?: boolean } = {}): string {
  return formatUnits(wei, DECIMALS, opts);
}

/** Exact gwei from wei, for fee-per-gas values. */
export function formatGwei(wei: string | bigint): string {
  return formatUnits(wei, 9);
}

function formatUnits(wei: string | bigint, decimals: number, opts: { group?: boolean } = {}): string {
  let value: bigint;
  try {
    value = typeof wei === 'bigint' ? wei : BigInt(wei);
  } catch {
    return String(wei);
  }
  const unit = 10n ** BigInt(decimals);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = (abs / unit).toString();
  const fraction = (abs % unit).toString().padStart(decimals, '0').replace(/0+$/, '');
  const wholeText = opts.group === false ? whole : groupThousands(whole);
  return `${negative ? '-' : ''}${wholeText}${fraction ? `.${fraction}` : ''}`;
}

export type ParsedAmount = { ok: true; wei: string } | { ok: false; reason: string };

/** An amount typed in ETH, as a wei string. Only digits and one dot: a comma could mean either separator. */
export function parseEth(input: string): ParsedAmount {
  const text = input.trim();
  if (text === '') return { ok: false, reason: 'Enter an amount.' };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || text === '.') return { ok: false, reason: 'Use digits and a dot for decimals, for example 1.25.' };
  const whole = m[1] ?? '';
  const fraction = m[2] ?? '';
  if (fraction.length > DECIMALS)
    return { ok: false, reason: 'At most 18 decimals: 0.000000000000000001 ETH (1 wei) is the smallest amount.' };
  const wei = BigInt(whole || '0') * WEI_PER_ETH + BigInt(fraction.padEnd(DECIMALS, '0'));
  const digits = wei.toString();
  if (digits.length > MAX_WEI_DIGITS) return { ok: false, reason: 'This amount is too large.' };
  return { ok: true, wei: digits };
}

/** A wei string as the text an ETH input starts with (no grouping, so it parses back). */
export function weiToInput(wei: string): string {
  return formatEth(wei, { group: false });
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFormat.format(d);
}

/** Long hex in groups of four, so two people can compare it aloud. */
export function groupHex(hex: string): string {
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  const groups = body.match(/.{1,4}/g) ?? [];
  return `${hex.startsWith('0x') ? '0x ' : ''}${groups.join(' ')}`;
}

/** A message from main or the coordinator as a sentence: capital first letter, final stop. */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
