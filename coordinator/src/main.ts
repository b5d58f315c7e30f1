// The coordinator as a service (`npm run -s start -w coordinator`, systemd, Docker): settings
// from TANDEM_COORDINATOR_* / TANDEM_* variables, runs until SIGINT/SIGTERM, then shuts down
// gracefully. The local stack (`npm start` at the root) starts it together with anvil and the signer.

import { loadConfig, ConfigError } from './config.ts';
import { startCoordinator } from './server.ts';

try {
  const coordinator = await startCoordinator(loadConfig(process.env));
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void coordinator.close().then(() => process.exit(0));
    });
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`tandem-coordinator: configuration error: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
