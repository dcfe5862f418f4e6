import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ProxySlot, ProxyStack, ProxyVariant } from "../catalogue/proxies.ts";
import type { LabSettings } from "../catalogue/settings.ts";
import { type Child, spawnChild } from "./child-process.ts";
import { freeFixedPort, probePort } from "./free-port.ts";
import type { LabTls } from "./lab-tls.ts";
import { startTimeoutMs } from "./server-pool.ts";
import { whenSlotFree } from "./start-slots.ts";

/** Slots held by a scene's runs: release them once the runs' relays are closed. */
export interface ProxyLease {
  slots: ProxySlot[];
  proxy: Child;
  release(): void;
}

/**
 * The lab's proxies (issue 14): one long-lived process per proxy and
 * variant, started on first use, each with `slots` listen/forward port
 * pairs. A scene takes the slots of all its runs at once (taken one by one,
 * two scenes could each hold half of what both need and wait forever).
 */
export interface ProxyPool {
  acquire(proxy: ProxyStack, variant: ProxyVariant, count: number): Promise<ProxyLease>;
  /** Ends every proxy it started and removes its files. */
  close(): Promise<void>;
}

interface Running {
  child: Child;
  dir: string;
  free: ProxySlot[];
  waiting: { count: number; take: (slots: ProxySlot[]) => void }[];
}

/** Resolves once a TCP connection to the port is accepted, or rejects after `ms`. */
async function listening(port: number, ms: number, child: Child): Promise<void> {
  for (const deadline = performance.now() + ms; ; ) {
    if ((await probePort(port)) === "open") return;
    if (child.exit) {
      const why = child.stderr().trim().split("\n").pop() ?? "";
      throw new Error(`${child.entry} exited (${child.exit.code ?? child.exit.signal})${why ? `: ${why}` : ""}`);
    }
    if (performance.now() > deadline) throw new Error(`${child.entry} did not listen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function createProxyPool(options: { settings: LabSettings; slots: number; tls?: LabTls }): ProxyPool {
  const running = new Map<string, Promise<Running>>();
  // The proxies' folders go with the lab wherever it exits, close() or not (an error that ends the
  // run). Only a SIGKILL leaves them: no handler runs, and the supervisor ends the proxy alone.
  const dirs = new Set<string>();
  const removeDirs = () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs.clear();
  };
  process.on("exit", removeDirs);
  /** One try: fresh ports, the config, the process, until its first slot listens. */
  const startOnce = async (proxy: ProxyStack, variant: ProxyVariant): Promise<Running> => {
    const dir = mkdtempSync(path.join(tmpdir(), `lab-${proxy.id}-`));
    dirs.add(dir);
    const slots: ProxySlot[] = [];
    for (let i = 0; i < options.slots; i++)
      slots.push({ listen: await freeFixedPort(), upstream: await freeFixedPort() });
    const config = path.join(dir, `${proxy.id}.conf`);
    writeFileSync(config, proxy.config({ dir, slots, variant, settings: options.settings, tls: options.tls }));
    const child = spawnChild({
      entry: "lab/engine/supervisor",
      external: { file: proxy.command, name: `${proxy.id} (${variant})` },
      args: proxy.args(config, dir),
    });
    try {
      await listening(slots[0].listen, startTimeoutMs, child);
      // A port another process took between our probe and the proxy's bind answers the probe all the
      // same, and the proxy exits at once (seen in CI: HAProxy exited 1 after its first slot "listened").
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (child.exit) {
        const why = child.stderr().trim().split("\n").pop() ?? "";
        throw new Error(
          `${child.entry} exited (${child.exit.code ?? child.exit.signal}) as it started${why ? `: ${why}` : ""}`,
        );
      }
    } catch (e) {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return { child, dir, free: slots, waiting: [] };
  };
  /** A proxy that dies as it starts (a port taken under it) gets two more tries, on other ports. */
  const start = (proxy: ProxyStack, variant: ProxyVariant): Promise<Running> =>
    whenSlotFree(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await startOnce(proxy, variant);
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
    });

  return {
    async acquire(proxy, variant, count) {
      if (count > options.slots)
        throw new Error(`a scene needs ${count} ${proxy.id} slots, the proxy has ${options.slots}`);
      const key = `${proxy.id} ${variant}`;
      let entry = running.get(key);
      if (!entry) {
        entry = start(proxy, variant);
        running.set(key, entry);
        entry.catch(() => running.delete(key));
      }
      const r = await entry;
      if (r.child.exit) throw new Error(`${r.child.entry} has died (${r.child.exit.code ?? r.child.exit.signal})`);
      const slots =
        r.waiting.length === 0 && r.free.length >= count
          ? r.free.splice(0, count)
          : await new Promise<ProxySlot[]>((take) => r.waiting.push({ count, take }));
      let released = false;
      return {
        slots,
        proxy: r.child,
        release() {
          if (released) return;
          released = true;
          r.free.push(...slots);
          // First come, first served: a big scene is not passed over by smaller ones for ever.
          while (r.waiting.length > 0 && r.free.length >= r.waiting[0].count) {
            const next = r.waiting.shift();
            next?.take(r.free.splice(0, next.count));
          }
        },
      };
    },
    async close() {
      const all = await Promise.all([...running.values()].map((p) => p.catch(() => undefined)));
      await Promise.all(all.map((r) => r?.child.stop()));
      removeDirs();
      process.off("exit", removeDirs);
    },
  };
}
