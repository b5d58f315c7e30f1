// The steps each long job reports, in order, so a progress view can show what is still to come. The worker already
// names them in words (desktop/src/p2/progress.ts); only the capital letter is added here. Typed as P2Step, so a step
// renamed or dropped there fails to compile here instead of leaving a step that never lights up.

import type { P2Step } from '../../../src/p2/progress.ts';

export const SETUP_STEPS: P2Step[] = ['generating the device setup', 'storing the device setup', 'done'];

// Both jobs connect to the coordinator and then run the same relay rounds (desktop/src/p2/sessions.ts).
const SESSION_STEPS: P2Step[] = [
  'connecting',
  'round 1 of 3',
  'round 2 of 3',
  'round 3 of 3',
  'waiting for the bank signer',
];

export const DKG_STEPS: P2Step[] = [
  'unlocking the device setup',
  ...SESSION_STEPS,
  'storing the key share',
  'confirming with the coordinator',
  'done',
];

export const SIGN_STEPS: P2Step[] = ['checking the transaction', 'unlocking the key share', ...SESSION_STEPS, 'done'];

export function stepLabel(step: string): string {
  if (step === 'done') return 'Finished';
  return step.charAt(0).toUpperCase() + step.slice(1);
}

/** Percent through a job from the step reached: a step counts as half done while it runs. */
export function stepPercent(steps: string[], current: string | null): number {
  if (current === null) return 0;
  const i = steps.indexOf(current);
  if (i < 0) return 0;
  if (current === 'done') return 100;
  return Math.round(((i + 0.5) / (steps.length - 1)) * 100);
}
