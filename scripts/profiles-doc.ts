/**
 * The generated parts of docs/profiles.md (issue 18): the option catalogue
 * and the built-in profiles, from lab/catalogue/library-options.ts and
 * profiles.ts, between their markers, so that the reference cannot drift
 * from what the lab passes (scripts/profiles-doc.test.ts checks it).
 *
 *   npm run docs:flags   # writes docs/flags.md and these parts of docs/profiles.md
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { optionSections } from "../lab/catalogue/library-options.ts";
import { builtinProfiles } from "../lab/catalogue/profiles.ts";
import { defaultSettings } from "../lab/catalogue/settings.ts";

export const profilesDocPath = path.join(import.meta.dirname, "..", "docs", "profiles.md");

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The catalogue: a table per section. */
function optionsTables(): string {
  return optionSections
    .map((section) =>
      [
        `### \`${section.id}\` (${section.role}: ${section.library})`,
        "",
        "| option | kind | default | what it does | documented in |",
        "| --- | --- | --- | --- | --- |",
        ...section.options.map(
          (o) =>
            `| \`${o.name}\`${o.via === "flag" ? ` (flag \`--${o.flag?.name ?? o.name}\`)` : ""} | ${o.kind} | ${cell(o.default)} | ${cell(o.what)} | ${cell(o.doc)} |`,
        ),
      ].join("\n"),
    )
    .join("\n\n");
}

/** The built-in profiles at the default run's timings, as a file of one's own would say them. */
function builtins(): string {
  return Object.entries(builtinProfiles)
    .map(
      ([name, p]) =>
        `### \`${name}\`\n\n${p.summary}.\n\n\`\`\`json\n${JSON.stringify(p.sections(defaultSettings), null, 2)}\n\`\`\``,
    )
    .join("\n\n");
}

const parts: Record<string, () => string> = { options: optionsTables, builtins };

/** docs/profiles.md with each generated part as the code says it today. */
export function profilesDoc(current = readFileSync(profilesDocPath, "utf8")): string {
  let text = current;
  for (const [name, make] of Object.entries(parts)) {
    const begin = `<!-- ${name}:begin (npm run docs:flags) -->`;
    const end = `<!-- ${name}:end -->`;
    const from = text.indexOf(begin);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/profiles.md: no ${begin} ... ${end}`);
    text = `${text.slice(0, from + begin.length)}\n\n${make()}\n\n${text.slice(to)}`;
  }
  return text;
}

if (process.argv[1] === import.meta.filename) writeFileSync(profilesDocPath, profilesDoc());
