// The release keys this build trusts for updates: Ed25519 public keys (32 bytes, hex), compiled into the app.
//
// Why in the build and not in IT's policy file or the update server: the update URL says where updates come from,
// and IT chooses it; these keys say what may be installed, and only Tandem's release process holds the private half
// (desktop/scripts/signUpdate.ts signs tandem-update.json with it). Whoever takes over an update server or a mirror,
// or rewrites a policy file, still cannot get a build of theirs installed.
//
// Rotation: a new key is added here one release before it signs anything, so installed apps learn it through an
// update signed by the old key; the old key is removed once no supported version needs it. Any key in the list is
// accepted.
//
// Empty until the release team creates the production key (`tsx scripts/signUpdate.ts --generate-key --out FILE`
// prints the line to add, and the private key stays offline with the release team). With no key pinned, a build that
// IT points at an update server refuses every update (UPDATE_SIGNATURE_INVALID) instead of trusting anything.
//
// Tests and development pass their own keys to UpdateChecker (its `releasePublicKeys` option). There is deliberately
// no environment variable or setting for this: one would let anything that can set it choose what gets installed.

export const RELEASE_PUBLIC_KEYS_HEX: readonly string[] = [];

/** The pinned keys as raw bytes; refuses a malformed entry, so a typo breaks the build's tests, not a user's update. */
export function pinnedReleaseKeys(hex: readonly string[] = RELEASE_PUBLIC_KEYS_HEX): Uint8Array[] {
  return hex.map((h) => {
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new TypeError('a release public key is 64 hex digits (Ed25519, raw)');
    return Uint8Array.from(Buffer.from(h, 'hex'));
  });
}
