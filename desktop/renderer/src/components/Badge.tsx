import type { Tone } from '../lib/labels.ts';

export function Badge(props: { tone: Tone; children: string }) {
  return <span className={`badge tone-${props.tone}`}>{props.children}</span>;
}
