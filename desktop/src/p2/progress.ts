// The steps a P2 job reports while it runs, in the words the progress view shows. A DKG job goes
//   unlocking the device setup → connecting → round 1 of 3 → round 2 of 3 → round 3 of 3 →
//   waiting for the bank signer → storing the key share → confirming with the coordinator → done
// a signing job
//   checking the transaction → unlocking the key share → connecting → round 1 of 3 → round 2 of 3 →
//   round 3 of 3 → waiting for the bank signer → done
// and the device's one-time setup
//   generating the device setup → storing the device setup → done

export const P2_STEPS = [
  'generating the device setup',
  'storing the device setup',
  'unlocking the device setup',
  'checking the transaction',
  'unlocking the key share',
  'connecting',
  'round 1 of 3',
  'round 2 of 3',
  'round 3 of 3',
  'waiting for the bank signer',
  'storing the key share',
  'confirming with the coordinator',
  'done',
] as const;

export type P2Step = (typeof P2_STEPS)[number];

export interface P2Progress {
  step: P2Step;
}

export type OnProgress = (p: P2Progress) => void;
