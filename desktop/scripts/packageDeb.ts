// A .deb of the unpacked app, made with dpkg-deb from what electron-builder.yml says of the Linux package. It stands in
// for electron-builder's own deb target, which drives fpm, downloaded from GitHub at build time (impossible here).
// Same layout as that target: the app in /opt/<productName>, /usr/bin/<executableName>, a .desktop entry and the
// hicolor icons. No maintainer scripts: the /usr/bin link is a file of the package (dpkg removes it with the rest),
// and the desktop and icon caches are refreshed by their own dpkg triggers.
//
// On a release machine with network access, electron-builder's deb target (fpm) gives the same package.

import { execFile } from 'node:child_process';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type BuilderConfig, desktopDir, desktopPackageJson } from './packageConfig.ts';

const run = promisify(execFile);

interface LinuxSection {
  executableName?: string;
  maintainer?: string;
  vendor?: string;
  synopsis?: string;
  description?: string;
  category?: string;
}
interface DebSection {
  packageName?: string;
  artifactName?: string;
  packageCategory?: string;
  priority?: string;
  depends?: string[];
  recommends?: string[];
}

export const debArch = (arch: 'x64' | 'arm64'): string => (arch === 'x64' ? 'amd64' : 'arm64');
/** Debian orders 1.0.0~rc1 before 1.0.0, as semver orders 1.0.0-rc1 (electron-builder does the same). */
export const debVersion = (version: string): string => version.replace('-', '~');

function sections(config: BuilderConfig): { linux: LinuxSection; deb: DebSection; productName: string } {
  return {
    linux: (config['linux'] ?? {}) as LinuxSection,
    deb: (config['deb'] ?? {}) as DebSection,
    productName: String(config['productName']),
  };
}

/** Wraps an extended description for a control file: lines of at most 79 columns, each after one space. */
function extendedDescription(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > 78) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => ` ${l}`).join('\n');
}

/** The control file's fields, in the order dpkg writes them. */
export function debControl(
  config: BuilderConfig,
  arch: 'x64' | 'arm64',
  installedSizeKiB: number,
): Array<[string, string]> {
  const { linux, deb } = sections(config);
  const pkg = desktopPackageJson();
  const meta = (config['extraMetadata'] ?? {}) as { homepage?: string };
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new Error(`electron-builder.yml: ${what} is needed for the .deb`);
    return value;
  };
  const fields: Array<[string, string]> = [
    ['Package', need(deb.packageName ?? linux.executableName, 'deb.packageName')],
    ['Version', debVersion(pkg.version)],
    ['Architecture', debArch(arch)],
    ['Maintainer', need(linux.maintainer, 'linux.maintainer')],
    ['Installed-Size', String(installedSizeKiB)],
    ['Depends', (deb.depends ?? []).join(', ')],
    ['Recommends', (deb.recommends ?? []).join(', ')],
    ['Section', deb.packageCategory ?? 'misc'],
    ['Priority', deb.priority ?? 'optional'],
    ['Homepage', meta.homepage ?? ''],
    [
      'Description',
      `${need(linux.synopsis, 'linux.synopsis')}\n${extendedDescription(linux.description ?? pkg.description)}`,
    ],
  ];
  return fields.filter(([, v]) => v !== '');
}

export function desktopEntry(config: BuilderConfig): string {
  const { linux, productName } = sections(config);
  const exe = linux.executableName ?? productName;
  const desktopName = String(((config['extraMetadata'] ?? {}) as { desktopName?: string }).desktopName ?? exe);
  return [
    '[Desktop Entry]',
    `Name=${productName}`,
    `Comment=${linux.synopsis ?? ''}`,
    `Exec=/opt/${productName}/${exe} %U`,
    'Terminal=false',
    'Type=Application',
    `Icon=${exe}`,
    // Electron's window app id is desktopName without .desktop: the desktop links the window to this entry.
    `StartupWMClass=${desktopName.replace(/\.desktop$/, '')}`,
    `Categories=${(linux.category ?? 'Utility').replace(/;?$/, ';')}`,
    '',
  ].join('\n');
}

