// `npm start`: the whole local stack with embedded defaults, under .tandem/ where npm was run:
// a local Ethereum node (anvil, state kept in .tandem/anvil-state.json), the bank signer
// (gRPC over mutual TLS on 127.0.0.1:7443) and the coordinator (HTTPS + WSS on
// https://localhost:8443), with a development CA, a generated KEK and a seeded admin whose
// password is printed once and kept in .tandem/admin-password.txt (mode 600); then the desktop app
// (profile in .tandem/desktop) in its development shell on http://127.0.0.1:5280, the address
// printed with this launch's secret. Ctrl-C stops all.

import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig as signerConfig } from '@tandem/signer-daemon/src/config.ts';
import { startSigner } from '@tandem/signer-daemon/src/daemon.ts';
import { loadConfig as coordinatorConfig } from '@tandem/coordinator/src/config.ts';
import { startCoordinator } from '@tandem/coordinator/src/server.ts';
import { startAnvil } from '@tandem/coordinator/src/chain/anvil.ts';
import { createAccount } from '@tandem/coordinator/src/auth/accounts.ts';
import { UserRepo } from '@tandem/coordinator/src/auth/users.ts';
import { createDesktopApp } from '@tandem/desktop/src/main/app.ts';
import { startDevShell } from '@tandem/desktop/src/main/devShell.ts';
import { ensureRendererBuilt } from '@tandem/desktop/src/main/rendererBuild.ts';
import { CSP } from '@tandem/desktop/renderer/csp.ts';

if (process.env.TANDEM_ENV === 'production') {
  // A development stack: generated keys, certificates and a seeded admin. Never in production.
  process.stderr.write(
    'npm start runs the development stack; production runs the services (see docs/operator-guide.md)\n',
  );
  process.exit(2);
}

const root = resolve(process.env.TANDEM_DATA_ROOT ?? join(process.env.INIT_CWD ?? process.cwd(), '.tandem'));
mkdirSync(join(root, 'logs'), { recursive: true, mode: 0o700 });
const env = { ...process.env, TANDEM_DATA_ROOT: root, TANDEM_SIGNER_DATA_DIR: join(root, 'signer') };
const fileLog = (name: string) =>
  pino(
    { level: 'info', base: { service: name } },
    pino.destination({ dest: join(root, 'logs', `${name}.log`), mkdir: true }),
  );

const say = (s: string) => process.stdout.write(s + '\n');

const anvil = await startAnvil({ port: 8545, stateFile: join(root, 'anvil-state.json') });
const signer = await startSigner(signerConfig(env), { log: fileLog('signer') });
const cconf = coordinatorConfig(env);
cconf.chain.rpcUrl = anvil.rpcUrl;
const coordinator = await startCoordinator(cconf, { log: fileLog('coordinator') });

// A first admin, once: the password is random, shown here and kept in a private file.
const pwFile = join(root, 'admin-password.txt');
const users = new UserRepo(coordinator.ctx.store);
if ((await users.list()).length === 0) {
  const password = `Tandem-${randomBytes(12).toString('base64url')}`;
  await createAccount(coordinator.ctx, 'cli:local-stack', { username: 'admin', password, roles: ['admin'] });
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
}
const password = existsSync(pwFile) ? readFileSync(pwFile, 'utf8').trim() : '(see your records)';

// The desktop app. This machine has no Electron binary (it cannot be downloaded here), so it runs in the
// development shell: the same main-process logic, its renderer served to a browser on 127.0.0.1.
const signerInfo = await coordinator.ctx.signer.getSignerInfo();
const desktop = await startDevShell({
  rendererDir: await ensureRendererBuilt(),
  port: Number(process.env.TANDEM_DESKTOP_PORT ?? 5280),
  csp: CSP,
  createApp: (appOrigin) =>
    createDesktopApp({
      profileDir: join(root, 'desktop'),
      appOrigin,
      policyFile: join(root, 'desktop-policy.json'),
      defaults: {
        coordinatorUrl: coordinator.url,
        coordinatorCaFile: coordinator.devCaCert,
        signerPublicKey: Buffer.from(signerInfo.identityPublicKey).toString('hex'),
        chainId: cconf.chain.chainId,
      },
      notify: (title, body) => say(`[notification] ${title}: ${body}`),
    }),
});

say(`
Tandem local stack is running (data in ${root}, logs in ${join(root, 'logs')}):
  coordinator  ${coordinator.url}   (REST + WSS at /api/v1/mpc; trust ${coordinator.devCaCert})
  signer       127.0.0.1:${signer.port} (gRPC, mutual TLS; health http://127.0.0.1:${signer.opsPort}/healthz)
  chain        ${anvil.rpcUrl} (anvil, chain id 31337)
  desktop app  ${desktop.url}
               (open it in a browser on this machine; the part after # is this launch's secret)
Sign in as admin / ${password}
  e.g. curl --cacert ${coordinator.devCaCert} -H 'content-type: application/json' \\
         -d '{"username":"admin","password":"${password}"}' ${coordinator.url}/api/v1/auth/login
Ctrl-C stops everything.`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await desktop.close();
      await coordinator.close();
      await signer.close();
      await anvil.stop();
      say('stopped');
      process.exit(0);
    })();
  });
