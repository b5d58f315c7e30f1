// The steps each long job reports (desktop/src/p2/progress.ts), in order, so a progress view can show what is still to
// come. The worker already names them in words; only the capital letter is added here.

export const SETUP_STEPS = ['generating the device setup', 'storing the device setup', 'done'];

export const DKG_STEPS = [
  'unlocking the device setup',
  'connecting',
  'round 1 of 3',
  'round 2 of 3',
  'round 3 of 3',
  'waiting for the bank signer',
  'storing the key share',
  'confirming with the coordinator',
  'done',
];

export const SIGN_STEPS = [
  'checking the transaction',
  'unlocking the key share',
  'connecting',
  'round 1 of 3',
  'round 2 of 3',
  'round 3 of 3',
  'waiting for the bank signer',
  'done',
];

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
