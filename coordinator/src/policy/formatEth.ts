// Amounts for people: wei as ETH in exact decimal (bigint arithmetic, never a float, so a limit
// of 0.1 ETH reads "0.1 ETH" and not "0.09999999999999999 ETH").

export const WEI_PER_ETH = 10n ** 18n;

/** 1_500_000_000_000_000_000n → "1.5 ETH"; 1n → "0.000000000000000001 ETH"; trailing zeros dropped. */
export function formatEth(wei: bigint): string {
  const sign = wei < 0n ? '-' : '';
  const abs = wei < 0n ? -wei : wei;
  const fraction = (abs % WEI_PER_ETH).toString().padStart(18, '0').replace(/0+$/, '');
  return `${sign}${abs / WEI_PER_ETH}${fraction ? `.${fraction}` : ''} ETH`;
}
