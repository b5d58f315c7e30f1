// The afterPack hook electron-builder.yml names. electron-builder loads hooks with require()/import(), which know
// nothing of TypeScript, so this file only loads afterPack.ts and hands it the context: directly when the process
// already runs under tsx (npm run -w desktop package:dir, the tests), else through tsx's loader API (the
// electron-builder CLI). The work, and the reasons for it, are in afterPack.ts.

async function loadHook() {
  try {
    return await import('./afterPack.ts');
  } catch (e) {
    if (e?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
    const { tsImport } = await import('tsx/esm/api');
    return tsImport('./afterPack.ts', import.meta.url);
  }
}

export async function afterPack(context) {
  const hook = await loadHook();
  await hook.afterPack(context);
}

export default afterPack;
