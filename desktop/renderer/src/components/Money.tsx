import { formatEth } from '../lib/format.ts';

/** An exact ETH amount from a wei string; the title keeps the wei for anyone checking against the chain. */
export function Money(props: { wei: string }) {
  return (
    <span className="money" title={`${props.wei} wei`}>
      {formatEth(props.wei)} ETH
    </span>
  );
}
