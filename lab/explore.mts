import { buildEntries } from "./build.ts";
import { defaultSettings, labCases, quickSettings } from "./cases.ts";
import { runCell } from "./run-cell.ts";
import { stackPairs } from "./stacks.ts";

await buildEntries();
const settings = process.argv[2] === "full" ? defaultSettings : quickSettings;
const only = process.argv[3];
for (const c of labCases) {
  if (only && c.id !== only) continue;
  const row = await Promise.all(
    stackPairs().map(async ({ server, client }) => {
      const r = await runCell({ labCase: c, server, client, settings });
      return `${server.id}<-${client.id}: ${r.code} ${r.detectMs}ms exit${r.exitMs} n=${r.received} ${r.message.slice(0, 60)}`;
    }),
  );
  console.log(c.id);
  for (const x of row) console.log("   ", x);
}
