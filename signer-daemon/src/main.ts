// `npm start -w signer-daemon` (or `tsx src/main.ts [--config FILE]`): runs the signer until
// SIGINT/SIGTERM, then shuts down gracefully.

import { loadConfig, ConfigError } from './config.ts';
import { startSigner } from './daemon.ts';

try {
  const signer = await startSigner(loadConfig(process.env, process.argv.slice(2)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void signer.close().then(() => process.exit(0));
    });
  }
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`tandem-signer: configuration error: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