function artifactFileName(config: BuilderConfig, arch: 'x64' | 'arm64'): string {
  const { deb, productName } = sections(config);
  const macros: Record<string, string> = {
    productName,
    version: debVersion(desktopPackageJson().version),
    arch: debArch(arch),
    ext: 'deb',
  };
  return (deb.artifactName ?? '${productName}_${version}_${arch}.${ext}').replace(/\$\{(\w+)\}/g, (_m, k: string) => {
    if (!(k in macros)) throw new Error(`deb.artifactName: unknown macro \${${k}}`);
    return macros[k]!;
  });
}

async function sizeKiB(p: string): Promise<number> {
  const s = await lstat(p);
  if (!s.isDirectory()) return Math.ceil(s.size / 1024);
  let total = 1;
  for (const e of await readdir(p)) total += await sizeKiB(path.join(p, e));
  return total;
}

export async function hasDpkgDeb(): Promise<boolean> {
  try {
    await run('dpkg-deb', ['--version']);
    return true;
  } catch {
    return false;
  }
}

export interface DebOptions {
  appOutDir: string;
  outDir: string;
  config: BuilderConfig;
  arch: 'x64' | 'arm64';
}

/** Builds the .deb with dpkg-deb (files owned by root whoever builds it) and returns its path. */
export async function buildDeb({ appOutDir, outDir, config, arch }: DebOptions): Promise<string> {
  const { linux, productName } = sections(config);
  const exe = linux.executableName ?? productName;
  const root = await mkdtemp(path.join(tmpdir(), 'tandem-deb-'));
  try {
    await chmod(root, 0o755);
    const opt = path.join(root, 'opt', productName);
    await mkdir(path.dirname(opt), { recursive: true });
    await cp(appOutDir, opt, { recursive: true, verbatimSymlinks: true });
    // Chromium's setuid sandbox helper, for kernels without unprivileged user namespaces (as Chrome's own .deb).
    if (existsSync(path.join(opt, 'chrome-sandbox'))) await chmod(path.join(opt, 'chrome-sandbox'), 0o4755);

    await mkdir(path.join(root, 'usr', 'bin'), { recursive: true });
    await symlink(`/opt/${productName}/${exe}`, path.join(root, 'usr', 'bin', exe));

    const apps = path.join(root, 'usr', 'share', 'applications');
    await mkdir(apps, { recursive: true });
    await writeFile(path.join(apps, `${exe}.desktop`), desktopEntry(config));

    const icons = path.join(desktopDir, 'build', 'icons');
    for (const file of await readdir(icons)) {
      const size = /^(\d+x\d+)\.png$/.exec(file)?.[1];
      if (!size) continue;
      const dir = path.join(root, 'usr', 'share', 'icons', 'hicolor', size, 'apps');
      await mkdir(dir, { recursive: true });
      await cp(path.join(icons, file), path.join(dir, `${exe}.png`));
    }

    const doc = path.join(root, 'usr', 'share', 'doc', exe);
    await mkdir(doc, { recursive: true });
    await writeFile(path.join(doc, 'copyright'), `${productName}\n${String(config['copyright'] ?? '')}\n`);

    const control = debControl(config, arch, await sizeKiB(root));
    await mkdir(path.join(root, 'DEBIAN'), { mode: 0o755 });
    await writeFile(path.join(root, 'DEBIAN', 'control'), control.map(([k, v]) => `${k}: ${v}\n`).join(''));

    await mkdir(outDir, { recursive: true });
    const deb = path.join(outDir, artifactFileName(config, arch));
    await run('dpkg-deb', ['--build', '--root-owner-group', root, deb], { maxBuffer: 16 * 1024 * 1024 });
    return deb;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
