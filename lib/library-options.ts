import { type Flags, UsageError } from "./cli.ts";

/**
 * `--options JSON`: options handed to the library as they are, each under
 * its own name (grpc-js channel or server options, connect-node session and
 * transport options): what a lab profile sets (lab/catalogue/profiles.ts,
 * issue 18). The program's own flags still win over them: they are the
 * case's remedy, the profile is the user's configuration under it.
 */
export const optionsFlag = {
  type: "string",
  help: 'library options as a JSON object, each under the library\'s own name, e.g. {"grpc.keepalive_permit_without_calls":1}; the other flags win over them',
  default: "none",
} as const;

export type LibraryOptions = Record<string, unknown>;

/** Reads --options; a one-line UsageError when it is not a JSON object. */
export function readOptionsFlag(flags: Flags): LibraryOptions {
  const raw = flags.options;
  if (typeof raw !== "string") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--options: not JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError("--options: must be a JSON object of library options");
  }
  return parsed as LibraryOptions;
}

interface MethodConfig {
  name?: { service?: string; method?: string }[];
  [field: string]: unknown;
}
interface ServiceConfig {
  methodConfig?: MethodConfig[];
  [field: string]: unknown;
}

/**
 * A user's service config (an object, or the JSON text gRPC takes) with the
 * program's own (its load balancing, health checking, retry policy) merged
 * in: the program's top-level fields win, and its method config's fields go
 * into every entry of the user's, so that no method is named twice (gRPC
 * refuses a service config that names a method twice).
 */
export function mergeServiceConfig(user: unknown, own: ServiceConfig | undefined): ServiceConfig | undefined {
  const base: ServiceConfig | undefined = typeof user === "string" ? JSON.parse(user) : (user as ServiceConfig);
  if (!base) return own;
  if (!own) return base;
  const { methodConfig: ownMethods, ...ownTop } = own;
  const merged: ServiceConfig = { ...base, ...ownTop };
  if (ownMethods && ownMethods.length > 0) {
    const fields = Object.fromEntries(Object.entries(ownMethods[0]).filter(([k]) => k !== "name"));
    const userMethods = base.methodConfig ?? [];
    const named = new Set(userMethods.flatMap((m) => (m.name ?? []).map((n) => JSON.stringify(n))));
    const rest = (ownMethods[0].name ?? []).filter((n) => !named.has(JSON.stringify(n)));
    merged.methodConfig = [
      ...userMethods.map((m) => ({ ...m, ...fields })),
      ...(rest.length > 0 ? [{ ...ownMethods[0], name: rest }] : []),
    ];
  }
  return merged;
}
