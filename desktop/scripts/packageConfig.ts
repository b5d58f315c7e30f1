// Reads electron-builder.yml (the repository root's) and checks it against electron-builder's own JSON schema
// (app-builder-lib/scheme.json) with a real JSON-schema validator: Ajv, the one electron-builder validates with, taken
// from electron-builder's own dependency tree so its version is the one that schema is written for. Unlike
// electron-builder's check at build time, this one does not coerce types: `oneClick: "false"` is an error here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const desktopDir = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = path.dirname(desktopDir);
export const builderConfigFile = path.join(repoRoot, 'electron-builder.yml');

// What this file uses of electron-builder's dependencies (they ship no types this workspace can import directly).
interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}
interface AjvValidate {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
interface AjvInstance {
  compile(schema: unknown): AjvValidate;
}
type AjvClass = new (options: Record<string, unknown>) => AjvInstance;

const fromBuilder = createRequire(createRequire(import.meta.url).resolve('app-builder-lib/package.json'));

export type BuilderConfig = Record<string, unknown>;

export function loadBuilderConfig(file = builderConfigFile): BuilderConfig {
  const yaml = fromBuilder('js-yaml') as { load(text: string): unknown };
  const config = yaml.load(readFileSync(file, 'utf8'));
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw new Error(`${file} is not a YAML mapping`);
  return config as BuilderConfig;
}

let compiled: AjvValidate | undefined;
function validator(): AjvValidate {
  const ajvModule = fromBuilder('ajv') as { default?: AjvClass } & AjvClass;
  const Ajv = ajvModule.default ?? ajvModule;
  // strict: false only relaxes checks of the schema itself (it uses annotation keywords Ajv does not know).
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(fromBuilder('./scheme.json'));
  return compiled;
}

/** The schema violations of a configuration, one line each; empty when it is valid. */
export function schemaErrors(config: unknown): string[] {
  const validate = validator();
  if (validate(config)) return [];
  return (validate.errors ?? [])
    .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
    .map((e) => {
      const where = e.instancePath || '(root)';
      const extra = e.params['additionalProperty'] ? ` '${String(e.params['additionalProperty'])}'` : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    });
}

/** Keys that would hold a secret (a certificate, its password, an API key): none may appear in the file. */
export function secretKeys(config: unknown, at = ''): string[] {
  if (config === null || typeof config !== 'object') return [];
  return Object.entries(config as Record<string, unknown>).flatMap(([k, v]) => [
    ...(/password|secret|token|apikey|csclink|certificatefile|privatekey/i.test(k) ? [`${at}${k}`] : []),
    ...secretKeys(v, `${at}${k}.`),
  ]);
}

export interface DesktopPackageJson {
  name: string;
  version: string;
  description: string;
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export function desktopPackageJson(): DesktopPackageJson {
  return JSON.parse(readFileSync(path.join(desktopDir, 'package.json'), 'utf8')) as DesktopPackageJson;
}
