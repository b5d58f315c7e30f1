// Modular exponentiation for the P2 side: OpenSSL's (via node:crypto) where it passes tecdsa's self-test, else
// BigInt. The Paillier and ring-Pedersen work is several times faster natively.

import { type ModPow, bigintModPow } from '@tandem/tecdsa/arith';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';

export const p2ModPow = (): ModPow => nativeModPow() ?? bigintModPow;
